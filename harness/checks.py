"""Checks applied to a rendered project, shared by the render and answer tests.

Each check returns a list of human-readable problems (empty when the project is clean), so
one failing assertion names every offending file at once.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from harness.rendering import iter_files

# A Jinja delimiter left in the output means a file should have been `.jinja` (or a tag
# was mistyped). GitHub Actions expressions `${{ ... }}` are the one legitimate use.
_JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#")
_ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")

TOML_SUFFIXES = {".toml"}
YAML_SUFFIXES = {".yml", ".yaml"}
JSON_SUFFIXES = {".json"}


def tool(name: str) -> str:
    """Path of a command-line tool installed in the test environment (or on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` is not installed; install the repo's `test` group")
    return found


def run_tool(*command: str, cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run a linter, returning its exit code and combined output."""
    completed = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    return completed.returncode, (completed.stdout + completed.stderr).strip()


def text_files(project: Path) -> Iterator[tuple[Path, str]]:
    """(relative path, content) of every file that is UTF-8 text; binaries are skipped."""
    for relative in iter_files(project):
        try:
            yield relative, (project / relative).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def jinja_leftovers(project: Path, allowed: tuple[str, ...] = ()) -> list[str]:
    """Lines still holding Jinja syntax. `allowed` strings (answers that contain braces) and
    GitHub Actions `${{ }}` expressions in workflow files are removed before looking."""
    problems = []
    for relative, content in text_files(project):
        is_workflow = relative.parts[:2] == (".github", "workflows")
        for number, line in enumerate(content.splitlines(), start=1):
            cleaned = line
            for value in allowed:
                cleaned = cleaned.replace(value, "")
            if is_workflow:
                cleaned = _ACTIONS_EXPRESSION.sub("", cleaned)
            if _JINJA_LEFTOVER.search(cleaned):
                problems.append(f"{relative}:{number}: {line.strip()}")
    return problems


def python_compile_errors(project: Path) -> list[str]:
    problems = []
    for relative in iter_files(project):
        if relative.suffix != ".py":
            continue
        source = (project / relative).read_text(encoding="utf-8")
        try:
            compile(source, str(relative), "exec", dont_inherit=True)
        except SyntaxError as error:
            problems.append(f"{relative}:{error.lineno}: {error.msg}")
    return problems


class _AnyTagLoader(yaml.SafeLoader):
    """Safe loader that also accepts tags like GitLab's `!reference` (kept as plain data)."""


def _construct_unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")


_AnyTagLoader.add_multi_constructor("!", _construct_unknown)


def parse_structured(path: Path) -> Any:
    """Parse a TOML, YAML (all documents) or JSON file by its suffix."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in TOML_SUFFIXES:
        return tomllib.loads(text)
    if path.suffix in YAML_SUFFIXES:
        return list(yaml.load_all(text, Loader=_AnyTagLoader))
    if path.suffix in JSON_SUFFIXES:
        return json.loads(text)
    raise ValueError(f"{path} is not TOML, YAML or JSON")


def structured_files(project: Path) -> list[Path]:
    suffixes = TOML_SUFFIXES | YAML_SUFFIXES | JSON_SUFFIXES
    return [relative for relative in iter_files(project) if relative.suffix in suffixes]


def parse_errors(project: Path) -> list[str]:
    problems = []
    for relative in structured_files(project):
        try:
            parse_structured(project / relative)
        except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
            problems.append(f"{relative}: {error}")
    return problems


def string_leaves(data: Any) -> Iterator[str]:
    """Every string (keys and values) inside parsed TOML/YAML/JSON data."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from string_leaves(key)
            yield from string_leaves(value)
    elif isinstance(data, list | tuple):
        for item in data:
            yield from string_leaves(item)


def workflow_files(project: Path) -> list[Path]:
    workflows = project / ".github" / "workflows"
    if not workflows.is_dir():
        return []
    return sorted(path for path in workflows.iterdir() if path.suffix in YAML_SUFFIXES)
