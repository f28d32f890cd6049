"""How an image becomes the network's input, and how training varies it.

``preprocess`` is the one path from a decoded image to numbers: evaluation, drift and the
service call it, and training calls it after augmentation, so what the network saw in
training is what it sees in production (a mismatch there is a silent accuracy loss). It uses
numpy and Pillow only, because the service runs the ONNX model without PyTorch installed.

``augmentation`` is for training only and uses torchvision, imported inside the function so
that importing this module never imports PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
"""ImageNet's channel means and standard deviations. Pretrained backbones (resnet18) expect
them; the CNN trained from scratch does as well with them as with the dataset's own, and one
fixed pair, recorded in the model's metadata, leaves nothing to recompute or mismatch."""


def preprocess(
    image: Image.Image,
    size: int,
    mean: Sequence[float] = MEAN,
    std: Sequence[float] = STD,
) -> np.ndarray:
    """A float32 array (3, size, size): the RGB image squeezed to ``size`` x ``size``
    (bilinear), scaled to [0, 1] and normalised per channel. The aspect ratio is not kept: a
    crop would cut off what is near the edges, and padding would add borders the network
    never saw in training."""
    if image.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {image.mode}; use data.open_image")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    normalised = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def batch(
    images: Sequence[Image.Image],
    size: int,
    mean: Sequence[float] = MEAN,
    std: Sequence[float] = STD,
) -> np.ndarray:
    """``preprocess`` for several images: a float32 array (N, 3, size, size)."""
    if not images:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    return np.stack([preprocess(image, size, mean, std) for image in images])


def augmentation(size: int) -> Callable[[Image.Image], Image.Image]:
    """A random variation of a training image, ``size`` x ``size``, new on every call.

    Each step imitates how the same object is photographed differently: framed tighter or
    off-centre (a random crop of 75-100 % of the area, slightly stretched), turned a little
    (up to 10 degrees), in other light (brightness, contrast, saturation, a small hue shift),
    and mirrored. No vertical flip: upside-down photos are rare, and for some classes (digits,
    text, buildings) it changes what the image shows. Mild on purpose: a small network
    trained from scratch for a few epochs loses more to strong variation than it gains.
    Random draws come from PyTorch's generator, so ``torch.manual_seed`` repeats them.
    """
    from torchvision.transforms import v2

    steps = v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.75, 1.0), ratio=(0.85, 1.15), antialias=True),
            v2.RandomRotation(10),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
            v2.RandomHorizontalFlip(),
        ]
    )

    def augment(image: Image.Image) -> Image.Image:
        varied: Any = steps(image)
        if not isinstance(varied, Image.Image):
            raise TypeError(f"augmentation returned {type(varied).__name__}, not an image")
        return varied

    return augment
