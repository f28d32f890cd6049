"""Drift: do new images still look like the ones the model was trained on, and does the
model still see them the same way?

``run_drift`` compares a folder of images with the reference ``train`` saved beside the
model (``artefacts.REFERENCE_FILE``, built by ``reference`` below):

* **the images**: brightness and contrast (mean and spread of the luminance), width and
  height as stored, and the number of channels (a camera that switched to greyscale);
* **the model's view**: its confidence (the top probability) and the mix of classes it
  predicts, against its answers on the validation split.

Each statistic gets a PSI and a significance test (``drift.py``, shared with every
variant); it **drifts when both agree**: PSI above ``monitoring.psi_threshold`` and a
p-value below ``monitoring.pvalue`` shared among the statistics. The batch is ``--batch``
(a folder, searched recursively), by default the sample's unlabelled batch while the data
is the sample, otherwise the test split. The report goes to ``reports/drift.md``; the
return value (the CLI's exit code) is 1 on drift.

Edit this file to compare another statistic (sharpness, a colour channel, embeddings).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from . import artefacts
from .config import Settings
from .data import IMAGE_SUFFIXES, DataError, ImageError, Splits, load_splits, open_image
from .drift import (
    FeatureDrift,
    category_psi,
    chi_square,
    judge,
    ks,
    psi,
    report_table,
    shown,
    verdict,
)

logger = logging.getLogger(__name__)

REPORT_FILE = "drift.md"
NUMERIC = ("brightness", "contrast", "width", "height")
BATCH_SIZE = 64


def image_statistics(path: Path) -> dict[str, float]:
    """What drift compares per image: brightness and contrast (mean and spread of the
    luminance, 0-1), size and channels as stored (before conversion to RGB)."""
    with Image.open(path) as stored:
        channels = len(stored.getbands())
    image = open_image(path)
    luminance = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    return {
        "brightness": float(luminance.mean()),
        "contrast": float(luminance.std()),
        "width": float(image.width),
        "height": float(image.height),
        "channels": float(channels),
    }


def _columns(rows: Sequence[dict[str, float]]) -> dict[str, list[float]]:
    return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}


def reference(splits: Splits, val_probabilities: NDArray[np.float64]) -> dict[str, Any]:
    """The drift reference saved with a model: the training images' statistics and the
    model's answers (confidence, predicted class) on the validation split."""
    predicted = val_probabilities.argmax(axis=1)
    return {
        "images": _columns([image_statistics(item.path) for item in splits.train]),
        "predictions": {
            "confidence": [float(value) for value in val_probabilities.max(axis=1)],
            "class": [splits.classes[int(index)] for index in predicted],
        },
    }


def batch_files(settings: Settings, folder: Path | None) -> tuple[str, list[Path]]:
    """The images to compare and how the report names them."""
    if folder is not None:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: not a folder of images")
        files = sorted(
            path
            for path in folder.rglob("*")
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
        )
        return f"`{folder}`", files
    if settings.uses_sample:
        return batch_files(settings, settings.sample.new_batch_path)
    test = load_splits(settings).test
    return f"test split of `{settings.data.path}`", [item.path for item in test]


def current(settings: Settings, files: Sequence[Path]) -> tuple[dict[str, Any], list[str]]:
    """The batch's statistics and the served model's answers; files that are not usable
    images are named and left out."""
    from .api.predictor import load_predictor  # ONNX Runtime: the model as served

    model = load_predictor(settings)
    rows, confidence, classes, skipped = [], [], [], []
    usable: list[Path] = []
    for path in files:
        try:
            rows.append(image_statistics(path))
            usable.append(path)
        except (ImageError, OSError) as error:
            skipped.append(f"{path}: {error}")
    for start in range(0, len(usable), BATCH_SIZE):
        images = [open_image(path) for path in usable[start : start + BATCH_SIZE]]
        probabilities = model.predict(model.prepare(images))
        confidence += probabilities.max(axis=1).tolist()
        classes += [model.classes[int(index)] for index in probabilities.argmax(axis=1)]
    statistics = {
        "images": _columns(rows),
        "predictions": {"confidence": confidence, "class": classes},
    }
    return statistics, skipped


def compare(saved: dict[str, Any], batch: dict[str, Any], settings: Settings) -> list[FeatureDrift]:
    """PSI and a test for every image statistic and for the model's confidence and classes."""
    config = settings.monitoring
    alpha = config.pvalue / (len(NUMERIC) + 3)  # Bonferroni over every statistic compared

    def numeric(name: str, before: list[float], after: list[float]) -> FeatureDrift:
        value = psi(before, after, bins=config.bins)
        return judge(
            name,
            "numeric",
            value,
            "KS",
            ks(before, after),
            threshold=config.psi_threshold,
            alpha=alpha,
        )

    def categorical(name: str, before: list[Any], after: list[Any]) -> FeatureDrift:
        value = category_psi(before, after)
        return judge(
            name,
            "categorical",
            value,
            "chi-square",
            chi_square(before, after),
            threshold=config.psi_threshold,
            alpha=alpha,
        )

    images, answers = saved["images"], saved["predictions"]
    new_images, new_answers = batch["images"], batch["predictions"]
    return [
        *(numeric(name, images[name], new_images[name]) for name in NUMERIC),
        categorical("channels", images["channels"], new_images["channels"]),
        numeric("confidence", answers["confidence"], new_answers["confidence"]),
        categorical("predicted class", answers["class"], new_answers["class"]),
    ]


def render_report(
    results: Sequence[FeatureDrift],
    settings: Settings,
    batch: str,
    sizes: tuple[int, int],
    skipped: Sequence[str],
) -> str:
    """``reports/drift.md``: the verdict first, then one row per statistic."""
    config = settings.monitoring
    lines = [
        "# Image drift report",
        "",
        f"- Batch: {batch} ({sizes[1]} images)",
        f"- Reference: the training images ({sizes[0]}) and the model's answers on validation, "
        f"in `{settings.paths.models_dir}/<version>/{artefacts.REFERENCE_FILE}`",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Drift rule: PSI > {config.psi_threshold} and p-value < "
        f"{shown(config.pvalue / len(results))} ({config.pvalue} shared by {len(results)} "
        "statistics; KS for numbers, chi-square for categories)",
        "",
        verdict(results, "statistics"),
        "",
        *report_table(results, "statistic", "statistic value"),
    ]
    if skipped:
        lines += ["", f"Files left out ({len(skipped)}):", "", *(f"- {line}" for line in skipped)]
    return "\n".join([*lines, ""])


def run_drift(settings: Settings, batch_path: Path | None = None) -> int:
    """Compare a folder of images (default: ``batch_files``) with the saved reference; write
    the report; return 1 if any statistic drifted."""
    saved = artefacts.load(settings.paths.models_dir)
    name, files = batch_files(settings, batch_path)
    if not files:
        raise FileNotFoundError(f"{name}: no images to compare")
    reference_stats = saved.reference()
    batch, skipped = current(settings, files)
    if not batch["images"]:
        raise DataError(f"{name}: none of the {len(files)} files is a usable image")
    results = compare(reference_stats, batch, settings)
    report_path = settings.paths.reports_dir / REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    sizes = (len(reference_stats["images"]["brightness"]), len(batch["images"]["brightness"]))
    report_path.write_text(render_report(results, settings, name, sizes, skipped), encoding="utf-8")
    drifted = [result.name for result in results if result.drifted]
    if drifted:
        logger.warning("drift in %s; report in %s", ", ".join(drifted), report_path)
        return 1
    logger.info("no drift in %s; report in %s", name, report_path)
    return 0
