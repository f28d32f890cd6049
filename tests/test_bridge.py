"""Bridge layer: `cookiecutter gh:org/ai-project-template` makes the project `copier copy` makes.

cookiecutter asks the questions of the generated `cookiecutter.json`; its pre-generation hook
refuses what copier.yml refuses, and its post-generation hook renders the project with Copier
(`hooks/`, `aipt_cookiecutter.py`). For every variant of the registry (`harness.variants`),
driving cookiecutter's Python API on a snapshot of the working tree: the project is the one
Copier makes for the same answers, answers file included; a project made from a git URL
records that URL, holds the commit cookiecutter checked out and updates with `copier update`;
a wrong answer is refused with Copier's message and leaves nothing; the replay file holds the
questions only. cookiecutter.json is what `aipt cookiecutter-json` writes, and its Jinja
defaults give Copier's values. Rendering only: nothing is installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from jinja2.sandbox import SandboxedEnvironment

import aipt_cookiecutter
from ai_project_template import bridge, template
from harness.rendering import REPO_ROOT, git, render, snapshot_template
from harness.variants import VARIANTS
from tests.conftest import RenderProject

pytestmark = pytest.mark.bridge

ANSWERS_FILE = ".copier-answers.yml"
SHARED_README = Path("templates") / "_shared" / "README.md.jinja"
QUESTIONS = template.questions(str(REPO_ROOT))
ASKED = [name for name, spec in QUESTIONS.items() if not spec.get("secret")]
# What cookiecutter keeps beside the answers in its context (and so in its replay file).
BOOKKEEPING = {"_extensions", "_template", "_output_dir", "_repo_dir", "_checkout"}


@dataclass(frozen=True)
class Cookiecutter:
    """cookiecutter without input, isolated from the user's configuration and clones."""

    config: Path
    replay_dir: Path

    def make(self, source: str, output: Path, **answers: str) -> Path:
        """The project folder cookiecutter makes from `source` with `answers`."""
        made = cookiecutter(
            source,
            no_input=True,
            extra_context=answers,
            output_dir=str(output),
            config_file=str(self.config),
        )
        return Path(made)

    def replay(self, source: Path) -> dict[str, Any]:
        """What cookiecutter recorded of its last run from the template folder `source`."""
        loaded = json.loads((self.replay_dir / f"{source.name}.json").read_text(encoding="utf-8"))
        assert isinstance(loaded, dict)
        return loaded


@dataclass(frozen=True)
class Made:
    project: Path
    replay: dict[str, Any]


@pytest.fixture(scope="module")
def cutter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cookiecutter]:
    home = tmp_path_factory.mktemp("cookiecutter")
    config = home / "config.yaml"
    settings = {"cookiecutters_dir": str(home / "clones"), "replay_dir": str(home / "replay")}
    config.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    with pytest.MonkeyPatch.context() as patch:
        # The post-generation hook runs Copier in a subprocess: keep its git cache here too.
        patch.setenv("COPIER_CACHE_DIR", str(home / "copier-cache"))
        yield Cookiecutter(config, home / "replay")


@pytest.fixture(scope="module")
def made_with_defaults(
    cutter: Cookiecutter, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Made]:
    """The project cookiecutter makes for a variant and the defaults, once per module."""
    cache: dict[str, Made] = {}

    def _made(variant: str) -> Made:
        if variant not in cache:
            output = tmp_path_factory.mktemp(f"cookiecutter-{variant}")
            project = cutter.make(str(template_repo), output, variant=variant)
            cache[variant] = Made(project, cutter.replay(template_repo))
        return cache[variant]

    return _made


def differences(expected: Path, actual: Path) -> str:
    """`diff -r` of two projects, their answers files aside."""
    result = subprocess.run(
        ["diff", "-r", "--exclude", ANSWERS_FILE, str(expected), str(actual)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


def answers_differences(expected: Path, actual: Path) -> dict[str, tuple[Any, Any]]:
    """Every key (answer, `_src_path`, `_commit`) on which two answers files disagree."""
    first, second = (
        yaml.safe_load((root / ANSWERS_FILE).read_text()) for root in (expected, actual)
    )
    pairs = {key: (first.get(key), second.get(key)) for key in sorted(first.keys() | second.keys())}
    return {key: pair for key, pair in pairs.items() if pair[0] != pair[1]}


def assert_same_project(copied: Path, made: Path) -> None:
    assert not differences(copied, made), differences(copied, made)
    # A local template: cookiecutter's project records the same source and commit as Copier's.
    differing = answers_differences(copied, made)
    assert differing == {}, f"the answers files differ (copier's, cookiecutter's): {differing}"


# --- the same project as copier copy -------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cookiecutter_makes_the_project_copier_makes(
    variant: str, made_with_defaults: Callable[[str], Made], render_project: RenderProject
) -> None:
    """Only the variant is answered: every other answer is each tool's default, so this also
    checks that cookiecutter's defaults (the name follows the variant, the package the name)
    are Copier's."""
    made = made_with_defaults(variant).project
    copied = render_project(variant=variant).path
    assert made.name == render_project(variant=variant).package
    assert_same_project(copied, made)


# Every question answered, as typed to cookiecutter: accents, quotes and a non-default choice
# for each; Copier takes the same answers with `extras` as a list.
ALL_ANSWERED = {
    "variant": "tabular",
    "task": "regression",
    "project_name": "Crème Brûlée — Øresund 2000",
    "description": 'Predicts "how much", in one line.',
    "author_name": "Zoë O'Brien",
    "author_email": "zoe.obrien@example.org",
    "license": "Apache-2.0",
    "python_version": "3.11",
    "ci": "gitlab",
    "extras": "docker",
}

# cookiecutter's answers, and the same answers as Copier takes them.
OWN_ANSWERS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "tabular-all-answered": (ALL_ANSWERED, {**ALL_ANSWERED, "extras": ["docker"]}),
    # `task` is asked by cookiecutter but, as Copier's `when` says, not given to Copier.
    "vision-task-and-no-extras": (
        {"variant": "vision", "task": "regression", "extras": "", "ci": "none"},
        {"variant": "vision", "extras": [], "ci": "none"},
    ),
}


@pytest.mark.parametrize("case", sorted(OWN_ANSWERS))
def test_cookiecutter_answers_reach_copier(
    case: str, cutter: Cookiecutter, template_repo: Path, tmp_path: Path
) -> None:
    ours, copiers = OWN_ANSWERS[case]
    made = cutter.make(str(template_repo), tmp_path / "cookiecutter", **ours)
    copied = render(template_repo, tmp_path / "copier", copiers)
    assert_same_project(copied, made)


# --- updates with copier update --------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cookiecutter_project_updates_with_copier(
    variant: str, cutter: Cookiecutter, tmp_path: Path
) -> None:
    """From a git URL (as `gh:org/...` would be): the project holds the commit cookiecutter
    checked out, even past the latest tag; `_src_path` is that URL; `copier update` brings the
    next release into the committed project."""
    template_repo = snapshot_template(tmp_path / "template.git", tag="v1.0.0")
    readme = template_repo / SHARED_README
    readme.write_text(readme.read_text() + "\nA line committed after v1.0.0, not tagged.\n")
    git(template_repo, "commit", "-q", "-am", "after v1.0.0")
    url = template_repo.as_uri()

    project = cutter.make(url, tmp_path / "out", variant=variant)
    assert "A line committed after v1.0.0, not tagged." in (project / "README.md").read_text()
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert recorded["_src_path"] == url
    assert recorded["_commit"].startswith("v1.0.0-1-g"), recorded["_commit"]

    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "made with cookiecutter")
    readme.write_text(readme.read_text() + "\nA line added by template v2.\n")
    git(template_repo, "commit", "-q", "-am", "v2")
    git(template_repo, "tag", "v2.0.0")

    copier.run_update(str(project), unsafe=False, defaults=True, overwrite=True, quiet=True)
    assert "A line added by template v2." in (project / "README.md").read_text()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "v2.0.0"


def test_a_published_template_is_recorded_as_given(template_repo: Path) -> None:
    """`cookiecutter gh:org/ai-project-template`: Copier renders `gh:...` at the commit of
    cookiecutter's clone, so `_src_path` is `gh:...`; a local template, as its path at HEAD."""
    commit = git(template_repo, "rev-parse", "HEAD").strip()
    published = "gh:org/ai-project-template"
    assert aipt_cookiecutter.copier_source(template_repo, published) == (published, commit)
    assert aipt_cookiecutter.copier_source(template_repo, ".") == (str(template_repo), "HEAD")


# --- refusals ------------------------------------------------------------------------------

# A wrong answer per variant: cookiecutter's answer, and the same answer as Copier takes it.
WRONG: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "tabular": ({"package_name": "class"}, {"package_name": "class"}),
    "vision": ({"author_email": "nope"}, {"author_email": "nope"}),
    "llm-rag": ({"extras": "mlflow,bogus"}, {"extras": ["mlflow", "bogus"]}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_wrong_answer_is_refused_with_copiers_message(
    variant: str,
    cutter: Cookiecutter,
    template_repo: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ours, copiers = WRONG[variant]
    with pytest.raises(ValueError, match=r"question|choice") as refused:
        render(template_repo, tmp_path / "copier", {"variant": variant, **copiers})
    capfd.readouterr()

    output = tmp_path / "cookiecutter"
    with pytest.raises(FailedHookException):
        cutter.make(str(template_repo), output, variant=variant, **ours)
    assert str(refused.value) in capfd.readouterr().err.splitlines()
    assert not output.exists() or not any(output.iterdir()), "refused, yet files left"


def test_without_copier_the_hook_says_how_to_install_it(
    cutter: Cookiecutter,
    template_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    hidden = tmp_path / "no-copier" / "copier"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("copier is hidden by this test")\n')
    monkeypatch.setenv("PYTHONPATH", str(hidden.parent))  # the hooks run in subprocesses

    output = tmp_path / "out"
    with pytest.raises(FailedHookException):
        cutter.make(str(template_repo), output)
    err = capfd.readouterr().err
    assert "pipx inject cookiecutter copier" in err
    assert "uv tool install cookiecutter --with copier" in err
    assert not output.exists() or not any(output.iterdir()), "no Copier, yet files left"


# --- cookiecutter.json and the replay file -------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aipt")
    bridge.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args([bridge.COMMAND, *argv])


def test_cookiecutter_json_is_generated_from_copier_yml() -> None:
    committed = (REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8")
    assert committed == bridge.render(QUESTIONS), "run `uv run aipt cookiecutter-json`"
    assert bridge.run(parse("--check")) == 0
    assert list(json.loads(committed))[: len(ASKED)] == ASKED, "not copier.yml's questions"


def test_check_fails_when_cookiecutter_json_drifts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "copier.yml").write_text((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    assert bridge.run(parse("--check", "--template", str(tmp_path))) == 1  # no file yet
    assert bridge.run(parse("--template", str(tmp_path))) == 0
    assert bridge.run(parse("--check", "--template", str(tmp_path))) == 0
    generated = tmp_path / "cookiecutter.json"
    generated.write_text(generated.read_text().replace("you@example.com", "me@example.com"))
    capsys.readouterr()
    assert bridge.run(parse("--check", "--template", str(tmp_path))) == 1
    assert "differs from what copier.yml gives" in capsys.readouterr().err


def test_a_secret_question_is_never_asked() -> None:
    questions = {**QUESTIONS, "api_token": {"type": "str", "secret": True, "default": "x"}}
    assert "api_token" not in json.loads(bridge.render(questions))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_replay_file_holds_only_the_questions(
    variant: str, made_with_defaults: Callable[[str], Made]
) -> None:
    recorded = made_with_defaults(variant).replay
    assert set(recorded) == {"cookiecutter", "_cookiecutter"}
    answers = recorded["cookiecutter"]
    assert [key for key in answers if not key.startswith("_")] == ASKED
    assert {key for key in answers if key.startswith("_")} <= BOOKKEEPING
    assert [key for key in recorded["_cookiecutter"] if not key.startswith("_")] == ASKED
    assert answers["variant"] == variant


# --- Jinja defaults: copier.yml's expressions give Copier's values under cookiecutter -------

COPIER_ENV = SandboxedEnvironment(
    extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], keep_trailing_newline=True
)


def cookiecutter_defaults(**answers: Any) -> dict[str, Any]:
    """cookiecutter's answers without input, for cookiecutter.json with `answers` set."""
    context = json.loads(bridge.render(QUESTIONS))
    context.update(answers)
    return dict(prompt_for_config({"cookiecutter": context}, no_input=True))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_name_default_follows_the_variant(variant: str) -> None:
    expected = COPIER_ENV.from_string(QUESTIONS["project_name"]["default"]).render(variant=variant)
    assert cookiecutter_defaults(variant=[variant])["project_name"] == expected


@pytest.mark.parametrize(
    "project_name",
    [
        "Customer Churn Predictor",
        "Crème Brûlée — Øresund",
        "Straße Ñandú Ÿ",
        "3D Shapes",
        "  __spaced__  ",
        "!!!",
        "Ωmega",
        "A very long project name that goes well past forty characters in all",
        "word_" * 12,
    ],
)
def test_the_package_default_is_copiers(project_name: str) -> None:
    default = QUESTIONS["package_name"]["default"]
    expected = COPIER_ENV.from_string(default).render(project_name=project_name)
    assert cookiecutter_defaults(project_name=project_name)["package_name"] == expected
