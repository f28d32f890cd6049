"""The candidate model families, the hyperparameters the search draws from, and the metrics
that can rank them.

``train.models`` in the config picks families by name; each is an estimator factory (it
takes the seed) and a small search space over the estimator's parameters. The config is
checked against these names and metrics when it loads, so a typo stops every command with
the allowed values instead of failing halfway through training.

Edit this file to compare another model: add a family here, then name it in
``train.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import average_precision_score, f1_score, get_scorer, make_scorer

from .config import Settings

Space = dict[str, list[Any]]
Factory = Callable[[int], Any]

# Small search spaces on purpose: six draws per family find a good region on data this
# size, and the whole comparison stays within seconds on a laptop. Forests are kept small
# (few trees, each on a half-size bootstrap sample) and single-threaded: they are the
# slowest family to fit, and the service predicts one row at a time, where per-call
# thread start-up would cost more than the trees. Gradient boosting stops early on an
# internal 10% holdout instead of searching the number of iterations.
CLASSIFIERS: dict[str, tuple[Factory, Space]] = {
    "logistic_regression": (
        lambda seed: LogisticRegression(max_iter=2000, class_weight="balanced"),
        {"C": np.logspace(-3, 2, 11).round(4).tolist()},
    ),
    "random_forest": (
        lambda seed: RandomForestClassifier(
            class_weight="balanced", max_samples=0.5, n_jobs=1, random_state=seed
        ),
        {
            "n_estimators": [25, 50],
            "max_depth": [6, 8, 10],
            "min_samples_leaf": [5, 10, 20],
            "max_features": ["sqrt", 0.5],
        },
    ),
    "hist_gradient_boosting": (
        # 63 bins instead of 255: with class weights, binning computes weighted quantiles,
        # whose cost grows with the bin count (4x faster fits here, same scores).
        lambda seed: HistGradientBoostingClassifier(
            class_weight="balanced",
            early_stopping=True,
            max_bins=63,
            max_iter=300,
            random_state=seed,
        ),
        {
            "learning_rate": [0.1, 0.2],
            "max_leaf_nodes": [7, 15, 31],
            "min_samples_leaf": [20, 50, 100],
            "l2_regularization": [0.0, 0.1, 1.0],
        },
    ),
}

REGRESSORS: dict[str, tuple[Factory, Space]] = {
    "ridge": (
        lambda seed: Ridge(),
        {"alpha": np.logspace(-2, 3, 11).round(4).tolist()},
    ),
    "random_forest": (
        lambda seed: RandomForestRegressor(max_samples=0.5, n_jobs=1, random_state=seed),
        {
            "n_estimators": [25, 50],
            "max_depth": [8, 10, 14],
            "min_samples_leaf": [3, 5, 10],
            "max_features": [0.33, 0.6],
        },
    ),
    "hist_gradient_boosting": (
        lambda seed: HistGradientBoostingRegressor(
            early_stopping=True, max_iter=300, random_state=seed
        ),
        {
            "learning_rate": [0.1, 0.2],
            "max_leaf_nodes": [7, 15],
            "min_samples_leaf": [10, 20, 50],
            "l2_regularization": [0.0, 0.1, 1.0],
        },
    ),
}


# scikit-learn scorer names that can rank the candidates (higher is better, so errors are
# negated: neg_root_mean_squared_error). `_ovr` and `_macro` variants suit several classes.
RANKING_METRICS: dict[str, tuple[str, ...]] = {
    "classification": (
        "roc_auc",
        "roc_auc_ovr",
        "average_precision",
        "f1",
        "f1_macro",
        "balanced_accuracy",
        "accuracy",
        "neg_log_loss",
    ),
    "regression": ("neg_root_mean_squared_error", "neg_mean_absolute_error", "r2"),
}


# Metrics defined for two classes only: each scores the positive class (the second of
# data.classes), so several classes need an averaged variant (`_ovr`, `_macro`).
BINARY_METRICS = ("roc_auc", "average_precision", "f1")


def scorer(settings: Settings) -> Any:
    """The scikit-learn scorer for the ranking metric. A two-class metric scores the
    second of ``data.classes``, whatever its value (scikit-learn's own `f1` and
    `average_precision` scorers assume the positive class is the number 1)."""
    metric = settings.ranking_metric
    classes = settings.data.classes or []
    if metric == "f1":
        return make_scorer(f1_score, pos_label=classes[1])
    if metric == "average_precision":
        return make_scorer(
            average_precision_score,
            response_method=("decision_function", "predict_proba"),
            pos_label=classes[1],
        )
    return get_scorer(metric)


def available(task: str) -> dict[str, tuple[Factory, Space]]:
    """Every family this file defines for ``task``."""
    return CLASSIFIERS if task == "classification" else REGRESSORS


def families(task: str, names: list[str]) -> dict[str, tuple[Factory, Space]]:
    """The families named in ``train.models`` (already checked against ``available``)."""
    known = available(task)
    return {name: known[name] for name in names}
