"""From a question to an answer with citations: retrieve, then generate or extract.

``compose`` turns retrieved passages into the answer: below the abstention threshold it
says the answer is not in the documents (and lists the closest sources); with an LLM
configured (``LLM_BASE_URL``) the model writes it from the numbered passages (``prompts``,
``llm``); otherwise, or when the LLM fails after its retries, the offline extractive
answerer picks the passages' own sentences (``extractive``). Either way the answer cites
passages as [n], mapped to source, page and chunk (``answer.cite``).

The service calls ``compose`` and ``stream`` itself (retrieval runs in its worker process);
the command line (``make ask``) and evaluation use ``Answerer``, which does both steps.

Edit this module to change what an answer is made of.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import artefacts
from .answer import Answer, Passage, make_answer
from .config import Mode, Settings
from .extractive import extract
from .llm import GenerationError, LLMClient
from .prompts import build_messages, load_prompt
from .retrieval import Retrieval, Retriever, open_index

NOT_IN_DOCUMENTS = load_prompt().not_found
MAX_SENTENCES = 3


def passages_of(retrieval: Retrieval) -> list[Passage]:
    """The retrieved chunks as numbered passages, [1] the best."""
    return [
        Passage(
            n=number,
            chunk_id=hit.chunk.chunk_id,
            source=hit.chunk.source,
            page=hit.chunk.page,
            heading=" > ".join(hit.chunk.heading_path),
            text=hit.chunk.text,
            score=round(hit.score, 5),
        )
        for number, hit in enumerate(retrieval.hits, start=1)
    ]


@dataclass(frozen=True)
class Composed:
    answer: Answer
    abstained: bool
    fallback: str | None = None
    """Why the LLM did not answer (its error), when the extractive answerer stood in."""


def compose(
    question: str, passages: Sequence[Passage], abstained: bool, llm: LLMClient | None
) -> Composed:
    """The answer to ``question`` from ``passages`` (see the module's docstring)."""
    if abstained or not passages:
        return Composed(Answer(NOT_IN_DOCUMENTS, [], "abstained"), abstained=True)
    fallback = None
    if llm is not None:
        try:
            text = llm.complete(build_messages(question, passages))
            return Composed(make_answer(text, passages, llm.generator), abstained=False)
        except GenerationError as error:
            fallback = str(error)
    text = extract(question, passages, MAX_SENTENCES) or NOT_IN_DOCUMENTS
    return Composed(make_answer(text, passages, "extractive"), False, fallback)


def stream(
    question: str, passages: Sequence[Passage], abstained: bool, llm: LLMClient | None
) -> Iterator[str]:
    """The answer's text in pieces as it is written: the LLM's deltas, or the composed
    answer's sentences. Raises ``GenerationError`` when the LLM fails before its first
    piece (the caller falls back to ``compose``)."""
    if llm is None or abstained or not passages:
        text = compose(question, passages, abstained, None).answer.text
        yield from (piece + " " for piece in text.split(" ") if piece)
        return
    yield from llm.stream(build_messages(question, passages))


def llm_client(settings: Settings) -> LLMClient | None:
    """The LLM the settings name, or None for the offline answerer."""
    return LLMClient(settings.llm) if settings.llm.base_url else None


@dataclass(frozen=True)
class Result:
    """An answer with what it was made from."""

    answer: Answer
    abstained: bool
    passages: list[Passage]
    mode: Mode
    best_similarity: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None

    @property
    def cited_passages(self) -> list[Passage]:
        cited = {citation.n for citation in self.answer.citations}
        return [passage for passage in self.passages if passage.n in cited]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer.text,
            "abstained": self.abstained,
            "generator": self.answer.generator,
            "mode": self.mode,
            "citations": [asdict(citation) for citation in self.answer.citations],
            "best_similarity": round(self.best_similarity, 5),
            "timings_ms": self.timings_ms,
            "fallback": self.fallback,
        }


class Answerer:
    """Retrieval and composition together, for the command line and evaluation."""

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.llm = llm_client(settings)

    def answer(
        self,
        question: str,
        mode: Mode | None = None,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> Result:
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, mode=mode, top_k=top_k, sources=sources)
        passages = passages_of(retrieval)
        composed = compose(question, passages, retrieval.abstained, self.llm)
        total = time.perf_counter() - started
        return Result(
            answer=composed.answer,
            abstained=composed.abstained,
            passages=passages,
            mode=retrieval.mode,
            best_similarity=retrieval.best_similarity,
            timings_ms={
                "retrieve": round(1000 * retrieval.seconds, 2),
                "generate": round(1000 * (total - retrieval.seconds), 2),
                "total": round(1000 * total, 2),
            },
            fallback=composed.fallback,
        )


def load_answerer(settings: Settings) -> Answerer:
    """An answerer over the current index (its vectors in memory, or the Qdrant server)."""
    return Answerer(open_index(settings, artefacts.load(settings.paths.models_dir)), settings)
