"""Liveness, readiness and which model is being served.

``/health`` answers as long as the process does; ``/ready`` only once a model is loaded;
``/metadata`` describes that model exactly as training saved it (its version, when and on
which data it was trained, its test metrics, and what this project adds).

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ...artefacts import Metadata
from ..deps import ModelDep, StoreDep
from ..errors import MessageResponse

router = APIRouter(tags=["health"])


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    status: Literal["ready"] = "ready"
    model_version: str


class NotReadyResponse(BaseModel):
    status: Literal["not ready"] = "not ready"
    reason: str


@router.get("/health")
async def health() -> HealthResponse:
    """Liveness: the process answers HTTP. Always 200, with or without a model."""
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={HTTPStatus.SERVICE_UNAVAILABLE: {"model": NotReadyResponse}},
)
async def ready(store: StoreDep) -> ReadyResponse | JSONResponse:
    """Readiness: 200 once a model is loaded, else 503 with the reason (e.g. no model yet)."""
    if store.model is None:
        body = NotReadyResponse(reason=store.reason).model_dump()
        return JSONResponse(body, status_code=HTTPStatus.SERVICE_UNAVAILABLE)
    return ReadyResponse(model_version=store.model.version)


@router.get(
    "/metadata",
    response_model=Metadata,
    responses={HTTPStatus.SERVICE_UNAVAILABLE: {"model": MessageResponse}},
)
async def metadata(model: ModelDep) -> Metadata:
    """The served model's ``metadata.json``: version, training time, data hash, metrics..."""
    return model.metadata
