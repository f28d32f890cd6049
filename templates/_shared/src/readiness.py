"""``make check``: what still stands between this repository and portfolio-ready.

A reviewer opens the README and the model card first. This lists, one line each with the
file and line, what would make them stop believing it:

* an author prompt left (``> **Author:** ...``): a question only you can answer;
* the template's placeholder identity (``Your Name``, ``you@example.com``) in the licence,
  the model card or ``pyproject.toml``;
* Results that are not the served model's: no model yet, or the README's Results block or
  ``reports/metrics.json`` naming another version than ``models/CURRENT``;
* a figure a README or report links that does not exist;
* an empty cell in the Decisions & Tradeoffs table;
* a model-card section with nothing in it but prompts.

Exit status 1 while anything is listed, 0 and no output when nothing is: quiet on a
finished project, so CI (on tags) and the pre-push hook can run it. It reads files only:
offline, and nothing from the template repository.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .model_dir import current_version
from .reports import END, START

AUTHOR_PROMPT = re.compile(r"^> \*\*Author:\*\*\s*(.*)$")
PLACEHOLDERS = ("Your Name", "you@example.com")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
MODEL_VERSION = re.compile(r"Model version `([^`]+)`")


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def author_prompts(path: Path) -> list[Finding]:
    findings = []
    for number, line in enumerate(_lines(path), start=1):
        match = AUTHOR_PROMPT.match(line)
        if match:
            question = match.group(1)
            shown = question if len(question) <= 70 else question[:67] + "..."
            findings.append(Finding(f"{path}:{number}", f"author prompt left: {shown}"))
    return findings


def placeholders(path: Path) -> list[Finding]:
    return [
        Finding(f"{path}:{number}", f"placeholder {placeholder!r}: put your own")
        for number, line in enumerate(_lines(path), start=1)
        for placeholder in PLACEHOLDERS
        if placeholder in line
    ]


def missing_figures(path: Path) -> list[Finding]:
    """Images a markdown file links (relative to the file) that do not exist."""
    findings = []
    for number, line in enumerate(_lines(path), start=1):
        for target in IMAGE_LINK.findall(line):
            if "://" not in target and not (path.parent / target).is_file():
                findings.append(Finding(f"{path}:{number}", f"links {target}, which is missing"))
    return findings


def empty_decisions(path: Path) -> list[Finding]:
    """Rows of the Decisions & Tradeoffs table with an empty cell."""
    findings, inside = [], False
    for number, line in enumerate(_lines(path), start=1):
        if line.startswith("## "):
            inside = line.startswith("## Decisions")
        elif inside and line.startswith("|") and not set(line) <= set("|-: "):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if any(not cell for cell in cells):
                findings.append(Finding(f"{path}:{number}", "a Decisions row with an empty cell"))
    return findings


def empty_sections(path: Path) -> list[Finding]:
    """``##`` sections with nothing but author prompts, comments or blank lines."""
    findings: list[Finding] = []
    heading: tuple[int, str] | None = None
    body = False

    def close() -> None:
        if heading is not None and not body:
            findings.append(Finding(f"{path}:{heading[0]}", f"section {heading[1]!r} is empty"))

    for number, line in enumerate(_lines(path), start=1):
        if line.startswith("## "):
            close()
            heading, body = (number, line[3:].strip()), False
        elif line.strip() and not AUTHOR_PROMPT.match(line) and not line.startswith("<!--"):
            body = True
    close()
    return findings


def results_are_current(settings: Settings) -> list[Finding]:
    """The README's Results and reports/metrics.json describe the model models/CURRENT names."""
    served = current_version(settings.paths.models_dir)
    readme = settings.paths.readme
    if served is None:
        return [Finding(str(settings.paths.models_dir), "no trained model: run `make all`")]
    findings = []
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    block = text.split(START, 1)[1].split(END, 1)[0] if START in text and END in text else ""
    shown = MODEL_VERSION.search(block)
    if shown is None or shown.group(1) != served:
        findings.append(
            Finding(str(readme), f"Results do not describe model {served}: run `make evaluate`")
        )
    metrics = settings.paths.reports_dir / "metrics.json"
    if served not in (metrics.read_text(encoding="utf-8") if metrics.is_file() else ""):
        findings.append(
            Finding(str(metrics), f"not written for model {served}: run `make evaluate`")
        )
    return findings


def check(settings: Settings, root: Path = Path()) -> list[Finding]:
    """Everything still to do, in reading order."""
    readme, card = settings.paths.readme, root / "MODEL_CARD.md"
    reports = sorted(settings.paths.reports_dir.glob("*.md"))
    return [
        *author_prompts(readme),
        *empty_decisions(readme),
        *results_are_current(settings),
        *(finding for path in (readme, *reports) for finding in missing_figures(path)),
        *author_prompts(card),
        *empty_sections(card),
        *(
            finding
            for path in (root / "LICENSE", card, root / "pyproject.toml")
            for finding in placeholders(path)
        ),
    ]


def run(settings: Settings) -> int:
    """Print what is left, one line each; 1 while anything is."""
    findings = check(settings)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} thing(s) between this repository and portfolio-ready.")
    return 1 if findings else 0
