"""``make init-data DATA=path TARGET=column``: describe your own file in the config.

The file is profiled with pandera's schema inference (each column's type, whether it has
gaps, its observed range), plus what pandera does not infer: which text columns are
categories, which columns look like identifiers, and the target's classes. The result
replaces the ``data`` block of ``configs/pipeline.yaml`` (the rest of the file, comments
included, is left as it is), then the whole config and the file are checked the way every
stage checks them.

What the profile decides, for you to review:

* A column with missing values is ``nullable``. A numeric column with no negative value
  gets ``minimum: 0``; the observed range goes in its description, not in ``minimum`` and
  ``maximum``, because a bound taken from one sample refuses the first legitimate value
  beyond it (in the service and in the drift check). Set real bounds where you know them.
* A text column with at most ``MAX_CATEGORIES`` distinct values lists them as
  ``categories`` (the service then refuses any other value); beyond that it is free text.
* A column named like an identifier (``id``, ``customer_id``, ``PassengerId``) or holding
  a distinct text value in every row is an ``id_columns`` guess: dropped before training.

The block is fingerprinted; running ``init-data`` again replaces it only while it is the
sample's block or still what ``init-data`` wrote. After you edit it, ``--force`` is needed.

Edit this file to change what the profile infers (e.g. the category threshold).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pandas.api import types as ptypes
from pandera.schema_inference.pandas import infer_schema

from .config import Settings
from .config_base import ConfigurationError
from .data import DataError, plain, read_table

logger = logging.getLogger(__name__)

MAX_CATEGORIES = 30
MAX_CLASSES = 50
FINGERPRINT = re.compile(r"^ *# init-data fingerprint: ([0-9a-f]{16})$", re.MULTILINE)
_ID_NAME = re.compile(r"(^|_)id$|^id_|[a-z]Id$|ID$", re.IGNORECASE)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _kind(series: pd.Series) -> str:
    """int, float, bool or str, as ``ColumnSpec.dtype`` names them."""
    if ptypes.is_bool_dtype(series):
        return "bool"
    if ptypes.is_numeric_dtype(series):
        values = series.dropna().to_numpy(dtype=float)
        whole = ptypes.is_integer_dtype(series) or bool(np.all(values == np.round(values)))
        return "int" if whole and len(values) else "float"
    return "str"


def _looks_like_id(name: str, series: pd.Series) -> bool:
    distinct = series.nunique(dropna=True) == len(series)
    if _ID_NAME.search(name):
        return bool(distinct) or not ptypes.is_float_dtype(series)
    return bool(distinct) and _kind(series) == "str"


def column_spec(series: pd.Series, inferred: Any) -> dict[str, Any]:
    """One ``data.columns`` entry from a column and pandera's inferred column schema."""
    kind = _kind(series)
    spec: dict[str, Any] = {"dtype": kind}
    if inferred.nullable or series.isna().any():
        spec["nullable"] = True
    present = series.dropna()
    if kind in ("int", "float") and len(present):
        low, high = float(present.min()), float(present.max())
        if low >= 0:
            spec["minimum"] = 0
        spec["description"] = f"observed {_number(low)} to {_number(high)}"
    elif kind == "str":
        levels = sorted(str(v) for v in present.unique())
        if len(levels) <= MAX_CATEGORIES:
            spec["categories"] = levels
        else:
            spec["description"] = f"free text ({len(levels)} distinct values observed)"
    return spec


def _classes(target: pd.Series, name: str, task: str) -> list[Any] | None:
    kind = _kind(target)
    present = target.dropna()
    if task == "regression":
        if kind not in ("int", "float"):
            raise DataError(
                f"target {name!r} holds {kind} values, but the project's task is regression; "
                "pick a numeric target, or make a classification project"
            )
        return None
    levels = sorted({plain(v) for v in present.unique()})
    if kind == "float" or len(levels) > MAX_CLASSES:
        raise DataError(
            f"target {name!r} holds {len(levels)} distinct {kind} values: a regression target, "
            "but the project's task is classification; pick a categorical target, or make a "
            "regression project (copier update --data task=regression)"
        )
    if kind == "str":
        return [str(level) for level in levels]
    return levels


def profile(frame: pd.DataFrame, target: str, task: str, path: Path) -> dict[str, Any]:
    """The ``data`` block describing ``frame``, with ``target`` as the target."""
    if target not in frame.columns:
        raise DataError(
            f"{path}: no column {target!r} (TARGET); the columns are {', '.join(frame.columns)}"
        )
    features = frame.drop(columns=[target])
    schema = infer_schema(features)
    ids = [name for name in features.columns if _looks_like_id(str(name), features[name])]
    columns = {
        str(name): column_spec(features[name], schema.columns[name])
        for name in features.columns
        if name not in ids
    }
    if not columns:
        raise DataError(f"{path}: no feature columns besides the target and id columns")
    block: dict[str, Any] = {"path": path.as_posix(), "target": target}
    classes = _classes(frame[target], target, task)
    if classes is not None:
        block["classes"] = classes
    block["id_columns"] = [str(name) for name in ids]
    block["test_size"] = 0.2
    block["val_size"] = 0.2
    block["columns"] = columns
    return block


def fingerprint(block: dict[str, Any]) -> str:
    canonical = json.dumps(block, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def render_block(block: dict[str, Any], source: Path, rows: int) -> str:
    """The YAML text of the block: one line per column, as the sample's config writes it."""

    def flow(value: Any) -> str:
        text: str = yaml.safe_dump(
            value, default_flow_style=True, width=1_000_000, allow_unicode=True, sort_keys=False
        )
        return text.strip().removesuffix("...").strip()

    lines = [
        "data:",
        f"  # Written by `make init-data` from {source.name} ({rows:,} rows): review it. Ranges",
        "  # observed in the file are in the descriptions; set minimum/maximum where you know",
        "  # the valid bounds. After an edit, init-data replaces this block only with --force.",
        f"  # init-data fingerprint: {fingerprint(block)}",
    ]
    for key, value in block.items():
        if key == "columns":
            lines.append("  columns:")
            lines += [f"    {flow(name)}: {flow(spec)}" for name, spec in value.items()]
        else:
            lines.append(f"  {key}: {flow(value)}")
    return "\n".join(lines) + "\n"


def _block_span(text: str) -> tuple[int, int]:
    """Start and end offsets of the top-level ``data:`` block in the config text."""
    start = re.search(r"^data:[ \t]*(#.*)?$", text, re.MULTILINE)
    if start is None:
        raise ConfigurationError("no top-level `data:` block in the config")
    after = re.compile(r"^[A-Za-z_][\w-]*:", re.MULTILINE).search(text, start.end())
    end = after.start() if after else len(text)
    # Comments just above the next key belong to it, not to the data block.
    while True:
        previous = text.rfind("\n", start.end(), end - 1)
        if previous < 0 or not text[previous + 1 : end].startswith("#"):
            break
        end = previous + 1
    return start.start(), end


def _replaceable(text: str, current: dict[str, Any], settings: Settings) -> bool:
    """True when the data block is the sample's, or unchanged since init-data wrote it."""
    if settings.uses_sample:
        return True
    recorded = FINGERPRINT.search(text)
    return recorded is not None and recorded.group(1) == fingerprint(current)


def run(
    settings: Settings, config: Path, data: Path, target: str, *, force: bool = False
) -> dict[str, Any]:
    """Profile ``data`` and write the config's ``data`` block; return the block."""
    frame = read_table(data, settings, text_columns=())
    block = profile(frame, target, settings.task, _relative(data))
    text = config.read_text(encoding="utf-8")
    current = yaml.safe_load(text).get("data") or {}
    if not force and not _replaceable(text, current, settings):
        raise ConfigurationError(
            f"{config}: the data block describes {current.get('path')!r} and was edited since "
            "init-data wrote it; keep it, or run again with --force (FORCE=1) to replace it"
        )
    start, end = _block_span(text)
    updated = text[:start] + render_block(block, data, len(frame)) + text[end:]
    _write(config, updated)
    logger.info(
        "wrote the data block of %s: %d feature columns, target %r%s, id columns %s",
        config,
        len(block["columns"]),
        target,
        f" with classes {block['classes']}" if "classes" in block else "",
        block["id_columns"] or "none",
    )
    return block


def _relative(path: Path) -> Path:
    """``path`` relative to the project when it is inside it, so the config stays portable."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.resolve()


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
