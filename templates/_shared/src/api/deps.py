"""Dependencies of the routes, as ``Annotated`` aliases so route signatures stay short.

They are ``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool,
which would cost more than the lookups themselves.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from .model_store import ModelStore
from .observability import Telemetry
from .predictor import Predictor


async def get_store(request: Request) -> ModelStore:
    return cast(ModelStore, request.app.state.model_store)


async def get_telemetry(request: Request) -> Telemetry:
    return cast(Telemetry, request.app.state.telemetry)


def _model_or_503(request: Request) -> Predictor:
    store = cast(ModelStore, request.app.state.model_store)
    if store.model is None:
        raise HTTPException(
            status_code=HTTPStatus.SERVICE_UNAVAILABLE, detail=f"model not ready: {store.reason}"
        )
    return store.model


async def get_model(request: Request) -> Predictor:
    """The loaded model, or a 503 that says why there is none."""
    return _model_or_503(request)


@dataclass(frozen=True)
class Scoring:
    """What a prediction route needs: the model, and the telemetry that counts its outcomes."""

    model: Predictor
    telemetry: Telemetry


async def get_scoring(request: Request) -> Scoring:
    # One dependency rather than two: each one costs FastAPI a resolution per request.
    return Scoring(
        model=_model_or_503(request), telemetry=cast(Telemetry, request.app.state.telemetry)
    )


StoreDep = Annotated[ModelStore, Depends(get_store)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
ModelDep = Annotated[Predictor, Depends(get_model)]
ScoringDep = Annotated[Scoring, Depends(get_scoring)]
