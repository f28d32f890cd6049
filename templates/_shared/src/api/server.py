"""Running the service: uvicorn with worker processes, a request deadline and shared telemetry.

- **Worker processes** (``serving.workers``; the image runs two): each runs the app and its
  own event loop, so a slow request in one never delays the others' probes, and the machine's
  cores are used. Prometheus counters are then kept in files shared by the workers
  (``PROMETHEUS_MULTIPROC_DIR``), so ``/metrics`` adds up every worker, whichever answers.
- **A deadline for receiving each request** (``serving.request_timeout_s``): uvicorn has no
  such timeout, so a client that opens connections and sends a request byte by byte (or
  never) could hold them forever. The connection is closed when its request is not complete
  in time. Counting starts when the connection opens, or when a kept-alive connection starts
  its next request, and stops once the request (headers and body) has arrived, so slow
  responses are never cut.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import Settings, get_settings
from .observability import logging_config

logger = logging.getLogger(__name__)

APP = f"{__package__}.main:app"
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


class RequestDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request is not complete within
    ``serving.request_timeout_s`` (h11's own state says whether a request is still arriving)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeout_s = get_settings().serving.request_timeout_s
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state in _RECEIVING:
            self._arm()  # a kept-alive connection starts its next request
        super().data_received(data)
        if self.conn.their_state not in _RECEIVING:
            self._disarm()  # the whole request has arrived (or the connection is closing)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self._timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        logger.warning(
            "closing a connection whose request did not arrive in time",
            extra={"client": str(self.client), "timeout_s": self._timeout_s},
        )
        self.transport.close()


def serve(settings: Settings) -> None:
    """Serve the app on ``settings.host``:``settings.port`` until interrupted."""
    workers = settings.serving.workers
    if workers > 1 and not os.environ.get(MULTIPROCESS_VARIABLE):
        # A fresh folder per start: counts from a previous run must not leak in.
        os.environ[MULTIPROCESS_VARIABLE] = tempfile.mkdtemp(prefix="prometheus-")
    uvicorn.run(
        APP,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=RequestDeadlineProtocol,
        log_config=logging_config(settings.log_level),
        access_log=False,  # ObservabilityMiddleware writes a richer access line
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
