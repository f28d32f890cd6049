"""Every setting the project reads, from one place: ``configs/pipeline.yaml``.

``Settings`` holds what this project adds (the documents, chunking, the embedding model, the
Qdrant store, retrieval, the LLM and the upload limits) on top of the sections every project
made from the template shares (paths, serving, drift thresholds, tracking, host and port:
see ``config_base``). Environment variables override any key, nested with ``__``
(``RETRIEVAL__TOP_K=3``); the variables people expect from other RAG tools work too:
``EMBEDDING_MODEL``, ``QDRANT_URL``, ``QDRANT_API_KEY``, ``LLM_BASE_URL``, ``LLM_API_KEY`` and
``LLM_MODEL`` (``ALIASES``).

Edit this file when the config grows a setting; edit ``configs/pipeline.yaml`` to change a
value.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from . import config_base
from .config_base import ProjectSettings, Section

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")

ALIASES: dict[str, tuple[str, str]] = {
    "EMBEDDING_MODEL": ("embedding", "model"),
    "QDRANT_URL": ("store", "url"),
    "QDRANT_API_KEY": ("store", "api_key"),
    "LLM_BASE_URL": ("llm", "base_url"),
    "LLM_API_KEY": ("llm", "api_key"),
    "LLM_MODEL": ("llm", "model"),
}
"""Plain environment variables and the setting each one sets (``section.key``)."""

MODEL_TARGET = "make ingest"
"""The command that builds the index (this project's model): messages about a missing one
name it."""
RESULTS_TARGET = "make eval"
"""The command that writes the README Results from the current model."""


class DataConfig(Section):
    path: Path = Field(
        description="The folder of documents: markdown, text, PDF and HTML files, in "
        "sub-folders too."
    )
    questions: Path | None = Field(
        None,
        description="The evaluation set (JSON lines: question, answerable, sources, passage, "
        "answer); `make eval` needs it.",
    )


class SampleConfig(Section):
    """The handbook shipped with the project, copied by `make data` when ``data.path`` is
    ``sample.path``; nothing is ever written to any other path."""

    path: Path = Path("data/sample/handbook")
    questions: Path = Path("data/sample/eval/questions.jsonl")
    new_questions: Path = Field(
        Path("data/sample/eval/new_questions.txt"),
        description="Questions asked after the evaluation set was written: `make drift`'s batch.",
    )


class ChunkingConfig(Section):
    size: int = Field(200, ge=20, le=2000, description="Words per chunk, at most.")
    overlap: int = Field(
        40, ge=0, description="Words repeated between consecutive pieces of a long section."
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.overlap >= self.size:
            raise ValueError(
                f"chunking.overlap ({self.overlap}) must be below chunking.size ({self.size})"
            )
        return self


class EmbeddingConfig(Section):
    model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="A sentence-transformers model: a Hugging Face hub name or a local folder "
        "(EMBEDDING_MODEL).",
    )
    max_tokens: int = Field(
        256, ge=16, le=512, description="Longer texts are cut to this many tokens."
    )
    batch_size: int = Field(32, ge=1)


class StoreConfig(Section):
    path: Path = Field(
        Path("index/qdrant"),
        description="Embedded Qdrant's folder (used when no url is set).",
    )
    url: str | None = Field(
        None, description="A Qdrant server, e.g. http://localhost:6333 (QDRANT_URL)."
    )
    api_key: SecretStr | None = Field(None, description="QDRANT_API_KEY, for a server.")
    collection: str = Field("chunks", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")


class RetrievalConfig(Section):
    mode: Mode = Field("hybrid", description="dense, bm25 or hybrid (reciprocal-rank fusion).")
    top_k: int = Field(5, ge=1, le=50, description="Passages given to the answerer.")
    candidates: int = Field(
        20, ge=1, description="Hybrid: how deep each list goes before the fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank fusion: 1 / (rrf_k + rank).")
    abstain_below: float = Field(
        0.4,
        ge=-1,
        le=1,
        description="Below this best cosine similarity, the answer is 'not in the documents'.",
    )


class LLMConfig(Section):
    base_url: str | None = Field(
        None,
        description="An OpenAI-compatible endpoint (LLM_BASE_URL): hosted, Ollama, vLLM. "
        "Unset: the offline extractive answerer.",
    )
    api_key: SecretStr | None = Field(None, description="LLM_API_KEY; never logged.")
    model: str = Field("gpt-4o-mini", description="LLM_MODEL")
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(400, ge=16)


class ServingConfig(config_base.ServingConfig):
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused (422).")
    max_document_bytes: int = Field(
        5_000_000, ge=1024, description="Largest uploaded document (413 above)."
    )
    uploads_dir: Path = Field(
        Path("data/uploads"),
        description="Where POST /documents keeps uploaded files; ingest reads them too.",
    )


class Settings(ProjectSettings):
    data: DataConfig
    sample: SampleConfig = SampleConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    store: StoreConfig = StoreConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    llm: LLMConfig = LLMConfig()
    serving: ServingConfig = ServingConfig()

    @property
    def uses_sample(self) -> bool:
        """True while ``data.path`` is the bundled sample."""
        return self.data.path == self.sample.path

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = super().settings_customise_sources(
            settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        )
        # After the nested variables (RETRIEVAL__TOP_K), before the YAML file.
        return (*sources[:-1], AliasSource(settings_cls), sources[-1])


class AliasSource(PydanticBaseSettingsSource):
    """``ALIASES``: a plain variable in the environment sets its section's key."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, dict[str, str]] = {}
        for variable, (section, key) in ALIASES.items():
            value = os.environ.get(variable)
            if value:
                values.setdefault(section, {})[key] = value
        return dict(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process (tests call ``get_settings.cache_clear()``)."""
    return Settings()
