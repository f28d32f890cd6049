"""Update layer: a project made from one release of the template takes the next release's
changes, to shared and to variant files, and keeps its author's edits; an edit that collides
with a template change is reported, not lost; a git-ignored `.env` is never touched.

Parametrised by variant from the registry (`harness.variants`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_project_template import cli
from harness.rendering import git, snapshot_template
from harness.variants import VARIANTS

pytestmark = pytest.mark.update

SHARED_README = Path("templates") / "_shared" / "README.md.jinja"


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A throwaway git copy of this template tagged v1.0.0, so a test can move it forward."""
    return snapshot_template(tmp_path / "template", tag="v1.0.0")


def new(template_repo: Path, destination: Path, variant: str) -> int:
    return cli.main(
        [
            "new",
            str(destination),
            "--template",
            str(template_repo),
            "--defaults",
            "--no-sync",
            "--variant",
            variant,
        ]
    )


def release_v2(template_repo: Path, variant: str, shared_line: str) -> None:
    """Move the template forward: a line at the end of the shared README frame and one in
    the variant's own config module, committed and tagged v2.0.0."""
    readme = template_repo / SHARED_README
    readme.write_text(readme.read_text() + f"\n{shared_line}\n")
    config = template_repo / "templates" / variant / "src" / "{{ package_name }}" / "config.py"
    config.write_text(config.read_text() + "\n# A line added to config.py by v2.\n")
    git(template_repo, "commit", "-q", "-am", "v2")
    git(template_repo, "tag", "v2.0.0")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_update_brings_template_changes_and_keeps_user_edits(
    template_repo: Path, tmp_path: Path, variant: str
) -> None:
    project = tmp_path / "project"
    assert new(template_repo, project, variant) == 0
    config = project / "configs" / "pipeline.yaml"
    config.write_text(config.read_text().replace("psi_threshold: 0.2", "psi_threshold: 0.3", 1))
    git(project, "commit", "-q", "-am", "my threshold")
    # A user's local settings: untracked (git-ignored), never touched by an update.
    env = project / ".env"
    env.write_text("PORT=9000\nMLFLOW_TRACKING_URI=http://mine:5000\n")
    release_v2(template_repo, variant, "A line added by template v2.")

    assert cli.main(["update", str(project)]) == 0
    assert "A line added by template v2." in (project / "README.md").read_text()
    package = next((project / "src").iterdir())
    assert "# A line added to config.py by v2." in (package / "config.py").read_text()
    assert "psi_threshold: 0.3" in config.read_text()
    assert env.read_text() == "PORT=9000\nMLFLOW_TRACKING_URI=http://mine:5000\n"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_update_reports_conflicts_with_user_edits(
    template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], variant: str
) -> None:
    project = tmp_path / "project"
    assert new(template_repo, project, variant) == 0
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nMy own closing line.\n")
    git(project, "commit", "-q", "-am", "my readme")
    release_v2(template_repo, variant, "The template's closing line.")

    assert cli.main(["update", str(project)]) == 1
    assert "README.md" in capsys.readouterr().out
    assert "My own closing line." in readme.read_text()
