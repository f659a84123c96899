"""Predictions for the app: one model, one worker thread, a cache, and "predict all".

Every call returns at once; results arrive as signals on the GUI thread, tagged with the model
generation so that a result of a replaced model is dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from model.classes import ClassInfo
from model.storage.mask_names import MaskNames
from seggui.controllers.jobs import JobCancelled, Jobs
from seggui.rendering.labels import Drawing, Rendered, render_prediction

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint
    from model.prediction.predict import Prediction, Predictor
    from model.prediction.predict_folder import FolderPrediction

SlidePredictor = Callable[..., tuple[dict[Path, float], list[str]]]
"""(slides, mask names, out_dir, generation, checkpoint, report, should_stop) -> (uncertainty of
each slide finished, problems): ``SlidePredictions.predict_slides``."""

BYTES_PER_PIXEL = 10
"""What a cached prediction keeps per pixel: class map, uncertainty, the coloured overlay and heat map."""
CACHE_PIXELS = 24 * 1024 * 1024
"""Pixels of predictions cached (about 240 MB) until the memory budget says otherwise."""


@dataclass(frozen=True)
class ShownPrediction:
    """A prediction and its overlay image, coloured on the worker thread."""

    prediction: Prediction
    rendered: Rendered

    @property
    def pixels(self) -> int:
        return int(self.prediction.classes.size)


class PredictionService(QObject):
    """Predicts images with the current model off the GUI thread and caches the class maps."""

    predicted = Signal(object, object, object)  # image path, Prediction (current model), Rendered overlay
    failed = Signal(object, str)  # image path, or None for predict_all; message
    image_predicted = Signal(object)  # ImagePredicted, during predict_all
    all_predicted = Signal(object)  # FolderPrediction
    running_all_changed = Signal(bool)  # predict_all began, or ended (however: done, stopped,
    # failed, or dropped because another model came)
    slide_window_predicted = Signal(object)  # a SlideWindowPredicted, during predict_all

    def __init__(
        self,
        parent: QObject | None = None,
        drawing: Callable[[], Drawing] = Drawing,
        uncertainty_shown: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self.drawing = drawing
        """How the prediction layer draws now (its overlays are coloured that way on the worker)."""
        self.uncertainty_shown = uncertainty_shown
        """Whether the uncertainty heat map is on screen: a prediction that "predict all" wrote
        (a class map, no uncertainty) is then computed again rather than read."""
        self.jobs = Jobs("model", 1, self)  # one model, one thread: torch work queues up in order
        self.checkpoint: Checkpoint | None = None
        self.generation = 0
        self._predictors: list[Predictor] = []
        self._predictor_generation = -1
        self._predictor_lock = threading.Lock()
        self._cache: OrderedDict[Path, ShownPrediction] = OrderedDict()
        self.cache_pixels = CACHE_PIXELS
        self._pending: set[Path] = set()
        self._written: dict[Path, tuple[Path, float]] = {}  # image -> (prediction file, uncertainty)
        self._stop_all = threading.Event()
        self._closing = threading.Event()
        self.running_all = False
        self.slide_predictor: SlidePredictor | None = None
        """Predicts the slides of ``predict_all`` (``SlidePredictions.predict_slides``); without
        it slides go to ``predict_folder`` like any image (which refuses them)."""

    # -- model -----------------------------------------------------------------------------------
    def set_model(self, checkpoint: Checkpoint | None) -> None:
        """Use ``checkpoint`` from now on; cached and queued results of the old one are dropped."""
        self.stop_all()
        self.checkpoint = checkpoint
        self.generation += 1
        self._cache.clear()
        self._pending.clear()
        self._written.clear()

    def predictors_for(self, generation: int, checkpoint: Checkpoint) -> list[Predictor]:
        """One predictor per GPU of this machine (or the one device), built on the worker thread
        (torch is imported there, never on the GUI)."""
        from model.prediction.predict import machine_predictors

        with self._predictor_lock:
            if not self._predictors or self._predictor_generation != generation:
                self._predictors = machine_predictors(checkpoint)
                self._predictor_generation = generation
            return self._predictors

    # -- one image -------------------------------------------------------------------------------
    def cached(self, path: Path) -> ShownPrediction | None:
        shown = self._cache.get(path)
        if shown is not None:
            self._cache.move_to_end(path)
        return shown

    def _remember(self, path: Path, shown: ShownPrediction) -> None:
        """Cache a prediction of the current model (oldest dropped past the pixel budget)."""
        self._cache[path] = shown
        self._cache.move_to_end(path)
        self._trim()

    def set_cache_bytes(self, cache_bytes: int) -> None:
        """Keep at most ``cache_bytes`` of predictions (10 bytes a pixel) from now on."""
        self.cache_pixels = cache_bytes // BYTES_PER_PIXEL
        self._trim()

    def _trim(self) -> None:
        while len(self._cache) > 1 and sum(s.pixels for s in self._cache.values()) > self.cache_pixels:
            self._cache.popitem(last=False)

    def forget_rendered(self) -> None:
        """Class colours changed: drop the cache (its overlays have the old colours)."""
        self._cache.clear()

    def request(
        self, path: Path, raw: np.ndarray, classes: tuple[ClassInfo, ...], nodata: np.ndarray | None = None
    ) -> None:
        """Predict ``path`` (``raw`` already decoded; ``nodata``: its pixels that hold no data,
        predicted as not labelled); ``ready`` follows, at once if cached."""
        checkpoint = self.checkpoint
        if checkpoint is None:
            return
        needs_heat = self.uncertainty_shown()
        cached = self.cached(path)
        if cached is not None and (cached.rendered.uncertainty is not None or not needs_heat):
            self.predicted.emit(path, cached.prediction, cached.rendered)
            return
        if path in self._pending:
            return
        self._pending.add(path)
        generation, drawing = self.generation, self.drawing()
        written = None if needs_heat else self._written.get(path)

        def still_wanted(done: int, total: int) -> None:
            """Between tiles: a closing window or another model makes this prediction waste."""
            if self._closing.is_set() or generation != self.generation:
                raise JobCancelled(f"prediction of {path.name} dropped after {done} of {total} tiles")

        def work() -> ShownPrediction:
            if written is not None:  # "predict all" wrote it with this model: read, don't recompute
                prediction = _read_prediction(written[0], raw.shape[:2], len(checkpoint.classes), written[1])
            else:
                predictor = self.predictors_for(generation, checkpoint)[0]
                prediction = predictor.predict(raw, on_tiles=still_wanted, nodata=nodata)
            rendered = render_prediction(prediction.classes, classes, drawing, prediction.uncertainty_map)
            return ShownPrediction(prediction, rendered)

        self.jobs.submit(
            work,
            lambda shown: self._on_ready(generation, path, shown),
            lambda error: self._on_failed(generation, path, f"Cannot predict {path.name}: {error}"),
        )

    def _on_ready(self, generation: int, path: Path, shown: ShownPrediction) -> None:
        if generation != self.generation:
            return
        self._pending.discard(path)
        self._remember(path, shown)
        self.predicted.emit(path, shown.prediction, shown.rendered)

    def _on_failed(self, generation: int, path: Path | None, message: str) -> None:
        if path is None:
            self._set_running_all(False)
        if generation != self.generation or self._closing.is_set():
            return
        self._pending.discard(path)  # type: ignore[arg-type]
        self.failed.emit(path, message)

    # -- the whole folder ----------------------------------------------------------------------------
    def predict_all(
        self, images: list[Path], out_dir: Path, classes: tuple[ClassInfo, ...], axes: str | None = None
    ) -> bool:
        """Predict ``images`` into ``out_dir`` in the background; False if no model or already running."""
        checkpoint = self.checkpoint
        if checkpoint is None or self.running_all:
            return False
        self._set_running_all(True)
        self._stop_all.clear()
        generation, stop = self.generation, self._stop_all

        def work(report) -> FolderPrediction:
            from model.prediction.predict_folder import predict_folder
            from model.storage.slide import opens_as_slide

            slides = [p for p in images if opens_as_slide(p)] if self.slide_predictor else []
            whole = set(slides)
            result = predict_folder(
                self.predictors_for(generation, checkpoint),
                [p for p in images if p not in whole],
                out_dir,
                list(classes),
                on_image=report,
                should_stop=stop.is_set,
                axes=axes,
            )
            if slides and self.slide_predictor is not None and not stop.is_set():
                names = MaskNames(images)
                means, problems = self.slide_predictor(
                    slides, names, out_dir, generation, checkpoint, report, stop.is_set
                )
                result.uncertainties.update(means)
                result.problems.extend(problems)
                result.stopped = result.stopped or stop.is_set()
            return result

        self.jobs.submit(
            work,
            lambda result: self._on_all_done(generation, result),
            lambda error: self._on_failed(generation, None, f"Predict all stopped: {error}"),
            on_progress=lambda done: self._on_progress(generation, done),
        )
        return True

    def stop_all(self) -> None:
        self._stop_all.set()

    def _on_progress(self, generation: int, done: object) -> None:
        from model.prediction.predict_folder import ImagePredicted

        if generation != self.generation:
            return
        if isinstance(done, ImagePredicted):
            self._written[done.image] = (done.output, done.uncertainty)
            self.image_predicted.emit(done)
        else:  # a window of a slide
            self.slide_window_predicted.emit(done)

    def _set_running_all(self, running: bool) -> None:
        self.running_all = running
        self.running_all_changed.emit(running)

    def _on_all_done(self, generation: int, result: FolderPrediction) -> None:
        self._set_running_all(False)
        if generation == self.generation:
            self.all_predicted.emit(result)

    def shutdown(self) -> None:
        self._closing.set()  # a prediction in flight stops at its next tile
        self.stop_all()
        self.jobs.clear()
        self.jobs.wait(10000)


def _read_prediction(path: Path, shape: tuple[int, ...], num_classes: int, uncertainty: float) -> Prediction:
    from model.prediction.predict import Prediction
    from model.storage.imageio import read_mask

    return Prediction(read_mask(path, shape=shape[:2], num_classes=num_classes), None, uncertainty)
