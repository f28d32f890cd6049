"""``GET /metrics``: the service's telemetry in Prometheus' text exposition format.

The path is Prometheus' convention; what it serves is request counts, latencies and
predictions by outcome (``observability.Telemetry``), not the model's scores, which are
in ``/metadata``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..deps import TelemetryDep

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=Response)
async def prometheus(telemetry: TelemetryDep) -> Response:
    """Request counts and latencies by route and status, and predictions by outcome."""
    return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)
