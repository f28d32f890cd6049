"""The index the service answers from: one version's chunks, vectors and encoder.

``load_predictor`` reads the current index version through ``artefacts`` and checks it
before it serves: its files must agree with its metadata (as many vectors as chunks, of
the size the encoder makes), and a question must come back with a finite similarity (with
``QDRANT_URL`` set, that also proves the server answers). Each refusal says why, and the
service reports it on ``/ready``.

Serving needs no PyTorch: questions are embedded by the exported encoder (ONNX Runtime).
The vectors are searched in an in-memory Qdrant collection of this process, or on the
Qdrant server when one is configured (``retrieval.open_index``).

This is the part of the service that is this project's own; the routes are
``routes/predict.py``, the work done in the worker process ``scoring.py``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from .. import artefacts
from ..artefacts import Metadata
from ..config import Settings
from ..model_dir import UnusableModelError
from ..retrieval import Retriever, open_index

logger = logging.getLogger(__name__)

SMOKE_QUESTION = "Where is this written?"


@dataclass(frozen=True)
class Predictor:
    """A retriever over one index version, with its metadata."""

    retriever: Retriever
    metadata: Metadata

    @property
    def version(self) -> str:
        return self.metadata.model_version


def load_predictor(settings: Settings, version: str | None = None) -> Predictor:
    """The current index version (or ``version``), checked and ready to retrieve from;
    raises with the reason when it cannot serve (``UnusableModelError``,
    ``FileNotFoundError``)."""
    saved = artefacts.load(settings.paths.models_dir, version)
    try:
        retriever = open_index(settings, saved)
        found = retriever.retrieve(SMOKE_QUESTION, top_k=1)
    except UnusableModelError:
        raise
    except Exception as error:  # a corrupt file, an unreachable Qdrant server: say which
        raise UnusableModelError(
            f"the index in {saved.directory} cannot serve ({type(error).__name__}: {error})"
        ) from None
    if not found.hits or not math.isfinite(found.best_similarity):
        raise UnusableModelError(
            f"the index in {saved.directory} returned no passage for a test question; run "
            "`make ingest` again"
        )
    logger.info(
        "index ready",
        extra={"chunks": saved.metadata.chunks, "store": settings.store.url or "in memory"},
    )
    return Predictor(retriever=retriever, metadata=saved.metadata)
