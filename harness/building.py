"""A rendered project taken through its own `make` targets, each step run at most once.

The build and container layers share one `BuiltProject` per build (see
`harness.variants`) for the whole session: installing and training are the slow parts, and
every check after them only reads.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.service import RunningServer, free_port
from harness.uv_env import venv_script
from harness.variants import Build, Variant

# Generous ceilings: a hung step must fail the run, not eat CI's 90 minutes.
STEP_TIMEOUTS = {"setup": 600, "lint": 600, "test": 600, "all": 900}
DEFAULT_TIMEOUT = 300
_OUTPUT_TAIL = 6000
CRASHING_TRAIN = Path(__file__).resolve().parent / "crashing_train.py"


@dataclass(frozen=True)
class StepResult:
    target: str
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        tail = self.output[-_OUTPUT_TAIL:]
        return f"`make {self.target}` exited {self.returncode} after {self.seconds:.0f} s:\n{tail}"


@dataclass
class BuiltProject:
    """A rendered project, its answers and the environment its `make` targets run in."""

    path: Path
    answers: dict[str, Any]
    env: Mapping[str, str]
    variant: Variant
    build: Build
    results: dict[str, StepResult] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    def make(self, target: str, *variables: str, timeout: float | None = None) -> StepResult:
        """Run `make <target>` now (not cached) and return what happened."""
        limit = timeout or STEP_TIMEOUTS.get(target, DEFAULT_TIMEOUT)
        started = time.monotonic()
        try:
            completed = subprocess.run(
                ["make", target, *variables],
                cwd=self.path,
                env=dict(self.env),
                capture_output=True,
                text=True,
                check=False,
                timeout=limit,
            )
            returncode, output = completed.returncode, completed.stdout + completed.stderr
        except subprocess.TimeoutExpired as expired:
            partial = (expired.stdout or b"") + (expired.stderr or b"")
            text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
            returncode, output = -1, f"timed out after {limit} s\n{text}"
        return StepResult(target, returncode, output, time.monotonic() - started)

    def step(self, target: str) -> StepResult:
        """`make <target>`, run once per session; later calls return the first result."""
        if target not in self.results:
            self.results[target] = self.make(target)
        return self.results[target]

    def require(self, *targets: str) -> None:
        """Run the targets (once each) and fail the calling test if any of them failed."""
        for target in targets:
            result = self.step(target)
            if not result.ok:
                pytest.fail(f"prerequisite failed: {result.describe()}", pytrace=False)

    def serve(self, log_dir: Path, **variables: str) -> RunningServer:
        """Start the project's service (its own `serve` command) on a free loopback port."""
        port = free_port()
        environment = {**self.env, "HOST": "127.0.0.1", "PORT": str(port), **variables}
        return RunningServer(
            [str(venv_script(self.path, self.package)), "serve"],
            cwd=self.path,
            env=environment,
            port=port,
            log_path=log_dir / "server.log",
        )

    def train_killed_at(self, moment: str) -> subprocess.CompletedProcess[str]:
        """The project's `train`, killed (SIGKILL) at one moment of saving its model; the
        moments are `harness.crashing_train.MOMENTS`. Tracking is off: only the model counts."""
        return subprocess.run(
            [
                str(venv_script(self.path, "python")),
                str(CRASHING_TRAIN),
                self.package,
                moment,
                self.variant.model_target,
            ],
            cwd=self.path,
            env={**self.env, "TRACKING__ENABLED": "false"},
            capture_output=True,
            text=True,
            check=False,
            timeout=STEP_TIMEOUTS["all"],
        )

    def current_model(self) -> Path:
        """The folder of the model `models/CURRENT` names (the one the service loads)."""
        models = self.path / "models"
        return models / (models / "CURRENT").read_text(encoding="utf-8").strip()

    def template_commit(self) -> str:
        """The template release Copier recorded (`_commit` in .copier-answers.yml)."""
        answers = yaml.safe_load((self.path / ".copier-answers.yml").read_text("utf-8"))
        return str(answers["_commit"])

    def config(self) -> dict[str, Any]:
        """The project's pipeline configuration (configs/pipeline.yaml)."""
        path = self.path / "configs" / "pipeline.yaml"
        loaded = yaml.safe_load(path.read_text("utf-8"))
        if not isinstance(loaded, dict):
            raise TypeError(f"{path} is not a mapping")
        return loaded
