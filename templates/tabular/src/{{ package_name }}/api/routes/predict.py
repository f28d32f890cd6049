"""``POST /predict`` (one record) and ``POST /predict/batch`` (``{"records": [...]}``).

The request models depend on the configured columns, so the routes are built by
``build_routes`` when the app is created (see ``api.payloads`` for why the config, not the
model file, defines them). ``api.main`` includes what ``build_routes`` returns.

This is the part of the service that is this project's own: edit it to change what a
prediction returns.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ...config import Settings, Task
from ..deps import Scoring, ScoringDep
from ..errors import ERROR_RESPONSES, parse_json_body, read_json_body, validate_json
from ..limits import run_cpu_bound
from ..model_store import ModelStore
from ..observability import Telemetry
from ..payloads import (
    ClassificationBatchResponse,
    ClassificationResponse,
    RecordExample,
    RegressionBatchResponse,
    RegressionResponse,
    build_batch_model,
    build_record_model,
)
from ..predictor import Predictor
from . import PredictionRoutes

PREDICT_ROUTE = "/predict"
BATCH_ROUTE = "/predict/batch"


def _columns(records: Sequence[BaseModel], names: list[str]) -> dict[str, list[Any]]:
    """Column lists straight from the validated records: one DataFrame per request, no dicts."""
    return {name: [getattr(record, name) for record in records] for name in names}


def classify(
    model: Predictor, records: Sequence[BaseModel], telemetry: Telemetry, route: str
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
        telemetry.predictions.labels(route, keys[index]).inc(count)
    return predictions


def regress(
    model: Predictor, records: Sequence[BaseModel], telemetry: Telemetry, route: str
) -> list[dict[str, Any]]:
    """The predicted value for each record."""
    values = model.predict_value(_columns(records, model.feature_names)).tolist()
    telemetry.predictions.labels(route, "value").inc(len(values))
    return [{"value": value} for value in values]


# The endpoints return ready-made JSON: the payload is built from numbers the model produced,
# so re-validating it against the response model (FastAPI's default, ~10 ms for a 1,000-record
# batch) would only cost time. The response models still document the routes in OpenAPI
# (``response_model`` below) and are checked in the tests.
Endpoint = Callable[..., Coroutine[Any, Any, Response]]


def _json(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _endpoints(
    task: Task, record_model: type[BaseModel], batch_model: type[BaseModel]
) -> tuple[Endpoint, Endpoint]:
    score = classify if task == "classification" else regress

    async def predict(request: Request, scoring: ScoringDep) -> Response:
        # One record is about a tenth of a millisecond of work: on the event loop it costs
        # less than the hand-off to a thread would.
        record = await parse_json_body(request, record_model)
        model = scoring.model
        (prediction,) = score(model, [record], scoring.telemetry, PREDICT_ROUTE)
        content = _json({**prediction, "model_version": model.version})
        return Response(content, media_type="application/json")

    def answer_batch(body: bytes, scoring: Scoring) -> bytes:
        # Any: the batch model is built at runtime from the config, so mypy cannot see .records
        batch: Any = validate_json(body, batch_model)
        model = scoring.model
        predictions = score(model, batch.records, scoring.telemetry, BATCH_ROUTE)
        return _json({"predictions": predictions, "model_version": model.version})

    async def predict_batch(request: Request, scoring: ScoringDep) -> Response:
        # Parsing, scoring and writing up to thousands of records is CPU work: it runs in a
        # worker thread, one batch at a time, so the event loop keeps answering other requests.
        body = await read_json_body(request)
        content = await run_cpu_bound(partial(answer_batch, body, scoring))
        return Response(content, media_type="application/json")

    return predict, predict_batch


def _body(schema_name: str) -> dict[str, Any]:
    """OpenAPI request body pointing at a component that ``api.main`` registers."""
    reference = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def build_routes(settings: Settings, store: ModelStore) -> PredictionRoutes:
    """The prediction routes for this config's task and columns.

    One record is scored on the event loop; a batch in a worker thread (see the endpoints).
    """
    task = settings.task
    example = RecordExample(
        settings.data.columns, lambda: store.model.metadata if store.model else None
    )
    record_model = build_record_model(settings.data.columns, example)
    example.validator = record_model
    batch_model = build_batch_model(record_model, settings.serving.max_batch_records, example)
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
    return PredictionRoutes(router=router, body_models=(record_model, batch_model))
