"""Where the template lives and what its questions are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PUBLISHED_TEMPLATE = "gh:org/ai-project-template"


def default_source() -> str:
    """The checkout this package runs from, if it is one; otherwise the published template."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "copier.yml").is_file():
        return str(checkout)
    return PUBLISHED_TEMPLATE


def questions(source: str) -> dict[str, dict[str, Any]]:
    """The questions of a local template's copier.yml (settings starting with `_` left out)."""
    config_path = Path(source) / "copier.yml"
    if not config_path.is_file():
        return {}
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }


def parse_data(pairs: list[str], known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` pairs into Copier answers.

    A multiselect question takes a comma-separated list (``extras=mlflow,docker``; an empty
    value selects nothing). Unknown keys are refused when the questions are known, because
    Copier would silently ignore a misspelt answer.
    """
    answers: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--data {pair!r} is not KEY=VALUE")
        if known and key not in known:
            raise ValueError(f"--data {key}: no such question; questions are {', '.join(known)}")
        if known.get(key, {}).get("multiselect"):
            answers[key] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            answers[key] = value
    return answers
