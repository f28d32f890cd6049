"""Dependencies of the routes, as ``Annotated`` aliases so route signatures stay short.

They are ``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool,
which would cost more than the lookups themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from .model_store import LoadedModel, ModelStore
from .observability import Metrics


async def get_store(request: Request) -> ModelStore:
    return cast(ModelStore, request.app.state.model_store)


async def get_metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


def _model_or_503(request: Request) -> LoadedModel:
    store = cast(ModelStore, request.app.state.model_store)
    if store.model is None:
        raise HTTPException(
            status_code=HTTPStatus.SERVICE_UNAVAILABLE, detail=f"model not ready: {store.reason}"
        )
    return store.model


async def get_model(request: Request) -> LoadedModel:
    """The loaded model, or a 503 that says why there is none."""
    return _model_or_503(request)


@dataclass(frozen=True)
class Scoring:
    """What a prediction route needs: the model, and the metrics to count its outcomes."""

    model: LoadedModel
    metrics: Metrics


async def get_scoring(request: Request) -> Scoring:
    # One dependency rather than two: each one costs FastAPI a resolution per request.
    return Scoring(model=_model_or_503(request), metrics=cast(Metrics, request.app.state.metrics))


StoreDep = Annotated[ModelStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
ScoringDep = Annotated[Scoring, Depends(get_scoring)]
