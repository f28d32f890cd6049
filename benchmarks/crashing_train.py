"""`train` with a crash injected at one moment of saving the model (a benchmark helper).

    <project>/.venv/bin/python benchmarks/crashing_train.py <package> "<moment>"

The process kills itself with SIGKILL right at the moment named, so what is left on disk is
what a power cut or an out-of-memory kill would leave. Only this wrapper changes anything:
the project's own code runs as it is; the wrapper intercepts `joblib.dump` and `os.replace`,
the two calls a save is made of, to know where it is.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import joblib

MOMENTS = (
    "during model.joblib",
    "reference.json written, not renamed",
    "metadata.json written, not renamed",
    "folder renamed, CURRENT not switched",
    "CURRENT written, not switched",
    "CURRENT switched, old folders not removed",
)
_WRITTEN_NOT_RENAMED = {
    ".reference.json.partial": "reference.json written, not renamed",
    ".metadata.json.partial": "metadata.json written, not renamed",
    ".CURRENT.partial": "CURRENT written, not switched",
}


def main(package: str, moment: str) -> int:
    if moment not in MOMENTS:
        raise SystemExit(f"unknown moment {moment!r}; choose from {MOMENTS}")
    real_dump, real_replace = joblib.dump, os.replace

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def dump(value: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        written = real_dump(value, filename, *args, **kwargs)
        if moment == "during model.joblib":
            with open(filename, "r+b") as handle:  # as if cut off halfway through the write
                handle.truncate(os.path.getsize(filename) // 2)
            die()
        return written

    def replace(source: Any, destination: Any) -> None:
        source_name, destination_name = os.path.basename(source), os.path.basename(destination)
        if _WRITTEN_NOT_RENAMED.get(source_name) == moment:
            die()
        real_replace(source, destination)
        if moment == "folder renamed, CURRENT not switched" and source_name.startswith(".staging-"):
            die()
        if moment == "CURRENT switched, old folders not removed" and destination_name == "CURRENT":
            die()

    joblib.dump = dump
    os.replace = replace  # type: ignore[assignment]
    cli = importlib.import_module(f"{package}.cli")
    return int(cli.main(["train"]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
