"""Training with a crash injected at one moment of saving the model.

    <project>/.venv/bin/python harness/crashing_train.py <package> "<moment>" [command...]

Runs the project's own command line (default: `train`) in its own environment; the process
kills itself with SIGKILL right at the moment named, so what is left on disk is what a power
cut or an out-of-memory kill would leave. Only this wrapper changes anything: it intercepts
`os.replace` (every variant's save ends with renames) and, where the project has it,
`joblib.dump`, to know where the save is. Used by the build layer and the crash benchmark.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

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


def main(package: str, moment: str, command: list[str]) -> int:
    if moment not in MOMENTS:
        raise SystemExit(f"unknown moment {moment!r}; choose from {MOMENTS}")
    real_replace = os.replace

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        import joblib
    except ImportError:  # a variant that saves no pickle
        joblib = None
    else:
        real_dump = joblib.dump

        def dump(value: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
            written = real_dump(value, filename, *args, **kwargs)
            if moment == "during model.joblib":
                with open(filename, "r+b") as handle:  # as if cut off halfway through
                    handle.truncate(os.path.getsize(filename) // 2)
                die()
            return written

        joblib.dump = dump

    def replace(source: Any, destination: Any) -> None:
        source_name, destination_name = os.path.basename(source), os.path.basename(destination)
        if _WRITTEN_NOT_RENAMED.get(source_name) == moment:
            die()
        real_replace(source, destination)
        if moment == "folder renamed, CURRENT not switched" and source_name.startswith(".staging-"):
            die()
        if moment == "CURRENT switched, old folders not removed" and destination_name == "CURRENT":
            die()

    os.replace = replace  # type: ignore[assignment]
    cli = importlib.import_module(f"{package}.cli")
    return int(cli.main(command))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], sys.argv[3:] or ["train"]))
