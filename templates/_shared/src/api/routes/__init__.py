"""One ``APIRouter`` per resource; ``api.main`` includes them.

``health`` and ``prometheus`` are the same in every project made from the template.
``predict`` is this project's own: it provides ``build_routes(settings, store)``, which
returns the prediction routes and the request models they validate themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter
from pydantic import BaseModel

from ..offload import Offload


@dataclass(frozen=True)
class PredictionRoutes:
    """What ``routes.predict.build_routes`` hands to ``api.main``."""

    router: APIRouter
    body_models: tuple[type[BaseModel], ...] = ()
    """Request models the routes parse themselves; ``api.main`` adds them to OpenAPI."""
    worker: Offload | None = None
    """The process the routes hand CPU-bound work to; ``api.main`` starts and stops it."""
    body_limits: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    """Body caps tighter than ``serving.max_body_bytes``, by path: (bytes, the setting)."""
