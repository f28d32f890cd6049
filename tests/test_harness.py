"""The test harness itself: the answer matrix, the pip-to-uv translation, the snapshot."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from harness.matrix import options, pairwise_combinations
from harness.rendering import SNAPSHOT_TAG, git, snapshot_template
from harness.uv_env import parse_pip_config, project_environment, pypi_only, uv_variables
from harness.variants import VARIANTS, Variant

pytestmark = pytest.mark.render

PIP_CONFIG_LISTING = """\
:env:.cert='/env/ca.pem'
:env:.find-links='/env/wheels'
global.cert='/global/ca.pem'
global.constraint='/etc/pip/constraints.txt'
global.extra-index-url='file:///a/simple file:///b/simple'
global.find-links='/opt/wheels /opt/more'
"""


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=lambda variant: variant.name)
def test_matrix_covers_every_pair_of_option_values(variant: Variant) -> None:
    rows = pairwise_combinations(variant)
    for (first, first_values), (second, second_values) in itertools.combinations(
        options(variant).items(), 2
    ):
        for a, b in itertools.product(first_values, second_values):
            assert any(row[first] == a and row[second] == b for row in rows), (
                f"no {variant.name} combination renders {first}={a!r} with {second}={b!r}"
            )


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=lambda variant: variant.name)
def test_matrix_starts_with_the_defaults_and_is_small(variant: Variant) -> None:
    rows = pairwise_combinations(variant)
    assert rows[0] == variant.answers()
    assert all(row["variant"] == variant.name for row in rows)
    assert len(rows) <= 24, "the pairwise matrix grew; keep the render layer fast"


def test_pip_config_precedence() -> None:
    """Environment variables override the global file, as in pip."""
    config = parse_pip_config(PIP_CONFIG_LISTING)
    assert config["cert"] == "/env/ca.pem"
    assert config["find-links"] == "/env/wheels"
    assert config["constraint"] == "/etc/pip/constraints.txt"


def test_local_indexes_are_opt_in() -> None:
    """By default only the CA bundle is carried over: uv.lock must never record file:// URLs."""
    config = parse_pip_config(PIP_CONFIG_LISTING)
    assert uv_variables(config) == {"SSL_CERT_FILE": "/env/ca.pem"}
    local = uv_variables(config, local_indexes=True)
    assert local["UV_FIND_LINKS"] == "/env/wheels"
    assert local["UV_EXTRA_INDEX_URL"] == "file:///a/simple file:///b/simple"
    assert local["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert local["UV_CONSTRAINT"] == "/etc/pip/constraints.txt"
    # The local indexes replace the project's own sources (PyTorch's CPU index).
    assert local["UV_NO_SOURCES"] == "1"
    # Taking them away again leaves the CA bundle, and the sources still off.
    assert pypi_only({**local, "PATH": "/bin"}) == {
        "SSL_CERT_FILE": "/env/ca.pem",
        "UV_NO_SOURCES": "1",
        "PATH": "/bin",
    }


def test_project_environment_hides_the_runner() -> None:
    base = {
        "PATH": "/usr/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "VIRTUAL_ENV": "/repo/.venv",
        "PIPELINE_CONFIG": "/elsewhere.yaml",
        "PYTEST_ADDOPTS": "-x",
    }
    environment = project_environment(base)
    assert "PYTHONDONTWRITEBYTECODE" not in environment
    assert "VIRTUAL_ENV" not in environment
    assert "PIPELINE_CONFIG" not in environment
    assert "PYTEST_ADDOPTS" not in environment
    assert not any(key.startswith("UV_") and "INDEX" in key for key in environment)


def test_snapshot_holds_the_working_tree_as_git_sees_it(tmp_path: Path) -> None:
    """Tracked and new files are in the tagged snapshot (edits included); ignored and
    deleted files are not; names with spaces and Jinja survive."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet")
    (work / ".gitignore").write_text("ignored.txt\n")
    (work / "tracked.txt").write_text("committed\n")
    (work / "deleted.txt").write_text("going\n")
    (work / "{% if x %}odd name{% endif %}.jinja").write_text("{{ x }}\n")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "start")
    (work / "tracked.txt").write_text("edited, not committed\n")
    (work / "deleted.txt").unlink()
    (work / "new.txt").write_text("untracked\n")
    (work / "ignored.txt").write_text("ignored\n")

    snapshot = snapshot_template(tmp_path / "snapshot", repo=work)

    listing = git(snapshot, "ls-tree", "-r", "-z", "--name-only", SNAPSHOT_TAG)
    tagged = sorted(name for name in listing.split("\0") if name)
    assert tagged == [
        ".gitignore",
        "new.txt",
        "tracked.txt",
        "{% if x %}odd name{% endif %}.jinja",
    ]
    assert git(snapshot, "show", f"{SNAPSHOT_TAG}:tracked.txt") == "edited, not committed\n"
