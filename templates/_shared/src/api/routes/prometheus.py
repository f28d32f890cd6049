"""``GET /metrics``: the service's telemetry in Prometheus' text exposition format.

The path is Prometheus' convention; what it serves is request counts, latencies and
predictions by outcome (``observability.Telemetry``), not the model's scores, which are
in ``/metadata``. With several worker processes (``serving.workers``) the counts live in
files every worker writes to, and whichever worker answers adds them all up.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ..deps import TelemetryDep
from ..server import MULTIPROCESS_VARIABLE

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=Response)
async def prometheus(telemetry: TelemetryDep) -> Response:
    """Request counts and latencies by route and status, and predictions by outcome."""
    registry = telemetry.registry
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
