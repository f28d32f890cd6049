"""``POST /predict`` (one record) and ``POST /predict/batch`` (``{"records": [...]}``).

The request models depend on the configured columns, so the routes are built by
``build_routes`` when the app is created (see ``api.payloads`` for why the config, not the
model file, defines them). ``api.main`` includes what ``build_routes`` returns.

This is the part of the service that is this project's own: edit it to change what a
prediction returns.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ...config import Settings
from ..deps import ScoringDep
from ..errors import ERROR_RESPONSES, parse_json_body, read_json_body
from ..model_store import ModelStore
from ..offload import Offload
from ..payloads import (
    ClassificationBatchResponse,
    ClassificationResponse,
    RecordExample,
    RegressionBatchResponse,
    RegressionResponse,
    build_batch_model,
    build_record_model,
)
from ..replies import to_json
from ..scoring import Score, answer_batch, scorer, start_worker
from . import PredictionRoutes

PREDICT_ROUTE = "/predict"
BATCH_ROUTE = "/predict/batch"

Endpoint = Callable[..., Coroutine[Any, Any, Response]]


def _endpoints(
    score: Score, record_model: type[BaseModel], worker: Offload
) -> tuple[Endpoint, Endpoint]:
    async def predict(request: Request, scoring: ScoringDep) -> Response:
        # One record is about a tenth of a millisecond of work: on the event loop it costs
        # less than the hand-off to the worker process would.
        record = await parse_json_body(request, record_model)
        model = scoring.model
        (prediction,), counts = score(model, [record])
        scoring.telemetry.count_predictions(PREDICT_ROUTE, counts)
        content = to_json({**prediction, "model_version": model.version})
        return Response(content, media_type="application/json")

    async def predict_batch(request: Request, scoring: ScoringDep) -> Response:
        # Parsing, scoring and writing up to thousands of records is CPU work: it runs in
        # the worker process, so this process's event loop keeps answering other requests.
        body = await read_json_body(request)
        reply = await worker.run(answer_batch, scoring.model.version, body)
        scoring.telemetry.count_predictions(BATCH_ROUTE, reply.counts)
        return Response(reply.content, status_code=reply.status, media_type="application/json")

    return predict, predict_batch


def _body(schema_name: str) -> dict[str, Any]:
    """OpenAPI request body pointing at a component that ``api.main`` registers."""
    reference = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def build_routes(settings: Settings, store: ModelStore) -> PredictionRoutes:
    """The prediction routes for this config's task and columns.

    One record is scored on the event loop; a batch in the worker process (see
    ``api.scoring``), which ``api.main`` starts and stops with the app.
    """
    task = settings.task
    example = RecordExample(
        settings.data.columns, lambda: store.model.metadata if store.model else None
    )
    record_model = build_record_model(settings.data.columns, example)
    example.validator = record_model
    batch_model = build_batch_model(record_model, settings.serving.max_batch_records, example)
    # The worker process starts with what every batch needs; the fork server it comes from
    # has already imported the scoring code (and so pandas and scikit-learn).
    worker = Offload(start_worker, (settings,), preload=[answer_batch.__module__])
    predict, predict_batch = _endpoints(scorer(task), record_model, worker)
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
    return PredictionRoutes(
        router=router,
        body_models=(record_model, batch_model),
        worker=worker,
        body_limits={
            PREDICT_ROUTE: (settings.serving.max_record_bytes, "serving.max_record_bytes")
        },
    )
