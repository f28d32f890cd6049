"""The `aipt` command: what a user types instead of plain Copier."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ai_project_template import cli, variants
from tests.rendering import git, snapshot_template

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this template tagged v1.0.0, shared by the tests that only read it."""
    return snapshot_template(tmp_path_factory.mktemp("released"), tag="v1.0.0")


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A throwaway git copy of this template tagged v1.0.0, so a test can move it forward."""
    return snapshot_template(tmp_path / "template", tag="v1.0.0")


def new(template_repo: Path, destination: Path, *extra: str) -> int:
    return cli.main(
        ["new", str(destination), "--template", str(template_repo), "--defaults", *extra]
    )


def test_variants_lists_every_copier_choice_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["variants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    choices = yaml.safe_load((REPO / "copier.yml").read_text())["variant"]["choices"]
    assert [line.split()[0] for line in lines] == list(choices.values())
    assert [v.value for v in variants.VARIANTS] == list(choices.values())


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
        (["--variant", "vision"], "vision variant is not available"),
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


def release_v2(template_repo: Path, readme_line: str) -> None:
    """Move the template forward: a README change, committed and tagged v2.0.0."""
    readme = template_repo / "templates" / "tabular" / "README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{readme_line}\n")
    git(template_repo, "commit", "-q", "-am", "v2")
    git(template_repo, "tag", "v2.0.0")


def test_update_brings_template_changes_and_keeps_user_edits(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    assert new(template_repo, project, "--no-sync") == 0
    config = project / "configs" / "pipeline.yaml"
    config.write_text(config.read_text().replace("seed: 42", "seed: 7", 1))
    git(project, "commit", "-q", "-am", "my seed")
    # A user's local settings: untracked (git-ignored), never touched by an update.
    env = project / ".env"
    env.write_text("PORT=9000\nMLFLOW_TRACKING_URI=http://mine:5000\n")
    release_v2(template_repo, "A line added by template v2.")

    assert cli.main(["update", str(project)]) == 0
    assert "A line added by template v2." in (project / "README.md").read_text()
    assert "seed: 7" in config.read_text()
    assert env.read_text() == "PORT=9000\nMLFLOW_TRACKING_URI=http://mine:5000\n"


def test_update_reports_conflicts_with_user_edits(
    template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    assert new(template_repo, project, "--no-sync") == 0
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nMy own closing line.\n")
    git(project, "commit", "-q", "-am", "my readme")
    release_v2(template_repo, "The template's closing line.")

    assert cli.main(["update", str(project)]) == 1
    assert "README.md" in capsys.readouterr().out
    assert "My own closing line." in readme.read_text()
