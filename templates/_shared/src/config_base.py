"""The settings every project made from this template shares, and where they are read from.

``config.py`` builds this project's ``Settings`` on top of ``ProjectSettings``: it adds the
sections that describe the data and the training, and this module supplies the rest
(where files go, serving limits, drift thresholds, experiment tracking, and the runtime
knobs: host, port, log level).

Values come, highest priority first, from keyword arguments, environment variables (nested
with ``__``, e.g. ``TRAIN__SEED=7`` or ``PATHS__MODELS_DIR=/srv/models``), a ``.env`` file,
and the YAML pipeline config (``configs/pipeline.yaml``, or the file named by
``PIPELINE_CONFIG``). A mistyped key is refused by name, in the YAML file and in every
section, because a typo that is silently ignored trains the wrong model.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_PATH = Path("configs/pipeline.yaml")


def config_path() -> Path:
    """The YAML file every command reads: ``PIPELINE_CONFIG``, or ``configs/pipeline.yaml``."""
    return Path(os.environ.get("PIPELINE_CONFIG", DEFAULT_CONFIG_PATH))


class ConfigurationError(ValueError):
    """A setting the code cannot work with; the message names the key and the fix."""


def describe_error(error: Exception) -> str:
    """A configuration mistake in one line: each problem as ``key: what is wrong``."""
    if not isinstance(error, ValidationError):
        return str(error)
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            # YAML reads `{description: Billed, then paid}` as two keys: say how to fix it.
            message = (
                "unknown key (a typo? or the rest of a text value: inside {...}, put text "
                "that holds a comma or a colon in quotes)"
            )
        problems.append(f"{key}: {message}" if key else message)
    return "; ".join(problems)


class Section(BaseModel):
    """A config section: unknown keys are typos, so they are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(Section):
    """Where the pipeline writes, relative to the project root."""

    models_dir: Path = Field(
        Path("models"),
        description="The saved model: written by training, read by evaluation, drift and "
        "the service (set PATHS__MODELS_DIR to serve a model from elsewhere).",
    )
    reports_dir: Path = Path("reports")
    readme: Path = Path("README.md")


class ServingConfig(Section):
    max_batch_records: int = Field(1000, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024)
    reload_interval_s: float = Field(
        2.0,
        ge=0,
        description="How often the service checks models/CURRENT for a newly trained model "
        "(0: never; restart to pick one up).",
    )
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (the image: 2).")
    max_concurrent_requests: int = Field(
        64,
        ge=1,
        description="Requests in progress per worker beyond which more get a 503 at once "
        "(health, readiness and telemetry are never refused).",
    )
    request_timeout_s: float = Field(
        10.0, gt=0, description="A request's headers and body must arrive within this time."
    )


class MonitoringConfig(Section):
    psi_threshold: float = Field(0.2, gt=0, description="PSI above this on any feature is drift.")
    pvalue: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="A shift counts only when a test says it is not chance: KS for numbers, "
        "chi-square for categories, p-value below this.",
    )
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


class ProjectSettings(BaseSettings):
    """The sections and runtime knobs of every variant; ``config.Settings`` adds its own."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    project_name: str
    paths: PathsConfig = PathsConfig()
    serving: ServingConfig = ServingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    tracking: TrackingConfig = TrackingConfig()

    # Runtime knobs, usually set as plain environment variables.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"pipeline config {path} not found; run from the project root "
                "or set PIPELINE_CONFIG to the YAML file"
            )
        yaml_settings = StrictYamlSource(settings_cls, yaml_file=path)
        return init_settings, env_settings, dotenv_settings, yaml_settings

    def with_models_dir(self, models_dir: Path) -> Self:
        """These settings reading and writing the saved model in ``models_dir``."""
        return self.model_copy(
            update={"paths": self.paths.model_copy(update={"models_dir": models_dir})}
        )
