"""Scoring records with the saved model: loaded once, checked, and made fast.

``load_predictor`` reads the model through ``artefacts`` and refuses one that cannot serve
this config (trained for another task, or on other features), with the reason, which the
service reports on ``/ready``. It then compiles the fast path: the fitted preprocessing and
estimator replayed in numpy (``fast_path``). The replay is used only for the parts whose
output equals scikit-learn's on the training reference rows, checked here at every load;
``serving.fast_path: false`` turns it off and every prediction goes through scikit-learn.
Finally the model must score a valid record, or it is not served.

This is the part of the service that is this project's own. Edit it when the model's
input changes shape; the routes are in ``routes/predict.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray
from sklearn.pipeline import Pipeline

from .. import artefacts
from ..artefacts import FeatureSchema, Metadata
from ..config import ColumnSpec, Settings
from ..model_dir import UnusableModelError
from .fast_path import Estimate, Preprocessor, compile_estimator, compile_preprocessor
from .payloads import example_from_columns

CHECK_CHUNK_ROWS = 16
CHECK_REFERENCE_ROWS = 500

logger = logging.getLogger(__name__)


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
class Predictor:
    """A fitted pipeline with its metadata; everything a prediction needs, computed once."""

    pipeline: Pipeline
    metadata: Metadata
    fast_preprocess: Preprocessor | None = None
    """The preprocessing replayed in numpy (see ``fast_path``), when it checked out."""
    fast_estimator: Estimate | None = None
    """The estimator replayed in numpy, when the preprocessing is too and it checked out."""

    @property
    def version(self) -> str:
        return self.metadata.model_version

    @property
    def feature_names(self) -> list[str]:
        return self.metadata.feature_names

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


def with_fast_path(model: Predictor, check_rows: Mapping[str, Sequence[Any]]) -> Predictor:
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


def check_rows(settings: Settings, directory: Path) -> dict[str, list[Any]]:
    """Rows to check the fast path on: the model folder's training reference rows (when
    readable) plus a record with every nullable feature missing, for the imputers."""
    columns = settings.data.columns
    example = example_from_columns(columns)
    sparse = {name: None if spec.nullable else example[name] for name, spec in columns.items()}
    rows = {name: [example[name], sparse[name]] for name in columns}
    try:
        reference = artefacts.read_reference(directory)
    except (FileNotFoundError, UnusableModelError) as error:
        # An unreadable reference only narrows the check; it never stops the service.
        logger.warning("fast path checked without reference rows (%s)", error)
        return rows
    for name in columns:
        rows[name].extend(reference.get(name, [])[:CHECK_REFERENCE_ROWS])
    return rows


def _smoke_test(model: Predictor, settings: Settings) -> None:
    # The config-derived record is valid by construction, whatever metadata's examples are.
    record = example_from_columns(settings.data.columns)
    columns = {name: [value] for name, value in record.items()}
    if settings.task == "classification":
        model.predict_proba(columns)
    else:
        model.predict_value(columns)


def load_predictor(settings: Settings, version: str | None = None) -> Predictor:
    """The current saved model (or ``version``), checked against the config and ready to
    score; raises with the reason when it cannot serve (``UnusableModelError``,
    ``FileNotFoundError``)."""
    saved = artefacts.load(settings.paths.models_dir, version)
    metadata = saved.metadata
    if metadata.task != settings.task:
        raise UnusableModelError(
            f"the model was trained for {metadata.task}, the config says {settings.task}"
        )
    problems = feature_mismatches(metadata.features, settings.data.columns)
    if problems:
        raise UnusableModelError(
            "the model's features do not match configs/pipeline.yaml: " + "; ".join(problems)
        )
    model = Predictor(pipeline=saved.pipeline, metadata=metadata)
    if settings.serving.fast_path:
        model = with_fast_path(model, check_rows(settings, saved.directory))
    try:
        _smoke_test(model, settings)
    except Exception as error:  # a model that cannot score its own example is not ready
        raise UnusableModelError(f"the model failed to score an example record: {error}") from None
    logger.info(
        "predictor ready",
        extra={
            "fast_preprocess": model.fast_preprocess is not None,
            "fast_estimator": model.fast_estimator is not None,
        },
    )
    return model
