"""``make check``: what still stands between this repository and portfolio-ready.

A reviewer opens the README and the model card first. This lists, one line each with the
file and line, what would make them stop believing it:

* an author prompt left (``> **Author:** ...``): a question only you can answer;
* the template's placeholder identity (``Your Name``, ``you@example.com``) in the licence,
  the model card or ``pyproject.toml``;
* Results that are not the served model's: no model yet, or the README's Results block or
  ``reports/metrics.json`` naming another version than ``models/CURRENT``;
* a block of measured numbers (``<!-- name:start -->``) never written, or stating a number
  that no report in ``reports/*.json`` holds (edited by hand, or left from another run);
* a figure a README or report links that does not exist;
* an empty cell in the Decisions & Tradeoffs table;
* a model-card section with nothing in it but prompts.

Exit status 1 while anything is listed, 0 and no output when nothing is: quiet on a
finished project, so CI (on tags) and the pre-push hook can run it. It reads files only:
offline, and nothing from the template repository.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RESULTS_TARGET, Settings
from .model_dir import current_version
from .reports import END, START

AUTHOR_PROMPT = re.compile(r"^> \*\*Author:\*\*\s*(.*)$")
PLACEHOLDERS = ("Your Name", "you@example.com")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
MODEL_VERSION = re.compile(r"Model version `([^`]+)`")
BLOCK = re.compile(r"<!-- ([\w-]+):start -->(.*?)<!-- \1:end -->", re.DOTALL)
UNWRITTEN = "`make all` writes"
# Names, versions, hashes and file names are in code spans or links, not measured numbers.
NOT_MEASURED = re.compile(r"`[^`]*`|!?\[[^\]]*\]\([^)]*\)")
NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w)%?")


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


def _json_numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_numbers(item)


def measured_numbers(reports_dir: Path) -> list[float]:
    """Every number the run wrote in ``reports/*.json``."""
    numbers: list[float] = []
    for path in sorted(reports_dir.glob("*.json")):
        try:
            numbers.extend(_json_numbers(json.loads(path.read_text(encoding="utf-8"))))
        except ValueError:
            continue
    return numbers


def is_measured(stated: str, numbers: list[float]) -> bool:
    """``stated`` (``1,200``, ``0.8347``, ``17.4%``) is one of ``numbers`` as displayed:
    rounded to the digits shown, a percentage of a share, the size of a negated score."""
    percent = stated.endswith("%")
    shown = stated.rstrip("%").replace(",", "")
    digits = len(shown.partition(".")[2])
    value, slack = float(shown), 0.5 * 10.0**-digits + 1e-9
    return any(abs(abs(n) * (100 if percent else 1) - value) <= slack for n in numbers)


def stated_numbers(path: Path, reports_dir: Path) -> list[Finding]:
    """Blocks of measured numbers never written, or stating what no report holds."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    numbers = measured_numbers(reports_dir)
    findings = []
    for match in BLOCK.finditer(text):
        name, body = match.group(1), match.group(2)
        where = f"{path}:{text.count(chr(10), 0, match.start()) + 1}"
        if UNWRITTEN in body:
            findings.append(Finding(where, f"the {name} block was never written: run `make all`"))
            continue
        wrong = [
            n for n in NUMBER.findall(NOT_MEASURED.sub(" ", body)) if not is_measured(n, numbers)
        ]
        if wrong:
            findings.append(
                Finding(
                    where,
                    f"the {name} block states {', '.join(wrong[:5])}, which reports/*.json "
                    "does not hold: run `make all`, and write your own words outside the markers",
                )
            )
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
            Finding(str(readme), f"Results do not describe model {served}: run `{RESULTS_TARGET}`")
        )
    metrics = settings.paths.reports_dir / "metrics.json"
    if served not in (metrics.read_text(encoding="utf-8") if metrics.is_file() else ""):
        findings.append(
            Finding(str(metrics), f"not written for model {served}: run `{RESULTS_TARGET}`")
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
        *stated_numbers(readme, settings.paths.reports_dir),
        *(finding for path in (readme, *reports) for finding in missing_figures(path)),
        *author_prompts(card),
        *empty_sections(card),
        *stated_numbers(card, settings.paths.reports_dir),
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
