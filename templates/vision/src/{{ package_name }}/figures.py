"""The evaluation's figures: confusion matrix, reliability diagram, grids of test images,
and the Grad-CAM heatmaps drawn over them.

Each figure function returns a ``Figure`` (matplotlib's object API, no ``pyplot``) with a
title and both axes labelled; ``evaluate`` computes what it shows and saves it. A grid of
images is drawn into one plot (each image at its own place, its caption above it), so it too
has axes a reader can read.

Grad-CAM (Selvaraju et al., 2017) needs the gradients of the PyTorch network
(``weights.pt``), which ONNX Runtime does not give: it is the one part of the evaluation that
runs PyTorch. Hooks on the last convolution catch its feature maps on the way forward and
their gradients on the way back; nothing beyond PyTorch is needed.

Edit this file to change how a figure looks; what it shows is computed in ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image
from torch import nn

from . import model
from .artefacts import SavedModel

HEATMAP = "jet"
"""Grad-CAM's usual colour map: blue where the class's evidence is weak, red where strong."""
TILE_GAP = 0.25
"""Space between images in a grid, for the captions (a share of an image's side)."""


def confusion_matrix(counts: np.ndarray, classes: Sequence[str], images: int) -> Figure:
    """Counts of test images by true class (rows) and predicted class (columns)."""
    side = min(4.0 + 0.45 * len(classes), 16.0)
    figure = Figure(figsize=(side + 1.0, side))
    axes = figure.subplots()
    shown = axes.imshow(counts, cmap="Blues")
    figure.colorbar(shown, ax=axes, label="test images")
    ticks = np.arange(len(classes))
    axes.set_xticks(ticks, labels=list(classes), rotation=45, ha="right")
    axes.set_yticks(ticks, labels=list(classes))
    if len(classes) <= 20:  # beyond that the numbers would overlap; the colours still show
        dark = counts.max() / 2 if counts.size else 0
        for (row, column), count in np.ndenumerate(counts):
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                color="white" if count > dark else "black",
                fontsize=8,
            )
    axes.set_title(f"Confusion matrix, test split ({images} images)")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    return figure


def reliability_diagram(bins: Sequence[dict[str, Any]], ece: float, count: int) -> Figure:
    """Accuracy against confidence per confidence bin, beside the diagonal a perfectly
    calibrated model would follow; below, how many images fall in each bin."""
    figure = Figure(figsize=(5.5, 6.0))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    width = 1.0 / count
    centres = [(b["lower"] + b["upper"]) / 2 for b in bins]
    top.bar(
        centres,
        [b["accuracy"] for b in bins],
        width=width * 0.9,
        color="tab:blue",
        label="accuracy in the bin",
    )
    top.plot(
        [b["confidence"] for b in bins],
        [b["accuracy"] for b in bins],
        "o",
        color="black",
        markersize=3,
        label="mean confidence in the bin",
    )
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"Reliability diagram, test split (ECE {ece:.4f}, {count} bins)")
    top.set_xlabel("confidence (top class probability)")
    top.set_ylabel("accuracy")
    bottom.bar(centres, [b["images"] for b in bins], width=width * 0.9, color="tab:grey")
    bottom.set_title("Test images per confidence bin", fontsize=9)
    bottom.set_xlabel("confidence (top class probability)")
    bottom.set_ylabel("images")
    return figure


def _place(axes: Axes, picture: np.ndarray, column: int, row: int) -> None:
    """Draw ``picture`` in the grid cell (column, row), fitted into a unit square."""
    height, width = picture.shape[:2]
    scale = 1.0 / max(height, width)
    left = column * (1 + TILE_GAP) + (1 - width * scale) / 2
    top = row * (1 + TILE_GAP) + TILE_GAP + (1 - height * scale) / 2
    axes.imshow(picture, extent=(left, left + width * scale, top + height * scale, top))


def image_grid(
    pictures: Sequence[tuple[np.ndarray, str]],
    title: str,
    labels: tuple[str, str],
    columns: int,
    empty: str = "nothing to show",
) -> tuple[Figure, Axes]:
    """Images in rows of ``columns``, each with its caption above it, in one plot."""
    columns = max(1, min(columns, len(pictures)))
    rows = max(1, -(-len(pictures) // columns))
    figure = Figure(figsize=(2.1 * columns + 1.0, 2.1 * rows + 1.0))
    axes = figure.subplots()
    step = 1 + TILE_GAP
    for index, (picture, caption) in enumerate(pictures):
        column, row = index % columns, index // columns
        _place(axes, picture, column, row)
        axes.text(
            column * step + 0.5, row * step + TILE_GAP * 0.9, caption, ha="center", fontsize=7
        )
    if not pictures:
        axes.text(0.5, 0.5, empty, ha="center", va="center")
    axes.set_xlim(0, columns * step - TILE_GAP)
    axes.set_ylim(rows * step, 0)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title)
    axes.set_xlabel(labels[0])
    axes.set_ylabel(labels[1])
    return figure, axes


def pixels(image: Image.Image) -> np.ndarray:
    """An RGB image as an (H, W, 3) array of floats in [0, 1], as ``imshow`` takes it."""
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def overlay(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """``heatmap`` (H, W, values in [0, 1]) in colour over ``image`` (W x H)."""
    colours = np.asarray(colormaps[HEATMAP](heatmap), dtype=np.float64)[..., :3]
    blended: np.ndarray = (1 - opacity) * pixels(image) + opacity * colours
    return blended


def grad_cam_figure(examples: Sequence[tuple[Image.Image, np.ndarray, str]], layer: str) -> Figure:
    """The examples in a row, captioned, and below each its Grad-CAM heatmap over it."""
    pictures = [(pixels(image), caption) for image, _, caption in examples]
    pictures += [(overlay(image, heatmap), "") for image, heatmap, _ in examples]
    figure, axes = image_grid(
        pictures,
        f"Grad-CAM: where the network found the class it predicted (layer {layer})",
        ("each column: true class → predicted class (confidence)", "image / heatmap"),
        columns=max(1, len(examples)),
        empty="no test images",
    )
    figure.colorbar(
        ScalarMappable(Normalize(0, 1), colormaps[HEATMAP]),
        ax=axes,
        label="relevance to the predicted class",
        fraction=0.03,
        pad=0.02,
    )
    return figure


# --- Grad-CAM ---------------------------------------------------------------------------


def load_network(saved: SavedModel) -> nn.Module:
    """The PyTorch network of the saved model (``weights.pt``), in eval mode on the CPU."""
    network = model.build(saved.metadata.backbone, len(saved.metadata.classes))
    state = torch.load(saved.weights_path, map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return network.eval()


def last_conv(network: nn.Module) -> tuple[str, nn.Conv2d]:
    """The last convolution: its feature maps are the finest spatial view of what the
    network found before pooling throws the positions away."""
    convolutions = [(n, m) for n, m in network.named_modules() if isinstance(m, nn.Conv2d)]
    if not convolutions:
        raise ValueError(f"{type(network).__name__} has no convolution for Grad-CAM")
    return convolutions[-1]


def grad_cam(
    network: nn.Module, inputs: np.ndarray, target: int, size: tuple[int, int]
) -> np.ndarray:
    """Grad-CAM of class ``target`` for one preprocessed image ``inputs`` (3, s, s): the last
    convolution's feature maps weighted by the mean gradient of the class's logit on each,
    kept where positive, resized to ``size`` (width, height) and scaled to [0, 1]."""
    _, layer = last_conv(network)
    kept: dict[str, torch.Tensor] = {}

    def keep_maps(module: nn.Module, args: Any, output: torch.Tensor) -> None:
        kept["maps"] = output.detach()

    def keep_gradient(module: nn.Module, grad_input: Any, grad_output: Any) -> None:
        kept["gradient"] = grad_output[0].detach()

    hooks = [
        layer.register_forward_hook(keep_maps),
        layer.register_full_backward_hook(keep_gradient),
    ]
    try:
        network.eval().zero_grad(set_to_none=True)
        image = torch.from_numpy(np.ascontiguousarray(inputs))[None].requires_grad_(True)
        with torch.enable_grad():
            network(image)[0, target].backward()
    finally:
        for hook in hooks:
            hook.remove()
    weights = kept["gradient"][0].mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * kept["maps"][0]).sum(0))
    width, height = size
    resized = nn.functional.interpolate(
        cam[None, None], size=(height, width), mode="bilinear", align_corners=False
    )[0, 0]
    span = float(resized.max() - resized.min())
    scaled = (resized - resized.min()) / span if span > 0 else torch.zeros_like(resized)
    return np.asarray(scaled.numpy(), dtype=np.float64)
