"""Scoring validated records; and a whole batch, from its raw body, in the worker process.

``routes/predict.py`` scores one record on the event loop (a tenth of a millisecond: less
than any hand-off would cost) and hands each batch, still raw bytes, to the server's worker
process (``api.offload``). There ``answer_batch`` validates it, scores it with the model
version the server named, and writes the reply, so the server's own process only moves
bytes and keeps answering other requests meanwhile.

This is the part of the service that is this project's own, with ``routes/predict.py``:
edit it to change what a prediction returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from threadpoolctl import threadpool_limits

from ..config import Settings, Task
from .errors import refusal_content, validate_json
from .model_store import WorkerModel, settle_heap
from .payloads import RecordExample, build_batch_model, build_record_model
from .predictor import Predictor
from .replies import Counts, Reply, to_json

Predictions = list[dict[str, Any]]
Score = Callable[[Predictor, Sequence[BaseModel]], tuple[Predictions, Counts]]


def _columns(records: Sequence[BaseModel], names: list[str]) -> dict[str, list[Any]]:
    """Column lists straight from the validated records: one DataFrame per request, no dicts."""
    return {name: [getattr(record, name) for record in records] for name in names}


def classify(model: Predictor, records: Sequence[BaseModel]) -> tuple[Predictions, Counts]:
    """The class each record is labelled with (the most probable, or with two classes the
    positive one from the saved decision threshold on) and every class's probability."""
    labels, probabilities = model.predict_proba(_columns(records, model.feature_names))
    keys = [str(label) for label in labels]
    best = model.metadata.decide(probabilities).tolist()
    predictions = [
        {"label": labels[index], "probabilities": dict(zip(keys, row, strict=True))}
        for index, row in zip(best, probabilities.tolist(), strict=True)
    ]
    return predictions, {keys[index]: count for index, count in Counter(best).items()}


def regress(model: Predictor, records: Sequence[BaseModel]) -> tuple[Predictions, Counts]:
    """The predicted value for each record."""
    values = model.predict_value(_columns(records, model.feature_names)).tolist()
    return [{"value": value} for value in values], {"value": len(values)}


def scorer(task: Task) -> Score:
    return classify if task == "classification" else regress


# --- in the worker process ------------------------------------------------------------------


class _Worker:
    """What every batch needs, built once when the worker process starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        example = RecordExample(settings.data.columns, lambda: None)
        record_model = build_record_model(settings.data.columns, example)
        self.batch_model = build_batch_model(
            record_model, settings.serving.max_batch_records, example
        )
        self.score = scorer(settings.task)
        self.models = WorkerModel(settings)


_worker: _Worker | None = None


def start_worker(settings: Settings) -> None:
    """Runs once as the worker process starts (``api.offload``)."""
    global _worker
    threadpool_limits(limits=1)  # one native thread, as in the server (see api.main)
    _worker = _Worker(settings)
    settle_heap()


def answer_batch(version: str, body: bytes) -> Reply:
    """The reply to a ``/predict/batch`` body, scored by the model ``version``."""
    if _worker is None:
        raise RuntimeError("answer_batch runs in the worker process started by start_worker")
    try:
        # Any: the batch model is built at runtime from the config; mypy cannot see .records
        batch: Any = validate_json(body, _worker.batch_model)
        model = _worker.models.version(version)
    except (RequestValidationError, HTTPException) as error:
        status, refusal = refusal_content(error)
        return Reply(status, to_json(refusal), {})
    predictions, counts = _worker.score(model, batch.records)
    content = to_json({"predictions": predictions, "model_version": model.version})
    return Reply(HTTPStatus.OK, content, counts)
