"""The ``data`` stage: make ``data.path`` available, then check every image before any stage
uses it.

While ``data.path`` is ``sample.path``, the deterministic sample set is written there (and
its unlabelled batch for the drift demo), unless it is already complete; nothing else ever
writes a sample. Otherwise ``data.path`` is your images and must exist: a missing path is an
error naming it and what to do. Then every image is opened once (``data.load_splits``): bad
files are reported by name and skipped, and a data set that cannot be trained on (one class,
a class with too few images, classes that differ from ``data.classes``) stops ``make all``
here, before the EDA.

Edit this file to fetch images another way (a bucket, a database export); keep the
contract: ``data.path`` holds the images when this stage ends.
"""

from __future__ import annotations

import logging

from .config import Settings
from .data import DataError, Splits, load_splits, missing
from .sample_data import CLASSES, write_new_batch, write_sample

logger = logging.getLogger(__name__)


def _sample_is_complete(settings: Settings) -> bool:
    sample = settings.sample
    folders = [sample.path / name for name in CLASSES]
    return (
        all(len(list(folder.glob("*.png"))) == sample.images_per_class for folder in folders)
        and len(list(sample.new_batch_path.glob("*.png"))) == sample.new_batch_images
    )


def ensure_data(settings: Settings, *, overwrite: bool = False) -> Splits:
    """Make ``data.path`` exist and check every image; return the splits."""
    if settings.uses_sample:
        if overwrite or not _sample_is_complete(settings):
            write_sample(settings)
            write_new_batch(settings)
        else:
            logger.info(
                "%s: the sample is complete; `--overwrite` writes it again", settings.sample.path
            )
    elif not settings.data.path.exists():
        raise DataError(missing(settings.data.path, settings))
    splits = load_splits(settings)
    logger.info(
        "%s: %d classes; %d training, %d validation, %d test images; %d file(s) skipped",
        settings.data.path,
        len(splits.classes),
        len(splits.train),
        len(splits.val),
        len(splits.test),
        len(splits.skipped),
    )
    return splits
