"""Writing the reports: figures, markdown tables, and the README's Results block.

Text that comes from the data or the settings (category values, the project name) is
written with ``<``, ``>`` and ``&`` escaped, so a report rendered as HTML (on GitHub, in an
editor's preview) shows it as text and never runs it. Figures are drawn with matplotlib's
object API (``Figure``, never ``pyplot``) and saved with
the Agg backend, so a report is made the same way on a laptop, a headless CI runner or in a
container, and no global plotting state leaks between stages. Tables are GitHub-flavoured
markdown, with no extra dependency.

Every number the README and the model card state about the data or the model is written
here, from the run: only the text between ``<!-- <name>:start -->`` and
``<!-- <name>:end -->`` is replaced (``results``, ``data``, or a few words inside a sentence
or a table cell), so everything the author wrote around it is left alone, and writing the
same run twice leaves the files byte-for-byte unchanged.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from .config import Settings

logger = logging.getLogger(__name__)

# --- figures ---------------------------------------------------------------------------

DPI = 110


def figures_dir(settings: Settings, stage: str) -> Path:
    """``reports/figures/<stage>/``, emptied of the figures an earlier run drew: a figure
    the stage no longer draws (ROC curves after the task changed) must not stay behind
    looking current. Call it once per run of the stage."""
    path = settings.paths.reports_dir / "figures" / stage
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.png"):
        stale.unlink()
    return path


def figure_problems(figure: Figure) -> list[str]:
    """What a reader of ``figure`` would miss: every visible plot needs a title (its own or
    the figure's) and, when it draws axes, both of them labelled (an image tile drawn with
    ``axis("off")`` has none to label). Empty when the figure is complete."""
    problems = []
    plots = [ax for ax in figure.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    for number, ax in enumerate(plots, start=1):
        name = repr(ax.get_title()) if ax.get_title() else f"plot {number}"
        if not ax.get_title() and not figure.get_suptitle():
            problems.append(f"{name} has no title")
        if not ax.axison:
            continue
        for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not label:
                problems.append(f"{name} has no {axis}-axis label")
    return problems


def save_figure(figure: Figure, path: Path) -> Path:
    """Save ``figure`` as a PNG; a figure a reader could not read (no title, an unlabelled
    axis) is saved all the same, with a warning naming what is missing."""
    problems = figure_problems(figure)
    if problems:
        logger.warning("%s: %s", path.name, "; ".join(problems))
    mpl.use("Agg")  # no display needed, and the same output everywhere
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path


# --- markdown tables -------------------------------------------------------------------

Cell = str | int | float | None


def text(value: object) -> str:
    """``value`` as markdown text that renders as itself: HTML's special characters escaped."""
    return html.escape(str(value), quote=False)


def cell(value: Cell, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Large values (prices, errors in currency) need no four decimals to be read.
        shown = digits if abs(value) < 1_000 else min(digits, 2) if abs(value) < 1e6 else 0
        return f"{value:,.{shown}f}"
    return text(value).replace("|", "\\|")


def beside_baseline(
    name: str,
    model: Mapping[str, float],
    reference: Mapping[str, float],
    behind: Sequence[str],
    labels: Mapping[str, str],
) -> str:
    """The model against the ``name`` baseline in words: it beats it on every metric, or
    the metrics it does not beat (``behind``), each with both scores."""
    if not behind:
        return f"The model beats the {name} baseline on every metric."
    listed = ", ".join(
        f"{labels.get(metric, metric)} ({cell(model[metric])} against {cell(reference[metric])})"
        for metric in behind
    )
    return f"The model does **not** beat the {name} baseline on {listed}."


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], digits: int = 4) -> str:
    """A GitHub-flavoured markdown table; numbers are right-aligned."""
    align = [
        "---:" if rows and isinstance(rows[0][i], int | float) else "---"
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(cell(v, digits) for v in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


# --- numbers in the README and the model card --------------------------------------


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


START, END = markers("results")


class MarkersMissingError(ValueError):
    """A file has no (or a broken) block of that name, so nothing was written to it."""


def replace_block(text: str, block: str, name: str = "results") -> str:
    """``text`` with the content between the ``name`` markers replaced by ``block``. A block
    of one line between markers on one line stays inline (a few words in a sentence or a
    table cell); any other goes on lines of its own."""
    start, end = markers(name)
    starts, ends = text.count(start), text.count(end)
    if starts != 1 or ends != 1 or text.index(start) > text.index(end):
        raise MarkersMissingError(
            f"expected one {start} followed by one {end}, found {starts} start and {ends} end "
            "marker(s); add them where the block should go"
        )
    head, rest = text.split(start)
    old, tail = rest.split(end)
    if "\n" not in old and "\n" not in block.strip():
        return f"{head}{start}{block.strip()}{end}{tail}"
    return f"{head}{start}\n{block.strip()}\n{end}{tail}"


def fill(path: Path, blocks: Mapping[str, str]) -> list[str]:
    """Write each named block into the file at ``path``; return the names it has no markers
    for (an author may delete a block to write their own text). The file is rewritten only
    when something changed."""
    if not path.is_file():
        raise MarkersMissingError(f"{path} not found")
    original = path.read_text(encoding="utf-8")
    text, absent = original, []
    for name, block in blocks.items():
        try:
            text = replace_block(text, block, name)
        except MarkersMissingError:
            absent.append(name)
    if text != original:
        path.write_text(text, encoding="utf-8")
    return absent


def write_blocks(path: Path, blocks: Mapping[str, str]) -> None:
    """``fill``, saying which blocks had nowhere to go; nothing when ``path`` does not exist
    (the tests' throwaway projects have no model card)."""
    if path.is_file():
        for name in fill(path, blocks):
            logger.info("%s has no %s block: its numbers were not written", path, name)


def update_readme(path: Path, block: str) -> bool:
    """Write ``block`` as the README's Results; return whether the file changed."""
    if not path.is_file():
        raise MarkersMissingError(f"{path} not found")
    text = path.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, block)
    except MarkersMissingError as error:
        raise MarkersMissingError(f"{path}: {error}") from None
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def figure_link(path: Path, readme: Path) -> str:
    """Markdown showing the figure at ``path`` from ``readme`` (a link relative to it)."""
    relative = Path(os.path.relpath(path.resolve(), readme.resolve().parent)).as_posix()
    return f"![{path.stem.replace('_', ' ')}]({relative})"


def write_results(readme: Path, results: str, inline: Mapping[str, str], card: str) -> None:
    """The README's Results block and the numbers in its prose (``inline`` blocks), then the
    model card's Metrics. A README without the Results markers is left as it is, with a
    warning, and so is the model card."""
    try:
        changed = update_readme(readme, results)
    except MarkersMissingError as error:
        logger.warning("README results not written: %s", error)
        return
    logger.info("%s results %s", readme, "updated" if changed else "already up to date")
    write_blocks(readme, inline)
    write_blocks(readme.with_name("MODEL_CARD.md"), {"results": card})
