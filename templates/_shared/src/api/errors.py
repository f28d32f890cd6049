"""The error shape every route answers with, and turning bad requests into it.

A refused request is a 4xx whose body says what is wrong, never a 500: ``{"detail": [...]}``
with one entry per bad field (``ValidationErrorResponse``, a 422) or ``{"detail": "..."}``
(``MessageResponse``: 413, 415, 503). A 422 lists at most ``MAX_ERRORS`` fields and says how
many there were, so no request, however wrong, gets a reply larger than a few kilobytes.
The offending input is never echoed back: it may be huge, and NaN or infinity cannot even
be written as JSON.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

Body = TypeVar("Body", bound=BaseModel)

MAX_ERRORS = 20


class ErrorDetail(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. records.3.tenure.")
    loc: list[str | int] = Field(description="Where the error is, as FastAPI reports it.")
    message: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: list[ErrorDetail] = Field(description=f"The first {MAX_ERRORS} errors at most.")
    error_count: int = Field(description="How many errors there were in all.")


class MessageResponse(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    HTTPStatus.UNPROCESSABLE_ENTITY: {
        "model": ValidationErrorResponse,
        "description": "A field is missing, unknown, of the wrong type or out of range.",
    },
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
        "model": MessageResponse,
        "description": "Body over serving.max_body_bytes, or batch over max_batch_records.",
    },
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: {
        "model": MessageResponse,
        "description": "The body is not sent as application/json.",
    },
    HTTPStatus.SERVICE_UNAVAILABLE: {
        "model": MessageResponse,
        "description": "No model is loaded, or the service is busy or restarting a worker.",
    },
}
"""The refusals a JSON prediction route documents in OpenAPI (``responses=``)."""


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    """422 naming each bad field (FastAPI's default handler would echo the input back)."""
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    return JSONResponse(
        validation_error_content(errors), status_code=HTTPStatus.UNPROCESSABLE_ENTITY
    )


def validation_error_content(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body: the first ``MAX_ERRORS`` errors, each naming its field, and the count."""
    detail = []
    for item in itertools.islice(errors, MAX_ERRORS):
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
    return {"detail": detail, "error_count": len(errors)}


def refusal_content(error: HTTPException | RequestValidationError) -> tuple[int, dict[str, Any]]:
    """The status and body the app answers ``error`` with, for work done where the app's
    handlers cannot see it (a job in the worker process, see ``api.offload``)."""
    if isinstance(error, RequestValidationError):
        return HTTPStatus.UNPROCESSABLE_ENTITY, validation_error_content(error.errors())
    return error.status_code, {"detail": error.detail}


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header announces JSON (``application/json``, ``...+json``)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_json_body(request: Request) -> bytes:
    """The raw body of a request that announced JSON; a 415 for one that did not (a client
    sending ``text/plain`` or no Content-Type has a bug worth hearing about)."""
    if not is_json(request.headers.get("content-type")):
        raise HTTPException(
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            detail="send the body as JSON, with the header Content-Type: application/json",
        )
    return await request.body()


async def parse_json_body(request: Request, model: type[Body]) -> Body:
    """The request body validated by ``model`` (see ``read_json_body`` and ``validate_json``)."""
    return validate_json(await read_json_body(request), model)


def validate_json(body: bytes, model: type[Body]) -> Body:
    """``body`` validated by ``model``, straight from the raw bytes.

    pydantic parses and validates the JSON in one pass in Rust, which costs a fraction of
    FastAPI's generic body handling (``json.loads``, then validation, then dependency
    bookkeeping) that dominated a one-record request. Errors become the usual 422.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        found = error.errors(include_url=False, include_context=False, include_input=False)
        errors = [{**item, "loc": ("body", *item["loc"])} for item in found]
        raise RequestValidationError(errors) from None
