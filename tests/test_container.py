"""Container layer: after `make all`, the classification project's image builds with its own
`make docker-build`, serves the trained model, and runs as a non-root user."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.building import BuiltProject
from tests.containers import BASE_IMAGE, HOST_CA_BUNDLE, Engine, find_engine
from tests.service import free_port, request, wait_for

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def engine() -> Engine:
    found, reason = find_engine()
    if found is None:
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def image(engine: Engine, build_project: Any) -> Iterator[str]:
    """The classification project's image, built by its Makefile with podman."""
    project: BuiltProject = build_project("classification")
    project.require("setup", "all")
    tag = f"localhost/aipt-test-{uuid.uuid4().hex[:8]}:latest"
    flags = f"-v {HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro" if HOST_CA_BUNDLE.is_file() else ""
    project_with_engine = BuiltProject(project.path, project.answers, {**project.env, **engine.env})
    built = project_with_engine.make(
        "docker-build",
        f"DOCKER={engine.executable}",
        f"IMAGE={tag}",
        f"BASE_IMAGE={BASE_IMAGE}",
        f"DOCKER_BUILD_FLAGS={flags}",
        timeout=900,
    )
    assert built.ok, built.describe()
    yield tag
    engine.run("rmi", "--force", tag)


@dataclass(frozen=True)
class Container:
    name: str
    port: int


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
            wait_for(f"http://127.0.0.1:{port}/health", timeout=120)
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


def test_container_serves_health_and_ready(engine: Engine, container: Container) -> None:
    base = f"http://127.0.0.1:{container.port}"
    assert request(f"{base}/health").status == 200
    try:
        ready = wait_for(f"{base}/ready", timeout=60)
    except TimeoutError as error:
        pytest.fail(f"{error}\ncontainer log:\n{_logs(engine, container)}", pytrace=False)
    assert ready.json()["status"] == "ready"
    assert request(f"{base}/metadata").status == 200


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
