"""Opening folders and images: the folder's claim and lock, the background scan with crash
recovery, each image and its mask loaded off the GUI thread, paging past unreadable images.

What is open goes into ``AppState``, which the rest of the app follows (the canvas, the lists,
the model); messages go out through it too. Nothing here drives a widget.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.errors import SegGUIError
from model.storage.folder_lock import FolderLock
from model.storage.mask_names import MaskNames
from model.storage.project import load_project
from model.storage.tiff_files import AxesUnsettled, axes_question, image_title, is_tiff, split_plane
from model.words import counted
from seggui.controllers.composite_renderer import RENDERING
from seggui.controllers.editor import MaskEditor
from seggui.controllers.jobs import Jobs
from seggui.controllers.loading import load_document
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.questions import FREE, OWN, READ_ONLY, Questions
from seggui.controllers.recent_documents import RecentDocuments
from seggui.controllers.scanning import scan_project
from seggui.controllers.thumbnails import ThumbnailLoader
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.document import MaskDocument
from seggui.state.image_list import ImageListModel
from seggui.state.label_status import Status
from seggui.state.loaded_image import LoadedImage
from seggui.state.loaded_slide import LoadedSlide
from seggui.state.slide_document import SlideDocument

log = logging.getLogger(__name__)

OPENING = "opening"
"""The jobs key of folder scans and image loads: only the last asked for is shown."""


class ImageSession(QObject):
    """The open folder and image of one window."""

    folder_claimed = Signal(object, bool)  # folder, read-only: it is this window's now
    folder_opened = Signal(object)  # folder, once its images are listed
    image_failed = Signal(object, str)  # image path, why it cannot be opened
    notice_shown = Signal(str, str)  # title and text for where an image would be: none can be shown

    def __init__(
        self,
        state: AppState,
        *,
        store: MaskStore,
        editor: MaskEditor,
        image_list: ImageListModel,
        jobs: Jobs,
        display: ChannelDisplay,
        questions: Questions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.store, self.editor, self.image_list = state, store, editor, image_list
        self.jobs, self.display, self.questions = jobs, display, questions
        self.mask_names = MaskNames([])
        self.lock: FolderLock | None = None
        self.recent_documents = RecentDocuments(editor)
        self.thumbnails = ThumbnailLoader(self.mask_path, self.image_axes, self)
        image_list.use_thumbnails(self.thumbnails)
        self._stepping = 0  # the direction of a Page Down/Up whose image is loading
        self.requested: Path | None = None
        """The image asked for last (on screen, or loading): Page Down/Up go on from it."""
        self._notice: str | None = None

    # -- folders -----------------------------------------------------------------------------
    def open_folder(self, folder: str | Path, first: Path | None = None) -> None:
        """Open the project in ``folder``; the list fills in when the background scan ends, and
        ``first`` (an image of the folder; default: the first listed) opens."""
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
            except OSError as exc:  # a full disk, a read-only folder: no other window could be warned
                self.lock, read_only, claim = None, True, READ_ONLY
                self.state.report(
                    f"{folder}: cannot write the lock file that warns other windows ({exc.strerror or exc}); "
                    "the folder is open read-only. Free some space (or get write permission) and open "
                    "it again to edit"
                )
        if self.state.document is not None:
            self.editor.forget_document(self.state.document)
        self.recent_documents.clear()
        self.editor.set_document(None)
        self.mask_names = MaskNames([])
        self.store.set_folder(folder, project.classes, read_only=read_only)
        self.editor.read_only = read_only
        self.thumbnails.clear()
        self.display.show_image((), ())  # no channels of the last folder's image
        self.folder_claimed.emit(folder, read_only)
        self.state.open_project(project, read_only=read_only)
        # Only a folder nobody else writes is recovered: another live window's journal and
        # temporary files are its own.
        self._scan(reopen=None, recover=claim == FREE, first=first)

    def _claim(self, folder: Path) -> str | None:
        """How ``folder`` opens: ``FREE`` (nobody else edits it), ``OWN`` (this window does
        already), ``READ_ONLY`` or ``TAKE_OVER`` (the user's answer, when another window edits
        it), or None to stay where we are."""
        if self.lock is not None and self.lock.path == FolderLock(folder).path:
            return OWN
        owner = FolderLock(folder).owner()
        if owner is None:
            return FREE
        return self.questions.folder_in_use(folder, owner)

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

    def ask_axes_again(self) -> None:
        """Ask again how the TIFF on screen, and the folder's others of its shape, are read
        (Image > TIFF Axes...)."""
        current = self.state.current
        question = None
        source = split_plane(current.path)[0] if current is not None else None
        if source is not None and is_tiff(source):
            try:
                question = axes_question(source)
            except SegGUIError as exc:
                self.state.report(str(exc))
                return
        if question is None:
            self.state.report(
                "The image on screen says in its own metadata which size is channels and which planes "
                "(or is not a TIFF): there is nothing to choose. Open a TIFF without axes in its metadata"
            )
            return
        answer = self.questions.tiff_axes(question, self.image_axes())
        if answer is not None and answer != self.image_axes():
            self.set_image_axes(answer)

    def mask_path(self, image: Path) -> Path:
        project = self.state.project
        assert project is not None
        return self.mask_names.mask_path(image, project.mask_dir)

    def rescan(self) -> None:
        """List the folder again (statuses may have changed on disk) and reload the image on screen."""
        self.thumbnails.clear()
        self._scan(reopen=self.state.shown_path)  # a slide too: its mask may be new

    def _scan(self, reopen: Path | None, *, recover: bool = False, first: Path | None = None) -> None:
        project = self.state.project
        assert project is not None
        self.jobs.submit(
            lambda: scan_project(project, recover),
            lambda result: self._on_scan_done(result, reopen, first),
            lambda error: self.state.report(str(error)),
            key=OPENING,  # a scan makes an image still loading stale, and the other way round
        )

    def _on_scan_done(self, result: object, reopen: Path | None = None, first: Path | None = None) -> None:
        project = self.state.project
        if project is None:
            return
        records, self.mask_names, messages = result  # type: ignore[misc]
        for message in messages:
            self.state.report(message)
        self._notice = " | ".join(messages) or None  # shown again once the first image is up
        self.image_list.set_records(records)
        if reopen is None:
            log.info("opened %s: %s", project.folder, counted(len(records), "image"))
            self.folder_opened.emit(project.folder)
        if records:
            paths = [r.path for r in records]
            wanted = reopen or first
            self.open_image(wanted if wanted in paths else records[0].path)
        else:
            title = f"No images in {project.folder.name}"
            self.notice_shown.emit(title, no_images_text(project.folder, messages))

    # -- images ------------------------------------------------------------------------------
    def open_image(self, path: Path) -> None:
        """Save the current mask, then load ``path`` off the GUI thread."""
        project = self.state.project
        if project is None:
            return
        self._stepping = 0  # set again by step_image
        self.requested = path
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
        opened, budget = self.store.slide_masks(), self.state.memory_budget
        self.jobs.submit(
            lambda: load_document(path, mask_path, classes, axes, views, opened, budget),
            lambda loaded: self._on_image_loaded(loaded, again),
            lambda error: self._on_read_failed(path, error),
            key=OPENING,
        )

    def _on_read_failed(self, path: Path, error: BaseException) -> None:
        """A TIFF whose axes the folder must say is asked about once (and read again with the
        answer); any other failure is shown (``_on_image_failed``)."""
        if isinstance(error, AxesUnsettled):
            answer = self.questions.tiff_axes(error, self.image_axes())
            if answer is not None and answer != self.image_axes() and self.set_image_axes(answer):
                return
        self._on_image_failed(path, str(error))

    def open_if_other(self, path: Path | None) -> None:
        if path is not None and not self.state.is_current(path):
            self.open_image(path)

    def _leave_document(self) -> None:
        """The image or slide on screen makes way for another: an image's mask is kept with its
        undo history (``RecentDocuments``); a slide's history goes, its mask stays open."""
        state = self.state
        if state.document is not None and state.current is not None:
            self.recent_documents.keep(state.current.path, state.document)  # with its undo history
        elif isinstance(state.document, SlideDocument):
            self.editor.forget_document(state.document)
            state.document.chunked.forget_clean()

    def _on_slide_loaded(self, slide: LoadedSlide) -> None:
        state = self.state
        self._leave_document()
        slide.mask.on_unreadable_chunk = state.report  # drawn as not labelled, and named once
        document = SlideDocument(slide.mask)
        self.store.open(slide.path, slide.mask_path, document, None)
        self.editor.set_document(document)
        self.editor.image = slide.reader
        self.jobs.stale(RENDERING)
        self.display.show_image(slide.views, slide.histograms)
        for message in slide.messages:
            state.report(message)
        if self._notice:
            state.tell(self._notice, 30000)
            self._notice = None
        elif not slide.messages:
            state.tell(f"{image_title(slide.path)}: {slide.description}", 8000)
        state.show_slide(slide, document)
        log.info("%s on screen (a slide)", image_title(slide.path))

    def _on_image_loaded(self, loaded: LoadedImage | LoadedSlide, again: bool = False) -> None:
        if isinstance(loaded, LoadedSlide):
            self._on_slide_loaded(loaded)
            return
        state = self.state
        stale = self.store.wrote_since_read(loaded.mask_path, loaded.mask_stamp)
        if stale and not again and not loaded.mask_problem:
            # Read while this window's save of the same mask was being written, finished since:
            # the file holds newer strokes than were read. Read it once more.
            self._read(loaded.path, again=True)
            return
        self._leave_document()
        newest = self.store.newest_mask(loaded.path)  # opened again before its save ended
        if newest is not None and newest.shape == loaded.mask.shape:
            loaded = dataclasses.replace(loaded, mask=newest, mask_image=None, mask_problem=None)
        kept = None if loaded.mask_problem else self.recent_documents.reopen(loaded.path, loaded.mask)
        if kept is not None:  # the same pixels: undo goes on where it left off
            loaded = dataclasses.replace(loaded, mask=kept.mask)
        document = kept or MaskDocument(loaded.mask)
        document.nodata = loaded.nodata
        self.store.open(
            loaded.path,
            loaded.mask_path,
            document,
            loaded.mask_stamp,
            unusable=bool(loaded.mask_problem),
        )
        self.editor.set_document(document)
        self.editor.image = loaded.raw
        self.jobs.stale(RENDERING)  # the last image's composite, drawn again, must not follow
        self.display.show_image(loaded.views, loaded.histograms)
        if self._notice:
            state.tell(self._notice, 30000)
            self._notice = None
        else:
            state.tell(f"{image_title(loaded.path, loaded.planes)}: {loaded.description}", 8000)
        if loaded.mask_problem:
            message = f"{loaded.mask_problem}. The mask starts empty; the old file is kept until you paint."
            self.image_list.update(loaded.path, Status.MASK_UNREADABLE, message)
            state.report(message)
        state.show_image(loaded, document)
        log.info("%s on screen", image_title(loaded.path, loaded.planes))

    def _on_image_failed(self, path: Path, message: str) -> None:
        """The image asked for last cannot be opened (older requests' results are dropped)."""
        self.image_list.update(path, Status.UNREADABLE, message)
        stepping, self._stepping = self._stepping, 0
        self.state.tell(f"{message} (skipped)" if stepping else message, 10000)
        if not stepping:  # where the user looks: the canvas, which no longer shows another image
            reason = message[len(f"{path}: ") :] if message.startswith(f"{path}: ") else message
            self.notice_shown.emit(f"{image_title(path)} cannot be opened", f"{reason}.\n\n{path}")
        self.image_failed.emit(path, message)
        if stepping:
            self.step_image(stepping)  # on past it, as Page Down/Up meant

    def step_image(self, delta: int) -> None:
        """Open the image ``delta`` rows on, passing over images known to be unreadable; one
        that turns out unreadable on opening is passed over too (``_on_image_failed``)."""
        images = self.image_list
        rows = images.rowCount()
        if not rows or not delta:
            return
        current = images.row_of(self.requested) if self.requested is not None else None
        row = max(0, min(rows - 1, (current if current is not None else -delta) + delta))
        direction = 1 if delta > 0 else -1
        while 0 <= row < rows and images.record(row).status == Status.UNREADABLE:
            row += direction
        if not 0 <= row < rows:
            return
        path = images.record(row).path
        if path is not None and not self.state.is_current(path):
            self.open_image(path)
            self._stepping = direction

    def close(self) -> None:
        """The window closes: the lock goes, queued thumbnails are dropped."""
        if self.lock is not None:
            self.lock.release()
        self.thumbnails.clear()
        self.thumbnails.jobs.wait(5000)


def no_images_text(folder: Path, messages: list[str]) -> str:
    """What the canvas says for a folder without images: what is listed, what to do, and what
    the listing left out."""
    text = (
        f"SegGUI lists the images directly in {folder}: PNG, JPEG, BMP, GIF, WebP and TIFF, slide "
        "and microscope files included (.svs, .ndpi, .scn, .qptiff, .ome.tif, ...). Put images "
        "there, or open another folder: File > Open Folder (Ctrl+O)."
    )
    return text + "".join(f"\n\n{message}" for message in messages)
