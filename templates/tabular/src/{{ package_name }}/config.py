"""Every setting the project reads, from one place.

Values come, highest priority first, from: keyword arguments, environment variables
(nested with ``__``, e.g. ``TRAIN__SEED=7``), a ``.env`` file, and the YAML pipeline
config (``configs/pipeline.yaml``, or the file named by ``PIPELINE_CONFIG``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_PATH = Path("configs/pipeline.yaml")

Task = Literal["classification", "regression"]


class Section(BaseModel):
    """A config section: unknown keys are typos, so they are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    models: list[str] = Field(min_length=1)
    primary_metric: str = Field(description="Metric that ranks candidates (higher is better).")
    n_jobs: int = Field(
        1, description="Processes for cross-validation; -1 uses every core (worth it beyond 2)."
    )


class PathsConfig(Section):
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    readme: Path = Path("README.md")


class ServingConfig(Section):
    max_batch_records: int = Field(1000, ge=1)
    max_body_bytes: int = Field(2_000_000, ge=1024)


class MonitoringConfig(Section):
    psi_threshold: float = Field(0.2, gt=0, description="PSI above this on any feature is drift.")
    ks_pvalue: float = Field(0.01, gt=0, lt=1)
    bins: int = Field(10, ge=2)


class TrackingConfig(Section):
    enabled: bool = False
    experiment: str = "default"
    tracking_uri: str = Field(
        "sqlite:///mlflow.db",
        description="Overridden by the MLFLOW_TRACKING_URI environment variable when set.",
    )


class StrictYamlSource(YamlConfigSettingsSource):
    """The YAML config, refusing unknown top-level keys (a typo there would go unnoticed).

    The settings themselves ignore unknown keys, because ``.env`` legitimately holds
    variables meant for other tools (``MLFLOW_TRACKING_URI``, ``PIPELINE_CONFIG``...).
    """

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        unknown = sorted(set(values) - set(self.settings_cls.model_fields))
        if unknown:
            raise ValueError(
                f"{self.yaml_file_path}: unknown key(s) {', '.join(unknown)}; "
                f"known keys are {', '.join(self.settings_cls.model_fields)}"
            )
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    project_name: str
    task: Task
    data: DataConfig
    sample: SampleConfig = SampleConfig()
    train: TrainConfig
    paths: PathsConfig = PathsConfig()
    serving: ServingConfig = ServingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    tracking: TrackingConfig = TrackingConfig()

    # Runtime knobs, usually set as plain environment variables.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    model_dir: Path | None = Field(None, description="Where the service loads the model from.")

    @property
    def serving_model_dir(self) -> Path:
        return self.model_dir or self.paths.models_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_path = Path(os.environ.get("PIPELINE_CONFIG", DEFAULT_CONFIG_PATH))
        if not config_path.is_file():
            raise FileNotFoundError(
                f"pipeline config {config_path} not found; run from the project root "
                "or set PIPELINE_CONFIG to the YAML file"
            )
        yaml_settings = StrictYamlSource(settings_cls, yaml_file=config_path)
        return init_settings, env_settings, dotenv_settings, yaml_settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()
