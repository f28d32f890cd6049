"""Documents added while the service runs (``POST /documents``): into a new index version,
without a full ingest.

The current version's chunks and vectors are kept, except those of a document uploaded
again under the same name; the new documents are loaded, chunked and embedded with the
version's own encoder, and the whole is saved as the next version and made current (the
service's processes pick it up within ``serving.reload_interval_s``). The documents folder
and the embedded Qdrant store are not touched, so this works in the image too (it needs a
writable ``models/`` and ``serving.uploads_dir``); with a Qdrant server (``store.url``) the
server's collection gets the same changes. The next ``make ingest`` reads the uploads
folder with ``data.path``.

Edit this module to change what an upload does to the index.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import artefacts
from .artefacts import IngestRun
from .chunking import chunk, dedupe
from .config import Settings
from .encoder import Encoder
from .ingest import (
    UPLOADS_PREFIX,
    IngestError,
    IngestResult,
    build_metadata,
    embed,
    prepare_encoder,
    source_files,
)
from .loaders import load
from .store import ChunkStore, open_client

LOCK_FILE = ".uploads.lock"


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made if missing) until the block ends,
    waiting for another process that holds it: each of the service's processes adds
    uploads, and two adding at once would each build on the same version and lose the
    other's document."""
    with path.open("a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # the lock goes with the file's closing


def add_documents(settings: Settings, paths: Sequence[Path]) -> IngestResult:
    """The current index plus the documents at ``paths`` (files in ``serving.uploads_dir``),
    saved as a new current version; raises ``LoadError`` for an unreadable document and
    ``IngestError`` when there is no index to add to. One upload at a time, across the
    service's processes (``exclusive``)."""
    models_dir = settings.paths.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(models_dir / LOCK_FILE):
        return _add(settings, paths)


def _add(settings: Settings, paths: Sequence[Path]) -> IngestResult:
    started = time.perf_counter()
    try:
        previous = artefacts.load(settings.paths.models_dir)
    except (FileNotFoundError, ValueError):
        raise IngestError("there is no index to add to yet; run `make ingest` first") from None
    folder = settings.serving.uploads_dir
    documents = [load(path, root=folder) for path in paths]
    documents = [
        dataclasses.replace(item, source=UPLOADS_PREFIX + item.source) for item in documents
    ]
    replaced = {item.source for item in documents}
    size, overlap = settings.chunking.size, settings.chunking.overlap
    fresh = dedupe(piece for item in documents for piece in chunk(item, size, overlap))
    old_chunks = previous.chunks()
    kept = [position for position, item in enumerate(old_chunks) if item.source not in replaced]
    stale = [item.chunk_id for item in old_chunks if item.source in replaced]
    models_dir = settings.paths.models_dir
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".encoder-") as scratch:
        encoder_dir = Path(scratch)
        info = prepare_encoder(settings, encoder_dir, allow_export=False)
        encoder = Encoder(
            encoder_dir / artefacts.ENCODER_FILE,
            encoder_dir / artefacts.TOKENIZER_FILE,
            info.max_tokens,
        )
        new_vectors = embed(encoder, fresh, settings.embedding.batch_size)
        if settings.store.url:
            client = open_client(settings.store)
            try:
                store = ChunkStore(client, previous.metadata.collection)
                store.remove(stale)
                store.add(fresh, new_vectors)
            finally:
                client.close()
        chunks = [old_chunks[position] for position in kept] + fresh
        vectors = np.concatenate([previous.vectors()[kept], new_vectors])
        records = [item for item in previous.metadata.documents if item.source not in replaced]
        metadata = build_metadata(
            settings,
            records + source_files(documents, fresh),
            len(chunks),
            info,
            IngestRun(
                embedded=len(fresh),
                removed=len(stale),
                kept=len(kept),
                skipped_files=[],
                seconds=round(time.perf_counter() - started, 3),
            ),
            dict(previous.metadata.test_metrics),
        )

        def write_encoder(staging: Path) -> None:
            for name in (artefacts.ENCODER_FILE, artefacts.TOKENIZER_FILE):
                os.replace(encoder_dir / name, staging / name)

        directory = artefacts.save(
            models_dir, metadata, chunks, vectors, previous.reference(), write_encoder
        )
    return IngestResult(metadata=metadata, directory=directory)
