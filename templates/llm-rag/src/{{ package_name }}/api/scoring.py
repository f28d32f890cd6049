"""The CPU work of the service, in the worker process each server process owns.

``retrieve`` embeds a question (ONNX Runtime) and searches the index; ``add_document``
checks an uploaded file, keeps it in ``serving.uploads_dir`` and runs an incremental
ingest (only the new document's chunks are embedded) that makes a new index version
current. In the worker, neither blocks the server's event loop. Writing the answer is
not CPU work (an LLM call waits on the network; the extractive answerer takes
milliseconds): the routes do it (``answering.compose``).

This is the part of the service that is this project's own, with ``routes/predict.py``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from fastapi import HTTPException

from ..answer import Passage
from ..answering import passages_of
from ..config import Mode, Settings
from ..loaders import LoadError, load
from .model_store import WorkerModel, settle_heap


@dataclass(frozen=True)
class Found:
    """What retrieval hands back to the route."""

    passages: list[Passage]
    abstained: bool
    best_similarity: float
    seconds: float
    mode: Mode


@dataclass(frozen=True)
class Refusal:
    """A request the worker refused: the route answers with this status and detail
    (exceptions are not sent back from the worker: they would not survive pickling)."""

    status: int
    detail: str


@dataclass(frozen=True)
class Added:
    source: str
    chunks: int
    embedded: int
    model_version: str


# --- in the worker process ------------------------------------------------------------------


class _Worker:
    """What every request needs, built once when the worker process starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.models = WorkerModel(settings)


_worker: _Worker | None = None


def start_worker(settings: Settings) -> None:
    """Runs once as the worker process starts (``api.offload``)."""
    global _worker
    _worker = _Worker(settings)
    settle_heap()


def _state() -> _Worker:
    if _worker is None:
        raise RuntimeError("this runs in the worker process started by start_worker")
    return _worker


def retrieve(
    version: str, question: str, mode: Mode | None, top_k: int | None, sources: list[str] | None
) -> Found | Refusal:
    """The passages for ``question`` from the index ``version``."""
    try:
        model = _state().models.version(version)
    except HTTPException as error:
        return Refusal(error.status_code, str(error.detail))
    found = model.retriever.retrieve(question, mode=mode, top_k=top_k, sources=sources)
    return Found(
        passages=passages_of(found),
        abstained=found.abstained,
        best_similarity=found.best_similarity,
        seconds=found.seconds,
        mode=found.mode,
    )


def add_document(name: str, content: bytes) -> Added | Refusal:
    """Keep the uploaded document and add it to a new current index version."""
    from ..ingest import UPLOADS_PREFIX, IngestError
    from ..uploads import add_documents

    settings = _state().settings
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / name
        trial.write_bytes(content)
        try:
            load(trial, root=Path(scratch))
        except LoadError as error:
            return Refusal(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"{name} is not a document the service reads ({error.reason})",
            )
    target = settings.serving.uploads_dir / name
    previous = target.read_bytes() if target.is_file() else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        result = add_documents(settings, [target])
    except (IngestError, LoadError, ValueError, OSError) as error:
        # Nothing half-done: the file goes (or its previous content comes back).
        if previous is None:
            target.unlink(missing_ok=True)
        elif target.is_file():
            target.write_bytes(previous)
        return Refusal(HTTPStatus.SERVICE_UNAVAILABLE, f"{name} was not added: {error}")
    source = UPLOADS_PREFIX + name
    entry = next(item for item in result.metadata.documents if item.source == source)
    return Added(
        source=source,
        chunks=entry.chunks,
        embedded=result.metadata.ingest.embedded,
        model_version=result.metadata.model_version,
    )
