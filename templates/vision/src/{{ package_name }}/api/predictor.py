"""Classifying images with the saved model: the ONNX export, run by ONNX Runtime.

``load_predictor`` reads the current model through ``artefacts`` and checks it before it
serves: the network must take one batch of RGB images of the size its metadata states, and
give one logit per class its metadata names; when ``data.classes`` is configured, the model
must know exactly those classes (a model trained on other data would answer with labels the
project does not have). Then it must classify a batch of blank images, or it is not served. Each
refusal says why, and the service reports it on ``/ready``.

Serving needs no PyTorch: the image installs ONNX Runtime only, and nothing under ``api/``
imports torch (a test checks). The session runs on one CPU thread: a request holds a few
images, where more threads cost more in start-up and contention than they save; the service
scales out with processes instead (``serving.workers``, and one worker process each).

This is the part of the service that is this project's own. Edit it when the model's input
or output changes shape; decoding uploads is ``images.py``, the routes ``routes/predict.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image

from .. import artefacts, transforms
from ..artefacts import INPUT_NAME, OUTPUT_NAME, Metadata
from ..config import Settings
from ..model_dir import UnusableModelError

logger = logging.getLogger(__name__)

CHANNELS = 3


def session_options() -> ort.SessionOptions:
    """One thread per session, no busy-waiting, and only errors in the log."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


def softmax(logits: NDArray[np.floating]) -> NDArray[np.float64]:
    """Probabilities from logits, row by row (shifted by the row maximum: no overflow)."""
    values = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    probabilities: NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


@dataclass(frozen=True)
class Predictor:
    """An ONNX Runtime session with its model's metadata: all a prediction needs."""

    session: ort.InferenceSession
    metadata: Metadata

    @property
    def version(self) -> str:
        return self.metadata.model_version

    @property
    def classes(self) -> list[str]:
        return self.metadata.classes

    def prepare(self, images: Sequence[Image.Image]) -> NDArray[np.float32]:
        """The network's input for ``images``: resized and normalised exactly as in training
        and evaluation (``transforms.batch``, with the values saved in the metadata)."""
        preprocessing = self.metadata.preprocessing
        return transforms.batch(
            images, preprocessing.image_size, mean=preprocessing.mean, std=preprocessing.std
        )

    def predict(self, images: NDArray[np.floating]) -> NDArray[np.float64]:
        """One row of class probabilities per image of ``images`` (N, 3, size, size), in
        the order of ``classes``; each row sums to 1."""
        size = self.metadata.preprocessing.image_size
        batch = np.ascontiguousarray(images, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (CHANNELS, size, size):
            raise ValueError(
                f"expected images of shape (N, {CHANNELS}, {size}, {size}), got {batch.shape}"
            )
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        return softmax(np.asarray(logits))


def _open_session(saved: artefacts.SavedModel) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(
            str(saved.onnx_path), session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # ONNX Runtime raises its own types for corrupt files
        raise UnusableModelError(
            f"{saved.onnx_path} cannot be loaded by ONNX Runtime ({error}); run `make train` again"
        ) from None


def _fixed(dimension: object) -> int | None:
    """A dimension of an ONNX shape as a number; None when it is named (e.g. the batch)."""
    return dimension if isinstance(dimension, int) else None


def signature_problems(session: ort.InferenceSession, metadata: Metadata) -> list[str]:
    """Where the network's input and output disagree with its metadata (empty: they agree)."""
    size = metadata.preprocessing.image_size
    problems: list[str] = []
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name: node for node in session.get_outputs()}
    if list(inputs) != [INPUT_NAME]:
        problems.append(f"the network's inputs are {list(inputs)}, expected [{INPUT_NAME!r}]")
    else:
        node = inputs[INPUT_NAME]
        expected = (CHANNELS, size, size)
        shape = list(node.shape)
        if len(shape) != 4 or any(
            _fixed(found) not in (None, wanted)
            for found, wanted in zip(shape[1:], expected, strict=True)
        ):
            problems.append(
                f"input {INPUT_NAME!r} has shape {shape}, expected [batch, {CHANNELS}, "
                f"{size}, {size}] (preprocessing.image_size in metadata.json)"
            )
        elif _fixed(shape[0]) is not None:
            problems.append(
                f"input {INPUT_NAME!r} takes exactly {shape[0]} image(s) per call; export the "
                "network with a dynamic batch axis (export.to_onnx does)"
            )
        if node.type != "tensor(float)":
            problems.append(f"input {INPUT_NAME!r} is {node.type}, expected tensor(float)")
    if OUTPUT_NAME not in outputs:
        problems.append(f"the network has no output {OUTPUT_NAME!r} (it has {list(outputs)})")
    else:
        shape = list(outputs[OUTPUT_NAME].shape)
        if len(shape) != 2 or _fixed(shape[1]) not in (None, len(metadata.classes)):
            problems.append(
                f"output {OUTPUT_NAME!r} has shape {shape}, expected [batch, "
                f"{len(metadata.classes)}]: one logit per class in metadata.json"
            )
    return problems


def _smoke_test(model: Predictor) -> None:
    """Two blank images (a batch) must come back as finite rows of class probabilities."""
    size = model.metadata.preprocessing.image_size
    blank = Image.new("RGB", (size, size))
    probabilities = model.predict(model.prepare([blank, blank]))
    if probabilities.shape != (2, len(model.classes)):
        raise ValueError(
            f"probabilities of shape {probabilities.shape} for 2 images and "
            f"{len(model.classes)} classes in metadata.json"
        )
    if not np.isfinite(probabilities).all():
        raise ValueError("the probabilities are not finite numbers")


def load_predictor(settings: Settings, version: str | None = None) -> Predictor:
    """The current saved model (or ``version``), checked and ready to classify; raises with
    the reason when it cannot serve (``UnusableModelError``, ``FileNotFoundError``)."""
    saved = artefacts.load(settings.paths.models_dir, version)
    metadata = saved.metadata
    configured = settings.data.classes
    if configured is not None and configured != metadata.classes:
        raise UnusableModelError(
            f"the model knows the classes {metadata.classes}, configs/pipeline.yaml says "
            f"data.classes {configured}; run `make train` on the configured data"
        )
    session = _open_session(saved)
    problems = signature_problems(session, metadata)
    if problems:
        raise UnusableModelError(
            f"{saved.onnx_path} does not fit its metadata: " + "; ".join(problems)
        )
    model = Predictor(session=session, metadata=metadata)
    try:
        _smoke_test(model)
    except Exception as error:  # a model that cannot classify blank images is not ready
        raise UnusableModelError(f"the model failed to classify blank images: {error}") from None
    logger.info(
        "predictor ready",
        extra={"classes": len(metadata.classes), "image_size": metadata.preprocessing.image_size},
    )
    return model
