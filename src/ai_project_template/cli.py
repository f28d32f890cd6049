"""`aipt`: generate and update projects from ai-project-template without `--trust`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import copier
from copier.errors import CopierError

from . import bridge, project_setup, template, updating, variants


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aipt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    new = commands.add_parser(
        "new", help="render a project, then git init, uv sync and a first commit"
    )
    new.add_argument("destination", type=Path)
    new.add_argument("--variant", help="tabular, vision or llm-rag (see `aipt variants`)")
    new.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a question; multiselect answers are comma-separated (extras=mlflow,docker)",
    )
    new.add_argument("--defaults", action="store_true", help="take defaults for the rest")
    new.add_argument("--template", default=None, help="template source (default: this checkout)")
    new.add_argument("--vcs-ref", default=None, help="template git ref (default: latest tag)")
    new.add_argument("--no-sync", action="store_true", help="skip `uv sync` (offline machines)")

    update = commands.add_parser(
        "update",
        help="bring a template release into a project and report every file that needs you",
        description="Runs `copier update` (never trusted) on a clean git tree, then lists "
        "conflicts, edited files the template deleted or renamed (kept), and deleted files "
        "it brought back. Exit 0: clean; 1: files need you; 2: refused or failed.",
    )
    update.add_argument("project", type=Path, nargs="?", default=Path())
    update.add_argument("--defaults", action="store_true", help="keep every previous answer")
    update.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change an answer; multiselect answers are comma-separated",
    )
    update.add_argument("--vcs-ref", default=None, help="template git ref (default: latest tag)")
    update.add_argument("--report", type=Path, help="also write the report here, as Markdown")

    commands.add_parser("variants", help="list the project variants")
    bridge.add_parser(commands)
    return parser


def cmd_new(args: argparse.Namespace) -> int:
    source = args.template or template.default_source()
    data = template.parse_data(args.data, template.questions(source))
    if args.variant:
        data["variant"] = args.variant
    destination: Path = args.destination
    if destination.exists() and any(destination.iterdir()):
        raise ValueError(f"{destination} exists and is not empty; choose a new folder")
    worker = copier.run_copy(
        source,
        destination,
        data=data,
        # Your git identity instead of "Your Name" in LICENSE, pyproject and the model card;
        # an answer you give (--data author_name=...) wins.
        user_defaults=project_setup.git_author(),
        defaults=args.defaults,
        unsafe=False,
        vcs_ref=args.vcs_ref,
        quiet=True,
    )
    answers = worker.answers.combined
    steps = project_setup.initialise(
        destination,
        sync=not args.no_sync,
        author_name=str(answers.get("author_name", "ai-project-template")),
        author_email=str(answers.get("author_email", "noreply@example.com")),
    )
    print(f"Created {destination} ({answers.get('variant')}): {', '.join(steps)}.")
    print(f"Next: cd {destination} && make all && make serve")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    project: Path = args.project
    source = str(updating.read_answers(project).get("_src_path", ""))
    data = template.parse_data(args.data, template.questions(source))
    report = updating.update(project, data=data, defaults=args.defaults, vcs_ref=args.vcs_ref)
    print(*report.lines(), sep="\n")
    if args.report is not None:
        args.report.write_text("\n".join(report.lines(markdown=True)) + "\n", encoding="utf-8")
    return 1 if report.needs_user else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == bridge.COMMAND:
        return bridge.run(args)
    if args.command == "variants":
        print(variants.describe())
        return 0
    handler = cmd_new if args.command == "new" else cmd_update
    try:
        return handler(args)
    except (ValueError, CopierError, project_setup.SetupError) as error:
        # Copier reports a refused answer as "Validation error for question 'x': <message>".
        print(f"aipt {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
