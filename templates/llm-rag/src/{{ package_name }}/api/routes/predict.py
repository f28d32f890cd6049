"""``POST /predict`` (one image, form field ``file``) and ``POST /predict/batch`` (several, in
the form field ``files``).

Images arrive as multipart form uploads, parsed by FastAPI (``UploadFile``). Here each
upload is read within its byte cap; the worker process then decodes, preprocesses and
classifies them (``api.scoring``), so the event loop never decodes a file. ``api.main``
includes what ``build_routes`` returns, and caps each route's body before it is parsed
(``PredictionRoutes.body_limits``).

This is the part of the service that is this project's own: edit it to change the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, Response, UploadFile

from ...config import ServingConfig, Settings
from ..deps import ScoringDep
from ..errors import MessageResponse, ValidationErrorResponse
from ..images import FORMATS, read_upload
from ..model_store import ModelStore
from ..offload import Offload
from ..payloads import BatchResponse, PredictionResponse
from ..scoring import answer, start_worker
from . import PredictionRoutes

PREDICT_ROUTE = "/predict"
BATCH_ROUTE = "/predict/batch"

FORM_FRAMING_BYTES = 16_384
"""Room per file, on top of the image, for what a multipart form adds around it (the
boundary, the part's headers with the file name): part of each route's body cap."""

MULTIPART = "multipart/form-data"


def multipart_form(field: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing, with a 415, a body that is not a multipart form: a client
    that sends JSON or raw bytes has a bug worth hearing about, not a missing field."""

    async def check(request: Request) -> None:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != MULTIPART:
            raise HTTPException(
                status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                detail=f"send the image as a multipart form (Content-Type: {MULTIPART}), "
                f"the file in the field `{field}`",
            )

    return check


ImageUpload = Annotated[UploadFile, File(description=f"One image file: {', '.join(FORMATS)}.")]
ImageUploads = Annotated[
    list[UploadFile],
    File(
        min_length=1,
        description="The image files, each in the field `files` (serving.max_batch_files).",
    ),
]
SingleImageForm = Annotated[None, Depends(multipart_form("file"))]
BatchForm = Annotated[None, Depends(multipart_form("files"))]


def _responses(serving: ServingConfig, batch: bool) -> dict[int | str, dict[str, Any]]:
    """The refusals a prediction route documents in OpenAPI, with examples of the upload's."""
    too_large = "A file over serving.max_image_bytes, or an image over serving.max_image_pixels"
    if batch:
        too_large += f", or more than {serving.max_batch_files} files (serving.max_batch_files)"

    def example(detail: str) -> dict[str, Any]:
        return {"application/json": {"example": {"detail": detail}}}

    return {
        HTTPStatus.BAD_REQUEST: {
            "model": MessageResponse,
            "description": "The body says it is a multipart form but is not a well-formed one "
            "(a missing boundary, a broken part header).",
        },
        HTTPStatus.UNPROCESSABLE_ENTITY: {
            "model": ValidationErrorResponse,
            "description": "The form lacks the file field, or it holds text, not a file.",
        },
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
            "model": MessageResponse,
            "description": too_large + ".",
            "content": example(
                f"big.png has 8000 x 8000 pixels; the limit is {serving.max_image_pixels} "
                "pixels, width x height (serving.max_image_pixels)"
            ),
        },
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE: {
            "model": MessageResponse,
            "description": "The body is not a multipart form, or a file is not an image "
            f"in one of {', '.join(FORMATS)} (or it is corrupt or truncated).",
            "content": example(
                "notes.txt is not an image the service reads (not a recognised image "
                f"format); send one of: {', '.join(FORMATS)}"
            ),
        },
        HTTPStatus.SERVICE_UNAVAILABLE: {
            "model": MessageResponse,
            "description": "No model is loaded, or the service is busy or restarting its "
            "worker process.",
        },
    }


def build_routes(settings: Settings, store: ModelStore) -> PredictionRoutes:
    """The prediction routes, their body caps, and the worker process that classifies.

    Nothing here depends on the model (``store`` is not needed): the routes take images of
    any size, and the model's own preprocessing resizes them.
    """
    serving = settings.serving
    max_bytes, max_files = serving.max_image_bytes, serving.max_batch_files
    # The worker starts with the model loaded; the fork server it comes from has already
    # imported the scoring code (and so ONNX Runtime, Pillow and numpy).
    worker = Offload(start_worker, (settings,), preload=[answer.__module__])

    async def predict(scoring: ScoringDep, _: SingleImageForm, file: ImageUpload) -> Response:
        upload = await read_upload(file, 0, max_bytes)
        reply = await worker.run(answer, scoring.model.version, [upload], False)
        scoring.telemetry.count_predictions(PREDICT_ROUTE, reply.counts)
        return Response(reply.content, status_code=reply.status, media_type="application/json")

    async def predict_batch(scoring: ScoringDep, _: BatchForm, files: ImageUploads) -> Response:
        if len(files) > max_files:
            raise HTTPException(
                status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                detail=f"{len(files)} files; the limit is {max_files} per request "
                "(serving.max_batch_files). Split them into smaller batches.",
            )
        uploads = [
            await read_upload(upload, index, max_bytes) for index, upload in enumerate(files)
        ]
        reply = await worker.run(answer, scoring.model.version, uploads, True)
        scoring.telemetry.count_predictions(BATCH_ROUTE, reply.counts)
        return Response(reply.content, status_code=reply.status, media_type="application/json")

    example = "curl -F file=@photo.jpg http://localhost:8000/predict"
    batch_example = "curl -F files=@a.jpg -F files=@b.png http://localhost:8000/predict/batch"
    router = APIRouter(tags=["predict"])
    router.add_api_route(
        PREDICT_ROUTE,
        predict,
        methods=["POST"],
        response_model=PredictionResponse,
        summary="Classify one image",
        description=f"Upload one image as a multipart form, in the field `file` (`{example}`). "
        f"Any size up to serving.max_image_bytes ({max_bytes} bytes) and "
        f"serving.max_image_pixels ({serving.max_image_pixels} pixels): it is resized as "
        f"in training. The answer names the most probable class and the {serving.top_k} "
        "most probable ones (serving.top_k) with their probabilities.",
        responses=_responses(serving, batch=False),
    )
    router.add_api_route(
        BATCH_ROUTE,
        predict_batch,
        methods=["POST"],
        response_model=BatchResponse,
        summary="Classify several images",
        description=f"Upload up to {max_files} images (serving.max_batch_files) as a multipart "
        f"form, each in the field `files` (`{batch_example}`). The predictions come in upload "
        "order, each with its file's name. One unreadable or oversized file refuses the "
        "request, naming the file.",
        responses=_responses(serving, batch=True),
    )
    per_file = max_bytes + FORM_FRAMING_BYTES
    framing = f"plus {FORM_FRAMING_BYTES} bytes of form framing per file"
    return PredictionRoutes(
        router=router,
        worker=worker,
        body_limits={
            PREDICT_ROUTE: (per_file, f"serving.max_image_bytes, {framing}"),
            BATCH_ROUTE: (
                max_files * per_file,
                f"serving.max_batch_files x serving.max_image_bytes, {framing}",
            ),
        },
    )
