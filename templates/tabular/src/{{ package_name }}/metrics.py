"""Test-set metrics, shared by ``train`` (recorded in the metadata) and ``evaluate``.

Edit this file to report another metric: it then appears in ``metadata.json``,
``reports/metrics.json`` and the README's Results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.preprocessing import label_binarize

from .artefacts import decide
from .config import Task

# Names shown in the README and metrics.json, in this order.
LABELS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "precision_macro": "Precision (macro average over classes)",
    "recall_macro": "Recall (macro average over classes)",
    "f1_macro": "F1 (macro average over classes)",
    "roc_auc_ovr": "ROC-AUC (one-vs-rest, macro average)",
    "pr_auc_macro": "PR-AUC (one-vs-rest, macro average)",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}


def classification_metrics(
    y_true: pd.Series, y_pred: np.ndarray[Any, Any], proba: np.ndarray[Any, Any], classes: list[Any]
) -> dict[str, float]:
    """Binary metrics for the positive class (the second label); with more classes, macro
    averages, named for their averaging (``f1_macro``, ``roc_auc_ovr``)."""
    if len(classes) == 2:
        positive = classes[1]
        scores = proba[:, 1]
        return {
            "accuracy": accuracy_score(y_true, y_pred),
            "precision": precision_score(y_true, y_pred, pos_label=positive, zero_division=0),
            "recall": recall_score(y_true, y_pred, pos_label=positive),
            "f1": f1_score(y_true, y_pred, pos_label=positive),
            "roc_auc": roc_auc_score(y_true == positive, scores),
            "pr_auc": average_precision_score(y_true == positive, scores),
        }
    onehot = label_binarize(y_true, classes=classes)
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision_macro": precision_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_macro": recall_score(y_true, y_pred, average="macro"),
        "f1_macro": f1_score(y_true, y_pred, average="macro"),
        "roc_auc_ovr": roc_auc_score(onehot, proba, average="macro"),
        "pr_auc_macro": average_precision_score(onehot, proba, average="macro"),
    }


def regression_metrics(y_true: pd.Series, y_pred: np.ndarray[Any, Any]) -> dict[str, float]:
    return {
        "rmse": root_mean_squared_error(y_true, y_pred),
        "mae": mean_absolute_error(y_true, y_pred),
        "r2": r2_score(y_true, y_pred),
    }


def score(
    model: Any,
    features: pd.DataFrame,
    target: pd.Series,
    task: Task,
    threshold: float | None = None,
) -> dict[str, float]:
    """All test metrics of ``model`` on one labelled frame, as plain floats; two-class labels
    follow ``threshold`` when given (``artefacts.decide``), as in the service."""
    if task == "classification":
        proba = model.predict_proba(features)
        predicted = np.asarray(model.classes_)[decide(proba, threshold)]
        raw = classification_metrics(target, predicted, proba, list(model.classes_))
    else:
        raw = regression_metrics(target, model.predict(features))
    return {name: round(float(value), 6) for name, value in raw.items()}
