"""Build layer: a user's own table, from a CSV to a green project with `make init-data` alone.

The table is scikit-learn's wine data (178 wines, 13 numeric measurements, three cultivars),
which ships inside the project's own environment: no download. It is the case the sample
does not cover: more than two classes, names with spaces and slashes, a small file. The
project is rendered for this module alone (its config changes), then: `init-data`, `all`,
`test`, `drift`, and a `/predict` with a row copied from the CSV.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.building import BuiltProject
from harness.rendering import render
from harness.service import RunningServer, request, wait_for
from harness.uv_env import project_environment, venv_script
from harness.variants import TABULAR
from tests.conftest import read_answers

pytestmark = pytest.mark.build

DATA = "data/raw/wine.csv"
TARGET = "cultivar"
WRITE_WINE = f"""
from sklearn.datasets import load_wine
wine = load_wine(as_frame=True)
frame = wine.frame.rename(columns={{"target": "{TARGET}"}})
frame["{TARGET}"] = [str(wine.target_names[i]) for i in frame["{TARGET}"]]
frame.to_csv("{DATA}", index=False)
"""


@pytest.fixture(scope="module")
def project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """A classification project whose config describes the wine table (via init-data)."""
    destination = tmp_path_factory.mktemp("own-data") / "project"
    render(template_repo, destination, TABULAR.answers(task="classification"))
    built = BuiltProject(
        destination,
        read_answers(destination),
        project_environment(),
        TABULAR,
        TABULAR.build("tabular-classification"),
    )
    built.require("setup")
    (destination / "data" / "raw").mkdir(parents=True)
    subprocess.run(
        [str(venv_script(destination, "python")), "-c", WRITE_WINE],
        cwd=destination,
        env=built.env,
        check=True,
    )
    result = built.make("init-data", f"DATA={DATA}", f"TARGET={TARGET}")
    assert result.ok, result.describe()
    built.results["init-data"] = result
    return built


def test_init_data_describes_the_file(project: BuiltProject) -> None:
    data = project.config()["data"]
    assert data["path"] == DATA
    assert data["target"] == TARGET
    assert data["classes"] == ["class_0", "class_1", "class_2"]
    assert len(data["columns"]) == 13
    assert data["columns"]["od280/od315_of_diluted_wines"]["dtype"] == "float"
    assert "init-data fingerprint" in (project.path / "configs" / "pipeline.yaml").read_text()


def test_make_all_trains_a_three_class_model_better_than_chance(project: BuiltProject) -> None:
    project.require("all")
    assert not (project.path / "data" / "sample").exists(), "the sample was written"
    metrics = json.loads((project.path / "reports" / "metrics.json").read_text())
    assert metrics["primary_metric"] == "roc_auc_ovr"
    assert set(metrics["test_metrics"]) >= {"f1_macro", "roc_auc_ovr", "pr_auc_macro"}
    assert metrics["test_metrics"]["roc_auc_ovr"] > 0.8
    figures = {Path(path).name for path in metrics["figures"]}
    assert {"confusion_matrix.png", "roc_curve.png", "pr_curve.png"} <= figures


def test_the_projects_own_tests_pass_on_the_users_data(project: BuiltProject) -> None:
    project.require("all")
    result = project.make("test", "PYTEST_ADDOPTS=-rs")  # -rs: list each skip and its reason
    assert result.ok, result.describe()
    assert " passed" in result.output
    assert "checks the bundled sample against data.columns" in result.output


def test_drift_compares_the_held_out_split_and_passes(project: BuiltProject) -> None:
    project.require("all")
    result = project.make("drift")
    assert result.ok, result.describe()
    report = (project.path / "reports" / "drift.md").read_text(encoding="utf-8")
    assert f"held-out test split of `{DATA}`" in report


@pytest.fixture(scope="module")
def server(
    project: BuiltProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    project.require("all")
    running = project.serve(tmp_path_factory.mktemp("own-data-server"))
    try:
        wait_for(running.url("/ready"), alive=running.alive, timeout=60)
        yield running
    finally:
        running.stop()


def _csv_row(project: BuiltProject) -> dict[str, Any]:
    with (project.path / DATA).open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    row.pop(TARGET)
    return {name: float(value) for name, value in row.items()}


def test_a_row_copied_from_the_csv_is_predicted(
    project: BuiltProject, server: RunningServer
) -> None:
    answer = request(server.url("/predict"), body=json.dumps(_csv_row(project)).encode())
    assert answer.status == 200, answer.body
    prediction = answer.json()
    assert prediction["label"] in {"class_0", "class_1", "class_2"}
    assert set(prediction["probabilities"]) == {"class_0", "class_1", "class_2"}
