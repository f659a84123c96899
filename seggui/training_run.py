"""Training runs of the model loop: start, follow with previews and progress, stop, finish.

Mixed into ``ModelLoop`` (``seggui.model_loop``), whose state it shares: the worker and its
thread, the training panel, the prediction service and the open project through ``AppState``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from model.networks.config import START_IMAGENET
from seggui.model_files import model_files, new_model_path
from seggui.training_options import START_CURRENT
from seggui.training_panel import format_duration
from seggui.training_worker import TrainOutcome, TrainRequest

if TYPE_CHECKING:
    from model.prediction.predict import Prediction
    from model.training.train_events import EpochEnded, StepEnded, TrainingStarted
    from seggui.canvas.layers import Rendered

PREVIEW_MAX_PIXELS = 2048 * 2048
"""Larger images get no live preview: on a CPU a 4096 x 4096 preview costs 20 s of every epoch."""


class TrainingRun:
    """The training half of ``ModelLoop``."""

    # -- training ------------------------------------------------------------------------------
    def train(self) -> None:
        """Fine-tune the current model (or start one) on every painted pixel, in the background."""
        project = self.state.project
        if project is None or self.training:
            return
        unsaved = self.store.unsaved_masks()
        start = self.panel.start_from()
        fresh = start != START_CURRENT or self.checkpoint is None
        request = TrainRequest(
            image_dir=project.folder,
            mask_dir=project.mask_dir,
            model_path=new_model_path(project.models_dir),
            classes=project.classes,
            settings={**project.train_settings, **self.panel.settings()},
            init=None if fresh else self.checkpoint,
            start_from=START_IMAGENET if start == START_CURRENT else start,
            unsaved_masks=unsaved,
            image_axes=project.image_axes,
        )
        self.training = True
        self._stop_requested = False
        self._network_note = ""
        self._training_models_dir = project.models_dir
        if self.panel.model_combo.count() == 0:
            self.panel.model_combo.setPlaceholderText("training the first model...")
        self.panel.start_run(project.classes)
        self._follow_with_previews()
        self._update_actions()
        self.worker.prepare()
        self._run_request.emit(request)
        self.training_started.emit()

    def _follow_with_previews(self) -> None:
        """Have the training predict the image on screen after each epoch, unless it is so large
        that previews would cost the training more than they show (it is predicted at the end)."""
        current, project = self.state.current, self.state.project
        if project is None or project.models_dir != self._training_models_dir:
            current = None  # training for another folder: its model says nothing about this one
        if current is not None and current.raw.shape[0] * current.raw.shape[1] <= PREVIEW_MAX_PIXELS:
            self.worker.set_preview_target(current.path, current.raw, self.prediction_layer.drawing)
        else:
            self.worker.set_preview_target(None, None)
            if current is not None:
                self.state.tell(
                    f"{current.path.name} is too large for live previews; it is predicted when training ends",
                    8000,
                )

    def stop(self) -> None:
        """Stop training within one step (the model so far is kept) and any predict-all."""
        if self.training:
            self._stop_requested = True
            self.worker.request_stop()
            self.panel.status_label.setText("Stopping after this step; the model so far is kept...")
        if self.service.running_all:
            self.service.stop_all()

    def _on_device_known(self, result: object) -> None:
        self.panel.device_label.setText(f"Device: {result}")

    def _on_network_chosen(self, description: str) -> None:
        self._network_note = f"New model: {description}. "
        self.panel.status_label.setText(f"{self._network_note}Loading the labelled images...")

    def _on_training_started(self, event: TrainingStarted) -> None:
        self.panel.device_label.setText(f"Device: {event.device}")
        held_out = (
            "scoring on the painted pixels (too few images to hold some out)"
            if event.validating_on_training_images
            else f"{event.val_images} held out to score"
        )
        self.panel.status_label.setText(
            f"{self._network_note}Training on {event.train_images} images, {held_out}"
        )

    def _on_step(self, event: StepEnded) -> None:
        self.panel.show_step(event.step, event.loss, event.progress, event.elapsed_s)

    def _on_epoch(self, event: EpochEnded) -> None:
        project = self.state.project
        if event.metrics is None or project is None:
            return
        names = [c.name for c in project.classes]
        self.panel.show_epoch(event.epoch, event.metrics.iou, names, event.metrics.mean_iou)
        self.panel.status_label.setText(
            f"Epoch {event.epoch}: loss {event.train_loss:.3f}, agreement with held-out strokes "
            f"(mean IoU of all {len(names)} classes, the dashed line) "
            f"{event.metrics.mean_iou:.3f}{' (best so far)' if event.best else ''}"
        )

    def _on_preview(
        self, key: object, prediction: Prediction, rendered: Rendered, changed: float | None
    ) -> None:
        if isinstance(key, Path):
            self._show(key, prediction, rendered)
            if changed is not None:
                self.panel.show_change(key.name, changed)

    def _on_training_finished(self, outcome: TrainOutcome) -> None:
        self.training = False
        result = outcome.result
        project = self.state.project
        if project is None or project.models_dir != self._training_models_dir:
            # Another folder was opened meanwhile: the model belongs to the folder it was trained on.
            self.panel.end_run(
                f"Training of {outcome.model_path.parent.parent.name} ended; model saved there"
            )
            self._update_actions()
            self.training_finished.emit(outcome)
            return
        kept_before = result.worse_than_start and self.checkpoint is not None
        started_from = self.model_path
        if not kept_before:
            # The last preview stays on screen until the kept (best) model's prediction replaces it.
            self._set_model(
                result.checkpoint, outcome.model_path if outcome.save_error is None else None, clear=False
            )
        best = result.best_metrics
        score = (
            f"agreement with held-out strokes {best.mean_iou:.3f}"
            if best is not None
            else "no held-out pixels"
        )
        how = "Stopped" if result.stopped else "Finished"
        kept = (
            "latest weights kept, as strokes are too sparse to choose an epoch by"
            if result.kept_latest
            else "best epoch kept"
        )
        network = result.checkpoint.config.describe()
        message = (
            f"{how} after {result.steps} steps in {format_duration(outcome.seconds)}; {kept} "
            f"({score}), saved as {outcome.model_path.name}; network: {network}"
        )
        if kept_before and result.start_metrics is not None and best is not None:
            name = started_from.name if started_from is not None else "the model it started from"
            message = (
                f"{how} after {result.steps} steps in {format_duration(outcome.seconds)}: this run agrees "
                f"less with the held-out strokes ({best.mean_iou:.3f}) than {name} ("
                f"{result.start_metrics.mean_iou:.3f}), so {name} stays in use. The run is saved as "
                f"{outcome.model_path.name}: pick it in the model list to use it anyway"
            )
            self.state.tell(message, 30000)
        if outcome.save_error:
            message = f"{how}, but the model could not be saved: {outcome.save_error}"
            self.state.report(outcome.save_error)
        if not result.stopped:
            self.panel.progress.setValue(self.panel.progress.maximum())
        self.panel.end_run(message)
        if self.panel.start_from() != START_CURRENT and outcome.save_error is None:
            self.panel.set_start_from(START_CURRENT)  # the next Train fine-tunes the new model
            self._on_settings_changed(self.panel.settings())
        project = self.state.project
        if project is not None:
            self.panel.set_models(model_files(project.models_dir), self.model_path)
        current = self.state.current
        if current is not None and project is not None:  # the kept model predicts the image on screen
            self.service.request(current.path, current.raw, project.classes)
        self._update_actions()
        self.training_finished.emit(outcome)

    def _on_training_failed(self, message: str) -> None:
        self.training = False
        if self._stop_requested:  # e.g. the weights' download, cancelled by Stop: no error
            self.panel.end_run(f"Stopped: {message}")
            self.panel.progress.setValue(0)
        else:
            self.panel.end_run(f"Training failed: {message}")
            self.state.report(f"Training failed: {message}")
        if self.panel.model_combo.count() == 0:
            self.panel.model_combo.setPlaceholderText("none yet")
        self._update_actions()
        self.training_failed.emit(message)

    def _on_settings_changed(self, settings: dict[str, object]) -> None:
        project = self.state.project
        if project is None:
            return
        self.state.update_project(
            dataclasses.replace(project, train_settings={**project.train_settings, **settings})
        )
