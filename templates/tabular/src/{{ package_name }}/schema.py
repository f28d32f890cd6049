"""The ingest contract: data must match ``data.columns`` in the config before any stage uses it.

Validation runs in two passes with pandera: first every column must exist and hold the
right kind of values (int, float, bool, str); only then are values checked (nulls, ranges,
categories), so one wrong column gives one clear message instead of a cascade. Every
problem names its column. Columns the config does not know are dropped with a warning:
they could be anything (an export timestamp, a free-text note) and silently training on
them would make the model depend on columns the service never receives.

The checks follow ``data.columns`` in the config: describe your columns there rather than
editing this file.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes
from pandera.errors import SchemaErrors

from .config import ColumnSpec, Settings

logger = logging.getLogger(__name__)

_KIND_MESSAGES = {
    "int": "expected whole numbers",
    "float": "expected numbers",
    "bool": "expected true/false values",
    "str": "expected text",
}


class SchemaViolationError(ValueError):
    """The data does not match the configured schema; the message lists every column at fault."""


def _is_int(series: pd.Series) -> bool:
    if ptypes.is_bool_dtype(series):
        return False
    if ptypes.is_integer_dtype(series):
        return True
    if ptypes.is_float_dtype(series):  # a CSV integer column with gaps is read as float
        values = series.dropna().to_numpy(dtype=float)
        return bool(np.all(np.isfinite(values) & (values == np.round(values))))
    return False


def _is_float(series: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series)


def _is_bool(series: pd.Series) -> bool:
    if ptypes.is_bool_dtype(series):
        return True
    return ptypes.is_object_dtype(series) and all(
        isinstance(value, bool | np.bool_) for value in series.dropna()
    )


def _is_str(series: pd.Series) -> bool:
    if ptypes.is_string_dtype(series) and not ptypes.is_object_dtype(series):
        return True
    return ptypes.is_object_dtype(series) and all(isinstance(v, str) for v in series.dropna())


_KIND_TESTS = {"int": _is_int, "float": _is_float, "bool": _is_bool, "str": _is_str}


def _kind_column(dtype: str, required: bool = True) -> pa.Column:
    return pa.Column(
        checks=pa.Check(_KIND_TESTS[dtype], name=f"kind_{dtype}", error=_KIND_MESSAGES[dtype]),
        nullable=True,
        required=required,
    )


FINITE = "finite numbers only"
NOT_EMPTY = "at least one value"
CLASSES = "one of data.classes"


def _finite(series: pd.Series) -> pd.Series:
    """True where the value is missing or a finite number: infinity is never a measurement."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    finite: pd.Series = series.isna() | pd.Series(np.isfinite(values), index=series.index)
    return finite


def _not_empty(series: pd.Series) -> bool:
    return bool(series.notna().any())


def _value_column(spec: ColumnSpec) -> pa.Column:
    checks = [pa.Check(_not_empty, name=NOT_EMPTY, error=NOT_EMPTY)]
    if spec.dtype in ("int", "float"):
        checks.append(pa.Check(_finite, name=FINITE, error=FINITE))
    if spec.minimum is not None:
        checks.append(pa.Check.ge(spec.minimum))
    if spec.maximum is not None:
        checks.append(pa.Check.le(spec.maximum))
    if spec.categories is not None:
        checks.append(pa.Check.isin(spec.categories))
    return pa.Column(checks=checks, nullable=spec.nullable)


def _describe(errors: SchemaErrors) -> str:
    """One line per column and problem, e.g. ``column 'age': expected whole numbers``."""
    lines: list[str] = []
    cases = errors.failure_cases
    nulls = cases[cases["check"].astype(str) == "not_nullable"]
    all_missing = {
        column
        for column, rows in nulls.groupby(nulls["column"].astype(str), sort=False)
        if len(rows) == _rows(errors)
    }
    for check, group in cases.groupby(cases["check"].astype(str), sort=False):
        if check == "column_in_dataframe":
            missing = group.failure_case
            lines += [f"column {c!r}: required but missing from the data" for c in missing]
            continue
        for column, rows in group.groupby(group["column"].astype(str), sort=False):
            if check == "not_nullable" and column in all_missing:
                lines.append(f"column {column!r}: every value is missing")
            elif check == "not_nullable":
                lines.append(
                    f"column {column!r}: {len(rows)} of {_rows(errors)} values are missing, "
                    "and the column is not nullable"
                )
            elif check == NOT_EMPTY:
                if column not in all_missing:  # said already, as a missing-values error
                    lines.append(f"column {column!r}: every value is missing; nothing to learn")
            elif check == FINITE:
                lines.append(
                    f"column {column!r}: {len(rows)} infinite value(s); leave the cell empty "
                    "for an unknown value"
                )
            elif check == CLASSES:
                examples = ", ".join(map(repr, rows.failure_case.drop_duplicates().head(3)))
                lines.append(
                    f"column {column!r} (the target): {len(rows)} value(s) not in data.classes, "
                    f"e.g. {examples}"
                )
            elif check in _KIND_MESSAGES.values():
                lines.append(f"column {column!r}: {check} (found {_dtype_of(errors, column)})")
            else:
                examples = ", ".join(map(repr, rows.failure_case.drop_duplicates().head(3)))
                lines.append(
                    f"column {column!r}: {len(rows)} value(s) fail {check}, e.g. {examples}"
                )
    return "\n  ".join(lines)


def _rows(errors: SchemaErrors) -> int:
    return len(errors.data) if isinstance(errors.data, pd.DataFrame) else 0


def _dtype_of(errors: SchemaErrors, column: object) -> str:
    data = errors.data
    if isinstance(data, pd.DataFrame) and column in data.columns:
        return str(data[column].dtype)
    return "unknown type"


def _run(schema: pa.DataFrameSchema, df: pd.DataFrame, source: str) -> None:
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as errors:
        raise SchemaViolationError(
            f"{source} does not match data.columns in the config:\n  {_describe(errors)}"
        ) from None


def _normalise(series: pd.Series, dtype: str) -> pd.Series:
    """One dtype per kind, whatever the file format produced (CSV, Parquet, JSON)."""
    if dtype == "str":
        return series.astype(object).where(series.notna(), np.nan)
    if dtype == "bool":
        return series.astype(bool) if not series.isna().any() else series.astype(object)
    if dtype == "int" and not series.isna().any():
        return series.astype("int64")
    return series.astype("float64")


def validate(
    df: pd.DataFrame, settings: Settings, *, require_target: bool = True, source: str = "data"
) -> pd.DataFrame:
    """Check ``df`` against the config; return the feature columns (and target) in config order.

    Raises :class:`SchemaViolationError` naming every column at fault. Id columns are
    dropped silently (they are declared); any other unknown column is dropped with a warning.
    """
    columns = settings.data.columns
    target = settings.data.target
    known = [*columns, target] if require_target or target in df.columns else [*columns]
    unknown = [c for c in df.columns if c not in known and c not in settings.data.id_columns]
    if unknown:
        logger.warning("%s: ignoring columns not in data.columns: %s", source, ", ".join(unknown))

    kinds = {name: _kind_column(spec.dtype) for name, spec in columns.items()}
    values = {name: _value_column(spec) for name, spec in columns.items()}
    if target in known:
        if settings.task == "regression":
            kinds[target] = _kind_column("float")
            finite = pa.Check(_finite, name=FINITE, error=FINITE)
            values[target] = pa.Column(checks=finite, nullable=False)
        else:
            kinds[target] = pa.Column(nullable=True)
            classes = settings.data.classes or []
            listed = pa.Check.isin(classes, name=CLASSES, error=CLASSES)
            values[target] = pa.Column(checks=listed, nullable=False)
    frame = df.loc[:, [c for c in known if c in df.columns]]
    _run(pa.DataFrameSchema(kinds), frame, source)
    _run(pa.DataFrameSchema(values), frame, source)

    normalised = {name: _normalise(frame[name], spec.dtype) for name, spec in columns.items()}
    if target in frame.columns:
        normalised[target] = frame[target]
    return pd.DataFrame(normalised, index=frame.index)
