"""Evaluation: score the saved model on the held-out test split, as the service runs it, and
report it beside the majority-class baseline.

Predictions come from ONNX Runtime on ``model.onnx`` after ``transforms.batch``, exactly what
the service computes; Grad-CAM alone needs the PyTorch network (``weights.pt``), for its
gradients. Writes figures under ``reports/figures/evaluate/``, ``reports/metrics.json``, the
README's Results (and the few words of its Decisions that quote this run), and the model
card's Metrics. Everything written depends only on the saved model and the data (the
perturbations are seeded), so a second run changes nothing.

Edit this file to add a metric, a perturbation or a table; the figures are drawn in
``figures.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from PIL import Image, ImageFilter

from . import artefacts, figures, model, transforms
from .artefacts import INPUT_NAME, OUTPUT_NAME, SavedModel
from .config import Settings
from .data import Item, data_hash, load_splits, open_image
from .reports import (
    figures_dir,
    save_figure,
)
from .results import BASELINE, not_beaten, write_prose

logger = logging.getLogger(__name__)

CALIBRATION_BINS = 15
"""Equal-width confidence bins for the expected calibration error (the usual choice)."""
WORST = 12
"""Misclassified test images shown, the most confident first."""
GRAD_CAM_IMAGES = 8
"""Grad-CAM examples: the first test image of each class, up to this many classes."""
CHUNK = 64
"""Images opened and scored at a time: memory stays flat whatever the size of the test split."""

# --- predictions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Perturbation:
    """A change a camera or a scanner makes to an image, at one strength. Applied at the
    network's input size, so a strength means the same whatever the size of the photos."""

    name: str
    strength: float
    shown: str
    change: Callable[[Image.Image, float, np.random.Generator], Image.Image]

    def __call__(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        return self.change(image, self.strength, rng)


def add_noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Gaussian pixel noise of standard deviation ``sigma`` (a share of the 0-255 range)."""
    pixels = np.asarray(image, dtype=np.float64)
    noisy = pixels + rng.normal(0.0, sigma * 255.0, pixels.shape)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))


def blur(image: Image.Image, radius: float, rng: np.random.Generator) -> Image.Image:
    """A Gaussian blur of ``radius`` pixels: a camera out of focus."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def rotate(image: Image.Image, degrees: float, rng: np.random.Generator) -> Image.Image:
    """Turned ``degrees`` anticlockwise about the centre; the corners filled black."""
    return image.rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))


PERTURBATIONS = (
    *(Perturbation("Gaussian noise", s, f"std {s:g} of the pixel range", add_noise) for s in
      (0.05, 0.1, 0.2)),
    *(Perturbation("Gaussian blur", r, f"radius {r:g} px", blur) for r in (0.5, 1.0, 2.0)),
    *(Perturbation("rotation", d, f"{d:g}°", rotate) for d in (10.0, 20.0, 45.0)),
)  # fmt: skip


@dataclass(frozen=True)
class Predictions:
    """The model's answers on the test split: clean, and under each perturbation."""

    labels: np.ndarray
    probabilities: np.ndarray
    perturbed_correct: list[int]
    """Test images right under each of ``PERTURBATIONS``, in order."""

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.probabilities.argmax(1))

    @property
    def confidence(self) -> np.ndarray:
        return np.asarray(self.probabilities.max(1))


def _chunks(items: list[Item]) -> Iterator[list[Item]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def predict(saved: SavedModel, items: list[Item], seed: int) -> Predictions:
    """Class probabilities from ONNX Runtime for ``items``, and how many are still right
    under each perturbation (each drawing from its own seeded random stream)."""
    prep = saved.metadata.preprocessing
    size = prep.image_size
    session = onnxruntime.InferenceSession(str(saved.onnx_path), providers=["CPUExecutionProvider"])

    def probabilities(images: Sequence[Image.Image]) -> np.ndarray:
        inputs = transforms.batch(images, size, mean=prep.mean, std=prep.std)
        logits = np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0], np.float64)
        exp = np.exp(logits - logits.max(1, keepdims=True))
        return np.asarray(exp / exp.sum(1, keepdims=True))

    rngs = [np.random.default_rng([seed, number]) for number in range(len(PERTURBATIONS))]
    clean, correct = [], [0] * len(PERTURBATIONS)
    for chunk in _chunks(items):
        images = [open_image(item.path) for item in chunk]
        labels = np.array([item.label for item in chunk])
        clean.append(probabilities(images))  # as the service sees them: no step added
        seen = [image.resize((size, size), Image.Resampling.BILINEAR) for image in images]
        for number, (perturb, rng) in enumerate(zip(PERTURBATIONS, rngs, strict=True)):
            changed = probabilities([perturb(image, rng) for image in seen])
            correct[number] += int(np.sum(changed.argmax(1) == labels))
    classes = len(saved.metadata.classes)
    return Predictions(
        labels=np.array([item.label for item in items], dtype=np.int64),
        probabilities=np.concatenate(clean) if clean else np.zeros((0, classes)),
        perturbed_correct=correct,
    )


# --- metrics ----------------------------------------------------------------------------


def per_class(labels: np.ndarray, predicted: np.ndarray, classes: int) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of each class (0 where a share has no images)."""
    rows = []
    for label in range(classes):
        hits = int(np.sum((predicted == label) & (labels == label)))
        flagged, support = int(np.sum(predicted == label)), int(np.sum(labels == label))
        rows.append(
            {
                "precision": hits / flagged if flagged else 0.0,
                "recall": hits / support if support else 0.0,
                "f1": 2 * hits / (flagged + support) if flagged + support else 0.0,
                "support": support,
            }
        )
    return rows


def scores(labels: np.ndarray, predicted: np.ndarray, classes: int) -> dict[str, float]:
    """Accuracy and macro-F1: the mean F1 of the classes present in the labels or the
    predictions (as ``train`` and scikit-learn count it)."""
    present = np.union1d(labels, predicted)
    f1 = [row["f1"] for row in per_class(labels, predicted, classes)]
    return {
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
        "f1_macro": float(np.mean([f1[label] for label in present])) if len(present) else 0.0,
    }


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def reliability(
    confidence: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """The non-empty equal-width confidence bins ``(lower, upper]``: images, their mean
    confidence and their accuracy."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], confidence, side="left")
    rows = []
    for number in range(bins):
        inside = index == number
        if inside.any():
            rows.append(
                {
                    "lower": float(edges[number]),
                    "upper": float(edges[number + 1]),
                    "images": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                }
            )
    return rows


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """The gap between confidence and accuracy, averaged over the bins weighted by their
    images: 0 when a model right 80% of the time says 0.8."""
    total = len(confidence)
    return float(
        sum(
            row["images"] / total * abs(row["accuracy"] - row["confidence"])
            for row in reliability(confidence, correct, bins)
        )
    )


def majority_class(train: list[Item], classes: int) -> int:
    """The most frequent class of the training split (the first such, on a tie)."""
    return int(np.bincount([item.label for item in train], minlength=classes).argmax())


def worst_mistakes(items: list[Item], predictions: Predictions) -> list[int]:
    """The misclassified test images, the most confident first (then by file name)."""
    wrong = np.flatnonzero(predictions.predicted != predictions.labels)
    order = sorted(wrong, key=lambda i: (-predictions.confidence[i], str(items[i].path)))
    return [int(i) for i in order[:WORST]]


def grad_cam_examples(items: list[Item]) -> list[int]:
    """The first test image of each class, for the first ``GRAD_CAM_IMAGES`` classes."""
    firsts: dict[int, int] = {}
    for index, item in enumerate(items):
        firsts.setdefault(item.label, index)
    return [firsts[label] for label in sorted(firsts)][:GRAD_CAM_IMAGES]


def draw(
    settings: Settings, saved: SavedModel, items: list[Item], predictions: Predictions
) -> tuple[list[Path], str]:
    """Save every figure; return their paths and the layer Grad-CAM looked at."""
    classes, folder = saved.metadata.classes, figures_dir(settings, "evaluate")
    labels, predicted = predictions.labels, predictions.predicted
    confidence, correct = predictions.confidence, predictions.predicted == predictions.labels

    def caption(i: int) -> str:
        return f"{classes[labels[i]]} → {classes[predicted[i]]} ({confidence[i]:.2f})"

    counts = confusion(labels, predicted, len(classes))
    ece = expected_calibration_error(confidence, correct)
    worst = worst_mistakes(items, predictions)
    grid, _ = figures.image_grid(
        [(figures.pixels(open_image(items[i].path)), caption(i)) for i in worst],
        f"The {len(worst)} most confident mistakes, test split",
        ("each image: true class → predicted class (confidence)", "most confident first"),
        columns=4,
        empty="no misclassified test images",
    )
    network = figures.load_network(saved)
    layer, _ = figures.last_conv(network)
    prep = saved.metadata.preprocessing
    examples = []
    for i in grad_cam_examples(items):
        image = open_image(items[i].path)
        inputs = transforms.preprocess(image, prep.image_size, mean=prep.mean, std=prep.std)
        heatmap = figures.grad_cam(network, inputs, int(predicted[i]), image.size)
        examples.append((image, heatmap, caption(i)))
    drawn = {
        "confusion_matrix": figures.confusion_matrix(counts, classes, len(items)),
        "reliability_diagram": figures.reliability_diagram(
            reliability(confidence, correct), ece, CALIBRATION_BINS
        ),
        "worst_misclassifications": grid,
        "grad_cam": figures.grad_cam_figure(examples, layer),
    }
    return [save_figure(figure, folder / f"{name}.png") for name, figure in drawn.items()], layer


# --- the report -------------------------------------------------------------------------


def _image(item: Item, classes: list[str], predictions: Predictions, i: int) -> dict[str, Any]:
    return {
        "path": item.path.as_posix(),
        "true": classes[predictions.labels[i]],
        "predicted": classes[predictions.predicted[i]],
        "confidence": float(predictions.confidence[i]),
    }


def run(settings: Settings) -> dict[str, Any]:
    saved = artefacts.load(settings.paths.models_dir)
    metadata = saved.metadata
    splits = load_splits(settings)
    classes = metadata.classes
    if splits.classes != classes:
        raise ValueError(
            f"the model knows the classes {classes}, {settings.data.path} holds "
            f"{splits.classes}; run `make train` again"
        )
    if not splits.test:
        raise ValueError(f"the test split of {settings.data.path} is empty: nothing to score")
    if data_hash(splits) != metadata.data_hash:
        logger.warning("%s changed since training; run `make train` again", settings.data.path)
    items, seed = splits.test, settings.train.seed
    predictions = predict(saved, items, seed)
    labels, predicted = predictions.labels, predictions.predicted
    correct = predicted == labels
    test_metrics = scores(labels, predicted, len(classes))
    majority = majority_class(splits.train, len(classes))
    baseline_metrics = scores(labels, np.full_like(labels, majority), len(classes))
    clean = test_metrics["accuracy"]
    paths, layer = draw(settings, saved, items, predictions)
    logger.info("test metrics: %s", ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()))

    report = {
        "model_version": metadata.model_version,
        "trained_at": metadata.trained_at.isoformat(),
        "data_hash": metadata.data_hash,
        "runtime": "onnxruntime",
        "throughput": (
            {**metadata.throughput.model_dump(), "ratio": round(metadata.throughput.ratio, 2)}
            if metadata.throughput
            else None
        ),
        "training": {
            "backbone": metadata.backbone,
            "epochs": metadata.epochs,
            "train_seconds": metadata.train_seconds,
            "weights": metadata.weights,
            # The usual alternative's size with this head, for the README's Decisions.
            "resnet18_weights": model.weight_count(model.build("resnet18", len(classes))),
        },
        "image_size": metadata.preprocessing.image_size,
        "classes": classes,
        "primary_metric": metadata.primary_metric,
        "test_images": len(items),
        "test_metrics": test_metrics,
        "baseline": {
            "name": BASELINE,
            "class": classes[majority],
            "test_metrics": baseline_metrics,
        },
        "not_beating_the_baseline": not_beaten(test_metrics, baseline_metrics),
        "per_class": dict(zip(classes, per_class(labels, predicted, len(classes)), strict=True)),
        "confusion_matrix": confusion(labels, predicted, len(classes)).tolist(),
        "calibration": {
            "bins": CALIBRATION_BINS,
            "ece": expected_calibration_error(predictions.confidence, correct),
            "mean_confidence": float(predictions.confidence.mean()),
            "accuracy": clean,
            "reliability": reliability(predictions.confidence, correct),
        },
        "robustness": {
            "seed": seed,
            "image_size": metadata.preprocessing.image_size,
            "clean_accuracy": clean,
            "results": [
                {
                    "perturbation": perturbation.name,
                    "strength": perturbation.strength,
                    "strength_shown": perturbation.shown,
                    "accuracy": right / len(items),
                    "change": right / len(items) - clean,
                }
                for perturbation, right in zip(
                    PERTURBATIONS, predictions.perturbed_correct, strict=True
                )
            ],
        },
        "misclassified": {
            "images": int(np.sum(~correct)),
            "share": float(np.mean(~correct)),
            "shown": len(worst := worst_mistakes(items, predictions)),
            "worst": [_image(items[i], classes, predictions, i) for i in worst],
        },
        "grad_cam": {
            "layer": layer,
            "images": [_image(items[i], classes, predictions, i) for i in grad_cam_examples(items)],
        },
        "figures": [path.as_posix() for path in paths],
    }
    metrics_path = settings.paths.reports_dir / "metrics.json"
    metrics_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    logger.info("wrote %s and %d figures", metrics_path, len(paths))
    write_prose(settings, report, paths)
    return report
