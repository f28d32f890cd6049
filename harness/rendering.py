"""Render the template the way a user does: from a tagged git repository, without trust.

Copier renders the latest *tag* of a git template unless told otherwise, so the tests
freeze the working tree (tracked files plus untracked files that git does not ignore)
into a throwaway repository, tag it, and render that tag. Uncommitted edits are therefore
tested exactly as they will be released, and nothing depends on the state of the clone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import copier

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_TAG = "v9999.0.0"

# Identity for the throwaway commits, so the snapshot works on machines with no git config.
_GIT_IDENTITY = (
    "-c",
    "user.name=ai-project-template tests",
    "-c",
    "user.email=tests@ai-project-template.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
)


def git(cwd: Path, *args: str) -> str:
    """Run git with a throwaway identity (works on machines with no git config)."""
    completed = subprocess.run(
        ["git", *_GIT_IDENTITY, *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout


def template_files(repo: Path = REPO_ROOT) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the template's working tree."""
    listing = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    names = sorted({name for name in listing.split("\0") if name})
    # A tracked file deleted in the working tree is listed by --cached but must not be copied.
    return [name for name in names if (repo / name).is_file()]


def snapshot_template(dest: Path, repo: Path = REPO_ROOT, tag: str = SNAPSHOT_TAG) -> Path:
    """Copy the template's working tree into a fresh git repo at `dest`, commit and tag it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in template_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    return commit_and_tag(dest, tag, "template snapshot for tests")


def commit_and_tag(dest: Path, tag: str, message: str) -> Path:
    """Make the files in `dest` one commit of a new git repo, tagged `tag`: a template
    Copier can copy with `--vcs-ref tag`."""
    git(dest, "init", "--quiet")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "--no-verify", "-m", message)
    git(dest, "tag", tag)
    return dest


def isolated_copier_settings(directory: Path) -> Path:
    """An empty Copier settings file, so a developer's own defaults never leak into tests."""
    settings = directory / "copier-settings.yml"
    settings.write_text("{}\n", encoding="utf-8")  # an empty mapping: no defaults, no trust
    return settings


def render(src: Path, dst: Path, answers: Mapping[str, Any], vcs_ref: str = SNAPSHOT_TAG) -> Path:
    """Render with Copier's API exactly as `copier copy --defaults` would, never trusting."""
    copier.run_copy(
        str(src),
        dst,
        data=dict(answers),
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return dst


def render_with_cli(
    src: Path, dst: Path, answers: Mapping[str, Any], vcs_ref: str = SNAPSHOT_TAG
) -> subprocess.CompletedProcess[str]:
    """Render through the real `copier` command line, in a subprocess."""
    command = [copier_executable(), "copy", "--defaults", "--quiet", "--vcs-ref", vcs_ref]
    for key, value in answers.items():
        # Lists (multiselect answers) are passed as YAML, which Copier parses for them.
        text = json.dumps(value) if isinstance(value, list) else str(value)
        command += ["--data", f"{key}={text}"]
    command += [str(src), str(dst)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def copier_executable() -> str:
    # Prefer the copier installed beside the running interpreter (the test environment).
    beside = Path(sys.executable).parent / "copier"
    if beside.exists():
        return str(beside)
    found = shutil.which("copier")
    if found is None:
        raise FileNotFoundError("the `copier` command is not installed in the test environment")
    return found


def answers_key(answers: Mapping[str, Any]) -> str:
    """A stable cache key for a set of answers (order-insensitive)."""
    return json.dumps(answers, sort_keys=True, ensure_ascii=False)


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file of a rendered project, as a path relative to `root`."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            yield path.relative_to(root)
