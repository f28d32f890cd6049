"""``make data``: the documents the config names, made available and checked.

While ``data.path`` is the sample (``sample.path``), the handbook shipped inside the package
(``sample/``: 29 documents of a fictional company, with its evaluation questions) is copied
to ``data/sample/``; nothing is ever written anywhere else. Your own documents: set
``data.path`` to their folder (and ``data.questions`` to your evaluation set); ``make data``
then checks that the folder holds files ingest can read, and names the ones it cannot.

Edit this module to fetch documents from elsewhere (a bucket, a wiki export).
"""

from __future__ import annotations

import logging
import shutil
from importlib import resources
from pathlib import Path

from .config import Settings
from .loaders import SUPPORTED_SUFFIXES, load_folder

logger = logging.getLogger(__name__)

SAMPLE = resources.files(__package__) / "sample"


def copy_sample(settings: Settings, overwrite: bool = False) -> Path:
    """Copy the shipped handbook and its questions to ``sample.path``/``sample.questions``."""
    target, questions = settings.sample.path, settings.sample.questions
    if overwrite or not target.is_dir():
        if target.is_dir():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for item in (SAMPLE / "handbook").iterdir():
            (target / item.name).write_bytes(item.read_bytes())
    for name, path in (
        ("questions.jsonl", questions),
        ("new_questions.txt", settings.sample.new_questions),
    ):
        if overwrite or not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes((SAMPLE / name).read_bytes())
    return target


def ensure_data(settings: Settings, overwrite: bool = False) -> Path:
    """The documents folder, ready for ``make ingest``; raises naming what is missing."""
    folder = settings.data.path
    if settings.uses_sample:
        copy_sample(settings, overwrite)
    elif not folder.is_dir():
        raise FileNotFoundError(
            f"the documents folder {folder} (data.path) does not exist; put your documents "
            f"there ({', '.join(sorted(SUPPORTED_SUFFIXES))}), or set data.path back to "
            f"{settings.sample.path} for the sample"
        )
    documents, skipped = load_folder(folder)
    for path, reason in skipped:
        logger.warning("file skipped", extra={"file": str(path), "reason": reason})
    if not documents:
        raise FileNotFoundError(f"{folder} holds no document ingest can read")
    questions = settings.data.questions
    if questions is not None and not questions.is_file():
        logger.warning("no evaluation set: `make eval` needs one", extra={"file": str(questions)})
    logger.info(
        "documents ready",
        extra={"folder": str(folder), "documents": len(documents), "skipped": len(skipped)},
    )
    return folder
