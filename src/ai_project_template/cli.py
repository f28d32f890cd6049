"""`aipt`: generate and update projects from ai-project-template without `--trust`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import copier
from copier.errors import CopierError

from . import project_setup, template, variants


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

    update = commands.add_parser("update", help="bring template changes into a project")
    update.add_argument("project", type=Path, nargs="?", default=Path())
    update.add_argument("--vcs-ref", default=None, help="template git ref (default: latest tag)")

    commands.add_parser("variants", help="list the project variants")
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
    copier.run_update(
        project, unsafe=False, defaults=True, overwrite=True, vcs_ref=args.vcs_ref, quiet=True
    )
    # Copier exits cleanly even when the update conflicts with the user's edits; surface them.
    unmerged = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    markers = subprocess.run(
        ["git", "grep", "-l", "-E", "^<<<<<<< "],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    rejects = [str(path.relative_to(project)) for path in project.rglob("*.rej")]
    conflicts = sorted(set(unmerged + markers + rejects))
    if conflicts:
        print("Updated, with conflicts to resolve by hand:", *conflicts, sep="\n  ")
        return 1
    print(f"Updated {project}; review with `git diff` and commit.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
