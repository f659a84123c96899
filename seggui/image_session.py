"""Opening folders and images: the folder's claim and lock, the background scan with crash
recovery, each image and its mask loaded off the GUI thread, paging past unreadable images.

What is open goes into ``AppState``, which the rest of the app follows; messages go out through
it too. The window builds an ``ImageSession`` and wires it; nothing here imports the window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.errors import SegGUIError
from model.storage.folder_lock import FolderLock, LockOwner
from model.storage.mask_names import MaskNames
from model.storage.project import load_project
from model.storage.tiff_files import AxesUnsettled, image_title
from seggui.app_state import AppState
from seggui.browser import BrowserPanel, Status, scan_project
from seggui.canvas.view import CanvasView
from seggui.channel_display import RENDERING, ChannelDisplay
from seggui.document import MaskDocument
from seggui.editor import MaskEditor
from seggui.folder_claim import FREE, OWN, READ_ONLY
from seggui.jobs import Jobs
from seggui.loading import LoadedImage, load_image
from seggui.mask_store import MaskStore
from seggui.recent_documents import RecentDocuments
from seggui.thumbnails import ThumbnailLoader

OPENING = "opening"
"""The jobs key of folder scans and image loads: only the last asked for is shown."""


class ImageSession(QObject):
    """The open folder and image of one window."""

    folder_claimed = Signal(object, bool)  # folder, read-only: it is this window's now
    folder_opened = Signal(object)  # folder, once its images are listed
    image_opened = Signal(object)  # image path, on screen
    image_failed = Signal(object, str)  # image path, why it cannot be opened

    def __init__(
        self,
        state: AppState,
        *,
        store: MaskStore,
        editor: MaskEditor,
        canvas: CanvasView,
        browser: BrowserPanel,
        jobs: Jobs,
        display: ChannelDisplay,
        ask_about_lock: Callable[[Path, LockOwner], str | None],
        ask_axes: Callable[[AxesUnsettled, str | None], str | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.store, self.editor, self.canvas, self.browser = state, store, editor, canvas, browser
        self.jobs, self.display = jobs, display
        self.ask_about_lock = ask_about_lock
        self.ask_axes = ask_axes
        """Asks which axes of a TIFF shape are channels and planes (None: the user declined)."""
        self.mask_names = MaskNames([])
        self.lock: FolderLock | None = None
        self.recent_documents = RecentDocuments(editor)
        self.thumbnails = ThumbnailLoader(self.mask_path, self.image_axes, self)
        browser.model.use_thumbnails(self.thumbnails)
        self._stepping = 0  # the direction of a Page Down/Up whose image is loading
        self._notice: str | None = None

    # -- folders -----------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        """Open the project in ``folder``; the list fills in when the background scan ends."""
        folder = Path(folder)
        try:
            project = load_project(folder)
        except SegGUIError as exc:
            self.state.report(str(exc))
            return
        claim = self._claim(folder)
        if claim is None:
            return
        read_only = claim == READ_ONLY
        for message in self.store.flush():
            self.state.report(f"{message} (the strokes stay in memory and are tried again)")
        if self.lock is not None and self.lock.path != FolderLock(folder).path:
            self.lock.release()
            self.lock = None
        if not read_only and self.lock is None:
            self.lock = FolderLock(folder)
            try:
                self.lock.acquire()
            except OSError as exc:  # a read-only folder: saves will fail with a message, too
                self.state.report(f"{folder}: cannot write the lock file ({exc.strerror or exc})")
        if self.state.document is not None:
            self.editor.forget_document(self.state.document)
        self.recent_documents.clear()
        self.state.current, self.state.document = None, None
        self.editor.set_document(None)
        self.state.project, self.state.read_only = project, read_only
        self.mask_names = MaskNames([])
        self.store.set_folder(folder, project.classes, read_only=read_only)
        self.editor.read_only = read_only
        self.thumbnails.clear()
        self.folder_claimed.emit(folder, read_only)
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

    def image_axes(self) -> str | None:
        """The folder's answer for TIFFs without axes in their metadata (``Project.image_axes``)."""
        return self.state.project.image_axes if self.state.project is not None else None

    def set_image_axes(self, axes: str) -> bool:
        """Read the folder's TIFFs without axes in their metadata as ``axes`` from now on (saved
        in the project file); the list and the image on screen are read again."""
        project = self.state.project
        if project is None or not self.state.update_project(dataclasses.replace(project, image_axes=axes)):
            return False
        self.state.tell(f"TIFFs of {project.folder.name} without axes in their metadata are read as {axes}")
        self.rescan()
        return True

    def mask_path(self, image: Path) -> Path:
        project = self.state.project
        assert project is not None
        return self.mask_names.mask_path(image, project.mask_dir)

    def rescan(self) -> None:
        """List the folder again (statuses may have changed on disk) and reload the image on screen."""
        self.thumbnails.clear()
        current = self.state.current
        self._scan(reopen=current.path if current is not None else None)

    def _scan(self, reopen: Path | None, *, recover: bool = False) -> None:
        project = self.state.project
        assert project is not None
        self.jobs.submit(
            lambda: scan_project(project, recover),
            lambda result: self._on_scan_done(result, reopen),
            lambda error: self.state.report(str(error)),
            key=OPENING,  # a scan makes an image still loading stale, and the other way round
        )

    def _on_scan_done(self, result: object, reopen: Path | None = None) -> None:
        project = self.state.project
        if project is None:
            return
        records, self.mask_names, messages = result  # type: ignore[misc]
        for message in messages:
            self.state.report(message)
        self._notice = " | ".join(messages) or None  # shown again once the first image is up
        self.browser.model.set_records(records)
        if reopen is None:
            self.folder_opened.emit(project.folder)
        if records:
            paths = [r.path for r in records]
            self.open_image(reopen if reopen in paths else records[0].path)

    # -- images ------------------------------------------------------------------------------
    def open_image(self, path: Path) -> None:
        """Save the current mask, then load ``path`` off the GUI thread."""
        project = self.state.project
        if project is None:
            return
        self._stepping = 0  # set again by step_image
        self.store.save_current()
        if path in self.mask_names.refused:
            self.jobs.stale(OPENING)
            self._on_image_failed(path, f"{path}: {self.mask_names.refused[path]}")
            return
        self._read(path)

    def _read(self, path: Path, again: bool = False) -> None:
        """Decode ``path`` and its mask off the GUI thread (``again``: a second read, after one
        that began before this window's save of the mask ended)."""
        project = self.state.project
        assert project is not None
        mask_path, classes, axes, views = (
            self.mask_path(path),
            project.classes,
            project.image_axes,
            self.display.views,
        )
        self.jobs.submit(
            lambda: load_image(path, mask_path, classes, axes, views),
            lambda loaded: self._on_image_loaded(loaded, again),
            lambda error: self._on_read_failed(path, error),
            key=OPENING,
        )

    def _on_read_failed(self, path: Path, error: BaseException) -> None:
        """A TIFF whose axes the folder must say is asked about once (and read again with the
        answer); any other failure is shown (``_on_image_failed``)."""
        if isinstance(error, AxesUnsettled):
            answer = self.ask_axes(error, self.image_axes())
            if answer is not None and answer != self.image_axes() and self.set_image_axes(answer):
                return
        self._on_image_failed(path, str(error))

    def open_if_other(self, path: Path | None) -> None:
        if path is not None and not self.state.is_current(path):
            self.open_image(path)

    def _on_image_loaded(self, loaded: LoadedImage, again: bool = False) -> None:
        state = self.state
        stale = self.store.wrote_since_read(loaded.mask_path, loaded.mask_stamp)
        if stale and not again and not loaded.mask_problem:
            # Read while this window's save of the same mask was being written, finished since:
            # the file holds newer strokes than were read. Read it once more.
            self._read(loaded.path, again=True)
            return
        if state.document is not None and state.current is not None:
            self.recent_documents.keep(state.current.path, state.document)  # with its undo history
        newest = self.store.newest_mask(loaded.path)  # opened again before its save ended
        if newest is not None and newest.shape == loaded.mask.shape:
            loaded = dataclasses.replace(loaded, mask=newest, mask_image=None, mask_problem=None)
        kept = None if loaded.mask_problem else self.recent_documents.reopen(loaded.path, loaded.mask)
        if kept is not None:  # the same pixels: undo goes on where it left off
            loaded = dataclasses.replace(loaded, mask=kept.mask)
        state.current = loaded
        state.document = kept or MaskDocument(loaded.mask)
        self.store.open(
            loaded.path,
            loaded.mask_path,
            state.document,
            loaded.mask_stamp,
            unusable=bool(loaded.mask_problem),
        )
        self.editor.set_document(state.document)
        self.editor.image = loaded.raw
        self.canvas.clear_notice()
        height, width = loaded.mask.shape
        self.jobs.stale(RENDERING)  # the last image's composite, drawn again, must not follow
        self.display.show_image(loaded.views, loaded.histograms)
        self.canvas.image_layer.set_image(loaded.display)
        self.canvas.mask_layer.set_labels(loaded.mask, self.editor.classes, loaded.mask_image)
        self.canvas.set_scene_size(width, height)
        self.browser.select(loaded.path)
        if self._notice:
            state.tell(self._notice, 30000)
            self._notice = None
        else:
            state.tell(f"{image_title(loaded.path, loaded.planes)}: {loaded.description}", 8000)
        if loaded.mask_problem:
            message = f"{loaded.mask_problem}. The mask starts empty; the old file is kept until you paint."
            self.browser.model.update(loaded.path, Status.MASK_UNREADABLE, message)
            state.report(message)
        state.image_opened.emit(loaded)
        self.image_opened.emit(loaded.path)

    def _on_image_failed(self, path: Path, message: str) -> None:
        """The image asked for last cannot be opened (older requests' results are dropped)."""
        self.browser.model.update(path, Status.UNREADABLE, message)
        stepping, self._stepping = self._stepping, 0
        self.state.tell(f"{message} (skipped)" if stepping else message, 10000)
        if not stepping:  # where the user looks: the canvas, which no longer shows another image
            reason = message[len(f"{path}: ") :] if message.startswith(f"{path}: ") else message
            self.canvas.show_notice(f"{image_title(path)} cannot be opened", f"{reason}.\n\n{path}")
        self.image_failed.emit(path, message)
        if stepping:
            self.step_image(stepping)  # on past it, as Page Down/Up meant

    def step_image(self, delta: int) -> None:
        """Open the image ``delta`` rows on, passing over images known to be unreadable; one
        that turns out unreadable on opening is passed over too (``_on_image_failed``)."""
        browser = self.browser
        rows = browser.model.rowCount()
        if not rows or not delta:
            return
        current = browser.view.currentIndex().row()
        row = max(0, min(rows - 1, (current if current >= 0 else -delta) + delta))
        direction = 1 if delta > 0 else -1
        while 0 <= row < rows and self._unreadable(browser.path_at(row)):
            row += direction
        if not 0 <= row < rows:
            return
        path = browser.path_at(row)
        if path is not None and not self.state.is_current(path):
            self.open_image(path)
            self._stepping = direction

    def _unreadable(self, path: Path | None) -> bool:
        return path is not None and self.browser.model.status_of(path) == Status.UNREADABLE

    def close(self) -> None:
        """The window closes: the lock goes, queued thumbnails are dropped."""
        if self.lock is not None:
            self.lock.release()
        self.thumbnails.clear()
        self.thumbnails.jobs.wait(5000)
