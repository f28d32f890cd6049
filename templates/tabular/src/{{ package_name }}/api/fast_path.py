"""Replay the fitted pipeline with plain numpy, for low-latency serving.

Calling a fitted sklearn ``Pipeline`` costs milliseconds per call whatever the number of
rows: every step re-checks its input, indexes pandas columns, looks up feature names, and a
random forest dispatches each tree through joblib. For one record that overhead is nearly
all of the prediction time, while the fitted steps themselves are a few array operations
(fill the gaps, subtract the mean, divide by the scale, look up a category, a dot product,
a walk down each tree). At load time the service compiles the fitted preprocessing and
the common estimators into exactly those operations, and checks on real rows that the
result equals sklearn's. If a step is unknown (you added a new transformer or model) or
the check fails, the service keeps calling sklearn for that part: slower, never wrong.
``serving.fast_path: false`` in the config turns the replay off altogether.

Service machinery: you rarely need to change it, even when you add features or models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    StandardScaler,
)

from ..features import as_float, as_text

Step = Callable[[NDArray[Any]], NDArray[Any]]
Columns = Mapping[str, NDArray[Any]]
Preprocessor = Callable[[Columns], NDArray[np.float64]]
Estimate = Callable[[NDArray[np.float64]], NDArray[np.float64]]
"""Feature matrix -> class probabilities (classifiers) or predicted values (regressors)."""


def _function_step(step: FunctionTransformer) -> Step | None:
    if step.func is None:
        return lambda values: values
    if step.func is as_float:
        return lambda values: values.astype(np.float64)
    if step.func is as_text:
        # Service inputs already hold text as objects with NaN for missing values.
        return lambda values: values.astype(object)
    return None


def _impute_step(step: SimpleImputer) -> Step | None:
    statistics = np.asarray(step.statistics_)
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
        return None
    if statistics.dtype.kind == "f" and np.isnan(statistics).any():
        return None  # sklearn drops all-empty features; not worth replaying

    def impute(values: NDArray[Any]) -> NDArray[Any]:
        mask = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
        return np.where(mask, statistics, values) if mask.any() else values

    return impute


def _scale_step(step: StandardScaler) -> Step:
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None

    def standardise(values: NDArray[Any]) -> NDArray[Any]:
        result = np.asarray(values, dtype=np.float64)
        if mean is not None:
            result = result - mean
        if scale is not None:
            result = result / scale
        return result

    return standardise


def _one_hot_step(step: OneHotEncoder) -> Step | None:
    if step.handle_unknown != "ignore" or step.drop_idx_ is not None:
        return None
    if getattr(step, "_infrequent_enabled", False):
        return None
    if any(pd.isna(category) for categories in step.categories_ for category in categories):
        return None  # NaN categories cannot be dictionary keys reliably
    lookups = [
        {category: index for index, category in enumerate(categories.tolist())}
        for categories in step.categories_
    ]
    offsets = np.cumsum([0, *(len(lookup) for lookup in lookups)])
    dtype = step.dtype

    def encode(values: NDArray[Any]) -> NDArray[Any]:
        rows = values.shape[0]
        encoded = np.zeros((rows, int(offsets[-1])), dtype=dtype)
        all_rows = np.arange(rows)
        for column, lookup in enumerate(lookups):
            codes = np.fromiter(
                (lookup.get(value, -1) for value in values[:, column].tolist()),
                dtype=np.intp,
                count=rows,
            )
            known = codes >= 0  # unknown categories stay all-zero, as sklearn does
            encoded[all_rows[known], offsets[column] + codes[known]] = 1
        return encoded

    return encode


def _compile_step(step: Any) -> Step | None:
    if step == "passthrough":
        return lambda values: values
    if isinstance(step, Pipeline):
        steps = [_compile_step(inner) for _, inner in step.steps]
        if any(compiled is None for compiled in steps):
            return None
        chain = [compiled for compiled in steps if compiled is not None]

        def run_chain(values: NDArray[Any]) -> NDArray[Any]:
            for compiled in chain:
                values = compiled(values)
            return values

        return run_chain
    if isinstance(step, FunctionTransformer):
        return _function_step(step)
    if isinstance(step, SimpleImputer):
        return _impute_step(step)
    if isinstance(step, StandardScaler):
        return _scale_step(step)
    if isinstance(step, OneHotEncoder):
        return _one_hot_step(step)
    return None


def compile_preprocessor(preprocessor: Any) -> Preprocessor | None:
    """The fitted ``ColumnTransformer`` as a numpy function, or None if a step is unknown."""
    if not isinstance(preprocessor, ColumnTransformer):
        return None
    branches: list[tuple[list[str], Step]] = []
    for _name, transformer, columns in preprocessor.transformers_:
        if transformer == "drop" or len(columns) == 0:
            continue
        if not all(isinstance(column, str) for column in columns):
            return None
        compiled = _compile_step(transformer)
        if compiled is None:
            return None
        branches.append((list(columns), compiled))

    def transform(values: Columns) -> NDArray[np.float64]:
        parts = [
            step(np.column_stack([values[column] for column in columns]))
            for columns, step in branches
        ]
        return np.hstack(parts).astype(np.float64, copy=False)

    return transform


def _linear_classifier(model: LogisticRegression) -> Estimate:
    coef, intercept = np.asarray(model.coef_).T, np.asarray(model.intercept_)

    def probabilities(features: NDArray[np.float64]) -> NDArray[np.float64]:
        decision = features @ coef + intercept
        if decision.shape[1] == 1:  # binary: sklearn's expit of the one decision value
            positive = expit(decision[:, 0])
            return np.column_stack([1 - positive, positive])
        return np.asarray(softmax(decision, axis=1), dtype=np.float64)

    return probabilities


def _linear_regressor(model: Any) -> Estimate | None:
    coef = np.asarray(model.coef_)
    if coef.ndim != 1:
        return None  # several targets: not what this project trains
    intercept = float(np.asarray(model.intercept_))
    return lambda features: features @ coef + intercept


def _forest(model: Any, classify: bool) -> Estimate:
    trees = list(model.estimators_)

    def average(features: NDArray[np.float64]) -> NDArray[np.float64]:
        # Trees split on float32 thresholds; check_input=False skips per-tree validation.
        inputs = np.ascontiguousarray(features, dtype=np.float32)
        method = "predict_proba" if classify else "predict"
        total = getattr(trees[0], method)(inputs, check_input=False).astype(np.float64)
        for tree in trees[1:]:
            total += getattr(tree, method)(inputs, check_input=False)
        return np.asarray(total / len(trees), dtype=np.float64)

    return average


BOOSTING_REPLAY_MAX_ROWS = 32
"""Above this many rows sklearn's compiled per-tree loop beats walking all trees in numpy."""


def _boosted_trees(model: Any, classify: bool) -> Estimate | None:
    """HistGradientBoosting walked for every tree at once: one numpy step per tree level,
    instead of one Python call per tree (the bulk of its cost on a few rows). Larger
    batches go to sklearn, which is faster there."""
    expected_loss = "log_loss" if classify else "squared_error"
    if model.loss != expected_loss or getattr(model, "_preprocessor", None) is not None:
        return None  # other links, or native categorical columns: leave it to sklearn
    trees = [tree.nodes for iteration in model._predictors for tree in iteration]
    if not trees or any(nodes["is_categorical"].any() for nodes in trees):
        return None
    per_iteration = len(model._predictors[0])
    starts = np.cumsum([0, *(len(nodes) for nodes in trees[:-1])])
    nodes = np.concatenate(trees)
    offsets = np.repeat(starts, [len(tree) for tree in trees])
    feature = nodes["feature_idx"].astype(np.intp)
    threshold = nodes["num_threshold"].astype(np.float64)
    missing_left = nodes["missing_go_to_left"].astype(bool)
    is_leaf = nodes["is_leaf"].astype(bool)
    left = (nodes["left"] + offsets).astype(np.intp)
    right = (nodes["right"] + offsets).astype(np.intp)
    value = nodes["value"].astype(np.float64)
    depth = int(nodes["depth"].max())
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
    # Tree t belongs to output t % per_iteration (one tree per class and iteration).
    output_of_tree = np.arange(len(trees)) % per_iteration

    def raw(features: NDArray[np.float64]) -> NDArray[np.float64]:
        rows = np.arange(features.shape[0])[:, None]
        node = np.broadcast_to(starts, (features.shape[0], len(trees))).copy()
        for _ in range(depth):
            values = features[rows, feature[node]]
            go_left = np.where(np.isnan(values), missing_left[node], values <= threshold[node])
            node = np.where(is_leaf[node], node, np.where(go_left, left[node], right[node]))
            if is_leaf[node].all():  # most rows end in shallow leaves
                break
        leaves = value[node]
        scores = np.zeros((features.shape[0], per_iteration))
        for output in range(per_iteration):
            scores[:, output] = leaves[:, output_of_tree == output].sum(axis=1)
        return scores + baseline

    if not classify:

        def values(features: NDArray[np.float64]) -> NDArray[np.float64]:
            if features.shape[0] > BOOSTING_REPLAY_MAX_ROWS:
                return np.asarray(model.predict(features), dtype=np.float64)
            return raw(features)[:, 0]

        return values

    def probabilities(features: NDArray[np.float64]) -> NDArray[np.float64]:
        if features.shape[0] > BOOSTING_REPLAY_MAX_ROWS:
            return np.asarray(model.predict_proba(features), dtype=np.float64)
        scores = raw(features)
        if per_iteration == 1:
            positive = expit(scores[:, 0])
            return np.column_stack([1 - positive, positive])
        return np.asarray(softmax(scores, axis=1), dtype=np.float64)

    return probabilities


def compile_estimator(model: Any) -> Estimate | None:
    """The fitted final estimator as a numpy function, or None if it is not a known kind."""
    if isinstance(model, LogisticRegression):
        return _linear_classifier(model)
    if isinstance(model, Ridge | LinearRegression | Lasso | ElasticNet):
        return _linear_regressor(model)
    if isinstance(model, RandomForestClassifier | ExtraTreesClassifier):
        return _forest(model, classify=True)
    if isinstance(model, RandomForestRegressor | ExtraTreesRegressor):
        return _forest(model, classify=False)
    if isinstance(model, HistGradientBoostingClassifier):
        return _boosted_trees(model, classify=True)
    if isinstance(model, HistGradientBoostingRegressor):
        return _boosted_trees(model, classify=False)
    return None
