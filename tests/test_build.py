"""Build layer: a rendered project installs with uv, passes its own checks, runs its whole
pipeline on the sample data, and its service answers real requests.

One project and one uv environment per task, shared by every test here (module-scoped,
parametrised by task); the `make` steps run once each, in the order a user runs them.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.building import BUILD_ANSWERS, BuiltProject
from tests.service import RunningServer, free_port, request, wait_for
from tests.uv_env import venv_script

pytestmark = pytest.mark.build

RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"

# The metrics the issue promises per task, compared with punctuation and case removed.
PROMISED_METRICS = {
    "classification": {"accuracy", "precision", "recall", "f1", "rocauc", "prauc"},
    "regression": {"rmse", "mae", "r2"},
}


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.fixture(scope="module", params=sorted(BUILD_ANSWERS))
def project(request: pytest.FixtureRequest, build_project: Any) -> BuiltProject:
    built: BuiltProject = build_project(request.param)
    return built


def _metadata(project: BuiltProject) -> dict[str, Any]:
    loaded = json.loads((project.path / "models" / "metadata.json").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _results_block(readme: str) -> str:
    assert readme.count(RESULTS_START) == 1, "README needs exactly one results:start marker"
    assert readme.count(RESULTS_END) == 1, "README needs exactly one results:end marker"
    return readme.split(RESULTS_START, 1)[1].split(RESULTS_END, 1)[0]


# --- install, lint, test -----------------------------------------------------------------


def test_make_setup_creates_the_environment(project: BuiltProject) -> None:
    project.require("setup")
    assert (project.path / "uv.lock").is_file(), "make setup must create uv.lock"
    assert venv_script(project.path, project.package).exists(), "CLI not installed in .venv"
    lock = (project.path / "uv.lock").read_text(encoding="utf-8")
    assert "file://" not in lock, "uv.lock records local paths; the Docker build cannot use it"


def test_make_lint_passes(project: BuiltProject) -> None:
    project.require("setup")
    result = project.step("lint")
    assert result.ok, result.describe()


def test_make_test_passes(project: BuiltProject) -> None:
    project.require("setup")
    result = project.step("test")
    assert result.ok, result.describe()
    assert re.search(r"\d+ passed", result.output), result.describe()


# --- the pipeline end to end ---------------------------------------------------------------


def test_make_all_writes_every_artefact(project: BuiltProject) -> None:
    project.require("setup")
    result = project.step("all")
    assert result.ok, result.describe()
    for artefact in (
        "models/model.joblib",
        "models/metadata.json",
        "models/reference.json",
        "reports/eda.md",
        "reports/metrics.json",
    ):
        assert (project.path / artefact).is_file(), f"make all did not write {artefact}"
    figures = sorted((project.path / "reports" / "figures").glob("*.png"))
    assert len(figures) >= 5, f"expected EDA and evaluation figures, found {figures}"
    assert all(figure.stat().st_size > 1000 for figure in figures), "an empty figure"


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
    if project.task == "classification":
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


def test_metadata_follows_the_contract(project: BuiltProject) -> None:
    project.require("setup", "all")
    metadata = _metadata(project)
    assert metadata["task"] == project.task
    assert metadata["model_version"]
    trained_at = datetime.fromisoformat(metadata["trained_at"].replace("Z", "+00:00"))
    assert trained_at.utcoffset() is not None, "trained_at must carry its UTC offset"
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
    assert PROMISED_METRICS[project.task] <= metrics, metadata["test_metrics"]
    if project.task == "classification":
        assert isinstance(metadata["classes"], list)
        assert len(metadata["classes"]) >= 2
    else:
        assert metadata["classes"] is None
    features = {feature["name"]: feature for feature in metadata["features"]}
    assert set(features) == set(project.config()["data"]["columns"])
    for feature in features.values():
        assert feature["kind"] in {"numeric", "categorical"}
        assert feature["dtype"] in {"int", "float", "str", "bool"}


def test_readme_results_are_filled(project: BuiltProject) -> None:
    project.require("setup", "all")
    block = _results_block((project.path / "README.md").read_text(encoding="utf-8"))
    metadata = _metadata(project)
    assert "|" in block, "the results block holds no table"
    assert metadata["chosen"]["name"] in block or metadata["model_version"] in block
    for value in metadata["test_metrics"].values():
        # Rounded to 0-4 decimals, with or without thousands separators: 49,572.1398.
        shown = {f"{value:{sep}.{digits}f}" for digits in range(5) for sep in ("", ",")}
        assert any(text in block for text in shown), f"test metric {value} not in README"


def test_evaluate_twice_changes_nothing(project: BuiltProject) -> None:
    project.require("setup", "all")
    readme = project.path / "README.md"
    before = readme.read_bytes()
    again = project.make("evaluate")
    assert again.ok, again.describe()
    assert readme.read_bytes() == before, "a second `make evaluate` changed README.md"


# --- monitoring --------------------------------------------------------------------------


def test_drift_on_the_shipped_batch_passes(project: BuiltProject) -> None:
    project.require("setup", "all")
    report = project.path / "reports" / "drift.md"
    report.unlink(missing_ok=True)
    result = project.make("drift")
    assert result.ok, result.describe()
    assert report.is_file(), "make drift wrote no reports/drift.md"


def test_drift_on_a_shifted_batch_fails(project: BuiltProject, tmp_path: Path) -> None:
    """Push every numeric feature to the top of its observed range (still valid input):
    the distributions no longer match the training data, so drift must be flagged."""
    project.require("setup", "all")
    columns = project.config()["data"]["columns"]
    numeric = [name for name, spec in columns.items() if spec["dtype"] in ("int", "float")]
    source = project.path / "data" / "raw" / "new_batch.csv"
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


# --- the service -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    project: BuiltProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    project.require("setup", "all")
    port = free_port()
    environment = {**project.env, "HOST": "127.0.0.1", "PORT": str(port)}
    running = RunningServer(
        [str(venv_script(project.path, project.package)), "serve"],
        cwd=project.path,
        env=environment,
        port=port,
        log_path=tmp_path_factory.mktemp("server") / "server.log",
    )
    try:
        wait_for(running.url("/health"), alive=running.alive)
        wait_for(running.url("/ready"), alive=running.alive, timeout=60)
    except (TimeoutError, RuntimeError) as error:
        running.stop()
        pytest.fail(f"{error}\nserver log:\n{running.log()[-4000:]}", pytrace=False)
    yield running
    running.stop()
    assert not running.alive()


def _openapi_example(server: RunningServer, path: str) -> dict[str, Any]:
    """The example request body the OpenAPI schema documents for `path`."""
    schema = request(server.url("/openapi.json")).json()
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    if "example" in body:
        return dict(body["example"])
    if "examples" in body:
        return dict(next(iter(body["examples"].values()))["value"])
    model = body["schema"]
    while "$ref" in model:
        model = schema["components"]["schemas"][model["$ref"].rsplit("/", 1)[1]]
    examples = model.get("examples") or ([model["example"]] if "example" in model else [])
    assert examples, f"the OpenAPI schema of POST {path} carries no example"
    return dict(examples[0])


def test_health_and_ready(server: RunningServer, project: BuiltProject) -> None:
    assert request(server.url("/health")).status == 200
    ready = request(server.url("/ready"))
    assert ready.status == 200, ready.text
    assert ready.json()["model_version"] == _metadata(project)["model_version"]


def test_metadata_route(server: RunningServer, project: BuiltProject) -> None:
    answer = request(server.url("/metadata"))
    assert answer.status == 200, answer.text
    body = answer.json()
    metadata = _metadata(project)
    assert body["model_version"] == metadata["model_version"]
    assert body["task"] == project.task


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
    metadata = _metadata(project)
    assert body["model_version"] == metadata["model_version"]
    _check_prediction(body, project.task, metadata["classes"])


def test_predict_batch_the_openapi_example(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict/batch")
    records = example["records"] * 3
    answer = request(server.url("/predict/batch"), {"records": records})
    assert answer.status == 200, answer.text
    body = answer.json()
    metadata = _metadata(project)
    assert body["model_version"] == metadata["model_version"]
    assert len(body["predictions"]) == len(records)
    for prediction in body["predictions"]:
        _check_prediction(prediction, project.task, metadata["classes"])


def test_bad_field_is_a_422_naming_it(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict")
    numeric = next(f["name"] for f in _metadata(project)["features"] if f["kind"] == "numeric")
    broken = copy.deepcopy(example)
    broken[numeric] = "not a number"
    answer = request(server.url("/predict"), broken)
    assert answer.status == 422, answer.text
    assert numeric in answer.text


def test_missing_and_unknown_fields_are_422s(server: RunningServer, project: BuiltProject) -> None:
    example = _openapi_example(server, "/predict")
    required = next(f["name"] for f in _metadata(project)["features"] if not f["nullable"])
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


def test_ready_is_503_until_a_model_exists(project: BuiltProject, tmp_path: Path) -> None:
    """With no model on disk the app still starts: /health is 200, /ready 503 with a reason."""
    project.require("setup")
    port = free_port()
    empty_models = tmp_path / "no-models"
    empty_models.mkdir()
    environment = {
        **project.env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATHS__MODELS_DIR": str(empty_models),
    }
    modelless = RunningServer(
        [str(venv_script(project.path, project.package)), "serve"],
        cwd=project.path,
        env=environment,
        port=port,
        log_path=tmp_path / "server.log",
    )
    try:
        try:
            wait_for(modelless.url("/health"), alive=modelless.alive)
        except (TimeoutError, RuntimeError) as error:
            pytest.fail(f"{error}\nserver log:\n{modelless.log()[-4000:]}", pytrace=False)
        ready = request(modelless.url("/ready"))
        assert ready.status == 503, ready.text
        assert ready.json().get("reason"), "a 503 from /ready must say why"
        example = _openapi_example(modelless, "/predict")
        assert request(modelless.url("/predict"), example).status == 503
    finally:
        modelless.stop()


def test_prometheus_metrics(server: RunningServer) -> None:
    request(server.url("/health"))
    answer = request(server.url("/metrics"))
    assert answer.status == 200, answer.text
    assert "# HELP" in answer.text
    assert "# TYPE" in answer.text
