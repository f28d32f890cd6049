"""Find a usable container engine (podman) and base image, or say why there is none.

These machines reach no container registry, so the base image is built locally by
`../shared/tools/oci/make-base-image.sh` (debootstrap + `podman import`); `.ci/run`
builds it before the tests. Elsewhere (a developer laptop, GitHub's runners) any podman
with a reachable `python:<version>-slim` would do, but the tests pin the local base.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from harness.building import BuiltProject, StepResult
from harness.rendering import REPO_ROOT
from harness.uv_env import pypi_only

BASE_IMAGE = "localhost/pybase:3.11"
# The host's CA bundle, mounted read-only into builds: package installs inside a build go
# through an HTTPS proxy here, whose CA is in that bundle. Nothing of it stays in the image.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def shared_dir() -> Path:
    """The team's shared tools: $AIPT_SHARED_DIR, else `../shared` beside the repository."""
    configured = os.environ.get("AIPT_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


def oci_tools() -> Path:
    return shared_dir() / "tools" / "oci"


@dataclass(frozen=True)
class Engine:
    """podman, with the environment it must run in here."""

    executable: str
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.executable, *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )


def engine_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment with CONTAINERS_CONF set from the shared tools when not already set."""
    environment = dict(os.environ if base is None else base)
    conf = oci_tools() / "containers.conf"
    if "CONTAINERS_CONF" not in environment and conf.is_file():
        environment["CONTAINERS_CONF"] = str(conf)
    return environment


REQUIRE_VARIABLE = "AIPT_REQUIRE_CONTAINERS"


def containers_required() -> bool:
    """Whether a missing or broken engine fails the container layer instead of skipping it
    (CI sets AIPT_REQUIRE_CONTAINERS=1: there, an engine that cannot run is a broken CI)."""
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


def find_engine() -> tuple[Engine | None, str]:
    """(the engine, "") when podman can build and start containers from the base image,
    else (None, why not)."""
    engine, reason = _engine_with_base_image()
    if engine is None:
        return None, reason
    # Some machines have podman but cannot start a container (no containers.conf, runc
    # refusing rlimits, no user namespaces): find out once, with the smallest container.
    started = engine.run("run", "--rm", BASE_IMAGE, "true", timeout=120)
    if started.returncode != 0:
        output = (started.stdout + started.stderr).strip()[-1500:]
        return None, f"podman cannot start a container from {BASE_IMAGE} here:\n{output}"
    return engine, ""


def _engine_with_base_image() -> tuple[Engine | None, str]:
    executable = shutil.which("podman")
    if executable is None:
        return None, (
            "podman is not installed (.ci/run installs it and the base image with "
            f"{oci_tools() / 'make-base-image.sh'})"
        )
    engine = Engine(executable, engine_environment())
    if engine.run("image", "exists", BASE_IMAGE).returncode == 0:
        return engine, ""
    script = oci_tools() / "make-base-image.sh"
    if not script.is_file():
        return None, f"base image {BASE_IMAGE} is missing and {script} does not exist"
    built = subprocess.run(
        ["bash", str(script), BASE_IMAGE],
        env=engine.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    if built.returncode != 0:
        output = (built.stdout + built.stderr)[-2000:]
        return None, f"could not build base image {BASE_IMAGE} with {script}:\n{output}"
    return engine, ""


# What a build context needs of a project that ran `make all`: not its environment or data.
NOT_IN_CONTEXT = (".venv", "data", "checkpoints", "mlruns", "mlflow.db", "__pycache__")


def build_image(project: BuiltProject, engine: Engine, tag: str, workdir: Path) -> StepResult:
    """The project's image, built by its own `make docker-build` with podman on the base.

    A project installed from this machine's local indexes (``Variant.local_indexes``) has a
    uv.lock naming them, which no image build can read. It is built from a copy (in
    ``workdir``) whose uv.lock is made from PyPI alone, as a user's `make setup` makes it,
    except that the project's index sources stay off (`UV_NO_SOURCES`, also for the build:
    PyTorch's CPU index is out of reach here; the image installs no PyTorch anyway).
    """
    flags = [f"-v {HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"] if HOST_CA_BUNDLE.is_file() else []
    if project.variant.local_indexes:
        context = workdir / "context"
        shutil.copytree(project.path, context, ignore=shutil.ignore_patterns(*NOT_IN_CONTEXT))
        environment = pypi_only(project.env)
        locked = subprocess.run(
            ["uv", "lock"],
            cwd=context,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if locked.returncode != 0:
            return StepResult(
                "uv lock (PyPI only)", locked.returncode, locked.stdout + locked.stderr, 0.0
            )
        project = replace(project, path=context, env=environment)
        flags.append("--env UV_NO_SOURCES=1")
    with_engine = replace(project, env={**project.env, **engine.env}, results={})
    return with_engine.make(
        "docker-build",
        f"DOCKER={engine.executable}",
        f"IMAGE={tag}",
        f"BASE_IMAGE={BASE_IMAGE}",
        f"DOCKER_BUILD_FLAGS={' '.join(flags)}",
        timeout=900,
    )


def image_size(engine: Engine, tag: str) -> int:
    """The image's size in bytes, as the engine reports it (all layers, base included)."""
    inspected = engine.run("image", "inspect", "--format", "{{.Size}}", tag)
    if inspected.returncode != 0:
        raise RuntimeError(f"cannot inspect {tag}: {inspected.stderr.strip()}")
    return int(inspected.stdout.strip())
