"""Command line: one subcommand per pipeline stage (``make data`` etc. call these).

Each stage imports its module only when it runs, so ``train`` never imports FastAPI and
``serve`` never imports matplotlib. ``init-data`` writes the config's ``data`` block from
your own file. ``all`` runs the stages in one process, so pandas,
scikit-learn and matplotlib are imported once instead of once per stage. After ``train``,
the run is logged to MLflow when ``tracking.enabled`` is true. How a command runs (settings,
logging, errors) is ``cli_base``.

Edit this file to add a stage: a function below, a subparser, and a place in ``PIPELINE``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import cli_base
from .cli_base import Command
from .config import Settings
from .config_base import config_path


def _data(settings: Settings, args: argparse.Namespace) -> int:
    from .acquire import ensure_data

    ensure_data(settings, overwrite=args.overwrite)
    return 0


def _init_data(settings: Settings, args: argparse.Namespace) -> int:
    from . import init_data
    from .acquire import ensure_data

    config = config_path()
    init_data.run(settings, config, args.data, args.target, force=args.force)
    ensure_data(Settings())  # the new block, checked as every stage will check it
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


def build_parser() -> argparse.ArgumentParser:
    parser, commands = cli_base.new_parser(
        "Run a stage of the ML pipeline. Settings come from configs/pipeline.yaml "
        "(or the file in PIPELINE_CONFIG) and environment variables."
    )

    overwrite = argparse.ArgumentParser(add_help=False)
    overwrite.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the sample files (by default an existing dataset is kept)",
    )
    commands.add_parser(
        "data",
        parents=[overwrite],
        help="make data.path available (the sample, a download, or your file) and check it",
    ).set_defaults(handler=_data)
    init = commands.add_parser(
        "init-data", help="describe your own CSV or Parquet file in the config's data block"
    )
    init.add_argument("--data", type=Path, required=True, help="your CSV or Parquet file")
    init.add_argument("--target", required=True, help="the column to predict")
    init.add_argument("--force", action="store_true", help="replace a data block edited by hand")
    init.set_defaults(handler=_init_data)
    commands.add_parser("eda", help="write reports/eda.md and figures").set_defaults(handler=_eda)
    commands.add_parser(
        "train", help="compare model families and save the best model"
    ).set_defaults(handler=_train)
    commands.add_parser(
        "evaluate", help="score the test split, write figures and README results"
    ).set_defaults(handler=_evaluate)
    cli_base.add_drift(
        commands,
        help="compare a new batch with the training data",
        batch="CSV or Parquet batch (default: the sample's batch with the sample data, else "
        "the held-out test split)",
    )
    cli_base.add_all(commands, PIPELINE, parents=[overwrite])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli_base.run(build_parser(), argv)
