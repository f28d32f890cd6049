"""Every setting the project reads, from one place: ``configs/pipeline.yaml``.

``Settings`` holds what this project adds (the task, the data and its column schema, the
sample data, the training budget) on top of the sections every project made from the
template shares (paths, serving limits, drift thresholds, tracking, host and port: see
``config_base``). Environment variables override any key, nested with ``__``
(``TRAIN__SEED=7``). The model families and the ranking metric are checked when the
config loads, so a typo is one line naming the key and the allowed values.

Edit this file when the config grows a setting; edit ``configs/pipeline.yaml`` to change a
value.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from . import config_base
from .config_base import ProjectSettings, Section

Task = Literal["classification", "regression"]

MODEL_TARGET = "make train"
"""The command that builds the model: messages about a missing one name it."""
RESULTS_TARGET = "make evaluate"
"""The command that writes the README Results from the current model."""


class ColumnSpec(Section):
    """What one input column must look like; the ingest schema and the API are built from it."""

    dtype: Literal["int", "float", "str", "bool"]
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: list[str] | None = None
    description: str = ""


Label = StrictBool | StrictInt | str
"""A class of the target as YAML writes it: `0`, `true` or `Adelie`."""


class DataConfig(Section):
    path: Path = Field(
        description="CSV or Parquet file with one row per example: the sample's path "
        "(sample.path) or your own file."
    )
    url: str | None = Field(
        None, description="Where `make data` downloads `path` from when it is missing (https)."
    )
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="The file's sha256: a download, or the file itself, must match it.",
    )
    target: str
    classes: list[Label] | None = Field(
        None,
        description="Classification: every value of the target, sorted; with two, the second "
        "is the positive class.",
    )
    id_columns: list[str] = Field(default_factory=list, description="Dropped before training.")
    columns: dict[str, ColumnSpec] = Field(description="Feature columns and their schema.")
    test_size: float = Field(0.2, gt=0, lt=0.5)
    val_size: float = Field(0.2, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _target_is_not_a_feature(self) -> DataConfig:
        if self.target in self.columns:
            raise ValueError(f"target column {self.target!r} must not be listed in data.columns")
        if self.classes is not None:
            if len(set(map(str, self.classes))) < 2:
                raise ValueError("data.classes: list at least two classes")
            try:
                ordered = sorted(self.classes)
            except TypeError:
                raise ValueError("data.classes: mixes numbers and text; use one kind") from None
            if ordered != self.classes:
                # scikit-learn orders classes this way; the second is the positive one.
                raise ValueError(f"data.classes: list them sorted, as {ordered}")
        return self

    def names(self, *dtypes: str) -> list[str]:
        """The feature columns of the given dtypes, in config order."""
        return [name for name, spec in self.columns.items() if spec.dtype in dtypes]

    @property
    def numeric(self) -> list[str]:
        return self.names("int", "float")

    @property
    def boolean(self) -> list[str]:
        return self.names("bool")

    @property
    def categorical(self) -> list[str]:
        return self.names("str")


class SampleConfig(Section):
    """The deterministic synthetic dataset `make data` writes when ``data.path`` is
    ``sample.path``; nothing is ever written to any other path."""

    path: Path = Field(description="Where the sample dataset is written.")
    rows: int = Field(6000, ge=500)
    seed: int = 42
    new_batch_rows: int = Field(1000, ge=100)
    new_batch_path: Path = Field(
        Path("data/sample/new_batch.csv"),
        description="Rows drawn from the same process: the sample's batch for `drift`.",
    )


class ThresholdConfig(Section):
    """Two classes: the probability from which a row is labelled the positive class, chosen
    on the validation split (never on test) for one stated objective."""

    objective: Literal["f1", "balanced_accuracy", "cost", "fixed"] = Field(
        "f1",
        description="f1: best F1 of the positive class (the default: it weighs missed and "
        "false positives alike and cannot be won by ignoring a rare class); "
        "balanced_accuracy: best mean recall of both classes; cost: least "
        "false_positive_cost x false positives + false_negative_cost x misses; fixed: value.",
    )
    false_positive_cost: float = Field(
        1.0, gt=0, description="objective cost: what flagging a negative row costs."
    )
    false_negative_cost: float = Field(
        1.0, gt=0, description="objective cost: what missing a positive row costs."
    )
    value: float = Field(0.5, gt=0, lt=1, description="objective fixed: the threshold itself.")


class TrainConfig(Section):
    seed: int = 42
    cv_folds: int = Field(3, ge=2)
    search_iterations: int = Field(6, ge=1, description="Random-search draws per model family.")
    models: list[str] = Field(min_length=1, description="Model families, from families.py.")
    primary_metric: str | None = Field(
        None,
        description="Metric that ranks candidates (higher is better); unset: roc_auc for two "
        "classes, roc_auc_ovr for more, neg_root_mean_squared_error for regression.",
    )
    threshold: ThresholdConfig = ThresholdConfig()
    n_jobs: int = Field(
        1, description="Processes for cross-validation; -1 uses every core (worth it beyond 2)."
    )


class ServingConfig(config_base.ServingConfig):
    max_record_bytes: int = Field(
        64_000,
        ge=1024,
        description="Body cap of POST /predict (one record); batches take max_body_bytes. "
        "Parsing a body costs time before any check can refuse it, and one record of even "
        "hundreds of columns fits in a few kilobytes.",
    )
    fast_path: bool = Field(
        True,
        description="Replay the fitted pipeline in numpy where that reproduces scikit-learn's "
        "output on the training reference rows (checked at every model load); false sends "
        "every prediction through scikit-learn.",
    )


class Settings(ProjectSettings):
    task: Task
    data: DataConfig
    sample: SampleConfig
    train: TrainConfig
    serving: ServingConfig = ServingConfig()

    @property
    def uses_sample(self) -> bool:
        """True while ``data.path`` is the bundled sample (tests that only make sense for
        the sample skip otherwise)."""
        return self.data.path == self.sample.path

    @property
    def ranking_metric(self) -> str:
        """``train.primary_metric``, or the default for the task and the number of classes."""
        if self.train.primary_metric is not None:
            return self.train.primary_metric
        if self.task == "regression":
            return "neg_root_mean_squared_error"
        return "roc_auc" if len(self.data.classes or ()) == 2 else "roc_auc_ovr"

    @model_validator(mode="after")
    def _training_fits_the_task(self) -> Settings:
        # Imported here, not at the top: families.py imports scikit-learn's estimators.
        from .families import BINARY_METRICS, RANKING_METRICS, available

        known = list(available(self.task))
        unknown = [name for name in self.train.models if name not in known]
        if unknown:
            raise ValueError(
                f"train.models: {', '.join(map(repr, unknown))} is not a {self.task} family "
                f"in families.py; choose from {', '.join(known)}"
            )
        classes = self.data.classes
        if self.task == "classification" and classes is None:
            raise ValueError(
                f"data.classes: list the values of {self.data.target!r} (the target), e.g. "
                "[0, 1]; `make init-data` writes them from your file"
            )
        if self.task == "regression" and classes is not None:
            raise ValueError("data.classes: a regression target has no classes; remove the key")
        metric, metrics = self.ranking_metric, RANKING_METRICS[self.task]
        if metric not in metrics:
            raise ValueError(
                f"train.primary_metric: {metric!r} cannot rank {self.task} models; "
                f"choose from {', '.join(metrics)}"
            )
        if classes is not None and len(classes) > 2 and metric in BINARY_METRICS:
            raise ValueError(
                f"train.primary_metric: {metric!r} is for two classes, and data.classes lists "
                f"{len(classes)} for {self.data.target!r}; use one of "
                f"{', '.join(m for m in metrics if m not in BINARY_METRICS)}, or leave it unset"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()
