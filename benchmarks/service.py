"""Service latency of the tabular variant: one record against the framework's floor.

A client on the same machine sends requests over one keep-alive connection. `/health` does
no work, so its latency is the framework's floor; `/predict` within 2x of it means one
record costs about as much as the HTTP round trip. Rounds of `/health` and `/predict`
alternate so both see the same load. The batch is 1,000 real rows of the shipped
`new_batch.csv`, missing values left out as a client would.
"""

from __future__ import annotations

import csv
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import seconds, target, write_result
from harness.building import BuiltProject
from harness.service import RunningServer, free_port, wait_for
from harness.uv_env import venv_script


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


def records_of(project: BuiltProject, count: int) -> list[dict[str, Any]]:
    """Real rows of the shipped new batch, typed as the API expects (missing -> omitted)."""
    config = project.config()
    columns = config["data"]["columns"]
    batch = project.path / config["sample"]["new_batch_path"]
    with batch.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records = []
    for row in rows[:count]:
        record = {name: _typed(row[name], spec["dtype"]) for name, spec in columns.items()}
        records.append({name: value for name, value in record.items() if value is not None})
    if len(records) < count:
        records = (records * (count // len(records) + 1))[:count]
    return records


def latencies(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    n: int,
    content_type: str = "application/json",
) -> list[float]:
    """``n`` requests in a row on ``connection``, each one's seconds; any non-200 raises."""
    headers = {"Content-Type": content_type} if body is not None else {}
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


def start_server(project: BuiltProject) -> RunningServer:
    """The project's service on a free port, logging warnings only, once it is ready."""
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
    except BaseException:
        server.stop()
        raise
    return server


def bench_service(project: BuiltProject, requests: int) -> None:
    """Latency seen by a client on the same machine, over one keep-alive connection."""
    server = start_server(project)
    port = server.port
    try:
        one = json.dumps(records_of(project, 1)[0]).encode()
        batch = json.dumps({"records": records_of(project, 1000)}).encode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def measure(method: str, path: str, body: bytes | None, n: int) -> list[float]:
            return latencies(connection, method, path, body, n)

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
        server.log_path.unlink(missing_ok=True)
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
            "task": project.answers["task"],
            "health_ms": {k: v * 1000 for k, v in seconds(health).items() if k != "n"},
            "predict_ms": {k: v * 1000 for k, v in seconds(predict).items() if k != "n"},
            "batch_1000_ms": {k: v * 1000 for k, v in seconds(batches).items() if k != "n"},
            "requests_per_route": len(health),
            "batch_body_bytes": len(batch),
        },
    )
    print(
        f"service: /health p50 {health_p50 * 1000:.2f} ms, /predict p50 "
        f"{predict_p50 * 1000:.2f} ms ({ratio:.2f}x), 1,000-record batch p50 "
        f"{batch_p50 * 1000:.1f} ms"
    )
