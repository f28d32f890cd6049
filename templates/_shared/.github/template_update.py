"""Open a pull request when the template this project was made from has a new release.

Run by `.github/workflows/template-update.yml` (weekly, and by hand), from the project's root:

1. read the template's source (`_src_path`) and release (`_commit`) from `.copier-answers.yml`;
2. find the template's newest release: the highest `X.Y.Z` / `vX.Y.Z` tag (`git ls-remote`);
3. stop if the project is already on it, or if a pull request for it is already open;
4. on the branch `template-update/<tag>`, run the template's own tool at that tag:
   `uvx --from git+<source>@<tag> aipt update . --defaults --vcs-ref <tag> --report <file>`
   (exit 0: updated; 1: updated, with files you must fix; anything else: refused);
5. commit everything (conflict markers included, so you can see and fix them in the pull
   request), push the branch and open a pull request whose description is the update report.

Exit code: 0 when a pull request was opened or there was nothing to do; 1 on any error.
Standard library only: it runs on the runner's `python3`, before the project is installed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ANSWERS_FILE = Path(".copier-answers.yml")
BRANCH_PREFIX = "template-update/"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
# GitHub refuses a pull request description longer than 65,536 characters.
BODY_LIMIT = 60_000
# Copier's shortcuts for template sources.
SHORTCUTS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}

Version = tuple[int, int, int, int]


class UpdateError(Exception):
    """Something the person reading the job's log must fix; the message says what."""


def read_answers(path: Path) -> dict[str, str]:
    """The top-level `key: value` scalars of Copier's answers file (enough for `_` keys)."""
    if not path.is_file():
        raise UpdateError(f"{path} not found: this project was not generated with Copier")
    answers: dict[str, str] = {}
    key = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z_][\w-]*):[ \t]*(.*?)[ \t]*", line)
        if match is None:
            # YAML folds a long plain value with spaces onto indented lines.
            if key and line[:1] in " \t" and line.strip() and answers[key]:
                answers[key] += " " + line.strip()
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1].replace("''", "'")
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = json.loads(value)
        answers[key] = value
    return answers


def git_url(source: str) -> str:
    """The URL `git` and `uv` can fetch the template from, given Copier's `_src_path`."""
    source = source.strip()
    for shortcut, prefix in SHORTCUTS.items():
        if source.startswith(shortcut):
            return prefix + source.removeprefix(shortcut)
    source = source.removeprefix("git+")
    if re.match(r"(https?|ssh|git|file)://", source):
        return source
    scp_like = re.fullmatch(r"([\w.-]+@[\w.-]+):(?!//)(.+)", source)
    if scp_like:  # git@github.com:org/template.git
        return f"ssh://{scp_like.group(1)}/{scp_like.group(2)}"
    if source:  # a folder on the machine that generated the project
        return Path(source).resolve().as_uri()
    raise UpdateError("_src_path in .copier-answers.yml is empty: where does the template live?")


def release_version(tag: str) -> Version | None:
    """`v1.2.3` or `1.2.3` as a comparable version; None for any other tag (pre-releases too)."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", tag)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch, 1)


def recorded_version(commit: str) -> Version | None:
    """The version of Copier's `_commit`: a tag (`v1.2.3`), a commit after one
    (`v1.2.3-4-gabc1234`, at least that release) or a pre-release (`v1.3.0rc1`, before
    `v1.3.0`); None for a bare commit hash."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)(.*)", commit)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups()[:3])
    rest = match.group(4)
    released = rest == "" or re.fullmatch(r"-\d+-g[0-9a-f]+", rest) is not None
    return (major, minor, patch, 1 if released else 0)


def latest_release(tags: Sequence[str]) -> tuple[Version, str] | None:
    """The highest release among `tags` (its version and tag), or None if none is one."""
    releases = [(version, tag) for tag in tags if (version := release_version(tag))]
    return max(releases) if releases else None


def run(*command: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command (git, gh, uvx: found on PATH) from the project's root, capturing output."""
    return subprocess.run(  # noqa: S603 (fixed commands; no shell)
        command, capture_output=True, text=True, check=False, env=env
    )


def checked(*command: str, env: Mapping[str, str] | None = None) -> str:
    """Run a command that must succeed; its standard output."""
    completed = run(*command, env=env)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        shown = " ".join(command[:3])
        raise UpdateError(f"`{shown} ...` failed ({completed.returncode}):\n{output}")
    return completed.stdout


def remote_tags(url: str) -> list[str]:
    """Every tag name of the template's repository."""
    output = checked("git", "ls-remote", "--tags", "--refs", url)
    return [line.split("refs/tags/", 1)[1] for line in output.splitlines() if "refs/tags/" in line]


def open_pull_request(branch: str) -> str | None:
    """The URL of an open pull request from `branch`, if there is one."""
    output = checked("gh", "pr", "list", "--head", branch, "--state", "open", "--json", "url")
    found = json.loads(output or "[]")
    return str(found[0]["url"]) if found else None


def push_environment() -> dict[str, str]:
    """This process's environment, plus the workflow's token for `git push` to this
    repository's server only (the checkout keeps no credentials)."""
    env = dict(os.environ)
    token = env.get("GH_TOKEN")
    if token:
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{server}/.extraheader",
            GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {basic}",
        )
    return env


def pull_request_body(report: Path, tag: str, needs_you: bool) -> str:
    if report.is_file() and report.read_text(encoding="utf-8").strip():
        body = report.read_text(encoding="utf-8")
    else:
        body = f"Updated to the template's release {tag}; `aipt update` wrote no report.\n"
    if len(body) > BODY_LIMIT:
        body = body[:BODY_LIMIT] + "\n\n(The report is cut here; the job's log has all of it.)\n"
    if needs_you:
        body = (
            "**Some files need you**: resolve what the report lists on this branch "
            "(`git fetch && git switch " + BRANCH_PREFIX + tag + "`), then merge.\n\n" + body
        )
    return body


def summarise(text: str) -> None:
    """Print to the log, and to the job's summary page when running in GitHub Actions."""
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def update() -> str:
    """Do the whole update; what happened, in one line."""
    answers = read_answers(ANSWERS_FILE)
    source = answers.get("_src_path", "")
    url = git_url(source)
    latest = latest_release(remote_tags(url))
    if latest is None:
        return f"The template ({source}) has no release tag yet: nothing to do."
    latest_version, tag = latest
    current = answers.get("_commit", "")
    current_version = recorded_version(current)
    if current_version is not None and current_version >= latest_version:
        return f"Already on the template's latest release ({current}): nothing to do."
    branch = BRANCH_PREFIX + tag
    existing = open_pull_request(branch)
    if existing:
        return f"A pull request for the template's {tag} is already open: {existing}"

    base = os.environ.get("GITHUB_REF_NAME") or checked("git", "branch", "--show-current").strip()
    checked("git", "switch", "--force-create", branch)
    report = Path(os.environ.get("RUNNER_TEMP") or tempfile.mkdtemp()) / "update-report.md"
    command = ["uvx", "--from", f"git+{url}@{tag}", "aipt", "update", "."]
    command += ["--defaults", "--vcs-ref", tag, "--report", str(report)]
    print("$", " ".join(command), flush=True)
    completed = subprocess.run(command, check=False)  # noqa: S603 (fixed command; no shell)
    if completed.returncode not in (0, 1):
        if report.is_file():
            print(report.read_text(encoding="utf-8"))
        raise UpdateError(
            f"aipt update refused or failed (exit code {completed.returncode}); see above."
        )
    needs_you = completed.returncode == 1

    checked("git", "add", "--all")
    if run("git", "diff", "--cached", "--quiet").returncode == 0:
        return f"Updating to the template's {tag} changed no file: nothing to propose."
    title = f"Update to the template's {tag}" + (" (files need you)" if needs_you else "")
    identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    checked("git", *identity, "commit", "--quiet", "--no-verify", "--message", title)
    checked("git", "push", "--force", "origin", f"HEAD:refs/heads/{branch}", env=push_environment())

    body_file = report.with_name("pull-request-body.md")
    body_file.write_text(pull_request_body(report, tag, needs_you), encoding="utf-8")
    pull_request = ["--base", base, "--head", branch, "--title", title]
    created = checked("gh", "pr", "create", *pull_request, "--body-file", str(body_file))
    return f"Opened {created.strip()}" + (": some files need you." if needs_you else ".")


def main() -> int:
    try:
        summarise(update())
    except UpdateError as error:
        print(f"template update: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
