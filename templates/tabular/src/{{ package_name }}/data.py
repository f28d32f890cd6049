"""Ingest: read the configured file, check it against the schema, split it three ways.

The split is a pure function of the data and ``train.seed``, so ``train`` and ``evaluate``
(separate processes) see the same test rows without saving them twice.

Point ``data.path`` at your own file and describe its columns in the config; edit this file
only to read another source (a database, several files) or to split differently (by time,
by group).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import Settings
from .schema import validate

logger = logging.getLogger(__name__)

PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class Split:
    """Train, validation and test frames; each holds the feature columns and the target."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame
    data_hash: str
    split: Split


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes: the model's metadata records exactly which data it saw."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: Path, settings: Settings) -> pd.DataFrame:
    """Read a CSV or Parquet file, chosen by suffix."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `make data` or set data.path")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return pd.read_parquet(path)
    if suffix == ".csv":
        # Text columns stay text even when every value looks like a number (e.g. zip codes).
        columns = settings.data.columns.items()
        text = {name: "object" for name, spec in columns if spec.dtype == "str"}
        return pd.read_csv(path, dtype=text)
    raise ValueError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")


def load(settings: Settings, path: Path | None = None) -> pd.DataFrame:
    """The validated frame (feature columns + target) from ``path`` (default ``data.path``)."""
    path = path or settings.data.path
    return validate(read_table(path, settings), settings, source=str(path))


def split(frame: pd.DataFrame, settings: Settings) -> Split:
    """Stratified (classification) train/validation/test split, reproducible from the seed."""
    # Imported here: `eda` loads data but needs no scikit-learn, which takes seconds to import.
    from sklearn.model_selection import train_test_split

    target = frame[settings.data.target]
    stratify = target if settings.task == "classification" else None
    rest, test = train_test_split(
        frame,
        test_size=settings.data.test_size,
        random_state=settings.train.seed,
        stratify=stratify,
    )
    # val_size is a share of the whole dataset, so rescale it to the rows left after test.
    val_share = settings.data.val_size / (1 - settings.data.test_size)
    train, val = train_test_split(
        rest,
        test_size=val_share,
        random_state=settings.train.seed,
        stratify=rest[settings.data.target] if stratify is not None else None,
    )
    return Split(train=train, val=val, test=test)


def load_dataset(settings: Settings) -> Dataset:
    frame = load(settings)
    parts = split(frame, settings)
    logger.info(
        "%s: %d rows -> train %d, validation %d, test %d",
        settings.data.path,
        len(frame),
        len(parts.train),
        len(parts.val),
        len(parts.test),
    )
    return Dataset(frame=frame, data_hash=file_hash(settings.data.path), split=parts)


def features_and_target(frame: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.Series]:
    return frame[list(settings.data.columns)], frame[settings.data.target]
