"""Liveness, readiness and what model is being served."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ..deps import ModelDep, StoreDep
from ..model_store import FeatureSchema

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


class MetadataResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model_version: str
    trained_at: str
    task: str
    target: str
    classes: list[str | int] | None
    primary_metric: str
    metrics: dict[str, float]
    model: dict[str, Any] | None
    features: list[FeatureSchema]


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


@router.get("/metadata", responses={HTTPStatus.SERVICE_UNAVAILABLE: {"description": "No model"}})
async def metadata(model: ModelDep) -> MetadataResponse:
    """The served model: version, training time, test metrics and input features."""
    info = model.metadata
    chosen = getattr(info, "chosen", None)
    return MetadataResponse(
        model_version=info.model_version,
        trained_at=info.trained_at,
        task=info.task,
        target=info.target,
        classes=info.classes,
        primary_metric=info.primary_metric,
        metrics=info.test_metrics,
        model=chosen if isinstance(chosen, dict) else None,
        features=info.features,
    )
