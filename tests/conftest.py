"""Fixtures shared by the template's test layers.

The template is snapshotted into a tagged throwaway git repo once per session, and each
distinct set of answers is rendered once per session and shared by every test that asks
for it (rendering is the slow part: about a second each). Each build of the registry
(`harness.variants`) is rendered into its own folder once, and its `make` steps run at most
once, shared by the build and container layers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.building import BuiltProject
from harness.rendering import answers_key, isolated_copier_settings, render, snapshot_template
from harness.service import RunningServer, wait_for
from harness.uv_env import project_environment
from harness.variants import BUILDS


@dataclass(frozen=True)
class RenderedProject:
    """A project rendered from the template, with every answer Copier recorded for it."""

    path: Path
    answers: dict[str, Any]

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])


RenderProject = Callable[..., RenderedProject]
BuildProject = Callable[[str], BuiltProject]


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
    own copy into its `tmp_path` with `harness.rendering.render`.
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
def build_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildProject:
    """The project of a registry build (`harness.variants.BUILDS`), rendered once per session
    into its own directory; its `make` steps run at most once, shared by every layer."""
    cache: dict[str, BuiltProject] = {}

    def _build(name: str) -> BuiltProject:
        if name not in cache:
            variant, build = BUILDS[name]
            destination = tmp_path_factory.mktemp(name) / "project"
            render(template_repo, destination, variant.answers(**build.answers))
            answers = read_answers(destination)
            environment = project_environment(local_indexes=variant.local_indexes)
            cache[name] = BuiltProject(destination, answers, environment, variant, build)
        return cache[name]

    return _build


@pytest.fixture(scope="module")
def server(
    project: BuiltProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The module's project served with its trained model (`project` is each module's own
    parametrised fixture), stopped when the module is done."""
    project.require("setup", "all")
    running = project.serve(tmp_path_factory.mktemp("server"))
    try:
        wait_for(running.url("/health"), alive=running.alive)
        wait_for(running.url("/ready"), alive=running.alive, timeout=60)
    except (TimeoutError, RuntimeError) as error:
        running.stop()
        pytest.fail(f"{error}\nserver log:\n{running.log()[-4000:]}", pytrace=False)
    yield running
    running.stop()
    assert not running.alive()


def pytest_report_header() -> list[str]:
    shared = os.environ.get("AIPT_SHARED_DIR", "(default: ../shared next to the repo)")
    return [f"aipt shared tools: {shared}"]
