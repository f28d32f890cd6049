"""Drift: are people asking what the index was built to answer?

``run_drift`` compares a batch of questions (a text file, one question per line, or JSON
lines with a ``question`` key) with the reference ``ingest`` saved beside the index
(``artefacts.REFERENCE_FILE``: the evaluation questions, as retrieval saw them):

* **retrieval scores**: each question's best cosine similarity to any chunk; questions
  about things the documents do not cover score lower;
* **abstention rate**: the share of questions answered "not in the documents";
* **query drift**: each question's similarity to its nearest evaluation question (for the
  reference: to its nearest other evaluation question), and question length in words.

Each statistic gets a PSI and a significance test (``drift.py``, shared with every
variant); it **drifts when both agree**: PSI above ``monitoring.psi_threshold`` and a
p-value below ``monitoring.pvalue`` shared among the statistics. The batch is ``--batch``,
by default the sample's ``new_questions.txt`` while the data is the sample. The report goes
to ``reports/drift.md``; the return value (the CLI's exit code) is 1 on drift.

Edit this file to compare another statistic (topics, languages, the sources cited).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import artefacts, questions
from .config import Settings
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
from .encoder import Encoder
from .retrieval import open_index

logger = logging.getLogger(__name__)

REPORT_FILE = "drift.md"
NUMERIC = ("best similarity", "nearest evaluation question", "question words")


def read_batch(path: Path) -> list[str]:
    """The questions in ``path``: plain lines, or JSON objects with a ``question``."""
    if not path.is_file():
        raise FileNotFoundError(f"the batch {path} does not exist")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if text.startswith("{"):
            try:
                text = str(json.loads(text)["question"]).strip()
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{path}:{number}: a JSON line needs a `question`") from None
        if text:
            found.append(text)
    if not found:
        raise ValueError(f"{path} holds no question")
    return found


def default_batch(settings: Settings) -> Path:
    """The sample's new questions; with your own documents, your evaluation set (the report
    then compares it with itself: pass a batch of questions people asked to learn more)."""
    if settings.uses_sample:
        return settings.sample.new_questions
    if settings.data.questions is not None and settings.data.questions.is_file():
        logger.warning(
            "no batch given: comparing the evaluation set with itself; pass one "
            "(make drift BATCH=questions.txt) of questions people asked"
        )
        return settings.data.questions
    raise FileNotFoundError(
        "no batch given and no evaluation set (data.questions): pass a file of questions "
        "people asked, one per line (make drift BATCH=questions.txt)"
    )


def nearest(vectors: np.ndarray, others: np.ndarray, leave_one_out: bool = False) -> list[float]:
    """For each row of ``vectors``, its highest cosine similarity to a row of ``others``."""
    similarity = vectors @ others.T
    if leave_one_out:
        np.fill_diagonal(similarity, -1.0)
    return [round(float(value), 5) for value in similarity.max(axis=1)]


def compare(
    before: dict[str, list[Any]], after: dict[str, list[Any]], settings: Settings
) -> list[FeatureDrift]:
    config = settings.monitoring
    alpha = config.pvalue / (len(NUMERIC) + 1)  # Bonferroni over every statistic compared
    results = [
        judge(
            name,
            "numeric",
            psi(before[name], after[name], bins=config.bins),
            "KS",
            ks(before[name], after[name]),
            threshold=config.psi_threshold,
            alpha=alpha,
        )
        for name in NUMERIC
    ]
    results.append(
        judge(
            "abstained",
            "categorical",
            category_psi(before["abstained"], after["abstained"]),
            "chi-square",
            chi_square(before["abstained"], after["abstained"]),
            threshold=config.psi_threshold,
            alpha=alpha,
        )
    )
    return results


def statistics_of(
    settings: Settings, saved: artefacts.SavedIndex, batch: Sequence[str]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The reference's statistics and the batch's, measured the same way."""
    encoder = Encoder(saved.encoder_path, saved.tokenizer_path, saved.metadata.embedding.max_tokens)
    reference = saved.reference()
    threshold = settings.retrieval.abstain_below
    path = settings.data.questions
    asked = [item.question for item in questions.load(path)] if path and path.is_file() else []
    retriever = open_index(settings, saved)
    best = [retriever.retrieve(text, top_k=1).best_similarity for text in batch]
    batch_vectors = encoder.encode(batch)
    if asked:
        asked_vectors = encoder.encode(asked)
        reference_nearest = nearest(asked_vectors, asked_vectors, leave_one_out=True)
        batch_nearest = nearest(batch_vectors, asked_vectors)
    else:  # no evaluation set: neither side has a nearest question to measure
        reference_nearest, batch_nearest = [1.0], [1.0]
    before: dict[str, list[Any]] = {
        "best similarity": reference["best_similarity"],
        "nearest evaluation question": reference_nearest,
        "question words": reference["question_words"],
        "abstained": [value < threshold for value in reference["best_similarity"]],
    }
    after: dict[str, list[Any]] = {
        "best similarity": best,
        "nearest evaluation question": batch_nearest,
        "question words": [len(text.split()) for text in batch],
        "abstained": [value < threshold for value in best],
    }
    return before, after


def render_report(
    results: Sequence[FeatureDrift],
    settings: Settings,
    batch: Path,
    before: dict[str, list[Any]],
    after: dict[str, list[Any]],
) -> str:
    """``reports/drift.md``: the verdict first, then one row per statistic."""
    config = settings.monitoring
    rate_before = sum(before["abstained"]) / len(before["abstained"])
    rate_after = sum(after["abstained"]) / len(after["abstained"])
    lines = [
        "# Question drift report",
        "",
        f"- Batch: `{batch}` ({len(after['abstained'])} questions)",
        f"- Reference: the evaluation questions as retrieval saw them at ingest "
        f"({len(before['abstained'])}), in `{settings.paths.models_dir}/<version>/"
        f"{artefacts.REFERENCE_FILE}`",
        f"- Abstention rate: {rate_before:.1%} in the reference, {rate_after:.1%} in the batch",
        f"- Generated: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Drift rule: PSI > {config.psi_threshold} and p-value < "
        f"{shown(config.pvalue / len(results))} ({config.pvalue} shared by {len(results)} "
        "statistics; KS for numbers, chi-square for categories)",
        "",
        verdict(results, "statistics"),
        "",
        *report_table(results, "statistic", "statistic value"),
    ]
    return "\n".join([*lines, ""])


def run_drift(settings: Settings, batch_path: Path | None = None) -> int:
    """Compare a batch of questions with the saved reference; write the report; return 1 if
    any statistic drifted."""
    saved = artefacts.load(settings.paths.models_dir)
    path = batch_path or default_batch(settings)
    batch = read_batch(path)
    before, after = statistics_of(settings, saved, batch)
    results = compare(before, after, settings)
    report_path = settings.paths.reports_dir / REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_report(results, settings, path, before, after), "utf-8")
    drifted = [result.name for result in results if result.drifted]
    if drifted:
        logger.warning("drift in %s; report in %s", ", ".join(drifted), report_path)
        return 1
    logger.info("no drift in %s; report in %s", path, report_path)
    return 0
