"""Data drift: does a new batch still look like the data the model was trained on?

``run_drift`` compares a batch (CSV or Parquet, checked with the training schema) with the
training split that ``train`` saved beside the model (``artefacts.REFERENCE_FILE``):

* **PSI** (population stability index) for every feature. Numbers are binned at the
  reference's quantiles, so each bin holds about the same share of training rows;
  categories are compared level by level. Missing values are a bin of their own, and so
  are categories never seen in training: both are exactly the changes that break models.
  Rule of thumb: below 0.1 stable, 0.1-0.2 a moderate shift, above 0.2 a real one.
* **KS** (two-sample Kolmogorov-Smirnov) for numeric features: the largest gap between the
  two cumulative distributions, and its p-value. With thousands of rows KS flags even
  harmless shifts as significant, so the verdict (and the exit code) follows PSI, and KS
  is reported alongside as evidence.

The report goes to ``reports/drift.md``; the return value (the CLI's exit code) is 1 when
any feature's PSI is above ``monitoring.psi_threshold``, so a scheduled job can alert on it.
Tune the thresholds in the config; edit this file to add a test or a section to the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from . import artefacts
from .config import Settings
from .data import read_table
from .reports import cell
from .schema import validate

logger = logging.getLogger(__name__)

REPORT_FILE = "drift.md"
MISSING = "(missing)"
UNSEEN = "(unseen in training)"
# Share given to an empty bin so that log(current / reference) stays finite: a bin that is
# empty on one side still counts heavily, without one empty bin turning PSI into infinity.
EMPTY_BIN_SHARE = 1e-4


def _shares(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    total = counts.sum()
    shares = counts / total if total > 0 else np.zeros_like(counts)
    return np.clip(shares, EMPTY_BIN_SHARE, None)


def _psi_from_counts(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    expected, actual = _shares(reference), _shares(current)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi(reference: ArrayLike, current: ArrayLike, bins: int = 10) -> float:
    """PSI of a numeric feature, binned at ``bins`` reference quantiles plus a missing bin.

    Identical distributions give ~0; the further ``current`` moves, the larger the value.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref_present, cur_present = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref_present.size:
        # Interior cut points; duplicates (heavily tied data) collapse into fewer bins.
        # Bins are closed on the right, as in pandas.qcut: a value equal to a cut point
        # belongs to the bin below it, so a constant reference still has a bin above it.
        quantiles = np.linspace(0, 1, bins + 1)[1:-1]
        edges = np.unique(np.quantile(ref_present, quantiles))
    else:
        edges = np.array([], dtype=np.float64)
    width = edges.size + 1

    def counts(present: NDArray[np.float64], everything: NDArray[np.float64]) -> Any:
        binned = np.bincount(np.searchsorted(edges, present, side="left"), minlength=width)
        return np.append(binned, everything.size - present.size).astype(np.float64)

    return _psi_from_counts(counts(ref_present, ref), counts(cur_present, cur))


def category_psi(reference: Sequence[Any] | pd.Series, current: Sequence[Any] | pd.Series) -> float:
    """PSI of a categorical feature: one bin per reference level, plus missing and unseen."""
    ref = pd.Series(reference, dtype=object)
    cur = pd.Series(current, dtype=object)
    levels = sorted({str(value) for value in ref.dropna()})

    def counts(values: pd.Series) -> NDArray[np.float64]:
        labels = values.map(lambda value: MISSING if pd.isna(value) else str(value))
        labels = labels.where(labels.isin([*levels, MISSING]), UNSEEN)
        tally = labels.value_counts()
        return np.array(
            [tally.get(level, 0) for level in [*levels, MISSING, UNSEEN]], dtype=np.float64
        )

    return _psi_from_counts(counts(ref), counts(cur))


def ks(reference: ArrayLike, current: ArrayLike) -> tuple[float, float] | None:
    """Two-sample KS statistic and p-value on the non-missing values (None if a side is empty)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return None
    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    psi: float
    ks_statistic: float | None
    ks_pvalue: float | None
    drifted: bool


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, settings: Settings
) -> list[FeatureDrift]:
    """PSI (and KS for numbers) for every configured feature."""
    config = settings.monitoring
    results = []
    for name, spec in settings.data.columns.items():
        if spec.dtype in {"int", "float"}:
            kind = "numeric"
            value = psi(reference[name], current[name], bins=config.bins)
            tested = ks(reference[name], current[name])
        else:
            kind = "categorical"
            value = category_psi(reference[name], current[name])
            tested = None
        statistic, pvalue = tested if tested is not None else (None, None)
        results.append(
            FeatureDrift(name, kind, value, statistic, pvalue, value > config.psi_threshold)
        )
    return results


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2e}" if 0 < abs(value) < 10**-digits else f"{value:.{digits}f}"


def render_report(
    results: Sequence[FeatureDrift],
    settings: Settings,
    batch_path: Path,
    rows: tuple[int, int],
) -> str:
    """``reports/drift.md``: the verdict first, then one table row per feature."""
    config = settings.monitoring
    drifted = [cell(result.name) for result in results if result.drifted]
    significant = [
        cell(result.name)
        for result in results
        if result.ks_pvalue is not None and result.ks_pvalue < config.ks_pvalue
    ]
    verdict = (
        f"**Drift detected** in {len(drifted)} of {len(results)} features: {', '.join(drifted)}."
        if drifted
        else f"**No drift**: every feature's PSI is at most {config.psi_threshold}."
    )
    lines = [
        "# Data drift report",
        "",
        f"- Batch: `{batch_path}` ({rows[1]} rows)",
        f"- Reference: training split in "
        f"`{settings.paths.models_dir / artefacts.REFERENCE_FILE}` "
        f"({rows[0]} rows)",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Drift rule: PSI > {config.psi_threshold} on any feature "
        f"(numeric PSI over {config.bins} reference-quantile bins)",
        "",
        verdict,
        "",
        "| feature | kind | PSI | KS statistic | KS p-value | drift |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for result in sorted(results, key=lambda item: item.psi, reverse=True):
        lines.append(
            f"| {cell(result.name)} | {result.kind} | {_number(result.psi)} "
            f"| {_number(result.ks_statistic)} | {_number(result.ks_pvalue)} "
            f"| {'**yes**' if result.drifted else 'no'} |"
        )
    lines += [
        "",
        "PSI: below 0.1 stable, 0.1-0.2 moderate shift, above 0.2 significant shift.",
        f"KS p-value below {config.ks_pvalue}: {', '.join(significant) or 'none'} "
        "(with large batches KS flags even small, harmless shifts, so PSI decides).",
        "",
    ]
    return "\n".join(lines)


def run_drift(settings: Settings, batch_path: Path) -> int:
    """Compare ``batch_path`` with the training reference; write the report; 1 if drifted."""
    reference = pd.DataFrame(artefacts.load_reference(settings.paths.models_dir))
    current = validate(
        read_table(batch_path, settings), settings, require_target=False, source=str(batch_path)
    )
    results = compare(reference, current, settings)
    report_path = settings.paths.reports_dir / REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report = render_report(results, settings, batch_path, (len(reference), len(current)))
    report_path.write_text(report, encoding="utf-8")
    drifted = [result.name for result in results if result.drifted]
    if drifted:
        logger.warning("drift above PSI %s in: %s", settings.monitoring.psi_threshold, drifted)
    else:
        logger.info("no drift in %s; report in %s", batch_path, report_path)
    return 1 if drifted else 0
