"""Which model is in use: the project's newest (or last used) when a folder opens, one the user
picks or loads from a file (read and checked off the GUI thread), none when the classes no
longer fit. The one place that lists the project's model files."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from model.networks.config import START_IMAGENET
from seggui.controllers.model_context import ModelContext
from seggui.controllers.model_files import detect_device, load_model_for, model_files

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint

NO_MODEL_YET = "No model yet: paint a few strokes of each class, then Train."


class ModelChoice(QObject):
    """Loads models into ``ModelState`` and the prediction service."""

    model_loaded = Signal(object)  # Checkpoint or PackageModel: read from a file and in use
    model_failed = Signal(str)  # why a model file could not be used

    def __init__(self, context: ModelContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app, self.models, self.service = context.app, context.models, context.service
        self.image_list = context.image_list
        app = context.app
        app.project_opened.connect(lambda _: self._on_project_opened())
        app.classes_changed.connect(lambda _: self._on_classes_changed())
        self.service.jobs.submit(detect_device, self._on_device_known, self._on_device_known)

    def use(self, checkpoint: Checkpoint | None, path: Path | None, *, clear: bool = True) -> None:
        """Use ``checkpoint`` (from ``path``, None if unsaved) or no model; the scores and (with
        ``clear``) the prediction on screen of the last one go."""
        self.service.set_model(checkpoint)
        project = self.app.project
        in_project = path is not None and project is not None and path.parent == project.models_dir
        if in_project and path.name != project.model_in_use:  # loaded when the folder opens again
            self.app.update_project(dataclasses.replace(project, model_in_use=path.name))
        self.image_list.clear_uncertainties()
        if clear:
            self.models.clear_prediction()
        self.models.set_model(checkpoint, path)

    def refresh_models(self) -> None:
        """List the project's model files again (after training, loading, opening a folder)."""
        project = self.app.project
        self.models.list_models(model_files(project.models_dir) if project is not None else [])

    def load_model(self, path: Path) -> None:
        """Use the model in ``path`` (read and checked off the GUI thread)."""
        project = self.app.project
        if project is None:
            return
        if self.models.training:
            self.app.report("Wait for training to end (or stop it) before switching models")
            return
        classes = project.classes
        self.service.jobs.submit(  # torch work (its import included) queues on the model thread
            lambda: load_model_for(path, classes),
            lambda result: self._on_loaded(path, result),
            lambda error: self._on_failed(str(error)),
            key="load model",
        )

    def _on_loaded(self, path: Path, result: object) -> None:
        checkpoint, note = result  # type: ignore[misc]
        self.use(checkpoint, path)
        self.refresh_models()
        network = checkpoint.describe()
        self.models.set_status(f"Using {path.name}: {network}" + (f". {note}" if note else ""))
        if note:
            self.app.tell(note, 10000)
        self.model_loaded.emit(checkpoint)

    def _on_failed(self, message: str) -> None:
        self.models.set_status(f"Model not loaded: {message}")
        self.app.report(message)
        self.refresh_models()
        self.model_failed.emit(message)

    def _on_project_opened(self) -> None:
        """A folder was opened: use its last used (or newest) model, if any."""
        project = self.app.project
        assert project is not None
        self.use(None, None)  # first: nothing of the last project's model stays in use
        self.refresh_models()
        if not self.models.training:  # a run for the last folder keeps its progress until it ends
            self.models.set_progress(0.0)
            self.models.set_status(NO_MODEL_YET)
        models = self.models.models
        chosen = next((m for m in models if m.name == project.model_in_use), models[0] if models else None)
        if chosen is not None:
            if not self.models.training:
                self.models.set_status(f"Loading {chosen.name}...")
            self.load_model(chosen)

    def _on_classes_changed(self) -> None:
        """A model that knows more classes than remain is put aside."""
        project, checkpoint = self.app.project, self.models.checkpoint
        if project is None or checkpoint is None or len(checkpoint.classes) <= len(project.classes):
            return
        message = (
            f"The model knows {len(checkpoint.classes)} classes but the project now has "
            f"{len(project.classes)}; train a new model (Advanced: Start from ImageNet or random weights)"
        )
        self.use(None, None)
        self.app.update_train_settings({"start_from": START_IMAGENET})
        self.models.set_status(message)
        self.app.report(message)

    def _on_device_known(self, result: object) -> None:
        self.models.set_device(f"Device: {result}")
