"""Request and response bodies of the prediction routes (the error bodies are in ``errors``).

Design: the request models are built from ``settings.data.columns`` (the feature schema in
``configs/pipeline.yaml``), not from the model on disk. The config is known when the app is
created, so the routes, their validation and their OpenAPI schema exist even before a model
is trained, and ``/docs`` always shows a valid example request. The model's own feature
schema (``metadata.json``) is checked against the config when the model loads (see
``predictor``); a mismatch keeps the service not-ready with the reason, instead of letting
it accept requests the model cannot score. Once a model is loaded, the OpenAPI example is
the realistic record stored in its metadata; before, it is derived from the config bounds.

Validation is strict on purpose: ``"3"`` is not an int, ``1`` is not a bool, ``2.5`` is
not an int (``2.0`` is, as JSON Schema's ``integer`` says), NaN and infinity are refused,
unknown fields are refused, and numbers without a configured bound are capped at
``SAFE_MAGNITUDE`` so no input can overflow the model's arithmetic. Every bad input is a
422 that names the field, never a 500.

The request models follow ``data.columns``; edit this file to change what a prediction
answer holds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import HTTPException
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from ..config import ColumnSpec

SAFE_MAGNITUDE = 1e15
"""Bound for numeric inputs the config leaves unbounded (floats are exact integers below it)."""

MAX_TEXT_LENGTH = 1000
"""Longest free-text value accepted for a string column without listed categories."""

RECORD_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

UNKNOWN_FIELDS_LISTED = 10
"""Up to this many unknown fields get one error each, naming it; more get a single error, so
a body stuffed with keys costs one check, not an error per key (and a reply of megabytes)."""


def _whole_number(value: Any) -> Any:
    """``2.0`` as ``2``: JSON Schema's ``integer`` includes numbers with no fraction, and
    clients that only have floats send them. Anything else goes on to strict validation."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _column_type(spec: ColumnSpec) -> Any:
    """The Python type of one column; categories become a ``Literal`` so OpenAPI lists them."""
    if spec.categories:
        return Literal[tuple(spec.categories)]
    return {"int": WholeNumber, "float": float, "str": str, "bool": bool}[spec.dtype]


def _column_field(spec: ColumnSpec) -> Any:
    """The pydantic ``Field`` of one column: bounds, length cap, description, default."""
    constraints: dict[str, Any] = {}
    if spec.dtype in ("int", "float"):
        constraints["ge"] = spec.minimum if spec.minimum is not None else -SAFE_MAGNITUDE
        constraints["le"] = spec.maximum if spec.maximum is not None else SAFE_MAGNITUDE
    elif spec.dtype == "str" and not spec.categories:
        constraints["max_length"] = MAX_TEXT_LENGTH
    # A nullable column may be left out: missing means unknown, which the model imputes.
    default: Any = None if spec.nullable else ...
    description = spec.description
    if spec.dtype == "int":
        # As the data step reads a CSV integer column with gaps (`59.0`): see _whole_number.
        description = f"{description} (a whole number; 59.0 is read as 59)".strip()
    return Field(default, description=description or None, **constraints)


def example_from_columns(columns: Mapping[str, ColumnSpec]) -> dict[str, Any]:
    """A record that satisfies every column's constraints, for the schema before a model exists."""
    record: dict[str, Any] = {}
    for name, spec in columns.items():
        if spec.categories:
            record[name] = spec.categories[0]
        elif spec.dtype == "bool":
            record[name] = False
        elif spec.dtype == "str":
            record[name] = "text"
        else:
            low, high = spec.minimum, spec.maximum
            if low is not None and high is not None:
                value = (low + high) / 2
            else:
                value = low if low is not None else high if high is not None else 0.0
            record[name] = math.ceil(value) if spec.dtype == "int" else float(value)
    return record


class RecordExample:
    """The example record shown in OpenAPI: the served model's typical record when it is
    valid, else one derived from the config.

    The schema asks for the example when it is generated, so the record follows the model
    that was loaded after the app (and its routes) were built.
    """

    def __init__(self, columns: Mapping[str, ColumnSpec], model: Callable[[], Any]) -> None:
        self._fallback = example_from_columns(columns)
        self._model = model  # returns the served model's Metadata, or None
        self.validator: type[BaseModel] | None = None

    @property
    def record(self) -> dict[str, Any]:
        metadata = self._model()
        if metadata is None or self.validator is None:
            return dict(self._fallback)
        try:
            return self.validator.model_validate(metadata.example_record()).model_dump()
        except ValidationError:  # e.g. an example outside bounds tightened since training
            return dict(self._fallback)


def build_record_model(
    columns: dict[str, ColumnSpec], example: RecordExample, name: str = "Record"
) -> type[BaseModel]:
    """One pydantic model for one input record, from the feature schema in the config."""
    known = frozenset(columns)

    def add_example(schema: dict[str, Any]) -> None:
        schema["examples"] = [example.record]

    def refuse_many_unknown_fields(cls: Any, data: Any) -> Any:
        # Cheap: one lookup per known column, whatever the record holds. Only a record with
        # many unknown keys pays for naming a few.
        if not isinstance(data, dict):
            return data
        count = len(data) - sum(1 for name in known if name in data)
        if count > UNKNOWN_FIELDS_LISTED:
            unknown = [key for key in itertools.islice(data, 1000) if key not in known][:3]
            raise ValueError(
                f"{count} unknown fields, e.g. {', '.join(map(repr, unknown))}; "
                f"a record has at most these {len(known)}: {', '.join(columns)}"
            )
        return data

    fields: dict[str, Any] = {}
    for column, spec in columns.items():
        column_type = _column_type(spec)
        if spec.nullable:
            column_type = column_type | None
        fields[column] = (column_type, _column_field(spec))
    config = ConfigDict(**RECORD_CONFIG, json_schema_extra=add_example)
    validators: dict[str, Any] = {
        "refuse_many_unknown_fields": model_validator(mode="before")(refuse_many_unknown_fields)
    }
    model: type[BaseModel] = create_model(
        name, __config__=config, __validators__=validators, **fields
    )
    return model


class BatchTooLargeError(HTTPException):
    """More records than ``serving.max_batch_records``: the request is too large, not invalid."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            detail=f"batch has {count} records; the limit is {limit} per request "
            "(serving.max_batch_records). Split it into smaller batches.",
        )


def build_batch_model(
    record_model: type[BaseModel], max_records: int, example: RecordExample
) -> type[BaseModel]:
    """The ``{"records": [...]}`` request model, refusing more than ``max_records`` with a 413."""

    def check_count(cls: type[BaseModel], records: Any) -> Any:
        # Runs before the records are validated one by one, so an oversized batch costs
        # one length check, not thousands of record validations.
        if isinstance(records, list) and len(records) > max_records:
            raise BatchTooLargeError(len(records), max_records)
        return records

    def add_example(schema: dict[str, Any]) -> None:
        schema["examples"] = [{"records": [example.record]}]

    validators: dict[str, Any] = {
        "check_count": field_validator("records", mode="before")(classmethod(check_count))
    }
    model: type[BaseModel] = create_model(
        "BatchRequest",
        __config__=ConfigDict(extra="forbid", frozen=True, json_schema_extra=add_example),
        __validators__=validators,
        records=(
            list[record_model],  # type: ignore[valid-type]
            Field(
                min_length=1,
                # Stop at the first invalid record: its errors say what to fix, and a batch
                # of a thousand wrong records costs one record's errors, not ten thousand.
                fail_fast=True,
                description=f"Between 1 and {max_records} records; more is a 413. A 422 "
                "names the first invalid record's errors.",
                # Documented, not enforced by pydantic: over the cap is a 413, not a 422.
                json_schema_extra={"maxItems": max_records},
            ),
        ),
    )
    return model


class ResponseModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), frozen=True)


class ClassPrediction(ResponseModel):
    label: str | int = Field(description="The most probable class.")
    probabilities: dict[str, float] = Field(description="Probability of each class; sums to 1.")


class ClassificationResponse(ClassPrediction):
    model_version: str


class ClassificationBatchResponse(ResponseModel):
    predictions: list[ClassPrediction]
    model_version: str


class ValuePrediction(ResponseModel):
    value: float = Field(description="The predicted target value.")


class RegressionResponse(ValuePrediction):
    model_version: str


class RegressionBatchResponse(ResponseModel):
    predictions: list[ValuePrediction]
    model_version: str
