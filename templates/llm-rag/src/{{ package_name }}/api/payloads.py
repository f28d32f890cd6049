"""The bodies of ``POST /ask``, ``POST /ask/stream`` and ``POST /documents``.

The question's length cap is a setting (``serving.max_question_chars``), so the request
model is built when the app is (``ask_model``); the response models document the routes
in OpenAPI, and the tests check replies against them.

Edit this file when a request takes another option or an answer another field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ..config import Mode


def whole_number(value: object) -> object:
    """A JSON number with nothing after its point (``5.0``) as the integer it is; anything
    else is left for the strict check to refuse (``true``, ``"5"``, ``5.5``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class AskRequest(BaseModel):
    """What ``POST /ask`` reads; unknown keys are refused (a typo would be ignored)."""

    # Strict: `"top_k": true` or `"top_k": "5"` is a client's bug, refused rather than read
    # as 1 or 5 (`whole_number` still takes 5.0, which JSON Schema counts as an integer).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="The question, in plain words."
    )
    top_k: Annotated[int, Field(ge=1, le=50), BeforeValidator(whole_number)] | None = Field(
        None, description="Passages to answer from (default: retrieval.top_k)."
    )
    mode: Mode | None = Field(None, description="dense, bm25 or hybrid (default: retrieval.mode).")
    sources: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Answer only from these documents (their paths under data.path, e.g. "
        "`expenses.md`; uploads as `uploads/<name>`).",
    )


def ask_model(max_chars: int) -> type[AskRequest]:
    """``AskRequest`` with its question capped at ``max_chars`` characters."""

    class Ask(AskRequest):
        question: Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_chars)
        ] = Field(
            description=f"The question, in plain words (at most {max_chars} characters: "
            "serving.max_question_chars).",
            examples=["How many days of annual leave does a new employee get?"],
        )

    Ask.__name__ = Ask.__qualname__ = "AskRequest"
    return Ask


class CitationOut(BaseModel):
    n: int = Field(description="The number the answer cites as [n].")
    source: str = Field(description="The document, relative to data.path.")
    page: int | None = Field(description="The page, for a PDF.")
    chunk_id: str
    score: float = Field(description="The retrieval mode's score for this chunk.")
    heading: str = Field(description="The headings above the chunk, joined with ' > '.")


class Timings(BaseModel):
    retrieve_ms: float
    generate_ms: float
    total_ms: float


class AskResponse(BaseModel):
    answer: str
    abstained: bool = Field(
        description="True when the documents do not answer the question (best similarity "
        "below retrieval.abstain_below): `answer` says so, `closest` lists what came nearest."
    )
    generator: str = Field(description="`extractive`, `llm:<model>` or `abstained`.")
    mode: Mode
    citations: list[CitationOut]
    closest: list[CitationOut] = Field(
        description="Every passage retrieved, cited or not (the closest sources when abstaining)."
    )
    best_similarity: float
    fallback: str | None = Field(
        description="Why the LLM did not answer, when the extractive answerer stood in."
    )
    timings: Timings
    model_version: str


class DocumentResponse(BaseModel):
    source: str = Field(description="The document's name in the index: `uploads/<name>`.")
    chunks: int = Field(description="Chunks the document was cut into.")
    embedded: int = Field(description="Chunks embedded by this ingest (new or changed).")
    model_version: str = Field(
        description="The index version made current; the service answers from it within "
        "serving.reload_interval_s."
    )
