"""Command line: one subcommand per pipeline stage (``make data`` etc. call these).

Each stage imports its module only when it runs, so ``serve`` and ``ask`` never import
PyTorch (only a first ``ingest`` does, to export the embedding model). ``all`` runs data,
ingest and eval in one process. After ``ingest``, the run is logged to MLflow when
``tracking.enabled`` is true. How a command runs (settings, logging, errors) is
``cli_base``.

Edit this file to add a stage: a function below, a subparser, and a place in ``PIPELINE``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from . import cli_base
from .cli_base import Command
from .config import MODES, Settings


def _data(settings: Settings, args: argparse.Namespace) -> int:
    from .acquire import ensure_data

    ensure_data(settings, overwrite=getattr(args, "overwrite", False))
    return 0


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from .ingest import run

    result = run(settings, full=getattr(args, "full", False))
    if settings.tracking.enabled:
        from .tracking import log_run

        log_run(settings, result)
    return 0


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from .evaluate import run

    run(settings)
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from .answering import load_answerer

    result = load_answerer(settings).answer(args.question, mode=args.mode, top_k=args.top_k)
    print(result.answer.text)
    for citation in result.answer.citations:
        page = f", page {citation.page}" if citation.page is not None else ""
        print(f"[{citation.n}] {citation.source}{page} (score {citation.score:.3f})")
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return 0


# The order ``all`` runs the stages in; each reads what the one before it wrote.
PIPELINE: tuple[tuple[str, Command], ...] = (
    ("data", _data),
    ("ingest", _ingest),
    ("eval", _eval),
)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = cli_base.new_parser(
        "Run a stage of the RAG pipeline. Settings come from configs/pipeline.yaml "
        "(or the file in PIPELINE_CONFIG) and environment variables."
    )
    data = commands.add_parser(
        "data", help="make data.path available (copies the sample handbook) and check it"
    )
    data.add_argument(
        "--overwrite", action="store_true", help="copy the sample again even if present"
    )
    data.set_defaults(handler=_data)
    ingest = commands.add_parser(
        "ingest", help="chunk and embed the documents into a new index version"
    )
    ingest.add_argument(
        "--full", action="store_true", help="embed every chunk again, not only changed ones"
    )
    ingest.set_defaults(handler=_ingest)
    commands.add_parser(
        "eval", help="retrieval metrics, abstention and answers: reports/, README results"
    ).set_defaults(handler=_eval)
    ask = commands.add_parser("ask", help="answer one question from the index, with citations")
    ask.add_argument("question")
    ask.add_argument("--mode", choices=MODES, help="override retrieval.mode")
    ask.add_argument("--top-k", type=int, help="override retrieval.top_k")
    ask.add_argument("--json", action="store_true", help="also print the whole answer as JSON")
    ask.set_defaults(handler=_ask)
    cli_base.add_drift(
        commands,
        help="compare a batch of questions with the evaluation questions",
        batch="a text file, one question per line (default: the sample's new questions, or "
        "your evaluation set)",
    )
    cli_base.add_all(commands, PIPELINE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli_base.run(build_parser(), argv)
