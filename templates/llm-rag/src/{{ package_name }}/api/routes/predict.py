"""``POST /ask``, ``POST /ask/stream`` (server-sent events) and ``POST /documents``.

A question is validated here (``payloads.ask_model``: 422 for an empty or over-long one),
retrieved in the worker process (``scoring.retrieve``: embedding a question is CPU work),
and answered here (``answering.compose``): an LLM call waits on the network, in a thread,
never on the event loop. ``/ask/stream`` sends the passages first, then the answer as it is
written, then the whole answer with its citations. ``/documents`` takes one file as a
multipart upload and ingests it (``scoring.add_document``); the new index version serves
within ``serving.reload_interval_s``.

This is the part of the service that is this project's own: edit it to change the routes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from http import HTTPStatus
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...answer import Answer, Passage, make_answer
from ...answering import Composed, compose, llm_client, stream
from ...config import Settings
from ...llm import GenerationError
from ...loaders import SUPPORTED_SUFFIXES
from ..deps import Scoring, ScoringDep
from ..errors import ERROR_RESPONSES, MessageResponse, parse_json_body
from ..model_store import ModelStore
from ..offload import Offload
from ..payloads import AskRequest, AskResponse, DocumentResponse, ask_model
from ..replies import to_json
from ..scoring import Added, Found, Refusal, add_document, retrieve, start_worker
from . import PredictionRoutes

ASK_ROUTE = "/ask"
STREAM_ROUTE = "/ask/stream"
DOCUMENTS_ROUTE = "/documents"
MULTIPART = "multipart/form-data"
FORM_FRAMING_BYTES = 16_384
"""Room, on top of the document, for what a multipart form adds around it."""
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
EVENT = {
    "type": "object",
    "description": "One server-sent event: its name, and its data as JSON text (`sources`: "
    "the passages; `token`: a piece of the answer; `error`: the LLM failed; `done`: the "
    "whole answer, as `/ask` returns it).",
    "properties": {
        "event": {"type": "string", "enum": ["sources", "token", "error", "done"]},
        "data": {"type": "string"},
    },
    "required": ["event", "data"],
}
"""The OpenAPI schema of each event ``/ask/stream`` sends."""


def _outcome(found: Found) -> dict[str, int]:
    return {"abstained" if found.abstained else "answered": 1}


def _answer_content(
    found: Found, composed: Composed, version: str, generate_s: float
) -> dict[str, Any]:
    retrieve_ms = round(1000 * found.seconds, 2)
    generate_ms = round(1000 * generate_s, 2)
    return {
        "answer": composed.answer.text,
        "abstained": composed.abstained,
        "generator": composed.answer.generator,
        "mode": found.mode,
        "citations": [asdict(citation) for citation in composed.answer.citations],
        "closest": [_passage(passage) for passage in found.passages],
        "best_similarity": round(found.best_similarity, 5),
        "fallback": composed.fallback,
        "timings": {
            "retrieve_ms": retrieve_ms,
            "generate_ms": generate_ms,
            "total_ms": round(retrieve_ms + generate_ms, 2),
        },
        "model_version": version,
    }


def _passage(passage: Passage) -> dict[str, Any]:
    return {
        "n": passage.n,
        "source": passage.source,
        "page": passage.page,
        "chunk_id": passage.chunk_id,
        "score": passage.score,
        "heading": passage.heading,
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    """One server-sent event: its name and a JSON payload."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _upload_name(upload: UploadFile) -> str:
    """The uploaded file's name, made safe to keep (no folders, plain characters)."""
    given = PurePath(upload.filename or "")
    suffix = given.suffix.lower()
    stem = SAFE_NAME.sub("_", given.stem).strip("._-")
    if not stem:  # a name in another script (手册.md): a stable name of plain characters
        stem = "document-" + hashlib.sha256(given.stem.encode()).hexdigest()[:8]
    name = stem + suffix
    if suffix not in SUPPORTED_SUFFIXES:
        raise HTTPException(
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            detail=f"{upload.filename or 'the file'} is not a document type the service "
            f"reads; send one of: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    return name


async def _read(upload: UploadFile, limit: int) -> bytes:
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(
            status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            detail=f"{upload.filename} is over {limit} bytes (serving.max_document_bytes)",
        )
    return content


def multipart_form(request: Request) -> None:
    """A 415 for a body that is not a multipart form (a client sending the document as
    raw bytes or JSON has a bug worth hearing about, not a missing field)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != MULTIPART:
        raise HTTPException(
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            detail=f"send the document as a multipart form (Content-Type: {MULTIPART}), "
            "the file in the field `file`",
        )


DocumentUpload = Annotated[
    UploadFile, File(description="One document: markdown, text, PDF or HTML.")
]
MultipartForm = Annotated[None, Depends(multipart_form)]


def _body(model_name: str) -> dict[str, Any]:
    reference = {"$ref": f"#/components/schemas/{model_name}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def build_routes(settings: Settings, store: ModelStore) -> PredictionRoutes:
    """The question and upload routes, their body caps, and the worker process."""
    serving = settings.serving
    request_model = ask_model(serving.max_question_chars)
    worker = Offload(start_worker, (settings,), preload=[retrieve.__module__])
    llm = llm_client(settings)

    async def retrieved(request: Request, scoring: Scoring) -> tuple[AskRequest, Found]:
        body = await parse_json_body(request, request_model)
        found = await worker.run(
            retrieve, scoring.model.version, body.question, body.mode, body.top_k, body.sources
        )
        if isinstance(found, Refusal):
            raise HTTPException(status_code=found.status, detail=found.detail)
        scoring.telemetry.count_predictions(ASK_ROUTE, _outcome(found))
        return body, found

    async def ask(request: Request, scoring: ScoringDep) -> Response:
        body, found = await retrieved(request, scoring)
        started = time.perf_counter()
        composed = await run_in_threadpool(
            compose, body.question, found.passages, found.abstained, llm
        )
        content = _answer_content(
            found, composed, scoring.model.version, time.perf_counter() - started
        )
        return Response(to_json(content), media_type="application/json")

    async def ask_stream(request: Request, scoring: ScoringDep) -> StreamingResponse:
        body, found = await retrieved(request, scoring)
        version = scoring.model.version

        async def events() -> AsyncIterator[bytes]:
            started = time.perf_counter()
            yield _event("sources", {"closest": [_passage(p) for p in found.passages]})
            pieces: list[str] = []
            fallback = None
            try:
                written: Iterator[str] = await run_in_threadpool(
                    stream, body.question, found.passages, found.abstained, llm
                )
                async for piece in iterate_in_threadpool(written):
                    pieces.append(piece)
                    yield _event("token", {"text": piece})
            except GenerationError as error:
                fallback = str(error)
                yield _event("error", {"detail": f"{fallback}; answering offline instead"})
                pieces = []
            if fallback is not None or not pieces:
                composed = await run_in_threadpool(
                    compose, body.question, found.passages, found.abstained, None
                )
                composed = Composed(composed.answer, composed.abstained, fallback)
                if fallback is not None:
                    yield _event("token", {"text": composed.answer.text})
            else:
                generator = llm.generator if llm and not found.abstained else "extractive"
                text = "".join(pieces).strip()
                answer: Answer = (
                    make_answer(text, found.passages, generator)
                    if not found.abstained
                    else Answer(text, [], "abstained")
                )
                composed = Composed(answer, found.abstained)
            content = _answer_content(found, composed, version, time.perf_counter() - started)
            yield _event("done", content)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def documents(scoring: ScoringDep, _: MultipartForm, file: DocumentUpload) -> Response:
        name = _upload_name(file)
        content = await _read(file, serving.max_document_bytes)
        added = await worker.run(add_document, name, content)
        if isinstance(added, Refusal):
            raise HTTPException(status_code=added.status, detail=added.detail)
        result: Added = added
        scoring.telemetry.count_predictions(DOCUMENTS_ROUTE, {"added": 1})
        return Response(
            to_json(asdict(result)),
            status_code=HTTPStatus.CREATED,
            media_type="application/json",
        )

    router = APIRouter(tags=["ask"])
    example = (
        "curl -H 'Content-Type: application/json' -d '{\"question\": \"How many days of "
        "annual leave do I get?\"}' http://localhost:8000/ask"
    )
    router.add_api_route(
        ASK_ROUTE,
        ask,
        methods=["POST"],
        response_model=AskResponse,
        summary="Answer a question from the documents, with citations",
        description=f"`{example}`. The answer cites passages as [n]; `citations` maps each "
        "to its document, page and chunk. Below retrieval.abstain_below the answer says "
        "the documents do not answer, and `closest` lists what came nearest.",
        responses=ERROR_RESPONSES,
        openapi_extra=_body("AskRequest"),
    )
    router.add_api_route(
        STREAM_ROUTE,
        ask_stream,
        methods=["POST"],
        response_class=StreamingResponse,
        summary="Answer a question, streamed as server-sent events",
        description="The same body as `/ask`. Events: `sources` (the passages retrieved), "
        "`token` (pieces of the answer as it is written), `error` (the LLM failed: the "
        "offline answer follows), `done` (the whole answer, as `/ask` returns it).",
        responses={
            HTTPStatus.OK: {"content": {"text/event-stream": {"schema": EVENT}}},
            **ERROR_RESPONSES,
        },
        openapi_extra=_body("AskRequest"),
    )
    router.add_api_route(
        DOCUMENTS_ROUTE,
        documents,
        methods=["POST"],
        status_code=HTTPStatus.CREATED,
        response_model=DocumentResponse,
        summary="Add a document to the index",
        description="Upload one markdown, text, PDF or HTML file as a multipart form, in "
        "the field `file` (`curl -F file=@policy.md http://localhost:8000/documents`). It "
        "is kept in serving.uploads_dir and ingested: only its chunks are embedded.",
        responses={
            HTTPStatus.BAD_REQUEST: {
                "model": MessageResponse,
                "description": "The body says it is a multipart form but is not a well-formed one.",
            },
            HTTPStatus.UNPROCESSABLE_ENTITY: {
                "model": ERROR_RESPONSES[HTTPStatus.UNPROCESSABLE_ENTITY]["model"],
                "description": "The form lacks the field `file`, or it holds text, not a file.",
            },
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
                "model": MessageResponse,
                "description": "The file is over serving.max_document_bytes.",
            },
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE: {
                "model": MessageResponse,
                "description": "Not a multipart form, not a supported document type, or a "
                "file that holds no readable text.",
            },
            HTTPStatus.SERVICE_UNAVAILABLE: ERROR_RESPONSES[HTTPStatus.SERVICE_UNAVAILABLE],
        },
    )
    question_bytes = 4 * serving.max_question_chars + 4096  # UTF-8, and the JSON around it
    question_limit = "serving.max_question_chars, at 4 bytes a character, plus 4096"
    framing = f"plus {FORM_FRAMING_BYTES} bytes of form framing"
    return PredictionRoutes(
        router=router,
        body_models=(request_model,),
        worker=worker,
        body_limits={
            ASK_ROUTE: (question_bytes, question_limit),
            STREAM_ROUTE: (question_bytes, question_limit),
            DOCUMENTS_ROUTE: (
                serving.max_document_bytes + FORM_FRAMING_BYTES,
                f"serving.max_document_bytes, {framing}",
            ),
        },
    )
