"""The decision threshold of a two-class model: the probability of the positive (second)
class from which a row is labelled with it.

Choosing 0.5 is a habit, not a decision: with one positive row in five, or with a missed
positive costing more than a false alarm, another threshold serves the user better. It is
chosen here on the validation split, never on test, for the objective in
``train.threshold``, and saved with the model (``metadata.json``), so evaluation and the
service label rows with the same rule.

Edit this file to add an objective (e.g. the best precision at a required recall).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .artefacts import DecisionThreshold
from .config import ThresholdConfig

DEFAULT = 0.5


def rates(
    positive: NDArray[np.bool_], scores: NDArray[np.float64], threshold: float
) -> dict[str, float]:
    """Precision and recall of the positive class when rows from ``threshold`` on are flagged."""
    flagged = scores >= threshold
    hits = int(np.sum(flagged & positive))
    return {
        "precision": round(hits / max(int(flagged.sum()), 1), 6),
        "recall": round(hits / max(int(positive.sum()), 1), 6),
    }


def objective_values(
    positive: NDArray[np.bool_], scores: NDArray[np.float64], config: ThresholdConfig
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Every distinct threshold worth trying (highest first) and the objective at each
    (higher is better), from one sort of the scores."""
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], positive[order]
    true_pos, false_pos = np.cumsum(hits), np.cumsum(~hits)
    # The last row of each run of equal scores: flagging "from this score on" includes it.
    last = np.r_[ordered[1:] != ordered[:-1], True]
    below = np.r_[ordered[1:], ordered[-1]][last]
    # Halfway to the next lower score: the same rows on validation, less tied to them.
    thresholds = (ordered[last] + below) / 2
    tp, fp = true_pos[last].astype(float), false_pos[last].astype(float)
    positives, negatives = float(hits.sum()), float((~hits).sum())
    fn = positives - tp
    if config.objective == "f1":
        values = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    elif config.objective == "balanced_accuracy":
        values = (tp / max(positives, 1) + (negatives - fp) / max(negatives, 1)) / 2
    else:
        values = -(config.false_positive_cost * fp + config.false_negative_cost * fn)
    return thresholds, values


def choose(
    positive: NDArray[np.bool_], scores: NDArray[np.float64], config: ThresholdConfig
) -> float:
    """The threshold that scores best on ``config.objective``; of equally good ones, the
    highest (the fewest rows flagged)."""
    if config.objective == "fixed":
        return config.value
    thresholds, values = objective_values(positive, scores, config)
    return round(float(np.clip(thresholds[int(np.argmax(values))], 1e-4, 1 - 1e-4)), 4)


def for_model(
    model: Any, features: pd.DataFrame, target: pd.Series, config: ThresholdConfig
) -> DecisionThreshold | None:
    """The threshold for a fitted two-class ``model``, chosen on the (validation) rows given;
    ``None`` for more classes, which are labelled with the most probable one."""
    classes = list(model.classes_)
    if len(classes) != 2:
        return None
    positive = (target == classes[1]).to_numpy()
    scores = np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    value = choose(positive, scores, config)
    costs = config.objective == "cost"
    return DecisionThreshold(
        value=value,
        objective=config.objective,
        false_positive_cost=config.false_positive_cost if costs else None,
        false_negative_cost=config.false_negative_cost if costs else None,
        validation=rates(positive, scores, value),
    )
