"""`aipt cookiecutter-json`: write cookiecutter.json from copier.yml, or check that it is current.

cookiecutter asks the questions of `cookiecutter.json`; the template's hooks then check the
answers with copier.yml's rules and render the project with Copier (see `hooks/` and
`aipt_cookiecutter.py` at the template's root). So that both front doors ask the same thing,
`cookiecutter.json` is generated from copier.yml, never edited:

- the same questions in the same order; a secret question is left out (Copier takes its
  default), so no secret is ever typed into cookiecutter or lands in its replay file;
- a choice becomes cookiecutter's list of values, the default first, and its labels and the
  question's help become `__prompts__`;
- a multiselect becomes a comma-separated string (`mlflow,docker`; empty selects nothing),
  as `aipt new --data extras=mlflow,docker` takes it;
- a Jinja default is copier.yml's expression verbatim, after `{%- set q = cookiecutter.q -%}`
  for each earlier answer it uses, rendered with copier.yml's filters (`_extensions`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from . import template

COMMAND = "cookiecutter-json"
FILENAME = "cookiecutter.json"
EXTENSION = "aipt_cookiecutter.CopierFilters"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        COMMAND, help="write cookiecutter.json from copier.yml (--check: fail if it differs)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if cookiecutter.json differs"
    )
    parser.add_argument(
        "--template", type=Path, default=None, help="template checkout (default: this one)"
    )


def run(args: argparse.Namespace) -> int:
    root = Path(args.template or template.default_source())
    if not (root / "copier.yml").is_file():
        print(f"aipt {COMMAND}: {root} is not a template checkout (no copier.yml)", file=sys.stderr)
        return 2
    try:
        expected = render(template.questions(str(root)))
    except ValueError as error:
        print(f"aipt {COMMAND}: {error}", file=sys.stderr)
        return 2
    path = root / FILENAME
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != expected:
            print(
                f"aipt {COMMAND}: {path} differs from what copier.yml gives; "
                f"run `uv run aipt {COMMAND}` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{path} is up to date with copier.yml")
        return 0
    path.write_text(expected, encoding="utf-8")
    print(f"Wrote {path}")
    return 0


def render(questions: dict[str, dict[str, Any]]) -> str:
    """The text of cookiecutter.json for copier.yml's questions."""
    return json.dumps(context(questions), indent=2, ensure_ascii=False) + "\n"


def context(questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    asked = {name: spec for name, spec in questions.items() if not spec.get("secret")}
    result: dict[str, Any] = {}
    for name, spec in asked.items():
        result[name] = default(name, spec, earlier={q: asked[q] for q in result})
    result["_extensions"] = [EXTENSION]
    result["__prompts__"] = {name: prompt(spec) for name, spec in asked.items()}
    return result


def default(name: str, spec: dict[str, Any], earlier: dict[str, dict[str, Any]]) -> Any:
    """A question's cookiecutter value: its default, or its choices with the default first."""
    kind = spec.get("type", "str")
    value = spec.get("default", "")
    if kind == "bool" and not spec.get("choices"):
        return bool(value)
    if kind not in {"str", "int", "float"}:
        raise ValueError(f"question {name}: cookiecutter cannot ask a question of type {kind}")
    if spec.get("multiselect"):
        if not isinstance(value, list):
            raise ValueError(f"question {name}: a multiselect default must be a list")
        return ",".join(str(item) for item in value)
    text = str(value)
    if "{{" in text or "{%" in text:
        if spec.get("choices"):
            raise ValueError(f"question {name}: a choice's default must not be templated")
        return uses(text, earlier) + text
    if spec.get("choices"):
        values = choice_values(spec)
        return [text, *(item for item in values if item != text)]
    return text


def uses(expression: str, earlier: dict[str, dict[str, Any]]) -> str:
    """`{%- set q = cookiecutter.q -%}` for each earlier answer `expression` names, so that
    copier.yml's expression renders verbatim (a multiselect answer as Copier's list)."""
    sets = []
    for name, spec in earlier.items():
        if not re.search(rf"\b{re.escape(name)}\b", expression):
            continue
        answer = f"cookiecutter.{name}"
        if spec.get("multiselect"):
            answer = f"{answer}.split(',') | map('trim') | select | list"
        sets.append(f"{{%- set {name} = {answer} -%}}")
    return "".join(sets)


def prompt(spec: dict[str, Any]) -> str | dict[str, str]:
    """What cookiecutter shows: the help, and for a choice the label of each value."""
    text = str(spec.get("help", "")).strip()
    when = spec.get("when")
    if isinstance(when, str):
        condition = when.strip().removeprefix("{{").removesuffix("}}").strip()
        text += f" (used only when {condition})"
    choices = spec.get("choices")
    labels = {}
    if isinstance(choices, dict):
        labels = dict(zip(choice_values(spec), choices, strict=True))
    if spec.get("multiselect"):
        lines = [f"    {value} - {label}" for value, label in labels.items()] or [
            f"    {value}" for value in choice_values(spec)
        ]
        return "\n".join([f"{text}: comma-separated, empty for none", *lines])
    if labels:
        return {"__prompt__": text, **labels}
    return text


def choice_values(spec: dict[str, Any]) -> list[str]:
    choices = spec.get("choices") or []
    values = choices.values() if isinstance(choices, dict) else choices
    return [str(value) for value in values]
