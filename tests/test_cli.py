"""The `aipt` command: what a user types instead of plain Copier."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ai_project_template import cli, variants
from harness.rendering import git, snapshot_template

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this template tagged v1.0.0, shared by the tests that only read it."""
    return snapshot_template(tmp_path_factory.mktemp("released"), tag="v1.0.0")


def new(template_repo: Path, destination: Path, *extra: str) -> int:
    return cli.main(
        ["new", str(destination), "--template", str(template_repo), "--defaults", *extra]
    )


def test_variants_lists_every_copier_choice_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["variants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    choices = yaml.safe_load((REPO / "copier.yml").read_text())["variant"]["choices"]
    assert [line.split()[0] for line in lines] == list(choices.values())
    assert [v.value for v in variants.variants(str(REPO))] == list(choices.values())


def test_new_renders_initialises_git_and_commits(released: Path, tmp_path: Path) -> None:
    project = tmp_path / "churn"
    code = new(released, project, "--no-sync", "--data", "project_name=Churn Radar")

    assert code == 0
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "Churn Radar"
    assert answers["package_name"] == "churn_radar"
    assert answers["_commit"] == "v1.0.0"
    assert git(project, "log", "--format=%s").splitlines() == [
        "Initial commit from ai-project-template"
    ]
    assert git(project, "status", "--porcelain") == ""


def test_new_takes_the_author_from_git_config(
    released: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    project = tmp_path / "by-ada"
    assert new(released, project, "--no-sync") == 0
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["author_name"], answers["author_email"]) == ("Ada Lovelace", "ada@example.org")
    assert "Ada Lovelace" in (project / "LICENSE").read_text()
    given = tmp_path / "given"
    assert new(released, given, "--no-sync", "--data", "author_name=Grace Hopper") == 0
    assert yaml.safe_load((given / ".copier-answers.yml").read_text())["author_name"] == (
        "Grace Hopper"
    )


def test_new_with_sync_commits_the_lockfile(released: Path, tmp_path: Path) -> None:
    project = tmp_path / "synced"
    assert new(released, project) == 0
    assert (project / ".venv").is_dir()
    assert "uv.lock" in git(project, "ls-files").split()


def test_multiselect_answers_are_comma_separated(released: Path, tmp_path: Path) -> None:
    project = tmp_path / "bare"
    assert new(released, project, "--no-sync", "--data", "extras=") == 0
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["extras"] == []

    project = tmp_path / "tracked"
    assert new(released, project, "--no-sync", "--data", "extras=mlflow") == 0
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["extras"] == ["mlflow"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "author_email=not-an-address"], "author_email"),
        (["--data", "package_name=json"], "standard-library module"),
        (["--data", "colour=red"], "no such question"),
        (["--data", "project_name"], "is not KEY=VALUE"),
        (["--variant", "audio"], "audio"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(
    released: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    project = tmp_path / "refused"
    assert new(released, project, "--no-sync", *arguments) == 2
    assert message in capsys.readouterr().err
    assert not project.exists()


def test_new_refuses_a_folder_with_files(
    released: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    assert new(released, occupied, "--no-sync") == 2
    assert "not empty" in capsys.readouterr().err
    assert (occupied / "notes.txt").read_text() == "mine"
