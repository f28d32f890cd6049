"""A fake OpenAI-compatible chat server on loopback, for tests that must not reach an LLM.

``FakeLLM`` serves ``POST /v1/chat/completions`` from a background thread on 127.0.0.1 and
a free port. It answers a plain request with one ``chat.completion`` and a
``"stream": true`` request with ``chat.completion.chunk`` server-sent events ending in
``data: [DONE]``, both in OpenAI's format. Tests set its attributes between requests:

* ``reply``: the answer text; ``deltas``: the streamed pieces (default: ``reply`` cut
  after each space);
* ``status``: an HTTP status other than 200 makes it answer with an OpenAI-style error
  body (``retry_after_ms`` is sent as ``retry-after-ms`` so the client's retries do not
  sleep; ``None`` leaves the header out);
* ``delay_s``: wait this long before answering (woken early when the server stops);
* ``break_after``: when streaming, drop the connection after this many content deltas;
* ``raw``: a ``(content_type, body)`` pair sent with status 200 instead of any of the above
  (a web page where an API was expected, a malformed body).

``requests`` and ``headers`` record each request's JSON body and lower-cased headers.

Edit this when a test needs another behaviour of an OpenAI-compatible server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["FakeLLM"]

CHAT_PATH = "/v1/chat/completions"


class FakeLLM:
    """Context manager: ``with FakeLLM() as fake: LLMConfig(base_url=fake.url, ...)``."""

    def __init__(self, reply: str = "A canned answer [1].") -> None:
        self.reply = reply
        self.deltas: list[str] | None = None
        self.status = 200
        self.retry_after_ms: int | None = 1
        self.delay_s = 0.0
        self.break_after: int | None = None
        self.raw: tuple[str, bytes] | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        """The base_url to give an OpenAI client: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)

    def _pieces(self) -> list[str]:
        if self.deltas is not None:
            return list(self.deltas)
        return re.findall(r"\S+\s*|\s+", self.reply)


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, str], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _make_handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked streams, so a cut-off body is an error

        def log_message(self, format: str, *args: Any) -> None:
            return

        def handle(self) -> None:
            try:
                super().handle()
            except ConnectionError:
                return  # the client hung up: a timeout, an abandoned stream, a closed pool

        def _send_json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status != 200 and fake.retry_after_ms is not None:
                self.send_header("retry-after-ms", str(fake.retry_after_ms))
            self.end_headers()
            self.wfile.write(data)

        def _send_raw(self, content_type: str, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _send_events(self, model: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            events = [_chunk(model, {"role": "assistant", "content": ""}, None)]
            events += [_chunk(model, {"content": piece}, None) for piece in fake._pieces()]
            events.append(_chunk(model, {}, "stop"))
            for i, event in enumerate(events):
                if fake.break_after is not None and i > fake.break_after:
                    # announce a chunk, send part of it and hang up: a broken response body
                    self.wfile.write(b"40\r\ndata: {")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            fake._record(body, {name.lower(): value for name, value in self.headers.items()})
            if fake.delay_s > 0 and fake._stopping.wait(fake.delay_s):
                return
            model = str(body.get("model", "fake-model"))
            if fake.raw is not None:
                self._send_raw(*fake.raw)
            elif self.path != CHAT_PATH:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            elif fake.status != 200:
                error = {"message": "fake failure", "type": "server_error", "code": None}
                self._send_json(fake.status, {"error": error})
            elif body.get("stream"):
                self._send_events(model)
            else:
                self._send_json(200, _completion(model, fake.reply))

    return Handler
