"""The saved index of this project: its files, its metadata, and how to save and load them.

In this project the "model" the service answers with is an index version: the chunks of the
documents, their vectors and the encoder that made them. ``ingest`` writes it, and
evaluation, drift, the service and the tests read it, only through this module, so a new
file or metadata field is added in one place. Each version is a folder of its own under
``models/``, made current atomically (``model_dir``)::

    models/CURRENT          the version in use
    models/<version>/
      encoder.onnx          the embedding model exported to ONNX (``export``): what embeds
                            chunks at ingest and questions in the service
      tokenizer.json        its fast tokenizer
      chunks.jsonl          every chunk: id, source, page, headings, text (BM25 and citations)
      vectors.npy           one unit-length vector per chunk, in the order of chunks.jsonl
      metadata.json         ``Metadata``: version, corpus hash, documents, chunking, embedding
                            model and its export check, retrieval scores on the evaluation set
      reference.json        what retrieval looked like on the evaluation questions (best
                            scores, question lengths): what drift compares live questions with

The vectors also live in Qdrant (``store``: embedded under ``store.path``, or a server), which
ingest updates in place; a version's folder is the snapshot the service loads.

Edit this module when the index gains a file or its metadata a field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from .chunking import Chunk
from .model_dir import (
    METADATA_FILE,
    ModelMetadata,
    UnusableModelError,
    current_dir,
    new_version,
    read_metadata,
    version_dir,
    write_json,
)
from .model_dir import write_metadata as _write_metadata

ENCODER_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
CHUNKS_FILE = "chunks.jsonl"
VECTORS_FILE = "vectors.npy"
REFERENCE_FILE = "reference.json"
FILES = (ENCODER_FILE, TOKENIZER_FILE, CHUNKS_FILE, VECTORS_FILE, METADATA_FILE, REFERENCE_FILE)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class EmbeddingInfo(Record):
    """The embedding model behind ``encoder.onnx`` and the check of its export."""

    model: str
    dimension: int
    max_tokens: int
    pooling: str
    parity_max_abs_diff: float


class SourceFile(Record):
    """One ingested file: its path under ``data.path`` (or the uploads), content hash,
    chunks and pages."""

    source: str
    sha256: str
    chunks: int
    words: int


class ChunkingInfo(Record):
    size: int
    overlap: int


class IngestRun(Record):
    """What the ingest that made this version did: only new chunks are embedded."""

    embedded: int
    removed: int
    kept: int
    skipped_files: list[str]
    seconds: float


class Metadata(ModelMetadata):
    """``metadata.json`` of an index version: the shared keys plus what this project adds."""

    documents: list[SourceFile]
    chunks: int
    chunking: ChunkingInfo
    embedding: EmbeddingInfo
    collection: str
    ingest: IngestRun


@dataclass(frozen=True)
class SavedIndex:
    metadata: Metadata
    directory: Path

    @property
    def encoder_path(self) -> Path:
        return self.directory / ENCODER_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / TOKENIZER_FILE

    def chunks(self) -> list[Chunk]:
        return read_chunks(self.directory / CHUNKS_FILE)

    def vectors(self) -> NDArray[np.float32]:
        vectors = np.load(self.directory / VECTORS_FILE, allow_pickle=False)
        return np.asarray(vectors, dtype=np.float32)

    def reference(self) -> dict[str, Any]:
        loaded = json.loads((self.directory / REFERENCE_FILE).read_text(encoding="utf-8"))
        return dict(loaded)


def chunk_record(item: Chunk) -> dict[str, Any]:
    """A chunk as one JSON object (also the payload of its Qdrant point)."""
    return {
        "chunk_id": item.chunk_id,
        "source": item.source,
        "index": item.index,
        "page": item.page,
        "heading_path": list(item.heading_path),
        "text": item.text,
    }


def chunk_from_record(record: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=str(record["chunk_id"]),
        source=str(record["source"]),
        index=int(record["index"]),
        text=str(record["text"]),
        page=None if record.get("page") is None else int(record["page"]),
        heading_path=tuple(str(part) for part in record.get("heading_path", ())),
    )


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as lines:
        return [chunk_from_record(json.loads(line)) for line in lines if line.strip()]


def _chunk_lines(chunks: Iterable[Chunk]) -> str:
    return "".join(
        json.dumps(chunk_record(item), ensure_ascii=False, separators=(",", ":")) + "\n"
        for item in chunks
    )


def save(
    models_dir: Path,
    metadata: Metadata,
    chunks: Sequence[Chunk],
    vectors: NDArray[np.float32],
    reference: dict[str, Any],
    write_encoder: Callable[[Path], None],
) -> Path:
    """Write a new index version and make it current; return its folder.

    ``write_encoder(staging)`` writes ``encoder.onnx`` and ``tokenizer.json`` into the
    staging folder (``export`` knows how); everything else is written here.
    """
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    with new_version(models_dir, metadata.model_version) as staging:
        write_encoder(staging)
        for name in (ENCODER_FILE, TOKENIZER_FILE):
            if not (staging / name).is_file():
                raise FileNotFoundError(f"the encoder writer did not write {name}")
        write_json(staging / CHUNKS_FILE, _chunk_lines(chunks))
        with (staging / VECTORS_FILE).open("wb") as handle:
            np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        write_json(staging / REFERENCE_FILE, json.dumps(reference, allow_nan=False))
        _write_metadata(staging, metadata)
    return current_dir(models_dir)


def load_metadata(models_dir: Path) -> Metadata:
    """The current index's metadata."""
    return read_metadata(current_dir(models_dir), Metadata)


def load(models_dir: Path, version: str | None = None) -> SavedIndex:
    """The current index's folder (or ``version``'s) and its metadata; raises with a
    readable message when it is unusable (``FileNotFoundError``, ``UnusableModelError``)."""
    directory = current_dir(models_dir) if version is None else version_dir(models_dir, version)
    metadata = read_metadata(directory, Metadata)
    for name in FILES:
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} not found; run `make ingest` again")
    return SavedIndex(metadata=metadata, directory=directory)


def check_shapes(saved: SavedIndex, chunks: Sequence[Chunk], vectors: NDArray[Any]) -> None:
    """The snapshot's parts agree with each other and with its metadata."""
    expected = (saved.metadata.chunks, saved.metadata.embedding.dimension)
    if len(chunks) != expected[0] or vectors.shape != expected:
        raise UnusableModelError(
            f"{saved.directory}: {len(chunks)} chunks and vectors of shape {vectors.shape}, "
            f"metadata.json says {expected[0]} chunks of {expected[1]} numbers; run "
            "`make ingest` again"
        )
