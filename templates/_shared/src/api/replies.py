"""What a prediction job sends back from the worker process (``api.offload``) to the route.

The worker writes the whole HTTP answer, so the server process only passes bytes on: it
never re-encodes (or re-validates) a large reply on its event loop. Beside the answer comes
what was predicted, counted in ``predictions_total`` by the server (``Telemetry``).

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Counts = dict[str, int]
"""Predictions per outcome (a class, or "value" for a regression), for ``predictions_total``."""


@dataclass(frozen=True)
class Reply:
    """The HTTP answer (status and JSON body), and what it predicted."""

    status: int
    content: bytes
    counts: Counts


def to_json(content: dict[str, Any]) -> bytes:
    """A reply's body, written once: built from numbers the model produced, so re-validating
    it against the response model (FastAPI's default: ~10 ms for 1,000 records) would only
    cost time. The response models still document the routes, and the tests check replies
    against them."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
