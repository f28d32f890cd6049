"""Which answer combinations the render tests cover.

The full product of one variant's options is hundreds of renders (tabular: task x ci x
extras x license x python_version = 288); every *pair* of option values is covered by
about 20. Bugs in a template almost always come from one option or from two interacting
(`docker` with `gitlab`, `mlflow` with `regression`), so the render layer covers every pair,
per variant, starting from that variant's defaults.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from harness.variants import SHARED_OPTIONS, VARIANTS, Variant


def options(variant: Variant) -> dict[str, Sequence[Any]]:
    """Every question that changes a project of this variant, with all its values."""
    return {**variant.options, **SHARED_OPTIONS}


def _pairs(row: Mapping[str, Any], names: Sequence[str]) -> set[tuple[str, str, str, str]]:
    """Every (option, value, option, value) pair a combination exercises."""
    items = [(name, repr(row[name])) for name in names]
    return {(a, va, b, vb) for (a, va), (b, vb) in itertools.combinations(items, 2)}


def pairwise_combinations(variant: Variant) -> list[dict[str, Any]]:
    """A small, deterministic set of this variant's combinations covering every pair of values.

    Greedy: start from the defaults, then repeatedly take the candidate covering the most
    pairs not covered yet (ties go to the earliest candidate in product order).
    """
    values = options(variant)
    names = list(values)
    candidates = [
        variant.answers(**dict(zip(names, row, strict=True)))
        for row in itertools.product(*(values[name] for name in names))
    ]
    first = variant.answers()
    chosen = [first]
    uncovered = set().union(*(_pairs(row, names) for row in candidates)) - _pairs(first, names)
    while uncovered:
        best = max(candidates, key=lambda row: len(_pairs(row, names) & uncovered))
        chosen.append(best)
        uncovered -= _pairs(best, names)
    return chosen


def combination_id(answers: Mapping[str, Any]) -> str:
    """A readable pytest id, e.g. `tabular-classification-github-mlflow+docker-MIT-py3.12`."""
    variant = VARIANTS[answers["variant"]]
    own = [str(answers[name]) for name in variant.options]
    extras = "+".join(answers["extras"]) or "noextras"
    return "-".join(
        [
            variant.name,
            *own,
            answers["ci"],
            extras,
            answers["license"],
            f"py{answers['python_version']}",
        ]
    )


def opt_in_combinations(variant: Variant) -> list[dict[str, Any]]:
    """Extras outside the pairwise matrix, each rendered once on top of the defaults.

    `template-updates` only adds a workflow and its script, and only with ci=github (copier.yml
    refuses it otherwise): one render per variant puts them through every render check
    (actionlint, zizmor, ruff, the exact file set) without growing the pairwise matrix.
    """
    return [variant.answers(extras=[*variant.answers()["extras"], "template-updates"])]


COMBINATIONS = [
    row
    for variant in VARIANTS.values()
    for row in [*pairwise_combinations(variant), *opt_in_combinations(variant)]
]
DEFAULTS = VARIANTS["tabular"].answers()
"""The answers of a plain `copier copy --defaults`."""
