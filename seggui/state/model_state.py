"""The model in the loop, as the window shows it: the model in use and the project's model files,
whether training or Predict All runs, the prediction on screen and how it is shown, and the
line that says what the model is doing. Setters check and emit; nothing else emits these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from model.networks.package_model import is_package
from seggui.rendering.labels import Rendered

if TYPE_CHECKING:  # torch behind them: imported on a worker thread, never here
    from model.networks.checkpoint import Checkpoint
    from model.networks.package_model import PackageModel
    from model.prediction.predict import Prediction


@dataclass(frozen=True)
class PredictionOnScreen:
    """The current model's prediction of the image on screen, coloured off the GUI thread."""

    path: Path
    prediction: Prediction
    rendered: Rendered | None = None

    @property
    def classes(self):
        return self.prediction.classes


class ModelState(QObject):
    """One window's model state."""

    model_changed = Signal(object)  # Path of the model in use, or None (no model)
    models_listed = Signal(object, object)  # the project's model files (newest first), the one in use
    training_changed = Signal(bool)
    predicting_all_changed = Signal(bool)
    prediction_shown = Signal(object)  # PredictionOnScreen
    prediction_cleared = Signal()
    prediction_visible_changed = Signal(bool)
    uncertainty_visible_changed = Signal(bool)
    accept_sure_only_changed = Signal(bool)
    status_changed = Signal(str)  # what the model is doing or did last, in words
    device_changed = Signal(str)
    progress_changed = Signal(float)  # 0..1 of the training run or Predict All

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.checkpoint: Checkpoint | PackageModel | None = None
        """The model in use: SegGUI's own, or a bioimage.io package (predicts, never trained)."""
        self.model_path: Path | None = None
        self.models: list[Path] = []
        self.training = False
        self.predicting_all = False
        self.shown: PredictionOnScreen | None = None
        self.prediction_visible = True
        self.uncertainty_visible = False
        self.accept_sure_only = True
        """Accept Prediction leaves the pixels where the model is unsure unpainted."""
        self.status = ""
        self.device = ""
        self.progress = 0.0

    @property
    def has_model(self) -> bool:
        return self.checkpoint is not None

    @property
    def is_package(self) -> bool:
        """Whether the model in use is a bioimage.io package (Train starts a network of ours)."""
        return self.model_path is not None and is_package(self.model_path)

    def set_model(self, checkpoint: Checkpoint | PackageModel | None, path: Path | None) -> None:
        """Use ``checkpoint`` (read from ``path``, None if unsaved), or no model."""
        if checkpoint is None and path is not None:
            raise ValueError("a model path without a model")
        self.checkpoint, self.model_path = checkpoint, path
        self.model_changed.emit(path)

    def list_models(self, paths: list[Path]) -> None:
        """The project's model files, newest first."""
        self.models = list(paths)
        self.models_listed.emit(self.models, self.model_path)

    def set_training(self, on: bool) -> None:
        if bool(on) != self.training:
            self.training = bool(on)
            self.training_changed.emit(self.training)

    def set_predicting_all(self, on: bool) -> None:
        if bool(on) != self.predicting_all:
            self.predicting_all = bool(on)
            self.predicting_all_changed.emit(self.predicting_all)

    def show_prediction(self, shown: PredictionOnScreen) -> None:
        self.shown = shown
        self.prediction_shown.emit(shown)

    def clear_prediction(self) -> None:
        if self.shown is not None:
            self.shown = None
            self.prediction_cleared.emit()

    def is_shown(self, path: Path) -> bool:
        """Whether the prediction on screen is of ``path``."""
        return self.shown is not None and self.shown.path == path

    def set_prediction_visible(self, on: bool) -> None:
        if bool(on) != self.prediction_visible:
            self.prediction_visible = bool(on)
            self.prediction_visible_changed.emit(self.prediction_visible)

    def set_uncertainty_visible(self, on: bool) -> None:
        if bool(on) != self.uncertainty_visible:
            self.uncertainty_visible = bool(on)
            self.uncertainty_visible_changed.emit(self.uncertainty_visible)

    def set_accept_sure_only(self, on: bool) -> None:
        if bool(on) != self.accept_sure_only:
            self.accept_sure_only = bool(on)
            self.accept_sure_only_changed.emit(self.accept_sure_only)

    def set_status(self, text: str) -> None:
        self.status = text
        self.status_changed.emit(text)

    def set_device(self, text: str) -> None:
        if text != self.device:
            self.device = text
            self.device_changed.emit(text)

    def set_progress(self, fraction: float) -> None:
        fraction = float(min(max(fraction, 0.0), 1.0))
        if fraction != self.progress:
            self.progress = fraction
            self.progress_changed.emit(fraction)
