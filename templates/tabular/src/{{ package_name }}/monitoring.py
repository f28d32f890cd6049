"""Data drift: does a new batch still look like the data the model was trained on?

``run_drift`` compares a batch (CSV or Parquet, checked with the training schema) with the
training split that ``train`` saved beside the model (``artefacts.REFERENCE_FILE``):

* **PSI** (population stability index) for every feature. Numbers are binned at the
  reference's quantiles, so each bin holds about the same share of training rows;
  categories are compared level by level. Missing values are a bin of their own, and so
  are categories never seen in training: both are exactly the changes that break models.
  Rule of thumb: below 0.1 stable, 0.1-0.2 a moderate shift, above 0.2 a real one.
* **A significance test** per feature: two-sample Kolmogorov-Smirnov for numbers,
  chi-square on the same bins as PSI for categories. PSI alone flags noise in a small
  batch (a hundred rows give PSI around 0.1 by chance); a test alone flags harmless
  shifts in a large one. A feature **drifts when both agree**: PSI above
  ``monitoring.psi_threshold`` and a p-value below ``monitoring.pvalue`` divided by the
  number of features (so thirty features do not give thirty chances of a false alarm).

The batch is ``--batch``, or by default the sample's "next month" batch while the data is
the sample, and otherwise the held-out test split of ``data.path`` (rows the model never
trained on, from the same file: the check CI runs, which passes unless the pipeline broke).
The report goes to ``reports/drift.md``; the return value (the CLI's exit code) is 1 when
any feature drifts, so a scheduled job can alert on it.
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
from .data import load, read_table, split
from .reports import cell
from .schema import validate

logger = logging.getLogger(__name__)

REPORT_FILE = "drift.md"
MISSING = "(missing)"
UNSEEN = "(unseen in training)"
# Share given to an empty bin so that log(current / reference) stays finite: a bin that is
# empty on one side still counts heavily, without one empty bin turning PSI into infinity.
EMPTY_BIN_SHARE = 1e-4
# Rows of the batch each bin must expect for the chi-square approximation to hold.
MIN_EXPECTED = 5.0


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


def _category_counts(
    reference: Sequence[Any] | pd.Series, current: Sequence[Any] | pd.Series
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Counts per reference level, plus missing and unseen, for both sides."""
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

    return counts(ref), counts(cur)


def category_psi(reference: Sequence[Any] | pd.Series, current: Sequence[Any] | pd.Series) -> float:
    """PSI of a categorical feature: one bin per reference level, plus missing and unseen."""
    return _psi_from_counts(*_category_counts(reference, current))


def ks(reference: ArrayLike, current: ArrayLike) -> tuple[float, float] | None:
    """Two-sample KS statistic and p-value on the non-missing values (None if a side is empty)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return None
    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


def chi_square(
    reference: Sequence[Any] | pd.Series, current: Sequence[Any] | pd.Series
) -> tuple[float, float] | None:
    """Chi-square test that ``current`` follows the reference's shares of the categories
    (and of missing and unseen values); None when fewer than two bins are left.

    The test is only trustworthy when every bin expects at least ``MIN_EXPECTED`` rows of
    the batch, so rarer bins are pooled (a 6 % category in a 30-row batch expects 1.8 rows:
    one row more or less would otherwise look like a shift).
    """
    ref_counts, cur_counts = _category_counts(reference, current)
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return None
    expected = ref_counts / ref_counts.sum() * cur_counts.sum()
    order = np.argsort(expected)
    rare = order[np.cumsum(expected[order]) < MIN_EXPECTED]
    # The rare bins together, plus the next-smallest bin when they still expect too few.
    pooled = order[: len(rare) + 1] if len(rare) else order[:0]
    kept = np.setdiff1d(np.arange(len(expected)), pooled)
    observed = np.append(cur_counts[kept], cur_counts[pooled].sum())
    wanted = np.append(expected[kept], expected[pooled].sum())
    if len(pooled) == 0:
        observed, wanted = observed[:-1], wanted[:-1]
    if len(observed) < 2:
        return None
    result = stats.chisquare(observed, wanted)
    return float(result.statistic), float(result.pvalue)


def significance(settings: Settings) -> float:
    """The p-value below which one feature's shift is not chance: ``monitoring.pvalue``
    shared among the features (Bonferroni), so a batch from the same data raises a false
    alarm on any feature with probability at most ``monitoring.pvalue``."""
    return settings.monitoring.pvalue / max(len(settings.data.columns), 1)


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    psi: float
    test: str
    statistic: float | None
    pvalue: float | None
    drifted: bool


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, settings: Settings
) -> list[FeatureDrift]:
    """PSI and a significance test for every configured feature."""
    config = settings.monitoring
    results = []
    for name, spec in settings.data.columns.items():
        if spec.dtype in {"int", "float"}:
            kind, test = "numeric", "KS"
            value = psi(reference[name], current[name], bins=config.bins)
            tested = ks(reference[name], current[name])
        else:
            kind, test = "categorical", "chi-square"
            value = category_psi(reference[name], current[name])
            tested = chi_square(reference[name], current[name])
        statistic, pvalue = tested if tested is not None else (None, None)
        significant = pvalue is not None and pvalue < significance(settings)
        drifted = value > config.psi_threshold and significant
        results.append(FeatureDrift(name, kind, value, test, statistic, pvalue, drifted))
    return results


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2e}" if 0 < abs(value) < 10**-digits else f"{value:.{digits}f}"


def render_report(
    results: Sequence[FeatureDrift],
    settings: Settings,
    batch: str,
    rows: tuple[int, int],
) -> str:
    """``reports/drift.md``: the verdict first, then one table row per feature."""
    config = settings.monitoring
    drifted = [cell(result.name) for result in results if result.drifted]
    shifted = [
        cell(result.name)
        for result in results
        if result.psi > config.psi_threshold and not result.drifted
    ]
    verdict = (
        f"**Drift detected** in {len(drifted)} of {len(results)} features: {', '.join(drifted)}."
        if drifted
        else f"**No drift** in {len(results)} features."
    )
    lines = [
        "# Data drift report",
        "",
        f"- Batch: {batch} ({rows[1]} rows)",
        f"- Reference: training split in "
        f"`{settings.paths.models_dir / artefacts.REFERENCE_FILE}` "
        f"({rows[0]} rows)",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Drift rule: PSI > {config.psi_threshold} (numbers over {config.bins} "
        f"reference-quantile bins) and p-value < {_number(significance(settings))} (KS for "
        f"numbers, chi-square for categories; {config.pvalue} shared by "
        f"{len(results)} features)",
        "",
        verdict,
        "",
        "| feature | kind | PSI | test | statistic | p-value | drift |",
        "|---|---|---:|---|---:|---:|:---:|",
    ]
    for result in sorted(results, key=lambda item: item.psi, reverse=True):
        lines.append(
            f"| {cell(result.name)} | {result.kind} | {_number(result.psi)} | {result.test} "
            f"| {_number(result.statistic)} | {_number(result.pvalue)} "
            f"| {'**yes**' if result.drifted else 'no'} |"
        )
    lines += [
        "",
        "PSI: below 0.1 stable, 0.1-0.2 moderate shift, above 0.2 significant shift.",
        f"PSI above {config.psi_threshold} that the test finds within chance (too few rows "
        f"to tell): {', '.join(shifted) or 'none'}.",
        "",
    ]
    return "\n".join(lines)


def default_batch(settings: Settings) -> tuple[str, pd.DataFrame]:
    """The batch ``drift`` compares when none is given, described for the report."""
    if settings.uses_sample:
        path = settings.sample.new_batch_path
        return f"`{path}`", _read_batch(path, settings)
    test = split(load(settings), settings).test
    return f"held-out test split of `{settings.data.path}`", test


def _read_batch(path: Path, settings: Settings) -> pd.DataFrame:
    return validate(read_table(path, settings), settings, require_target=False, source=str(path))


def run_drift(settings: Settings, batch_path: Path | None = None) -> int:
    """Compare a batch (default: ``default_batch``) with the training reference; write the
    report; return 1 if any feature drifted."""
    reference = pd.DataFrame(artefacts.load_reference(settings.paths.models_dir))
    if batch_path is None:
        batch, current = default_batch(settings)
    else:
        batch, current = f"`{batch_path}`", _read_batch(batch_path, settings)
    results = compare(reference, current, settings)
    report_path = settings.paths.reports_dir / REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report = render_report(results, settings, batch, (len(reference), len(current)))
    report_path.write_text(report, encoding="utf-8")
    drifted = [result.name for result in results if result.drifted]
    if drifted:
        logger.warning("drift in %s: %s; report in %s", batch, drifted, report_path)
    else:
        logger.info("no drift in %s; report in %s", batch, report_path)
    return 1 if drifted else 0
