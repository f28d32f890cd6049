"""Start a generated project's HTTP service, talk to it, and always stop it.

Plain `urllib`, so the template's tests need no HTTP client of their own.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def request(
    url: str,
    payload: Any = None,
    *,
    method: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    timeout: float = 30,
) -> Response:
    """GET (or POST `payload` as JSON, or `body` as it is, labelled `content_type`) and
    return the response, whatever its status."""
    data = body if body is not None else None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": content_type} if data is not None else {}
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310
            return Response(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read(), dict(error.headers))


def declare_body(url: str, length: int, *, timeout: float = 30) -> Response:
    """POST headers declaring a body of ``length`` bytes, send none of it, and return the
    answer: how a body cap that reads Content-Length refuses before a byte arrives."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(
        parsed.hostname or "127.0.0.1", parsed.port, timeout=timeout
    )
    try:
        connection.putrequest("POST", parsed.path or "/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        answer = connection.getresponse()
        return Response(answer.status, answer.read(), dict(answer.headers))
    finally:
        connection.close()


def wait_for(url: str, *, status: int = 200, timeout: float = 90, alive: Any = None) -> Response:
    """Poll `url` until it answers `status`; `alive()` returning False aborts early."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the server exited while waiting for {url}")
        try:
            answer = request(url, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = repr(error)
        else:
            if answer.status == status:
                return answer
            last = f"HTTP {answer.status}: {answer.text[:300]}"
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer {status} within {timeout:.0f} s (last: {last})")


class RunningServer:
    """A server process started in its own process group, so stopping it stops its children."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        port: int,
        log_path: Path,
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, grace: float = 10) -> None:
        """SIGTERM the process group, then SIGKILL what is left of it after `grace` seconds."""
        group = self.process.pid  # start_new_session: the group id is the leader's pid
        _signal_group(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        _signal_group(group, signal.SIGKILL)
        self.process.wait(timeout=grace)
        self._log.close()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
        os.killpg(group, signum)
