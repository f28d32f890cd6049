"""Container layer: after `make all`, each variant's image builds with its own
`make docker-build`, holds the service's dependencies only, serves the trained model and its
sample requests, and runs as a non-root user.

Skipped, with the reason, where podman cannot build or start containers; `.ci/run` sets
AIPT_REQUIRE_CONTAINERS=1 so that on CI a broken engine fails instead.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from harness.building import BuiltProject
from harness.containers import Engine, build_image, containers_required, find_engine, image_size
from harness.probes import describe, load_payloads
from harness.service import free_port, request, wait_for
from harness.variants import VARIANTS
from tests.conftest import BuildProject

pytestmark = pytest.mark.container

# Installed by the `train` group only: none of them may reach the serving image.
TRAINING_ONLY = (
    *("matplotlib", "pandera", "pyarrow", "mlflow", "pytest", "ruff", "mypy"),
    *("torch", "torchvision", "onnx", "sentence-transformers", "transformers"),
)


@pytest.fixture(scope="session")
def engine() -> Engine:
    found, reason = find_engine()
    if found is None:
        if containers_required():
            pytest.fail(f"AIPT_REQUIRE_CONTAINERS is set, but: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def project(request: pytest.FixtureRequest, build_project: BuildProject) -> BuiltProject:
    built = build_project(VARIANTS[request.param].container_build)
    built.require("setup", "all")
    return built


@pytest.fixture(scope="module")
def image(
    engine: Engine, project: BuiltProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The project's image, built by its Makefile with podman."""
    tag = f"localhost/aipt-test-{uuid.uuid4().hex[:8]}:latest"
    built = build_image(project, engine, tag, tmp_path_factory.mktemp("image"))
    assert built.ok, built.describe()
    print(f"\n{project.build.name} image: {image_size(engine, tag) / 1e6:.0f} MB")
    yield tag
    engine.run("rmi", "--force", tag)


@dataclass(frozen=True)
class Container:
    name: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def container(engine: Engine, image: str) -> Iterator[Container]:
    name = f"aipt-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    started = engine.run(
        "run", "--detach", "--name", name, "--publish", f"127.0.0.1:{port}:8000", image
    )
    assert started.returncode == 0, started.stderr
    running = Container(name, port)
    try:
        try:
            wait_for(f"{running.base_url}/ready", timeout=120)
        except TimeoutError as error:
            pytest.fail(f"{error}\ncontainer log:\n{_logs(engine, running)}", pytrace=False)
        yield running
    finally:
        engine.run("rm", "--force", "--time", "5", name)


def _logs(engine: Engine, container: Container) -> str:
    return engine.run("logs", container.name).stdout[-3000:]


def _image_config(engine: Engine, image: str) -> dict[str, Any]:
    inspected = engine.run("image", "inspect", image)
    assert inspected.returncode == 0, inspected.stderr
    (config,) = json.loads(inspected.stdout)
    assert isinstance(config, dict)
    return config


def test_image_keeps_its_healthcheck(engine: Engine, image: str) -> None:
    """Built in docker format: podman's default OCI format silently drops HEALTHCHECK."""
    config = _image_config(engine, image)
    healthcheck = (
        config.get("Healthcheck")
        or config.get("HealthCheck")
        or config.get("Config", {}).get("Healthcheck")
    )
    assert healthcheck, "the image has no HEALTHCHECK"


def test_image_holds_the_service_dependencies_only(engine: Engine, image: str) -> None:
    listed = engine.run(
        "run",
        "--rm",
        "--entrypoint",
        "python3",
        image,
        "-c",
        "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'].lower() "
        "for d in m.distributions()))",
    )
    assert listed.returncode == 0, listed.stderr
    installed = set(listed.stdout.split())
    assert "fastapi" in installed, "the service's own dependencies are missing"
    assert sorted(installed & set(TRAINING_ONLY)) == [], "training tools in the serving image"


def test_container_serves_its_model(
    engine: Engine, container: Container, project: BuiltProject
) -> None:
    assert request(f"{container.base_url}/health").status == 200
    ready = request(f"{container.base_url}/ready")
    assert ready.json()["status"] == "ready", ready.text
    metadata = request(f"{container.base_url}/metadata")
    assert metadata.status == 200
    saved = json.loads((project.current_model() / "metadata.json").read_text("utf-8"))
    assert metadata.json()["model_version"] == saved["model_version"]


def test_container_answers_the_sample_requests(container: Container, project: BuiltProject) -> None:
    problems = []
    for payload in load_payloads(project.build.payloads):
        answer = payload.send(container.base_url)
        problems += [f"{describe(payload)}: {problem}" for problem in payload.problems(answer)]
    assert problems == []


def test_container_runs_as_non_root(engine: Engine, image: str, container: Container) -> None:
    config = _image_config(engine, image)
    user = str(config.get("Config", {}).get("User") or config.get("User") or "")
    assert user, "the image sets no USER"
    uid = user.split(":", 1)[0]
    assert uid.isdigit(), f"USER {user!r} must be numeric (Kubernetes runAsNonRoot checks it)"
    assert int(uid) != 0, "the image runs as root"
    running = engine.run("exec", container.name, "id", "-u")
    assert running.returncode == 0, running.stderr
    assert running.stdout.strip() == uid, "the service process does not run as the image's USER"


def _exec_ok(engine: Engine, name: str, path: str) -> bool:
    probe = f"import urllib.request as r; r.urlopen('http://127.0.0.1:8000{path}', timeout=2)"
    return engine.run("exec", name, "python3", "-c", probe).returncode == 0


def test_the_healthcheck_reports_readiness(
    engine: Engine, image: str, container: Container
) -> None:
    """Healthy means ready: with its model the container is healthy; alive but without a
    model (here: pointed at an empty folder), it is not."""
    assert engine.run("healthcheck", "run", container.name).returncode == 0
    name = f"aipt-test-{uuid.uuid4().hex[:8]}"
    started = engine.run("run", "--detach", "--name", name, "-e", "PATHS__MODELS_DIR=/tmp", image)
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 120
        while not _exec_ok(engine, name, "/health") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _exec_ok(engine, name, "/health"), "the model-less container never came up"
        assert not _exec_ok(engine, name, "/ready")
        assert engine.run("healthcheck", "run", name).returncode != 0
    finally:
        engine.run("rm", "--force", "--time", "5", name)
