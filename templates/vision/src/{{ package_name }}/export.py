"""Export to ONNX, and the check that the export computes what the network computes.

The service runs ``model.onnx`` with ONNX Runtime (no PyTorch in the image), so the file is
only shipped after ``parity`` has compared its logits with PyTorch's on real test images:
an exporter bug or an unsupported layer is caught here, by training, not by users.

Edit this file to change the opset or the graph's names (then the service's input too).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .artefacts import INPUT_NAME, OUTPUT_NAME, Parity, Throughput

PARITY_BATCH = 64
# The exporter's own passes log every graph rewrite at INFO; their warnings still show.
EXPORTER_LOGGERS = ("onnx_ir", "onnxscript")


class ExportError(RuntimeError):
    """The ONNX file does not compute what the network computes; it must not be shipped."""


def on_cpu(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode, on the CPU, in the default memory layout."""
    return copy.deepcopy(model).cpu().to(memory_format=torch.contiguous_format).eval()


def to_onnx(model: nn.Module, image_size: int, path: Path) -> None:
    """Write ``model`` (in eval mode, on the CPU) to one ONNX file, any batch size."""
    network = on_cpu(model)
    # Two images, not one: the exporter would otherwise fix the batch dimension at 1.
    example = torch.zeros(2, 3, image_size, image_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in EXPORTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    torch.onnx.export(
        network,
        (example,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        external_data=False,  # one self-contained file: what the service loads
        verbose=False,
    )


def session(onnx_path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime session on the CPU (``threads``: its intra-op threads; None: all)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def onnx_logits(onnx_path: Path, images: np.ndarray) -> np.ndarray:
    """The ONNX model's logits for a float32 batch ``(N, 3, size, size)``."""
    runner = session(onnx_path)
    chunks = [
        np.asarray(runner.run([OUTPUT_NAME], {INPUT_NAME: images[start : start + PARITY_BATCH]})[0])
        for start in range(0, len(images), PARITY_BATCH)
    ]
    return np.concatenate(chunks)


def torch_logits(model: nn.Module, images: np.ndarray) -> np.ndarray:
    network = on_cpu(model)
    with torch.inference_mode():
        chunks = [
            network(torch.from_numpy(images[start : start + PARITY_BATCH])).numpy()
            for start in range(0, len(images), PARITY_BATCH)
        ]
    return np.concatenate(chunks)


def parity(
    model: nn.Module, onnx_path: Path, images: np.ndarray, tolerance: float = 1e-4
) -> Parity:
    """The largest logit difference between ONNX Runtime and PyTorch on ``images``;
    raises ``ExportError`` above ``tolerance`` (float32 rounding stays near 1e-6)."""
    if len(images) == 0:
        raise ExportError("parity needs at least one image; the test split is empty")
    images = np.ascontiguousarray(images, dtype=np.float32)
    expected = torch_logits(model, images)
    actual = onnx_logits(onnx_path, images)
    if actual.shape != expected.shape:
        raise ExportError(
            f"{onnx_path}: logits of shape {actual.shape}, PyTorch gives {expected.shape}"
        )
    difference = float(np.max(np.abs(actual - expected)))
    if not np.isfinite(difference) or difference > tolerance:
        raise ExportError(
            f"{onnx_path}: ONNX Runtime differs from PyTorch by {difference:.3g} on "
            f"{len(images)} test images (tolerance {tolerance:g}); the export is refused"
        )
    return Parity(images=len(images), max_abs_diff=difference, tolerance=tolerance)


def _images_per_second(predict: Callable[[], object], images: int, repeats: int) -> float:
    predict()  # the first call allocates and plans; it is not what serving costs
    fastest = min(_timed(predict) for _ in range(repeats))
    return round(images / max(fastest, 1e-9), 1)


def _timed(predict: Callable[[], object]) -> float:
    started = time.perf_counter()
    predict()
    return time.perf_counter() - started


def throughput(
    model: nn.Module, onnx_path: Path, images: np.ndarray, batch: int = 32, repeats: int = 5
) -> Throughput:
    """Images per second through ONNX Runtime and through PyTorch, one thread each, on the
    same batch of real images: what serving the export instead of the network gains here.
    The fastest of ``repeats`` runs, so other work on the machine skews it least."""
    inputs = np.ascontiguousarray(images[:batch], dtype=np.float32)
    network, runner = on_cpu(model), session(onnx_path, threads=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            torch_rate = _images_per_second(
                lambda: network(torch.from_numpy(inputs)), len(inputs), repeats
            )
    finally:
        torch.set_num_threads(threads)
    onnx_rate = _images_per_second(
        lambda: runner.run([OUTPUT_NAME], {INPUT_NAME: inputs}), len(inputs), repeats
    )
    return Throughput(batch=len(inputs), onnx_images_per_s=onnx_rate, torch_images_per_s=torch_rate)
