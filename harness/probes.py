"""Sample requests a running service must answer, read from `harness/payloads/<build>.yaml`.

Each payload names a route, a body (`json`, `raw` text sent as JSON, or `files` sent as a
multipart form, see `Upload`), the status it must get, the keys a JSON answer must have
(`fields`) and strings the answer must contain (`mentions`, e.g. the name of the field a 422
is about). A variant adds its sample requests as a YAML file; the build and container
layers send them, no test code needed.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.checks import tool
from harness.images import bomb, png
from harness.service import Response, request


@dataclass(frozen=True)
class Upload:
    """One file of a multipart form. Its content is exactly one of: `png` (width, height,
    colour, mode: see `harness.images.png`), `bomb` (width, height: a decompression bomb),
    `text`, `zeros` (that many zero bytes) or `path` (a file's bytes); `truncate` keeps
    only its first bytes."""

    field: str
    filename: str
    content_type: str = "application/octet-stream"
    png: dict[str, Any] | None = None
    bomb: dict[str, int] | None = None
    text: str | None = None
    zeros: int | None = None
    path: str | None = None
    truncate: int | None = None

    def content(self) -> bytes:
        whole = self._whole()
        return whole if self.truncate is None else whole[: self.truncate]

    def _whole(self) -> bytes:
        given = [self.png, self.bomb, self.text, self.zeros, self.path]
        if sum(value is not None for value in given) != 1:
            raise ValueError(f"{self.filename}: give one of png, bomb, text, zeros, path")
        if self.path is not None:
            return Path(self.path).read_bytes()
        if self.png is not None:
            return png(**self.png)
        if self.bomb is not None:
            return bomb(**self.bomb)
        if self.text is not None:
            return self.text.encode("utf-8")
        return b"\x00" * int(self.zeros or 0)


def multipart(uploads: tuple[Upload, ...]) -> tuple[bytes, str]:
    """A multipart/form-data body holding ``uploads``, and its Content-Type header."""
    boundary = f"aipt-{uuid.uuid4().hex}"
    parts = []
    for upload in uploads:
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{upload.field}"; '
            f'filename="{upload.filename}"\r\n'
            f"Content-Type: {upload.content_type}\r\n\r\n"
        )
        parts.append(head.encode("utf-8") + upload.content() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Payload:
    name: str
    path: str
    status: int
    method: str = "POST"
    json: Any = None
    raw: str | None = None
    files: tuple[Upload, ...] = ()
    fields: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()

    def send(self, base_url: str) -> Response:
        url = base_url + self.path
        if self.files:
            body, content_type = multipart(self.files)
            return request(url, method=self.method, body=body, content_type=content_type)
        raw = self.raw.encode("utf-8") if self.raw is not None else None
        return request(url, self.json, method=self.method, body=raw)

    def problems(self, answer: Response) -> list[str]:
        """What is wrong with ``answer`` (empty when it is what the payload expects)."""
        problems = []
        if answer.status != self.status:
            problems.append(f"status {answer.status}, expected {self.status}: {answer.text[:500]}")
            return problems
        if self.fields:
            body = answer.json()
            missing = [key for key in self.fields if key not in body]
            if missing:
                problems.append(f"answer lacks {missing}: {answer.text[:500]}")
        for text in self.mentions:
            if text not in answer.text:
                problems.append(f"answer does not mention {text!r}: {answer.text[:500]}")
        return problems


def load_payloads(path: Path) -> list[Payload]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list of payloads")
    payloads = []
    for entry in entries:
        fields = tuple(entry.pop("fields", ()))
        mentions = tuple(entry.pop("mentions", ()))
        files = tuple(Upload(**upload) for upload in entry.pop("files", ()))
        payloads.append(Payload(**entry, files=files, fields=fields, mentions=mentions))
    return payloads


HARNESS = Path(__file__).resolve().parent


def fuzz(
    base_url: str,
    examples: int,
    report_dir: Path,
    seed: int = 1,
    config: str = "schemathesis.toml",
) -> tuple[int, str]:
    """Run Schemathesis against a running service: every check (no 5xx, responses match
    the schema, bad input refused with a documented 4xx); returns its exit code and output.
    ``config``: the settings file in harness/ (``Variant.fuzz_config``)."""
    command = [
        tool("st"),
        "--config-file",
        str(HARNESS / config),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    # Run from the report folder: Schemathesis keeps a cache in its working directory.
    report_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        command, cwd=report_dir, capture_output=True, text=True, check=False, timeout=1800
    )
    return completed.returncode, completed.stdout + completed.stderr


def describe(payload: Payload) -> str:
    if payload.files:
        body = ", ".join(f"{upload.field}={upload.filename}" for upload in payload.files)
    else:
        body = payload.raw if payload.raw is not None else json.dumps(payload.json)[:200]
    return f"{payload.method} {payload.path} ({payload.name}): {body}"
