"""Drift statistics: has a distribution moved since training, and is the move more than chance?

* **PSI** (population stability index): numbers are binned at the reference's quantiles, so
  each bin holds about the same share of reference values; categories are compared level by
  level. Missing values are a bin of their own, and so are categories never seen in the
  reference: both are exactly the changes that break models. Rule of thumb: below 0.1
  stable, 0.1-0.2 a moderate shift, above 0.2 a real one.
* **A significance test**: two-sample Kolmogorov-Smirnov for numbers, chi-square on the same
  bins as PSI for categories. PSI alone flags noise in a small batch (a hundred values give
  PSI around 0.1 by chance); a test alone flags harmless shifts in a large one, so a
  variant's ``monitoring`` calls a statistic drifted when both agree (``FeatureDrift``).

Machinery shared by every variant of the template: ``monitoring.py`` decides what to
compare (table columns, image statistics, predictions, questions) and writes the report,
with the verdict and the table in the same words and columns here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _category_counts(
    reference: Iterable[Any], current: Iterable[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Counts per reference level, plus missing and unseen, for both sides."""
    ref, cur = list(reference), list(current)
    levels = sorted({str(value) for value in ref if not _missing(value)})
    index = {level: number for number, level in enumerate(levels)}

    def counts(values: list[Any]) -> NDArray[np.float64]:
        tally = np.zeros(len(levels) + 2, dtype=np.float64)
        for value in values:
            slot = len(levels) if _missing(value) else index.get(str(value), len(levels) + 1)
            tally[slot] += 1
        return tally

    return counts(ref), counts(cur)


def category_psi(reference: Iterable[Any], current: Iterable[Any]) -> float:
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


def chi_square(reference: Iterable[Any], current: Iterable[Any]) -> tuple[float, float] | None:
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


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    psi: float
    test: str
    statistic: float | None
    pvalue: float | None
    drifted: bool


def judge(
    name: str,
    kind: str,
    value: float,
    test: str,
    tested: tuple[float, float] | None,
    *,
    threshold: float,
    alpha: float,
) -> FeatureDrift:
    """A statistic drifts when PSI is above ``threshold`` and the test's p-value below
    ``alpha`` (already shared among the statistics compared)."""
    statistic, pvalue = tested if tested is not None else (None, None)
    significant = pvalue is not None and pvalue < alpha
    return FeatureDrift(
        name, kind, value, test, statistic, pvalue, value > threshold and significant
    )


# --- the report's common parts -----------------------------------------------------------


def shown(value: float | None, digits: int = 3) -> str:
    """A statistic as the report shows it: ``n/a`` when not computed, tiny p-values in
    scientific notation (0.000 would read as impossible), else ``digits`` decimals."""
    if value is None:
        return "n/a"
    return f"{value:.2e}" if 0 < abs(value) < 10**-digits else f"{value:.{digits}f}"


def _name(name: str) -> str:
    """A statistic's or column's name as Markdown that renders as itself in a table."""
    return html.escape(name, quote=False).replace("|", "\\|")


def verdict(results: Sequence[FeatureDrift], noun: str) -> str:
    """The report's first sentence: which of the ``noun`` (features, statistics) drifted."""
    drifted = [_name(result.name) for result in results if result.drifted]
    if drifted:
        named = ", ".join(drifted)
        return f"**Drift detected** in {len(drifted)} of {len(results)} {noun}: {named}."
    return f"**No drift** in {len(results)} {noun}."


def report_table(results: Sequence[FeatureDrift], subject: str, value: str) -> list[str]:
    """One Markdown row per result, the largest PSI first; ``subject`` and ``value`` head
    the first column and the test statistic's."""
    lines = [
        f"| {subject} | kind | PSI | test | {value} | p-value | drift |",
        "|---|---|---:|---|---:|---:|:---:|",
    ]
    for result in sorted(results, key=lambda item: item.psi, reverse=True):
        lines.append(
            f"| {_name(result.name)} | {result.kind} | {shown(result.psi)} | {result.test} "
            f"| {shown(result.statistic)} | {shown(result.pvalue)} "
            f"| {'**yes**' if result.drifted else 'no'} |"
        )
    return lines
