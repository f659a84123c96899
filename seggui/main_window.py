"""The main window: wiring of project, browser, canvas, tools, undo and the mask store."""

from __future__ import annotations

import dataclasses
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
from model.folder_lock import FolderLock, LockOwner
from model.mask_names import MaskNames
from model.project import Project, load_project, save_project
from seggui.app import ICON
from seggui.app_state import AppState
from seggui.browser import BrowserPanel, Status, scan_project
from seggui.canvas.layers import FILL, HATCH, STYLES
from seggui.canvas.tools import TOOLS
from seggui.canvas.view import CanvasView
from seggui.class_panel import ClassPanel
from seggui.document import MaskDocument
from seggui.editing_controls import EditingControls
from seggui.editor import MaskEditor
from seggui.folder_claim import FREE, OWN, READ_ONLY, ask_about_lock
from seggui.jobs import Jobs
from seggui.loading import LoadedImage, open_image_file
from seggui.mask_store import MaskStore
from seggui.model_loop import ModelLoop
from seggui.recent_documents import RecentDocuments
from seggui.thumbnails import ThumbnailLoader
from seggui.transfer import LabelTransfer
from seggui.window_ui import WindowUi

log = logging.getLogger(__name__)


PREFERRED_SIZE = (1400, 900)


def window_size(available: QSize) -> tuple[int, int]:
    """The first size of the window: 1400 x 900, or what the screen has room for (a 1366 x 768
    laptop screen less its task bar)."""
    return min(PREFERRED_SIZE[0], available.width()), min(PREFERRED_SIZE[1], available.height())


OPENING = "opening"
"""The jobs key of folder scans and image loads: only the last asked for is shown."""


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
        self.mask_names = MaskNames([])
        self.lock: FolderLock | None = None
        self._stepping = 0  # the direction of a Page Down/Up whose image is loading
        self._notice: str | None = None
        self._pointer: tuple[int, int] | None = None  # image pixel under the pointer
        self.jobs = Jobs("window", 2, self)  # folder scans, image loads, display windows

        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
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

        self.editor = MaskEditor(tuple(Project(Path()).classes), self)
        self.recent_documents = RecentDocuments(self.editor)
        self.thumbnails = ThumbnailLoader(self._mask_path, self)
        self.browser.model.use_thumbnails(self.thumbnails)
        self.store = MaskStore(self)

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
        self.browser.view.clicked.connect(lambda index: self._open_path(self.browser.path_at(index.row())))
        self.browser.view.activated.connect(lambda index: self._open_path(self.browser.path_at(index.row())))
        self.setWindowTitle("SegGUI")
        self.setWindowIcon(QIcon(str(ICON)))
        self.resize(*window_size(self.screen().availableGeometry().size()))

    # -- construction ---------------------------------------------------------------------------
    # -- folders and images -----------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        """Open the project in ``folder``; the list fills in when the background scan ends."""
        folder = Path(folder)
        try:
            project = load_project(folder)
        except SegGUIError as exc:
            self._error(str(exc))
            return
        claim = self._claim(folder)
        if claim is None:
            return
        read_only = claim == READ_ONLY
        for message in self.store.flush():
            self._error(f"{message} (the strokes stay in memory and are tried again)")
        if self.lock is not None and self.lock.path != FolderLock(folder).path:
            self.lock.release()
            self.lock = None
        if not read_only and self.lock is None:
            self.lock = FolderLock(folder)
            try:
                self.lock.acquire()
            except OSError as exc:  # a read-only folder: saves will fail with a message, too
                self._error(f"{folder}: cannot write the lock file ({exc.strerror or exc})")
        if self.document is not None:
            self.editor.forget_document(self.document)
        self.recent_documents.clear()
        self.current, self.document = None, None
        self.editor.set_document(None)
        self.project = project
        self.mask_names = MaskNames([])
        self.store.set_folder(folder, project.classes, read_only=read_only)
        self.editor.read_only = read_only
        self.thumbnails.clear()
        self.editor.set_classes(project.classes)
        self.erase_to_background_action.setChecked(project.eraser_mode == "background")
        self.editor.erase_to_background = project.eraser_mode == "background"
        self.class_panel.set_classes(project.classes, self.editor.current_class)
        self.canvas.mask_layer.set_classes(project.classes)
        self._remember_recent(folder)
        self.setWindowTitle(f"SegGUI - {folder}" + (" (read-only)" if read_only else ""))
        self.state.project_opened.emit(project)
        # Only a folder nobody else writes is recovered: another live window's journal and
        # temporary files are its own.
        self._scan(reopen=None, recover=claim == FREE)

    def _claim(self, folder: Path) -> str | None:
        """How ``folder`` opens: ``FREE`` (nobody else edits it), ``OWN`` (this window does
        already), ``READ_ONLY`` or ``TAKE_OVER`` (the user's answer, when another window edits
        it), or None to stay where we are."""
        if self.lock is not None and self.lock.path == FolderLock(folder).path:
            return OWN
        owner = FolderLock(folder).owner()
        if owner is None:
            return FREE
        return self.ask_about_lock(folder, owner)

    def ask_about_lock(self, folder: Path, owner: LockOwner) -> str | None:
        """What to do with a folder another window edits (``folder_claim.ask_about_lock``)."""
        return ask_about_lock(self, folder, owner)

    def _mask_path(self, image: Path) -> Path:
        assert self.project is not None
        return self.mask_names.mask_path(image, self.project.mask_dir)

    def rescan(self) -> None:
        """List the folder again (statuses may have changed on disk) and reload the image on screen."""
        self.thumbnails.clear()
        self._scan(reopen=self.current.path if self.current is not None else None)

    def _scan(self, reopen: Path | None, *, recover: bool = False) -> None:
        project = self.project
        assert project is not None
        self.jobs.submit(
            lambda: scan_project(project, recover),
            lambda result: self._on_scan_done(result, reopen),
            lambda error: self._error(str(error)),
            key=OPENING,  # a scan makes an image still loading stale, and the other way round
        )

    def _on_scan_done(self, result: object, reopen: Path | None = None) -> None:
        if self.project is None:
            return
        records, self.mask_names, messages = result  # type: ignore[misc]
        for message in messages:
            self._error(message)
        self._notice = " | ".join(messages) or None  # shown again once the first image is up
        self.browser.model.set_records(records)
        if reopen is None:
            self.folder_opened.emit(self.project.folder)
        if records:
            paths = [r.path for r in records]
            self.open_image(reopen if reopen in paths else records[0].path)

    def open_image(self, path: Path) -> None:
        """Save the current mask, then load ``path`` off the GUI thread."""
        if self.project is None:
            return
        self._stepping = 0  # set again by step_image
        self.store.save_current()
        if path in self.mask_names.refused:
            self.jobs.stale(OPENING)
            self._on_image_failed(path, f"{path}: {self.mask_names.refused[path]}")
            return
        mask_path, classes = self._mask_path(path), self.project.classes
        self.jobs.submit(
            lambda: open_image_file(path, mask_path, classes),
            self._on_image_loaded,
            lambda error: self._on_image_failed(path, str(error)),
            key=OPENING,
        )

    def _open_path(self, path: Path | None) -> None:
        if path is not None and (self.current is None or path != self.current.path):
            self.open_image(path)

    def _on_image_loaded(self, loaded: LoadedImage) -> None:
        if self.document is not None and self.current is not None:
            self.recent_documents.keep(self.current.path, self.document)  # with its undo history
        newest = self.store.newest_mask(loaded.path)  # opened again before its save ended
        if newest is not None and newest.shape == loaded.mask.shape:
            loaded = dataclasses.replace(loaded, mask=newest, mask_image=None, mask_problem=None)
        kept = None if loaded.mask_problem else self.recent_documents.reopen(loaded.path, loaded.mask)
        if kept is not None:  # the same pixels: undo goes on where it left off
            loaded = dataclasses.replace(loaded, mask=kept.mask)
        self.current = loaded
        self.document = kept or MaskDocument(loaded.mask)
        self.store.open(
            loaded.path,
            loaded.mask_path,
            self.document,
            loaded.mask_stamp,
            unusable=bool(loaded.mask_problem),
        )
        self.editor.set_document(self.document)
        self.editor.image = loaded.raw
        height, width = loaded.mask.shape
        self.canvas.image_layer.set_image(loaded.display)
        self.canvas.mask_layer.set_labels(loaded.mask, self.editor.classes, loaded.mask_image)
        self.canvas.set_scene_size(width, height)
        self.browser.select(loaded.path)
        if self._notice:
            self.statusBar().showMessage(self._notice, 30000)
            self._notice = None
        else:
            self.statusBar().showMessage(f"{loaded.path.name}  {width} x {height}", 5000)
        if loaded.mask_problem:
            self._error(
                f"{loaded.mask_problem}. The mask starts empty; the old file is kept until you paint."
            )
        self.state.image_opened.emit(loaded)
        self.image_opened.emit(loaded.path)

    def _on_image_failed(self, path: Path, message: str) -> None:
        """The image asked for last cannot be opened (older requests' results are dropped)."""
        self.browser.model.update(path, Status.UNREADABLE, message)
        stepping, self._stepping = self._stepping, 0
        self.statusBar().showMessage(f"{message} (skipped)" if stepping else message, 10000)
        self.image_failed.emit(path, message)
        if stepping:
            self.step_image(stepping)  # on past it, as Page Down/Up meant

    def step_image(self, delta: int) -> None:
        """Open the image ``delta`` rows on, passing over images known to be unreadable; one
        that turns out unreadable on opening is passed over too (``_on_image_failed``)."""
        rows = self.browser.model.rowCount()
        if not rows or not delta:
            return
        current = self.browser.view.currentIndex().row()
        row = max(0, min(rows - 1, (current if current >= 0 else -delta) + delta))
        direction = 1 if delta > 0 else -1
        while 0 <= row < rows and self._unreadable(self.browser.path_at(row)):
            row += direction
        if not 0 <= row < rows:
            return
        path = self.browser.path_at(row)
        if path is not None and (self.current is None or path != self.current.path):
            self.open_image(path)
            self._stepping = direction

    def _unreadable(self, path: Path | None) -> bool:
        return path is not None and self.browser.model.status_of(path) == Status.UNREADABLE

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
        if self.lock is not None:
            self.lock.release()
        self.model_loop.shutdown()
        self.thumbnails.clear()
        self.jobs.wait(5000)
        self.thumbnails.jobs.wait(5000)
        if self.project is not None and not self.project.file.exists():
            try:
                save_project(self.project)
            except SegGUIError as exc:
                log.warning("%s", exc)
        super().closeEvent(event)

    # -- misc -----------------------------------------------------------------------------------
    def _error(self, message: str) -> None:
        log.warning("%s", message)
        self.statusBar().showMessage(message, 15000)
