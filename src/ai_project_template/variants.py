"""The project variants the template offers, read from its one registry: `copier.yml`.

`copier.yml`'s `variant` question lists every variant (value and label); a variant is
available in this release when its tree exists under `templates/`, and the label of one that
is not says so. Nothing else names the variants, so `aipt variants` and Copier cannot
disagree (the template's tests check that the labels, the trees and the registry agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import template


@dataclass(frozen=True)
class Variant:
    value: str  # the answer stored in .copier-answers.yml; permanent once released
    label: str  # what Copier shows: "tabular: scikit-learn models on a table ..."
    available: bool

    @property
    def summary(self) -> str:
        return self.label.split(":", 1)[-1].strip()


def variants(source: str | None = None) -> list[Variant]:
    """Every choice of copier.yml's `variant` question, in order, for a local template."""
    root = Path(source or template.default_source())
    question = template.questions(str(root)).get("variant")
    if question is None:
        raise ValueError(f"{root} has no copier.yml with a `variant` question")
    return [
        Variant(value=value, label=label, available=(root / "templates" / value).is_dir())
        for label, value in question["choices"].items()
    ]


def describe(source: str | None = None) -> str:
    """One line per variant: its value and what copier.yml says of it."""
    found = variants(source)
    width = max(len(variant.value) for variant in found)
    return "\n".join(f"{variant.value:<{width}}  {variant.summary}" for variant in found)
