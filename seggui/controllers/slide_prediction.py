"""Predictions of a slide in the window: what is on screen first, the whole slide on Predict All,
window by window into the project's predictions folder (``model.prediction.predict_slide``),
drawn as each window arrives, resumed where a stop left them, and the slide's regions ranked by
the model's uncertainty for Next Most Uncertain.

Every model call runs on the prediction service's one model thread; the GUI thread only records
what is on screen (``set_view``), which the worker reads when it picks the next window.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from model.errors import SegGUIError
from model.storage.chunked_mask import ChunkedMask
from model.storage.mask_names import MaskNames
from seggui.controllers.model_context import ModelContext
from seggui.state.document import Rect
from seggui.state.loaded_slide import LoadedSlide

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint
    from model.prediction.predict_slide import SlideOutput
    from model.storage.slide import SlideReader

SLIDE_WINDOW = 2048
"""The side of the windows a slide is predicted in (each read with context around it)."""
ON_SCREEN_WINDOWS = 12
"""A view over at most this many prediction windows (2,048 pixels a side) is predicted on its
own; a wider one (the slide zoomed out) waits for Predict All, which says so."""
SLIDE_PREDICTION_SUFFIX = ".slide"
"""A slide's prediction folder in the predictions folder: ``<mask name>.slide``."""
VIEW_SETTLES_MS = 150


@dataclass(frozen=True)
class SlideWindowPredicted:
    """One window of ``image`` predicted into ``output``: ``done`` of ``total``."""

    image: Path
    output: SlideOutput
    top: int
    left: int
    done: int
    total: int

    @property
    def rect(self) -> Rect:
        return Rect(self.left, self.top, self.output.window, self.output.window)


@dataclass(frozen=True)
class SlidePreviewKey:
    """What a training preview of a slide predicts: ``rect`` of the slide ``path``."""

    path: Path
    rect: Rect


def prediction_folder(predictions_dir: Path, key: str) -> Path:
    """Where the prediction of the slide whose mask name is ``key`` is kept."""
    return predictions_dir / f"{key}{SLIDE_PREDICTION_SUFFIX}"


def _overlaps(start: tuple[int, int], size: int, view: tuple[int, int, int, int]) -> bool:
    y, x = start
    top, left, bottom, right = view
    return y < bottom and y + size > top and x < right and x + size > left


def _spanned(output: SlideOutput, view: tuple[int, int, int, int]) -> int:
    """How many of ``output``'s windows the view overlaps."""
    return sum(_overlaps(start, output.window, view) for start in output.starts)


def _nearest(starts: list[tuple[int, int]], size: int, view: tuple[int, int, int, int]) -> tuple[int, int]:
    cy, cx = (view[0] + view[2]) / 2, (view[1] + view[3]) / 2
    return min(starts, key=lambda s: (s[0] + size / 2 - cy) ** 2 + (s[1] + size / 2 - cx) ** 2)


class SlidePredictions(QObject):
    """The current model's prediction of the slide on screen (see the module's docstring)."""

    output_shown = Signal(object)  # the SlideOutput of the slide on screen, or None
    window_predicted = Signal(object)  # SlideWindowPredicted
    region_wanted = Signal(object)  # Rect of the slide to show (Next Most Uncertain)
    view_settled = Signal()  # the view stopped moving (training follows it with its previews)
    preview_shown = Signal(object, object)  # a training preview: its ChunkedMask and Rect

    def __init__(self, context: ModelContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app, self.models, self.service = context.app, context.models, context.service
        self.image_list = context.image_list
        self.output: SlideOutput | None = None
        """The prediction of the slide on screen by the model in use, as far as it goes."""
        self._shown: LoadedSlide | None = None
        self._view: tuple[int, int, int, int] | None = None  # top, left, bottom, right (slide pixels)
        self._outputs: dict[tuple[int, Path], SlideOutput] = {}  # (model generation, folder)
        self._fingerprints: dict[int, str] = {}
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._visited: set[tuple[int, int]] = set()
        self._settle = QTimer(self, singleShot=True, interval=VIEW_SETTLES_MS)
        self._settle.timeout.connect(self.predict_on_screen)
        self._settle.timeout.connect(self.view_settled.emit)
        self.app.slide_opened.connect(self._on_slide_opened)
        self.app.image_opened.connect(lambda _: self._show(None, None))
        self.models.model_changed.connect(lambda _: self._on_model_changed())
        self.models.training_changed.connect(self._on_training_changed)
        self.service.slide_window_predicted.connect(self._on_window)
        self.service.slide_predictor = self.predict_slides

    # -- on the GUI thread ---------------------------------------------------------------------------
    def set_view(self, top: float, left: float, bottom: float, right: float) -> None:
        """The part of the slide on screen (full-resolution pixels); predicted once it settles."""
        self._view = (int(top), int(left), int(bottom), int(right))
        if self._shown is not None:
            self._settle.start()

    def view_rect(self) -> Rect | None:
        """The part of the slide on screen, within the slide (None: no slide, or none of it)."""
        view, slide = self._view, self._shown
        if view is None or slide is None:
            return None
        height, width = slide.shape
        top, left = max(view[0], 0), max(view[1], 0)
        bottom, right = min(view[2], height), min(view[3], width)
        return Rect(left, top, right - left, bottom - top) if bottom > top and right > left else None

    def preview_region(self, max_pixels: int) -> Rect | None:
        """The part of the slide on screen that a training preview predicts: None where there is
        no slide or the view holds more than ``max_pixels``."""
        rect = self.view_rect()
        return rect if rect is not None and rect.width * rect.height <= max_pixels else None

    def show_preview(self, path: Path, rect: Rect, classes: np.ndarray) -> None:
        """A training preview of ``rect`` of the slide ``path``: drawn in place of the
        prediction until the trained model's own arrives (held in memory, never written)."""
        slide = self._shown
        if slide is None or slide.path != path or classes.shape != (rect.height, rect.width):
            return
        preview = ChunkedMask.planned(Path(tempfile.gettempdir()) / "seggui-preview.zarr", slide.shape)
        preview.write(rect.y, rect.x, classes)  # in memory: a planned mask writes nothing until saved
        self.preview_shown.emit(preview, rect)

    def _show(self, slide: LoadedSlide | None, output: SlideOutput | None) -> None:
        if slide is not self._shown:
            self._view = None  # the canvas says what of this one is on screen
        self._shown = slide
        if output is not self.output:
            self.output = output
            self._visited = set()
            self.output_shown.emit(output)

    def _on_slide_opened(self, slide: LoadedSlide) -> None:
        self._show(slide, None)
        self.predict_on_screen()

    def _on_training_changed(self, training: bool) -> None:
        """Training ended: the model's own prediction is drawn again in place of the last
        preview (or nothing, until the new model's comes), and what is on screen is predicted."""
        if not training:
            self.output_shown.emit(self.output)
            self.predict_on_screen()

    def _on_model_changed(self) -> None:
        self._show(self._shown, None)
        self.predict_on_screen()

    def _folder(self, slide: LoadedSlide) -> Path | None:
        project = self.app.project
        if project is None:
            return None
        return prediction_folder(project.predictions_dir, slide.mask_path.stem)

    def predict_on_screen(self) -> None:
        """Predict the windows of the slide on screen that are not predicted yet, nearest the
        centre first, unless training runs (its previews show instead) or the view spans more
        than ``ON_SCREEN_WINDOWS``."""
        slide, checkpoint = self._shown, self.service.checkpoint
        folder = self._folder(slide) if slide is not None else None
        if slide is None or folder is None or checkpoint is None or self.models.training:
            return
        if self._running:
            self._again = True  # when this run ends
            return
        self._running, self._again = True, False
        generation = self.service.generation
        self._say_if_too_wide()

        def stale() -> bool:
            return generation != self.service.generation or self._shown is not slide or self.models.training

        def work(report: Callable[[object], None]) -> None:
            if stale():
                return
            output = self._output_for(generation, checkpoint, slide.reader, folder)
            report(output)
            self._predict(
                generation, checkpoint, slide.path, slide.reader, output, report, stale, whole=False
            )

        self.service.jobs.submit(
            work,
            lambda _: self._on_run_ended(),
            lambda error: self._on_run_ended(f"Cannot predict {slide.path.name}: {error}"),
            on_progress=lambda item: self._on_report(item, slide),
        )

    def _say_if_too_wide(self) -> None:
        output, view = self.output, self._view
        if output is None or view is None:
            return
        spanned = _spanned(output, view)
        left = len(output.starts) - len(output.done())
        if spanned > ON_SCREEN_WINDOWS and left:
            self.models.set_status(
                f"The view spans {spanned} regions of the slide: zoom in to predict what is on screen, "
                f"or Predict All for the whole slide ({left} regions not predicted yet)"
            )

    def _on_run_ended(self, message: str | None = None) -> None:
        self._running = False
        if message is not None:
            self.app.report(message)
            self.models.set_status(message)
        elif self._again:
            self.predict_on_screen()

    def _on_report(self, item: object, slide: LoadedSlide) -> None:
        if isinstance(item, SlideWindowPredicted):
            self._on_window(item)
        elif isinstance(item, str):  # a window that could not be read (a damaged tile): named
            self.app.report(item)
        elif slide is self._shown:  # the output opened for the slide on screen
            self._show(slide, item)  # type: ignore[arg-type]
            self._say_if_too_wide()

    def _on_window(self, item: SlideWindowPredicted) -> None:
        if self._shown is not None and item.image == self._shown.path and self.output is None:
            self._show(self._shown, item.output)  # Predict All reached the slide on screen first
        if item.output is self.output:
            self.window_predicted.emit(item)
        self.models.set_status(f"Predicted {item.done} of {item.total} regions of {item.image.name}")

    # -- on the model thread -------------------------------------------------------------------------
    def _output_for(
        self, generation: int, checkpoint: Checkpoint, reader: SlideReader, folder: Path
    ) -> SlideOutput:
        """The one open output of ``folder`` by this model (begun anew where another model's is)."""
        from model.prediction.predict_slide import open_output

        with self._lock:
            fingerprint = self._fingerprints.get(generation)
            if fingerprint is None:
                fingerprint = self._fingerprints[generation] = checkpoint.fingerprint()
            output = self._outputs.get((generation, folder))
            if output is None:
                output = open_output(
                    reader, folder, model_id=fingerprint, window=SLIDE_WINDOW, replace_other=True
                )
                self._outputs = {k: v for k, v in self._outputs.items() if k[0] == generation}
                self._fingerprints = {generation: fingerprint}
                self._outputs[(generation, folder)] = output
            return output

    def _predict(
        self,
        generation: int,
        checkpoint: Checkpoint,
        image: Path,
        reader: SlideReader,
        output: SlideOutput,
        report: Callable[[object], None],
        should_stop: Callable[[], bool],
        *,
        whole: bool,
    ) -> None:
        """Predict ``output``'s windows: those on screen (``whole`` False), or all of them, those
        on screen first when this slide is on screen."""
        from model.prediction.predict_slide import predict_slide

        chosen: list[tuple[int, int]] = []

        def next_window(remaining: list[tuple[int, int]]) -> tuple[int, int] | None:
            picked = self._pick(image, output, remaining, whole)
            if picked is not None:
                chosen.append(picked)
            return picked

        def progressed(done: int, total: int) -> None:
            top, left = chosen[-1]
            report(SlideWindowPredicted(image, output, top, left, done, total))

        if output.replaced:  # told once, by the first prediction into it
            report(output.replaced)
            output.replaced = None
        predictor = self.service.predictors_for(generation, checkpoint)[0]
        predict_slide(
            predictor,
            reader,
            output,
            next_window=next_window,
            on_progress=progressed,
            should_stop=should_stop,
            on_problem=report,
        )

    def _pick(
        self, image: Path, output: SlideOutput, remaining: list[tuple[int, int]], whole: bool
    ) -> tuple[int, int] | None:
        """The window to predict next: on screen and nearest its centre; then, for the whole
        slide, the rest nearest the view (in reading order for a slide not on screen)."""
        shown, view = self._shown, self._view
        on_screen = shown is not None and shown.path == image and view is not None
        if not on_screen:
            return remaining[0] if whole else None
        assert view is not None
        size = output.window
        visible = [start for start in remaining if _overlaps(start, size, view)]
        if whole:
            return _nearest(visible or remaining, size, view)
        if not visible or _spanned(output, view) > ON_SCREEN_WINDOWS:
            return None
        return _nearest(visible, size, view)

    def predict_slides(
        self,
        slides: list[Path],
        names: MaskNames,
        out_dir: Path,
        generation: int,
        checkpoint: Checkpoint,
        report: Callable[[object], None],
        should_stop: Callable[[], bool],
    ) -> tuple[dict[Path, float], list[str]]:
        """Predict All's part for slides (on the model thread): each slide whole, window by window;
        the mean uncertainty of each slide finished, and a message for each that failed."""
        from model.storage.slide import SlideReader, TileCache

        means: dict[Path, float] = {}
        problems: list[str] = []
        for path in slides:
            if should_stop():
                break
            shown = self._shown
            own = shown is None or shown.path != path
            try:
                cache = TileCache(self.app.memory_budget.share("slide tiles"))  # the budget's, as on screen
                reader = SlideReader(path, cache=cache) if own else shown.reader
            except (SegGUIError, OSError, ValueError) as exc:
                problems.append(f"{path}: cannot be read as a slide ({exc})")
                continue
            try:
                folder = prediction_folder(out_dir, names.key(path))
                output = self._output_for(generation, checkpoint, reader, folder)
                self._predict(generation, checkpoint, path, reader, output, report, should_stop, whole=True)
                summary = output.summary()
                if summary.complete:
                    means[path] = sum(summary.uncertainty.values()) / max(len(summary.uncertainty), 1)
            except (SegGUIError, OSError, ValueError) as exc:
                problems.append(f"{path}: cannot be predicted ({exc})")
            finally:
                if own:
                    reader.close()
        return means, problems

    # -- Next Most Uncertain ----------------------------------------------------------------------
    def next_uncertain_region(self) -> bool:
        """Show the region of the slide on screen the model is least sure of, of those predicted
        and not shown this way yet; False if no region of it is predicted."""
        output = self.output
        if output is None:
            return False
        summary = output.summary()
        ranked = [
            start for start in summary.most_uncertain(len(summary.uncertainty)) if start not in self._visited
        ]
        if not ranked:
            if not summary.uncertainty:
                return False
            self._visited = set()
            ranked = summary.most_uncertain(len(summary.uncertainty))
        top, left = ranked[0]
        self._visited.add((top, left))
        height, width = output.shape
        size = output.window
        rect = Rect(left, top, min(size, width - left), min(size, height - top))
        done, total = summary.windows_done, summary.windows_total
        where = "" if summary.complete else f" ({done} of {total} predicted so far)"
        score = summary.uncertainty[(top, left)]
        self.app.tell(
            f"Region at x {left:,}, y {top:,}: uncertainty {score:.3f}, the highest of the regions "
            f"not shown yet{where}",
            10000,
        )
        self.region_wanted.emit(rect)
        return True
