"""The saved model of this project: its files, its metadata, and how to save and load them.

``train`` writes the model, and evaluation, drift, tracking, the service and the tests read
it, only through this module, so a new file or metadata field is added in one place. Each
model is a folder of its own under ``models/``, made current atomically (``model_dir``)::

    models/CURRENT         the version in use
    models/<version>/
      model.onnx           the network exported to ONNX: what the service runs (ONNX Runtime,
                           no PyTorch in the image)
      weights.pt           the PyTorch state dict: evaluation (Grad-CAM) and fine-tuning
      metadata.json        ``Metadata``: version, data hash, classes, input size and
                           normalisation, test metrics, the ONNX parity check
      reference.json       what the training images and predictions looked like (per-image
                           statistics, confidences, class mix): what drift compares new
                           images with

Checkpoints of a run in progress (``best.pt``, ``last.pt``) live in ``train.checkpoints_dir``,
not here: a model folder only ever holds a finished model.

Edit this module when the model gains a file or its metadata a field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .model_dir import (
    METADATA_FILE,
    ModelMetadata,
    current_dir,
    new_version,
    read_metadata,
    version_dir,
    write_json,
)
from .model_dir import write_metadata as _write_metadata

ONNX_FILE = "model.onnx"
WEIGHTS_FILE = "weights.pt"
REFERENCE_FILE = "reference.json"
FILES = (ONNX_FILE, WEIGHTS_FILE, METADATA_FILE, REFERENCE_FILE)
INPUT_NAME = "images"
OUTPUT_NAME = "logits"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Preprocessing(Record):
    """How an image becomes the network's input; the service applies exactly this."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class Parity(Record):
    """ONNX Runtime against PyTorch on real test images: the export is checked, not hoped."""

    images: int
    max_abs_diff: float
    tolerance: float


class Throughput(Record):
    """Images per second through the exported network (ONNX Runtime) and the PyTorch model it
    came from, measured once at export on the same batch, the same machine, one thread."""

    batch: int
    onnx_images_per_s: float
    torch_images_per_s: float

    @property
    def ratio(self) -> float:
        return self.onnx_images_per_s / self.torch_images_per_s


class Metadata(ModelMetadata):
    """``metadata.json`` of a vision model: the shared keys plus what this project adds."""

    classes: list[str]
    backbone: str
    preprocessing: Preprocessing
    parity: Parity
    epochs: int
    """Epochs trained (early stopping may end before ``train.epochs``)."""
    train_seconds: float
    throughput: Throughput | None = None
    weights: int | None = None
    """How many numbers the network learnt (its size; the ONNX file is about 4 bytes each)."""


@dataclass(frozen=True)
class SavedModel:
    metadata: Metadata
    directory: Path

    @property
    def onnx_path(self) -> Path:
        return self.directory / ONNX_FILE

    @property
    def weights_path(self) -> Path:
        return self.directory / WEIGHTS_FILE

    def reference(self) -> dict[str, Any]:
        loaded = json.loads((self.directory / REFERENCE_FILE).read_text(encoding="utf-8"))
        return dict(loaded)


def save(
    models_dir: Path,
    metadata: Metadata,
    reference: dict[str, Any],
    write_model: Any,
) -> Path:
    """Write a new model folder and make it current; return the folder.

    ``write_model(staging)`` writes ``model.onnx`` and ``weights.pt`` into the staging
    folder (``train`` and ``export`` know how); everything else is written here.
    """
    with new_version(models_dir, metadata.model_version) as staging:
        write_model(staging)
        for name in (ONNX_FILE, WEIGHTS_FILE):
            if not (staging / name).is_file():
                raise FileNotFoundError(f"the model writer did not write {name}")
        write_json(staging / REFERENCE_FILE, json.dumps(reference, allow_nan=False))
        _write_metadata(staging, metadata)
    return current_dir(models_dir)


def load_metadata(models_dir: Path) -> Metadata:
    """The current model's metadata."""
    return read_metadata(current_dir(models_dir), Metadata)


def load(models_dir: Path, version: str | None = None) -> SavedModel:
    """The current model's folder (or ``version``'s) and its metadata; raises with a
    readable message when it is unusable (``FileNotFoundError``, ``UnusableModelError``)."""
    directory = current_dir(models_dir) if version is None else version_dir(models_dir, version)
    metadata = read_metadata(directory, Metadata)
    for name in (ONNX_FILE, REFERENCE_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} not found; run `make train` first")
    return SavedModel(metadata=metadata, directory=directory)
