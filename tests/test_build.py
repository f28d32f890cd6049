"""Build layer, the variant contract: every registry build installs with uv, passes its own
checks, runs its whole pipeline on the sample data, and its service answers its sample
requests, reports its model and refuses bad input with a 4xx.

One project and one uv environment per build, shared by every test here and in the
variant-specific modules (module-scoped, parametrised from `harness.variants.BUILDS`); the
`make` steps run once each, in the order a user runs them. What only one variant does is
tested in `test_build_<variant>.py`.
"""

from __future__ import annotations

import json
import re
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.building import BuiltProject
from harness.probes import describe, fuzz, load_payloads
from harness.service import RunningServer, declare_body, request, wait_for
from harness.uv_env import venv_script
from harness.variants import BUILDS
from tests.conftest import BuildProject

pytestmark = pytest.mark.build

BLOCK = re.compile(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", re.DOTALL)
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"
CONTRACT_KEYS = {
    "model_version",
    "trained_at",
    "variant",
    "task",
    "primary_metric",
    "test_metrics",
    "data_hash",
    "template_version",
}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def project(request: pytest.FixtureRequest, build_project: BuildProject) -> BuiltProject:
    return build_project(request.param)


def metadata_of(project: BuiltProject) -> dict[str, Any]:
    loaded = json.loads((project.current_model() / "metadata.json").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def results_block(readme: str) -> str:
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
    for report in ("reports/metrics.json", "reports/data.json", *project.variant.reports):
        assert (project.path / report).is_file(), f"make all did not write {report}"
    model = project.current_model()
    for name in ("metadata.json", *project.variant.model_files):
        assert (model / name).is_file(), f"make all did not write {name} in {model}"
    figures = sorted((project.path / "reports" / "figures").rglob("*.png"))
    assert figures, "make all drew no figure"
    assert all(figure.stat().st_size > 1000 for figure in figures), "an empty figure"


def test_metadata_carries_the_contract_keys(project: BuiltProject) -> None:
    project.require("setup", "all")
    metadata = metadata_of(project)
    assert set(metadata) >= CONTRACT_KEYS, sorted(CONTRACT_KEYS - set(metadata))
    assert metadata["variant"] == project.variant.name
    trained_at = datetime.fromisoformat(metadata["trained_at"].replace("Z", "+00:00"))
    assert trained_at.utcoffset() is not None, "trained_at must carry its UTC offset"
    assert re.fullmatch(r"[0-9a-f]{64}", metadata["data_hash"].removeprefix("sha256:"))
    assert metadata["template_version"] == project.template_commit()
    assert metadata["test_metrics"], "no test metrics recorded"
    assert all(isinstance(value, float | int) for value in metadata["test_metrics"].values())


def test_readme_results_are_filled(project: BuiltProject) -> None:
    project.require("setup", "all")
    block = results_block((project.path / "README.md").read_text(encoding="utf-8"))
    metadata = metadata_of(project)
    assert "|" in block, "the results block holds no table"
    assert metadata["model_version"] in block
    for value in metadata["test_metrics"].values():
        # Rounded to 0-4 decimals, with or without thousands separators: 49,572.1398.
        shown = {f"{value:{sep}.{digits}f}" for digits in range(5) for sep in ("", ",")}
        assert any(text in block for text in shown), f"test metric {value} not in README"


def test_results_twice_change_nothing(project: BuiltProject) -> None:
    project.require("setup", "all")
    documents = [project.path / "README.md", project.path / "MODEL_CARD.md"]
    before = [path.read_bytes() for path in documents]
    again = project.make(project.variant.results_target)
    assert again.ok, again.describe()
    for path, text in zip(documents, before, strict=True):
        assert path.read_bytes() == text, f"rewriting the results changed {path.name}"


def test_every_number_in_the_prose_comes_from_reports(project: BuiltProject) -> None:
    """After `make all`, every marker block of the README and the model card is written, and
    `make check` finds no number in them that reports/*.json does not hold; the data block
    states the measured size of the data (rows, images)."""
    project.require("setup", "all")
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    card = (project.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    for name in ("data", "results"):
        for text in (readme, card):
            assert f"<!-- {name}:start -->" in text, f"no {name} block"
    facts = json.loads((project.path / "reports" / "data.json").read_text(encoding="utf-8"))
    data_block = readme.split("<!-- data:start -->", 1)[1].split("<!-- data:end -->", 1)[0]
    unit = project.variant.data_unit
    assert re.search(rf"\b{facts[unit]:,}\**\s{unit}\b", data_block), (unit, data_block)
    check = project.make("check")
    listed = check.output.splitlines()
    assert listed, "make check listed nothing on a fresh project (its prompts are left)"
    blocks = [line for line in listed if " block " in line]
    assert blocks == [], "\n".join(blocks)
    # Outside the blocks, the Data, Results and Decisions sections state no share by hand.
    outside = BLOCK.sub("", readme)
    for section in ("## Data", "## Results", "## Decisions"):
        body = outside.split(section, 1)[1].split("\n## ", 1)[0]
        assert not re.search(r"\d\s?%", body), f"a hand-written share in {section}"


def test_drift_on_the_shipped_batch_passes(project: BuiltProject) -> None:
    project.require("setup", "all")
    report = project.path / "reports" / "drift.md"
    report.unlink(missing_ok=True)
    result = project.make("drift")
    assert result.ok, result.describe()
    assert report.is_file(), "make drift wrote no reports/drift.md"


# --- the service -------------------------------------------------------------------------


def test_health_and_ready(server: RunningServer, project: BuiltProject) -> None:
    assert request(server.url("/health")).status == 200
    ready = request(server.url("/ready"))
    assert ready.status == 200, ready.text
    assert ready.json()["model_version"] == metadata_of(project)["model_version"]


def test_metadata_route_serves_the_saved_metadata(
    server: RunningServer, project: BuiltProject
) -> None:
    answer = request(server.url("/metadata"))
    assert answer.status == 200, answer.text
    assert answer.json() == metadata_of(project)


def test_sample_requests_get_the_expected_answers(
    server: RunningServer, project: BuiltProject
) -> None:
    payloads = load_payloads(project.build.payloads)
    assert any(payload.status == 200 for payload in payloads), "no request that succeeds"
    assert any(400 <= payload.status < 500 for payload in payloads), "no request refused"
    version = metadata_of(project)["model_version"]
    problems = []
    for payload in payloads:
        answer = payload.send(server.base_url)
        problems += [f"{describe(payload)}: {problem}" for problem in payload.problems(answer)]
        if answer.status == 200 and answer.json().get("model_version") != version:
            problems.append(f"{describe(payload)}: answered by another model version")
    assert problems == []


def test_a_body_over_the_size_cap_is_a_413(server: RunningServer, project: BuiltProject) -> None:
    limit = int(project.config()["serving"]["max_body_bytes"])
    path = next(p.path for p in load_payloads(project.build.payloads) if p.status == 200)
    # Declared, not sent: an image route's cap is tens of megabytes, and a cap must answer
    # from the header (one that read the body first would leave this request hanging).
    answer = declare_body(server.url(path), limit + 1)
    assert answer.status == 413, answer.text
    # The route's own cap (serving.max_body_bytes, or a tighter one for the route) by name.
    assert re.search(r"larger than \d+ bytes \(serving\.\w+[,)]", answer.text), answer.text


def test_docs_work_offline(server: RunningServer) -> None:
    page = request(server.url("/docs"))
    assert page.status == 200
    assert "cdn.jsdelivr.net" not in page.text
    assert request(server.url("/docs/assets/swagger-ui-bundle.js")).status == 200
    assert request(server.url("/openapi.json")).json()["paths"]


def test_prometheus_telemetry(server: RunningServer) -> None:
    request(server.url("/health"))
    answer = request(server.url("/metrics"))
    assert answer.status == 200, answer.text
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in answer.text
    assert "# TYPE" in answer.text


def test_ready_is_503_until_a_model_exists(project: BuiltProject, tmp_path: Path) -> None:
    """With no model on disk the app still starts: /health is 200, /ready 503 with a reason,
    and every prediction route says why it cannot answer."""
    project.require("setup")
    empty_models = tmp_path / "no-models"
    empty_models.mkdir()
    modelless = project.serve(tmp_path, PATHS__MODELS_DIR=str(empty_models))
    try:
        try:
            wait_for(modelless.url("/health"), alive=modelless.alive)
        except (TimeoutError, RuntimeError) as error:
            pytest.fail(f"{error}\nserver log:\n{modelless.log()[-4000:]}", pytrace=False)
        ready = request(modelless.url("/ready"))
        assert ready.status == 503, ready.text
        assert ready.json().get("reason"), "a 503 from /ready must say why"
        for payload in load_payloads(project.build.payloads):
            if payload.status == 200:
                answer = payload.send(modelless.base_url)
                assert answer.status == 503, describe(payload)
                assert f"make {project.variant.model_target}" in answer.text
    finally:
        modelless.stop()


def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    server: RunningServer, project: BuiltProject, tmp_path: Path
) -> None:
    """Schemathesis, from the service's own OpenAPI schema: no 5xx, every answer matches its
    documented schema, every invalid request is refused with a documented 4xx."""
    config = project.variant.fuzz_config
    code, output = fuzz(server.base_url, examples=30, report_dir=tmp_path, config=config)
    assert code == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]


@pytest.mark.parametrize(
    "moment", ["metadata.json written, not renamed", "folder renamed, CURRENT not switched"]
)
def test_a_train_killed_mid_save_leaves_the_served_model_alone(
    server: RunningServer, project: BuiltProject, moment: str
) -> None:
    """SIGKILL while a new model is being saved (a half-written staging folder; a complete
    folder not yet made current): `models/CURRENT` still names the previous whole model and
    the running service keeps answering with it."""
    before = project.current_model()
    metadata = metadata_of(project)
    crashed = project.train_killed_at(moment)
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    assert project.current_model() == before
    assert metadata_of(project) == metadata
    time.sleep(3 * float(project.config()["serving"]["reload_interval_s"]))
    ready = request(server.url("/ready"))
    assert ready.status == 200, ready.text
    assert ready.json()["model_version"] == metadata["model_version"]
    answer = next(p for p in load_payloads(project.build.payloads) if p.status == 200)
    assert answer.send(server.base_url).status == 200, describe(answer)


def test_a_retrained_model_is_served_without_a_restart(
    server: RunningServer, project: BuiltProject
) -> None:
    """`make train` while the service runs: once the new model passed its checks, every
    route (batches too, scored in the worker process) answers with it, and /metadata
    describes it."""
    previous = metadata_of(project)["model_version"]
    retrained = project.make(project.variant.model_target)
    assert retrained.ok, retrained.describe()
    version = metadata_of(project)["model_version"]
    assert version != previous, f"make {project.variant.model_target} wrote no new version"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = request(server.url("/ready"))
        if ready.status == 200 and ready.json()["model_version"] == version:
            break
        time.sleep(0.2)
    assert request(server.url("/metadata")).json() == metadata_of(project)
    for payload in load_payloads(project.build.payloads):
        if payload.status == 200:
            answer = payload.send(server.base_url)
            assert answer.status == 200, describe(payload)
            assert answer.json()["model_version"] == version, describe(payload)
