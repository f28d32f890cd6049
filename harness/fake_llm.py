"""A fake OpenAI-compatible chat server on loopback, for the llm-rag build tests: the
generated service is pointed at it (``LLM_BASE_URL``) to show that answers come from the
configured LLM, and that a failing one leaves the service answering offline.

It answers ``POST /v1/chat/completions`` with ``reply`` (non-streaming, or as one
server-sent delta per word when the request asks to stream), or with ``status`` when that
is not 200; every request body it received is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class FakeLLM:
    def __init__(self, reply: str = "", status: int = 200) -> None:
        self.reply = reply
        self.status = status
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                if fake.status != 200:
                    self._send(fake.status, {"error": {"message": "fake failure"}})
                elif body.get("stream"):
                    self._stream(body.get("model", "fake"))
                else:
                    self._send(200, fake.completion(body.get("model", "fake")))

            def _send(self, status: int, content: dict[str, Any]) -> None:
                data = json.dumps(content).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in fake.reply.split(" "):
                    delta = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
                    chunk = {"id": "fake", "object": "chat.completion.chunk", "model": model}
                    self.wfile.write(f"data: {json.dumps({**chunk, **delta})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL an OpenAI client takes (``LLM_BASE_URL``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def completion(self, model: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.reply}
        return {
            "id": "fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
