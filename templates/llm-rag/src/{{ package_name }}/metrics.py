"""The numbers evaluation reports: ranking metrics and groundedness.

Ranking metrics take one list per question: whether each ranked chunk is relevant, best
first. Groundedness takes an answer and the texts of the chunks it cites.

Edit this module to add a metric; ``evaluate`` decides where it is reported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from .bm25 import tokenize

CITATION = re.compile(r"\[\d+\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SUPPORTED = 0.8
"""A sentence is supported when at least this share of its words are in the cited chunks."""


def hit_at_k(relevance: Sequence[bool], k: int) -> float:
    """1.0 if any of the first ``k`` results is relevant, else 0.0."""
    return 1.0 if any(relevance[:k]) else 0.0


def reciprocal_rank(relevance: Iterable[bool]) -> float:
    """1 / rank of the first relevant result (0.0 if there is none)."""
    for rank, relevant in enumerate(relevance, start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevance: Sequence[bool], k: int, n_relevant: int | None = None) -> float:
    """Binary nDCG@k.

    DCG = sum of 1 / log2(rank + 1) over relevant results in the top ``k``. The ideal DCG puts
    ``n_relevant`` relevant results first (the number in the whole collection; when omitted,
    the number found in ``relevance``). Returns 0.0 when there is nothing relevant.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevance[:k], 1) if rel)
    found = sum(relevance[:k])
    total = found if n_relevant is None else max(n_relevant, found)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(total, k) + 1))
    return dcg / ideal if ideal > 0 else 0.0


def grounded(answer: str, cited: Sequence[str]) -> float:
    """The share of the answer's sentences supported by the cited chunks: at least
    ``SUPPORTED`` of a sentence's words (stop words and citation markers aside) occur in
    them. An answer citing nothing supports nothing (0); an empty answer scores 1."""
    sentences = [
        words for part in SENTENCE_END.split(CITATION.sub(" ", answer)) if (words := tokenize(part))
    ]
    if not sentences:
        return 1.0
    vocabulary = {word for text in cited for word in tokenize(text)}
    supported = sum(
        sum(word in vocabulary for word in words) / len(words) >= SUPPORTED for words in sentences
    )
    return supported / len(sentences)
