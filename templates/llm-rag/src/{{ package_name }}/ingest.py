"""``make ingest``: documents to a new index version, embedding only what changed.

1. Load every file under ``data.path`` and ``serving.uploads_dir`` (``loaders``); a file
   that cannot be read, or holds no text, is named in the log and skipped.
2. Cut them into chunks (``chunking``: ``chunking.size`` words, ``chunking.overlap`` between
   pieces of a long section) and drop repeated chunks.
3. Get the encoder: the current index's, when it was made from ``embedding.model``;
   otherwise export the model (``export``, once).
4. Bring the Qdrant collection to exactly these chunks: a chunk's id is a hash of its file,
   position and text, so only chunks of new or changed files are embedded (with a progress
   bar) and chunks of changed or deleted files are deleted.
5. Save the version (``artefacts.save``): the chunks, their vectors, the encoder, the
   metadata, and the reference drift compares with; make it current; write
   ``reports/data.json`` and the README's data block.

``--full`` re-embeds every chunk (after changing the model's files under the same name).

Edit this module to change what an ingest does; how files are read is ``loaders``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import artefacts, export
from .artefacts import ChunkingInfo, EmbeddingInfo, IngestRun, Metadata, SourceFile
from .chunking import Chunk, chunk, dedupe
from .config import Settings
from .encoder import Encoder
from .loaders import Document, load_folder
from .model_dir import model_version, template_version
from .store import ChunkStore, open_client

logger = logging.getLogger(__name__)

UPLOADS_PREFIX = "uploads/"
PRIMARY_METRIC = "hit@5"


class IngestError(ValueError):
    """Ingest cannot go on; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    documents: list[Document]
    skipped: list[tuple[str, str]]
    chunks: list[Chunk]


def read_corpus(settings: Settings) -> Corpus:
    """Every document and its chunks, from ``data.path`` and the uploads."""
    folder = settings.data.path
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the documents folder {folder} (data.path) does not exist; run `make data` for "
            "the sample, or set data.path in configs/pipeline.yaml to your folder"
        )
    documents, skipped = load_folder(folder)
    uploads = settings.serving.uploads_dir
    if uploads.is_dir():
        uploaded, bad = load_folder(uploads)
        documents += [
            dataclasses.replace(item, source=UPLOADS_PREFIX + item.source) for item in uploaded
        ]
        skipped += bad
    named = [(str(path), reason) for path, reason in skipped]
    for path, reason in named:
        logger.warning("file skipped", extra={"file": path, "reason": reason})
    if not documents:
        raise IngestError(f"no readable document in {folder}; supported: md, txt, pdf, html")
    size, overlap = settings.chunking.size, settings.chunking.overlap
    chunks = dedupe(piece for item in documents for piece in chunk(item, size, overlap))
    return Corpus(documents=documents, skipped=named, chunks=chunks)


def corpus_hash(documents: Sequence[SourceFile]) -> str:
    """SHA-256 over every document's name and content hash: the index's data hash."""
    digest = hashlib.sha256()
    for item in sorted(documents, key=lambda document: document.source):
        digest.update(f"{item.source}\x1f{item.sha256}\n".encode())
    return digest.hexdigest()


def source_files(documents: Sequence[Document], chunks: Sequence[Chunk]) -> list[SourceFile]:
    """What the metadata records of each document: its hash, chunks and words."""
    per_source: dict[str, int] = {}
    for item in chunks:
        per_source[item.source] = per_source.get(item.source, 0) + 1
    return [
        SourceFile(
            source=item.source,
            sha256=item.sha256,
            chunks=per_source.get(item.source, 0),
            words=item.word_count,
        )
        for item in documents
    ]


def build_metadata(
    settings: Settings,
    documents: list[SourceFile],
    chunks: int,
    embedding: EmbeddingInfo,
    run: IngestRun,
    scores: dict[str, float],
) -> Metadata:
    """The new index version's metadata."""
    trained_at = datetime.now(UTC)
    data_hash = corpus_hash(documents)
    return Metadata(
        model_version=model_version(trained_at, data_hash),
        trained_at=trained_at,
        variant="llm-rag",
        task="question answering with retrieval",
        primary_metric=PRIMARY_METRIC,
        test_metrics=scores,
        data_hash=data_hash,
        template_version=template_version(),
        documents=documents,
        chunks=chunks,
        chunking=ChunkingInfo(size=settings.chunking.size, overlap=settings.chunking.overlap),
        embedding=embedding,
        collection=settings.store.collection,
        ingest=run,
    )


def _previous(settings: Settings) -> artefacts.SavedIndex | None:
    try:
        return artefacts.load(settings.paths.models_dir)
    except (FileNotFoundError, ValueError):
        return None


def prepare_encoder(settings: Settings, into: Path, allow_export: bool = True) -> EmbeddingInfo:
    """Put the encoder for ``embedding.model`` into ``into``: the current index's when it
    fits, else a fresh export (which needs the ``train`` dependencies). Without
    ``allow_export`` (the service, adding an upload), the current index's encoder is used
    whatever the config names: the index must stay searchable with one encoder."""
    previous = _previous(settings)
    wanted = settings.embedding if allow_export else None
    if previous is not None and export.reuse(
        previous.directory, previous.metadata.embedding, wanted, into
    ):
        return previous.metadata.embedding
    if not allow_export:
        raise IngestError("there is no index to add to yet; run `make ingest` first")
    logger.info("exporting the embedding model to ONNX", extra={"model": settings.embedding.model})
    return export.export(settings.embedding, into)


def embed(encoder: Encoder, chunks: Sequence[Chunk], batch_size: int) -> NDArray[np.float32]:
    from tqdm import tqdm

    # Longest first, so each batch pads to a similar length; then back to the input order.
    order = sorted(range(len(chunks)), key=lambda position: -len(chunks[position].text))
    vectors = np.zeros((len(chunks), encoder.dimension), dtype=np.float32)
    with tqdm(total=len(chunks), unit="chunk", desc="embedding", disable=not chunks) as bar:
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            vectors[positions] = encoder.encode([chunks[p].text for p in positions], batch_size)
            bar.update(len(positions))
    return vectors


@dataclasses.dataclass(frozen=True)
class IngestResult:
    """What ``run`` made (``tracking.TrainingRun``: an index version is this project's model)."""

    metadata: Metadata
    directory: Path

    @property
    def params(self) -> dict[str, Any]:
        return {
            "chunk_size": self.metadata.chunking.size,
            "chunk_overlap": self.metadata.chunking.overlap,
            "embedding_model": self.metadata.embedding.model,
        }

    @property
    def scores(self) -> dict[str, float]:
        return dict(self.metadata.test_metrics)


def run(settings: Settings, full: bool = False) -> IngestResult:
    """Ingest the documents into a new current index version (see the module's docstring)."""
    from .evaluate import reference_and_scores

    started = time.perf_counter()
    corpus = read_corpus(settings)
    previous = _previous(settings)
    models_dir = settings.paths.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".encoder-") as scratch:
        encoder_dir = Path(scratch)
        info = prepare_encoder(settings, encoder_dir)
        encoder = Encoder(
            encoder_dir / artefacts.ENCODER_FILE,
            encoder_dir / artefacts.TOKENIZER_FILE,
            info.max_tokens,
            threads=os.cpu_count() or 1,
        )
        client = open_client(settings.store)
        try:
            store = ChunkStore(client, settings.store.collection)
            store.ensure(info.dimension)
            # A stored vector is reused only when the same model made it.
            same_model = previous is not None and previous.metadata.embedding.model == info.model
            existing = store.chunk_ids()
            wanted = [item.chunk_id for item in corpus.chunks]
            keep = existing & set(wanted) if same_model and not full else set()
            stale = sorted(existing - keep)
            fresh = [item for item in corpus.chunks if item.chunk_id not in keep]
            store.remove(stale)
            store.add(fresh, embed(encoder, fresh, settings.embedding.batch_size))
            vectors = store.vectors(wanted)
        finally:
            client.close()
        reference, scores = reference_and_scores(settings, corpus.chunks, vectors, encoder)
        metadata = build_metadata(
            settings,
            source_files(corpus.documents, corpus.chunks),
            len(corpus.chunks),
            info,
            IngestRun(
                embedded=len(fresh),
                removed=len(stale),
                kept=len(corpus.chunks) - len(fresh),
                skipped_files=[path for path, _ in corpus.skipped],
                seconds=round(time.perf_counter() - started, 3),
            ),
            scores,
        )

        def write_encoder(staging: Path) -> None:
            for name in (artefacts.ENCODER_FILE, artefacts.TOKENIZER_FILE):
                os.replace(encoder_dir / name, staging / name)

        directory = artefacts.save(
            models_dir, metadata, corpus.chunks, vectors, reference, write_encoder
        )
    write_data_report(settings, corpus)
    logger.info(
        "index saved",
        extra={
            "model_version": metadata.model_version,
            "chunks": metadata.chunks,
            "embedded": len(fresh),
            "removed": len(stale),
            "seconds": metadata.ingest.seconds,
        },
    )
    return IngestResult(metadata=metadata, directory=directory)


def describe(corpus: Corpus) -> dict[str, Any]:
    """``reports/data.json``: what the documents hold."""
    lengths = [item.word_count for item in corpus.chunks]
    kinds: dict[str, int] = {}
    for item in corpus.documents:
        suffix = Path(item.source).suffix.lower().lstrip(".") or "none"
        kinds[suffix] = kinds.get(suffix, 0) + 1
    return {
        "documents": len(corpus.documents),
        "documents_by_type": dict(sorted(kinds.items())),
        "words": sum(item.word_count for item in corpus.documents),
        "chunks": len(corpus.chunks),
        "chunk_words_median": statistics.median(lengths),
        "chunk_words_max": max(lengths),
        "pages": sum(
            len({s.page for s in item.sections if s.page is not None}) for item in corpus.documents
        ),
        "skipped_files": len(corpus.skipped),
        "skipped": [{"file": path, "reason": reason} for path, reason in corpus.skipped],
    }


def data_block(facts: dict[str, Any]) -> str:
    """The README's and model card's data block, every number from ``facts``."""
    kinds = ", ".join(f"{count} {kind}" for kind, count in facts["documents_by_type"].items())
    skipped = facts["skipped_files"]
    return (
        f"{facts['documents']:,} documents ({kinds}), {facts['words']:,} words, cut into "
        f"{facts['chunks']:,} chunks (median {facts['chunk_words_median']:,} words, longest "
        f"{facts['chunk_words_max']:,}); {skipped:,} file(s) skipped."
    )


def write_data_report(settings: Settings, corpus: Corpus) -> Path:
    from . import reports

    facts = describe(corpus)
    reports_dir = settings.paths.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "data.json"
    path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    block = data_block(facts)
    for document in (settings.paths.readme, settings.paths.readme.with_name("MODEL_CARD.md")):
        reports.write_blocks(document, {"data": block})
    return path
