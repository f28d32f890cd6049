"""Classifying uploaded images, in the worker process each server process owns.

``routes/predict.py`` reads the uploads (bytes, within the byte cap) and hands them to the
worker process (``api.offload``) with the version of the model that serves. There
``answer`` decodes each image (``images.decode``), preprocesses them as training did,
runs the network and writes the reply. Decoding and inference are CPU work, and decoding is
where a hostile file does its harm: in the worker, neither blocks the server's event loop,
and a decoder crash costs one request (a 503), never the server.

This is the part of the service that is this project's own, with ``routes/predict.py``:
edit it to change what a prediction returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import numpy as np
from fastapi import HTTPException
from numpy.typing import NDArray

from ..config import Settings
from .errors import refusal_content
from .images import decode
from .model_store import WorkerModel, settle_heap
from .replies import Reply, to_json

Upload = tuple[str, bytes]
"""An uploaded file as the server read it: its display name and its content."""


def top_classes(
    probabilities: NDArray[np.float64], classes: Sequence[str], k: int
) -> list[dict[str, Any]]:
    """For each row, the prediction: the most probable class and the ``k`` most probable
    classes with their probabilities, most probable first (ties: the earlier class)."""
    k = min(k, len(classes))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    predictions = []
    for row, indices in zip(probabilities.tolist(), order.tolist(), strict=True):
        top_k = [{"label": classes[index], "probability": row[index]} for index in indices]
        predictions.append({"label": top_k[0]["label"], "top_k": top_k})
    return predictions


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


def answer(version: str, uploads: Sequence[Upload], batch: bool) -> Reply:
    """The reply to ``uploads``, classified by the model ``version``: one prediction
    (``batch`` false) or ``{"predictions": [...]}`` in upload order, each with its file name.
    A file that is not a readable image, or too large once decoded, refuses the request."""
    if _worker is None:
        raise RuntimeError("answer runs in the worker process started by start_worker")
    serving = _worker.settings.serving
    try:
        model = _worker.models.version(version)
        # One image at a time, decoded then reduced to the network's input at once: a batch
        # holds one full-size decoded image at most, not sixteen.
        inputs = np.concatenate(
            [
                model.prepare([decode(content, name, serving.max_image_pixels)])
                for name, content in uploads
            ]
        )
    except HTTPException as error:
        status, refusal = refusal_content(error)
        return Reply(status, to_json(refusal), {})
    probabilities = model.predict(inputs)
    predictions = top_classes(probabilities, model.classes, serving.top_k)
    counts = dict(Counter(prediction["label"] for prediction in predictions))
    if batch:
        named = [
            {"filename": name, **prediction}
            for (name, _), prediction in zip(uploads, predictions, strict=True)
        ]
        content = {"predictions": named, "model_version": model.version}
    else:
        content = {**predictions[0], "model_version": model.version}
    return Reply(HTTPStatus.OK, to_json(content), counts)
