"""The prediction of the image on screen: from the cache or predicted off the GUI thread when an
image opens or another model is in use, with its uncertainty heat map once that is wanted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from seggui.controllers.model_context import ModelContext
from seggui.state.model_state import PredictionOnScreen

if TYPE_CHECKING:
    from model.prediction.predict import Prediction
    from seggui.rendering.labels import Rendered


class LivePrediction(QObject):
    """Keeps ``ModelState.shown`` the current model's prediction of the image on screen."""

    def __init__(self, context: ModelContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app, self.models, self.service = context.app, context.models, context.service
        self.image_list = context.image_list
        app, models, service = context.app, context.models, context.service
        app.image_opened.connect(lambda _: self._on_image_opened())
        app.classes_changed.connect(lambda _: service.forget_rendered())  # overlays of the old colours
        models.model_changed.connect(lambda _: self.predict_current())
        models.uncertainty_visible_changed.connect(self._on_uncertainty_toggled)
        service.predicted.connect(self._on_predicted)
        service.failed.connect(self._on_failed)

    def predict_current(self) -> None:
        """Predict the image on screen with the model in use (shown at once if cached), unless
        training is running (its previews show instead)."""
        current, project = self.app.current, self.app.project
        if current is None or project is None or self.models.checkpoint is None or self.models.training:
            return
        cached = self.service.cached(current.path)
        heat_ready = cached is not None and cached.rendered.uncertainty is not None
        if cached is not None and (heat_ready or not self.models.uncertainty_visible):
            self.show(current.path, cached.prediction, cached.rendered)
        else:
            self.service.request(current.path, current.raw, project.classes, current.nodata)

    def show(self, path: Path, prediction: Prediction, rendered: Rendered | None = None) -> None:
        """Show ``prediction`` of ``path`` if that is still the image on screen."""
        current = self.app.current
        if current is None or current.path != path or prediction.classes.shape != current.mask.shape:
            return
        self.models.show_prediction(PredictionOnScreen(path, prediction, rendered))

    def _on_image_opened(self) -> None:
        self.models.clear_prediction()
        self.predict_current()

    def _on_predicted(self, path: Path, prediction: Prediction, rendered: Rendered) -> None:
        self.image_list.set_uncertainty(path, prediction.uncertainty)
        self.show(path, prediction, rendered)

    def _on_failed(self, path: Path | None, message: str) -> None:
        if path is None:  # Predict All's (``Ranking``)
            return
        self.app.report(message)
        self.models.set_status(message)

    def _on_uncertainty_toggled(self, shown: bool) -> None:
        """A prediction shown without its heat map is predicted again once the map is wanted."""
        on_screen = self.models.shown
        if (
            shown
            and on_screen is not None
            and (on_screen.rendered is None or on_screen.rendered.uncertainty is None)
        ):
            current, project = self.app.current, self.app.project
            if current is not None and project is not None and not self.models.training:
                self.service.request(current.path, current.raw, project.classes, current.nodata)
