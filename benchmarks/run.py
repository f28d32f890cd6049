"""Measure the template against its targets and write the results to benchmarks/results/.

    uv run --group test python benchmarks/run.py               # every benchmark
    uv run --group test python benchmarks/run.py render        # just one (or several)

Benchmarks (see benchmarks/README.md for what each target means and why):
  render         work of `copier copy` for a tabular project: median(copy) - median(--version),
                 both timed interleaved in the same run                      target <= 0.6 s
  time-to-green  render -> make setup -> make all -> make test, warm uv cache target <= 60 s
  service        /predict p50 vs /health p50 on one server                   target <= 2x
                 and a 1,000-record /predict/batch p50                       target <= 50 ms

Each writes benchmarks/results/<name>.json; benchmarks/results/SUMMARY.md is rebuilt from
every JSON file there. These are measurements, not tests: the script exits 0 even when a
target is missed (the summary says so), and non-zero only when a measurement fails.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import yaml  # noqa: E402  (after the path set-up that makes `tests` importable)

from tests.building import BuiltProject  # noqa: E402
from tests.matrix import DEFAULTS  # noqa: E402
from tests.rendering import (  # noqa: E402
    SNAPSHOT_TAG,
    commit_and_tag,
    copier_executable,
    isolated_copier_settings,
    render,
    snapshot_template,
)
from tests.service import RunningServer, free_port, wait_for  # noqa: E402
from tests.uv_env import project_environment, venv_script  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


# --- results -------------------------------------------------------------------------------


def _environment() -> dict[str, Any]:
    copier_version = subprocess.run(
        [copier_executable(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": _cpu_count(),
        "copier": copier_version,
        "git_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def write_result(name: str, targets: list[dict[str, Any]], details: dict[str, Any]) -> None:
    """benchmarks/results/<name>.json, then a fresh SUMMARY.md from every result file."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "name": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": _environment(),
        "targets": targets,
        "details": details,
    }
    path = RESULTS / f"{name}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
    write_summary()


def target(metric: str, measured: float, limit: float, unit: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "measured": round(measured, 4),
        "target": limit,
        "unit": unit,
        "met": measured <= limit,
    }


def write_summary() -> None:
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text("utf-8"))
        for item in result["targets"]:
            verdict = "met" if item["met"] else "**missed**"
            rows.append(
                f"| {result['name']} | {item['metric']} | {item['measured']:g} {item['unit']} "
                f"| <= {item['target']:g} {item['unit']} | {verdict} | {result['measured_at']} |"
            )
    lines = [
        "# Benchmark results",
        "",
        "Written by `benchmarks/run.py` (see benchmarks/README.md); one JSON file per benchmark",
        "beside this file holds the raw timings and the machine they ran on.",
        "",
        "| benchmark | metric | measured | target | verdict | measured at (UTC) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    (RESULTS / "SUMMARY.md").write_text("\n".join(lines), encoding="utf-8")


def _seconds(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "n": len(ordered),
    }


# --- render ------------------------------------------------------------------------------


def _copy_command(copier: str, template: Path, destination: Path) -> list[str]:
    return [
        copier,
        "copy",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        SNAPSHOT_TAG,
        str(template),
        str(destination),
    ]


def floor_template(rendered: Path, dest: Path) -> int:
    """A template with nothing of ours in it: the files `rendered` holds, flat and copied
    verbatim (no Jinja in names or contents, no questions), alone in a small repo. Copying
    it measures what Copier costs for that many files on this machine, whatever a template
    does."""
    files = sorted(path for path in rendered.rglob("*") if path.is_file())
    # A subdirectory, as in the real template: Copier walks (and renders the path of) every
    # file under the copy root before excluding any, so a root-level template would also pay
    # for each object in its .git folder.
    (dest / "project").mkdir(parents=True)
    (dest / "copier.yml").write_text("_subdirectory: project\n", encoding="utf-8")
    for number, path in enumerate(files):
        shutil.copy2(path, dest / "project" / f"file{number:03d}")
    commit_and_tag(dest, SNAPSHOT_TAG, "floor")
    return len(files)


def bench_render(workdir: Path, repeats: int) -> None:
    """Time `copier copy` against `copier --version` (Python + Copier start-up), interleaved
    so both see the same machine load; the difference is the template's own work.

    A third command, interleaved the same way, copies a *floor* template: the same number
    of files, flat and verbatim, no questions. Its work is Copier's cost for that many files
    here, so `work - floor` is what the template's questions, Jinja and layout add.
    """
    template = snapshot_template(workdir / "template")
    copier = copier_executable()
    sample = render(template, workdir / "sample", DEFAULTS)
    floor = workdir / "floor"
    rendered_files = floor_template(sample, floor)
    copies: list[float] = []
    floors: list[float] = []
    versions: list[float] = []
    for index in range(repeats + 1):
        timings = []
        for command in (
            [copier, "--version"],
            _copy_command(copier, template, workdir / f"render-{index}"),
            _copy_command(copier, floor, workdir / f"floor-{index}"),
        ):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            timings.append(time.perf_counter() - started)
        shutil.rmtree(workdir / f"render-{index}")
        shutil.rmtree(workdir / f"floor-{index}")
        if index == 0:
            continue  # the first round warms the OS file cache and Python's bytecode
        versions.append(timings[0])
        copies.append(timings[1])
        floors.append(timings[2])
    work = statistics.median(copies) - statistics.median(versions)
    floor_work = statistics.median(floors) - statistics.median(versions)
    files = sum(1 for path in (template / "templates" / "project").rglob("*") if path.is_file())
    jinja = sum(1 for path in (template / "templates" / "project").rglob("*.jinja"))
    write_result(
        "render",
        [target("copier copy minus copier --version (median)", work, 0.6, "s")],
        {
            "copier_copy_s": _seconds(copies),
            "copier_version_s": _seconds(versions),
            "floor_copy_s": _seconds(floors),
            "floor_work_s": round(floor_work, 4),
            "template_share_s": round(work - floor_work, 4),
            "rendered_files": rendered_files,
            "template_files": files,
            "template_jinja_files": jinja,
            "answers": "defaults",
        },
    )
    print(
        f"render: {work:.3f} s of work per copy ({rendered_files} files rendered from "
        f"{files} template files, {jinja} .jinja); the same {rendered_files} files flat "
        f"and verbatim: {floor_work:.3f} s; the template's share: {work - floor_work:.3f} s"
    )


# --- time to green -----------------------------------------------------------------------


def _run_make(project: BuiltProject, target_name: str) -> float:
    result = project.make(target_name)
    if not result.ok:
        raise RuntimeError(result.describe())
    return result.seconds


def _render_and_build(workdir: Path, name: str) -> tuple[BuiltProject, dict[str, float]]:
    """Render the default project and take it to green, timing each step."""
    template = workdir / "template"
    if not template.exists():
        snapshot_template(template)
    destination = workdir / name
    timings: dict[str, float] = {}
    started = time.perf_counter()
    render(template, destination, DEFAULTS)
    timings["render"] = time.perf_counter() - started
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text("utf-8"))
    project = BuiltProject(destination, answers, project_environment())
    for step in ("setup", "all", "test"):
        timings[f"make {step}"] = _run_make(project, step)
    return project, timings


def bench_time_to_green(workdir: Path) -> BuiltProject:
    """Warm uv's cache with one full round, then time a second round in a fresh directory."""
    _render_and_build(workdir, "warm-up")
    project, timings = _render_and_build(workdir, "measured")
    total = sum(timings.values())
    write_result(
        "time-to-green",
        [target("render + make setup + make all + make test (warm uv cache)", total, 60, "s")],
        {"steps_s": {step: round(seconds, 2) for step, seconds in timings.items()}},
    )
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
    print(f"time-to-green: {total:.1f} s ({steps})")
    return project


# --- service latency -----------------------------------------------------------------------


def _typed(value: str, dtype: str) -> Any:
    if value == "":
        return None
    if dtype == "int":
        return int(float(value))
    if dtype == "float":
        return float(value)
    if dtype == "bool":
        return value.strip().lower() in {"true", "1", "yes"}
    return value


def _records(project: BuiltProject, count: int) -> list[dict[str, Any]]:
    """Real rows of the shipped new batch, typed as the API expects (missing -> omitted)."""
    columns = project.config()["data"]["columns"]
    batch = project.path / "data" / "raw" / "new_batch.csv"
    with batch.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records = []
    for row in rows[:count]:
        record = {name: _typed(row[name], spec["dtype"]) for name, spec in columns.items()}
        records.append({name: value for name, value in record.items() if value is not None})
    if len(records) < count:
        records = (records * (count // len(records) + 1))[:count]
    return records


def _latencies(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, n: int
) -> list[float]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}")
    return samples


def bench_service(project: BuiltProject, requests: int) -> None:
    """Latency seen by a client on the same machine, over one keep-alive connection."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="aipt-bench-server-", suffix=".log")[1])
    server = RunningServer(
        [str(venv_script(project.path, project.package)), "serve"],
        cwd=project.path,
        env={**project.env, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING"},
        port=port,
        log_path=log,
    )
    try:
        wait_for(server.url("/ready"), alive=server.alive)
        one = json.dumps(_records(project, 1)[0]).encode()
        batch = json.dumps({"records": _records(project, 1000)}).encode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def measure(method: str, path: str, body: bytes | None, n: int) -> list[float]:
            return _latencies(connection, method, path, body, n)

        measure("GET", "/health", None, 50)  # warm-up: first requests build caches
        measure("POST", "/predict", one, 50)
        measure("POST", "/predict/batch", batch, 3)
        health, predict = [], []
        for _ in range(requests // 50):  # interleaved rounds: both see the same load
            health += measure("GET", "/health", None, 50)
            predict += measure("POST", "/predict", one, 50)
        batches = measure("POST", "/predict/batch", batch, 30)
        connection.close()
    finally:
        server.stop()
        log.unlink(missing_ok=True)
    health_p50 = statistics.median(health)
    predict_p50 = statistics.median(predict)
    batch_p50 = statistics.median(batches)
    ratio = predict_p50 / health_p50
    write_result(
        "service",
        [
            target("/predict p50 / /health p50", ratio, 2.0, "x"),
            target("/predict/batch p50, 1,000 records", batch_p50 * 1000, 50, "ms"),
        ],
        {
            "task": project.task,
            "health_ms": {k: v * 1000 for k, v in _seconds(health).items() if k != "n"},
            "predict_ms": {k: v * 1000 for k, v in _seconds(predict).items() if k != "n"},
            "batch_1000_ms": {k: v * 1000 for k, v in _seconds(batches).items() if k != "n"},
            "requests_per_route": len(health),
            "batch_body_bytes": len(batch),
        },
    )
    print(
        f"service: /health p50 {health_p50 * 1000:.2f} ms, /predict p50 "
        f"{predict_p50 * 1000:.2f} ms ({ratio:.2f}x), 1,000-record batch p50 "
        f"{batch_p50 * 1000:.1f} ms"
    )


# --- command line ------------------------------------------------------------------------

BENCHMARKS = ("render", "time-to-green", "service")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("names", nargs="*", metavar="BENCHMARK", help=", ".join(BENCHMARKS))
    parser.add_argument("--repeats", type=int, default=15, help="render rounds (default 15)")
    parser.add_argument("--requests", type=int, default=500, help="requests per route")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    workdir = Path(tempfile.mkdtemp(prefix="aipt-bench-"))
    settings = isolated_copier_settings(workdir)
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    # Measure what users see: Python caching bytecode. With PYTHONDONTWRITEBYTECODE set (as
    # in these shells) every process recompiles Copier and its dependencies, which triples
    # start-up time and buries the template's own work under noise.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        if "render" in names:
            bench_render(workdir, args.repeats)
        project = None
        if "time-to-green" in names:
            project = bench_time_to_green(workdir)
        if "service" in names:
            if project is None:
                project, _ = _render_and_build(workdir, "service")
            bench_service(project, args.requests)
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {RESULTS / 'SUMMARY.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
