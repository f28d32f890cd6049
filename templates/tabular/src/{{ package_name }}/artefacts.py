"""The saved model of this project: its files, its metadata, and how to save and load them.

``train`` writes the model, and evaluation, drift, tracking, the service and the tests read
it, only through this module, so a new file or metadata field is added in one place. Each
model is a folder of its own under ``models/``, made current atomically (``model_dir``)::

    models/CURRENT         the version in use
    models/<version>/
      model.joblib         the fitted scikit-learn Pipeline (preprocessing, then the estimator)
      metadata.json        ``Metadata``: version, data hash, every candidate's scores, the
                           chosen parameters, the test metrics and the features the API takes
      reference.json       the training split (features and target), column by column: what
                           drift compares new data with, and the rows on which the service
                           checks its fast path. JSON rather than Parquet: no pyarrow to serve.

The functions below take the models folder (``paths.models_dir``) and read the current model.

Edit this module when the model gains a file or its metadata a field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import joblib
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from .model_dir import (
    METADATA_FILE,
    ModelMetadata,
    UnusableModelError,
    current_dir,
    new_version,
    read_metadata,
    version_dir,
    write_json,
    write_metadata,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
REFERENCE_FILE = "reference.json"
FILES = (MODEL_FILE, METADATA_FILE, REFERENCE_FILE)

Columns = dict[str, list[Any]]
"""A table as one list of values per column; ``None`` marks a missing value."""


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class FeatureSchema(Record):
    """One input feature as training saw it: the API's request model is checked against it."""

    name: str
    kind: Literal["numeric", "categorical"]
    dtype: Literal["int", "float", "str", "bool"]
    nullable: bool
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None


class CandidateScore(Record):
    """One model family's tuned result: cross-validated on train, scored on validation."""

    name: str
    cv_score: float
    cv_std: float
    best_params: dict[str, Any]
    val_score: float


class ChosenModel(Record):
    name: str
    params: dict[str, Any]


class DecisionThreshold(Record):
    """Two classes: a row is labelled the positive (second) class when its probability
    reaches ``value``, chosen on the validation split for ``objective`` (``threshold.py``)."""

    value: float
    objective: str
    false_positive_cost: float | None = None
    false_negative_cost: float | None = None
    validation: dict[str, float]
    """Precision and recall of the positive class on validation at ``value``."""


class SearchRun(Record):
    """What the search took: rows per split, folds, fits and wall-clock time."""

    rows: dict[str, int]
    cv_folds: int
    fits: int
    seconds: float


def decide(probabilities: NDArray[np.float64], threshold: float | None) -> NDArray[np.intp]:
    """The column (class) each row is labelled with: with two classes and a threshold, the
    positive one from the threshold on; otherwise the most probable one."""
    if threshold is None or probabilities.shape[1] != 2:
        return np.asarray(probabilities.argmax(axis=1), dtype=np.intp)
    return np.asarray(probabilities[:, 1] >= threshold, dtype=np.intp)


class Metadata(ModelMetadata):
    """``metadata.json`` of a tabular model: the shared keys plus what this project adds."""

    task: Literal["classification", "regression"]
    target: str
    classes: list[str | int] | None = None
    candidates: list[CandidateScore]
    chosen: ChosenModel
    features: list[FeatureSchema]
    threshold: DecisionThreshold | None = None
    search: SearchRun | None = None

    def decide(self, probabilities: NDArray[np.float64]) -> NDArray[np.intp]:
        """The class column each row of ``predict_proba`` output is labelled with."""
        return decide(probabilities, self.threshold.value if self.threshold else None)

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def example_record(self) -> dict[str, Any]:
        """A typical record from the training data (one example value per feature)."""
        return {feature.name: feature.example for feature in self.features}


@dataclass(frozen=True)
class SavedModel:
    pipeline: Pipeline
    metadata: Metadata
    directory: Path


def as_columns(frame: pd.DataFrame) -> Columns:
    """``frame`` as plain lists per column, missing values as ``None`` (JSON ``null``)."""
    return {
        str(name): [None if pd.isna(value) else value for value in frame[name].tolist()]
        for name in frame.columns
    }


def save(models_dir: Path, pipeline: Pipeline, metadata: Metadata, reference: pd.DataFrame) -> Path:
    """Write a new model folder and make it current; return the folder."""
    with new_version(models_dir, metadata.model_version) as staging:
        joblib.dump(pipeline, staging / MODEL_FILE)
        save_reference(staging, reference)
        write_metadata(staging, metadata)
    return current_dir(models_dir)


def save_reference(directory: Path, reference: pd.DataFrame) -> Path:
    """The training rows the model was fitted on, for drift and the service's checks."""
    path = directory / REFERENCE_FILE
    write_json(path, json.dumps(as_columns(reference), allow_nan=False))
    return path


def load_metadata(models_dir: Path) -> Metadata:
    """The current model's metadata."""
    return read_metadata(current_dir(models_dir), Metadata)


def load(models_dir: Path, version: str | None = None) -> SavedModel:
    """The pipeline and metadata of the current model (or of ``version``); raises with a
    readable message when the folder is unusable (``FileNotFoundError``,
    ``UnusableModelError``)."""
    # Imported here: drift and evaluation read the metadata without needing a Pipeline.
    from sklearn.pipeline import Pipeline

    directory = current_dir(models_dir) if version is None else version_dir(models_dir, version)
    metadata = read_metadata(directory, Metadata)
    path = directory / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `make train` first")
    # joblib unpickles: only ever load models this project trained (never uploaded files).
    pipeline = joblib.load(path)
    if not isinstance(pipeline, Pipeline):
        raise UnusableModelError(
            f"{path} holds a {type(pipeline).__name__}, not a scikit-learn Pipeline"
        )
    return SavedModel(pipeline=pipeline, metadata=metadata, directory=directory)


def load_reference(models_dir: Path) -> Columns:
    """The training split saved with the current model, one list of values per column."""
    return read_reference(current_dir(models_dir))


def read_reference(directory: Path) -> Columns:
    """The training split saved in the model folder ``directory``."""
    path = directory / REFERENCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `make train` first")
    try:
        columns = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        message = f"{path} is not valid JSON ({error}); run `make train` again"
        raise UnusableModelError(message) from None
    lists = isinstance(columns, dict) and all(isinstance(v, list) for v in columns.values())
    if not lists or len({len(values) for values in columns.values()}) != 1:
        raise UnusableModelError(f"{path} is not a table of equal columns; run `make train` again")
    return {str(name): values for name, values in columns.items()}
