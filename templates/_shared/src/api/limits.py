"""Limits that keep one worker responsive, whatever it is sent.

- **Body size**: a body over ``serving.max_body_bytes`` (or a route's own, tighter cap: one
  record needs far less than a batch) is a 413 before it is parsed. A
  declared ``Content-Length`` over the limit is answered at once; a body sent without one
  (chunked) is counted as it streams in and cut off as soon as it passes the limit, so an
  oversized request never costs more than ``max_body_bytes`` of memory.
- **Requests in progress**: beyond ``serving.max_concurrent_requests`` a request gets a 503
  with ``Retry-After`` at once, instead of joining a queue that only grows. Liveness,
  readiness and telemetry are never refused: an orchestrator must see a busy service as
  alive and ready.

CPU-bound work goes to a separate process (``api.offload``), so the event loop is free.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NEVER_REFUSED = frozenset({"/health", "/ready", "/metrics"})
"""Paths the concurrency limit lets through, always."""


def _too_large_message(limit: int, setting: str) -> str:
    return f"request body is larger than {limit} bytes ({setting})"


class BodySizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        limits: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.default = (max_body_bytes, "serving.max_body_bytes")
        self.limits = dict(limits or {})  # path -> (bytes, the setting that sets it)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limits.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            too_large = declared.isdigit()
            await self._refuse(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_large else HTTPStatus.BAD_REQUEST,
                _too_large_message(limit, setting)
                if too_large
                else "Content-Length header is not a number",
            )
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises an HTTPException raised while reading the body, so
                    # the app's own handler answers with this 413.
                    raise HTTPException(
                        status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        detail=_too_large_message(limit, setting),
                    )
            return message

        await self.app(scope, counted_receive, send)

    @staticmethod
    async def _refuse(send: Send, status_code: int, detail: str) -> None:
        await refuse(send, status_code, detail)


async def refuse(
    send: Send, status_code: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer ``{"detail": ...}`` with ``status_code`` straight from a middleware."""
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConcurrencyLimitMiddleware:
    """A 503 with ``Retry-After`` for requests beyond ``max_requests`` in progress."""

    def __init__(self, app: ASGIApp, max_requests: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_REFUSED:
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.max_requests:
            await refuse(
                send,
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"the service is busy ({self.in_progress} requests in progress, the limit is "
                f"{self.max_requests}: serving.max_concurrent_requests); retry in a moment",
                headers=[(b"retry-after", b"1")],
            )
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1
