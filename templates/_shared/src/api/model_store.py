"""The model the service answers with, or the reason there is none.

A fresh clone has no model until ``make train``, and the service must still start: its
``/health`` answers and its ``/ready`` explains. Loading therefore never raises. A missing
file, a corrupt artefact or a model that does not fit the config leaves the store empty
with the reason, which ``/ready`` and the prediction routes report as a 503.

What loading means is this project's own (``api/predictor.py``: read the saved model, check
it against the config, prepare it for fast scoring); keeping and reporting it is here.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import logging

from ..config import Settings
from ..model_dir import UnusableModelError
from .predictor import Predictor, load_predictor

logger = logging.getLogger(__name__)


class ModelStore:
    """Holds at most one loaded model for the app's lifetime, or the reason there is none."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Predictor | None = None
        self.reason = "the model has not been loaded yet"

    @property
    def model(self) -> Predictor | None:
        return self._model

    def load(self) -> bool:
        """Load the model from ``paths.models_dir``; False (and a reason) when unusable."""
        directory = self.settings.paths.models_dir
        try:
            model = load_predictor(self.settings)
        except (FileNotFoundError, UnusableModelError) as error:
            return self._fail(str(error))
        except Exception as error:  # the service must stay up and say why it is not ready
            return self._fail(f"{type(error).__name__}: {error}")
        self._model = model
        self.reason = ""
        logger.info(
            "model loaded",
            extra={"model_version": model.version, "model_dir": str(directory)},
        )
        return True

    def _fail(self, reason: str) -> bool:
        self._model = None
        self.reason = reason
        logger.warning(
            "model not loaded",
            extra={"reason": reason, "model_dir": str(self.settings.paths.models_dir)},
        )
        return False
