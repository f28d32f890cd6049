"""The model folder every variant writes, and the metadata every saved model carries.

Each trained model is a folder of its own under ``paths.models_dir`` (``models/`` by
default), named after its version, holding the model files ``artefacts.py`` names and
``metadata.json``. The file ``models/CURRENT`` names the folder in use::

    models/
      CURRENT                      20250131120000-1a2b3c4d
      20250131120000-1a2b3c4d/     model files, metadata.json
      20250130093000-1a2b3c4d/     the previous model, kept for a rollback

A new model is written into a hidden staging folder, which is renamed into place once
complete; then ``CURRENT`` is replaced in one atomic step. A crash at any point leaves the
previous model current and whole, and a running service, which watches ``CURRENT``, swaps
models only between requests and only after the new one passed its checks.

``ModelMetadata`` holds the keys every model has, whatever the variant: which version it
is, when it was trained, on which data (a SHA-256), from which template release, how it
scored, and on which metric it was chosen. ``artefacts.Metadata`` adds what this project's
model needs on top. Evaluation, drift, tracking and the service read models only through
those two typed models and this folder layout, so a field is added in one place.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from .config import MODEL_TARGET

METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"
STAGING_PREFIX = ".staging-"
KEEP_VERSIONS = 2
"""The current model and the one before it, for a rollback: older folders are removed."""
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


def _fsync(path: Path) -> None:
    """Make ``path`` (a file, or a folder's entries) durable before what depends on it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:  # some platforms cannot fsync a folder; the rename order still holds
        pass
    finally:
        os.close(descriptor)


def write_json(path: Path, content: str) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    _fsync(partial)
    os.replace(partial, path)


def current_version(models_dir: Path) -> str | None:
    """The folder name ``CURRENT`` holds, or None when there is no model yet (cheap: one read)."""
    try:
        return (models_dir / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def current_dir(models_dir: Path) -> Path:
    """The folder of the model in use; raises with what to do when there is none."""
    version = current_version(models_dir)
    if version is None:
        raise FileNotFoundError(f"no model in {models_dir}; run `{MODEL_TARGET}` first")
    if not _is_model_folder(models_dir, version):
        raise UnusableModelError(
            f"{models_dir / CURRENT_FILE} names {version!r}, which is not a model folder in "
            f"{models_dir}; run `{MODEL_TARGET}` again"
        )
    return models_dir / version


def version_dir(models_dir: Path, version: str) -> Path:
    """The folder of the model ``version``, current or not; raises when there is none."""
    if not _is_model_folder(models_dir, version):
        raise UnusableModelError(f"no model {version!r} in {models_dir}; run `{MODEL_TARGET}`")
    return models_dir / version


def _is_model_folder(models_dir: Path, version: str) -> bool:
    return (
        Path(version).name == version
        and not version.startswith(".")
        and (models_dir / version).is_dir()
    )


@contextmanager
def new_version(models_dir: Path, version: str) -> Iterator[Path]:
    """A fresh staging folder to write a model into, made current when the block ends.

    If the block raises (or the process dies), the staging folder is left behind, never
    read, and removed by the next save; the current model is untouched.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    for stale in models_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = models_dir / f"{STAGING_PREFIX}{version}"
    staging.mkdir()
    yield staging
    publish(models_dir, staging, version)


def publish(models_dir: Path, staging: Path, version: str) -> Path:
    """Rename the complete ``staging`` folder into place, then switch ``CURRENT`` to it."""
    for path in staging.iterdir():
        _fsync(path)
    name, number = version, 1
    while (models_dir / name).exists():  # the same version trained twice: keep both
        number += 1
        name = f"{version}-{number}"
    final = models_dir / name
    os.replace(staging, final)
    _fsync(models_dir)
    write_json(models_dir / CURRENT_FILE, name + "\n")
    _fsync(models_dir)
    _remove_old_versions(models_dir, keep=name)
    return final


def _remove_old_versions(models_dir: Path, keep: str) -> None:
    versions = sorted(
        (path for path in models_dir.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
    )
    others = [path for path in versions if path.name != keep]
    for old in others[: max(0, len(others) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def write_metadata(directory: Path, metadata: ModelMetadata) -> Path:
    path = directory / METADATA_FILE
    content = json.dumps(metadata.model_dump(mode="json"), indent=2, ensure_ascii=False)
    write_json(path, content + "\n")
    return path


def read_metadata(directory: Path, model: type[Metadata]) -> Metadata:
    """``metadata.json`` of the model folder ``directory``, checked against ``model``.

    Raises ``FileNotFoundError`` (no model yet) or ``UnusableModelError`` (not this
    project's metadata), each with a message that says what to do.
    """
    path = directory / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `{MODEL_TARGET}` first")
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise UnusableModelError(f"{path} is not valid model metadata: {error}") from None
