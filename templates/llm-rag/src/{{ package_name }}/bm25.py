"""Okapi BM25 over chunk texts, in pure Python.

Scoring, for a query q and a document d of length |d| (in tokens)::

    score(q, d) = sum over distinct query terms t of
        idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))

    idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

with N documents, n(t) of them containing t, and avgdl the mean document length. This idf
(the "plus one" variant) never goes negative, so a term that occurs in most chunks still
counts a little instead of pushing scores down. A term repeated in the query counts once.

Tokens are lowercase runs of letters and digits (apostrophes inside a word are dropped, so
"don't" -> "dont"); a short list of English stop words is removed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["STOP_WORDS", "BM25Index", "tokenize"]

STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    }
)

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stop words."""
    tokens = (
        match.replace("'", "") for match in _TOKEN.findall(text.lower().replace("\u2019", "'"))
    )
    return [token for token in tokens if token not in STOP_WORDS]


@dataclass(frozen=True, slots=True)
class _Scored:
    position: int
    score: float


class BM25Index:
    """BM25 over a fixed list of texts; results refer to positions in that list."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = k1
        self.b = b
        self._term_freqs = [Counter(tokenize(text)) for text in texts]
        self._lengths = [sum(freqs.values()) for freqs in self._term_freqs]
        self.size = len(texts)
        self.avgdl = sum(self._lengths) / self.size if self.size else 0.0
        doc_freq: Counter[str] = Counter()
        for freqs in self._term_freqs:
            doc_freq.update(freqs.keys())
        self._idf = {term: self._idf_of(n) for term, n in doc_freq.items()}
        # inverted lists: term -> [(position, tf)]
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for position, freqs in enumerate(self._term_freqs):
            for term, tf in freqs.items():
                self._postings.setdefault(term, []).append((position, tf))

    def _idf_of(self, n: int) -> float:
        return math.log(1.0 + (self.size - n + 0.5) / (n + 0.5))

    def idf(self, term: str) -> float:
        """idf of an already tokenised term (0 for a term in no document)."""
        return self._idf.get(term, 0.0)

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every document, in input order."""
        totals = [0.0] * self.size
        if not self.size or self.avgdl == 0:
            return totals
        for term in dict.fromkeys(tokenize(query)):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for position, tf in self._postings[term]:
                norm = self.k1 * (1.0 - self.b + self.b * self._lengths[position] / self.avgdl)
                totals[position] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return totals

    def search(self, query: str, top_k: int = 5) -> list[tuple[int, float]]:
        """``(position, score)`` of the ``top_k`` best documents with a score above 0.

        Ties keep input order, so results are deterministic.
        """
        if top_k <= 0:
            return []
        ranked = sorted(
            (_Scored(i, s) for i, s in enumerate(self.scores(query)) if s > 0),
            key=lambda item: (-item.score, item.position),
        )
        return [(item.position, item.score) for item in ranked[:top_k]]
