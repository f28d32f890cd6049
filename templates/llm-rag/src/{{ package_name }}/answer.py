"""Answer types shared by both answerers, and the mapping of [n] markers to passages.

A :class:`Passage` is a retrieved chunk as the answerers see it, numbered from 1 in the
order it is shown to the model. An answer cites passages with markers such as ``[2]``; a
grouped form such as ``[1, 3]`` is accepted too. Only markers of 1 to 3 digits count, so a
bracketed year such as ``[2024]`` is left alone, and a Markdown link ``[1](...)`` is not a
marker.

A model can cite a passage that does not exist (``[7]`` when there are 5).
:func:`clean_markers` removes such markers from the text, together with the spaces before
them, and rewrites a grouped marker to single ones holding only the passages that exist
(``[2, 9]`` becomes ``[2]``, ``[1, 3]`` becomes ``[1][3]``). :func:`cite` lists the
passages the markers name, in order of first use, each once.

Edit this when an answer or citation gains a field, or the marker syntax changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Answer", "Citation", "Passage", "cite", "clean_markers", "make_answer"]

# optional spaces before, then "[3]" or "[1, 3]"; not a Markdown link "[1](...)"
_MARKER = re.compile(r"(?P<lead>[ \t]*)\[(?P<numbers>\d{1,3}(?:[ \t]*,[ \t]*\d{1,3})*)\](?!\()")


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk; ``n`` is the 1-based number the prompt and the answer use."""

    n: int
    chunk_id: str
    source: str  # path relative to the documents folder, e.g. "expenses.md"
    page: int | None  # 1-based page for PDFs, else None
    heading: str  # heading path joined with " > ", or ""
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage an answer cites."""

    n: int
    source: str
    page: int | None
    chunk_id: str
    score: float
    heading: str


@dataclass(frozen=True, slots=True)
class Answer:
    """``generator`` is "extractive" or "llm:<model>"."""

    text: str
    citations: list[Citation]
    generator: str


def _numbers(match: re.Match[str]) -> list[int]:
    return [int(part) for part in match.group("numbers").split(",")]


def clean_markers(text: str, passages: Sequence[Passage]) -> str:
    """``text`` with every marker naming only passages in ``passages`` (see the module doc)."""
    known = {passage.n for passage in passages}

    def rewrite(match: re.Match[str]) -> str:
        kept = [n for n in _numbers(match) if n in known]
        if not kept:
            return ""
        return match.group("lead") + "".join(f"[{n}]" for n in kept)

    return _MARKER.sub(rewrite, text)


def cite(text: str, passages: Sequence[Passage]) -> list[Citation]:
    """The passages the markers in ``text`` name, in first-use order, each once.

    Numbers that name no passage are skipped; run :func:`clean_markers` to drop them from
    the text as well.
    """
    by_number: dict[int, Passage] = {}
    for passage in passages:
        by_number.setdefault(passage.n, passage)
    cited: dict[int, Citation] = {}
    for match in _MARKER.finditer(text):
        for n in _numbers(match):
            named = by_number.get(n)
            if named is not None and n not in cited:
                cited[n] = Citation(
                    n=n,
                    source=named.source,
                    page=named.page,
                    chunk_id=named.chunk_id,
                    score=named.score,
                    heading=named.heading,
                )
    return list(cited.values())


def make_answer(text: str, passages: Sequence[Passage], generator: str) -> Answer:
    """The finished answer: markers cleaned, surrounding whitespace trimmed, citations listed."""
    cleaned = clean_markers(text, passages).strip()
    return Answer(text=cleaned, citations=cite(cleaned, passages), generator=generator)
