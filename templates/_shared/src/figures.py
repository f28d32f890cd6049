"""Saving figures: one place decides the backend, the size and where reports' images go.

Figures are drawn with matplotlib's object API (``Figure``, never ``pyplot``) and saved
with the Agg backend, so a report is made the same way on a laptop, a headless CI runner
or in a container, and no global plotting state leaks between stages.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from .config import Settings

DPI = 110


def figures_dir(settings: Settings) -> Path:
    """``reports/figures/``, created when missing."""
    path = settings.paths.reports_dir / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(figure: Figure, path: Path) -> Path:
    mpl.use("Agg")  # no display needed, and the same output everywhere
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path
