"""The main window: wiring of project, browser, canvas, tools, undo and the mask store."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
)

from model.errors import SegGUIError
from model.storage.folder_lock import LockOwner
from model.storage.project import Project, save_project
from model.storage.tiff_files import AxesUnsettled
from seggui.app import ICON
from seggui.app_state import AppState
from seggui.axes_dialog import ask_axes
from seggui.browser import BrowserPanel, Status
from seggui.canvas.layers import FILL, HATCH, STYLES
from seggui.canvas.tools import TOOLS
from seggui.canvas.view import CanvasView
from seggui.channel_display import ChannelDisplay, CompositeRenderer
from seggui.channel_panel import channel_dock
from seggui.class_panel import ClassPanel
from seggui.editing_controls import EditingControls
from seggui.editor import MaskEditor
from seggui.folder_claim import ask_about_lock
from seggui.image_session import ImageSession
from seggui.jobs import Jobs
from seggui.mask_store import MaskStore
from seggui.model_loop import ModelLoop
from seggui.plane_bar import PlaneBar, under_canvas
from seggui.transfer import LabelTransfer
from seggui.window_ui import WindowUi

log = logging.getLogger(__name__)


PREFERRED_SIZE = (1400, 900)


def window_size(available: QSize) -> tuple[int, int]:
    """The first size of the window: 1400 x 900, or what the screen has room for (a 1366 x 768
    laptop screen less its task bar)."""
    return min(PREFERRED_SIZE[0], available.width()), min(PREFERRED_SIZE[1], available.height())


class MainWindow(WindowUi, EditingControls, QMainWindow):
    """SegGUI's window. ``open_folder`` and ``open_image`` are asynchronous; signals tell when done.

    It builds the parts and wires them; what is open lives in ``state`` (``AppState``).
    """

    project = property(lambda self: self.state.project, lambda self, v: setattr(self.state, "project", v))
    current = property(lambda self: self.state.current, lambda self, v: setattr(self.state, "current", v))
    document = property(lambda self: self.state.document, lambda self, v: setattr(self.state, "document", v))

    folder_opened = Signal(object)
    image_opened = Signal(object)
    image_failed = Signal(object, str)
    classes_changed = Signal(object)

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("SegGUI", "SegGUI")
        self.state = AppState(self)
        self.state.ask = lambda title, text: self.confirm(title, text)  # late: tests replace confirm
        self.state.error.connect(self._error)
        self.state.note.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.state.open_image_requested.connect(self.open_image)
        self.state.classes_requested.connect(self.set_classes)
        self.state.rescan_requested.connect(self.rescan)
        self._pointer: tuple[int, int] | None = None  # image pixel under the pointer
        self.jobs = Jobs("window", 2, self)  # folder scans, image loads, display windows

        self.canvas = CanvasView(self)
        self.plane_bar = PlaneBar(self)
        self.setCentralWidget(under_canvas(self.canvas, self.plane_bar))
        self.plane_bar.plane_chosen.connect(self.open_image)
        self.state.image_opened.connect(lambda loaded: self.plane_bar.show_image(loaded.path, loaded.planes))
        self.browser = BrowserPanel(self)
        dock = QDockWidget("Images", self)
        dock.setObjectName("images")
        dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.class_panel = ClassPanel(self)
        class_dock = QDockWidget("Classes", self)
        class_dock.setObjectName("classes")
        class_dock.setWidget(self.class_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, class_dock)
        self.class_panel.class_picked.connect(self.set_class)
        self.class_panel.classes_edited.connect(self.set_classes)
        self.class_panel.visibility_changed.connect(self.set_hidden_classes)
        self.class_panel.removal_requested.connect(self.remove_class)

        self.display = ChannelDisplay(self)
        raw = lambda: self.current.raw if self.current else None  # noqa: E731
        self.renderer = CompositeRenderer(
            self.display, raw, self.canvas.image_layer.set_image, self.jobs, self
        )
        self.renderer.failed.connect(self._error)
        self.channel_dock = channel_dock(self.display, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.channel_dock)
        self.resizeDocks([dock, class_dock, self.channel_dock], [3, 2, 5], Qt.Orientation.Vertical)

        self.editor = MaskEditor(tuple(Project(Path()).classes), self)
        self.store = MaskStore(self)
        self.session = ImageSession(
            self.state,
            store=self.store,
            editor=self.editor,
            canvas=self.canvas,
            browser=self.browser,
            jobs=self.jobs,
            display=self.display,
            ask_about_lock=lambda folder, owner: self.ask_about_lock(folder, owner),  # late: tests replace it
            ask_axes=lambda unsettled, current: self.ask_axes(unsettled, current),  # late: tests replace it
            parent=self,
        )
        self.recent_documents = self.session.recent_documents
        self.thumbnails = self.session.thumbnails
        self.session.folder_claimed.connect(self._on_folder_claimed)
        self.session.folder_opened.connect(self.folder_opened)
        self.session.image_opened.connect(self.image_opened)
        self.session.image_failed.connect(self.image_failed)
        self.state.project_opened.connect(self._show_project)  # before the model loop's turn

        self.tools = {info.name: info.make(self.editor) for info in TOOLS}
        self._build_status_bar()
        self._build_actions()
        # What follows the classes (the model loop subscribes on its own).
        for follows in (self.store.set_classes, self.editor.set_classes, self.canvas.mask_layer.set_classes):
            self.state.classes_changed.connect(follows)
        self.state.classes_changed.connect(
            lambda classes: self.class_panel.set_classes(classes, self.editor.current_class)
        )
        self.state.classes_changed.connect(self.classes_changed)
        self.model_loop = ModelLoop(
            self.state,
            prediction_layer=self.canvas.prediction_layer,
            uncertainty_layer=self.canvas.uncertainty_layer,
            image_list=self.browser.model,
            store=self.store,
            editor=self.editor,
            parent=self,
        )
        self.addActions(list(self.model_loop.actions.values()))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_loop.dock)
        self.transfer = LabelTransfer(
            self.state, dialog_parent=self, image_list=self.browser.model, store=self.store, jobs=self.jobs
        )
        self.addActions(
            [self.transfer.export_action, self.transfer.import_action, self.transfer.classes_action]
        )
        self.statusBar().addPermanentWidget(self.transfer.progress)
        self._build_toolbar()
        self._build_menus()
        for layer, default in (("mask", FILL), ("prediction", HATCH)):
            chosen = str(self.settings.value(f"display/{layer}_style", default))
            self.set_label_style(layer, chosen if chosen in STYLES else default)
        self.set_tool("brush")

        self.editor.region_changed.connect(self.canvas.mask_layer.refresh)
        self.editor.edited.connect(self.store.edited)
        self.store.saved.connect(self._on_mask_saved)
        self.store.status_changed.connect(self._show_save_status)
        self.canvas.cursor_moved.connect(self._on_canvas_cursor_moved)
        self.canvas.cursor_left.connect(self._on_canvas_cursor_left)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{100 * z:.0f}%"))
        self.browser.image_chosen.connect(self.session.open_if_other)
        self.setWindowTitle("SegGUI")
        self.setWindowIcon(QIcon(str(ICON)))
        self.resize(*window_size(self.screen().availableGeometry().size()))

    # -- folders and images (seggui.image_session) ---------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        """Open the project in ``folder``; the list fills in when the background scan ends."""
        self.session.open_folder(folder)

    def open_image(self, path: Path) -> None:
        """Save the current mask, then load ``path`` off the GUI thread."""
        self.session.open_image(path)

    def step_image(self, delta: int) -> None:
        """Open the image ``delta`` rows on, passing over unreadable ones."""
        self.session.step_image(delta)

    def rescan(self) -> None:
        """List the folder again and reload the image on screen."""
        self.session.rescan()

    def ask_about_lock(self, folder: Path, owner: LockOwner) -> str | None:
        """What to do with a folder another window edits (``folder_claim.ask_about_lock``)."""
        return ask_about_lock(self, folder, owner)

    def ask_axes(self, unsettled: AxesUnsettled, current: str | None) -> str | None:
        """How to read a TIFF shape its metadata does not explain (``axes_dialog.ask_axes``)."""
        return ask_axes(self, unsettled, current)

    def _on_folder_claimed(self, folder: Path, read_only: bool) -> None:
        self._remember_recent(folder)
        self.setWindowTitle(f"SegGUI - {folder}" + (" (read-only)" if read_only else ""))

    def _show_project(self, project: Project) -> None:
        """A folder opened: its classes and eraser mode on the tools and lists."""
        self.editor.set_classes(project.classes)
        self.erase_to_background_action.setChecked(project.eraser_mode == "background")
        self.editor.erase_to_background = project.eraser_mode == "background"
        self.class_panel.set_classes(project.classes, self.editor.current_class)
        self.canvas.mask_layer.set_classes(project.classes)

    # -- saving ---------------------------------------------------------------------------------
    def _on_mask_saved(self, image: Path, labelled: Status) -> None:
        self.browser.model.update(image, labelled)

    def _show_save_status(self, text: str, warning: bool, detail: str) -> None:
        self.save_label.setStyleSheet("color: #e6194b; font-weight: bold" if warning else "")
        self.save_label.setText(text)
        self.save_label.setToolTip(detail)

    def closeEvent(self, event: QCloseEvent) -> None:
        errors = self.store.flush()
        if errors:
            answer = QMessageBox.critical(
                self,
                "Masks not saved",
                "\n".join(errors) + "\n\nThe window stays open so nothing is lost. Make the folder "
                "writable or free some disk space, then close again.",
                QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Discard,
            )
            if answer != QMessageBox.StandardButton.Discard:
                event.ignore()
                return
        self.store.shutdown()
        self.session.close()
        self.model_loop.shutdown()
        self.jobs.wait(5000)
        if self.project is not None and not self.state.read_only and not self.project.file.exists():
            try:
                save_project(self.project)
            except SegGUIError as exc:
                log.warning("%s", exc)
        super().closeEvent(event)

    # -- misc -----------------------------------------------------------------------------------
    def _error(self, message: str) -> None:
        log.warning("%s", message)
        self.statusBar().showMessage(message, 15000)
