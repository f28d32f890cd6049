"""Dependencies of the routes, as ``Annotated`` aliases so route signatures stay short.

They are ``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool,
which would cost more than the lookups themselves.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from ..config import Settings
from .model_store import LoadedModel, ModelStore
from .observability import Metrics


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_store(request: Request) -> ModelStore:
    return cast(ModelStore, request.app.state.model_store)


async def get_metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


async def get_model(store: Annotated[ModelStore, Depends(get_store)]) -> LoadedModel:
    """The loaded model, or a 503 that says why there is none."""
    if store.model is None:
        raise HTTPException(
            status_code=HTTPStatus.SERVICE_UNAVAILABLE, detail=f"model not ready: {store.reason}"
        )
    return store.model


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
