"""The model in the loop: train from the painted masks, show predictions, accept them, rank images.

``ModelLoop`` owns the training thread, the prediction service, the training panel and the
Model menu's actions. It follows the open project and image through ``AppState`` and never
reaches into the main window.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QFrame, QScrollArea

from model.networks.config import START_IMAGENET
from seggui.accepting import PredictionAcceptance
from seggui.actions import make_action
from seggui.model_files import MODEL_SUFFIX, detect_device, load_model_for, model_files
from seggui.predictions import PredictionService
from seggui.training_panel import NO_MODEL_YET, TrainingPanel
from seggui.training_run import TrainingRun
from seggui.training_worker import TrainWorker
from seggui.uncertainty_ranking import UncertaintyRanking

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint
    from model.prediction.predict import Prediction
    from seggui.app_state import AppState
    from seggui.browser import ImageListModel
    from seggui.canvas.layers import ImageLayer, LabelLayer, Rendered
    from seggui.editor import MaskEditor
    from seggui.mask_store import MaskStore

log = logging.getLogger(__name__)


class ModelLoop(TrainingRun, UncertaintyRanking, PredictionAcceptance, QObject):
    """Training, prediction overlay, accept, predict-all and uncertainty ranking for one window."""

    training_started = Signal()
    training_finished = Signal(object)  # TrainOutcome
    training_failed = Signal(str)
    prediction_shown = Signal(object)  # image path
    predict_all_finished = Signal(object)  # FolderPrediction
    model_changed = Signal(object)  # model path
    model_failed = Signal(str)
    _run_request = Signal(object)  # TrainRequest, queued to the worker's thread

    def __init__(
        self,
        state: AppState,
        *,
        prediction_layer: LabelLayer,
        uncertainty_layer: ImageLayer,
        image_list: ImageListModel,
        store: MaskStore,
        editor: MaskEditor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.prediction_layer = prediction_layer
        self.uncertainty_layer = uncertainty_layer
        self.image_list = image_list
        self.store = store
        self.editor = editor
        self.checkpoint: Checkpoint | None = None
        self.model_path: Path | None = None
        self.training = False
        self.uncertainties: dict[Path, float] = {}
        self.shown: tuple[Path, np.ndarray] | None = None  # the prediction on screen: image, classes
        self.shown_prediction: Prediction | None = None  # all of it (Accept leaves its unsure pixels)
        self._jump_when_ranked = False
        self._training_models_dir: Path | None = None
        self._stop_requested = False
        self._network_note = ""
        self._build_actions()
        self.panel = TrainingPanel(self.actions)
        self.dock = QDockWidget("Model")
        self.dock.setObjectName("model")
        scroll = QScrollArea()  # Advanced scrolls the panel instead of squeezing the charts
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        scroll.setMinimumWidth(
            self.panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        )
        self.dock.setWidget(scroll)
        self.panel.model_picked.connect(self.load_model)
        self.panel.settings_changed.connect(self._on_settings_changed)
        self.panel.overlay_opacity_changed.connect(prediction_layer.setOpacity)
        prediction_layer.setOpacity(self.panel.overlay_opacity.value() / 100)
        state.project_opened.connect(lambda _: self.project_opened())
        state.image_opened.connect(lambda _: self.image_opened())
        state.classes_changed.connect(lambda _: self.classes_changed())

        self.service = PredictionService(
            self, lambda: prediction_layer.drawing, self.actions["show_uncertainty"].isChecked
        )
        self.service.ready.connect(self._on_prediction_ready)
        self.service.failed.connect(self._on_prediction_failed)
        self.service.progress.connect(self._on_predict_all_progress)
        self.service.all_done.connect(self._on_predict_all_done)

        self.thread = QThread(self)
        self.thread.setObjectName("training")
        self.worker = TrainWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._run_request.connect(self.worker.run)
        self.worker.started.connect(self._on_training_started)
        self.worker.step_ended.connect(self._on_step)
        self.worker.epoch_ended.connect(self._on_epoch)
        self.worker.preview_ready.connect(self._on_preview)
        self.worker.problem.connect(state.report)
        self.worker.download_progress.connect(self.panel.show_download)
        self.worker.network_chosen.connect(self._on_network_chosen)
        self.worker.finished.connect(self._on_training_finished)
        self.worker.failed.connect(self._on_training_failed)
        self.thread.start()
        self._update_actions()

        self.service.jobs.submit(detect_device, self._on_device_known, self._on_device_known)

    def _build_actions(self) -> None:
        """The Model menu's actions (the window adds them all, so their keys work anywhere)."""

        def a(text: str, slot, shortcut: str | None = None, checkable: bool = False) -> QAction:
            return make_action(self, text, slot, shortcut, checkable)

        self.actions: dict[str, QAction] = {
            "train": a("&Train", self.train, "Ctrl+T"),
            "stop": a("&Stop", self.stop),
            "accept_unpainted": a("&Accept Prediction (Unpainted Pixels)", self.accept_unpainted, "A"),
            "accept_sure_only": a(
                "Accept Only Where the Model Is &Sure", self._on_accept_mode_toggled, checkable=True
            ),
            "accept_all": a("&Replace Mask with Prediction", self.accept_all, "Shift+A"),
            "predict_all": a("&Predict All", lambda: self.predict_all(), "Ctrl+Shift+P"),
            "next_uncertain": a("&Next Most Uncertain", self.next_uncertain, "U"),
            "load_model": a("&Load Model...", self._choose_model_file),
            "show_prediction": a("Show P&rediction", self._on_show_toggled, "R", checkable=True),
            "show_uncertainty": a(
                "Show &Uncertainty", self._on_uncertainty_toggled, "Shift+U", checkable=True
            ),
        }
        self.actions["train"].setToolTip("Fine-tune the model on every painted pixel (Ctrl+T)")
        self.actions["stop"].setToolTip("Stop after the current step and keep the model so far")
        self.actions["accept_unpainted"].setToolTip(
            "Copy the prediction into the pixels not painted yet; painted pixels stay (A)"
        )
        self.actions["accept_all"].setToolTip(
            "Copy the whole prediction into the mask (undoable; asks first when every pixel is "
            "labelled already) (Shift+A)"
        )
        self.actions["predict_all"].setToolTip("Predict every image into the predictions folder")
        self.actions["next_uncertain"].setToolTip(
            "Open the unfinished image the model is least sure about: correcting it helps most (U)"
        )
        self.actions["accept_sure_only"].setChecked(True)
        self.actions["accept_sure_only"].setToolTip(
            "Accept Prediction leaves the pixels Show Uncertainty tints unpainted, for you to paint: "
            "a weak model's accepted mistakes are trained on as labels"
        )
        self.actions["show_uncertainty"].setToolTip(
            "Tint where the model is unsure, yellow to red: the places worth correcting (Shift+U)"
        )
        self.actions["load_model"].setText("Load...")
        self.actions["show_prediction"].setChecked(True)
        self.actions["load_model"].setShortcut(QKeySequence())

    def menu_actions(self) -> list[QAction | None]:
        a = self.actions
        return [
            a["train"],
            a["stop"],
            None,
            a["show_prediction"],
            a["show_uncertainty"],
            a["accept_unpainted"],
            a["accept_sure_only"],
            a["accept_all"],
            None,
            a["predict_all"],
            a["next_uncertain"],
            None,
            a["load_model"],
        ]

    def _update_actions(self) -> None:
        has_model = self.checkpoint is not None
        has_project = self.state.project is not None
        self.actions["train"].setEnabled(has_project and not self.training)
        self.actions["stop"].setEnabled(self.training or self.service.running_all)
        shown = self.shown is not None and self._is_current(self.shown[0])
        self.actions["accept_unpainted"].setEnabled(shown)
        self.actions["accept_all"].setEnabled(shown)
        self.actions["predict_all"].setEnabled(has_model and has_project and not self.service.running_all)
        self.actions["next_uncertain"].setEnabled(has_model and has_project)

    # -- project and image events (from AppState) ------------------------------------------------
    def project_opened(self) -> None:
        """A folder was opened: show its settings and use its newest model, if any."""
        project = self.state.project
        assert project is not None
        self._set_model(None, None)  # first: nothing of the last project's model stays in use
        self.panel.models_folder = project.models_dir
        self.panel.set_settings(project.train_settings)
        if not self.training:  # a run for the last folder keeps its progress until it ends
            self.panel.reset(project.classes, NO_MODEL_YET)
        models = model_files(project.models_dir)
        self.panel.set_models(models, None)
        chosen = next((m for m in models if m.name == project.model_in_use), models[0] if models else None)
        if chosen is not None:
            if not self.training:
                self.panel.status_label.setText(f"Loading {chosen.name}...")
            self.load_model(chosen)
        self._update_actions()

    def image_opened(self) -> None:
        current = self.state.current
        self._clear_overlay()
        if current is None:
            return
        if self.training:
            self._follow_with_previews()
        cached = self.service.cached(current.path)
        heat_ready = cached is not None and cached.rendered.uncertainty is not None
        if cached is not None and (heat_ready or not self._uncertainty_wanted()):
            self._show(current.path, cached.prediction, cached.rendered)
        elif self.checkpoint is not None and not self.training and self.state.project is not None:
            self.service.request(current.path, current.raw, self.state.project.classes)

    def classes_changed(self) -> None:
        """Recolour the overlay; a model that knows more classes than remain is put aside."""
        project = self.state.project
        if project is None:
            return
        self.service.forget_rendered()
        self.panel.rename_classes(project.classes)
        if self.checkpoint is not None and len(self.checkpoint.classes) > len(project.classes):
            message = (
                f"The model knows {len(self.checkpoint.classes)} classes but the project now has "
                f"{len(project.classes)}; train a new model (Advanced: Start from ImageNet or random weights)"
            )
            self._set_model(None, None)
            self.panel.set_start_from(START_IMAGENET)
            self.panel.status_label.setText(message)
            self.state.report(message)
            return
        self.prediction_layer.set_classes(project.classes)

    def _is_current(self, path: Path) -> bool:
        return self.state.is_current(path)

    # -- showing predictions ---------------------------------------------------------------------
    def _clear_overlay(self) -> None:
        self.shown, self.shown_prediction = None, None
        self.prediction_layer.set_labels(None, ())
        self.uncertainty_layer.set_image(QImage())
        self._update_actions()

    def _show(self, path: Path, prediction: Prediction, rendered: Rendered | None = None) -> None:
        project = self.state.project
        if project is None or not self._is_current(path):
            return
        current = self.state.current
        assert current is not None
        classes = prediction.classes
        if classes.shape != current.mask.shape:
            return
        self.shown = (path, classes)
        self.shown_prediction = prediction
        layer = self.prediction_layer
        layer.set_labels(classes, project.classes, rendered)
        layer.setVisible(self.actions["show_prediction"].isChecked())
        heat = rendered.uncertainty if rendered is not None else None
        self.uncertainty_layer.set_image(heat if heat is not None else QImage())
        self.uncertainty_layer.setVisible(self._uncertainty_wanted())
        self._update_actions()
        self.prediction_shown.emit(path)

    def _on_prediction_ready(self, path: Path, prediction: Prediction, rendered: Rendered) -> None:
        self.uncertainties[path] = prediction.uncertainty
        self.image_list.set_uncertainty(path, prediction.uncertainty)
        self._show(path, prediction, rendered)

    def _on_prediction_failed(self, path: Path | None, message: str) -> None:
        self.state.report(message)
        self.panel.status_label.setText(message)
        self._update_actions()

    def _on_show_toggled(self, checked: bool) -> None:
        self.prediction_layer.setVisible(checked)

    def _uncertainty_wanted(self) -> bool:
        return self.actions["show_uncertainty"].isChecked()

    def _on_uncertainty_toggled(self, checked: bool) -> None:
        """Show the uncertainty heat map; a prediction shown without one is predicted again."""
        self.uncertainty_layer.setVisible(checked)
        current, project = self.state.current, self.state.project
        if not checked or current is None or project is None or self.training:
            return
        if self.shown is not None and self.uncertainty_layer.image().isNull():
            self.service.request(current.path, current.raw, project.classes)

    # -- models ------------------------------------------------------------------------------------
    def _set_model(self, checkpoint: Checkpoint | None, path: Path | None, clear: bool = True) -> None:
        self.checkpoint, self.model_path = checkpoint, path
        self.service.set_model(checkpoint)
        self.panel.set_has_model(checkpoint is not None)
        project = self.state.project
        in_project = path is not None and project is not None and path.parent == project.models_dir
        if in_project and path.name != project.model_in_use:  # loaded when the folder opens again
            self.state.update_project(dataclasses.replace(project, model_in_use=path.name))
        self.uncertainties = {}
        self.image_list.clear_uncertainties()
        if clear:
            self._clear_overlay()
        if path is not None:
            self.model_changed.emit(path)

    def load_model(self, path: Path) -> None:
        """Use the model in ``path`` (read and checked off the GUI thread)."""
        project = self.state.project
        if project is None or self.training:
            if self.training:
                self.state.report("Wait for training to end (or stop it) before switching models")
            return
        classes = project.classes
        self.service.jobs.submit(  # torch work (its import included) queues on the model thread
            lambda: load_model_for(path, classes),
            lambda result: self._on_model_loaded(path, result),
            lambda error: self._on_model_loaded(path, str(error)),
            key="load model",
        )

    def _on_model_loaded(self, path: Path, result: object) -> None:
        project = self.state.project
        if isinstance(result, str):
            self.panel.status_label.setText(f"Model not loaded: {result}")
            self.state.report(result)
            if project is not None:
                self.panel.set_models(model_files(project.models_dir), self.model_path)
            self.model_failed.emit(result)
            return
        checkpoint, note = result  # type: ignore[misc]
        self._set_model(checkpoint, path)
        if project is not None:
            self.panel.set_models(model_files(project.models_dir), path)
            self.panel.show_history(checkpoint.history, project.classes)
        network = checkpoint.config.describe()
        self.panel.status_label.setText(f"Using {path.name}: {network}" + (f". {note}" if note else ""))
        if note:
            self.state.tell(note, 10000)
        self._update_actions()
        self.image_opened()

    def _choose_model_file(self) -> None:
        project = self.state.project
        start = str(project.models_dir if project is not None else Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self.panel, "Load model", start, f"SegGUI models (*{MODEL_SUFFIX});;All files (*)"
        )
        if path:
            self.load_model(Path(path))

    # -- shutdown ------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop training (its model is still saved) and prediction, and end the threads."""
        self.worker.request_stop()
        self.service.shutdown()
        self.thread.quit()
        self.thread.wait()
