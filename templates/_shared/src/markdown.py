"""Markdown tables for the reports (EDA, README results), without extra dependencies."""

from __future__ import annotations

from collections.abc import Sequence

Cell = str | int | float | None


def cell(value: Cell, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Large values (prices, errors in currency) need no four decimals to be read.
        shown = digits if abs(value) < 1_000 else min(digits, 2) if abs(value) < 1e6 else 0
        return f"{value:,.{shown}f}"
    return str(value).replace("|", "\\|")


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
