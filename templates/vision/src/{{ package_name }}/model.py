"""The networks: a compact CNN trained from scratch, or ResNet-18 with a new head.

Both end in a linear layer named ``fc`` that maps pooled features to class logits, so the
training loop, freeze-then-fine-tune and export treat them alike: ``fc`` is the head,
everything else the backbone.

Edit this file to change the architecture or add a backbone (and its name in
``config.TrainConfig.backbone``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

HEAD = "fc"


class CompactCNN(nn.Module):
    """Five conv-BN-ReLU blocks, global average pooling and a linear head: ~0.25 M
    parameters, trained from scratch on a CPU in about a minute.

    The first two blocks see the full resolution (small objects are a few pixels wide at
    32 px, and their corners and edges are what tells classes apart); the next ones halve
    it, widening as they go. Pooling instead of flattening makes it work at any input size.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 32, 64, 128, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for number, width in enumerate(widths):
            layers += [
                nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            if 0 < number < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            channels = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.fc(torch.flatten(self.pool(self.features(images)), 1))
        return logits


def _resnet18(num_classes: int, weights: str | None) -> nn.Module:
    from torchvision.models import ResNet18_Weights, resnet18

    network: nn.Module
    if weights == "imagenet":
        # Downloaded once into torch's hub cache (~45 MB); needs the internet.
        network = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    else:
        network = resnet18(weights=None)
        if weights is not None:
            _load_backbone(network, Path(weights))
    # The new head: ImageNet's 1,000 classes become this project's classes.
    features = network.get_submodule(HEAD)
    if not isinstance(features, nn.Linear):
        raise TypeError(f"resnet18's `{HEAD}` is not a linear layer")
    network.fc = nn.Linear(features.in_features, num_classes)
    return network


def _load_backbone(network: nn.Module, path: Path) -> None:
    """Load a local state dict (a saved torchvision resnet18, any head) into ``network``."""
    if not path.is_file():
        raise FileNotFoundError(
            f"train.weights: {path} not found; give a state dict saved with "
            "torch.save(model.state_dict(), path), `imagenet`, or leave it unset"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"train.weights: {path} does not hold a state dict")
    # The head is replaced anyway, and its size depends on the classes it was trained on.
    backbone = {key: value for key, value in state.items() if not key.startswith(f"{HEAD}.")}
    missing, unexpected = network.load_state_dict(backbone, strict=False)
    missing = [key for key in missing if not key.startswith(f"{HEAD}.")]
    if missing or unexpected:
        raise ValueError(
            f"train.weights: {path} is not a resnet18 state dict "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )


def build(backbone: str, num_classes: int, weights: str | None = None) -> nn.Module:
    """A network for ``num_classes`` classes: ``cnn`` (from scratch) or ``resnet18``, whose
    ``weights`` are ``imagenet`` (torchvision's download), a local state dict, or None."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, not {num_classes}")
    if backbone == "cnn":
        if weights is not None:
            raise ValueError("the cnn backbone trains from scratch; it takes no weights")
        return CompactCNN(num_classes)
    if backbone == "resnet18":
        return _resnet18(num_classes, weights)
    raise ValueError(f"unknown backbone {backbone!r}; choose cnn or resnet18")


def weight_count(model: nn.Module) -> int:
    """How many numbers the network learns (every parameter, trainable or frozen)."""
    return sum(parameter.numel() for parameter in model.parameters())


def head_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters of the classification head (the final linear layer)."""
    head = getattr(model, HEAD, None)
    if not isinstance(head, nn.Module):
        raise ValueError(f"{type(model).__name__} has no `{HEAD}` head")
    return head.parameters()


def freeze_backbone(model: nn.Module, frozen: bool) -> None:
    """Train only the head (``frozen``) or every layer.

    Transfer learning trains the new, randomly initialised head first: fine-tuning every
    layer at once would push large gradients from that random head into pretrained
    features and destroy some of what they learnt.
    """
    head = {id(parameter) for parameter in head_parameters(model)}
    for parameter in model.parameters():
        parameter.requires_grad_(not frozen or id(parameter) in head)


def train_mode(model: nn.Module) -> None:
    """``model.train()``, except that batch norms in frozen layers keep their statistics:
    frozen layers should compute exactly what the pretrained network computed."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
            parameter.requires_grad for parameter in module.parameters()
        ):
            module.eval()
