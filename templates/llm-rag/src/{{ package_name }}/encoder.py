"""Texts to vectors with the exported embedding model: ONNX Runtime and a fast tokenizer.

Ingest embeds the chunks and the service embeds each question with this one class, from the
files in the index's folder (``encoder.onnx``, ``tokenizer.json``), so both sides use the
same numbers and the service needs neither PyTorch nor sentence-transformers (``export``
made the files from the sentence-transformers model and checked them against it).

The network ends in mean pooling and L2 normalisation, so a vector's dot product with
another is their cosine similarity.

Edit this module when the embedding model needs another input (e.g. token type ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from tokenizers import Tokenizer

INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT_NAME = "embeddings"

Vectors = NDArray[np.float32]


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


def load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    """The fast tokenizer saved with the model: texts cut to ``max_tokens``, batches padded
    to their longest text."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding()
    return tokenizer


class Encoder:
    """``encode(texts)``: one unit-length row per text, ``dimension`` numbers each."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int, threads: int = 1):
        self.tokenizer = load_tokenizer(tokenizer_path, max_tokens)
        self.session = ort.InferenceSession(
            str(onnx_path), session_options(threads), providers=["CPUExecutionProvider"]
        )
        shape = self.session.get_outputs()[0].shape
        if len(shape) != 2 or not isinstance(shape[1], int):
            raise ValueError(f"{onnx_path}: output shape {shape}, expected [batch, dimension]")
        self.dimension: int = shape[1]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        """The vectors of ``texts``, in order (batches of similar length pad less: callers
        embedding many texts may sort them by length first)."""
        rows: list[Vectors] = []
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(list(texts[start : start + batch_size]))
            inputs = {
                INPUT_IDS: np.array([item.ids for item in encodings], dtype=np.int64),
                ATTENTION_MASK: np.array([item.attention_mask for item in encodings], np.int64),
            }
            (vectors,) = self.session.run([OUTPUT_NAME], inputs)
            rows.append(np.asarray(vectors, dtype=np.float32))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(rows)
