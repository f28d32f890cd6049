"""The offline answerer used when no LLM is configured: quote the best-matching sentences.

Each passage is cut into sentences. Markdown is read loosely: headings and table rules are
skipped, every list item is a sentence of its own, blockquote markers are dropped, and a
table row is written out with its column headers ("Vehicle: Bicycle; First 10,000 ...").
Sentences ending in ":" (lead-ins to a list) are not quoted.

Retrieved text is untrusted, so each sentence goes through :func:`looks_like_injection`
first: a sentence that addresses an AI system ("notice to any AI assistant", "if you are
a language model"), tries to override its instructions ("ignore all previous
instructions"), asks for its prompt ("reveal your system prompt", "hidden instructions"),
tells it what to say to the user ("tell the user that ...") or carries chat-template
tokens is never quoted. The filter works sentence by sentence: the other sentences of the
same paragraph stay quotable, and an injection written so that no single sentence matches
these patterns gets through.

Scoring is lexical and deterministic. Words are lower-cased, stop words dropped and common
suffixes stripped ("approved", "approval" and "approve" all become "approv"). Each
question term is weighted ``ln(1 + S / df)`` over the ``S`` candidate sentences, ``df`` of
which contain it (``df = 0.5`` when none does, so a question term missing from every
passage still counts against the match). A sentence's score is the weight of the question
terms it contains over the weight of all of them, in [0, 1]. The best sentence is taken if
it reaches ``min_score``; then, up to ``max_sentences``, the sentence adding the most
weight of not yet covered question terms, while it adds at least ``min_gain`` and scores
at least ``relative_cut`` times the first sentence's score on its own (so a sentence that
only shares one common word with the question is not tacked on). Ties go to the earlier
passage, then the earlier sentence. The chosen sentences are printed in passage order,
each followed by its passage's marker, such as ``[2]``.

Edit this when the sentence splitting, the scoring or the injection patterns change.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .answer import Passage

__all__ = ["GENERATOR", "extract", "looks_like_injection", "sentences", "terms"]

GENERATOR = "extractive"

# fmt: off
_STOP_WORDS = frozenset({
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "during", "each", "else", "for", "from", "get", "gets", "got", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "may", "me", "might", "more", "most", "must", "my",
    "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "out", "over", "own", "please", "same", "shall", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "us", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with",
    "would", "yes", "yet", "you", "your", "yours"
})
# fmt: on
_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")
# (suffix, replacement), longest first; the stem left must keep at least 3 letters
_SUFFIXES = (
    ("ically", "ic"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ments", ""),
    ("ment", ""),
    ("ness", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ed", ""),
    ("es", ""),
    ("al", ""),
    ("ly", ""),
    ("s", ""),
)
_NO_UNDOUBLE = frozenset("lsz")

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"')\u201d\u2019]))\s+(?=[\"'(\u201c\u2018]?[A-Z0-9\u00a3$\u20ac])"
)

_AI = (
    r"(?:ai(?:\s+(?:assistant|system|model|agent|tool|bot))?|artificial\s+intelligence"
    r"|chat\s?bot|llm|(?:large\s+)?language\s+model|gpt)s?"
)
_INJECTION = re.compile(
    rf"""
    # addressed to an AI system
      \b(?:notice|note|message|instructions?|attention|reminder|warning)\s+(?:to|for)\s+
        (?:any\s+|all\s+|every\s+|the\s+)?{_AI}\b
    | \b(?:dear|hey|hello|attention)\s+(?:any\s+|all\s+)?{_AI}\b
    | \b{_AI}\s+(?:reading|processing|summari[sz]ing|parsing|seeing)\s+(?:this|these)\b
    | \bif\s+you\s+are\s+(?:an?\s+)?{_AI}\b
    | \bact\s+as\s+(?:an?\s+)?(?:unrestricted\s+|unfiltered\s+)?{_AI}\b
    # overriding its instructions
    | \b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?(?:of\s+)?
        (?:the\s+|your\s+|these\s+|those\s+)?
        (?:previous|prior|above|earlier|preceding|foregoing|original|initial|existing
           |system|developer|your|my|other)\s+(?:\w+\s+)?
        (?:instructions?|prompts?|rules|guidelines|directions|directives|commands|context)\b
    | \b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?
        (?:instructions?|prompts?|rules|guidelines)\s+(?:above|before|you\s+(?:were|have\s+been))
    | \bpretend\s+(?:to\s+be|you\s+are)\b
    | \b(?:developer\s+mode|jailbreak|do\s+anything\s+now)\b
    # asking for its prompt
    | \bsystem\s+(?:prompt|message)s?\b
    | \b(?:hidden|secret|initial|original|internal)\s+(?:instructions?|prompts?)\b
    | \breveal\s+(?:your|the)\s+(?:instructions?|prompts?|rules|configuration)\b
    # scripting its reply
    | \b(?:tell|inform|convince|assure)\s+(?:the\s+)?(?:user|reader|requester|asker)s?\b
    | \b(?:respond|reply|answer)\s+to\s+the\s+user\b
    # chat-template tokens
    | <\|[a-z_]+\|> | \[/?inst\] | <</?sys>>
    """,
    re.VERBOSE,
)


# Every branch of _INJECTION contains one of these words or tokens; checking for them first
# skips the slow pattern for almost every sentence. A new branch needs its word added here.
_TRIGGER_WORDS = frozenset(
    {
        "ai", "ais", "artificial", "chat", "chatbot", "chatbots", "gpt", "gpts", "language",
        "llm", "llms", "ignore", "disregard", "forget", "override", "bypass", "pretend",
        "developer", "jailbreak", "anything", "system", "hidden", "secret", "initial",
        "original", "internal", "reveal", "tell", "inform", "convince", "assure", "respond",
        "reply", "answer",
    }
)  # fmt: skip
_TRIGGER_TOKENS = ("<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>")
_LETTERS = re.compile(r"[a-z]+")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if word.endswith("ees"):  # "employees", "fees": the plural of a word kept whole
        return word[:-1]
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)] + replacement
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _NO_UNDOUBLE:
                word = word[:-1]  # "skipping" -> "skipp" -> "skip"
            break
    if len(word) > 3 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def terms(text: str) -> set[str]:
    """The content terms of ``text``: lower-cased, stop words dropped, suffixes stripped."""
    found: set[str] = set()
    for word in _WORD.findall(text.casefold()):
        word = word.replace("\u2019", "'").removesuffix("'s").replace("'", "")
        if word not in _STOP_WORDS:
            found.add(_stem(word))
    return found


def looks_like_injection(sentence: str) -> bool:
    """Whether ``sentence`` speaks to an AI system rather than to a human reader."""
    text = sentence
    if not text.isascii():  # fold look-alike letters, drop zero-width and bidi characters
        text = unicodedata.normalize("NFKC", text)
        text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    text = " ".join(text.casefold().split())
    if _TRIGGER_WORDS.isdisjoint(_LETTERS.findall(text)) and not any(
        token in text for token in _TRIGGER_TOKENS
    ):
        return False
    return _INJECTION.search(text) is not None


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table_units(lines: list[str]) -> Iterator[str]:
    header = _cells(lines[0])
    for line in lines[2:]:
        if _TABLE_ROW.match(line):
            cells = _cells(line)
            yield "; ".join(
                f"{name}: {cell}" if name else cell
                for name, cell in zip(header, cells, strict=False)
                if cell
            )


def _units(text: str) -> Iterator[str]:
    """Paragraphs, list items and table rows of a passage, with Markdown markers removed."""
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.split("\n") if line.strip()]
        if len(lines) >= 2 and _TABLE_ROW.match(lines[0]) and _TABLE_RULE.match(lines[1]):
            yield from _table_units(lines)
            continue
        current: list[str] = []
        for line in lines:
            if _HEADING.match(line) or _TABLE_RULE.match(line):
                continue
            line = _QUOTE.sub("", line)
            if _LIST_ITEM.match(line) or _TABLE_ROW.match(line):
                if current:
                    yield " ".join(current)
                line = _LIST_ITEM.sub("", line)
                if _TABLE_ROW.match(line):
                    line = " | ".join(_cells(line))
                current = [line.strip()]
            else:
                current.append(line.strip())
        if current:
            yield " ".join(current)


def sentences(text: str) -> list[str]:
    """The sentences of a passage's text, in order (see the module docstring)."""
    found: list[str] = []
    for unit in _units(text):
        found.extend(part.strip() for part in _SENTENCE_BREAK.split(unit) if part.strip())
    return found


@dataclass(frozen=True, slots=True)
class _Candidate:
    rank: int  # position of the passage in the input
    position: int  # position of the sentence in the passage
    n: int
    text: str
    terms: frozenset[str]


def _candidates(passages: Sequence[Passage]) -> list[_Candidate]:
    found: list[_Candidate] = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(sentences(passage.text)):
            if sentence.endswith(":") or looks_like_injection(sentence):
                continue
            words = frozenset(terms(sentence))
            found.append(_Candidate(rank, position, passage.n, sentence, words))
    return found


def extract(
    question: str,
    passages: Sequence[Passage],
    max_sentences: int = 3,
    *,
    min_score: float = 0.2,
    min_gain: float = 0.1,
    relative_cut: float = 0.5,
) -> str:
    """Up to ``max_sentences`` sentences of ``passages`` answering ``question``, cited [n].

    Returns "" when no sentence reaches ``min_score`` (nothing relevant overlaps).
    """
    if max_sentences < 1:
        raise ValueError(f"max_sentences must be at least 1, got {max_sentences}")
    wanted = terms(question)
    candidates = _candidates(passages)
    if not wanted or not candidates:
        return ""
    total = len(candidates)
    weight: dict[str, float] = {}
    for term in sorted(wanted):
        df = sum(term in candidate.terms for candidate in candidates)
        weight[term] = math.log(1.0 + total / (df or 0.5))
    whole = sum(weight.values())

    def gain(candidate: _Candidate, covered: frozenset[str]) -> float:
        return sum(weight[t] for t in (wanted & candidate.terms) - covered) / whole

    nothing: frozenset[str] = frozenset()
    first = max(candidates, key=lambda candidate: gain(candidate, nothing))
    first_score = gain(first, nothing)
    if first_score < min_score:
        return ""
    chosen = [first]
    covered = first.terms & wanted
    # already in (rank, position) order, so max() resolves ties to the earliest
    remaining = [
        candidate
        for candidate in candidates
        if candidate is not first and gain(candidate, nothing) >= relative_cut * first_score
    ]
    while remaining and len(chosen) < max_sentences:
        best = max(remaining, key=lambda candidate: gain(candidate, covered))
        if gain(best, covered) < min_gain:
            break
        chosen.append(best)
        covered |= best.terms & wanted
        remaining.remove(best)
    chosen.sort(key=lambda candidate: (candidate.rank, candidate.position))
    return " ".join(f"{candidate.text} [{candidate.n}]" for candidate in chosen)
