"""The model folder every variant writes, and the metadata every saved model carries.

A trained model is a folder (``paths.models_dir``, ``models/`` by default): the model files
that ``artefacts.py`` names, and ``metadata.json``. ``ModelMetadata`` below holds the keys
every model has, whatever the variant: which version it is, when it was trained, on which
data (a SHA-256), from which template release, how it scored, and on which metric it was
chosen. ``artefacts.Metadata`` adds what this project's model needs on top (its features,
classes, candidates...). Evaluation, drift, tracking and the service read the folder only
through those two typed models, so a field is added in one place.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

METADATA_FILE = "metadata.json"
ANSWERS_FILE = Path(".copier-answers.yml")


class UnusableModelError(ValueError):
    """A saved model this code cannot use; the message says why and what to do."""


class ModelMetadata(BaseModel):
    """The keys every saved model's ``metadata.json`` has (the template's variant contract)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_version: str
    trained_at: AwareDatetime
    variant: str
    task: str
    primary_metric: str
    test_metrics: dict[str, float]
    data_hash: str
    template_version: str


Metadata = TypeVar("Metadata", bound=ModelMetadata)


def model_version(trained_at: datetime, data_hash: str) -> str:
    """A version that sorts by training time and names the data: ``20250131120000-1a2b3c4d``."""
    return f"{trained_at:%Y%m%d%H%M%S}-{data_hash[:8]}"


def template_version(answers_file: Path = ANSWERS_FILE) -> str:
    """The template release this project was generated or last updated from, or "unknown"."""
    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "unknown"
    commit = answers.get("_commit") if isinstance(answers, dict) else None
    return str(commit) if commit else "unknown"


def write_json(path: Path, content: str) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)


def write_metadata(directory: Path, metadata: ModelMetadata) -> Path:
    path = directory / METADATA_FILE
    content = json.dumps(metadata.model_dump(mode="json"), indent=2, ensure_ascii=False)
    write_json(path, content + "\n")
    return path


def read_metadata(directory: Path, model: type[Metadata]) -> Metadata:
    """``metadata.json`` of the model in ``directory``, checked against ``model``.

    Raises ``FileNotFoundError`` (no model yet) or ``UnusableModelError`` (not this
    project's metadata), each with a message that says what to do.
    """
    path = directory / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `make train` first")
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise UnusableModelError(f"{path} is not valid model metadata: {error}") from None
