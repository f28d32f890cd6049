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

from pydantic import Field, model_validator

from . import config_base
from .config_base import ProjectSettings, Section

Task = Literal["classification", "regression"]


class ColumnSpec(Section):
    """What one input column must look like; the ingest schema and the API are built from it."""

    dtype: Literal["int", "float", "str", "bool"]
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: list[str] | None = None
    description: str = ""


class DataConfig(Section):
    path: Path = Field(description="CSV or Parquet file with one row per example.")
    target: str
    id_columns: list[str] = Field(default_factory=list, description="Dropped before training.")
    columns: dict[str, ColumnSpec] = Field(description="Feature columns and their schema.")
    test_size: float = Field(0.2, gt=0, lt=0.5)
    val_size: float = Field(0.2, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _target_is_not_a_feature(self) -> DataConfig:
        if self.target in self.columns:
            raise ValueError(f"target column {self.target!r} must not be listed in data.columns")
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
    """The deterministic synthetic dataset written by ``make data``."""

    rows: int = Field(6000, ge=500)
    seed: int = 42
    new_batch_rows: int = Field(1000, ge=100)
    new_batch_path: Path = Field(
        Path("data/raw/new_batch.csv"),
        description="Rows drawn from the same process: the default batch for `drift`.",
    )


class TrainConfig(Section):
    seed: int = 42
    cv_folds: int = Field(3, ge=2)
    search_iterations: int = Field(6, ge=1, description="Random-search draws per model family.")
    models: list[str] = Field(min_length=1, description="Model families, from families.py.")
    primary_metric: str = Field(description="Metric that ranks candidates (higher is better).")
    n_jobs: int = Field(
        1, description="Processes for cross-validation; -1 uses every core (worth it beyond 2)."
    )


class ServingConfig(config_base.ServingConfig):
    fast_path: bool = Field(
        True,
        description="Replay the fitted pipeline in numpy where that reproduces scikit-learn's "
        "output on the training reference rows (checked at every model load); false sends "
        "every prediction through scikit-learn.",
    )


class Settings(ProjectSettings):
    task: Task
    data: DataConfig
    sample: SampleConfig = SampleConfig()
    train: TrainConfig
    serving: ServingConfig = ServingConfig()

    @model_validator(mode="after")
    def _training_fits_the_task(self) -> Settings:
        # Imported here, not at the top: families.py imports scikit-learn's estimators.
        from .families import RANKING_METRICS, available

        known = list(available(self.task))
        unknown = [name for name in self.train.models if name not in known]
        if unknown:
            raise ValueError(
                f"train.models: {', '.join(map(repr, unknown))} is not a {self.task} family "
                f"in families.py; choose from {', '.join(known)}"
            )
        metrics = RANKING_METRICS[self.task]
        if self.train.primary_metric not in metrics:
            raise ValueError(
                f"train.primary_metric: {self.train.primary_metric!r} cannot rank {self.task} "
                f"models; choose from {', '.join(metrics)}"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()
