"""Hardening of the tabular service, measured: fuzzing, the worst error reply, liveness
under load, throughput, and what a crash during `train` leaves behind.

All against the default tabular project, served from its own `serve` command:

- **fuzz**: Schemathesis from the service's OpenAPI schema with every check, and the
  service's own `/metrics` before and after, which count the requests it answered and how
  many were 5xx. Targets: >= 2,000 requests, 0 5xx, 0 schema violations.
- **worst error reply**: hostile bodies just under each route's cap (`/predict`:
  `serving.max_record_bytes`, `/predict/batch`: `serving.max_body_bytes`): a record stuffed
  with unknown keys, a batch of wrong records, deep nesting, a huge string, garbage, each
  sent five times. Target: every reply <= 64 KB and <= 50 ms.
- **load** (see `benchmarks/load.py`): the server on core 0, the client on core 1.
- **crash matrix**: `train` is killed (SIGKILL) the moment each file of a new model appears
  in its staging folder, and while `models/CURRENT` is being replaced; a service runs
  throughout. Targets: 0 cases where a model is served under another model's version, 0
  cases where no model serves after a good one did.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import load
from benchmarks.results import target, write_result
from benchmarks.service import records_of
from harness.building import BuiltProject
from harness.crashing_train import MOMENTS
from harness.probes import fuzz
from harness.service import RunningServer, free_port, request, wait_for
from harness.uv_env import venv_script

WORST_REPLY_BYTES = 64_000
WORST_REPLY_S = 0.050


def _start(
    project: BuiltProject, log_dir: Path, core: int | None, **variables: str
) -> RunningServer:
    port = free_port()
    command = [str(venv_script(project.path, project.package)), "serve"]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    server = RunningServer(
        command,
        cwd=project.path,
        env={
            **project.env,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            **variables,
        },
        port=port,
        log_path=log_dir / f"server-{port}.log",
    )
    wait_for(server.url("/ready"), alive=server.alive, timeout=120)
    return server


def _requests_by_status(server: RunningServer) -> dict[str, float]:
    counts: dict[str, float] = {}
    pattern = re.compile(
        r'^http_requests_total\{method="[A-Z]+",route="[^"]*",status="(\d+)"\} (\S+)$'
    )
    for line in request(server.url("/metrics")).text.splitlines():
        match = pattern.match(line)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + float(match.group(2))
    return counts


def bench_fuzz(server: RunningServer, workdir: Path, examples: int) -> dict[str, Any]:
    before = _requests_by_status(server)
    code, output = fuzz(server.base_url, examples=examples, report_dir=workdir / "schemathesis")
    after = _requests_by_status(server)
    answered = {status: after.get(status, 0) - before.get(status, 0) for status in after}
    report = json.loads(sorted((workdir / "schemathesis").glob("*.json"))[-1].read_text())
    return {
        "exit_code": code,
        "requests": int(sum(answered.values())),
        "server_errors": int(
            sum(count for status, count in answered.items() if status.startswith("5"))
        ),
        "by_status": {status: int(count) for status, count in sorted(answered.items()) if count},
        "test_cases": report["test_cases"]["generated"],
        "failures": len(report["failures"]),
        "summary": output.strip().splitlines()[-1],
    }


def _stuffed(record: dict[str, Any], size: int) -> dict[str, Any]:
    """``record`` plus as many unknown keys as keep its JSON under ``size`` bytes."""
    stuffed: dict[str, Any] = dict(record)
    key = 0
    while len(json.dumps(stuffed)) < size - 64:
        stuffed.update({f"k{key + i}": i for i in range(1000)})
        key += 1000
    while len(json.dumps(stuffed)) >= size:
        stuffed.popitem()
    return stuffed


def _hostile_bodies(project: BuiltProject) -> dict[str, tuple[str, bytes]]:
    """The worst bodies under each route's cap: `/predict` takes one record
    (`serving.max_record_bytes`), `/predict/batch` up to `serving.max_body_bytes`."""
    serving = project.config()["serving"]
    cap, record_cap = int(serving["max_body_bytes"]), int(serving["max_record_bytes"])
    limit = int(serving["max_batch_records"])
    columns = list(project.config()["data"]["columns"])
    record = records_of(project, 1)[0]
    wrong: dict[str, Any] = {name: [] for name in columns}
    fitting = (cap - 64) // len(json.dumps(wrong) + ", ")
    depth = (record_cap - 200) // 2
    nested = ('{"' + columns[0] + '": ' + "[" * depth + "]" * depth + "}").encode()
    batch_depth = (cap - 200) // 2
    batch_nested = ('{"records": [' + "[" * batch_depth + "]" * batch_depth + "]}").encode()
    bodies = {
        "record stuffed with unknown keys": _stuffed(record, record_cap),
        "batch of one record stuffed with unknown keys": {"records": [_stuffed(record, cap - 32)]},
        "batch of records with every field wrong": {"records": [wrong] * min(limit, fitting)},
        "as many records as the body cap allows": {"records": [wrong] * fitting},
        "one huge string": {**record, columns[0]: "x" * (record_cap - 1000)},
        "one record over the batch cap": {"records": [record] * (limit + 1)},
    }
    routes = {
        name: "/predict/batch" if "records" in body else "/predict" for name, body in bodies.items()
    }
    encoded = {name: (routes[name], json.dumps(body).encode()) for name, body in bodies.items()}
    return {
        **encoded,
        "nesting as deep as the record cap allows": ("/predict", nested),
        "nesting as deep as the body cap allows": ("/predict/batch", batch_nested),
        "binary garbage": ("/predict/batch", bytes(range(256)) * ((cap - 100) // 256)),
        "one byte over the record cap": ("/predict", b" " * (record_cap + 1)),
        "one byte over the body cap": ("/predict/batch", b" " * (cap + 1)),
    }


def bench_worst_reply(server: RunningServer, project: BuiltProject) -> dict[str, Any]:
    results = {}
    for name, (path, body) in _hostile_bodies(project).items():
        times, sizes, statuses = [], [], set()
        for _ in range(5):
            started = time.perf_counter()
            answer = request(server.url(path), body=body)
            times.append(time.perf_counter() - started)
            sizes.append(len(answer.body))
            statuses.add(answer.status)
        results[name] = {
            "body_bytes": len(body),
            "status": sorted(statuses),
            "reply_bytes": max(sizes),
            "median_ms": round(statistics.median(times) * 1000, 1),
        }
    return results


def _served(server: RunningServer) -> tuple[int, str | None, str | None]:
    ready = request(server.url("/ready"))
    version = ready.json().get("model_version") if ready.status == 200 else None
    metadata = request(server.url("/metadata"))
    described = metadata.json().get("model_version") if metadata.status == 200 else None
    return ready.status, version, described


def _current(models: Path) -> tuple[str, str]:
    """The folder CURRENT names, and the version its metadata.json holds (both must exist)."""
    folder = (models / "CURRENT").read_text().strip()
    return folder, json.loads((models / folder / "metadata.json").read_text())["model_version"]


def bench_crash_matrix(project: BuiltProject, server: RunningServer, rounds: int) -> dict[str, Any]:
    models = project.path / "models"
    trials = []
    wrong_version = no_model = 0
    for moment in MOMENTS:
        for _ in range(rounds):
            before_folder, before = _current(models)
            crashed = project.train_killed_at(moment)
            folder, saved = _current(models)  # raises if CURRENT names no whole model
            # The service takes a moment to load a newly current model: wait for it.
            deadline = time.monotonic() + 20
            status, served, described = _served(server)
            while served != saved and time.monotonic() < deadline:
                time.sleep(0.1)
                status, served, described = _served(server)
            no_model += status != 200
            wrong_version += served != described or served != saved
            trials.append(
                {
                    "moment": moment,
                    "killed": crashed.returncode == -signal.SIGKILL,
                    "current_changed": folder != before_folder,
                    "previous": before,
                    "served": served,
                    "current": saved,
                }
            )
    return {"trials": trials, "wrong_version": wrong_version, "no_model": no_model}


def bench_hardening(project: BuiltProject, workdir: Path, examples: int, rounds: int) -> None:
    project.require("setup", "all")
    reload_s = 0.2
    details: dict[str, Any] = {}
    server = _start(project, workdir, core=0, SERVING__RELOAD_INTERVAL_S=str(reload_s))
    try:
        details["fuzz"] = bench_fuzz(server, workdir, examples)
        details["worst_reply"] = bench_worst_reply(server, project)
        load.pin_to([1])
        records = records_of(project, 100)
        details["liveness"] = load.liveness(server.port, records)
        details["throughput"] = load.throughput(server.port, records[0])
        load.pin_to(range(os.cpu_count() or 1))
        details["crash_matrix"] = bench_crash_matrix(project, server, rounds)
    finally:
        server.stop()
    worst = details["worst_reply"].values()
    fuzzed, live, crash = details["fuzz"], details["liveness"], details["crash_matrix"]
    write_result(
        "hardening",
        [
            target(
                "fuzzing: requests short of 2,000", max(0, 2000 - fuzzed["requests"]), 0, "requests"
            ),
            target("fuzzing: 5xx answers", fuzzed["server_errors"], 0, "answers"),
            target(
                "fuzzing: schema violations and other failures", fuzzed["failures"], 0, "failures"
            ),
            target(
                "worst error reply, size",
                max(item["reply_bytes"] for item in worst),
                WORST_REPLY_BYTES,
                "bytes",
            ),
            target(
                "worst error reply, time (median of 5)",
                max(item["median_ms"] for item in worst),
                WORST_REPLY_S * 1000,
                "ms",
            ),
            target(
                "/health p99 under 32 concurrent 100-record batches",
                live["health_p99_ms"],
                50,
                "ms",
            ),
            target(
                "errors under that load",
                live["batch_errors"] + live["health_errors"],
                0,
                "requests",
            ),
            target(
                "/predict throughput at concurrency 8, short of 1,000 req/s",
                max(0.0, 1000 - details["throughput"]["requests_per_s"]),
                0,
                "req/s",
            ),
            target(
                "crash matrix: a model served under another's version",
                crash["wrong_version"],
                0,
                "cases",
            ),
            target("crash matrix: no model after a good one", crash["no_model"], 0, "cases"),
        ],
        details,
    )
    largest = max(item["reply_bytes"] for item in worst)
    slowest = max(item["median_ms"] for item in worst)
    print(
        f"hardening: {fuzzed['requests']} fuzzed requests, {fuzzed['server_errors']} 5xx, "
        f"{fuzzed['failures']} failures; worst reply {largest} B, "
        f"{slowest} ms; /health p99 {live['health_p99_ms']} ms under load (alone: "
        f"{live['idle_health_p99_ms']} ms; {live['batch_errors']} batch errors); /predict "
        f"{details['throughput']['requests_per_s']} req/s; crash matrix: "
        f"{crash['wrong_version']} wrong-version, {crash['no_model']} no-model cases in "
        f"{len(crash['trials'])} kills"
    )
