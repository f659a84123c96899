"""What a window has open: the project, the image on screen and its mask document, and the
memory budget its caches keep to. No widgets.

``AppState`` owns them and is the only one to announce their changes; controllers change them
through its methods, widgets and controllers follow its signals.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.classes import ClassInfo
from model.compute.memory_budget import MemoryBudget
from model.errors import SegGUIError
from model.storage.project import Project, save_project
from seggui.state.document import MaskDocument
from seggui.state.loaded_image import LoadedImage
from seggui.state.loaded_slide import LoadedSlide
from seggui.state.slide_document import SlideDocument


class AppState(QObject):
    """The open project, image and mask document, with a signal for each change."""

    project_opened = Signal(object)  # Project: another folder is open (no image on screen yet)
    image_opened = Signal(object)  # LoadedImage: another image (or the same again) is on screen
    slide_opened = Signal(object)  # LoadedSlide: a slide is on screen (``current`` is None then)
    classes_changed = Signal(object)  # tuple[ClassInfo, ...]: renamed, recoloured, added, removed
    train_settings_changed = Signal(object)  # dict: the project's training settings, as saved
    failed = Signal(str)  # something went wrong that the user must see
    noted = Signal(str, int)  # a passing message for the status bar, shown for so many ms
    memory_budget_changed = Signal(object)  # MemoryBudget: the caches' shares changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project: Project | None = None
        self._read_only = False
        self._current: LoadedImage | None = None
        self._slide: LoadedSlide | None = None
        self._document: MaskDocument | None = None
        self._memory_budget = MemoryBudget.from_setting(0)

    @property
    def memory_budget(self) -> MemoryBudget:
        """What the caches may keep (``model.compute.memory_budget``)."""
        return self._memory_budget

    def set_memory_budget(self, budget: MemoryBudget) -> None:
        if budget != self._memory_budget:
            self._memory_budget = budget
            self.memory_budget_changed.emit(budget)

    @property
    def project(self) -> Project | None:
        return self._project

    @property
    def read_only(self) -> bool:
        """The open folder is another window's: nothing of it is written from here."""
        return self._read_only

    @property
    def current(self) -> LoadedImage | None:
        """The image on screen, as read."""
        return self._current

    @property
    def slide(self) -> LoadedSlide | None:
        """The slide on screen, as opened (then ``current`` is None: no image is decoded whole)."""
        return self._slide

    @property
    def shown_path(self) -> Path | None:
        """The image or slide on screen."""
        shown = self._current or self._slide
        return shown.path if shown is not None else None

    @property
    def shown_channels(self) -> int | None:
        """The channels of the image or slide on screen (None: nothing is)."""
        if self._current is not None:
            raw = self._current.raw
            return 1 if raw.ndim == 2 else int(raw.shape[2])
        return self._slide.reader.channels if self._slide is not None else None

    @property
    def document(self) -> MaskDocument | None:
        """The mask of the image on screen, as painted."""
        return self._document

    @property
    def classes(self) -> tuple[ClassInfo, ...]:
        return self._project.classes if self._project is not None else ()

    def is_current(self, image: Path) -> bool:
        """Whether ``image`` is on screen (as an image or a slide)."""
        return self.shown_path == image

    # -- changes ---------------------------------------------------------------------------------
    def open_project(self, project: Project, *, read_only: bool) -> None:
        """Another folder is open; nothing of the last one stays on screen."""
        self._project, self._read_only = project, read_only
        self._current, self._slide, self._document = None, None, None
        self.project_opened.emit(project)

    def show_image(self, loaded: LoadedImage, document: MaskDocument) -> None:
        """``loaded`` is on screen, painted into ``document``."""
        if self._project is None:
            raise ValueError("no folder is open")
        if document.shape != loaded.mask.shape:
            raise ValueError(f"a {document.shape} mask document for a {loaded.mask.shape} image")
        self._current, self._slide, self._document = loaded, None, document
        self.image_opened.emit(loaded)

    def show_slide(self, slide: LoadedSlide, document: SlideDocument) -> None:
        """``slide`` is on screen, painted into ``document`` (its chunked mask)."""
        if self._project is None:
            raise ValueError("no folder is open")
        if document.chunked is not slide.mask:
            raise ValueError("a slide is painted into its own chunked mask")
        self._current, self._slide, self._document = None, slide, document
        self.slide_opened.emit(slide)

    def update_project(self, project: Project) -> bool:
        """Save ``project`` (same folder, new settings) and use it; False, with the error
        reported, if it could not be saved. In a read-only folder it is used, not saved."""
        if self._project is None or project.folder != self._project.folder:
            raise ValueError("update_project keeps the folder; open another with open_project")
        if not self._read_only:
            try:
                save_project(project)
            except SegGUIError as exc:
                self.report(str(exc))
                return False
        before = self._project
        self._project = project
        if project.classes != before.classes:
            self.classes_changed.emit(project.classes)
        if project.train_settings != before.train_settings:
            self.train_settings_changed.emit(dict(project.train_settings))
        return True

    def set_classes(self, classes: tuple[ClassInfo, ...] | list[ClassInfo]) -> bool:
        """Rename, recolour or add classes; saved to the project file at once."""
        if self._project is None:
            return False
        return self.update_project(self._project.with_classes(list(classes)))

    def update_train_settings(self, settings: dict[str, object]) -> bool:
        """Merge ``settings`` into the project's training settings and save them."""
        if self._project is None:
            return False
        merged = {**self._project.train_settings, **settings}
        if merged == self._project.train_settings:
            return True
        return self.update_project(dataclasses.replace(self._project, train_settings=merged))

    def report(self, message: str) -> None:
        """Show an error the user must see."""
        self.failed.emit(message)

    def tell(self, message: str, ms: int = 5000) -> None:
        """Show a passing message in the status bar."""
        self.noted.emit(message, ms)
