"""Evaluation: score the saved model on the held-out test split, draw it, and report it.

Writes figures under ``reports/figures/evaluate/``, ``reports/metrics.json``, and the Results block
of the README. Everything written depends only on the saved model and the data, so a
second run changes nothing.

Edit this file to add a figure or a table to the results.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from . import artefacts
from .artefacts import Metadata
from .config import Settings
from .data import features_and_target, file_hash, load, split
from .metrics import LABELS, score
from .reports import (
    MarkersMissingError,
    cell,
    figures_dir,
    save_figure,
    table,
    update_readme,
)

logger = logging.getLogger(__name__)


def classification_figures(
    model: Any, features: pd.DataFrame, target: pd.Series, figures: Path
) -> list[Path]:
    predicted = model.predict(features)
    figure = Figure(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(target, predicted, ax=figure.subplots(), colorbar=False)
    paths = [save_figure(figure, figures / "confusion_matrix.png")]
    classes = list(model.classes_)
    proba = model.predict_proba(features)
    # Two classes: the curve of the positive (second) class. More: one curve per class
    # against the rest, on one chart.
    curves = [(classes[1], "test split")] if len(classes) == 2 else [(c, str(c)) for c in classes]
    for display, name in [(RocCurveDisplay, "roc_curve"), (PrecisionRecallDisplay, "pr_curve")]:
        figure = Figure(figsize=(5, 4.5))
        axes = figure.subplots()
        for label, legend in curves:
            column = classes.index(label)
            display.from_predictions(
                target == label, proba[:, column], pos_label=True, ax=axes, name=legend
            )
        paths.append(save_figure(figure, figures / f"{name}.png"))
    return paths


def regression_figures(
    model: Any, features: pd.DataFrame, target: pd.Series, figures: Path
) -> list[Path]:
    predicted = model.predict(features)
    paths = []
    for kind, name in [("residual_vs_predicted", "residuals"), ("actual_vs_predicted", "actual")]:
        figure = Figure(figsize=(5, 4.5))
        PredictionErrorDisplay.from_predictions(
            target, predicted, kind=kind, ax=figure.subplots(), random_state=0
        )
        paths.append(save_figure(figure, figures / f"{name}_vs_predicted.png"))
    return paths


def metric_header(name: str) -> tuple[str, float]:
    """Scikit-learn's ``neg_*`` scores shown as the positive error they stand for."""
    return (name.removeprefix("neg_"), -1.0) if name.startswith("neg_") else (name, 1.0)


def results_markdown(
    metadata: Metadata, test_metrics: dict[str, float], figures: list[Path], base: Path
) -> str:
    metric, sign = metric_header(metadata.primary_metric)
    chosen = metadata.chosen.name
    candidates = table(
        ["model", f"CV {metric} (mean ± std)", f"validation {metric}", "chosen"],
        [
            [
                c.name,
                f"{cell(sign * c.cv_score)} ± {cell(c.cv_std)}",
                sign * c.val_score,
                "✓" if c.name == chosen else "",
            ]
            for c in metadata.candidates
        ],
    )
    tests = table(
        ["test metric", "value"], [[LABELS.get(k, k), v] for k, v in test_metrics.items()]
    )
    images = "\n".join(
        f"![{path.stem.replace('_', ' ')}]({Path(os.path.relpath(path, base)).as_posix()})"
        for path in figures
    )
    params = ", ".join(f"`{k}={v}`" for k, v in metadata.chosen.params.items())
    return "\n\n".join(
        [
            f"Model version `{metadata.model_version}`, trained "
            f"{metadata.trained_at.isoformat()} on data `sha256:{metadata.data_hash[:12]}`. "
            f"Chosen on validation {metric}: **{chosen}** ({params or 'defaults'}).",
            candidates,
            "Held-out test split:",
            tests,
            images,
        ]
    )


def run(settings: Settings) -> dict[str, Any]:
    saved = artefacts.load(settings.paths.models_dir)
    model, metadata = saved.pipeline, saved.metadata
    if file_hash(settings.data.path) != metadata.data_hash:
        logger.warning("%s changed since training; run `make train` again", settings.data.path)
    test = split(load(settings), settings).test
    features, target = features_and_target(test, settings)
    test_metrics = score(model, features, target, settings.task)
    figures = figures_dir(settings, "evaluate")
    if settings.task == "classification":
        paths = classification_figures(model, features, target, figures)
    else:
        paths = regression_figures(model, features, target, figures)
    logger.info("test metrics: %s", ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()))

    report = {
        "model_version": metadata.model_version,
        "chosen": metadata.chosen.model_dump(mode="json"),
        "primary_metric": metadata.primary_metric,
        "test_rows": len(test),
        "test_metrics": test_metrics,
        "candidates": [candidate.model_dump(mode="json") for candidate in metadata.candidates],
        "figures": [path.as_posix() for path in paths],
    }
    metrics_path = settings.paths.reports_dir / "metrics.json"
    metrics_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    logger.info("wrote %s and %d figures", metrics_path, len(paths))

    readme = settings.paths.readme
    block = results_markdown(metadata, test_metrics, paths, readme.resolve().parent)
    try:
        changed = update_readme(readme, block)
    except MarkersMissingError as error:
        logger.warning("README results not written: %s", error)
    else:
        logger.info("%s results %s", readme, "updated" if changed else "already up to date")
    return report
