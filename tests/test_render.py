"""Render layer: every combination of options that matters renders into a clean project.

One render per combination (shared through the session cache), many checks per render.
"""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

import pytest

from harness.checks import (
    jinja_leftovers,
    parse_errors,
    python_compile_errors,
    run_tool,
    tool,
    workflow_files,
)
from harness.layout import expected_files
from harness.matrix import COMBINATIONS, DEFAULTS, combination_id
from harness.rendering import iter_files, render_with_cli
from harness.variants import VARIANTS
from tests.conftest import RenderedProject, RenderProject

pytestmark = pytest.mark.render


@pytest.fixture(scope="module", params=COMBINATIONS, ids=combination_id)
def project(request: pytest.FixtureRequest, render_project: RenderProject) -> RenderedProject:
    answers: dict[str, Any] = request.param
    return render_project(**answers)


def test_answers_are_recorded(project: RenderedProject) -> None:
    """The answers file records what was asked for, so `copier update` can replay it."""
    own = list(VARIANTS[project.answers["variant"]].options)
    for name in ("variant", "ci", "license", "python_version", *own):
        assert name in project.answers, f".copier-answers.yml lacks {name}"
    assert isinstance(project.answers["extras"], list), "extras must be recorded as a list"


def test_exact_file_set(project: RenderedProject) -> None:
    actual = {relative.as_posix() for relative in iter_files(project.path)}
    expected = expected_files(project.answers)
    assert sorted(actual - expected) == [], "files generated that tests/layout.py does not expect"
    assert sorted(expected - actual) == [], "files tests/layout.py expects that were not generated"


def test_no_jinja_leftovers(project: RenderedProject) -> None:
    assert jinja_leftovers(project.path) == []


def test_python_compiles(project: RenderedProject) -> None:
    assert python_compile_errors(project.path) == []


def test_structured_files_parse(project: RenderedProject) -> None:
    assert parse_errors(project.path) == []


def test_ruff_check_clean(project: RenderedProject) -> None:
    code, output = run_tool(tool("ruff"), "check", "--no-cache", ".", cwd=project.path)
    assert code == 0, output


def test_ruff_format_clean(project: RenderedProject) -> None:
    code, output = run_tool(tool("ruff"), "format", "--check", "--no-cache", ".", cwd=project.path)
    assert code == 0, output


def test_workflows_pass_actionlint(project: RenderedProject) -> None:
    workflows = workflow_files(project.path)
    if project.answers["ci"] != "github":
        assert workflows == [], "GitHub workflows generated without ci=github"
        return
    assert workflows, "ci=github but no .github/workflows/*.yml"
    names = [str(path.relative_to(project.path)) for path in workflows]
    code, output = run_tool(tool("actionlint"), "-no-color", *names, cwd=project.path)
    assert code == 0, output


def test_workflows_pass_zizmor(project: RenderedProject) -> None:
    workflows = workflow_files(project.path)
    if not workflows:
        assert project.answers["ci"] != "github", "ci=github but no .github/workflows/*.yml"
        return
    names = [str(path.relative_to(project.path)) for path in workflows]
    code, output = run_tool(tool("zizmor"), "--offline", "--no-progress", *names, cwd=project.path)
    assert code == 0, output


def test_dockerfile_passes_hadolint(project: RenderedProject) -> None:
    dockerfile = project.path / "Dockerfile"
    if "docker" not in project.answers["extras"]:
        assert not dockerfile.exists(), "Dockerfile generated without the docker extra"
        return
    assert dockerfile.is_file(), "docker extra chosen but no Dockerfile"
    code, output = run_tool(tool("hadolint"), "--no-color", "Dockerfile", cwd=project.path)
    assert code == 0, output


def test_dockerfile_takes_base_image_argument(project: RenderedProject) -> None:
    """`ARG BASE_IMAGE=python:<version>-slim` precedes the first FROM (tests swap the base)."""
    dockerfile = project.path / "Dockerfile"
    if "docker" not in project.answers["extras"]:
        return  # no Dockerfile at all: test_dockerfile_passes_hadolint checks that
    lines = [line.strip() for line in dockerfile.read_text(encoding="utf-8").splitlines()]
    first_from = next(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    expected = f"ARG BASE_IMAGE=python:{project.answers['python_version']}-slim"
    assert expected in lines[:first_from], f"{expected!r} must come before the first FROM"


def test_cli_render_equals_api_render(
    render_project: RenderProject, tmp_path: Path, template_repo: Path
) -> None:
    """The real `copier copy` command (no --trust) gives byte-for-byte the API's project."""
    answers = {**DEFAULTS, "project_name": "CLI Rendered Project"}
    api = render_project(**answers)
    cli_destination = tmp_path / "cli"
    completed = render_with_cli(template_repo, cli_destination, answers)
    assert completed.returncode == 0, completed.stderr
    api_files = [path.as_posix() for path in iter_files(api.path)]
    cli_files = [path.as_posix() for path in iter_files(cli_destination)]
    assert cli_files == api_files
    _, mismatch, errors = filecmp.cmpfiles(api.path, cli_destination, api_files, shallow=False)
    assert mismatch == []
    assert errors == []
