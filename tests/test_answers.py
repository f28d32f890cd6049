"""Answers: wrong ones are refused with the validator's message, odd-but-valid ones give a
valid project whose files carry the value exactly, and the template needs no trust."""

from __future__ import annotations

import ast
import keyword
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks import (
    jinja_leftovers,
    parse_errors,
    parse_structured,
    python_compile_errors,
    string_leaves,
    structured_files,
)
from harness.rendering import REPO_ROOT, iter_files, render
from tests.conftest import RenderProject

pytestmark = pytest.mark.render

COPIER_YML = REPO_ROOT / "copier.yml"
RESERVED_NAMES = REPO_ROOT / "templates" / "_shared" / "reserved_names.jinja"


# --- the template needs no --trust --------------------------------------------------------


def test_copier_yml_needs_no_trust() -> None:
    """Copier refuses these settings without --trust; users must never need it."""
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    for unsafe in ("_tasks", "_jinja_extensions", "_migrations", "_external_data"):
        assert unsafe not in config, f"copier.yml sets {unsafe}, which needs --trust"


def test_copier_yml_render_settings() -> None:
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    assert config["_subdirectory"] == "templates/{{ variant }}"
    assert config["_templates_suffix"] == ".jinja"
    assert ".env" in config["_skip_if_exists"]
    assert config["_exclude"], "_subdirectory drops Copier's default excludes: list them"
    assert config["_message_after_copy"].strip()


def test_every_question_has_help_and_default() -> None:
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    questions = {name: spec for name, spec in config.items() if not name.startswith("_")}
    assert questions, "copier.yml asks nothing"
    for name, spec in questions.items():
        assert spec.get("help"), f"question {name} has no help"
        assert "default" in spec, f"question {name} has no default"
        assert "type" in spec, f"question {name} has no type"


# --- reserved package names -----------------------------------------------------------------


def _reserved_names() -> set[str]:
    text = RESERVED_NAMES.read_text(encoding="utf-8")
    body = re.search(r"macro reserved_names\(\)\s*-?%\}(.*?)\{%-?\s*endmacro", text, re.DOTALL)
    assert body, "reserved_names.jinja no longer defines the reserved_names() macro"
    return set(body.group(1).split())


def test_reserved_names_cover_the_standard_library() -> None:
    """Every public stdlib module of this interpreter is refused as a package name."""
    public = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    missing = sorted(public - _reserved_names())
    assert missing == [], "add these to templates/_shared/reserved_names.jinja"


def test_reserved_names_cover_keywords() -> None:
    lowered = {word.lower() for word in keyword.kwlist}
    missing = sorted(lowered - _reserved_names())
    assert missing == [], "add these keywords to templates/_shared/reserved_names.jinja"


# --- invalid answers are refused with the validator's message --------------------------------

INVALID_ANSWERS = [
    pytest.param({"author_email": "not-an-email"}, "is not an e-mail address", id="email-no-at"),
    pytest.param({"author_email": "a@b"}, "is not an e-mail address", id="email-no-tld"),
    pytest.param({"author_email": "me @x.org"}, "is not an e-mail address", id="email-space"),
    pytest.param({"package_name": "class"}, "keyword", id="package-keyword"),
    pytest.param({"package_name": "json"}, "standard-library", id="package-stdlib"),
    pytest.param({"package_name": "pandas"}, "dependency", id="package-dependency"),
    pytest.param({"package_name": "MyPackage"}, "lowercase letter", id="package-uppercase"),
    pytest.param({"package_name": "1st_model"}, "lowercase letter", id="package-digit-first"),
    pytest.param({"package_name": "my-package"}, "only a-z, 0-9 and _", id="package-dash"),
    pytest.param({"package_name": "x" * 41}, "keep it to 40", id="package-too-long"),
    pytest.param({"project_name": ""}, "must not be empty", id="name-empty"),
    pytest.param({"project_name": "   "}, "must not be empty", id="name-blank"),
    pytest.param({"project_name": " Padded"}, "spaces", id="name-padded"),
    pytest.param({"project_name": "N" * 81}, "keep it to 80", id="name-too-long"),
    pytest.param({"project_name": "Two\nlines"}, "one line", id="name-newline"),
    pytest.param({"project_name": "Tab\there"}, "one line", id="name-tab"),
    pytest.param({"project_name": "Bell\x07"}, "control", id="name-control-char"),
    pytest.param({"description": "Line one\nline two"}, "one line", id="description-newline"),
    pytest.param({"description": "d" * 201}, "keep it to 200", id="description-too-long"),
    pytest.param({"author_name": "Ann <ann@x.org>"}, "without < or >", id="author-angle"),
    pytest.param({"project_name": "Churn \u202egnp.exe"}, "text-direction", id="name-bidi"),
    pytest.param({"project_name": "Churn\u200bRadar"}, "invisible", id="name-zero-width"),
    pytest.param({"project_name": "Churn \u2066Radar"}, "text-direction", id="name-isolate"),
    pytest.param({"description": "Looks fine\ufeff"}, "invisible", id="description-bom"),
    pytest.param({"author_name": "Ann \u202eYlno"}, "invisible", id="author-bidi"),
    pytest.param({"project_name": "X</title><script>alert(1)</script>"}, "< or >", id="name-html"),
    pytest.param({"description": "Predicts <b>churn</b>"}, "< or >", id="description-html"),
]


@pytest.mark.parametrize(("answers", "message"), INVALID_ANSWERS)
def test_invalid_answer_is_refused(
    answers: dict[str, Any], message: str, template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render(template_repo, destination, answers)
    assert message in str(refused.value)
    assert not destination.exists() or not any(destination.iterdir()), "refused, yet files left"


# --- package_name is computed from the project name ------------------------------------------

PACKAGE_DEFAULTS = [
    ("Customer Churn Predictor", "customer_churn_predictor"),
    ("Prévision de la Demande", "prevision_de_la_demande"),
    ("Straße & Öl-Preise", "strasse_ol_preise"),
    ("Ñandú Señales", "nandu_senales"),
    ("2024 Sales Forecast", "project_2024_sales_forecast"),
    ("🚀 Rocket Model 🚀", "rocket_model"),
    ("🚀", "ml_project"),
    ('Bob\'s "Best" Model', "bob_s_best_model"),
    # A long name gives a package name within its own 40-character limit, no trailing _.
    (
        "Predicting Monthly Customer Churn For Subscription Telecoms",
        "predicting_monthly_customer_churn_for_su",
    ),
    (
        "Forecasting Regional Electricity Demand - Hourly Model",
        "forecasting_regional_electricity_demand",
    ),
    # Joiners inside emoji and scripts are legitimate; they are not refused.
    ("Family 👨\u200d👩\u200d👧 Budget", "family_budget"),
]


@pytest.mark.parametrize(("project_name", "package"), PACKAGE_DEFAULTS)
def test_package_name_default(
    project_name: str, package: str, render_project: RenderProject
) -> None:
    project = render_project(project_name=project_name)
    assert project.package == package
    assert (project.path / "src" / package / "__init__.py").is_file()


# --- hostile but valid answers give a valid project, values round-trip exactly --------------

HOSTILE_ANSWERS = [
    pytest.param(
        {
            "project_name": 'Pqx Bob\'s "Best" Model',
            "description": 'Dqx predicts "churn" for O\'Brien & Co; backslash \\ too.',
            "author_name": "Aqx Zoë O'Connor-Ünal",
        },
        id="quotes-apostrophes-accents",
    ),
    pytest.param(
        {
            "project_name": "Churn 🚀 Prédicteur Pqx",
            "description": "Émojis 📈 and accents àéîõü — with an em dash Dqx.",
            "author_name": "José Ñúñez 😀 Aqx",
        },
        id="emoji-accents",
    ),
    pytest.param(
        {
            "project_name": "Pqx {{ project_name }} {% raw %}",
            "description": "Dqx template syntax {{ 7 * 7 }} and {# comment #} must stay literal.",
            "author_name": "Aqx Curly {Brace}",
        },
        id="jinja-braces",
    ),
    pytest.param(
        {
            "project_name": "Pqx: value # not a comment",
            "description": "- Dqx starts like a list item: and has a colon",
            "author_name": "yes",
        },
        id="yaml-specials",
    ),
    pytest.param(
        {
            "project_name": "no",
            "description": "null",
            "author_name": "@Aqx [bracket] *star &anchor !tag %percent `tick`",
        },
        id="yaml-scalars",
    ),
    pytest.param(
        {
            "project_name": 'Pqx back\\slash and """triple"""',
            "description": "Dqx ends with a backslash \\",
            "author_name": "Aqx, ''quoted''",
        },
        id="escapes",
    ),
]

_ROUND_TRIP_FIELDS = ("project_name", "description", "author_name")
# A nonsense word inside most hostile values: any parsed string holding it came from the
# answer, so it must hold the whole answer, exactly.
_MARKERS = {"project_name": "Pqx", "description": "Dqx", "author_name": "Aqx"}


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS)
def test_hostile_answers_give_a_valid_project(
    answers: dict[str, str], render_project: RenderProject
) -> None:
    project = render_project(**answers)
    values = tuple(answers[field] for field in _ROUND_TRIP_FIELDS)
    assert parse_errors(project.path) == []
    assert python_compile_errors(project.path) == []
    assert jinja_leftovers(project.path, allowed=values) == []
    for field in _ROUND_TRIP_FIELDS:
        assert project.answers[field] == answers[field], f"{field} not recorded exactly"


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS)
def test_hostile_answers_round_trip_in_pyproject(
    answers: dict[str, str], render_project: RenderProject
) -> None:
    project = render_project(**answers)
    pyproject = parse_structured(project.path / "pyproject.toml")
    assert pyproject["project"]["description"] == answers["description"]
    assert pyproject["project"]["authors"][0]["name"] == answers["author_name"]


def _python_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS)
def test_hostile_answers_are_never_mangled(
    answers: dict[str, str], render_project: RenderProject
) -> None:
    """Wherever an answer lands in parsed data or a Python string, it lands whole and exact.

    A value whose escaping went wrong parses to something else (a doubled backslash, a
    stray quote, a truncation at `#`): any parsed string holding the answer's marker word
    must contain the answer verbatim.
    """
    project = render_project(**answers)
    strings: list[tuple[str, str]] = []
    for relative in structured_files(project.path):
        data = parse_structured(project.path / relative)
        strings += [(str(relative), leaf) for leaf in string_leaves(data)]
    for relative in iter_files(project.path):
        if relative.suffix == ".py":
            strings += [(str(relative), s) for s in _python_strings(project.path / relative)]
    for field, marker in _MARKERS.items():
        value = answers[field]
        if marker not in value:
            continue  # "yes", "no", "null": checked exactly where they must round-trip
        for where, text in strings:
            if marker in text:
                assert value in text, f"{field} mangled in {where}: {text!r}"
