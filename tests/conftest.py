"""Fixtures shared by the template's test layers.

The template is snapshotted into a tagged throwaway git repo once per session, and each
distinct set of answers is rendered once per session and shared by every test that asks
for it (rendering is the slow part: ~0.8 s each).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.building import BUILD_ANSWERS, BuiltProject
from tests.rendering import answers_key, isolated_copier_settings, render, snapshot_template
from tests.uv_env import project_environment


@dataclass(frozen=True)
class RenderedProject:
    """A project rendered from the template, with every answer Copier recorded for it."""

    path: Path
    answers: dict[str, Any]

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])


RenderProject = Callable[..., RenderedProject]


@pytest.fixture(scope="session", autouse=True)
def _isolated_copier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point Copier at an empty settings file for the whole session (and its subprocesses)."""
    settings = isolated_copier_settings(tmp_path_factory.mktemp("copier-settings"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPIER_SETTINGS_PATH", str(settings))
        yield


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's working tree, committed and tagged in a throwaway repository."""
    return snapshot_template(tmp_path_factory.mktemp("template") / "repo")


def read_answers(project: Path) -> dict[str, Any]:
    """The answers Copier recorded in a rendered project's `.copier-answers.yml`."""
    text = (project / ".copier-answers.yml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict), ".copier-answers.yml is not a mapping"
    return {key: value for key, value in loaded.items() if not key.startswith("_")}


@pytest.fixture(scope="session")
def render_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> RenderProject:
    """Render a project for the given answers, once per session per distinct answers.

    Callers must treat the result as read-only; a test that changes a project renders its
    own copy into its `tmp_path` with `tests.rendering.render`.
    """
    cache: dict[str, RenderedProject] = {}

    def _render(**answers: Any) -> RenderedProject:
        key = answers_key(answers)
        if key not in cache:
            destination = tmp_path_factory.mktemp("render") / "project"
            render(template_repo, destination, answers)
            cache[key] = RenderedProject(destination, read_answers(destination))
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def build_project(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], BuiltProject]:
    """The project for a task (see BUILD_ANSWERS), rendered once per session into its own
    directory; its `make` steps run at most once and are shared by the build and container
    layers."""
    cache: dict[str, BuiltProject] = {}
    environment = project_environment()

    def _build(task: str) -> BuiltProject:
        if task not in cache:
            destination = tmp_path_factory.mktemp(f"build-{task}") / "project"
            render(template_repo, destination, BUILD_ANSWERS[task])
            cache[task] = BuiltProject(destination, read_answers(destination), environment)
        return cache[task]

    return _build


def pytest_report_header() -> list[str]:
    shared = os.environ.get("AIPT_SHARED_DIR", "(default: ../shared next to the repo)")
    return [f"aipt shared tools: {shared}"]
