"""Exploratory data analysis: ``reports/eda.md`` plus figures under ``reports/figures/eda/``.

The report follows the configured columns, so it describes your data once ``data.path``
points at it. Edit this file to add a section or a figure your data calls for.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .config import Settings
from .data import load, plain, split
from .reports import Cell, figures_dir, save_figure, table, text, write_blocks

logger = logging.getLogger(__name__)


def _grid(count: int, columns: int = 3) -> tuple[Figure, list[Axes]]:
    rows = max(1, math.ceil(count / columns))
    figure = Figure(figsize=(4 * columns, 3 * rows))
    axes: list[Axes] = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for unused in axes[count:]:
        unused.set_visible(False)
    return figure, axes[:count]


def plot_missingness(frame: pd.DataFrame, path: Path) -> Path:
    share = frame.isna().mean().sort_values() * 100
    figure = Figure(figsize=(7, 0.35 * len(share) + 1.2))
    ax = figure.subplots()
    ax.barh(range(len(share)), share.to_numpy(), color="#d62728")
    ax.set_yticks(range(len(share)), share.index.astype(str).tolist())
    ax.set_ylabel("column")
    ax.set_xlabel("missing values (% of rows)")
    ax.set_xlim(0, max(5.0, float(share.max()) * 1.1))
    ax.set_title("Missing values per column")
    return save_figure(figure, path)


def plot_histograms(frame: pd.DataFrame, columns: list[str], path: Path) -> Path:
    figure, axes = _grid(len(columns))
    for ax, column in zip(axes, columns, strict=True):
        ax.hist(frame[column].dropna(), bins=30, histtype="stepfilled", color="#1f77b4")
        ax.set_title(column)
        ax.set_xlabel(column)  # names carry units: tenure_months, living_area_sqm
        ax.set_ylabel("rows")
    figure.suptitle("Distribution of each numeric column (missing values left out)")
    return save_figure(figure, path)


def plot_categories(frame: pd.DataFrame, columns: list[str], path: Path) -> Path:
    figure, axes = _grid(len(columns))
    for ax, column in zip(axes, columns, strict=True):
        counts = frame[column].astype(object).fillna("(missing)").astype(str).value_counts()
        # Positions plus labels: matplotlib would read labels like "1" as numbers.
        ax.barh(range(len(counts)), counts.to_numpy(), color="#2ca02c")
        ax.set_yticks(range(len(counts)), counts.index.tolist())
        ax.set_title(column)
        ax.set_xlabel("rows")
        ax.set_ylabel("value")
    figure.suptitle("Rows per value of each categorical column")
    return save_figure(figure, path)


def plot_correlation(corr: pd.DataFrame, path: Path) -> Path:
    size = 1.0 + 0.6 * len(corr)
    figure = Figure(figsize=(size + 1.5, size))
    ax = figure.subplots()
    image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    labels = corr.columns.astype(str).tolist()
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for (i, j), value in np.ndenumerate(corr.to_numpy()):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=ax, shrink=0.8, label="Pearson r")
    ax.set_xlabel("column")
    ax.set_ylabel("column")
    ax.set_title("Pearson correlation between numeric columns")
    return save_figure(figure, path)


def plot_target(target: pd.Series, classification: bool, path: Path) -> Path:
    figure = Figure(figsize=(6, 4))
    ax = figure.subplots()
    if classification:
        counts = target.value_counts().sort_index()
        ax.bar(range(len(counts)), counts.to_numpy(), color="#9467bd")
        ax.set_xticks(range(len(counts)), counts.index.astype(str).tolist())
        ax.set_xlabel(f"{target.name} (class)")
        # The share a model that always answers the most frequent class would get right.
        majority = float(counts.max())
        ax.axhline(majority, color="grey", linestyle="--", linewidth=1)
        ax.annotate(
            f"majority class: {majority / counts.sum():.1%} of rows",
            (0.02, majority),
            xycoords=("axes fraction", "data"),
            va="bottom",
            fontsize=8,
        )
    else:
        ax.hist(target, bins=40, histtype="stepfilled", color="#9467bd")
        ax.axvline(float(target.mean()), color="grey", linestyle="--", linewidth=1, label="mean")
        ax.set_xlabel(str(target.name))
        ax.legend()
    ax.set_ylabel("rows")
    ax.set_title(f"Target: {target.name}")
    return save_figure(figure, path)


def correlation(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Correlations between numbers and flags (and the target when it is numeric or binary)."""
    columns = settings.data.numeric + settings.data.boolean
    numbers = frame[columns].astype(float)
    target = frame[settings.data.target]
    if pd.api.types.is_numeric_dtype(target):
        numbers[settings.data.target] = target.astype(float)
    elif target.nunique() == 2:
        numbers[settings.data.target] = pd.factorize(target, sort=True)[0]
    return numbers.corr()


def report(frame: pd.DataFrame, settings: Settings) -> str:
    """The EDA markdown; writes the figures it links to."""
    figures = figures_dir(settings, "eda")
    numeric = settings.data.numeric
    categorical = settings.data.categorical + settings.data.boolean
    target = frame[settings.data.target]
    classification = settings.task == "classification"

    stats = frame[numeric].describe().T
    numeric_rows: list[list[Cell]] = [
        [str(name), int(r["count"]), r["mean"], r["std"], r["min"], r["50%"], r["max"]]
        for name, r in stats.iterrows()
    ]
    categorical_rows: list[list[Cell]] = []
    for name in categorical:
        counts = frame[name].value_counts()
        categorical_rows.append(
            [name, int(counts.sum()), len(counts), str(counts.index[0]), int(counts.iloc[0])]
        )
    missing = frame.isna().sum()
    missing_rows: list[list[Cell]] = [
        [str(name), int(count), 100 * count / len(frame)]
        for name, count in missing[missing > 0].sort_values(ascending=False).items()
    ]
    if classification:
        balance = target.value_counts().sort_index()
        target_rows: list[list[Cell]] = [
            [str(k), int(v), 100 * v / len(frame)] for k, v in balance.items()
        ]
        target_table = table(["class", "rows", "share (%)"], target_rows, digits=1)
        ratio = balance.max() / balance.min()
        target_note = f"Majority to minority ratio: {ratio:.1f} : 1."
    else:
        described = target.describe()
        target_table = table(
            ["statistic", "value"], [[str(k), float(v)] for k, v in described.items()], digits=2
        )
        target_note = f"Skewness: {cast(float, target.skew()):.2f}."

    plot_missingness(frame, figures / "missingness.png")
    plot_histograms(frame, numeric, figures / "histograms.png")
    if categorical:
        plot_categories(frame, categorical, figures / "categories.png")
    corr = correlation(frame, settings)
    plot_correlation(corr, figures / "correlation.png")
    plot_target(target, classification, figures / "target.png")

    sections = [
        f"# Exploratory data analysis: {text(settings.project_name)}",
        f"Source: `{settings.data.path}`, {len(frame):,} rows, {len(settings.data.columns)} "
        f"feature columns, target `{settings.data.target}` ({settings.task}).",
        "## Target balance",
        target_table,
        target_note,
        "![target](figures/eda/target.png)",
        "## Numeric columns",
        table(["column", "count", "mean", "std", "min", "median", "max"], numeric_rows, 2),
        "![histograms](figures/eda/histograms.png)",
        "## Categorical and boolean columns",
        table(["column", "count", "levels", "most frequent", "its rows"], categorical_rows)
        if categorical_rows
        else "None.",
        *(["![categories](figures/eda/categories.png)"] if categorical else []),
        "## Missing values",
        table(["column", "missing", "share (%)"], missing_rows, digits=1)
        if missing_rows
        else "No missing values.",
        "![missingness](figures/eda/missingness.png)",
        "## Correlations",
        "Pearson correlation between numeric and boolean columns"
        + (" and the target." if settings.data.target in corr.columns else "."),
        "![correlation](figures/eda/correlation.png)",
    ]
    return "\n\n".join(sections) + "\n"


def profile(frame: pd.DataFrame, settings: Settings) -> dict[str, Any]:
    """The facts about the data that the README and the model card state: ``data.json``."""
    data = settings.data
    target = frame[data.target]
    parts = split(frame, settings)
    shares = frame.isna().mean().sort_values(ascending=False)
    facts: dict[str, Any] = {
        "path": data.path.as_posix(),
        "rows": len(frame),
        "target": data.target,
        "features": {
            "total": len(data.columns),
            "numeric": len(data.numeric),
            "categorical": len(data.categorical),
            "boolean": len(data.boolean),
        },
        "split": {
            "seed": settings.train.seed,
            "stratified": settings.task == "classification",
            "train": len(parts.train),
            "validation": len(parts.val),
            "test": len(parts.test),
        },
        "missing": {
            str(name): round(float(share), 6) for name, share in shares[shares > 0].items()
        },
    }
    if settings.task == "classification":
        counts = target.value_counts().sort_values(ascending=False, kind="stable")
        facts["classes"] = [
            {"class": plain(label), "rows": int(rows), "share": round(rows / len(frame), 6)}
            for label, rows in counts.items()
        ]
        facts["largest_to_smallest"] = round(float(counts.iloc[0] / counts.iloc[-1]), 6)
    else:
        facts["target_summary"] = {
            "mean": round(float(target.mean()), 6),
            "median": round(float(target.median()), 6),
            "min": round(float(target.min()), 6),
            "max": round(float(target.max()), 6),
            "skewness": round(float(cast(float, target.skew())), 6),
        }
    return facts


def _class(target: str, label: Any) -> str:
    return f"`{label}`" if isinstance(label, str) else f"`{target} = {label}`"


def data_markdown(facts: dict[str, Any]) -> str:
    """What the data is, in numbers measured by this run: size, classes, split, gaps."""
    features, parts, target = facts["features"], facts["split"], facts["target"]
    lines = [
        f"`{facts['path']}`: **{facts['rows']:,} rows**, {features['total']} feature columns "
        f"({features['numeric']} numeric, {features['categorical']} categorical, "
        f"{features['boolean']} boolean) and the target `{target}`."
    ]
    if "classes" in facts:
        shares = ", ".join(
            f"{_class(target, c['class'])} {c['rows']:,} rows ({c['share']:.1%})"
            for c in facts["classes"]
        )
        lines.append(
            f"Classes: {shares}; the largest class has {facts['largest_to_smallest']:.1f} rows "
            "for each row of the smallest."
        )
    else:
        summary = facts["target_summary"]
        # Whole numbers for large values (prices), two decimals for small ones.
        digits = 0 if abs(summary["max"]) >= 1_000 else 2
        mean, median, low, high = (
            f"{summary[key]:,.{digits}f}" for key in ("mean", "median", "min", "max")
        )
        lines.append(
            f"Target: mean {mean}, median {median}, from {low} to {high}; skewness "
            f"{summary['skewness']:.2f}."
        )
    stratified = ", stratified on the target" if parts["stratified"] else ""
    lines.append(
        f"Split with seed {parts['seed']}{stratified}: {parts['train']:,} training, "
        f"{parts['validation']:,} validation and {parts['test']:,} test rows."
    )
    gaps = ", ".join(f"`{name}` {share:.1%}" for name, share in facts["missing"].items())
    lines.append(
        f"Missing values: {gaps}; every other column is complete." if gaps else "No missing values."
    )
    return " ".join(lines)


def balance_cell(facts: dict[str, Any]) -> str:
    """The few words of the Decisions row on the ranking metric: what "always the largest
    class" scores."""
    largest = facts["classes"][0]
    return (
        f"the largest class, {_class(facts['target'], largest['class'])}, is "
        f"{largest['share']:.1%} of rows, so always predicting it is about "
        f"{largest['share']:.1%} accurate"
    )


def run(settings: Settings) -> Path:
    frame = load(settings)
    path = settings.paths.reports_dir / "eda.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report(frame, settings), encoding="utf-8")
    facts = profile(frame, settings)
    facts_path = settings.paths.reports_dir / "data.json"
    facts_path.write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s, %s and figures in %s", path, facts_path, path.parent / "figures" / "eda")
    blocks = {"data": data_markdown(facts)}
    if "classes" in facts:
        blocks["balance"] = balance_cell(facts)
    write_blocks(settings.paths.readme, blocks)
    write_blocks(settings.paths.readme.with_name("MODEL_CARD.md"), {"data": blocks["data"]})
    return path
