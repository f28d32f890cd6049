"""Structured JSON logs, Prometheus telemetry and the request-id/latency middleware.

"Telemetry" here is what Prometheus scrapes from ``/metrics`` (request counts, latencies,
predictions by outcome); "metrics" elsewhere in the project always means the model's
scores. Both middlewares are plain ASGI classes rather than ``BaseHTTPMiddleware``: they add
no task or stream wrapping per request, which keeps a prediction's latency close to
``/health``'s.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged
# (except uvicorn's `color_message`, the same message with terminal colour codes).
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}

PACKAGE_LOGGER = __name__.split(".")[0]
access_logger = logging.getLogger(f"{PACKAGE_LOGGER}.api.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str) -> dict[str, Any]:
    """A ``dictConfig`` that sends this package's and uvicorn's logs to stderr as JSON."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            PACKAGE_LOGGER: {
                "handlers": ["json"],
                "level": level,
                "propagate": False,
            },
            "uvicorn": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # The middleware below writes one richer access line per request.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(level: str) -> None:
    logging.config.dictConfig(logging_config(level))


class Telemetry:
    """The app's Prometheus counters and histograms, in a registry of their own (one per app,
    so tests and several apps in one process never clash over global metric names)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the last response byte, by route and status.",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.predictions = Counter(
            "predictions_total",
            "Records scored, by route and outcome (predicted class, or 'value' for regression).",
            ["route", "outcome"],
            registry=self.registry,
        )

    def count_predictions(self, route: str, counts: Mapping[str, int]) -> None:
        """Add a reply's predictions (per outcome) to ``predictions_total``."""
        for outcome, count in counts.items():
            self.predictions.labels(route, outcome).inc(count)


def _route_template(scope: Scope) -> str:
    """The matched route's template (``/predict``), never the raw path: bounded label values.

    FastAPI records the route it matched in the scope. A request refused before routing
    (the body-size limit reads Content-Length first) has no matched route yet; when its
    path is exactly one of the app's documented paths, it is labelled with that path, so a
    413 on ``/predict`` is counted under ``/predict``. A path no route serves is
    ``unmatched``.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    if isinstance(app, FastAPI) and scope["path"] in app.openapi()["paths"]:  # cached schema
        return str(scope["path"])
    return "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = bytes(value).decode("latin-1")
            # Client-supplied ids are echoed into logs: accept only short, plain tokens.
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    """Assign a request id, time the request, count it and write one JSON access log."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status_code = 500  # if the app raises before responding, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            labels = (scope["method"], route, str(status_code))
            self.telemetry.requests.labels(*labels).inc()
            self.telemetry.latency.labels(*labels).observe(elapsed)
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status_code,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
