"""What a window has open, in one place: the project, the image and its mask. No widgets.

The controllers (the model loop, label transfer) read it and listen to its signals instead of
reaching into the main window, and ask for what only the window can do (open an image, show a
message, ask a question) through it; the main window builds the parts and wires them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from model.errors import SegGUIError
from model.storage.project import Project, save_project

if TYPE_CHECKING:
    from seggui.document import MaskDocument
    from seggui.loading import LoadedImage


class AppState(QObject):
    """The open project, image and mask document, with a signal for each change."""

    project_opened = Signal(object)  # Project: another folder is open
    image_opened = Signal(object)  # LoadedImage: another image (or the same again) is on screen
    classes_changed = Signal(object)  # tuple[ClassInfo, ...]: renamed, recoloured, added, removed
    error = Signal(str)  # something went wrong that the user must see
    note = Signal(str, int)  # a passing message for the status bar, shown for so many ms
    open_image_requested = Signal(object)  # Path: a controller wants this image on screen
    classes_requested = Signal(object)  # tuple[ClassInfo, ...]: a controller wants these classes
    rescan_requested = Signal()  # files changed on disk: list the folder again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.read_only = False
        """The open folder is another window's: nothing of it is written from here."""
        self.current: LoadedImage | None = None
        self.document: MaskDocument | None = None
        self.ask: Callable[[str, str], bool] = lambda title, text: False
        """Asks the user a yes/no question (set by the window, which owns the dialogs)."""

    def is_current(self, image: Path) -> bool:
        return self.current is not None and self.current.path == image

    def update_project(self, project: Project) -> bool:
        """Save ``project`` (same folder, new settings) and use it; False, with the error
        reported, if it could not be saved. In a read-only folder it is used, not saved."""
        if self.read_only:
            self.project = project
            return True
        try:
            save_project(project)
        except SegGUIError as exc:
            self.error.emit(str(exc))
            return False
        self.project = project
        return True

    def report(self, message: str) -> None:
        self.error.emit(message)

    def tell(self, message: str, ms: int = 5000) -> None:
        self.note.emit(message, ms)
