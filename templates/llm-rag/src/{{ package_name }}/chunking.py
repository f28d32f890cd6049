"""Heading-aware chunking of loaded documents.

Sizes are counted in words, where a word is any run of non-whitespace characters.

How :func:`chunk` works:

1. Sections are grouped into *units* by their heading path cut to ``split_level`` headings.
   By default the level is where the document first branches (for a Markdown file with one
   ``#`` title and several ``##`` headings that is the ``##`` level). A chunk never spans
   two units.
2. Inside a unit, consecutive sections that fit are merged whole, up to ``size`` words.
   A merged chunk keeps the heading path the sections share and the page of its first
   section.
3. A section longer than ``size`` is chunked on its own with a sliding window: each window
   ends at the last paragraph break in its second half if there is one, else at the last
   sentence (or list item / table row) end, else at the last line break, else after exactly
   ``size`` words. The next window starts ``overlap`` words before the previous end, so any
   span of at most ``overlap + 1`` words inside a section lies whole in some chunk.

Chunk text is a verbatim slice of the section text (line breaks kept); headings are not
prepended, they are in ``heading_path``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .loaders import Document, Section

__all__ = ["Chunk", "chunk", "dedupe"]

_WORD = re.compile(r"\S+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_ORDERED_ITEM = re.compile(r"\d{1,3}[.)]")
_TRAILING_CLOSERS = "\"')]}*_\u2019\u201d\u00bb"
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "vs.", "cf.", "approx.", "mr.", "mrs.", "ms.", "dr.", "st.", "no."}
)

# break strength of the gap in front of a word
_NONE, _LINE, _SENTENCE, _PARAGRAPH = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk_id: str
    source: str
    index: int
    text: str
    page: int | None
    heading_path: tuple[str, ...]

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def chunk(
    document: Document, size: int, overlap: int, *, split_level: int | None = None
) -> list[Chunk]:
    """Split ``document`` into chunks of at most ``size`` words.

    ``overlap`` words are repeated between consecutive windows of a long section.
    ``split_level`` fixes how many leading headings define a unit that chunks may not
    cross (0 lets any adjacent sections merge); ``None`` picks it from the document.
    """
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must satisfy 0 <= overlap < size ({size}), got {overlap}")
    if split_level is not None and split_level < 0:
        raise ValueError(f"split_level must be >= 0, got {split_level}")

    sections = [section for section in document.sections if section.text.strip()]
    level = _branch_level(sections) if split_level is None else split_level

    pieces: list[tuple[str, int | None, tuple[str, ...]]] = []
    for _, unit in itertools.groupby(sections, key=lambda s: s.heading_path[:level]):
        pieces.extend(_chunk_unit(list(unit), size, overlap))

    return [
        Chunk(
            chunk_id=_chunk_id(document.source, index, text),
            source=document.source,
            index=index,
            text=text,
            page=page,
            heading_path=path,
        )
        for index, (text, page, path) in enumerate(pieces)
    ]


def dedupe(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Drop chunks whose text (whitespace collapsed, case folded) was seen before."""
    seen: set[str] = set()
    kept: list[Chunk] = []
    for item in chunks:
        key = " ".join(item.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


# --------------------------------------------------------------------------- internals


def _chunk_id(source: str, index: int, text: str) -> str:
    payload = "\x1f".join((source, str(index), text)).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:32]


def _branch_level(sections: Sequence[Section]) -> int:
    """The shallowest heading depth at which sections stop sharing one heading prefix."""
    deepest = max((len(section.heading_path) for section in sections), default=0)
    for depth in range(1, deepest + 1):
        if len({section.heading_path[:depth] for section in sections}) > 1:
            return depth
    return deepest


def _common_prefix(paths: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    prefix = paths[0]
    for path in paths[1:]:
        length = 0
        for left, right in zip(prefix, path, strict=False):
            if left != right:
                break
            length += 1
        prefix = prefix[:length]
    return prefix


def _chunk_unit(
    sections: list[Section], size: int, overlap: int
) -> list[tuple[str, int | None, tuple[str, ...]]]:
    out: list[tuple[str, int | None, tuple[str, ...]]] = []
    group: list[Section] = []
    group_words = 0

    def flush() -> None:
        if group:
            text = "\n\n".join(section.text for section in group)
            path = _common_prefix([section.heading_path for section in group])
            out.append((text, group[0].page, path))
            group.clear()

    for section in sections:
        words = len(section.text.split())
        if words > size:
            flush()
            group_words = 0
            out.extend(
                (text, section.page, section.heading_path)
                for text in _split_text(section.text, size, overlap)
            )
            continue
        if group and group_words + words > size:
            flush()
            group_words = 0
        group.append(section)
        group_words += words
    flush()
    return out


def _ends_sentence(word: str, following: str) -> bool:
    bare = word.rstrip(_TRAILING_CLOSERS)
    if not bare.endswith((".", "!", "?")) or bare.casefold() in _ABBREVIATIONS:
        return False
    return not following[:1].islower()


def _starts_item(word: str) -> bool:
    return word[:1] in "|-*+>" or _ORDERED_ITEM.fullmatch(word) is not None


def _gap_strengths(text: str, words: list[re.Match[str]]) -> list[int]:
    """strengths[i] rates a cut in front of words[i] (index 0 is unused)."""
    strengths = [_NONE] * len(words)
    for i in range(1, len(words)):
        gap = text[words[i - 1].end() : words[i].start()]
        before, after = words[i - 1].group(), words[i].group()
        if _BLANK_LINE.search(gap):
            strengths[i] = _PARAGRAPH
        elif _ends_sentence(before, after) or (
            "\n" in gap and (_starts_item(after) or before.endswith("|"))
        ):
            strengths[i] = _SENTENCE
        elif "\n" in gap:
            strengths[i] = _LINE
    return strengths


def _window_end(strengths: list[int], start: int, limit: int, size: int, overlap: int) -> int:
    """Where to cut a window that starts at ``start`` and may run up to ``limit``."""
    # cutting at or before start + overlap would make no progress after the overlap
    floor = start + overlap + 1
    preferred = max(floor, start + size // 2)
    for strength in (_PARAGRAPH, _SENTENCE, _LINE):
        for end in range(limit, preferred - 1, -1):
            if strengths[end] >= strength:
                return end
    best, best_strength = limit, _NONE
    for end in range(min(limit, preferred - 1), floor - 1, -1):
        if strengths[end] > best_strength:
            best, best_strength = end, strengths[end]
    return best


def _split_text(text: str, size: int, overlap: int) -> list[str]:
    words = list(_WORD.finditer(text))
    strengths = _gap_strengths(text, words)
    pieces: list[str] = []
    start = 0
    while True:
        limit = start + size
        if limit >= len(words):
            pieces.append(text[words[start].start() : words[-1].end()])
            return pieces
        end = _window_end(strengths, start, limit, size, overlap)
        pieces.append(text[words[start].start() : words[end - 1].end()])
        start = end - overlap
