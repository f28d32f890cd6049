"""Command line: one subcommand per pipeline stage (``make data`` etc. call these).

Each stage imports its module only when it runs, so ``data`` never imports PyTorch and
``serve`` never imports it at all (the service runs the ONNX export). ``all`` runs the
stages in one process, so PyTorch is imported once. ``train`` takes the options a training
run is usually varied with (``--epochs``, ``--seed``, ``--backbone``, ``--dry-run``,
``--resume``); launched by ``torchrun``, it trains on every process it starts
(DistributedDataParallel). After ``train``, the run is logged to MLflow when
``tracking.enabled`` is true. How a command runs (settings, logging, errors) is
``cli_base``.

Edit this file to add a stage: a function below, a subparser, and a place in ``PIPELINE``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import cli_base
from .cli_base import Command
from .config import Settings


def _data(settings: Settings, args: argparse.Namespace) -> int:
    from .acquire import ensure_data

    ensure_data(settings, overwrite=getattr(args, "overwrite", False))
    return 0


def _eda(settings: Settings, args: argparse.Namespace) -> int:
    from .eda import run

    run(settings)
    return 0


def _with_backbone(settings: Settings, backbone: str | None) -> Settings:
    if backbone is None:
        return settings
    return settings.model_copy(
        update={"train": settings.train.model_copy(update={"backbone": backbone})}
    )


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from .train import run

    result = run(
        _with_backbone(settings, getattr(args, "backbone", None)),
        epochs=getattr(args, "epochs", None),
        seed=getattr(args, "seed", None),
        dry_run=getattr(args, "dry_run", False),
        resume=getattr(args, "resume", False),
    )
    if result is not None and settings.tracking.enabled:
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
    data = commands.add_parser(
        "data", help="make data.path available (writes the sample set) and check every image"
    )
    data.add_argument(
        "--overwrite", action="store_true", help="write the sample set again even if present"
    )
    data.set_defaults(handler=_data)
    commands.add_parser(
        "eda", help="describe the images: reports/eda.md, reports/data.json, figures"
    ).set_defaults(handler=_eda)
    train = commands.add_parser(
        "train", help="train the network, export it to ONNX and save it to models/"
    )
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--seed", type=int, help="override train.seed")
    train.add_argument("--backbone", choices=["cnn", "resnet18"], help="override train.backbone")
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="one batch of training and validation, nothing saved: checks the whole loop",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from last.pt in train.checkpoints_dir",
    )
    train.set_defaults(handler=_train)
    commands.add_parser(
        "evaluate", help="score the test split, write figures and README results"
    ).set_defaults(handler=_evaluate)
    cli_base.add_drift(
        commands,
        help="compare a folder of new images with the training images",
        batch="a folder of images (default: the sample's new batch, or the test split)",
    )
    cli_base.add_all(commands, PIPELINE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli_base.run(build_parser(), argv)
