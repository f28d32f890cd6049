"""Command line: one subcommand per pipeline stage (``make data`` etc. call these).

Each stage imports its module only when it runs, so ``train`` never imports FastAPI and
``serve`` never imports matplotlib. ``all`` runs the stages in one process, so pandas,
scikit-learn and matplotlib are imported once instead of once per stage. After ``train``,
the run is logged to MLflow when ``tracking.enabled`` is true.

Edit this file to add a stage: a function below, a subparser, and a place in ``PIPELINE``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import Settings, get_settings
from .config_base import describe_error

logger = logging.getLogger(__name__)

Command = Callable[[Settings, argparse.Namespace], int]


def _data(settings: Settings, args: argparse.Namespace) -> int:
    from .sample_data import write_sample

    write_sample(settings, overwrite=args.overwrite)
    return 0


def _eda(settings: Settings, args: argparse.Namespace) -> int:
    from .eda import run

    run(settings)
    return 0


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from .train import run

    result = run(settings)
    if settings.tracking.enabled:
        from .tracking import log_run

        log_run(settings, result)
    return 0


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from .evaluate import run

    run(settings)
    return 0


# The order ``all`` runs the stages in; each reads what the one before it wrote.
PIPELINE: tuple[tuple[str, Command], ...] = (
    ("data", _data),
    ("eda", _eda),
    ("train", _train),
    ("evaluate", _evaluate),
)


def _all(settings: Settings, args: argparse.Namespace) -> int:
    for name, stage in PIPELINE:
        logger.info("stage %s", name)
        started = time.perf_counter()
        status = stage(settings, args)
        if status != 0:
            logger.error("stage %s exited %d; later stages did not run", name, status)
            return status
        logger.info("%s finished in %.1f s", name, time.perf_counter() - started)
    return 0


def _drift(settings: Settings, args: argparse.Namespace) -> int:
    from .monitoring import run_drift

    batch: Path = args.batch or settings.sample.new_batch_path
    return run_drift(settings, batch)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from .api.main import serve

    serve(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=__package__,
        description="Run a stage of the ML pipeline. Settings come from configs/pipeline.yaml "
        "(or the file in PIPELINE_CONFIG) and environment variables.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    overwrite = argparse.ArgumentParser(add_help=False)
    overwrite.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the sample files (by default an existing dataset is kept)",
    )
    commands.add_parser(
        "data", parents=[overwrite], help="write the sample dataset and a new batch"
    ).set_defaults(handler=_data)
    commands.add_parser("eda", help="write reports/eda.md and figures").set_defaults(handler=_eda)
    commands.add_parser(
        "train", help="compare model families and save the best model"
    ).set_defaults(handler=_train)
    commands.add_parser(
        "evaluate", help="score the test split, write figures and README results"
    ).set_defaults(handler=_evaluate)
    drift = commands.add_parser("drift", help="compare a new batch with the training data")
    drift.add_argument(
        "--batch", type=Path, default=None, help="CSV or Parquet batch (default: sample batch)"
    )
    drift.set_defaults(handler=_drift)
    commands.add_parser("serve", help="serve the model over HTTP").set_defaults(handler=_serve)
    commands.add_parser(
        "all", parents=[overwrite], help="data, eda, train and evaluate in one process"
    ).set_defaults(handler=_all)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except (FileNotFoundError, ValueError) as error:
        # A missing or mistyped config: name the problem, no traceback.
        print(f"{__package__}: configuration error: {describe_error(error)}", file=sys.stderr)
        return 2
    if args.command != "serve":  # the service sets up its own (JSON) logging
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else settings.log_level,
            format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
            datefmt="%H:%M:%S",
            stream=sys.stderr,
        )
    handler: Command = args.handler
    started = time.perf_counter()
    try:
        status = handler(settings, args)
    except (FileNotFoundError, ValueError) as error:
        # Bad input (missing file, data that fails the schema, a config mistake) is the
        # user's to fix: say what is wrong without a traceback, unless asked for one.
        logger.error("%s failed: %s", args.command, error, exc_info=args.verbose)
        return 1
    logger.info("%s finished in %.1f s", args.command, time.perf_counter() - started)
    return status
