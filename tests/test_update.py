"""Update layer: a project made from one release of the template takes the next release and
loses none of its author's work.

For every variant of the registry (`harness.variants`): a project is made from a tagged
snapshot of the template and committed; its author edits a file the next release also
changes, edits one it does not, adds a file, deletes two, fills in the README's Decisions
section and keeps a local `.env`. The next release edits shared and variant files, adds a
file, deletes a file the author edited, renames one the author edited and one the author
deleted. `aipt update` must keep every edit, surface the conflict, keep and name the edited
files the release removed, name the file it brought back, touch neither `.env` nor the
author's files, and leave a project whose own `make test` passes once the conflict is
resolved. A project made from the repository's previous real release updates to this one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ai_project_template import cli
from harness.building import STEP_TIMEOUTS
from harness.rendering import REPO_ROOT, SNAPSHOT_TAG, git, snapshot_template, template_files
from harness.uv_env import project_environment
from harness.variants import VARIANTS

pytestmark = pytest.mark.update

SHARED_README = Path("templates") / "_shared" / "README.md.jinja"
ENV_FILE = "PORT=9000\nMLFLOW_TRACKING_URI=http://mine:5000\n"
MY_DECISION = "We kept the default split: our own runs moved the metric by 0.004 at most."
MY_TEST = "\n\ndef test_added_by_the_author() -> None:\n    assert sum([1, 2]) == 3\n"
MY_NOTES = "# My notes\n\nWhat I tried, and what it changed.\n"
MY_OWN_CLOSING = "My own closing line."
TEMPLATE_CLOSING = "The template's closing line."
CONFIG_LINE = "# A line added to config.py by v2."

# The files the scenario moves, present in every variant (shared tests).
EDITED_THEN_DELETED = "tests/test_tracking.py"  # the author edits it; v2 deletes it
EDITED_THEN_RENAMED = "tests/test_reports.py"  # the author edits it; v2 renames it
RENAMED_TO = "tests/test_report_blocks.py"
DELETED_THEN_RENAMED = "tests/test_readiness.py"  # the author deletes it; v2 renames it
RECREATED_AS = "tests/test_ready.py"
DELETED_ALONE = "tests/test_config_base.py"  # the author deletes it; v2 leaves it alone
ADDED_BY_V2 = "docs/release-notes.md"


def new(template_repo: Path, destination: Path, variant: str, vcs_ref: str | None = None) -> int:
    """`aipt new` from `template_repo` (git init and a first commit, no install)."""
    args = ["new", str(destination), "--template", str(template_repo), "--defaults"]
    args += ["--no-sync", "--variant", variant]
    return cli.main([*args, "--vcs-ref", vcs_ref] if vcs_ref else args)


def template_and_project(root: Path, variant: str) -> tuple[Path, Path]:
    """A template snapshot tagged v1.0.0 and a project of `variant` made from it."""
    template_repo = snapshot_template(root / "template", tag="v1.0.0")
    project = root / "project"
    assert new(template_repo, project, variant) == 0
    return template_repo, project


def variant_file(template_repo: Path, variant: str, name: str) -> Path:
    return template_repo / "templates" / variant / f"{name}.jinja"


def release_v2(template_repo: Path, variant: str, tag: str = "v2.0.0") -> None:
    """The next release: shared and variant edits, a new file, a deleted file and two
    renamed ones, committed and tagged."""
    readme = template_repo / SHARED_README
    readme.write_text(readme.read_text() + f"\n{TEMPLATE_CLOSING}\n")
    config = template_repo / "templates" / variant / "src" / "{{ package_name }}" / "config.py"
    config.write_text(config.read_text() + f"\n{CONFIG_LINE}\n")
    added = template_repo / "templates" / variant / ADDED_BY_V2
    added.parent.mkdir(parents=True, exist_ok=True)
    added.write_text("# Release notes\n\nWhat changed in this release of the project.\n")
    git(template_repo, "rm", "-q", str(variant_file(template_repo, variant, EDITED_THEN_DELETED)))
    for old, new_name in ((EDITED_THEN_RENAMED, RENAMED_TO), (DELETED_THEN_RENAMED, RECREATED_AS)):
        source = variant_file(template_repo, variant, old)
        git(template_repo, "mv", str(source), str(variant_file(template_repo, variant, new_name)))
    git(template_repo, "add", "--all")
    git(template_repo, "commit", "-q", "-m", "v2")
    git(template_repo, "tag", tag)


def make_user_changes(project: Path) -> None:
    """What an author does to a project between two template releases, committed."""
    readme = project / "README.md"
    text = readme.read_text()
    heading = "## Decisions & Tradeoffs\n"
    assert heading in text
    readme.write_text(
        text.replace(heading, f"{heading}\n{MY_DECISION}\n", 1) + f"\n{MY_OWN_CLOSING}\n"
    )
    config = project / "configs" / "pipeline.yaml"
    config.write_text(config.read_text().replace("psi_threshold: 0.2", "psi_threshold: 0.3", 1))
    for name in (EDITED_THEN_DELETED, EDITED_THEN_RENAMED):
        path = project / name
        path.write_text(path.read_text() + MY_TEST)
    (project / "docs").mkdir(exist_ok=True)
    (project / "docs" / "my-notes.md").write_text(MY_NOTES)
    for name in (DELETED_THEN_RENAMED, DELETED_ALONE):
        (project / name).unlink()
    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", "my changes")
    # A user's local settings: untracked (git-ignored), never touched by an update.
    (project / ".env").write_text(ENV_FILE)


@dataclass(frozen=True)
class Updated:
    """A project of one variant after `aipt update`, with what the command said."""

    variant: str
    path: Path
    code: int
    output: str
    report: str

    def read(self, name: str) -> str:
        return (self.path / name).read_text()


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def updated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Updated:
    """One variant's project, changed by its author, updated across the v2 release."""
    variant = str(request.param)
    root = tmp_path_factory.mktemp(f"update-{variant}")
    template_repo, project = template_and_project(root, variant)
    make_user_changes(project)
    release_v2(template_repo, variant)
    report = root / "update-report.md"
    command = [sys.executable, "-m", "ai_project_template", "update", str(project)]
    completed = subprocess.run(
        [*command, "--defaults", "--report", str(report)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return Updated(
        variant,
        project,
        completed.returncode,
        completed.stdout + completed.stderr,
        report.read_text() if report.exists() else "",
    )


def test_update_needs_the_user_and_says_so(updated: Updated) -> None:
    assert updated.code == 1, updated.output
    assert "from template v1.0.0 to v2.0.0" in updated.output
    assert "make test" in updated.output  # what to do next


def test_edits_the_release_does_not_touch_are_kept(updated: Updated) -> None:
    assert "psi_threshold: 0.3" in updated.read("configs/pipeline.yaml")
    assert MY_DECISION in updated.read("README.md")
    assert updated.read("docs/my-notes.md") == MY_NOTES
    assert updated.read(".env") == ENV_FILE
    assert not (updated.path / DELETED_ALONE).exists()
    assert DELETED_ALONE not in updated.output


def test_the_release_arrives(updated: Updated) -> None:
    package = next(path for path in (updated.path / "src").iterdir() if path.is_dir())
    assert CONFIG_LINE in (package / "config.py").read_text()
    assert (updated.path / ADDED_BY_V2).is_file()
    assert (updated.path / RENAMED_TO).is_file()
    answers = yaml.safe_load(updated.read(".copier-answers.yml"))
    assert answers["_commit"] == "v2.0.0"


def test_a_conflict_keeps_both_sides_and_is_reported(updated: Updated) -> None:
    readme = updated.read("README.md")
    assert MY_OWN_CLOSING in readme
    assert TEMPLATE_CLOSING in readme
    assert "<<<<<<< " in readme
    conflicts = updated.output.split("Conflicts", 1)[1].split("\n\n", 1)[0]
    assert "README.md" in conflicts


def test_an_edited_file_the_release_deleted_is_kept_and_named(updated: Updated) -> None:
    assert updated.read(EDITED_THEN_DELETED).endswith(MY_TEST)
    assert f"{EDITED_THEN_DELETED}: deleted by the template" in updated.output


def test_an_edited_file_the_release_renamed_is_kept_and_named(updated: Updated) -> None:
    assert updated.read(EDITED_THEN_RENAMED).endswith(MY_TEST)
    assert f"{EDITED_THEN_RENAMED}: renamed to {RENAMED_TO}" in updated.output


def test_a_file_the_update_recreated_is_named(updated: Updated) -> None:
    assert not (updated.path / DELETED_THEN_RENAMED).exists()
    assert f"{RECREATED_AS} (the template renamed {DELETED_THEN_RENAMED} to it)" in updated.output


def test_the_report_file_is_the_same_report_in_markdown(updated: Updated) -> None:
    for name in ("README.md", EDITED_THEN_DELETED, EDITED_THEN_RENAMED, RECREATED_AS):
        assert f"`{name}`" in updated.report
    assert "\n- `README.md`" in updated.report


def resolve_keeping_both(path: Path) -> None:
    """Resolve conflict markers the way an author keeping both sides would."""
    lines = path.read_text().splitlines(keepends=True)
    kept = [
        line
        for line in lines
        if not line.startswith(("<<<<<<< ", ">>>>>>> ")) and line.rstrip("\n") != "======="
    ]
    path.write_text("".join(kept))


def test_the_updated_project_passes_its_own_tests(updated: Updated) -> None:
    resolve_keeping_both(updated.path / "README.md")
    variant = VARIANTS[updated.variant]
    environment = project_environment(local_indexes=variant.local_indexes)
    for target in ("setup", "test"):
        completed = subprocess.run(
            ["make", target],
            cwd=updated.path,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=STEP_TIMEOUTS[target],
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"make {target}:\n{output[-6000:]}"
    # The author's tests, in the files the update kept, are part of that suite.
    collected = subprocess.run(
        [".venv/bin/python", "-m", "pytest", "--collect-only", "-q", "-k", "added_by_the_author"],
        cwd=updated.path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for name in (EDITED_THEN_DELETED, EDITED_THEN_RENAMED):
        assert f"{name}::test_added_by_the_author" in collected, collected


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_dirty_tree_is_refused_before_anything_changes(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    template_repo, project = template_and_project(tmp_path, variant)
    release_v2(template_repo, variant)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nNot committed yet.\n")
    before = git(project, "rev-parse", "HEAD")
    capsys.readouterr()

    assert cli.main(["update", str(project), "--defaults"]) == 2
    error = capsys.readouterr().err
    assert "uncommitted changes (README.md)" in error
    assert "commit or stash" in error
    assert git(project, "rev-parse", "HEAD") == before
    assert git(project, "status", "--porcelain") == " M README.md\n"
    assert not (project / ADDED_BY_V2).exists()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_clean_update_exits_0_and_data_changes_an_answer(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    template_repo, project = template_and_project(tmp_path, variant)
    readme = template_repo / SHARED_README
    readme.write_text(readme.read_text() + f"\n{TEMPLATE_CLOSING}\n")
    git(template_repo, "commit", "-q", "-am", "v1.1")
    git(template_repo, "tag", "v1.1.0")
    capsys.readouterr()

    args = ["update", str(project), "--defaults", "--data", "description=Answers questions."]
    assert cli.main(args) == 0
    output = capsys.readouterr().out
    assert "from template v1.0.0 to v1.1.0" in output
    assert TEMPLATE_CLOSING in (project / "README.md").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["description"] == "Answers questions."

    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", "update")
    assert cli.main(["update", str(project), "--defaults"]) == 0
    assert "Nothing to update" in capsys.readouterr().out


def previous_release() -> str | None:
    """The newest release tag (vX.Y.Z) of this repository before HEAD (HEAD's own tag is
    the release being tested, not the previous one)."""
    try:
        merged = git(REPO_ROOT, "tag", "--merged", "HEAD", "--sort=-v:refname", "v*").split()
        at_head = set(git(REPO_ROOT, "tag", "--points-at", "HEAD").split())
    except subprocess.CalledProcessError:
        return None
    earlier = [tag for tag in merged if tag not in at_head]
    return earlier[0] if earlier else None


def snapshot_with_history(dest: Path) -> Path:
    """This repository's history plus the working tree committed on top, tagged."""
    git(dest.parent, "clone", "--quiet", str(REPO_ROOT), dest.name)
    git(dest, "rm", "-rq", "--cached", ".")
    for entry in dest.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for name in template_files(REPO_ROOT):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    git(dest, "add", "--all")
    git(dest, "commit", "-q", "--allow-empty", "--no-verify", "-m", "working tree")
    git(dest, "tag", SNAPSHOT_TAG)
    return dest


@pytest.mark.skipif(previous_release() is None, reason="this clone has no release tag (vX.Y.Z)")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_project_from_the_previous_release_updates_to_this_one(
    tmp_path: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = previous_release()
    assert release is not None
    template_repo = snapshot_with_history(tmp_path / "template")
    project = tmp_path / "project"
    assert new(template_repo, project, variant, vcs_ref=release) == 0
    config = project / "configs" / "pipeline.yaml"
    config.write_text(config.read_text().replace("psi_threshold: 0.2", "psi_threshold: 0.3", 1))
    git(project, "commit", "-q", "-am", "my threshold")
    capsys.readouterr()

    code = cli.main(["update", str(project), "--defaults"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert f"from template {release} to {SNAPSHOT_TAG}" in output
    assert "psi_threshold: 0.3" in config.read_text()
