"""Build layer, what only the tabular variant does: realistic sample data, an EDA report, three
model families compared, the promised metrics per task, request models generated from the
feature schema (with working OpenAPI examples), batch caps and drift on a shifted batch.

Shares its projects and servers with `test_build.py` through the session's build cache.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from harness.building import BuiltProject
from harness.service import RunningServer, request
from harness.variants import TABULAR
from tests.conftest import BuildProject
from tests.test_build import metadata_of

pytestmark = pytest.mark.build

# The metrics promised per task, compared with punctuation and case removed.
PROMISED_METRICS = {
    "classification": {"accuracy", "precision", "recall", "f1", "rocauc", "prauc"},
    "regression": {"rmse", "mae", "r2"},
}


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.fixture(scope="module", params=[build.name for build in TABULAR.builds])
def project(request: pytest.FixtureRequest, build_project: BuildProject) -> BuiltProject:
    return build_project(request.param)


def task(project: BuiltProject) -> str:
    return str(project.answers["task"])


def test_make_all_writes_the_eda_and_evaluation_figures(project: BuiltProject) -> None:
    project.require("setup", "all")
    figures = sorted((project.path / "reports" / "figures").rglob("*.png"))
    assert len(figures) >= 5, f"expected EDA and evaluation figures, found {figures}"


def test_sample_data_is_realistic(project: BuiltProject) -> None:
    project.require("setup", "all")
    config = project.config()
    data_file = project.path / config["data"]["path"]
    with data_file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 5000
    columns = set(rows[0])
    assert set(config["data"]["columns"]) <= columns
    assert config["data"]["target"] in columns
    assert any(value == "" for row in rows for value in row.values()), "no missing values"
    if task(project) == "classification":
        target = [row[config["data"]["target"]] for row in rows]
        counts = sorted(target.count(value) for value in set(target))
        assert counts[-1] >= 4 * counts[0], f"class balance {counts} is weaker than 1:4"


def test_eda_report_links_existing_figures(project: BuiltProject) -> None:
    project.require("setup", "all")
    report = (project.path / "reports" / "eda.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert links, "reports/eda.md shows no figures"
    for link in links:
        assert (project.path / "reports" / link).is_file(), f"eda.md links missing {link}"


def test_metadata_records_the_model_selection(project: BuiltProject) -> None:
    project.require("setup", "all")
    metadata = metadata_of(project)
    assert metadata["task"] == task(project)
    data_file = project.path / project.config()["data"]["path"]
    assert (
        metadata["data_hash"].removeprefix("sha256:")
        == hashlib.sha256(data_file.read_bytes()).hexdigest()
    )
    assert len(metadata["candidates"]) >= 3, "at least three model families compared"
    for candidate in metadata["candidates"]:
        assert {"name", "cv_score", "cv_std", "best_params", "val_score"} <= set(candidate)
    assert metadata["chosen"]["name"] in {c["name"] for c in metadata["candidates"]}
    metrics = {_normalise(name) for name in metadata["test_metrics"]}
    assert PROMISED_METRICS[task(project)] <= metrics, metadata["test_metrics"]
    if task(project) == "classification":
        assert isinstance(metadata["classes"], list)
        assert len(metadata["classes"]) >= 2
    else:
        assert metadata["classes"] is None
    features = {feature["name"]: feature for feature in metadata["features"]}
    assert set(features) == set(project.config()["data"]["columns"])
    for feature in features.values():
        assert feature["kind"] in {"numeric", "categorical"}
        assert feature["dtype"] in {"int", "float", "str", "bool"}


def test_readme_results_name_the_chosen_model(project: BuiltProject) -> None:
    project.require("setup", "all")
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    assert metadata_of(project)["chosen"]["name"] in readme


def test_drift_on_a_shifted_batch_fails(project: BuiltProject, tmp_path: Path) -> None:
    """Push every numeric feature to the top of its observed range (still valid input):
    the distributions no longer match the training data, so drift must be flagged."""
    project.require("setup", "all")
    columns = project.config()["data"]["columns"]
    numeric = [name for name, spec in columns.items() if spec["dtype"] in ("int", "float")]
    source = project.path / "data" / "sample" / "new_batch.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fieldnames = list(reader.fieldnames or [])
        rows = list(reader)
    for name in numeric:
        present = [row[name] for row in rows if row[name] != ""]
        highest = max(present, key=float)
        for row in rows:
            if row[name] != "":
                row[name] = highest
    shifted_batch = tmp_path / "shifted.csv"
    with shifted_batch.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    report = project.path / "reports" / "drift.md"
    report.unlink(missing_ok=True)
    result = project.make("drift", f"BATCH={shifted_batch}")
    assert not result.ok, f"a shifted batch was not flagged:\n{result.output[-3000:]}"
    assert report.is_file(), f"no drift report for the shifted batch:\n{result.output[-3000:]}"


# --- the service: request models generated from the feature schema --------------------------


def _openapi_example(server: RunningServer, path: str) -> dict[str, Any]:
    """The example request body the OpenAPI schema documents for `path`."""
    schema = request(server.url("/openapi.json")).json()
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    model = body["schema"]
    while "$ref" in model:
        model = schema["components"]["schemas"][model["$ref"].rsplit("/", 1)[1]]
    examples = model.get("examples") or ([model["example"]] if "example" in model else [])
    assert examples, f"the OpenAPI schema of POST {path} carries no example"
    return dict(examples[0])


def _check_prediction(prediction: dict[str, Any], task: str, classes: list[Any] | None) -> None:
    if task == "classification":
        assert str(prediction["label"]) in {str(c) for c in classes or []}
        probabilities = prediction["probabilities"]
        assert set(probabilities) == {str(c) for c in classes or []}
        assert abs(sum(probabilities.values()) - 1) < 1e-6
    else:
        assert isinstance(prediction["value"], float | int)


def test_predict_the_openapi_example(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict")
    answer = request(server.url("/predict"), example)
    assert answer.status == 200, answer.text
    body = answer.json()
    metadata = metadata_of(project)
    assert body["model_version"] == metadata["model_version"]
    _check_prediction(body, task(project), metadata["classes"])


def test_predict_batch_the_openapi_example(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict/batch")
    records = example["records"] * 3
    answer = request(server.url("/predict/batch"), {"records": records})
    assert answer.status == 200, answer.text
    body = answer.json()
    metadata = metadata_of(project)
    assert body["model_version"] == metadata["model_version"]
    assert len(body["predictions"]) == len(records)
    for prediction in body["predictions"]:
        _check_prediction(prediction, task(project), metadata["classes"])


def test_bad_field_is_a_422_naming_it(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict")
    features = metadata_of(project)["features"]
    numeric = next(f["name"] for f in features if f["kind"] == "numeric")
    broken = copy.deepcopy(example)
    broken[numeric] = "not a number"
    answer = request(server.url("/predict"), broken)
    assert answer.status == 422, answer.text
    assert numeric in answer.text


def test_missing_and_unknown_fields_are_422s(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict")
    features = metadata_of(project)["features"]
    required = next(f["name"] for f in features if not f["nullable"])
    missing = {key: value for key, value in example.items() if key != required}
    answer = request(server.url("/predict"), missing)
    assert answer.status == 422, answer.text
    assert required in answer.text
    unknown = {**example, "no_such_column": 1}
    answer = request(server.url("/predict"), unknown)
    assert answer.status == 422, answer.text
    assert "no_such_column" in answer.text


def test_oversized_batch_is_a_413(server: RunningServer, project: BuiltProject) -> None:
    limit = int(project.config()["serving"]["max_batch_records"])
    example = _openapi_example(server, "/predict/batch")
    answer = request(
        server.url("/predict/batch"), {"records": example["records"][:1] * (limit + 1)}
    )
    assert answer.status == 413, answer.text
