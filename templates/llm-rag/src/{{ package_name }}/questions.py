"""The evaluation set: questions with the document and passage that answer them.

One JSON object per line (``data.questions``)::

    {"id": "q001", "question": "...", "answerable": true, "sources": ["annual-leave.md"],
     "passage": "the sentence that answers it, verbatim", "page": null,
     "reference_answer": "..."}

An unanswerable question (``"answerable": false``, no sources) is one the documents do not
answer: the service should abstain on it. A chunk is relevant to a question when it comes
from the question's first source and contains its passage (whitespace ignored).

Edit this module when the evaluation set gains a field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config_base import ConfigurationError


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    sources: list[str] = []
    passage: str = ""
    page: int | None = None
    reference_answer: str = ""

    @model_validator(mode="after")
    def _answerable_has_a_passage(self) -> Question:
        if self.answerable and not (self.sources and self.passage.strip()):
            raise ValueError("an answerable question needs its sources and passage")
        return self


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def is_relevant(question: Question, source: str, text: str) -> bool:
    """Whether a chunk (its source and text) holds the question's passage."""
    needle = normalise_space(question.passage)
    return (
        question.answerable
        and bool(needle)
        and source == question.sources[0]
        and needle in normalise_space(text)
    )


def load(path: Path) -> list[Question]:
    """The questions in ``path``; a bad line is refused with its number and the reason."""
    if not path.is_file():
        raise FileNotFoundError(f"the evaluation set {path} (data.questions) does not exist")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate_json(line))
        except ValidationError as error:
            problem = "; ".join(
                f"{'.'.join(str(part) for part in item['loc']) or 'line'}: {item['msg']}"
                for item in error.errors()
            )
            raise ConfigurationError(f"{path}:{number}: {problem}") from None
    if not questions:
        raise ConfigurationError(f"{path} holds no questions")
    duplicates = sorted({q.id for q in questions if [p.id for p in questions].count(q.id) > 1})
    if duplicates:
        raise ConfigurationError(f"{path}: question ids used twice: {', '.join(duplicates)}")
    return questions
