"""Response bodies of the prediction routes (the error bodies are in ``errors``).

The requests are multipart forms, one image in the field ``file`` or several in ``files``;
FastAPI documents those from the route signatures (``routes/predict.py``), so there is no
request model here. A prediction names the most probable class and the ``serving.top_k``
most probable classes with their probabilities, most probable first; a batch answers in
upload order and repeats each file's name, so a client can match answers to files either
way. Every answer carries the version of the model that made it.

Edit this file to change what a prediction answer holds (and ``scoring.py``, which writes it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_VERSION = "20250131120000-1a2b3c4d"


def _example_top_k() -> list[dict[str, Any]]:
    return [
        {"label": "circle", "probability": 0.94},
        {"label": "square", "probability": 0.04},
        {"label": "triangle", "probability": 0.02},
    ]


def _prediction_example(schema: dict[str, Any]) -> None:
    schema["examples"] = [
        {"label": "circle", "top_k": _example_top_k(), "model_version": EXAMPLE_VERSION}
    ]


def _batch_example(schema: dict[str, Any]) -> None:
    schema["examples"] = [
        {
            "predictions": [
                {"filename": "a.png", "label": "circle", "top_k": _example_top_k()},
                {"filename": "b.jpg", "label": "circle", "top_k": _example_top_k()},
            ],
            "model_version": EXAMPLE_VERSION,
        }
    ]


class ResponseModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), frozen=True)


class ClassProbability(ResponseModel):
    label: str = Field(description="A class the model knows (see /metadata: classes).")
    probability: float = Field(ge=0, le=1)


class ImagePrediction(ResponseModel):
    label: str = Field(description="The most probable class.")
    top_k: list[ClassProbability] = Field(
        description="The serving.top_k most probable classes, most probable first."
    )


class PredictionResponse(ImagePrediction):
    model_config = ConfigDict(json_schema_extra=_prediction_example)

    model_version: str


class FilePrediction(ImagePrediction):
    filename: str = Field(
        description="The uploaded file's name (its base name, shortened to 100 characters), "
        "or `file <n>` when it had none."
    )


class BatchResponse(ResponseModel):
    model_config = ConfigDict(json_schema_extra=_batch_example)

    predictions: list[FilePrediction] = Field(description="One per file, in upload order.")
    model_version: str
