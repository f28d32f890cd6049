"""The ``data`` stage: make ``data.path`` available, then check it before any stage uses it.

Three cases, decided by the config alone:

* ``data.path`` is ``sample.path``: the bundled synthetic sample is written there (and its
  "next month" batch for the drift demo). Nothing else ever writes a sample.
* ``data.path`` is missing and ``data.url`` is set: the file is downloaded, checked
  against ``data.sha256`` and only then moved into place. This is how a fresh clone (a CI
  runner) gets data that is too big or too private to commit.
* ``data.path`` is your file: it is checked against ``data.sha256`` when one is set.

A missing file with no ``url`` is an error naming the path and the three ways out. Then the
file goes through the schema and the split checks, so a wrong column stops ``make all``
before the EDA, not halfway through training.

Edit this file to fetch data another way (a database query, a bucket); keep the contract:
``data.path`` exists and matches ``data.sha256`` when this stage ends.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from pathlib import Path

from .config import Settings
from .data import DataError, file_hash, load_dataset, missing
from .sample_data import write_sample

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 60


def ensure_data(settings: Settings, *, overwrite: bool = False) -> list[Path]:
    """Make ``data.path`` exist and check it; return the files written."""
    written = _obtain(settings, overwrite=overwrite)
    load_dataset(settings)  # schema, size and class checks, with messages in words
    return written


def _obtain(settings: Settings, *, overwrite: bool) -> list[Path]:
    path, url, expected = settings.data.path, settings.data.url, settings.data.sha256
    if settings.uses_sample:
        return write_sample(settings, overwrite=overwrite)
    if path.is_file():
        if expected is not None:
            _check_hash(path, expected, what=str(path))
        logger.info("%s: your data (%s bytes); the sample is not written", path, _size(path))
        return []
    if url is None:
        raise DataError(missing(path, settings))
    download(url, path, expected)
    return [path]


def download(url: str, path: Path, expected: str | None) -> None:
    """Fetch ``url`` into ``path`` through a temporary file: a failed or corrupt download
    leaves nothing at ``path``."""
    if not url.startswith(("https://", "file://")):
        raise DataError(f"data.url {url!r}: use an https:// (or file://) address")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        digest = hashlib.sha256()
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(  # noqa: S310 (scheme checked)
                url, timeout=DOWNLOAD_TIMEOUT_S
            ) as response,
        ):
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(
                f"{url}: sha256 {actual}, but data.sha256 is {expected}; the file changed "
                "at its source, or the download was corrupted. Nothing was written"
            )
        os.replace(partial, path)
    except OSError as error:
        raise DataError(f"{url}: download failed ({error}); nothing was written") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    logger.info("downloaded %s to %s (%s bytes)", url, path, _size(path))
    if expected is None:
        logger.warning("set data.sha256: %s in the config to pin this download", actual)


def _check_hash(path: Path, expected: str, *, what: str) -> None:
    actual = file_hash(path)
    if actual != expected:
        raise DataError(
            f"{what}: sha256 {actual}, but data.sha256 is {expected}; the file is not the "
            "one the config names. Update data.sha256 if you changed the data on purpose"
        )


def _size(path: Path) -> str:
    return f"{path.stat().st_size:,}"
