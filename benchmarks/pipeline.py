"""Time-to-green: what a newcomer waits for after `copier copy`, with the default answers.

render -> `make setup` -> `make all` -> `make test`, after one full warm-up round in another
folder, so uv's cache is warm (a developer machine has a warm cache; a cold one mostly
measures the network). Each step's time is in the result.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from benchmarks.results import target, write_result
from harness.building import BuiltProject
from harness.rendering import render, snapshot_template
from harness.uv_env import project_environment
from harness.variants import Variant

# From the issues that introduce each variant.
TARGETS_S = {"tabular": 60.0, "vision": 150.0, "llm-rag": 120.0}


def render_and_build(
    workdir: Path, variant: Variant, name: str
) -> tuple[BuiltProject, dict[str, float]]:
    """Render the variant's default project into `workdir/name` and take it to green."""
    template = workdir / "template"
    if not template.exists():
        snapshot_template(template)
    destination = workdir / name
    timings: dict[str, float] = {}
    started = time.perf_counter()
    render(template, destination, variant.answers())
    timings["render"] = time.perf_counter() - started
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text("utf-8"))
    environment = project_environment(local_indexes=variant.local_indexes)
    project = BuiltProject(destination, answers, environment, variant, variant.builds[0])
    for step in ("setup", "all", "test"):
        result = project.make(step)
        if not result.ok:
            raise RuntimeError(result.describe())
        timings[f"make {step}"] = result.seconds
    return project, timings


def bench_time_to_green(workdir: Path, variant: Variant) -> BuiltProject:
    """Warm uv's cache with one full round, then time a second round in a fresh directory."""
    render_and_build(workdir, variant, f"{variant.name}-warm-up")
    project, timings = render_and_build(workdir, variant, f"{variant.name}-measured")
    total = sum(timings.values())
    metric = f"{variant.name}: render + make setup + make all + make test (warm uv cache)"
    write_result(
        f"time-to-green-{variant.name}",
        [target(metric, total, TARGETS_S[variant.name], "s")],
        {"steps_s": {step: round(seconds, 2) for step, seconds in timings.items()}},
    )
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
    print(f"time-to-green {variant.name}: {total:.1f} s ({steps})")
    return project
