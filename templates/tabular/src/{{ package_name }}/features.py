"""Feature preprocessing: one ColumnTransformer, built from the column lists in the config.

It is the first step of every model pipeline, so it is fitted on the training split only
(inside cross-validation, on each training fold only) and saved and served with the model.

Edit this file to engineer features: a new step here is fitted, saved and served with the
model. (The service replays the common steps in numpy for speed and checks the replay
against scikit-learn when it loads; a step it does not know simply runs in scikit-learn.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    StandardScaler,
)

from .config import Settings


def as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """True/False (possibly with gaps) as 1.0/0.0/NaN; SimpleImputer refuses bool dtype."""
    return frame.astype(float)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with NaN for every kind of missing (None from JSON, pd.NA from Parquet)."""
    return frame.astype(object).where(frame.notna(), np.nan)


def build_preprocessor(settings: Settings) -> ColumnTransformer:
    """Impute and scale numbers, impute booleans, one-hot encode categories.

    Missing categories become their own "missing" level rather than the most frequent
    value: whether a customer skipped a field is itself informative. Categories unseen in
    training are ignored (all-zero one-hot) so the service never fails on a new value.
    """
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    boolean = Pipeline(
        [
            ("to_float", FunctionTransformer(as_float, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent")),
        ]
    )
    categorical = Pipeline(
        [
            ("to_text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    transformers: list[tuple[str, Any, list[str]]] = [
        (name, pipeline, columns)
        for name, pipeline, columns in [
            ("numeric", numeric, settings.data.numeric),
            ("boolean", boolean, settings.data.boolean),
            ("categorical", categorical, settings.data.categorical),
        ]
        if columns
    ]
    # Dense output: HistGradientBoosting needs it, and one-hot widths here are small.
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
