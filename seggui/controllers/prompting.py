"""Click and box prompts in the window: the prompt model loaded and the image on screen encoded
on worker threads (the next image in the list too, while the user works), each prompt decoded
into a proposal drawn over the image, and the proposal painted into the mask on Enter as one
undoable, journalled edit. The GUI thread never waits on ONNX Runtime or the disk."""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from model.composite import ChannelView, composite
from model.errors import SegGUIError
from model.labels.polygons import mask_to_polygons
from model.prompts.catalogue import DEFAULT_MODEL, is_cached, model_info
from model.prompts.embeddings import EmbeddingCache
from model.prompts.headless import CACHE_FOLDER
from model.prompts.prompter import (
    EXCLUDE,
    INCLUDE,
    WINDOW,
    Prompter,
    PromptModel,
    Prompts,
    Window,
    prompt_window,
)
from model.storage.slide import SlideReader, opens_as_slide
from model.storage.tiff_files import split_plane
from seggui.controllers.editor import MaskEditor
from seggui.controllers.image_session import ImageSession
from seggui.controllers.jobs import Jobs
from seggui.controllers.loading import load_image
from seggui.controllers.next_object import NextUncertainObject
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.document import Rect
from seggui.state.image_list import ImageListModel
from seggui.state.model_state import ModelState
from seggui.state.tool_state import ToolState

log = logging.getLogger(__name__)

PROMPT_TOOL = "prompt"
WARM_UP_MS = 3000
MODEL_SETTING = "prompts/model"
READY = "Ready for prompts: click an object, shift+click to leave a part out, or drag a box"


@dataclass(frozen=True)
class Proposal:
    """An object proposed by the prompts so far, not yet a label: ``mask`` covers ``window``."""

    window: Window
    mask: np.ndarray
    prompts: Prompts

    @property
    def rect(self) -> Rect:
        return Rect(self.window.x, self.window.y, self.window.width, self.window.height)


@dataclass(frozen=True)
class _Source:
    """What prompts are made on: the image on screen (or a slide's reader) and its views."""

    path: Path
    shape: tuple[int, int]
    raw: np.ndarray | None
    reader: SlideReader | None
    views: tuple[ChannelView, ...]

    def pixels(self, window: Window) -> np.ndarray:
        """The window as the user sees it (H x W x 3 uint8); runs on a worker."""
        if self.reader is not None:
            raw = self.reader.read_region(0, window.y, window.x, window.height, window.width)
        else:
            assert self.raw is not None
            raw = self.raw[window.y : window.y + window.height, window.x : window.x + window.width]
        return composite(raw, self.views)


class PromptController(QObject):
    """The prompts of one window: the chosen model, the current proposal and its prompts."""

    proposal_changed = Signal(object)  # Proposal, or None when there is none
    prompts_changed = Signal(object)  # Prompts of the proposal being made (the canvas marks them)
    weights_needed = Signal(str)  # the chosen model is not downloaded: the window asks first
    model_changed = Signal(str)  # another prompt model is chosen (its osam name)

    def __init__(
        self,
        app: AppState,
        tools: ToolState,
        editor: MaskEditor,
        display: ChannelDisplay,
        *,
        session: ImageSession,
        image_list: ImageListModel,
        settings: QSettings,
        models: ModelState,
    ) -> None:
        super().__init__(app)
        self.app, self.tools, self.editor, self.display = app, tools, editor, display
        self.session, self.image_list, self.settings = session, image_list, settings
        chosen = str(settings.value(MODEL_SETTING, DEFAULT_MODEL))
        self.model_name = chosen if _known(chosen) else DEFAULT_MODEL
        self.jobs = Jobs("prompts", 2, self)  # one encodes (or loads the model), one decodes
        self._hint: str | None = None  # said instead of READY once the image is prepared
        self.objects = NextUncertainObject(app, models, editor, tools, self.jobs, self.tell_when_ready)
        QTimer.singleShot(WARM_UP_MS, self._warm_up)
        self.prompts = Prompts()
        self.proposal: Proposal | None = None
        self.encode_seconds: float | None = None
        """How long the last encoding took (the status's estimate for the next)."""
        self._model: PromptModel | None = None
        self._cache = EmbeddingCache()
        self._source: _Source | None = None
        self._window: Window | None = None
        self._embedding: object | None = None
        self._waiting = False  # prompts wait for the embedding
        self._checked = False  # the chosen model's weights were found in the cache
        tools.tool_changed.connect(self._on_tool_changed)
        app.project_opened.connect(self._on_project_opened)
        app.image_opened.connect(lambda _: self._on_image_changed())
        app.slide_opened.connect(lambda _: self._on_image_changed())
        display.views_changed.connect(lambda _: self._on_image_changed())

    def _warm_up(self) -> None:
        """Import osam and ONNX Runtime on a worker a little after the window starts, so that
        neither the first press of O nor the Prompt Model menu waits for the import."""
        self.jobs.submit(lambda: importlib.import_module("osam.apis"), lambda _: None, self._on_failed)

    # -- the model ------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.tools.tool == PROMPT_TOOL

    def set_model(self, name: str) -> None:
        """Prompt with ``name`` from now on (kept for the next start)."""
        if name == self.model_name:
            return
        self.model_name = name
        self.settings.setValue(MODEL_SETTING, name)
        self._model = None
        self._checked = False
        self.drop()
        self._forget_embedding()
        self.model_changed.emit(name)
        if self.active:
            self.prepare()

    def prepare(self) -> None:
        """Get ready for prompts on the image on screen: ask for the weights if they are not
        here, load the model and encode the image (a small one whole; a large one or a slide
        waits for the first prompt, whose window it encodes). Whether the weights are here is
        asked on a worker: the first asking imports osam and ONNX Runtime (0.4 s)."""
        name = self.model_name
        self.jobs.submit(
            lambda: is_cached(name), lambda cached: self._on_checked(name, cached), self._on_failed
        )

    def _on_checked(self, name: str, cached: bool) -> None:
        if name != self.model_name or not self.active:
            return
        self._checked = cached
        if not cached:
            self.weights_needed.emit(name)
            return
        source = self._current_source()
        if source is None:
            return
        self._source = source
        fits = source.shape[0] <= WINDOW and source.shape[1] <= WINDOW
        if fits and self._embedding is None and self.prompts.empty:
            self._encode(prompt_window(source.shape, 0, 0))

    def _ensure_model(self) -> PromptModel:
        """The loaded model (loaded on the calling worker thread the first time)."""
        model = self._model
        if model is None or model.name != self.model_name:
            model = PromptModel(self.model_name)
            self._model = model
        return model

    # -- prompts ----------------------------------------------------------------------------------
    def add_point(self, x: float, y: float, include: bool = True) -> None:
        """A click inside the object (``include``), or on a part to leave out (shift+click)."""
        if not self._ready_for(x, y):
            return
        self.prompts.points.append((float(x), float(y)))
        self.prompts.labels.append(INCLUDE if include else EXCLUDE)
        self._prompted()

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box dragged around the object (replaces an earlier box of the proposal)."""
        if not self._ready_for((x0 + x1) / 2, (y0 + y1) / 2):
            return
        self.prompts.box = (float(x0), float(y0), float(x1), float(y1))
        self._prompted()

    def _ready_for(self, x: float, y: float) -> bool:
        source = self._source or self._current_source()
        if source is None or self.editor.read_only:
            return False
        if not (0 <= x < source.shape[1] and 0 <= y < source.shape[0]):
            return False
        if not self._checked:  # the weights' check (or download) has not come back yet
            self.prepare()
            return False
        self._source = source
        if self.prompts.empty:
            window = prompt_window(source.shape, x, y)
            if window != self._window:
                self._forget_embedding()
                self._encode(window)
        elif self._window is not None and not self._window.contains(x, y):
            self.app.tell(
                "That is outside the part of the image this object's prompts see "
                f"({WINDOW} x {WINDOW} pixels): press Enter to keep the object or Esc to drop it first",
                8000,
            )
            return False
        return True

    def _prompted(self) -> None:
        self.prompts_changed.emit(self.prompts)
        if self._embedding is None:
            self._waiting = True  # decoded when the embedding arrives
            return
        self._decode()

    def accept(self) -> bool:
        """Paint the proposal into the mask in the current class, as one undoable edit (Paint
        Only Unlabelled Pixels holds); False if there is none or nothing changed."""
        proposal = self.proposal
        if proposal is None:
            return False
        changed = self.editor.paint_where(proposal.rect, proposal.mask, self.tools.class_index, "prompt")
        self.drop()
        return changed

    def drop(self) -> None:
        """Forget the proposal and its prompts (Esc)."""
        self.jobs.stale("decode")
        self._waiting = False
        had = self.proposal is not None or not self.prompts.empty
        self.prompts = Prompts()
        self.proposal = None
        if had:
            self.prompts_changed.emit(self.prompts)
            self.proposal_changed.emit(None)

    def outline(self) -> list[tuple[float, float]]:
        """The proposal's outline as polygon points in image coordinates (its largest part), for
        correcting with the polygon tool; empty without a proposal."""
        if self.proposal is None or not self.proposal.mask.any():
            return []
        polygons = mask_to_polygons(self.proposal.mask)
        if not polygons:
            return []
        largest = max(polygons, key=len)
        window = self.proposal.window
        return [(float(x) + window.x, float(y) + window.y) for x, y in largest]

    # -- work on the workers ------------------------------------------------------------------
    def _encode(self, window: Window) -> None:
        source, name = self._source, self.model_name
        assert source is not None
        self._window = window
        estimate = f" ({self.encode_seconds:.0f} s)" if self.encode_seconds else ""
        self.app.tell(f"Preparing the image for prompts{estimate}...", 120_000)

        def work():
            start = time.perf_counter()
            prompter = Prompter(self._ensure_model(), self._cache)
            embedding = prompter.embedding(source.pixels(window))
            return embedding, time.perf_counter() - start, name

        self.jobs.submit(
            work,
            lambda result: self._on_encoded(source, window, result),
            self._on_failed,
            key="encode",
        )

    def _on_encoded(self, source: _Source, window: Window, result) -> None:
        embedding, seconds, name = result
        if source is not self._source or window != self._window or name != self.model_name:
            return
        if seconds > 0.2:  # an encoding, not a cache hit
            self.encode_seconds = seconds
        self._embedding = embedding
        hint, self._hint = self._hint, None
        self.app.tell(hint or READY, 15000 if hint else 5000)
        if self._waiting:
            self._waiting = False
            self._decode()
        self._prefetch_next()

    def tell_when_ready(self, text: str) -> None:
        """Say ``text`` now, or instead of "Ready for prompts" once the image is prepared (so
        that the readiness does not replace it)."""
        if self.active and self._embedding is None:
            self._hint = text
        else:
            self.app.tell(text, 15000)

    def _decode(self) -> None:
        window, embedding = self._window, self._embedding
        assert window is not None and embedding is not None and self._model is not None
        model, prompts = (
            self._model,
            replace(self.prompts, points=list(self.prompts.points), labels=list(self.prompts.labels)),
        )
        self.jobs.submit(
            lambda: Prompter(model, self._cache).proposal(embedding, window, prompts),
            lambda mask: self._on_decoded(window, prompts, mask),
            self._on_failed,
            key="decode",
        )

    def _on_decoded(self, window: Window, prompts: Prompts, mask: np.ndarray) -> None:
        if window != self._window or self.prompts.empty:
            return
        self.proposal = Proposal(window, mask, prompts)
        self.proposal_changed.emit(self.proposal)

    def _on_failed(self, error: BaseException) -> None:
        self._waiting = False
        self._forget_embedding()
        message = str(error) if isinstance(error, SegGUIError) else f"Prompts failed: {error}"
        self.app.report(message)

    def _prefetch_next(self) -> None:
        """Encode the next image of the list while the user works on this one, so that Page
        Down finds it ready (images that fit the model's window; not slides)."""
        current = self.app.current
        project = self.app.project
        if current is None or project is None:
            return
        row = self.image_list.row_of(current.path)
        if row is None or row + 1 >= self.image_list.rowCount():
            return
        following = self.image_list.record(row + 1).path
        source, _plane = split_plane(following)
        if opens_as_slide(source):
            return
        mask_path, classes = self.session.mask_path(following), self.app.classes
        axes, views = self.session.image_axes, self.display.views

        def work():
            loaded = load_image(following, mask_path, classes, axes, views)
            height, width = loaded.raw.shape[:2]
            if height > WINDOW or width > WINDOW:
                return None
            return Prompter(self._ensure_model(), self._cache).embedding(composite(loaded.raw, loaded.views))

        self.jobs.submit(
            work, lambda _: None, lambda error: log.info("not prefetched: %s", error), key="prefetch"
        )

    # -- following the window ---------------------------------------------------------------------
    def _current_source(self) -> _Source | None:
        current, slide = self.app.current, self.app.slide
        views = self.display.views
        if current is not None:
            return _Source(current.path, current.mask.shape, current.raw, None, views)
        if slide is not None:
            return _Source(slide.path, slide.shape, None, slide.reader, views)
        return None

    def _forget_embedding(self) -> None:
        self.jobs.stale("encode")
        self._embedding = None
        self._window = None

    def _on_tool_changed(self, name: str) -> None:
        if name == PROMPT_TOOL:
            self.prepare()
        else:
            self.drop()

    def _on_project_opened(self, project) -> None:
        self.drop()
        self._forget_embedding()
        self._source = None
        folder = None if self.app.read_only else project.folder / CACHE_FOLDER
        self._cache = EmbeddingCache(folder)

    def _on_image_changed(self) -> None:
        self.drop()
        self._forget_embedding()
        self._source = None
        if self.active:
            self.prepare()

    def shutdown(self) -> None:
        self.jobs.clear()
        self.jobs.wait(5000)


def _known(name: str) -> bool:
    try:
        model_info(name)
    except SegGUIError:
        return False
    return True
