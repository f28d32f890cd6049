"""The FastAPI app, wired in one place: settings, model store, middleware, routers.

``app`` (module level) is what ``uvicorn <package>.api.main:app`` serves. It imports fine
with no model on disk: the model is loaded at startup, and until one loads ``/ready``
answers 503 with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from threadpoolctl import threadpool_limits

from ..config import Settings, get_settings
from .limits import BodySizeLimitMiddleware
from .model_store import ModelStore
from .observability import (
    PACKAGE_LOGGER,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
    logging_config,
)
from .routes import health, metrics, predict
from .schemas import RecordExample, build_batch_model, build_record_model, example_from_columns

logger = logging.getLogger(__name__)


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    """422 naming each bad field. The offending input is not echoed back: it may be huge,
    and NaN/infinity cannot even be written as JSON (FastAPI's default handler would 500)."""
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    detail = []
    for item in errors:
        loc = [part for part in item.get("loc", ()) if isinstance(part, str | int)]
        kind = str(item.get("type", "value_error"))
        message = str(item.get("msg", "invalid value"))
        if kind == "json_invalid":  # the body as a whole, not a field
            field = "body"
            message = f"body is not valid JSON ({message})"
        else:
            path = loc[1:] if loc[:1] == ["body"] else loc
            field = ".".join(str(part) for part in path) or "body"
        detail.append({"field": field, "loc": loc, "message": message, "type": kind})
    return JSONResponse({"detail": detail}, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: the project's config)."""
    settings = settings or get_settings()
    store = ModelStore(settings)
    example = RecordExample(example_from_columns(settings.data.columns))
    record_model = build_record_model(settings.data.columns, example)
    batch_model = build_batch_model(record_model, settings.serving.max_batch_records, example)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not logging.getLogger(PACKAGE_LOGGER).handlers:
            configure_logging(settings.log_level)
        # Unpickling a model blocks; keep the event loop free while it happens.
        if await run_in_threadpool(store.load) and store.model is not None:
            try:
                example.use(record_model.model_validate(store.model.example_record()).model_dump())
            except ValidationError as error:
                logger.warning(
                    "metadata examples do not validate; the OpenAPI example stays config-derived",
                    extra={"errors": error.error_count()},
                )
        app.openapi_schema = None  # regenerate with the loaded model's example
        # One native thread while serving: a request scores a handful of rows, where thread
        # start-up (OpenMP in HistGradientBoosting, BLAS) costs more than it saves and
        # oversubscribes the CPU. Scale out with uvicorn workers instead.
        with threadpool_limits(limits=1):
            yield

    app = FastAPI(
        title=settings.project_name,
        description=f"Predictions ({settings.task}) from the model trained by this project.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model_store = store
    app.state.metrics = Metrics()
    app.state.example = example

    app.add_exception_handler(RequestValidationError, validation_error_handler)
    # Added last = outermost: the request id and timing cover the body-limit refusals too.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.serving.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)

    app.include_router(health.router)
    app.include_router(predict.build_router(settings.task, record_model, batch_model))
    app.include_router(metrics.router)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema plus the request models, which the prediction routes validate
        themselves (see ``routes.predict._parse``) and so FastAPI does not know about."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (record_model, batch_model):
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(definition.pop("$defs", {}))
                components[model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    return app


def serve(settings: Settings) -> None:
    """Run the service under uvicorn on ``settings.host``:``settings.port`` with JSON logs."""
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=logging_config(settings.log_level),
        access_log=False,  # ObservabilityMiddleware writes a richer access line
    )


app = create_app()
