"""Where benchmark results go: one JSON file per benchmark, and a summary of them all.

`results/<name>.json` holds the raw timings, the machine, the Copier version and the git
commit; `results/SUMMARY.md` is rebuilt from every JSON file after each write.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.rendering import REPO_ROOT, copier_executable

RESULTS = Path(__file__).resolve().parent / "results"


def _environment() -> dict[str, Any]:
    copier_version = subprocess.run(
        [copier_executable(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "copier": copier_version,
        "git_commit": commit,
    }


def target(
    metric: str, measured: float, limit: float, unit: str, *, at_least: bool = False
) -> dict[str, Any]:
    """One target: what was measured against its limit (met when at or below it, or with
    ``at_least``, at or above it: an accuracy, a throughput)."""
    return {
        "metric": metric,
        "measured": round(measured, 4),
        "target": limit,
        "unit": unit,
        "at_least": at_least,
        "met": measured >= limit if at_least else measured <= limit,
    }


def write_result(name: str, targets: list[dict[str, Any]], details: dict[str, Any]) -> None:
    """benchmarks/results/<name>.json, then a fresh SUMMARY.md from every result file."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "name": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": _environment(),
        "targets": targets,
        "details": details,
    }
    path = RESULTS / f"{name}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
    write_summary()


def write_summary() -> None:
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text("utf-8"))
        for item in result["targets"]:
            verdict = "met" if item["met"] else "**missed**"
            rows.append(
                f"| {result['name']} | {item['metric']} | {item['measured']:g} {item['unit']} "
                f"| {'>=' if item.get('at_least') else '<='} {item['target']:g} {item['unit']} "
                f"| {verdict} | {result['measured_at']} |"
            )
    lines = [
        "# Benchmark results",
        "",
        "Written by `benchmarks/run.py` (see benchmarks/README.md); one JSON file per benchmark",
        "beside this file holds the raw timings and the machine they ran on.",
        "",
        "| benchmark | metric | measured | target | verdict | measured at (UTC) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    (RESULTS / "SUMMARY.md").write_text("\n".join(lines), encoding="utf-8")


def seconds(samples: Sequence[float]) -> dict[str, float]:
    """Median, extremes and p90 of a list of timings."""
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "n": len(ordered),
    }
