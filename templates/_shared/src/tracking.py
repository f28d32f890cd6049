"""Experiment tracking with MLflow: each training run is logged with its choices, its scores
and the exact model folder the service loads.

The command line calls ``log_run`` after training when ``tracking.enabled`` is true. The
store is a local SQLite file (``tracking.tracking_uri``, default ``sqlite:///mlflow.db``;
browse it with ``uv run mlflow ui --backend-store-uri sqlite:///mlflow.db``); set
``MLFLOW_TRACKING_URI`` to log to a shared tracking server instead. MLflow is imported only
when a run is logged, so a project without it installed runs everything else.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from .config import Settings
from .config_base import ConfigurationError
from .model_dir import ModelMetadata

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "tracking.enabled is true but MLflow is not installed; install it with "
    "`uv add --group tracking 'mlflow>=3'`, or set tracking.enabled: false in "
    "configs/pipeline.yaml"
)


class TrainingRun(Protocol):
    """What a variant's training returns, as far as tracking is concerned."""

    @property
    def metadata(self) -> ModelMetadata: ...

    @property
    def directory(self) -> Path: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def scores(self) -> Mapping[str, float]: ...


def metric_name(name: str) -> str:
    """``name`` as MLflow accepts it (letters, digits and ``_-. :/``): ``hit@5`` is
    logged as ``hit_at_5``."""
    return name.replace("@", "_at_")


def tracking_uri(settings: Settings) -> str:
    """``MLFLOW_TRACKING_URI`` when set (a server), else the configured local store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.tracking.tracking_uri


def log_run(settings: Settings, run: TrainingRun) -> str:
    """Log the run's parameters, metrics and model folder; return MLflow's run id."""
    try:
        import mlflow
    except ImportError:
        raise ConfigurationError(INSTALL_HINT) from None

    metadata = run.metadata
    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(settings.tracking.experiment)
    with mlflow.start_run(run_name=metadata.model_version) as active:
        mlflow.set_tags(
            {
                "model_version": metadata.model_version,
                "variant": metadata.variant,
                "task": metadata.task,
                "data_hash": metadata.data_hash,
                "template_version": metadata.template_version,
            }
        )
        mlflow.log_params(dict(run.params))
        test = {f"test_{name}": value for name, value in metadata.test_metrics.items()}
        mlflow.log_metrics(
            {metric_name(name): value for name, value in {**test, **run.scores}.items()}
        )
        # The folder as saved, not a re-serialised copy: what MLflow keeps is exactly what
        # the service loads, under the same version.
        mlflow.log_artifacts(str(run.directory), artifact_path="model")
        logger.info("logged MLflow run %s to %s", active.info.run_id, uri)
        return str(active.info.run_id)
