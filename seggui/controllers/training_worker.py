"""Training on a QThread: a worker object calls ``model.training.train.fit`` and turns its events
into signals.

The GUI thread never waits on torch: it hands a ``TrainRequest`` over through a queued signal, gets
progress back as signals, and stops the run through a flag that ``fit`` checks every step.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from model.classes import ClassInfo
from model.errors import SegGUIError
from model.storage.image_cache import cache_bytes
from seggui.rendering.labels import Drawing, render_prediction

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint
    from model.storage.chunked_mask import ChunkedMask
    from model.training.train import PreviewRequest, TrainEvent, TrainResult

log = logging.getLogger(__name__)

PREVIEW_INTERVAL_S = 8.0
"""Within long epochs the overlay still refreshes this often (each refresh costs one prediction)."""


@dataclass(frozen=True)
class TrainRequest:
    """Everything a training run needs, copied on the GUI thread so the worker shares nothing."""

    image_dir: Path
    mask_dir: Path
    model_path: Path
    classes: tuple[ClassInfo, ...]
    settings: dict[str, object]
    init: Checkpoint | None = None
    """The model to fine-tune; ``None`` starts a new one from ``start_from``."""
    start_from: str = "imagenet"
    """For a new model: "imagenet", "scratch", or a model or encoder weights file."""
    unsaved_masks: dict[Path, np.ndarray] = field(default_factory=dict)
    """Strokes not on disk yet (image path -> mask copy); they win over the mask files."""
    image_axes: str | None = None
    """The folder's answer for TIFFs without axes in their metadata (``Project.image_axes``)."""
    slide_masks: dict[Path, ChunkedMask] = field(default_factory=dict)
    """The chunked masks of slides the window has open (by folder), read as they are."""
    cache_bytes: int = 0
    """The training cache where the settings leave it automatic (0): the memory budget's share."""


def training_cache_bytes(setting_mb: int, budget_share: int) -> int:
    """The training cache: the settings' size, or where they leave it automatic (0), the memory
    budget's share (the machine's default without one)."""
    return cache_bytes(setting_mb) if setting_mb or not budget_share else budget_share


@dataclass(frozen=True)
class TrainOutcome:
    """A finished (or stopped) run: the model, where it was saved, and what it reached."""

    result: TrainResult
    model_path: Path
    save_error: str | None
    seconds: float


class TrainWorker(QObject):
    """Lives on its own QThread; ``run`` trains, the signals report back to the GUI thread."""

    started = Signal(object)  # TrainingStarted
    step_ended = Signal(object)  # StepEnded
    epoch_ended = Signal(object)  # EpochEnded
    preview_made = Signal(object, object, object, object)  # key, Prediction, Rendered, changed share
    problem_found = Signal(str)  # a skipped file
    downloaded = Signal(int, int)  # bytes done, bytes in all (0: unknown)
    network_chosen = Signal(str)  # the network a new model gets, and why
    finished = Signal(object)  # TrainOutcome
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._preview: tuple[object, np.ndarray] | None = None
        self._drawing = Drawing()
        self._classes: tuple[ClassInfo, ...] = ()
        self._last_preview: tuple[object, np.ndarray] | None = None  # worker thread only

    def prepare(self) -> None:
        """Clear an old stop request; call before queuing ``run`` (a stop after this one counts)."""
        self._stop.clear()

    def request_stop(self) -> None:
        """Ask the run to stop; ``fit`` checks this before every step (thread-safe)."""
        self._stop.set()

    def set_preview_target(
        self,
        key: object,
        raw: np.ndarray | Callable[[], np.ndarray] | None,
        drawing: Drawing = Drawing(),  # noqa: B008 (frozen)
        nodata: np.ndarray | None = None,
    ) -> None:
        """The image to predict after each epoch (the one on screen), and how its overlay is
        drawn; ``raw=None`` for none. ``raw`` may be a function that reads it (a part of a
        slide), called on the training thread when a preview is due; ``nodata``: its pixels
        that hold no data, previewed as not labelled."""
        with self._lock:
            self._preview = None if raw is None else (key, raw, nodata)
            self._drawing = drawing

    def _preview_target(self) -> PreviewRequest | None:
        from model.training.train_events import PreviewRequest

        with self._lock:
            target = self._preview
        if target is None:
            return None
        key, raw, nodata = target
        if callable(raw):
            try:
                raw = raw()
            except (SegGUIError, OSError, ValueError) as exc:
                log.warning("no preview of %s: %s", key, exc)
                return None
        return PreviewRequest(key, raw, nodata)

    @Slot(object)
    def run(self, request: TrainRequest) -> None:
        self._classes = request.classes
        self._last_preview = None
        start = time.perf_counter()
        try:
            result = self._train(request, start)
        except (SegGUIError, OSError, ValueError) as exc:
            self.failed.emit(str(exc))
            return
        except MemoryError:
            self.failed.emit("not enough memory to train: lower the batch size or the crop size")
            return
        except RuntimeError as exc:  # e.g. CUDA out of memory: a message, not a crash
            log.exception("training failed")
            self.failed.emit(f"training failed: {str(exc).splitlines()[0]}")
            return
        save_error = None
        try:
            from model.networks.checkpoint import save_checkpoint

            save_checkpoint(request.model_path, result.checkpoint)
        except OSError as exc:
            save_error = f"Cannot save the model to {request.model_path}: {exc.strerror or exc}"
        self.finished.emit(TrainOutcome(result, request.model_path, save_error, time.perf_counter() - start))

    def _train(self, request: TrainRequest, pressed: float) -> TrainResult:
        """Load what is painted and fit; the time limit counts from ``pressed`` (the Train
        press, as the user counts it): loading the images is part of it."""
        from model.errors import DatasetError
        from model.networks.config import PRESET_INFO, START_CHOICES, START_IMAGENET, is_pretrained_preset
        from model.networks.network_choice import model_channels, resolve_preset
        from model.networks.weights import initial_checkpoint
        from model.storage.image_cache import DecodedCache
        from model.training.data import find_samples
        from model.training.slide_regions import slides_to_train_on, split_slides
        from model.training.train import TrainSettings, fit, split_train_val
        from model.training.training_images import load_training_set

        settings = TrainSettings.from_dict(request.settings)
        found = find_samples(request.image_dir, request.mask_dir, request.image_axes)
        samples, slides = split_slides(found, request.mask_dir, request.slide_masks)  # by region
        labelled = samples + slides
        init = request.init
        if init is None:
            name, why = resolve_preset(settings.preset, labelled, settings.channels)
            settings = dataclasses.replace(settings, preset=name)
            if request.start_from in START_CHOICES:
                pretrained = request.start_from == START_IMAGENET and is_pretrained_preset(name)
                start = "ImageNet weights" if pretrained else "random weights"
                self.network_chosen.emit(f"{PRESET_INFO[name].title} ({why}), from {start}")
            else:
                self.network_chosen.emit(f"from {Path(request.start_from).name}")
            init = initial_checkpoint(
                settings.preset,
                list(request.classes),
                request.start_from,
                on_progress=self.downloaded.emit,
                should_stop=self._stop.is_set,
                in_channels=model_channels(settings.preset, None, labelled, settings.channels),
            )
        in_channels = model_channels(settings.preset, init, labelled, settings.channels)
        images, problems = load_training_set(
            samples,
            in_channels,
            len(request.classes),
            cache=DecodedCache(training_cache_bytes(settings.cache_mb, request.cache_bytes)),
            overrides=request.unsaved_masks,
            picked=settings.channels,
        )
        regions, slide_problems = slides_to_train_on(
            slides, in_channels, open_masks=request.slide_masks, picked=settings.channels
        )
        images, problems = [*images, *regions], problems + slide_problems
        for message in problems:
            self.problem_found.emit(message)
        if not images:
            raise DatasetError("nothing to train on: paint a few strokes of each class first")
        train, val = split_train_val(images, settings.val_fraction, settings.seed)
        return fit(
            settings,
            train,
            val,
            list(request.classes),
            init=init,
            on_event=self._on_event,
            should_stop=self._stop.is_set,
            preview=self._preview_target,
            preview_interval_s=PREVIEW_INTERVAL_S,
            on_problem=self.problem_found.emit,
            started=pressed,  # the time limit counts from the Train press, loading included
        )

    def _changed_share(self, key: object, classes: np.ndarray) -> float | None:
        """The share of pixels whose predicted class changed since the last preview of the same
        image (None for the first): how much the model still changes where nothing is painted."""
        last, self._last_preview = self._last_preview, (key, classes)
        if last is None or last[0] != key or last[1].shape != classes.shape:
            return None
        return float(np.count_nonzero(last[1] != classes)) / max(classes.size, 1)

    def _on_event(self, event: TrainEvent) -> None:
        from model.training.train_events import EpochEnded, PreviewReady, StepEnded, TrainingStarted

        if isinstance(event, StepEnded):
            self.step_ended.emit(event)
        elif isinstance(event, EpochEnded):
            self.epoch_ended.emit(event)
        elif isinstance(event, PreviewReady):
            with self._lock:
                drawing = self._drawing
            # coloured (and hatched) here, not on the GUI
            classes = event.prediction.classes
            rendered = render_prediction(classes, self._classes, drawing, event.prediction.uncertainty_map)
            changed = self._changed_share(event.key, classes)
            self.preview_made.emit(event.key, event.prediction, rendered, changed)
        elif isinstance(event, TrainingStarted):
            self.started.emit(event)
