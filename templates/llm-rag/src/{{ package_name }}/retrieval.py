"""Finding the chunks that answer a question: dense, BM25 or hybrid, and when to abstain.

- ``dense``: the chunks whose vectors are nearest the question's (cosine, in Qdrant);
- ``bm25``: the chunks that share the question's rarer words (``bm25``: exact names,
  numbers and codes, which embeddings blur);
- ``hybrid``: both lists, ``retrieval.candidates`` deep, fused by reciprocal rank: each chunk
  scores ``1 / (rrf_k + rank)`` in each list it is in. Ranks, not scores, are fused, so
  nothing has to make a cosine and a BM25 score comparable.

Abstention: whatever the mode, the question's best cosine similarity to any chunk is
measured; below ``retrieval.abstain_below`` the answer is "not in the documents", with the
closest sources still shown. A filter (``sources``) applies to every list.

Edit this module to change how lists are fused or when the service abstains.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .artefacts import SavedIndex, check_shapes
from .bm25 import BM25Index
from .chunking import Chunk
from .config import Mode, RetrievalConfig, Settings
from .encoder import Encoder
from .store import ChunkStore, open_client


def rrf_fuse(rankings: Sequence[Sequence[str]], k: int) -> list[tuple[str, float]]:
    """Ids by fused reciprocal rank, best first (ties: the order first seen)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    first_seen = {item: position for position, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], first_seen[pair[0]]))


@dataclass(frozen=True)
class Retrieved:
    chunk: Chunk
    score: float
    """The mode's own score: cosine (dense), BM25 (bm25) or fused reciprocal rank (hybrid)."""


@dataclass(frozen=True)
class Retrieval:
    question: str
    mode: Mode
    hits: list[Retrieved]
    best_similarity: float
    """The highest cosine similarity of the question to any chunk (-1 with no chunks)."""
    abstained: bool
    seconds: float


class Retriever:
    """An index version's chunks, its vector store, its BM25 index and its encoder."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        store: ChunkStore,
        encoder: Encoder,
        config: RetrievalConfig,
    ) -> None:
        self.chunks = list(chunks)
        self.by_id = {item.chunk_id: item for item in self.chunks}
        self.store = store
        self.encoder = encoder
        self.config = config
        self.bm25 = BM25Index([item.text for item in self.chunks])

    def _dense(self, question: str, depth: int, sources: Sequence[str] | None) -> list[Retrieved]:
        vector = self.encoder.encode([question])[0]
        return [
            Retrieved(self.by_id[hit.chunk_id], hit.score)
            for hit in self.store.search(vector, depth, sources)
            # A store shared with a newer ingest may hold chunks this version does not.
            if hit.chunk_id in self.by_id
        ]

    def _lexical(self, question: str, depth: int, sources: Sequence[str] | None) -> list[Retrieved]:
        allowed = set(sources) if sources else None
        found = []
        for position, score in self.bm25.search(question, len(self.chunks)):
            item = self.chunks[position]
            if allowed is None or item.source in allowed:
                found.append(Retrieved(item, score))
                if len(found) == depth:
                    break
        return found

    def retrieve(
        self,
        question: str,
        mode: Mode | None = None,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> Retrieval:
        """The ``top_k`` chunks for ``question`` by ``mode`` (defaults: the config's)."""
        started = time.perf_counter()
        mode = mode or self.config.mode
        top_k = top_k or self.config.top_k
        depth = max(top_k, self.config.candidates)
        dense = self._dense(question, depth if mode == "hybrid" else top_k, sources)
        if mode == "dense":
            hits = dense[:top_k]
        elif mode == "bm25":
            hits = self._lexical(question, top_k, sources)
        else:
            lexical = self._lexical(question, depth, sources)
            fused = rrf_fuse(
                [[hit.chunk.chunk_id for hit in dense], [hit.chunk.chunk_id for hit in lexical]],
                self.config.rrf_k,
            )
            hits = [Retrieved(self.by_id[chunk_id], score) for chunk_id, score in fused[:top_k]]
        best = max((hit.score for hit in dense), default=-1.0)
        return Retrieval(
            question=question,
            mode=mode,
            hits=hits,
            best_similarity=best,
            abstained=best < self.config.abstain_below,
            seconds=time.perf_counter() - started,
        )


def in_memory(
    settings: Settings, chunks: Sequence[Chunk], vectors: NDArray[np.float32], encoder: Encoder
) -> Retriever:
    """A retriever over ``chunks`` with their vectors in an in-memory Qdrant collection."""
    store = ChunkStore(open_client(settings.store, in_memory=True), settings.store.collection)
    store.ensure(vectors.shape[1])
    store.add(chunks, vectors)
    return Retriever(chunks, store, encoder, settings.retrieval)


def open_index(settings: Settings, saved: SavedIndex, threads: int = 1) -> Retriever:
    """A retriever over the index version ``saved``: searching the Qdrant server when
    ``store.url`` is set (ingest keeps it in step; chunks it lacks are added from the
    snapshot), else the version's own vectors loaded into memory (embedded Qdrant's folder
    admits one process at a time, and the service runs several)."""
    encoder = Encoder(
        saved.encoder_path, saved.tokenizer_path, saved.metadata.embedding.max_tokens, threads
    )
    chunks = saved.chunks()
    vectors = saved.vectors()
    check_shapes(saved, chunks, vectors)
    if settings.store.url:
        store = ChunkStore(open_client(settings.store), saved.metadata.collection)
        store.ensure(vectors.shape[1])
        # A server that has not seen this version (a fresh one, started by compose.yaml) gets
        # its vectors from the snapshot: nothing is embedded again.
        held = store.chunk_ids()
        missing = [position for position, item in enumerate(chunks) if item.chunk_id not in held]
        store.add([chunks[position] for position in missing], vectors[missing])
        return Retriever(chunks, store, encoder, settings.retrieval)
    return in_memory(settings, chunks, vectors, encoder)
