"""The registry of variants the template's tests cover, and what each variant's tests need.

A variant is released when it has a tree under ``templates/`` and ``copier.yml`` accepts it
as a choice; ``tests/test_variants.py`` checks that those two and this registry agree. Every
test layer (render, build, container, update) is parametrised from ``VARIANTS``, so a new
variant adds a tree, an entry here and its sample payloads under ``harness/payloads/``, not
test code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parent / "payloads"

# Questions every variant asks, with every value the render matrix must cover.
SHARED_OPTIONS: dict[str, list[Any]] = {
    "ci": ["github", "gitlab", "none"],
    "extras": [["mlflow", "docker"], ["mlflow"], ["docker"], []],
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"],
    "python_version": ["3.11", "3.12", "3.13"],
}

# The answers `copier copy --defaults` gives to those questions.
SHARED_DEFAULTS: dict[str, Any] = {
    "ci": "github",
    "extras": ["mlflow", "docker"],
    "license": "MIT",
    "python_version": "3.12",
}


@dataclass(frozen=True)
class Build:
    """One project the build layer installs, tests, runs end to end and serves."""

    name: str
    """The pytest id and folder name, e.g. ``tabular-classification``."""
    answers: Mapping[str, Any]
    """Answers on top of the variant's defaults."""

    @property
    def payloads(self) -> Path:
        """Requests the running service must answer, and how (see ``harness.payloads``)."""
        return PAYLOADS / f"{self.name}.yaml"


@dataclass(frozen=True)
class Variant:
    name: str
    """The ``variant`` answer, as copier.yml and ``aipt variants`` name it."""
    options: Mapping[str, Sequence[Any]]
    """This variant's own questions and every value of each, for the render matrix."""
    defaults: Mapping[str, Any]
    """What ``copier copy --defaults`` answers to those questions."""
    files: str
    """Files every project of this variant has beyond ``layout.SHARED`` (``{pkg}`` = package)."""
    model_files: tuple[str, ...]
    """Files of a saved model's folder beside the contract's metadata.json."""
    reports: tuple[str, ...]
    """Files ``make all`` writes under reports/ beside the contract's metrics.json."""
    builds: tuple[Build, ...]
    container_build: str
    """The build whose image the container layer builds and runs."""
    model_target: str = "train"
    """The make target that makes a new model (``config.MODEL_TARGET`` in the project)."""
    results_target: str = "evaluate"
    """The make target that rewrites the README Results from the saved model."""
    data_unit: str = "rows"
    """What reports/data.json counts the data in (its key), as the README Data names it."""
    fuzz_config: str = "schemathesis.toml"
    """Schemathesis's settings for this variant's service, in harness/."""
    local_indexes: bool = False
    """Installs from this machine's local package indexes (pip's configuration, e.g. a
    PyTorch build), with the project's own index sources off: see ``harness.uv_env``."""

    def answers(self, **overrides: Any) -> dict[str, Any]:
        """The defaults of every question for this variant, with ``overrides`` on top."""
        return {"variant": self.name, **SHARED_DEFAULTS, **self.defaults, **overrides}

    def build(self, name: str) -> Build:
        return next(build for build in self.builds if build.name == name)


TABULAR = Variant(
    name="tabular",
    options={"task": ["classification", "regression"]},
    defaults={"task": "classification"},
    files="""
src/{pkg}/acquire.py
src/{pkg}/api/fast_path.py
src/{pkg}/api/scoring.py
src/{pkg}/data.py
src/{pkg}/eda.py
src/{pkg}/evaluate.py
src/{pkg}/families.py
src/{pkg}/features.py
src/{pkg}/init_data.py
src/{pkg}/metrics.py
src/{pkg}/monitoring.py
src/{pkg}/sample_data.py
src/{pkg}/schema.py
src/{pkg}/threshold.py
src/{pkg}/train.py
tests/api/test_fast_path.py
tests/api/test_predict.py
tests/api/test_predictor.py
tests/test_acquire.py
tests/test_artefacts.py
tests/test_cli.py
tests/test_config.py
tests/test_data.py
tests/test_eda.py
tests/test_evaluate.py
tests/test_features.py
tests/test_figures.py
tests/test_init_data.py
tests/test_monitoring.py
tests/test_sample_data.py
tests/test_schema.py
tests/test_threshold.py
tests/test_train.py
""",
    model_files=("model.joblib", "reference.json"),
    reports=("reports/eda.md",),
    builds=(
        Build("tabular-classification", {"task": "classification"}),
        # Regression also covers the path without optional extras and with GitLab CI, so
        # the dependency set without MLflow is installed and exercised somewhere.
        Build("tabular-regression", {"task": "regression", "extras": [], "ci": "gitlab"}),
    ),
    container_build="tabular-classification",
)

VISION = Variant(
    name="vision",
    options={},
    defaults={},
    files="""
src/{pkg}/acquire.py
src/{pkg}/api/images.py
src/{pkg}/api/scoring.py
src/{pkg}/data.py
src/{pkg}/eda.py
src/{pkg}/evaluate.py
src/{pkg}/export.py
src/{pkg}/figures.py
src/{pkg}/model.py
src/{pkg}/monitoring.py
src/{pkg}/results.py
src/{pkg}/sample_data.py
src/{pkg}/train.py
src/{pkg}/transforms.py
tests/api/test_predict.py
tests/api/test_predictor.py
tests/test_data.py
tests/test_distributed.py
tests/test_evaluate.py
tests/test_export.py
tests/test_figures.py
tests/test_model.py
tests/test_sample_data.py
tests/test_train.py
tests/test_transforms.py
""",
    model_files=("model.onnx", "weights.pt", "reference.json"),
    reports=("reports/eda.md",),
    builds=(Build("vision", {}),),
    container_build="vision",
    data_unit="images",
    fuzz_config="schemathesis-uploads.toml",
    local_indexes=True,
)


def _shipped(tree: str, folder: str) -> str:
    """The files of a folder a variant ships as they are (a sample corpus), one per line."""
    root = Path(__file__).resolve().parents[1] / "templates" / tree / "src" / "{{ package_name }}"
    return "\n".join(
        f"src/{{pkg}}/{path.relative_to(root).as_posix()}"
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    )


LLM_RAG = Variant(
    name="llm-rag",
    options={},
    defaults={},
    files="""
src/{pkg}/acquire.py
src/{pkg}/answer.py
src/{pkg}/answering.py
src/{pkg}/api/scoring.py
src/{pkg}/bm25.py
src/{pkg}/chunking.py
src/{pkg}/encoder.py
src/{pkg}/evaluate.py
src/{pkg}/export.py
src/{pkg}/extractive.py
src/{pkg}/ingest.py
src/{pkg}/llm.py
src/{pkg}/loaders.py
src/{pkg}/metrics.py
src/{pkg}/monitoring.py
src/{pkg}/prompt.md
src/{pkg}/prompts.py
src/{pkg}/questions.py
src/{pkg}/results.py
src/{pkg}/retrieval.py
src/{pkg}/sample/questions.jsonl
src/{pkg}/sample/new_questions.txt
src/{pkg}/store.py
src/{pkg}/uploads.py
tests/api/test_ask.py
tests/api/test_documents.py
tests/api/test_predictor.py
tests/api/test_stream.py
tests/fake_llm.py
tests/support.py
tests/test_acquire.py
tests/test_answer.py
tests/test_answering.py
tests/test_chunking.py
tests/test_cli.py
tests/test_config.py
tests/test_evaluate.py
tests/test_export.py
tests/test_extractive.py
tests/test_ingest.py
tests/test_llm.py
tests/test_loaders.py
tests/test_monitoring.py
tests/test_prompts.py
tests/test_retrieval.py
"""
    + _shipped("llm-rag", "sample/handbook"),
    model_files=(
        "encoder.onnx",
        "tokenizer.json",
        "chunks.jsonl",
        "vectors.npy",
        "reference.json",
    ),
    reports=(),
    builds=(Build("llm-rag", {}),),
    container_build="llm-rag",
    model_target="ingest",
    results_target="eval",
    data_unit="chunks",
    fuzz_config="schemathesis-llm-rag.toml",
    local_indexes=True,
)

VARIANTS: dict[str, Variant] = {variant.name: variant for variant in (TABULAR, VISION, LLM_RAG)}

BUILDS: dict[str, tuple[Variant, Build]] = {
    build.name: (variant, build) for variant in VARIANTS.values() for build in variant.builds
}
