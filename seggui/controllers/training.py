"""Training runs from the window: start one on every painted pixel, follow it with live previews
and progress, stop it, and use the model it keeps.

``TrainingController`` owns the training thread and its worker; it reads the project's settings
from ``AppState`` and announces the run through ``ModelState`` and its own signals, which the
training panel follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from model.networks.config import AUTO_PRESET, START_IMAGENET, START_SCRATCH, is_pretrained_preset
from model.words import scored_on
from seggui.controllers.live_prediction import LivePrediction
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.model_choice import ModelChoice
from seggui.controllers.model_files import new_model_path
from seggui.controllers.slide_prediction import SlidePredictions, SlidePreviewKey
from seggui.controllers.training_worker import TrainOutcome, TrainRequest, TrainWorker
from seggui.rendering.labels import Drawing
from seggui.state.app_state import AppState
from seggui.state.model_state import ModelState

if TYPE_CHECKING:
    from collections.abc import Callable

    from model.prediction.predict import Prediction
    from model.training.train_events import EpochEnded, TrainingStarted
    from seggui.rendering.labels import Rendered

START_CURRENT = "current"
START_FILE = "file"
"""``start_from`` values beside ``model.networks.config``'s: fine-tune the model in use, or ask
for a file (never saved: the file's path is)."""
PREVIEW_MAX_PIXELS = 2048 * 2048
"""Larger images get no live preview: on a CPU a 4096 x 4096 preview costs 20 s of every epoch."""


def window_settings(saved: dict[str, object]) -> dict[str, object]:
    """A project's training settings as the window uses them: a project that never chose a
    network gets the measured default, ``auto``."""
    return {"preset": AUTO_PRESET, **saved}


def start_of_run(start: str, preset: str, has_model: bool, channels: int | None = None) -> str:
    """Where the next run starts, given the chosen ``start``: "the current model" only once
    there is one, ImageNet weights only for a network with a pretrained encoder (otherwise the
    new model such a run would get); ``channels``: of the images, which ``auto`` goes by."""
    pretrained = is_pretrained_preset(preset, channels)
    if start == START_CURRENT and has_model:
        return START_CURRENT
    if start in (START_CURRENT, START_FILE, "") or (start == START_IMAGENET and not pretrained):
        return START_IMAGENET if pretrained else START_SCRATCH
    return start


def format_duration(seconds: float) -> str:
    """``1:05`` style (``1:02:03`` past an hour)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


ETA_WINDOW_S = 60.0
"""Time left is estimated from the progress made in this many seconds."""


class TimeLeft:
    """Seconds left of a run at the pace of its last ``window_s`` (the time before the first
    step, spent loading, is not counted as pace)."""

    def __init__(self, window_s: float = ETA_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: list[tuple[float, float]] = []

    def reset(self) -> None:
        self._samples = []

    def update(self, progress: float, elapsed_s: float) -> float | None:
        """The time left after ``progress`` (0..1) in ``elapsed_s``; None until there is
        enough to go on."""
        samples = self._samples
        samples.append((elapsed_s, progress))
        while len(samples) > 2 and elapsed_s - samples[1][0] >= self.window_s:
            samples.pop(0)
        start_s, start_progress = samples[0]
        if progress < 0.02 or elapsed_s - start_s < 5.0 or progress <= start_progress:
            return None
        return (1.0 - progress) * (elapsed_s - start_s) / (progress - start_progress)


class TrainingController(QObject):
    """Runs one training at a time on its own thread."""

    started = Signal(object, object)  # a run began: its classes, and the history it goes on from
    stepped = Signal(object)  # StepEnded
    epoch_scored = Signal(object, object)  # EpochEnded, class names
    preview_changed = Signal(str, float)  # image name, share of its pixels that changed class
    ended = Signal(str)  # what the run did, in words
    finished = Signal(object)  # TrainOutcome
    failed = Signal(str)
    _run_requested = Signal(object)  # TrainRequest, queued to the worker's thread

    def __init__(
        self,
        app: AppState,
        models: ModelState,
        *,
        store: MaskStore,
        choice: ModelChoice,
        live: LivePrediction,
        drawing: Callable[[], Drawing] = Drawing,
        slides: SlidePredictions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.app, self.models, self.store, self.choice, self.live = app, models, store, choice, live
        self.slides = slides
        """The window's slide predictions: a slide on screen gets its previews there."""
        self.drawing = drawing
        """How the prediction layer draws (previews are coloured so on the worker)."""
        self._models_dir: Path | None = None  # the folder of the run's project
        self._start = START_CURRENT  # where the run started (``start_of_run``)
        self._stop_requested = False
        self._network_note = ""
        self.thread = QThread(self)
        self.thread.setObjectName("training")
        self.worker = TrainWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._run_requested.connect(self.worker.run)
        self.worker.started.connect(self._on_started)
        self.worker.step_ended.connect(self._on_step)
        self.worker.epoch_ended.connect(self._on_epoch)
        self.worker.preview_made.connect(self._on_preview)
        self.worker.problem_found.connect(app.report)
        self.worker.downloaded.connect(self._on_downloaded)
        self.worker.network_chosen.connect(self._on_network_chosen)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        app.image_opened.connect(lambda _: self._follow_with_previews())
        if slides is not None:  # a slide's preview is of what is on screen: it follows the view
            slides.view_settled.connect(self._follow_with_previews)
        self.thread.start()

    def train(self) -> None:
        """Fine-tune the current model (or start one) on every painted pixel, in the background."""
        project = self.app.project
        if project is None or self.models.training:
            return
        settings = window_settings(project.train_settings)
        has_model = self.models.checkpoint is not None and not self.models.is_package
        start = start_of_run(
            str(settings.get("start_from", START_CURRENT)), str(settings["preset"]), has_model
        )
        if self.models.is_package:
            self.app.tell(
                "The model in use is a bioimage.io package, trained elsewhere: Train trains a SegGUI "
                "network of its own on what is painted (the package stays as it is)",
                10000,
            )
        request = TrainRequest(
            image_dir=project.folder,
            mask_dir=project.mask_dir,
            model_path=new_model_path(project.models_dir),
            classes=project.classes,
            settings=settings,
            init=self.models.checkpoint if start == START_CURRENT else None,
            start_from=START_IMAGENET if start == START_CURRENT else start,
            unsaved_masks=self.store.unsaved_masks(),
            image_axes=project.image_axes,
            slide_masks=self.store.slide_masks(),
            cache_bytes=self.app.memory_budget.share("training"),
        )
        self._stop_requested = False
        self._network_note = ""
        self._models_dir = project.models_dir
        self._start = start
        self.models.set_training(True)
        self.models.set_progress(0.0)
        self.started.emit(project.classes, list(request.init.history) if request.init is not None else [])
        self.models.set_status("Loading the labelled images...")
        self._follow_with_previews()
        self.worker.prepare()
        self._run_requested.emit(request)

    def stop(self) -> None:
        """Stop training within one step (the model so far is kept)."""
        if self.models.training:
            self._stop_requested = True
            self.worker.request_stop()
            self.models.set_status("Stopping after this step; the model so far is kept...")

    def shutdown(self) -> None:
        """Stop the run (its model is still saved) and end the thread."""
        self.worker.request_stop()
        self.thread.quit()
        self.thread.wait()

    def _follow_with_previews(self) -> None:
        """Have the training predict the image on screen after each epoch, unless it is so large
        that previews would cost the training more than they show (it is predicted at the end)."""
        if not self.models.training:
            return
        current, project = self.app.current, self.app.project
        if project is None or project.models_dir != self._models_dir:
            current = None  # training for another folder: its model says nothing about this one
        elif self.app.slide is not None and self.slides is not None:
            self._follow_slide_with_previews()
            return
        if current is not None and current.raw.shape[0] * current.raw.shape[1] <= PREVIEW_MAX_PIXELS:
            self.worker.set_preview_target(current.path, current.raw, self.drawing(), current.nodata)
        else:
            self.worker.set_preview_target(None, None)
            if current is not None:
                self.app.tell(
                    f"{current.path.name} is too large for live previews; it is predicted when training ends",
                    8000,
                )

    def _follow_slide_with_previews(self) -> None:
        """On a slide, the previews are of what is on screen, while it is no more than
        ``PREVIEW_MAX_PIXELS``; read from the slide on the training thread."""
        assert self.slides is not None and self.app.slide is not None
        slide, rect = self.app.slide, self.slides.preview_region(PREVIEW_MAX_PIXELS)
        if rect is None:
            self.worker.set_preview_target(None, None)
            self.app.tell("Zoom in for live previews of the slide: they predict what is on screen", 8000)
            return
        reader = slide.reader

        def read() -> np.ndarray:
            return reader.read_region(0, rect.y, rect.x, rect.height, rect.width)

        self.worker.set_preview_target(SlidePreviewKey(slide.path, rect), read, self.drawing())

    def _on_downloaded(self, done: int, total: int) -> None:
        """Progress of the pretrained weights' download (before training starts)."""
        if total > 0:
            self.models.set_progress(done / total)
        of = f" of {total / 1e6:.1f}" if total > 0 else ""
        self.models.set_status(
            f"Downloading the ImageNet weights: {done / 1e6:.1f}{of} MB "
            "(Stop cancels; they are kept for next time)"
        )

    def _on_network_chosen(self, description: str) -> None:
        self._network_note = f"New model: {description}. "
        self.models.set_status(f"{self._network_note}Loading the labelled images...")

    def _on_started(self, event: TrainingStarted) -> None:
        self.models.set_device(f"Device: {event.device}")
        held_out = (
            "scoring on the painted pixels (too few images to hold some out)"
            if event.validating_on_training_images
            else f"{event.val_images} held out to score"
        )
        self.models.set_status(f"{self._network_note}Training on {event.train_images} images, {held_out}")

    def _on_step(self, event) -> None:
        self.models.set_progress(event.progress)
        self.stepped.emit(event)

    def _on_epoch(self, event: EpochEnded) -> None:
        project = self.app.project
        if event.metrics is None or project is None:
            return
        names = [c.name for c in project.classes]
        self.epoch_scored.emit(event, names)
        self.models.set_status(
            f"Epoch {event.epoch}: loss {event.train_loss:.3f}, agreement with "
            f"{scored_on(event.on_training_strokes)} "
            f"(mean IoU of all {len(names)} classes, the dashed line) "
            f"{event.metrics.mean_iou:.3f}{' (best so far)' if event.best else ''}"
        )

    def _on_preview(
        self, key: object, prediction: Prediction, rendered: Rendered, changed: float | None
    ) -> None:
        if isinstance(key, Path):
            self.live.show(key, prediction, rendered)
            if changed is not None:
                self.preview_changed.emit(key.name, changed)
        elif isinstance(key, SlidePreviewKey) and self.slides is not None:
            self.slides.show_preview(key.path, key.rect, prediction.classes)

    def _on_finished(self, outcome: TrainOutcome) -> None:
        self.models.set_training(False)
        project = self.app.project
        if project is None or project.models_dir != self._models_dir:
            # Another folder was opened meanwhile: the model belongs to the folder it was trained on.
            self._end(f"Training of {outcome.model_path.parent.parent.name} ended; model saved there")
            self.finished.emit(outcome)
            return
        result = outcome.result
        kept_before = result.worse_than_start and self.models.checkpoint is not None
        started_from = self.models.model_path
        if not kept_before:
            # The last preview stays on screen until the kept (best) model's prediction replaces it.
            saved = outcome.model_path if outcome.save_error is None else None
            self.choice.use(result.checkpoint, saved, clear=False)
        message = _finished_message(outcome, started_from if kept_before else None)
        if kept_before:
            self.app.tell(message, 30000)
        if outcome.save_error:
            message = f"{_how(outcome)}, but the model could not be saved: {outcome.save_error}"
            self.app.report(outcome.save_error)
        if not result.stopped:
            self.models.set_progress(1.0)
        self._end(message)
        if self._start != START_CURRENT and outcome.save_error is None:
            self.app.update_train_settings({"start_from": START_CURRENT})  # the next Train fine-tunes it
        self.choice.refresh_models()
        if kept_before:  # a model put in use predicts the image on screen itself (model_changed)
            self.live.predict_current()
        self.finished.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self.models.set_training(False)
        if self._stop_requested:  # e.g. the weights' download, cancelled by Stop: no error
            self.models.set_progress(0.0)
            self._end(f"Stopped: {message}")
        else:
            self._end(f"Training failed: {message}")
            self.app.report(f"Training failed: {message}")
        self.failed.emit(message)

    def _end(self, message: str) -> None:
        self.models.set_status(message)
        self.ended.emit(message)


def _how(outcome: TrainOutcome) -> str:
    return "Stopped" if outcome.result.stopped else "Finished"


def _finished_message(outcome: TrainOutcome, kept: Path | None) -> str:
    """What a finished run did; ``kept``: the model it started from stays in use (it agrees more
    with the held-out strokes)."""
    result, how = outcome.result, _how(outcome)
    took = f"{how} after {result.steps} steps in {format_duration(outcome.seconds)}"
    best = result.best_metrics
    strokes = scored_on(bool(result.history and result.history[-1].get("validated_on_training_images")))
    if kept is not None and result.start_metrics is not None and best is not None:
        return (
            f"{took}: this run agrees less with {strokes} ({best.mean_iou:.3f}) than "
            f"{kept.name} ({result.start_metrics.mean_iou:.3f}), so {kept.name} stays in use. The run "
            f"is saved as {outcome.model_path.name}: pick it in the model list to use it anyway"
        )
    score = f"agreement with {strokes} {best.mean_iou:.3f}" if best is not None else "not scored"
    kept_what = (
        "latest weights kept, as strokes are too sparse to choose an epoch by"
        if result.kept_latest
        else "best epoch kept"
    )
    network = result.checkpoint.config.describe()
    return (
        f"{took}; {kept_what} ({score}); {result.scoring}; saved as {outcome.model_path.name}; "
        f"network: {network}"
    )
