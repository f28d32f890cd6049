"""Evaluation: score the saved model on the held-out test split, draw it, and report it.

Writes figures under ``reports/figures/evaluate/``, ``reports/metrics.json``, and the Results block
of the README. Everything written depends only on the saved model and the data, so a
second run changes nothing.

Edit this file to add a figure or a table to the results.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from . import artefacts
from .artefacts import DecisionThreshold, Metadata, SearchRun, decide
from .config import Settings
from .data import features_and_target, file_hash, load, plain, split
from .metrics import LABELS, score
from .reports import (
    beside_baseline,
    cell,
    figure_link,
    figures_dir,
    save_figure,
    table,
    write_results,
)
from .threshold import DEFAULT, rates

logger = logging.getLogger(__name__)


def _class_names(target: str, classes: list[Any]) -> list[str]:
    """Tick labels for classes: text classes as they are; numbers and flags with the
    target's name, so a reader sees `churned = 1`, not a bare `1`."""
    return [c if isinstance(c, str) else f"{target} = {c}" for c in classes]


def classification_figures(
    model: Any, features: pd.DataFrame, target: pd.Series, figures: Path, cut: float | None
) -> list[Path]:
    classes = list(model.classes_)
    names = _class_names(str(target.name), classes)
    proba = model.predict_proba(features)
    figure = Figure(figsize=(5.5, 4.8))
    axes = figure.subplots()
    ConfusionMatrixDisplay.from_predictions(
        target,
        np.asarray(classes)[decide(proba, cut)],
        labels=classes,
        display_labels=names,
        ax=axes,
        colorbar=False,
    )
    at = "" if cut is None else f", threshold {cut:g}"
    axes.set_title(f"Confusion matrix, test split ({len(target)} rows{at})")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    paths = [save_figure(figure, figures / "confusion_matrix.png")]
    # Two classes: the curve of the positive (second) class. More: one curve per class
    # against the rest, on one chart.
    curves = [1] if len(classes) == 2 else list(range(len(classes)))
    for display, name, title, labels in [
        (
            RocCurveDisplay,
            "roc_curve",
            "ROC curve",
            ("false positive rate (other rows flagged)", "true positive rate (recall)"),
        ),
        (
            PrecisionRecallDisplay,
            "pr_curve",
            "Precision-recall curve",
            ("recall (share of the class found)", "precision (share of flags correct)"),
        ),
    ]:
        figure = Figure(figsize=(5.5, 4.8))
        axes = figure.subplots()
        for index in curves:
            display.from_predictions(
                target == classes[index],
                proba[:, index],
                pos_label=True,
                ax=axes,
                name=names[index],
                # The reference: chance (the diagonal) for ROC, the class's share of rows
                # (what random guessing scores) for precision-recall.
                plot_chance_level=display is PrecisionRecallDisplay or index == curves[0],
            )
        if display is PrecisionRecallDisplay and cut is not None:
            # Where the saved threshold sits on the curve: the trade the Results describe.
            at_cut = rates((target == classes[1]).to_numpy(), proba[:, 1], cut)
            axes.plot(at_cut["recall"], at_cut["precision"], "o", color="black")
            axes.annotate(
                f"threshold {cut:g}",
                (at_cut["recall"], at_cut["precision"]),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=8,
            )
        against = "" if len(classes) == 2 else ", each class against the rest"
        axes.set_title(f"{title}, test split{against}")
        axes.set_xlabel(labels[0])
        axes.set_ylabel(labels[1])
        paths.append(save_figure(figure, figures / f"{name}.png"))
    figure = Figure(figsize=(5.5, 4.8))
    axes = figure.subplots()
    for index in curves:
        # Probabilities a reader may take as risks: how often rows given p are the class.
        CalibrationDisplay.from_predictions(
            target == classes[index],
            proba[:, index],
            n_bins=10,
            strategy="quantile",
            pos_label=True,
            ax=axes,
            name=names[index],
            ref_line=index == curves[0],  # the diagonal: perfectly calibrated
        )
    axes.set_title("Calibration, test split (diagonal = perfectly calibrated)")
    axes.set_xlabel("mean predicted probability (per tenth of the rows)")
    axes.set_ylabel("observed share of the class")
    paths.append(save_figure(figure, figures / "calibration.png"))
    return paths


def regression_figures(
    model: Any, features: pd.DataFrame, target: pd.Series, figures: Path
) -> list[Path]:
    predicted = model.predict(features)
    unit = str(target.name)
    paths = []
    for kind, name, title, labels in [
        (
            "residual_vs_predicted",
            "residuals",
            "Residuals against predictions (0 = exact)",
            (f"predicted {unit}", f"actual - predicted {unit}"),
        ),
        (
            "actual_vs_predicted",
            "actual",
            "Actual against predicted (diagonal = exact)",
            (f"predicted {unit}", f"actual {unit}"),
        ),
    ]:
        figure = Figure(figsize=(5.5, 4.8))
        axes = figure.subplots()
        # Both kinds draw their reference line: y = 0 for residuals, y = x for actual values.
        PredictionErrorDisplay.from_predictions(
            target, predicted, kind=kind, ax=axes, random_state=0
        )
        axes.set_title(f"{title}, test split")
        axes.set_xlabel(labels[0])
        axes.set_ylabel(labels[1])
        paths.append(save_figure(figure, figures / f"{name}_vs_predicted.png"))
    return paths


def metric_header(name: str) -> tuple[str, float]:
    """Scikit-learn's ``neg_*`` scores shown as the positive error they stand for."""
    return (name.removeprefix("neg_"), -1.0) if name.startswith("neg_") else (name, 1.0)


# Errors: lower is better. Every other reported metric: higher is better.
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


def baseline(task: str) -> tuple[str, Any]:
    """The model that learnt nothing, which every model must stand beside: the majority
    class (its class shares as probabilities), or the mean of the training target."""
    if task == "classification":
        return "majority class", DummyClassifier(strategy="prior")
    return "training mean", DummyRegressor(strategy="mean")


def not_beaten(model: dict[str, float], reference: dict[str, float]) -> list[str]:
    """The metrics on which the model does no better than the baseline."""
    return [
        name
        for name, value in model.items()
        if (value >= reference[name] if name in LOWER_IS_BETTER else value <= reference[name])
    ]


def baseline_sentence(name: str, model: dict[str, float], reference: dict[str, float]) -> str:
    """What the comparison with the baseline says, in words."""
    behind = not_beaten(model, reference)
    sentence = beside_baseline(name, model, reference, behind, LABELS)
    if "accuracy" in behind and "recall" in model:
        sentence += (
            f" Always answering the most frequent class is right on "
            f"{reference['accuracy']:.1%} of rows and finds none of the other class; the "
            f"model trades accuracy for finding it (recall {model['recall']:.1%})."
        )
    return sentence


def threshold_report(
    model: Any, features: pd.DataFrame, target: pd.Series, decision: DecisionThreshold
) -> dict[str, Any]:
    """The saved threshold, with precision and recall on test at it and at the default."""
    positive = (target == model.classes_[1]).to_numpy()
    scores = np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    return {
        **decision.model_dump(mode="json"),
        "positive_class": plain(model.classes_[1]),
        "default": DEFAULT,
        "test": rates(positive, scores, decision.value),
        "test_at_default": rates(positive, scores, DEFAULT),
    }


def _positive(target: str, report: dict[str, Any]) -> str:
    return f"`{_class_names(target, [report['positive_class']])[0]}`"


def threshold_sentence(target: str, report: dict[str, Any]) -> str:
    """Which threshold labels the rows, why, and what it trades against the default."""
    value, test, default = report["value"], report["test"], report["test_at_default"]
    objective = report["objective"]
    if objective == "cost":
        why = (
            f"costs least on the validation split at {report['false_positive_cost']:g} per "
            f"false alarm and {report['false_negative_cost']:g} per miss"
        )
    else:
        why = {
            "f1": "gives the best F1 on the validation split",
            "balanced_accuracy": "gives the best balanced accuracy (the mean recall of both "
            "classes) on the validation split",
            "fixed": "is fixed in the config",
        }[objective]
    sentence = (
        f"Rows are labelled {_positive(target, report)} from a probability of **{value:g}** on, "
        f"the threshold that {why} (`train.threshold`). On the test split it finds "
        f"{test['recall']:.1%} of them (recall), and {test['precision']:.1%} of the rows it "
        f"flags are right (precision)"
    )
    if value == DEFAULT:
        return sentence + f"; {DEFAULT:g} is also the usual default."
    trade = "precision for recall" if value < DEFAULT else "recall for precision"
    return sentence + (
        f". The usual {DEFAULT:g} would find {default['recall']:.1%} with "
        f"{default['precision']:.1%} right: this threshold trades {trade}."
    )


def threshold_cell(target: str, report: dict[str, Any] | None) -> str:
    """The few words of the Decisions row on the threshold."""
    if report is None:
        return "not used here: with more than two classes, each row gets its most probable class"
    test, default = report["test"], report["test_at_default"]
    return (
        f"{report['value']:g} on this run: test recall {test['recall']:.1%} of "
        f"{_positive(target, report)} at {test['precision']:.1%} precision "
        f"({report['default']:g}: {default['recall']:.1%} at {default['precision']:.1%})"
    )


def search_cell(search: SearchRun) -> str:
    """The few words of the Decisions row on validation: the folds, the fits, the time."""
    return (
        f"{search.cv_folds} folds on {search.rows['train']:,} training rows; this run's "
        f"search made {search.fits:,} fits in {search.seconds:.0f} s"
    )


def test_table(
    chosen: str, test_metrics: dict[str, float], reference: tuple[str, dict[str, float]]
) -> str:
    name, baseline_metrics = reference
    return table(
        ["test metric", chosen, f"baseline ({name})"],
        [[LABELS.get(k, k), v, baseline_metrics[k]] for k, v in test_metrics.items()],
    )


def results_markdown(
    metadata: Metadata,
    test_metrics: dict[str, float],
    reference: tuple[str, dict[str, float]],
    threshold: dict[str, Any] | None,
    figures: list[Path],
    readme: Path,
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
    images = "\n".join(figure_link(path, readme) for path in figures)
    params = ", ".join(f"`{k}={v}`" for k, v in metadata.chosen.params.items())
    search = metadata.search
    searched = (
        f" Searched with {search.cv_folds}-fold cross-validation on {search.rows['train']:,} "
        f"training rows: {search.fits:,} fits in {search.seconds:.0f} s."
        if search
        else ""
    )
    return "\n\n".join(
        [
            f"Model version `{metadata.model_version}`, trained "
            f"`{metadata.trained_at.isoformat()}` on data `sha256:{metadata.data_hash[:12]}`. "
            f"Chosen on validation {metric}: **{chosen}** ({params or 'defaults'}).{searched}",
            candidates,
            f"Held-out test split ({search.rows['test']:,} rows):"
            if search
            else "Held-out test split:",
            test_table(chosen, test_metrics, reference),
            *([threshold_sentence(metadata.target, threshold)] if threshold else []),
            baseline_sentence(reference[0], test_metrics, reference[1]),
            images,
        ]
    )


def model_card_results(
    metadata: Metadata,
    test_metrics: dict[str, float],
    reference: tuple[str, dict[str, float]],
    threshold: dict[str, Any] | None,
) -> str:
    """The model card's Metrics: the shipped model beside the baseline, in brief."""
    rows = f" ({metadata.search.rows['test']:,} rows)" if metadata.search else ""
    return "\n\n".join(
        [
            f"Model `{metadata.model_version}`, **{metadata.chosen.name}**, on the held-out "
            f"test split{rows}:",
            test_table(metadata.chosen.name, test_metrics, reference),
            *([threshold_sentence(metadata.target, threshold)] if threshold else []),
            baseline_sentence(reference[0], test_metrics, reference[1]),
        ]
    )


def write_prose(
    settings: Settings,
    metadata: Metadata,
    test_metrics: dict[str, float],
    reference: tuple[str, dict[str, float]],
    threshold: dict[str, Any] | None,
    figures: list[Path],
) -> None:
    """The README's Results and the numbers in its Decisions; the model card's Metrics."""
    readme = settings.paths.readme
    block = results_markdown(metadata, test_metrics, reference, threshold, figures, readme)
    inline = {"threshold": threshold_cell(metadata.target, threshold)}
    if metadata.search:
        inline["folds"] = search_cell(metadata.search)
    card = model_card_results(metadata, test_metrics, reference, threshold)
    write_results(readme, block, inline, card)


def run(settings: Settings) -> dict[str, Any]:
    saved = artefacts.load(settings.paths.models_dir)
    model, metadata = saved.pipeline, saved.metadata
    if file_hash(settings.data.path) != metadata.data_hash:
        logger.warning("%s changed since training; run `make train` again", settings.data.path)
    parts = split(load(settings), settings)
    features, target = features_and_target(parts.test, settings)
    cut = metadata.threshold.value if metadata.threshold else None
    test_metrics = score(model, features, target, settings.task, cut)
    name, dummy = baseline(settings.task)
    dummy.fit(*features_and_target(parts.train, settings))
    baseline_metrics = score(dummy, features, target, settings.task)
    figures = figures_dir(settings, "evaluate")
    if settings.task == "classification":
        paths = classification_figures(model, features, target, figures, cut)
    else:
        paths = regression_figures(model, features, target, figures)
    logger.info("test metrics: %s", ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()))
    threshold = (
        threshold_report(model, features, target, metadata.threshold)
        if metadata.threshold
        else None
    )

    report = {
        "model_version": metadata.model_version,
        "chosen": metadata.chosen.model_dump(mode="json"),
        "primary_metric": metadata.primary_metric,
        "test_rows": len(parts.test),
        "test_metrics": test_metrics,
        "baseline": {"name": name, "test_metrics": baseline_metrics},
        "not_beating_the_baseline": not_beaten(test_metrics, baseline_metrics),
        "threshold": threshold,
        "search": metadata.search.model_dump(mode="json") if metadata.search else None,
        "candidates": [candidate.model_dump(mode="json") for candidate in metadata.candidates],
        "figures": [path.as_posix() for path in paths],
    }
    metrics_path = settings.paths.reports_dir / "metrics.json"
    metrics_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    logger.info("wrote %s and %d figures", metrics_path, len(paths))
    write_prose(settings, metadata, test_metrics, (name, baseline_metrics), threshold, paths)
    return report
