"""Load on a running service: liveness while batches run, and single-record throughput.

The client is plain asyncio over raw HTTP/1.1 keep-alive connections (no client library to
install, and nothing between the socket and the clock). The server is started pinned to one
core and the client runs pinned to the other, so neither measures the other's work.

- **Liveness under batch load**: 32 connections post 100-record batches back to back for
  20 s while one more connection asks for `/health` every 20 ms; the target is `/health`
  p99 <= 50 ms with every batch answered 200. `/health` alone (5 s, before the load) is the
  yardstick from the same run. The server's worker process inherits its core, so batches
  are scored on the same core as the server answers.
- **Throughput**: 8 connections post one record each, back to back, for 10 s; requests
  answered per second (the target: not below the ~1,000 req/s measured before the
  liveness work).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0

    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 200)


def _request(method: str, path: str, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _hammer(
    port: int, request: bytes, until: float, tally: Tally, pause: float = 0.0
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status = await _exchange(reader, writer, request)
            tally.add(status, time.perf_counter() - started)
            if pause:
                await asyncio.sleep(pause)
    finally:
        writer.close()


async def _liveness(port: int, batch: bytes, seconds: float, connections: int) -> dict[str, Any]:
    idle = Tally()  # the yardstick: /health with nothing else running, for a quarter as long
    health_request = _request("GET", "/health", None)
    await _hammer(port, health_request, time.perf_counter() + seconds / 4, idle, pause=0.02)
    until = time.perf_counter() + seconds
    batches, health = Tally(), Tally()
    await asyncio.gather(
        *(
            _hammer(port, _request("POST", "/predict/batch", batch), until, batches)
            for _ in range(connections)
        ),
        _hammer(port, health_request, until, health, pause=0.02),
    )
    return {
        "idle_health_p50_ms": round(idle.percentile(0.5) * 1000, 2),
        "idle_health_p99_ms": round(idle.percentile(0.99) * 1000, 2),
        "health_p50_ms": round(health.percentile(0.5) * 1000, 2),
        "health_p99_ms": round(health.percentile(0.99) * 1000, 2),
        "health_max_ms": round(max(health.latencies) * 1000, 2),
        "health_requests": len(health.latencies),
        "health_errors": health.errors(),
        "batches": len(batches.latencies),
        "batch_errors": batches.errors(),
        "batch_statuses": batches.statuses,
        "batch_p50_ms": round(batches.percentile(0.5) * 1000, 1),
        "batches_per_s": round(len(batches.latencies) / seconds, 1),
    }


async def _throughput(port: int, record: bytes, seconds: float, connections: int) -> dict[str, Any]:
    until = time.perf_counter() + seconds
    tally = Tally()
    request = _request("POST", "/predict", record)
    await asyncio.gather(*(_hammer(port, request, until, tally) for _ in range(connections)))
    return {
        "requests_per_s": round(len(tally.latencies) / seconds, 1),
        "errors": tally.errors(),
        "p50_ms": round(statistics.median(tally.latencies) * 1000, 2),
        "p99_ms": round(tally.percentile(0.99) * 1000, 2),
    }


def pin_to(cores: Sequence[int]) -> None:
    """Run this process (the client) on these cores only."""
    os.sched_setaffinity(0, set(cores))


def liveness(
    port: int, records: list[dict[str, Any]], seconds: float = 20, connections: int = 32
) -> dict[str, Any]:
    batch = json.dumps({"records": records[:100]}).encode()
    return asyncio.run(_liveness(port, batch, seconds, connections))


def throughput(
    port: int, record: dict[str, Any], seconds: float = 10, connections: int = 8
) -> dict[str, Any]:
    return asyncio.run(_throughput(port, json.dumps(record).encode(), seconds, connections))
