"""What cookiecutter runs from this template: copier.yml's Jinja filters, and its answer rules.

`cookiecutter gh:org/ai-project-template` asks copier.yml's questions (from the generated
`cookiecutter.json`), then hands the answers to Copier (`hooks/`). cookiecutter puts the
template's root on `sys.path`, so `cookiecutter.json` loads `CopierFilters` from here by
name (`_extensions`), and the hooks import this module from the template they were rendered
from. It needs only what cookiecutter itself needs (the standard library, jinja2 and PyYAML):
it runs where cookiecutter runs, with or without Copier.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

# Sources Copier fetches itself (`gh:`/`gl:` abbreviations, URLs, scp-style git addresses):
# Copier records them in .copier-answers.yml, where `copier update` finds them again.
REMOTE_SOURCE = re.compile(r"^(gh:|gl:|git\+|git@|[A-Za-z][A-Za-z0-9+.-]*://)")


def regex_search(value: str, pattern: str) -> str | None:
    """The first match of `pattern` in `value`, or None: copier's `regex_search` filter (from
    jinja2-ansible-filters) as copier.yml uses it, without group arguments."""
    match = re.search(pattern, value)
    return match.group() if match else None


def regex_replace(value: Any, pattern: str = "", replacement: str = "") -> str:
    """`value` with every match of `pattern` replaced: copier's `regex_replace` filter."""
    return re.sub(pattern, replacement, str(value))


def template_dir(repo_dir: str) -> str:
    """The template's root as an absolute path. cookiecutter renders its hooks with the
    template's root as the working directory, and gives `_repo_dir` as the user typed it."""
    return repo_dir if os.path.isabs(repo_dir) else os.getcwd()


class CopierFilters(Extension):
    """copier.yml's filters under cookiecutter, so its Jinja defaults give the same values;
    and `template_dir()` for the hooks."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(regex_search=regex_search, regex_replace=regex_replace)
        environment.globals["template_dir"] = template_dir


def questions(root: Path) -> dict[str, dict[str, Any]]:
    """copier.yml's questions, in order (its `_settings` left out)."""
    config = yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }


def copier_env(root: Path) -> SandboxedEnvironment:
    """A Jinja environment like the one Copier renders copier.yml with: rooted at the
    template, so a validator's `{% from 'templates/...' import ... %}` works."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(root)), extensions=[CopierFilters], keep_trailing_newline=True
    )


def choice_values(spec: dict[str, Any]) -> list[str]:
    """A question's choice values, in order (copier.yml maps labels to values, or lists them)."""
    choices = spec.get("choices") or []
    values = choices.values() if isinstance(choices, dict) else choices
    return [str(value) for value in values]


def split_multiselect(answer: Any) -> list[str]:
    """A multiselect answer typed as `mlflow,docker` (empty: none), as Copier's list."""
    if isinstance(answer, list):
        return [str(item) for item in answer]
    return [item.strip() for item in str(answer).split(",") if item.strip()]


def is_asked(env: Environment, spec: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether Copier asks the question for these answers (its `when`, cast as Copier does)."""
    when = spec.get("when", True)
    if isinstance(when, bool):
        return when
    rendered = env.from_string(str(when)).render(data).strip().lower()
    try:
        return bool(float(rendered))
    except ValueError:
        return rendered not in {"", "n", "no", "f", "false", "off", "~", "null", "none"}


def copier_data(root: Path, answers: dict[str, Any]) -> dict[str, Any]:
    """cookiecutter's answers as Copier's `data`: multiselect answers split into lists, and a
    question Copier would not ask for these answers (a false `when`) left out."""
    asked = questions(root)
    data = {
        name: split_multiselect(answers[name]) if spec.get("multiselect") else answers[name]
        for name, spec in asked.items()
        if name in answers
    }
    env = copier_env(root)
    return {name: value for name, value in data.items() if is_asked(env, asked[name], data)}


def refusal(root: Path, answers: dict[str, Any]) -> str | None:
    """Copier's message for the first answer copier.yml refuses (a value not among the
    choices, or a validator's message), or None when Copier would accept them all."""
    env = copier_env(root)
    data = copier_data(root, answers)
    for name, spec in questions(root).items():
        if name not in data:
            continue
        values = choice_values(spec)
        items = data[name] if spec.get("multiselect") else [data[name]]
        for item in items:
            if values and str(item) not in values:
                return f"Invalid choice for '{name}': {str(item)!r} is not in {values}"
        try:
            message = env.from_string(spec.get("validator", "")).render(data).strip()
        except Exception as error:  # Copier reports a validator that fails to render, too
            message = str(error)
        if message:
            return f"Validation error for question '{name}': {message}"
    return None


def copier_source(root: Path, template: str) -> tuple[str, str | None]:
    """What Copier renders and records as `_src_path`, and at which git ref.

    A template cookiecutter cloned (`gh:org/name`, a URL) goes to Copier as the user gave it,
    at the commit cookiecutter checked out (Copier alone would take the latest tag), so
    `copier update` fetches it from there later. A local template goes as its absolute path at
    HEAD, uncommitted changes included, as cookiecutter read it (or as a plain folder).
    """
    if REMOTE_SOURCE.match(template):
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        return template, commit
    return str(root), "HEAD" if (root / ".git").exists() else None
