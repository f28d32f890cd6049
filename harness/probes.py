"""Sample requests a running service must answer, read from `harness/payloads/<build>.yaml`.

Each payload names a route, a body (`json`, or `raw` text sent as JSON), the status it must
get, the keys a JSON answer must have (`fields`) and strings the answer must contain
(`mentions`, e.g. the name of the field a 422 is about). A variant adds its sample requests
as a YAML file; the build and container layers send them, no test code needed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.checks import tool
from harness.service import Response, request


@dataclass(frozen=True)
class Payload:
    name: str
    path: str
    status: int
    method: str = "POST"
    json: Any = None
    raw: str | None = None
    fields: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()

    def send(self, base_url: str) -> Response:
        raw = self.raw.encode("utf-8") if self.raw is not None else None
        return request(base_url + self.path, self.json, method=self.method, body=raw)

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
        payloads.append(Payload(**entry, fields=fields, mentions=mentions))
    return payloads


SCHEMATHESIS_CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


def fuzz(base_url: str, examples: int, report_dir: Path, seed: int = 1) -> tuple[int, str]:
    """Run Schemathesis against a running service: every check (no 5xx, responses match
    the schema, bad input refused with a documented 4xx); returns its exit code and output."""
    command = [
        tool("st"),
        "--config-file",
        str(SCHEMATHESIS_CONFIG),
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
    body = payload.raw if payload.raw is not None else json.dumps(payload.json)[:200]
    return f"{payload.method} {payload.path} ({payload.name}): {body}"
