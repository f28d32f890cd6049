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
from dataclasses import dataclass
from pathlib import Path

from tests.rendering import REPO_ROOT

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


def find_engine() -> tuple[Engine | None, str]:
    """(the engine, "") when podman and the base image are usable, else (None, why not)."""
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
