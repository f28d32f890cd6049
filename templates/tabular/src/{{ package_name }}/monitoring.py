"""Data drift: does a new batch still look like the data the model was trained on?

``run_drift`` compares a batch (CSV or Parquet, checked with the training schema) with the
training split that ``train`` saved beside the model (``artefacts.REFERENCE_FILE``):

* **PSI** (population stability index) for every feature, and **a significance test**
  (Kolmogorov-Smirnov for numbers, chi-square for categories): the statistics are in
  ``drift.py``, shared with every variant. A feature **drifts when both agree**: PSI above
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
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import artefacts
from .config import Settings
from .data import load, read_table, split
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
from .reports import cell
from .schema import validate

logger = logging.getLogger(__name__)

REPORT_FILE = "drift.md"


def significance(settings: Settings) -> float:
    """The p-value below which one feature's shift is not chance: ``monitoring.pvalue``
    shared among the features (Bonferroni), so a batch from the same data raises a false
    alarm on any feature with probability at most ``monitoring.pvalue``."""
    return settings.monitoring.pvalue / max(len(settings.data.columns), 1)


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
        results.append(
            judge(
                name,
                kind,
                value,
                test,
                tested,
                threshold=config.psi_threshold,
                alpha=significance(settings),
            )
        )
    return results


def render_report(
    results: Sequence[FeatureDrift],
    settings: Settings,
    batch: str,
    rows: tuple[int, int],
) -> str:
    """``reports/drift.md``: the verdict first, then one table row per feature."""
    config = settings.monitoring
    shifted = [
        cell(result.name)
        for result in results
        if result.psi > config.psi_threshold and not result.drifted
    ]
    lines = [
        "# Data drift report",
        "",
        f"- Batch: {batch} ({rows[1]} rows)",
        f"- Reference: training split in "
        f"`{settings.paths.models_dir / artefacts.REFERENCE_FILE}` "
        f"({rows[0]} rows)",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Drift rule: PSI > {config.psi_threshold} (numbers over {config.bins} "
        f"reference-quantile bins) and p-value < {shown(significance(settings))} (KS for "
        f"numbers, chi-square for categories; {config.pvalue} shared by "
        f"{len(results)} features)",
        "",
        verdict(results, "features"),
        "",
        *report_table(results, "feature", "statistic"),
    ]
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
