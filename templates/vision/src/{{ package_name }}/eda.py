"""Exploratory data analysis: ``reports/eda.md``, ``reports/data.json`` and figures under
``reports/figures/eda/``.

The report follows the configured images, so it describes your data once ``data.path``
points at it: how many images per class and split, their sizes, the files skipped and why,
and what the images look like. ``reports/data.json`` holds every number the README and the
model card state about the data; they are written from it between their ``data`` markers.

Edit this file to add a section or a figure your images call for.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .config import Settings
from .data import SPLITS, Splits, describe, load_splits, open_image
from .reports import figures_dir, save_figure, table, text, write_blocks

logger = logging.getLogger(__name__)

EXAMPLES_PER_CLASS = 8
SHOWN_SKIPPED = 20


def plot_examples(splits: Splits, path: Path, seed: int) -> Path:
    """A row of training images per class, drawn at random (seeded)."""
    rng = random.Random(seed)  # noqa: S311 (which examples to show, not a secret)
    classes = splits.classes
    figure = Figure(figsize=(1.3 * EXAMPLES_PER_CLASS, 1.4 * len(classes) + 0.6))
    axes = figure.subplots(len(classes), EXAMPLES_PER_CLASS, squeeze=False)
    for label, row in enumerate(axes):
        items = [item for item in splits.train if item.label == label]
        chosen = rng.sample(items, min(EXAMPLES_PER_CLASS, len(items)))
        for column, ax in enumerate(row):
            ax.axis("off")
            if column < len(chosen):
                ax.imshow(open_image(chosen[column].path))
            if column == 0:
                ax.set_title(classes[label], loc="left", fontsize=9)
    figure.suptitle("Training images, one row per class")
    return save_figure(figure, path)


def plot_class_counts(facts: dict[str, Any], path: Path) -> Path:
    """Images per class in each split, against an even share of the training split."""
    classes = facts["classes"]
    figure = Figure(figsize=(max(5.0, 1.1 * len(classes) + 2), 4))
    ax = figure.subplots()
    width = 0.8 / len(SPLITS)
    for number, split in enumerate(SPLITS):
        counts = [facts["splits"][split]["per_class"][name] for name in classes]
        positions = [index + (number - 1) * width for index in range(len(classes))]
        ax.bar(positions, counts, width=width, label=split)
    even = facts["splits"]["train"]["images"] / len(classes)
    ax.axhline(even, color="grey", linestyle="--", linewidth=1, label="even share (train)")
    ax.set_xticks(range(len(classes)), classes, rotation=30 if len(classes) > 6 else 0)
    ax.set_xlabel("class")
    ax.set_ylabel("images")
    ax.set_title("Images per class and split")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def report(splits: Splits, facts: dict[str, Any], settings: Settings) -> str:
    """The EDA markdown; writes the figures it links to."""
    figures = figures_dir(settings, "eda")
    plot_class_counts(facts, figures / "class_counts.png")
    plot_examples(splits, figures / "examples.png", settings.train.seed)
    rows = [
        [
            name,
            *(facts["splits"][split]["per_class"][name] for split in SPLITS),
            facts["per_class"][name],
        ]
        for name in facts["classes"]
    ]
    sizes = facts["image_sizes"]
    skipped = facts["skipped_files"][:SHOWN_SKIPPED]
    sections = [
        f"# Exploratory data analysis: {text(settings.project_name)}",
        f"Source: `{settings.data.path}`, {facts['images']:,} usable images of "
        f"{len(facts['classes'])} classes; {facts['skipped']} file(s) skipped.",
        "## Images per class and split",
        table(["class", *SPLITS, "total"], rows),
        "![class counts](figures/eda/class_counts.png)",
        "## Image sizes",
        f"{sizes['distinct']} distinct size(s); most common `{sizes['most_common']}`, smallest "
        f"`{sizes['smallest']}`, largest `{sizes['largest']}`. Every image is resized to "
        f"`{settings.data.image_size}` pixels square before the network sees it.",
        "## Examples",
        "![examples](figures/eda/examples.png)",
        "## Skipped files",
        table(["file", "reason"], [[item["path"], item["reason"]] for item in skipped])
        if skipped
        else "None: every file was a usable image.",
    ]
    return "\n\n".join(sections) + "\n"


def data_markdown(facts: dict[str, Any], path: Path) -> str:
    """What the data is, in numbers measured by this run: classes, split, sizes, skipped."""
    classes = ", ".join(f"`{name}` {count:,}" for name, count in facts["per_class"].items())
    parts = facts["splits"]
    sizes = facts["image_sizes"]
    size = (
        f"all `{sizes['most_common']}` pixels"
        if sizes["distinct"] == 1
        else f"from `{sizes['smallest']}` to `{sizes['largest']}` pixels"
    )
    skipped = (
        "no file skipped"
        if facts["skipped"] == 0
        else f"{facts['skipped']:,} file(s) skipped (named in `reports/eda.md`)"
    )
    return (
        f"`{path}`: **{facts['images']:,} images** of {len(facts['classes'])} classes "
        f"({classes}). Split: {parts['train']['images']:,} training, "
        f"{parts['val']['images']:,} validation and {parts['test']['images']:,} test images. "
        f"Sizes {size}; {skipped}."
    )


def run(settings: Settings) -> Path:
    splits = load_splits(settings)
    facts = describe(splits)
    reports = settings.paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / "eda.md"
    path.write_text(report(splits, facts, settings), encoding="utf-8")
    facts_path = reports / "data.json"
    facts_path.write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s, %s and figures in %s", path, facts_path, reports / "figures" / "eda")
    block = {"data": data_markdown(facts, settings.data.path)}
    write_blocks(settings.paths.readme, block)
    write_blocks(settings.paths.readme.with_name("MODEL_CARD.md"), block)
    return path
