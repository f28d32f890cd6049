"""`aipt update`: Copier's update, then one report of every file that needs the user.

Copier merges a new template release into a project and exits 0 even when the merge left
conflict markers, when the release deleted or renamed a file the user had edited (the
edited copy disappears from the working tree) or when it brought back a file the user had
deleted. This module runs the update and then compares three trees to name those files:

* the project's last commit (``HEAD``): what the user had;
* the old release rendered afresh with the project's answers: what the template had
  given, so a difference from ``HEAD`` is the user's edit;
* the working tree after the update: what the new release made of it.

A file the update removed although the user had edited it is put back from ``HEAD`` at its
old path, so nothing is lost; the report names it and, when the release renamed it, the
new name. The project must be a clean git tree before anything changes.
"""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import yaml

ANSWERS_FILE = ".copier-answers.yml"
RENAME_SIMILARITY = 0.6
"""How alike (difflib ratio) a removed file and an added one must be to call it a rename."""
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
MAX_LISTED = 40
"""Changed files the report names one by one; the rest are counted."""


class UpdateRefusedError(ValueError):
    """The project cannot be updated as it is; the message says why and what to do."""


@dataclass
class UpdateReport:
    """What an update did, and which files need the user."""

    project: Path
    old_version: str
    new_version: str
    conflicts: list[str] = field(default_factory=list)
    kept: dict[str, str | None] = field(default_factory=dict)
    """Edited files the release removed, kept at their path: path -> new name (a rename)."""
    recreated: dict[str, str | None] = field(default_factory=dict)
    """Files the user had deleted that the update brought back: path -> the deleted name."""
    changed: list[str] = field(default_factory=list)

    @property
    def needs_user(self) -> bool:
        return bool(self.conflicts or self.kept or self.recreated)

    def lines(self, markdown: bool = False) -> list[str]:
        """The report, as plain text for a terminal or Markdown for a pull request."""
        code = (lambda path: f"`{path}`") if markdown else (lambda path: path)
        bullet = "- " if markdown else "  - "
        if not self.changed and not self.needs_user:
            return [f"Nothing to update: {self.project} is at template {self.new_version}."]
        out = [f"Updated {self.project} from template {self.old_version} to {self.new_version}."]
        if self.conflicts:
            out += ["", "Conflicts (your edit and the template's collide; resolve by hand):"]
            out += [f"{bullet}{code(path)}" for path in self.conflicts]
            markers = f"{code('<<<<<<<')} / {code('>>>>>>>')}"
            out.append(f"Edit each where the {markers} markers are, or apply its .rej.")
        if self.kept:
            out += ["", "Files the template removed that you had edited (your version is kept):"]
            for path, renamed_to in self.kept.items():
                where = f"renamed to {code(renamed_to)}" if renamed_to else "deleted"
                todo = f"carry your changes into {code(renamed_to)}" if renamed_to else "keep it"
                out.append(
                    f"{bullet}{code(path)}: {where} by the template; your edited version is kept "
                    f"at {code(path)} — {todo} or delete it."
                )
        if self.recreated:
            out += ["", "Files you had deleted that the update brought back:"]
            for path, deleted in self.recreated.items():
                origin = f" (the template renamed {code(deleted)} to it)" if deleted else ""
                out.append(f"{bullet}{code(path)}{origin}: delete it again if you do not want it.")
        listed = ", ".join(code(path) for path in self.changed[:MAX_LISTED])
        hidden = len(self.changed) - MAX_LISTED
        more = f" and {hidden} more" if hidden > 0 else ""
        count = f"{len(self.changed)} file" + ("" if len(self.changed) == 1 else "s")
        out += ["", f"Changed by the update ({count}): {listed}{more}."]
        out += [
            "",
            "Next: "
            + ("fix the files above, then " if self.needs_user else "")
            + "run `make test`, review `git status` and `git diff`, and commit "
            + f'(git add -A && git commit -m "Update to template {self.new_version}").',
        ]
        return out


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, check=True, capture_output=True, text=True
    ).stdout


def read_answers(project: Path) -> dict[str, Any]:
    path = project / ANSWERS_FILE
    if not path.is_file():
        raise UpdateRefusedError(
            f"{project} has no {ANSWERS_FILE}: it was not generated by Copier, so there is "
            "nothing to update from"
        )
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(answers, dict) or "_src_path" not in answers:
        raise UpdateRefusedError(f"{path} does not name the template (_src_path); restore it")
    if not answers.get("_commit"):
        raise UpdateRefusedError(
            f"{path} records no template release (_commit): the project was rendered from a "
            "folder that is not a git repository, so there is no release to update from"
        )
    return answers


def ensure_clean(project: Path) -> None:
    """Refuse a project that is not a git repository or has uncommitted changes."""
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise UpdateRefusedError(
            f"{project} is not a git repository; an update tells your edits from the "
            "template's by your last commit (git init && git add -A && git commit)"
        )
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True).returncode:
        raise UpdateRefusedError(f"{project} has no commit yet; commit your files first")
    status = _git(project, "status", "--porcelain", "-z", "--untracked-files=all")
    dirty = [entry[3:] for entry in status.split("\0") if entry]
    if dirty:
        names = ", ".join(dirty[:5]) + (", ..." if len(dirty) > 5 else "")
        raise UpdateRefusedError(
            f"{project} has uncommitted changes ({names}); commit or stash them first, so "
            "the update cannot mix with work you have not saved"
        )


def _tree_files(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _head_files(project: Path) -> set[str]:
    return set(_git(project, "ls-tree", "-r", "--name-only", "-z", "HEAD").split("\0")) - {""}


def _worktree_files(project: Path) -> set[str]:
    listing = _git(project, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return {name for name in listing.split("\0") if name and (project / name).is_file()}


def _head_bytes(project: Path, path: str) -> bytes:
    return subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=project, check=True, capture_output=True
    ).stdout


def _similarity(a: bytes, b: bytes) -> float:
    try:
        text_a, text_b = a.decode(), b.decode()
    except UnicodeDecodeError:
        return 1.0 if a == b else 0.0
    matcher = difflib.SequenceMatcher(None, text_a, text_b, autojunk=False)
    # The quick bounds first: most pairs are far apart, and ratio() is quadratic.
    if matcher.real_quick_ratio() < RENAME_SIMILARITY or matcher.quick_ratio() < RENAME_SIMILARITY:
        return 0.0
    return matcher.ratio()


def _renamed_to(old: bytes, candidates: dict[str, bytes]) -> str | None:
    """The added file most like ``old``, if it is alike enough to be its new name."""
    scored = [(_similarity(old, content), path) for path, content in candidates.items()]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= RENAME_SIMILARITY else None


def _conflicts(project: Path, touched: set[str]) -> list[str]:
    unmerged = set(_git(project, "diff", "--name-only", "--diff-filter=U").split())
    marked = set()
    for name in touched:
        try:
            lines = (project / name).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        if any(line.startswith(CONFLICT_MARKERS) for line in lines):
            marked.add(name)
    rejects = {name for name in touched if name.endswith(".rej")}
    return sorted(unmerged | marked | rejects)


def render_release(answers: dict[str, Any], destination: Path) -> Path:
    """Render the release a project was made from, with its answers, into ``destination``."""
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    copier.run_copy(
        str(answers["_src_path"]),
        destination,
        data=data,
        defaults=True,
        unsafe=False,
        vcs_ref=answers.get("_commit"),
        quiet=True,
    )
    return destination


def update(
    project: Path,
    data: dict[str, Any] | None = None,
    defaults: bool = False,
    vcs_ref: str | None = None,
) -> UpdateReport:
    """Run Copier's update on a clean ``project`` and report what needs the user."""
    project = project.resolve()
    ensure_clean(project)
    answers = read_answers(project)
    head = _head_files(project)
    with tempfile.TemporaryDirectory(prefix="aipt-old-release-") as scratch:
        old_root = render_release(answers, Path(scratch) / "old")
        old = {name: (old_root / name).read_bytes() for name in _tree_files(old_root)}
    copier.run_update(
        project,
        data=data or {},
        defaults=defaults,
        overwrite=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    after = _worktree_files(project)
    added = {name: (project / name).read_bytes() for name in after - head}
    report = UpdateReport(
        project=project,
        old_version=str(answers.get("_commit", "unknown")),
        new_version=str(read_answers(project).get("_commit", "unknown")),
    )
    for name in sorted(head - after):
        mine = _head_bytes(project, name)
        if old.get(name) == mine:
            continue  # the template removed a file the user had left as it was
        _git(project, "checkout", "HEAD", "--", name)
        report.kept[name] = _renamed_to(old.get(name, mine), added)
    for name in sorted(set(old) - head):
        if name in after:
            report.recreated[name] = None
        elif (new_name := _renamed_to(old[name], added)) is not None:
            report.recreated[new_name] = name
    status = _git(project, "status", "--porcelain", "-z", "--untracked-files=all")
    report.changed = sorted(entry[3:] for entry in status.split("\0") if entry)
    report.conflicts = _conflicts(project, set(report.changed))
    return report
