"""``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``, with their scripts served by the
service itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they stay blank on a machine
without internet access (an air-gapped cluster, a train, a locked-down laptop). Here the
same pages load the assets that the ``fastapi-offline`` package ships, from this service.
The project's name is escaped before it reaches the page title. Served as ordinary routes,
these pages are counted under their own paths in ``/metrics``.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

OPENAPI_ROUTE = "/openapi.json"
ASSETS_ROUTE = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def docs_router(app: FastAPI) -> APIRouter:
    """The schema and documentation pages of ``app``, which must be created with
    ``openapi_url=None, docs_url=None, redoc_url=None`` so FastAPI adds none of its own."""
    router = APIRouter(include_in_schema=False)
    title = html.escape(app.title)
    openapi_url = OPENAPI_ROUTE

    @router.get(OPENAPI_ROUTE)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_ROUTE}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_ROUTE}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_ROUTE}/favicon.png",
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_ROUTE}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_ROUTE}/favicon.png",
            with_google_fonts=False,
        )

    @router.get(ASSETS_ROUTE + "/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:  # only the listed files: never a path from the request
            raise HTTPException(status_code=404, detail=f"no documentation asset {name!r}")
        return FileResponse(
            assets_dir() / name,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router
