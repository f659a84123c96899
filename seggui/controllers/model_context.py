"""What the model-in-the-loop controllers share: the app and model state they follow and change,
the prediction service they predict through, and the image list that holds the scores."""

from __future__ import annotations

from dataclasses import dataclass

from seggui.controllers.predictions import PredictionService
from seggui.state.app_state import AppState
from seggui.state.image_list import ImageListModel
from seggui.state.model_state import ModelState


@dataclass(frozen=True)
class ModelContext:
    """Handed to ``ModelChoice``, ``LivePrediction`` and ``Ranking``."""

    app: AppState
    models: ModelState
    service: PredictionService
    image_list: ImageListModel
