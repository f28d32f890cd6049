"""The project variants the template offers, as `copier.yml` names them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    value: str  # the answer stored in .copier-answers.yml; permanent once released
    summary: str
    available: bool


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "tabular",
        "scikit-learn on a table: schema-checked ingest, EDA, 3 model families compared with "
        "CV and a random search, FastAPI /predict, PSI/KS drift report",
        available=True,
    ),
    Variant(
        "vision",
        "PyTorch image classifier: ImageFolder data, compact CNN or transfer learning, ONNX "
        "export, an upload endpoint",
        available=False,
    ),
    Variant(
        "llm-rag",
        "retrieval-augmented generation: ingest and chunk documents, sentence-transformers + "
        "Qdrant, cited answers, hit@k/MRR evaluation",
        available=False,
    ),
)


def describe() -> str:
    """One line per variant, marking the ones this release cannot generate yet."""
    width = max(len(v.value) for v in VARIANTS)
    lines = []
    for variant in VARIANTS:
        status = "" if variant.available else " (not in this release yet)"
        lines.append(f"{variant.value:<{width}}  {variant.summary}{status}")
    return "\n".join(lines)
