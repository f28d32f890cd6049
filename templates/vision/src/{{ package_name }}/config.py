"""Every setting the project reads, from one place: ``configs/pipeline.yaml``.

``Settings`` holds what this project adds (the images, the sample set, training, export and
serving limits for uploads) on top of the sections every project made from the template
shares (paths, serving, drift thresholds, tracking, host and port: see ``config_base``).
Environment variables override any key, nested with ``__`` (``TRAIN__EPOCHS=3``).

Edit this file when the config grows a setting; edit ``configs/pipeline.yaml`` to change a
value.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from . import config_base
from .config_base import ProjectSettings, Section

MODEL_TARGET = "make train"
"""The command that builds the model: messages about a missing one name it."""
RESULTS_TARGET = "make evaluate"
"""The command that writes the README Results from the current model."""


class DataConfig(Section):
    path: Path = Field(
        description="An ImageFolder (one folder per class, or train/val/test folders of "
        "class folders) or a CSV file with `path` and `label` columns (paths relative to it)."
    )
    classes: list[str] | None = Field(
        None,
        description="The class names, sorted; unset, the class folders (or the CSV's labels) "
        "found in data.path.",
    )
    image_size: int = Field(
        32, ge=16, le=512, description="Images are resized to this square size (pixels)."
    )
    test_size: float = Field(0.2, gt=0, lt=0.5)
    val_size: float = Field(0.2, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _classes_are_sorted(self) -> DataConfig:
        if self.classes is not None:
            if len(set(self.classes)) < 2:
                raise ValueError("data.classes: list at least two classes")
            if sorted(self.classes) != self.classes:
                raise ValueError(f"data.classes: list them sorted, as {sorted(self.classes)}")
        return self


class SampleConfig(Section):
    """The deterministic synthetic image set `make data` writes when ``data.path`` is
    ``sample.path``; nothing is ever written to any other path."""

    path: Path = Field(Path("data/sample/shapes"), description="Where the sample is written.")
    images_per_class: int = Field(300, ge=50)
    image_size: int = Field(64, ge=16, le=256, description="Side of the written PNGs.")
    seed: int = 42
    new_batch_path: Path = Field(
        Path("data/sample/new_batch"),
        description="Images drawn from the same process, without labels: `make drift`'s batch.",
    )
    new_batch_images: int = Field(200, ge=20)


class TrainConfig(Section):
    backbone: Literal["cnn", "resnet18"] = Field(
        "cnn",
        description="cnn: a compact network trained from scratch; resnet18: transfer learning "
        "from train.weights.",
    )
    weights: str | None = Field(
        None,
        description="resnet18 only: `imagenet` downloads torchvision's weights; a path loads a "
        "local checkpoint (a state dict); unset trains from random weights.",
    )
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    freeze_epochs: int = Field(
        2, ge=0, description="Transfer learning: epochs training the new head only, first."
    )
    patience: int = Field(
        4, ge=1, description="Stop after this many epochs without a better validation loss."
    )
    augment: bool = True
    seed: int = 42
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes.")
    checkpoints_dir: Path = Field(
        Path("checkpoints"),
        description="best.pt and last.pt of the run in progress (resume with --resume).",
    )


class ServingConfig(config_base.ServingConfig):
    max_image_bytes: int = Field(
        5_000_000, ge=1024, description="Largest uploaded file (413 above)."
    )
    max_image_pixels: int = Field(
        25_000_000,
        ge=1024,
        description="Largest image, width x height, once decoded (413 above): a small file "
        "can decode to gigabytes (a decompression bomb).",
    )
    max_batch_files: int = Field(16, ge=1, description="Files per POST /predict/batch.")
    top_k: int = Field(3, ge=1, description="Classes returned per image, most probable first.")


class Settings(ProjectSettings):
    data: DataConfig
    sample: SampleConfig = SampleConfig()
    train: TrainConfig = TrainConfig()
    serving: ServingConfig = ServingConfig()

    @property
    def uses_sample(self) -> bool:
        """True while ``data.path`` is the bundled sample."""
        return self.data.path == self.sample.path

    @model_validator(mode="after")
    def _weights_need_a_backbone(self) -> Settings:
        if self.train.weights is not None and self.train.backbone == "cnn":
            raise ValueError(
                "train.weights: the cnn backbone trains from scratch; set "
                "train.backbone: resnet18 to start from weights"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()
