"""Ingest: read the configured file, check it against the schema, split it three ways.

The split is a pure function of the data and ``train.seed``, so ``train`` and ``evaluate``
(separate processes) see the same test rows without saving them twice.

Point ``data.path`` at your own file and describe its columns in the config; edit this file
only to read another source (a database, several files) or to split differently (by time,
by group).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import Settings
from .schema import validate

logger = logging.getLogger(__name__)

PARQUET_SUFFIXES = {".parquet", ".pq"}


class DataError(ValueError):
    """Input data that cannot be used; the message names the file, the column (when there
    is one) and the reason, and nothing has been written."""


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


def missing(path: Path, settings: Settings) -> str:
    """What to do about a data file that is not there."""
    if path == settings.sample.path:
        return f"{path} not found; `make data` writes the sample there"
    if path == settings.data.path and settings.data.url:
        return f"{path} not found; `make data` downloads it from data.url"
    if path != settings.data.path:
        return f"{path} not found"
    return (
        f"{path} not found (data.path in the config). Put your file there, set data.url "
        "(and data.sha256) for `make data` to download it, or set data.path to "
        f"{settings.sample.path} for the bundled sample"
    )


def read_table(
    path: Path, settings: Settings, text_columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file, chosen by suffix; refuse, in words, one that cannot be
    read as a table with a header and at least one row. ``text_columns`` (default: the
    config's ``str`` columns) are read as text even when their values look like numbers."""
    if not path.is_file():
        raise DataError(missing(path, settings))
    suffix = path.suffix.lower()
    if suffix not in {*PARQUET_SUFFIXES, ".csv"}:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected a header row, then data rows")
    if text_columns is None:
        text_columns = settings.data.names("str")
    text = list(text_columns)
    frame = _read_parquet(path) if suffix in PARQUET_SUFFIXES else _read_csv(path, text)
    duplicated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise DataError(f"{path}: column(s) {', '.join(duplicated)} appear more than once")
    if frame.empty:
        raise DataError(f"{path}: a header but no data rows")
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet, chosen by suffix as ``read_table`` reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for JSON and YAML); anything else as is."""
    return value.item() if isinstance(value, np.generic) else value


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises its own error types for corrupt files
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None


def _read_csv(path: Path, text_columns: list[str]) -> pd.DataFrame:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        repeated = sorted(name for name, count in Counter(header).items() if count > 1)
        if repeated:
            # pandas would rename the second copy to `name.1` and carry on.
            raise DataError(
                f"{path}: column(s) {', '.join(repeated)} appear more than once in the header; "
                "each column needs a unique name"
            )
        # Text columns stay text even when every value looks like a number (e.g. zip codes).
        text = dict.fromkeys(text_columns, "object")
        return pd.read_csv(path, dtype=text, encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}); "
            "is it a binary file? Save tables as UTF-8 CSV or Parquet"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no columns found; expected a header row") from None
    except pd.errors.ParserError as error:
        reason = str(error).strip().splitlines()[-1]
        raise DataError(f"{path}: not a well-formed CSV ({reason})") from None


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


def check_trainable(frame: pd.DataFrame, settings: Settings, source: Path) -> None:
    """Refuse data too small, or with too few examples of a class, for the configured
    splits and cross-validation, before any of them fails with a less helpful message."""
    data, folds = settings.data, settings.train.cv_folds
    train_share = 1 - data.test_size - data.val_size
    # Each fold of the training split must hold at least one row (of each class), and the
    # test and validation splits at least one row each.
    needed = max(math.ceil((folds + 1) / train_share), math.ceil(2 / data.test_size))
    why = (
        f"a {data.test_size:.0%} test and {data.val_size:.0%} validation split, then "
        f"{folds}-fold cross-validation on the rest (train.cv_folds)"
    )
    if len(frame) < needed:
        raise DataError(f"{source}: {len(frame)} rows; training needs at least {needed}, for {why}")
    if settings.task != "classification":
        return
    counts = frame[data.target].value_counts()
    absent = [label for label in data.classes or [] if label not in counts.index]
    if absent and len(counts) >= 2:
        raise DataError(
            f"{source}: column {data.target!r} (the target) never holds "
            f"{', '.join(map(repr, absent))}, which data.classes lists; remove it from the list"
        )
    if len(counts) < 2:
        raise DataError(
            f"{source}: column {data.target!r} (the target) holds one class only, "
            f"'{counts.index[0]}'; classification needs at least two"
        )
    rare = counts[counts < needed]
    if not rare.empty:
        classes = ", ".join(f"'{label}' ({count} rows)" for label, count in rare.items())
        raise DataError(
            f"{source}: column {data.target!r} (the target) has too few rows of {classes}; "
            f"each class needs at least {needed}, for {why}"
        )


def load_dataset(settings: Settings) -> Dataset:
    frame = load(settings)
    check_trainable(frame, settings, settings.data.path)
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
