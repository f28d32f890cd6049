"""The FastAPI app, wired in one place: settings, model store, middleware, routers, docs.

``app`` (module level) is what ``api.server.serve`` runs under uvicorn. It imports fine
with no model on disk: the model is loaded at startup, and until one loads ``/ready``
answers 503 with the reason. The prediction routes come from ``routes/predict.py``, the
one part of the service that is this project's own.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from threadpoolctl import threadpool_limits

from ..config import Settings, get_settings
from .docs import docs_router
from .errors import validation_error_handler
from .limits import BodySizeLimitMiddleware, ConcurrencyLimitMiddleware
from .model_store import ModelStore
from .observability import PACKAGE_LOGGER, ObservabilityMiddleware, Telemetry, configure_logging
from .routes import health, predict, prometheus

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: the project's config)."""
    settings = settings or get_settings()
    store = ModelStore(settings)
    prediction = predict.build_routes(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not logging.getLogger(PACKAGE_LOGGER).handlers:
            configure_logging(settings.log_level)
        # Unpickling a model blocks; keep the event loop free while it happens.
        await run_in_threadpool(store.load)
        watcher = asyncio.create_task(store.watch(), name="model-watcher")
        worker = prediction.worker
        # Started in the background, ready before the first job; never delays startup.
        starting = asyncio.ensure_future(run_in_threadpool(worker.start)) if worker else None
        # One native thread while serving: a request scores a handful of rows, where thread
        # start-up (OpenMP, BLAS) costs more than it saves and oversubscribes the CPU.
        # Scale out with uvicorn workers instead.
        try:
            with threadpool_limits(limits=1):
                yield
        finally:
            watcher.cancel()
            if worker is not None and starting is not None:
                await starting
                await run_in_threadpool(worker.close)

    app = FastAPI(
        title=settings.project_name,
        description="Predictions from the model this project trained. `/metadata` says "
        "which model answers and how well it scored on held-out data.",
        lifespan=lifespan,
        openapi_url=None,  # the schema and the docs pages are served by docs_router
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.model_store = store
    app.state.telemetry = Telemetry()

    app.add_exception_handler(RequestValidationError, validation_error_handler)
    # Added last = outermost: the request id and timing cover both limits' refusals too.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.serving.max_body_bytes,
        limits=prediction.body_limits,
    )
    app.add_middleware(
        ConcurrencyLimitMiddleware, max_requests=settings.serving.max_concurrent_requests
    )
    app.add_middleware(ObservabilityMiddleware, telemetry=app.state.telemetry)

    app.include_router(health.router)
    app.include_router(prediction.router)
    app.include_router(prometheus.router)
    app.include_router(docs_router(app))

    schema_version: str | None = None  # the model whose examples the cached schema shows

    def openapi() -> dict[str, Any]:
        """FastAPI's schema plus the request models that the prediction routes validate
        themselves (see ``errors.parse_json_body``), which FastAPI does not know about.
        Rebuilt when another model starts serving: its examples come from that model."""
        nonlocal schema_version
        version = store.model.version if store.model else None
        if app.openapi_schema is None or schema_version != version:
            schema_version = version
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in prediction.body_models:
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(definition.pop("$defs", {}))
                components[model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    return app


app = create_app()
