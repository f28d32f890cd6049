"""Load the trained model and its metadata once, and score records with it.

A fresh clone has no model until ``make train``, and the service must still start (its
``/health`` answers, its ``/ready`` explains): loading never raises. A missing file, a
corrupt artefact, or a model whose features disagree with ``configs/pipeline.yaml`` leaves
the store empty with the reason, which ``/ready`` reports as a 503.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError
from sklearn.pipeline import Pipeline

from ..config import ColumnSpec, Settings
from .fast_path import Estimate, Preprocessor, compile_estimator, compile_preprocessor
from .schemas import example_from_columns

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
REFERENCE_FILE = "reference.parquet"
CHECK_CHUNK_ROWS = 16

logger = logging.getLogger(__name__)


class FeatureSchema(BaseModel):
    """One input feature as recorded by training (``metadata.json`` → ``features``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    dtype: Literal["int", "float", "str", "bool"]
    nullable: bool
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None


class ModelMetadata(BaseModel):
    """The part of ``metadata.json`` the service relies on; other keys are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    model_version: str
    trained_at: str
    task: Literal["classification", "regression"]
    target: str
    classes: list[str | int] | None = None
    primary_metric: str
    test_metrics: dict[str, float]
    features: list[FeatureSchema]


class ModelNotReadyError(RuntimeError):
    """Raised when a prediction is asked of a store that holds no model."""


def feature_mismatches(
    features: Sequence[FeatureSchema], columns: Mapping[str, ColumnSpec]
) -> list[str]:
    """Where the trained model's features disagree with the configured columns (empty: agree)."""
    problems: list[str] = []
    trained = {feature.name: feature for feature in features}
    if missing := sorted(set(columns) - set(trained)):
        problems.append(f"configured but not in the model: {', '.join(missing)}")
    if extra := sorted(set(trained) - set(columns)):
        problems.append(f"in the model but not configured: {', '.join(extra)}")
    for name, spec in columns.items():
        feature = trained.get(name)
        if feature is None:
            continue
        if feature.dtype != spec.dtype:
            problems.append(f"{name}: dtype {feature.dtype} in the model, {spec.dtype} in config")
        if feature.nullable != spec.nullable:
            problems.append(
                f"{name}: nullable={feature.nullable} in the model, {spec.nullable} in config"
            )
        # Without configured categories any text is accepted (unseen values are the
        # encoder's job), so only configured category lists must agree.
        if spec.categories is not None and sorted(feature.categories or []) != sorted(
            spec.categories
        ):
            problems.append(f"{name}: categories differ between the model and config")
    return problems


def _column_array(values: Sequence[Any], feature: FeatureSchema) -> NDArray[Any]:
    """One column as the dtype training saw: missing numbers are NaN, missing labels NaN too."""
    if feature.dtype == "float" or (feature.dtype == "int" and feature.nullable):
        return np.asarray(values, dtype=np.float64)  # None becomes NaN
    if feature.dtype == "int":
        return np.asarray(values, dtype=np.int64)
    if feature.dtype == "bool" and not feature.nullable:
        return np.asarray(values, dtype=np.bool_)
    # Strings (and nullable booleans): object column, with NaN, not None, as the missing
    # marker, because that is what sklearn's imputers recognise.
    return np.asarray([np.nan if value is None else value for value in values], dtype=object)


@dataclass(frozen=True)
class LoadedModel:
    """A fitted pipeline with its metadata; everything a prediction needs, computed once."""

    pipeline: Pipeline
    metadata: ModelMetadata
    fast_preprocess: Preprocessor | None = None
    """The preprocessing replayed in numpy (see ``fast_path``), when it checked out."""
    fast_estimator: Estimate | None = None
    """The estimator replayed in numpy, when the preprocessing is too and it checked out."""

    @property
    def version(self) -> str:
        return self.metadata.model_version

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.metadata.features]

    def example_record(self) -> dict[str, Any]:
        """The realistic record training stored in the metadata (may need validating)."""
        return {feature.name: feature.example for feature in self.metadata.features}

    def arrays(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, NDArray[Any]]:
        """One array per feature, in training column order and with training's dtypes."""
        return {
            feature.name: _column_array(columns[feature.name], feature)
            for feature in self.metadata.features
        }

    def frame(self, columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
        """A DataFrame built column-wise (no per-row dicts), as the pipeline was fitted on."""
        return pd.DataFrame(self.arrays(columns), copy=False)

    def _call(self, method: str, columns: Mapping[str, Sequence[Any]]) -> Any:
        """``predict_proba`` (classification) or ``predict`` (regression) of the pipeline."""
        # Inputs were validated finite by the request models, so sklearn's own finiteness
        # scan of every array is skipped; NaN still marks missing values for the imputers.
        if self.fast_preprocess is not None and self.fast_estimator is not None:
            return self.fast_estimator(self.fast_preprocess(self.arrays(columns)))
        with sklearn.config_context(assume_finite=True):
            if self.fast_preprocess is None:
                return getattr(self.pipeline, method)(self.frame(columns))
            features = self.fast_preprocess(self.arrays(columns))
            return getattr(self.pipeline.steps[-1][1], method)(features)

    def predict_proba(
        self, columns: Mapping[str, Sequence[Any]]
    ) -> tuple[list[str | int], NDArray[np.float64]]:
        """Class labels (in column order) and one row of probabilities per record."""
        probabilities = self._call("predict_proba", columns)
        labels: list[str | int] = np.asarray(self.pipeline.classes_).tolist()
        return labels, np.asarray(probabilities, dtype=np.float64)

    def predict_value(self, columns: Mapping[str, Sequence[Any]]) -> NDArray[np.float64]:
        return np.asarray(self._call("predict", columns), dtype=np.float64)


def with_fast_path(model: LoadedModel, check_rows: Mapping[str, Sequence[Any]]) -> LoadedModel:
    """``model`` with its pipeline replayed in numpy wherever that reproduces sklearn's output
    on ``check_rows``; the parts that do not are left to sklearn."""
    steps = model.pipeline.steps
    if len(steps) != 2 or hasattr(steps[-1][1], "feature_names_in_"):
        return model
    preprocessor, estimator = steps[0][1], steps[-1][1]
    compiled = compile_preprocessor(preprocessor)
    if compiled is None:
        logger.info("preprocessing has steps the fast path does not know; using sklearn")
        return model
    method = "predict_proba" if model.metadata.task == "classification" else "predict"
    try:
        with sklearn.config_context(assume_finite=True):
            expected = np.asarray(preprocessor.transform(model.frame(check_rows)), dtype=float)
            features = compiled(model.arrays(check_rows))
            if not _same(features, expected, rtol=1e-12):
                logger.warning("fast preprocessing differs from sklearn's; using sklearn")
                return model
            fast = replace(model, fast_preprocess=compiled)
            replayed = compile_estimator(estimator)
            # Checked a few rows at a time, the way requests arrive: some replays only
            # take over below a batch size (see fast_path.BOOSTING_REPLAY_MAX_ROWS).
            chunks = np.array_split(features, max(1, len(features) // CHECK_CHUNK_ROWS))
            if replayed is not None and _same(
                np.concatenate([replayed(chunk) for chunk in chunks]),
                getattr(estimator, method)(features),
                rtol=1e-9,
            ):
                fast = replace(fast, fast_estimator=replayed)
    except Exception as error:  # the fast path is an optimisation: never fail a load on it
        logger.warning("fast path failed its check (%s); using sklearn", error)
        return model
    return fast


def _same(actual: Any, expected: Any, rtol: float) -> bool:
    actual, expected = np.asarray(actual), np.asarray(expected)
    return actual.shape == expected.shape and bool(
        np.allclose(actual, expected, rtol=rtol, atol=1e-12)
    )


def check_rows(
    model_dir: Path, columns: Mapping[str, ColumnSpec], limit: int = 500
) -> dict[str, list[Any]]:
    """Rows to check the fast path on: training reference rows (when saved) plus a record
    with every nullable feature missing, so the imputers are exercised too."""
    example = example_from_columns(columns)
    sparse = {name: None if spec.nullable else example[name] for name, spec in columns.items()}
    rows = {name: [example[name], sparse[name]] for name in columns}
    reference_path = model_dir / REFERENCE_FILE
    if reference_path.is_file():
        reference = pd.read_parquet(reference_path, columns=list(columns)).head(limit)
        for name in columns:
            rows[name].extend(reference[name].tolist())
    return rows


def read_model(model_dir: Path) -> LoadedModel:
    """Read ``model.joblib`` and ``metadata.json``; raises with a readable message on failure."""
    model_path, metadata_path = model_dir / MODEL_FILE, model_dir / METADATA_FILE
    for path in (model_path, metadata_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `make train` first")
    try:
        metadata = ModelMetadata.model_validate(json.loads(metadata_path.read_text("utf-8")))
    except (ValueError, ValidationError) as error:
        raise ValueError(f"{metadata_path} is not valid model metadata: {error}") from error
    # joblib unpickles: only ever load models this project trained (never uploaded files).
    pipeline = joblib.load(model_path)
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"{model_path} holds a {type(pipeline).__name__}, not an sklearn Pipeline")
    return LoadedModel(pipeline=pipeline, metadata=metadata)


class ModelStore:
    """Holds at most one loaded model for the app's lifetime, or the reason there is none."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: LoadedModel | None = None
        self.reason = "the model has not been loaded yet"

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def model_dir(self) -> Path:
        return self.settings.serving_model_dir

    def load(self) -> bool:
        """Load the model from ``settings.serving_model_dir``; False (and a reason) if unusable."""
        try:
            model = read_model(self.model_dir)
        except Exception as error:  # the service must stay up and say why it is not ready
            return self._fail(f"{type(error).__name__}: {error}")
        if model.metadata.task != self.settings.task:
            return self._fail(
                f"the model was trained for {model.metadata.task}, the config says "
                f"{self.settings.task}"
            )
        problems = feature_mismatches(model.metadata.features, self.settings.data.columns)
        if problems:
            return self._fail(
                "the model's features do not match configs/pipeline.yaml: " + "; ".join(problems)
            )
        try:
            rows = check_rows(self.model_dir, self.settings.data.columns)
        except Exception as error:  # an unreadable reference only costs the fast path
            logger.warning("cannot read rows to check the fast path on (%s); using sklearn", error)
        else:
            model = with_fast_path(model, rows)
        try:
            self._smoke_test(model)
        except Exception as error:  # a model that cannot score its own example is not ready
            return self._fail(f"the model failed to score its example record: {error}")
        self._model = model
        self.reason = ""
        logger.info(
            "model loaded",
            extra={
                "model_version": model.version,
                "model_dir": str(self.model_dir),
                "fast_preprocess": model.fast_preprocess is not None,
                "fast_estimator": model.fast_estimator is not None,
            },
        )
        return True

    def _smoke_test(self, model: LoadedModel) -> None:
        # The config-derived record is valid by construction, whatever metadata's examples are.
        record = example_from_columns(self.settings.data.columns)
        columns = {name: [value] for name, value in record.items()}
        if self.settings.task == "classification":
            model.predict_proba(columns)
        else:
            model.predict_value(columns)

    def _fail(self, reason: str) -> bool:
        self._model = None
        self.reason = reason
        logger.warning(
            "model not loaded", extra={"reason": reason, "model_dir": str(self.model_dir)}
        )
        return False

    def require(self) -> LoadedModel:
        """The loaded model, or ``ModelNotReadyError`` carrying the reason."""
        if self._model is None:
            raise ModelNotReadyError(self.reason)
        return self._model
