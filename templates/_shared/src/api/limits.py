"""Refuse request bodies over ``serving.max_body_bytes`` with a 413, before parsing them.

A declared ``Content-Length`` over the limit is answered at once; a body sent without one
(chunked) is counted as it streams in and cut off as soon as it passes the limit, so an
oversized request never costs more than ``max_body_bytes`` of memory.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large_message(limit: int) -> str:
    return f"request body is larger than {limit} bytes (serving.max_body_bytes)"


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            too_large = declared.isdigit()
            await self._refuse(
                send,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_large else HTTPStatus.BAD_REQUEST,
                _too_large_message(self.max_body_bytes)
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
                if received > self.max_body_bytes:
                    # FastAPI re-raises an HTTPException raised while reading the body, so
                    # the app's own handler answers with this 413.
                    raise HTTPException(
                        status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        detail=_too_large_message(self.max_body_bytes),
                    )
            return message

        await self.app(scope, counted_receive, send)

    @staticmethod
    async def _refuse(send: Send, status_code: int, detail: str) -> None:
        body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
