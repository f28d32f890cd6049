"""What `aipt new` does after Copier has rendered: git init, uv sync, first commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class SetupError(RuntimeError):
    """A post-render step failed; the rendered files are kept."""


def run(command: list[str], cwd: Path) -> None:
    if shutil.which(command[0]) is None:
        raise SetupError(f"`{command[0]}` is not installed; needed for: {' '.join(command)}")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise SetupError(f"`{' '.join(command)}` failed in {cwd}:\n{output}")


def git_author() -> dict[str, str]:
    """`author_name` and `author_email` from the user's git config, where set: `aipt new`
    offers them as the answers' defaults (plain Copier keeps the template's)."""
    author = {}
    for question, key in (("author_name", "user.name"), ("author_email", "user.email")):
        found = subprocess.run(
            ["git", "config", "--get", key], capture_output=True, text=True, check=False
        )
        if found.returncode == 0 and found.stdout.strip():
            author[question] = found.stdout.strip()
    return author


def git_identity(cwd: Path, name: str, email: str) -> list[str]:
    """`-c` options giving the commit an author when git has none configured."""
    configured = subprocess.run(
        ["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True, check=False
    )
    if configured.stdout.strip():
        return []
    return ["-c", f"user.name={name}", "-c", f"user.email={email}"]


def initialise(project: Path, *, sync: bool, author_name: str, author_email: str) -> list[str]:
    """Make the rendered project a git repository with an environment and a first commit.

    Returns the steps taken, for the CLI to report.
    """
    steps = []
    if not (project / ".git").exists():
        run(["git", "init", "-q"], project)
        steps.append("git init")
    if sync:
        # `uv sync` creates uv.lock, which the first commit records (the project's lock policy).
        run(["uv", "sync", "--quiet"], project)
        steps.append("uv sync (created .venv and uv.lock)")
    run(["git", "add", "-A"], project)
    identity = git_identity(project, author_name, author_email)
    run(
        ["git", *identity, "commit", "-q", "-m", "Initial commit from ai-project-template"],
        project,
    )
    steps.append("first commit")
    return steps
