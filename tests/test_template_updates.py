"""The `template-updates` extra: a weekly workflow that opens a pull request when the template
has a new release (`.github/workflows/template-update.yml` and `.github/template_update.py`).

The render matrix (`harness.matrix.opt_in_combinations`) puts the files through actionlint,
zizmor and ruff; these tests check what the extra promises: the files appear only with it,
only with GitHub CI, and the script reads the answers file and drives `aipt update`, `git`
and `gh` as described: here against a local template repository, a bare `origin` and fake
`uvx` and `gh` commands.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from harness.rendering import git, render
from harness.variants import VARIANTS
from tests.conftest import RenderedProject, RenderProject

pytestmark = pytest.mark.render

EXTRA = "template-updates"
WORKFLOW = ".github/workflows/template-update.yml"
SCRIPT = ".github/template_update.py"
REFUSAL = (
    "extras: template-updates needs ci=github (it is a GitHub Actions workflow); "
    "choose ci=github or drop it."
)


def _with_extra(variant: str = "tabular", **overrides: Any) -> dict[str, Any]:
    defaults = VARIANTS[variant].answers()
    return {**defaults, "extras": [*defaults["extras"], EXTRA], **overrides}


@pytest.fixture(scope="module")
def updating(render_project: RenderProject) -> RenderedProject:
    """The tabular defaults with the extra (shared with the render matrix's render)."""
    return render_project(**_with_extra())


@pytest.fixture(scope="module")
def script(updating: RenderedProject) -> ModuleType:
    """The generated `.github/template_update.py`, imported."""
    spec = importlib.util.spec_from_file_location("template_update", updating.path / SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the files exist only with the extra, and only with GitHub CI ---------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_workflow_only_with_the_extra(variant: str, render_project: RenderProject) -> None:
    plain = render_project(**VARIANTS[variant].answers())
    assert not (plain.path / WORKFLOW).exists(), "workflow generated without the extra"
    assert not (plain.path / SCRIPT).exists(), "script generated without the extra"
    opted = render_project(**_with_extra(variant))
    assert (opted.path / WORKFLOW).is_file()
    assert (opted.path / SCRIPT).is_file()
    assert EXTRA in opted.answers["extras"]


def test_extra_is_not_a_default() -> None:
    assert EXTRA not in VARIANTS["tabular"].answers()["extras"]


@pytest.mark.parametrize("ci", ["gitlab", "none"])
def test_extra_refused_without_github_ci(ci: str, template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render(template_repo, destination, _with_extra(ci=ci))
    assert REFUSAL in str(refused.value)
    assert not destination.exists() or not any(destination.iterdir()), "refused, yet files left"


def test_readme_names_the_workflow_and_the_setting(updating: RenderedProject) -> None:
    readme = (updating.path / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if f"`{WORKFLOW}`" in line)
    assert "Allow GitHub Actions to create and approve pull requests" in row


# --- the workflow ----------------------------------------------------------------------------


def test_workflow_shape(updating: RenderedProject) -> None:
    workflow = yaml.safe_load((updating.path / WORKFLOW).read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "1"], "weekly"
    assert workflow["permissions"] == {}, "the token's scopes belong on the job only"
    assert workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if "run" in step:
            assert "${{" not in step["run"], "pass values to run: scripts through env:"
    checkout = next(step for step in job["steps"] if "checkout" in step.get("uses", ""))
    assert checkout["with"]["persist-credentials"] is False
    assert job["steps"][-1]["run"] == f"python3 {SCRIPT}"


def test_actions_pinned_like_the_ci_workflow(updating: RenderedProject) -> None:
    """The same SHA (and version comment) as ci.yml, so dependabot moves them together."""
    pins = re.compile(r"uses: (\S+@[0-9a-f]{40} # v\S+)")
    ci = set(pins.findall((updating.path / ".github/workflows/ci.yml").read_text("utf-8")))
    ours = set(pins.findall((updating.path / WORKFLOW).read_text("utf-8")))
    assert ours, "no pinned action in the workflow"
    assert ours <= ci


# --- the script reads the answers file -------------------------------------------------------


def test_script_reads_the_answers_it_needs(updating: RenderedProject, script: ModuleType) -> None:
    recorded = yaml.safe_load((updating.path / ".copier-answers.yml").read_text("utf-8"))
    parsed = script.read_answers(updating.path / ".copier-answers.yml")
    for key in ("_src_path", "_commit"):
        assert key in recorded, f"Copier no longer records {key}"
        assert parsed[key] == recorded[key]
    assert parsed["description"] == recorded["description"], "a folded value is joined"


def test_script_reads_quoted_values(script: ModuleType, tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(
        "# comment\n_commit: 'v1.0.0'\n_src_path: \"gh:org/it's\"\nextras:\n- docker\n",
        encoding="utf-8",
    )
    assert script.read_answers(answers) == {
        "_commit": "v1.0.0",
        "_src_path": "gh:org/it's",
        "extras": "",
    }


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("gh:org/ai-project-template", "https://github.com/org/ai-project-template"),
        ("gl:group/sub/template.git", "https://gitlab.com/group/sub/template.git"),
        ("https://github.com/org/t.git", "https://github.com/org/t.git"),
        ("git+https://git.example.org/t", "https://git.example.org/t"),
        ("git@github.com:org/t.git", "ssh://git@github.com/org/t.git"),
        ("ssh://git@host/org/t", "ssh://git@host/org/t"),
        ("/srv/templates/ai", "file:///srv/templates/ai"),
    ],
)
def test_script_template_url(script: ModuleType, source: str, url: str) -> None:
    assert script.git_url(source) == url


def test_script_latest_release_is_the_highest_semver_tag(script: ModuleType) -> None:
    tags = ["v1.2.0", "v1.10.0", "1.9.9", "v2.0.0rc1", "v2.0.0-beta", "latest", "v1.10"]
    assert script.latest_release(tags) == ((1, 10, 0, 1), "v1.10.0")
    assert script.latest_release(["nightly"]) is None


@pytest.mark.parametrize(
    ("commit", "latest", "behind"),
    [
        ("v1.2.0", "v1.2.0", False),
        ("1.2.0", "v1.2.0", False),
        ("v1.2.0-3-gabc1234", "v1.2.0", False),  # a commit after the release
        ("v1.3.0", "v1.2.0", False),
        ("v1.2.0", "v1.2.1", True),
        ("v1.3.0rc1", "v1.3.0", True),  # a pre-release comes before its release
        ("v1.3.0rc1-2-gabc1234", "v1.3.0", True),
    ],
)
def test_script_compares_versions(
    script: ModuleType, commit: str, latest: str, behind: bool
) -> None:
    assert (script.recorded_version(commit) < script.release_version(latest)) is behind
    assert script.recorded_version("0123abcd") is None


# --- the whole run, against a local template and fake uvx and gh -----------------------------

FAKE_UVX = """
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_LOG"])
with log.open("a") as handle:
    handle.write(json.dumps(["uvx", *sys.argv[1:]]) + "\\n")
code = int(os.environ.get("FAKE_UVX_EXIT", "0"))
report = Path(sys.argv[sys.argv.index("--report") + 1])
report.write_text("# Update report\\n\\nfake update, exit %d\\n" % code)
if os.environ.get("FAKE_UVX_CHANGES", "1") == "1":
    with Path("README.md").open("a") as handle:
        handle.write("\\nA line from the template's new release.\\n")
sys.exit(code)
"""

FAKE_GH = """
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
log = Path(os.environ["FAKE_LOG"])
with log.open("a") as handle:
    handle.write(json.dumps(["gh", *args]) + "\\n")
if args[:2] == ["pr", "list"]:
    print(os.environ.get("FAKE_GH_OPEN", "[]"))
elif args[:2] == ["pr", "create"]:
    body = Path(args[args.index("--body-file") + 1]).read_text()
    Path(os.environ["FAKE_LOG"]).with_name("body.md").write_text(body)
    print("https://github.com/org/project/pull/7")
"""


@dataclass
class Run:
    code: int
    output: str
    calls: list[list[str]]
    body: str | None
    origin: Path

    def called(self, program: str, *prefix: str) -> list[list[str]]:
        return [call for call in self.calls if call[: 1 + len(prefix)] == [program, *prefix]]


RunUpdate = Callable[..., Run]


@pytest.fixture
def run_update(updating: RenderedProject, tmp_path: Path) -> RunUpdate:
    """Run the generated script in a copy of the project: a git repository whose `origin` is
    a local bare one, made from a template whose newest release is v0.2.0."""
    template = tmp_path / "template"
    template.mkdir()
    (template / "copier.yml").write_text("{}\n", encoding="utf-8")
    git(template, "init", "--quiet")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "template")
    for tag in ("v0.1.0", "v0.2.0", "v0.3.0rc1", "snapshot"):
        git(template, "tag", tag)

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"uvx": FAKE_UVX, "gh": FAKE_GH}.items():
        fake = bin_dir / name
        fake.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        fake.chmod(0o755)
    log = tmp_path / "log" / "calls.jsonl"
    log.parent.mkdir()

    def _run(commit: str = "v0.1.0", **fake: str) -> Run:
        project = tmp_path / "project"
        shutil.copytree(updating.path, project)
        answers = project / ".copier-answers.yml"
        text = answers.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^_commit: .*$", f"_commit: {commit}", text)
        text = re.sub(r"(?m)^_src_path: .*$", f"_src_path: {template}", text)
        answers.write_text(text, encoding="utf-8")
        origin = tmp_path / "origin.git"
        git(tmp_path, "init", "--quiet", "--bare", str(origin))
        git(project, "init", "--quiet", "--initial-branch", "main")
        git(project, "add", "--all")
        git(project, "commit", "--quiet", "--no-verify", "-m", "initial")
        git(project, "remote", "add", "origin", str(origin))
        git(project, "push", "--quiet", "origin", "main")
        runner_temp = tmp_path / "runner-temp"
        runner_temp.mkdir()
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(log),
            "GITHUB_REF_NAME": "main",
            "GH_TOKEN": "not-a-real-token",
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
            **{f"FAKE_{key.upper()}": value for key, value in fake.items()},
        }
        completed = subprocess.run(
            [sys.executable, SCRIPT],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        body_file = log.with_name("body.md")
        body = body_file.read_text() if body_file.exists() else None
        output = completed.stdout + completed.stderr
        return Run(completed.returncode, output, calls, body, origin)

    return _run


def test_new_release_opens_a_pull_request(run_update: RunUpdate, tmp_path: Path) -> None:
    run = run_update()
    assert run.code == 0, run.output
    (uvx,) = run.called("uvx")
    template_url = (tmp_path / "template").resolve().as_uri()
    assert uvx[1:3] == ["--from", f"git+{template_url}@v0.2.0"]
    assert uvx[3:9] == ["aipt", "update", ".", "--defaults", "--vcs-ref", "v0.2.0"]
    assert uvx[9] == "--report"
    (create,) = run.called("gh", "pr", "create")
    assert create[create.index("--base") + 1] == "main"
    assert create[create.index("--head") + 1] == "template-update/v0.2.0"
    assert run.body is not None
    assert run.body.startswith("# Update report"), "the report is the pull request's body"
    pushed = git(run.origin, "show", "template-update/v0.2.0:README.md")
    assert "A line from the template's new release." in pushed
    assert "Opened https://github.com/org/project/pull/7" in run.output


def test_files_needing_the_user_still_open_a_pull_request(run_update: RunUpdate) -> None:
    run = run_update(uvx_exit="1")
    assert run.code == 0, run.output
    (create,) = run.called("gh", "pr", "create")
    assert "files need you" in create[create.index("--title") + 1]
    assert run.body is not None
    assert "Some files need you" in run.body
    assert "# Update report" in run.body


def test_refused_update_fails_the_job(run_update: RunUpdate) -> None:
    run = run_update(uvx_exit="2")
    assert run.code == 1
    assert "exit code 2" in run.output
    assert run.called("gh", "pr", "create") == []
    assert git(run.origin, "branch", "--list", "template-update/*").strip() == ""


@pytest.mark.parametrize("commit", ["v0.2.0", "v0.2.0-4-g0123abc"])
def test_latest_release_already_there_does_nothing(run_update: RunUpdate, commit: str) -> None:
    run = run_update(commit=commit)
    assert run.code == 0, run.output
    assert "Already on the template's latest release" in run.output
    assert run.called("uvx") == []
    assert run.called("gh") == []


def test_open_pull_request_for_the_release_does_nothing(run_update: RunUpdate) -> None:
    run = run_update(gh_open='[{"url": "https://github.com/org/project/pull/3"}]')
    assert run.code == 0, run.output
    assert "already open: https://github.com/org/project/pull/3" in run.output
    (listed,) = run.called("gh", "pr", "list")
    assert listed[listed.index("--head") + 1] == "template-update/v0.2.0"
    assert run.called("uvx") == []


def test_update_changing_nothing_opens_nothing(run_update: RunUpdate) -> None:
    run = run_update(uvx_changes="0")
    assert run.code == 0, run.output
    assert "changed no file" in run.output
    assert run.called("gh", "pr", "create") == []
