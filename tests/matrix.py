"""Which answer combinations the render tests cover.

The full tabular product (task x ci x extras x license x python_version) is 288 renders;
every *pair* of option values is covered by about 20. Bugs in a template almost always
come from one option or from two interacting (`docker` with `gitlab`, `mlflow` with
`regression`), so the render layer covers every pair, plus the defaults as-is.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

# Values of the options that change which files are generated or what they contain.
OPTIONS: dict[str, list[Any]] = {
    "task": ["classification", "regression"],
    "ci": ["github", "gitlab", "none"],
    "extras": [["mlflow", "docker"], ["mlflow"], ["docker"], []],
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"],
    "python_version": ["3.11", "3.12", "3.13"],
}

# The answers `copier copy --defaults` gives; the first combination rendered.
DEFAULTS: dict[str, Any] = {
    "variant": "tabular",
    "task": "classification",
    "ci": "github",
    "extras": ["mlflow", "docker"],
    "license": "MIT",
    "python_version": "3.12",
}

AVAILABLE_VARIANTS = ("tabular",)


def is_valid(answers: Mapping[str, Any]) -> bool:
    """Whether Copier should accept these answers (the variants not released yet are refused)."""
    return answers.get("variant", "tabular") in AVAILABLE_VARIANTS


def _pairs(row: Mapping[str, Any]) -> set[tuple[str, str, str, str]]:
    """Every (option, value, option, value) pair a combination exercises."""
    items = [(name, repr(row[name])) for name in OPTIONS]
    return {(a, va, b, vb) for (a, va), (b, vb) in itertools.combinations(items, 2)}


def pairwise_combinations(
    options: Mapping[str, Sequence[Any]] = OPTIONS, first: Mapping[str, Any] = DEFAULTS
) -> list[dict[str, Any]]:
    """A small, deterministic set of valid combinations covering every pair of values.

    Greedy: start from the defaults, then repeatedly take the candidate covering the most
    pairs not covered yet (ties go to the earliest candidate in product order).
    """
    names = list(options)
    candidates = [
        {"variant": "tabular", **dict(zip(names, values, strict=True))}
        for values in itertools.product(*(options[name] for name in names))
    ]
    candidates = [row for row in candidates if is_valid(row)]
    chosen = [dict(first)]
    uncovered = set().union(*(_pairs(row) for row in candidates)) - _pairs(first)
    while uncovered:
        best = max(candidates, key=lambda row: len(_pairs(row) & uncovered))
        chosen.append(best)
        uncovered -= _pairs(best)
    return chosen


def combination_id(answers: Mapping[str, Any]) -> str:
    """A readable pytest id, e.g. `classification-github-mlflow+docker-MIT-py3.12`."""
    extras = "+".join(answers["extras"]) or "noextras"
    return "-".join(
        [
            answers["task"],
            answers["ci"],
            extras,
            answers["license"],
            f"py{answers['python_version']}",
        ]
    )


COMBINATIONS = pairwise_combinations()
