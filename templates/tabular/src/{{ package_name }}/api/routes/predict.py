"""``POST /predict`` (one record) and ``POST /predict/batch`` (``{"records": [...]}``).

The request models depend on the configured columns, so the router is built by
``build_router`` when the app is created (see ``api.schemas`` for why the config, not the
model file, defines them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from ...config import Task
from ..deps import ScoringDep
from ..model_store import LoadedModel
from ..observability import Metrics
from ..schemas import (
    ClassificationBatchResponse,
    ClassificationResponse,
    MessageResponse,
    RegressionBatchResponse,
    RegressionResponse,
    ValidationErrorResponse,
)

PREDICT_ROUTE = "/predict"
BATCH_ROUTE = "/predict/batch"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    HTTPStatus.UNPROCESSABLE_ENTITY: {
        "model": ValidationErrorResponse,
        "description": "A field is missing, unknown, of the wrong type or out of range.",
    },
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
        "model": MessageResponse,
        "description": "Body over serving.max_body_bytes, or batch over max_batch_records.",
    },
    HTTPStatus.SERVICE_UNAVAILABLE: {"model": MessageResponse, "description": "No model loaded."},
}


def _columns(records: Sequence[BaseModel], names: list[str]) -> dict[str, list[Any]]:
    """Column lists straight from the validated records: one DataFrame per request, no dicts."""
    return {name: [getattr(record, name) for record in records] for name in names}


def classify(
    model: LoadedModel, records: Sequence[BaseModel], metrics: Metrics, route: str
) -> list[dict[str, Any]]:
    """Most probable class and every class's probability, for each record."""
    labels, probabilities = model.predict_proba(_columns(records, model.feature_names))
    keys = [str(label) for label in labels]
    best = probabilities.argmax(axis=1).tolist()
    predictions = [
        {"label": labels[index], "probabilities": dict(zip(keys, row, strict=True))}
        for index, row in zip(best, probabilities.tolist(), strict=True)
    ]
    for index, count in Counter(best).items():
        metrics.predictions.labels(route, keys[index]).inc(count)
    return predictions


def regress(
    model: LoadedModel, records: Sequence[BaseModel], metrics: Metrics, route: str
) -> list[dict[str, Any]]:
    """The predicted value for each record."""
    values = model.predict_value(_columns(records, model.feature_names)).tolist()
    metrics.predictions.labels(route, "value").inc(len(values))
    return [{"value": value} for value in values]


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    """The request body validated by ``model``, straight from the raw bytes.

    pydantic parses and validates the JSON in one pass in Rust, which costs a fraction of
    FastAPI's generic body handling (``json.loads``, then validation, then dependency
    bookkeeping) that dominated a one-record request. Errors become the usual 422.
    """
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        errors = [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        raise RequestValidationError(errors) from None


# The endpoints return ready-made JSON responses: the payload is built from numbers the
# model produced, so re-validating it against the response model (FastAPI's default, ~10 ms
# for a 1,000-record batch) would only cost time. The response models still document the
# routes in OpenAPI (``response_model`` below) and are checked in the tests.
Endpoint = Callable[..., Coroutine[Any, Any, JSONResponse]]


def _endpoints(
    task: Task, record_model: type[BaseModel], batch_model: type[BaseModel]
) -> tuple[Endpoint, Endpoint]:
    score = classify if task == "classification" else regress

    async def predict(request: Request, scoring: ScoringDep) -> JSONResponse:
        record = await _parse(request, record_model)
        model = scoring.model
        (prediction,) = score(model, [record], scoring.metrics, PREDICT_ROUTE)
        return JSONResponse({**prediction, "model_version": model.version})

    async def predict_batch(request: Request, scoring: ScoringDep) -> JSONResponse:
        records = (await _parse(request, batch_model)).records
        model = scoring.model
        predictions = await run_in_threadpool(score, model, records, scoring.metrics, BATCH_ROUTE)
        return JSONResponse({"predictions": predictions, "model_version": model.version})

    return predict, predict_batch


def _body(schema_name: str) -> dict[str, Any]:
    """OpenAPI request body pointing at a component that ``api.main`` registers."""
    reference = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def build_router(
    task: Task, record_model: type[BaseModel], batch_model: type[BaseModel]
) -> APIRouter:
    """The prediction routes for this task, taking ``record_model``/``batch_model`` bodies.

    One record is scored on the event loop: it takes about a millisecond, less than a
    hand-off to the thread pool would add. A batch can take tens of milliseconds, so it
    goes to the thread pool and never stalls other requests (e.g. health probes).
    """
    predict, predict_batch = _endpoints(task, record_model, batch_model)
    classification = task == "classification"
    router = APIRouter(tags=["predict"])
    router.add_api_route(
        PREDICT_ROUTE,
        predict,
        methods=["POST"],
        response_model=ClassificationResponse if classification else RegressionResponse,
        summary="Predict one record",
        responses=ERROR_RESPONSES,
        openapi_extra=_body(record_model.__name__),
    )
    router.add_api_route(
        BATCH_ROUTE,
        predict_batch,
        methods=["POST"],
        response_model=(ClassificationBatchResponse if classification else RegressionBatchResponse),
        summary="Predict a batch of records",
        responses=ERROR_RESPONSES,
        openapi_extra=_body(batch_model.__name__),
    )
    return router
