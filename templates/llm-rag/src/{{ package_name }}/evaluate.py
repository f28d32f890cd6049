"""``make eval``: how well the index finds the passages that answer the evaluation set, side
by side for dense, BM25 and hybrid retrieval, and how the answers hold up.

For each answerable question, each mode ranks ``retrieval.top_k`` chunks; a chunk is
relevant when it holds the question's passage (``questions.is_relevant``). Reported per mode:
hit@1, hit@3 and hit@5 (a relevant chunk among the first k), MRR and nDCG@5. BM25 is the
baseline the others stand beside: the classic keyword search.

Then, with the configured mode: abstention on the unanswerable questions (how many the
service declines, and how many of its declines were right), groundedness of the answers (the
share of answer sentences whose words are in the chunks they cite: ``metrics.grounded``),
and latency (retrieval per mode, and whole answers). Everything goes to
``reports/metrics.json``; the README's Results and the model card's Metrics are written from
it (``results``).

Edit this module to change what is measured; ``results`` writes the words.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import artefacts, questions
from .chunking import Chunk
from .config import MODES, Mode, Settings
from .encoder import Encoder
from .metrics import grounded, hit_at_k, ndcg_at_k, reciprocal_rank
from .questions import Question
from .retrieval import Retriever, in_memory, open_index

logger = logging.getLogger(__name__)

KS = (1, 3, 5)
SWEEP_STEPS = (-0.1, -0.05, 0.05, 0.1)
DEPTH = 5
REFERENCE_SENTENCES = 200


def ranking_scores(
    retriever: Retriever, items: Sequence[Question], mode: Mode
) -> tuple[dict[str, float], list[float]]:
    """hit@k, MRR and nDCG@5 of ``mode`` over the answerable ``items``, and the retrieval
    times (seconds)."""
    relevance, seconds = [], []
    for item in items:
        found = retriever.retrieve(item.question, mode=mode, top_k=DEPTH)
        seconds.append(found.seconds)
        relevance.append(
            [questions.is_relevant(item, hit.chunk.source, hit.chunk.text) for hit in found.hits]
        )
    if not relevance:
        return {}, seconds
    scores = {f"hit@{k}": statistics.fmean(hit_at_k(row, k) for row in relevance) for k in KS}
    scores["mrr"] = statistics.fmean(reciprocal_rank(row) for row in relevance)
    scores["ndcg@5"] = statistics.fmean(ndcg_at_k(row, DEPTH, 1) for row in relevance)
    return {name: round(value, 4) for name, value in scores.items()}, seconds


def _questions(settings: Settings) -> list[Question]:
    path = settings.data.questions
    return questions.load(path) if path is not None and path.is_file() else []


def _reference_questions(settings: Settings, chunks: Sequence[Chunk]) -> list[str]:
    """What drift compares live questions with: the evaluation questions, or without an
    evaluation set, the first sentence of (up to) ``REFERENCE_SENTENCES`` chunks."""
    asked = [item.question for item in _questions(settings)]
    if asked:
        return asked
    step = max(1, len(chunks) // REFERENCE_SENTENCES)
    return [item.text.split(". ")[0][:300] for item in chunks[::step]][:REFERENCE_SENTENCES]


def reference_and_scores(
    settings: Settings, chunks: Sequence[Chunk], vectors: NDArray[np.float32], encoder: Encoder
) -> tuple[dict[str, Any], dict[str, float]]:
    """At ingest: the drift reference (best similarity and length of each reference question)
    and the configured mode's ranking scores (the index's ``test_metrics``)."""
    retriever = in_memory(settings, chunks, vectors, encoder)
    asked = _reference_questions(settings, chunks)
    best = [retriever.retrieve(text, top_k=1).best_similarity for text in asked]
    answerable = [item for item in _questions(settings) if item.answerable]
    scores, _ = ranking_scores(retriever, answerable, settings.retrieval.mode)
    reference = {
        "questions": "evaluation set" if answerable else "chunk sentences",
        "best_similarity": [round(value, 5) for value in best],
        "question_words": [len(text.split()) for text in asked],
        "abstained": sum(value < settings.retrieval.abstain_below for value in best),
    }
    return reference, scores


def _milliseconds(seconds: Sequence[float]) -> dict[str, float]:
    values = sorted(seconds)
    if not values:
        return {}
    return {
        "p50": round(1000 * float(np.percentile(values, 50)), 2),
        "p95": round(1000 * float(np.percentile(values, 95)), 2),
    }


def best_similarities(retriever: Retriever, items: Sequence[Question]) -> dict[str, float]:
    """Each question's best cosine similarity to any chunk: what abstention decides on."""
    return {item.id: retriever.retrieve(item.question, top_k=1).best_similarity for item in items}


def abstention(
    items: Sequence[Question], best: dict[str, float], threshold: float
) -> dict[str, Any]:
    """How the threshold decides on every question of the set."""
    unanswerable = [item.id for item in items if not item.answerable]
    answerable = [item.id for item in items if item.answerable]

    def declined(at: float) -> tuple[int, int]:
        return (
            sum(best[name] < at for name in unanswerable),
            sum(best[name] < at for name in answerable),
        )

    caught, wrong = declined(threshold)
    # The same decision at nearby thresholds: what moving retrieval.abstain_below would do.
    sweep = []
    for step in SWEEP_STEPS:
        at = round(threshold + step, 2)
        if -1 < at < 1:
            right, wrongly = declined(at)
            sweep.append({"threshold": at, "caught": right, "answerable_declined": wrongly})
    return {
        "threshold": threshold,
        "unanswerable": len(unanswerable),
        "caught": caught,
        "recall": round(caught / len(unanswerable), 4) if unanswerable else None,
        "answerable_declined": wrong,
        "precision": round(caught / (caught + wrong), 4) if caught + wrong else None,
        "sweep": sweep,
    }


def abstention_figure(
    settings: Settings, items: Sequence[Question], best: dict[str, float]
) -> Path:
    """Best similarity of answerable and unanswerable questions, with the threshold."""
    import matplotlib.pyplot as plt

    from .reports import figures_dir, save_figure

    threshold = settings.retrieval.abstain_below
    figure, ax = plt.subplots(figsize=(6.4, 3.6))
    bins = np.linspace(min(min(best.values()), threshold) - 0.05, 1.0, 30).tolist()
    for answerable, label in ((True, "answerable"), (False, "not in the documents")):
        values = [best[item.id] for item in items if item.answerable is answerable]
        if values:
            ax.hist(values, bins=bins, alpha=0.6, label=f"{label} ({len(values)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"abstain below {threshold}")
    ax.set_title("Best cosine similarity of each evaluation question to any chunk")
    ax.set_xlabel("best cosine similarity")
    ax.set_ylabel("questions")
    ax.legend(loc="upper left")
    path = save_figure(figure, figures_dir(settings, "eval") / "abstention.png")
    plt.close(figure)
    return path


def answer_quality(
    settings: Settings, retriever: Retriever, items: Sequence[Question]
) -> dict[str, Any]:
    """Groundedness and latency of whole answers on the answerable questions."""
    from .answering import Answerer

    answerer = Answerer(retriever, settings)
    shares, seconds, generator = [], [], ""
    for item in items:
        started = time.perf_counter()
        result = answerer.answer(item.question)
        seconds.append(time.perf_counter() - started)
        generator = result.answer.generator
        if not result.abstained:
            cited = [passage.text for passage in result.cited_passages]
            shares.append(grounded(result.answer.text, cited))
    return {
        "generator": generator,
        "answered": len(shares),
        "groundedness": round(statistics.fmean(shares), 4) if shares else None,
        "latency_ms": _milliseconds(seconds),
    }


def build_report(settings: Settings) -> tuple[dict[str, Any], dict[str, float]]:
    """The report, and each question's best similarity (for the figure)."""
    saved = artefacts.load(settings.paths.models_dir)
    items = _questions(settings)
    if not items:
        raise FileNotFoundError(
            f"no evaluation set at {settings.data.questions} (data.questions): write one "
            "(see src/{package}/questions.py for the format) to measure retrieval"
        )
    retriever = open_index(settings, saved)
    answerable = [item for item in items if item.answerable]
    modes, latency = {}, {}
    for mode in MODES:
        modes[mode], seconds = ranking_scores(retriever, answerable, mode)
        latency[mode] = _milliseconds(seconds)
    best = best_similarities(retriever, items)
    return {
        "model_version": saved.metadata.model_version,
        "trained_at": saved.metadata.trained_at.isoformat(),
        "questions": {"answerable": len(answerable), "unanswerable": len(items) - len(answerable)},
        "chunks": saved.metadata.chunks,
        "mode": settings.retrieval.mode,
        "top_k": settings.retrieval.top_k,
        "baseline": "bm25",
        "retrieval": modes,
        "retrieval_latency_ms": latency,
        "abstention": abstention(items, best, settings.retrieval.abstain_below),
        "answers": answer_quality(settings, retriever, answerable),
    }, best


def run(settings: Settings) -> dict[str, Any]:
    """Measure the current index and write ``reports/metrics.json`` and the README."""
    from .results import write_prose

    report, best = build_report(settings)
    reports_dir = settings.paths.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "metrics.json"
    path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    items = _questions(settings)
    write_prose(settings, report, [abstention_figure(settings, items, best)])
    hybrid = report["retrieval"].get("hybrid", {})
    logger.info(
        "evaluation written",
        extra={"file": str(path), "hit@5": hybrid.get("hit@5"), "mrr": hybrid.get("mrr")},
    )
    return report
