"""Running the command line: settings, logging, the `all` sequence, `serve`, `drift`,
`check`, and errors.

``cli.py`` declares this project's stages and subcommands; this module runs them the same
way in every project made from the template, and adds the subcommands every project has
(``serve`` and ``check`` always; ``all`` and ``drift`` with ``add_all`` and ``add_drift``,
whose help text is the project's). A config mistake is one line naming the key
(exit 2); bad input (a missing file, data that fails its checks) is one line saying what is
wrong (exit 1), with the traceback only under ``--verbose``.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings, get_settings
from .config_base import describe_error

logger = logging.getLogger(__name__)

Command = Callable[[Settings, argparse.Namespace], int]
"""A subcommand: takes the settings and the parsed arguments, returns the exit status."""


def run_stages(
    stages: Sequence[tuple[str, Command]], settings: Settings, args: argparse.Namespace
) -> int:
    """Each stage in order, in this process; stop at the first that fails."""
    for name, stage in stages:
        logger.info("stage %s", name)
        started = time.perf_counter()
        status = stage(settings, args)
        if status != 0:
            logger.error("stage %s exited %d; later stages did not run", name, status)
            return status
        logger.info("%s finished in %.1f s", name, time.perf_counter() - started)
    return 0


def run_all(settings: Settings, args: argparse.Namespace) -> int:
    """``all``: the stages ``add_all`` was given, in this process."""
    stages: Sequence[tuple[str, Command]] = args.stages
    return run_stages(stages, settings, args)


def drift(settings: Settings, args: argparse.Namespace) -> int:
    """``drift``: the project's ``monitoring.run_drift`` on ``--batch`` (exit 1 on drift)."""
    from .monitoring import run_drift

    return run_drift(settings, args.batch)


if TYPE_CHECKING:  # argparse's subparser group, subscriptable only for type checkers
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_all(
    commands: Commands,
    stages: Sequence[tuple[str, Command]],
    parents: Sequence[argparse.ArgumentParser] = (),
) -> None:
    """The ``all`` subcommand: ``stages`` in order (``cli.PIPELINE``), in one process."""
    names = [name for name, _ in stages]
    summary = f"{', '.join(names[:-1])} and {names[-1]} in one process"
    parser = commands.add_parser("all", parents=list(parents), help=summary)
    parser.set_defaults(handler=run_all, stages=tuple(stages))


def add_drift(commands: Commands, help: str, batch: str) -> None:
    """The ``drift`` subcommand; ``batch`` says what ``--batch`` takes and its default."""
    parser = commands.add_parser("drift", help=help)
    parser.add_argument("--batch", type=Path, help=batch)
    parser.set_defaults(handler=drift)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """The HTTP service, until interrupted (it sets up its own JSON logging)."""
    from .api.server import serve as serve_app

    serve_app(settings)
    return 0


def new_parser(description: str) -> tuple[argparse.ArgumentParser, Commands]:
    """The command's parser with its shared options, and the group its subcommands join."""
    parser = argparse.ArgumentParser(prog=__package__, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="serve the model over HTTP").set_defaults(handler=serve)
    commands.add_parser(
        "check", help="list what stands between this repository and portfolio-ready"
    ).set_defaults(handler=check)
    return parser, commands


def check(settings: Settings, args: argparse.Namespace) -> int:
    from .readiness import run as list_what_is_left

    return list_what_is_left(settings)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, read the settings, set up logging and run the chosen subcommand."""
    args = parser.parse_args(argv)
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
    if args.command != "check":  # quiet when there is nothing to say
        logger.info("%s finished in %.1f s", args.command, time.perf_counter() - started)
    return status
