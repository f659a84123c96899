"""The status bar: passing messages and errors, whether the masks are saved, the pixel and class
under the pointer, the zoom, and the progress of an export or import."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from model.classes import IGNORE_INDEX
from seggui.canvas.view import CanvasView
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.transfer import LabelTransfer
from seggui.state.app_state import AppState
from seggui.state.tool_state import ToolState

log = logging.getLogger(__name__)


class WindowStatus:
    """Fills ``bar`` and keeps it up to date; ``pointer`` is the image pixel under the pointer."""

    def __init__(
        self,
        bar: QStatusBar,
        *,
        app: AppState,
        tools: ToolState,
        canvas: CanvasView,
        store: MaskStore,
        transfer: LabelTransfer,
    ) -> None:
        self.bar, self.app, self.tools = bar, app, tools
        self.pointer: tuple[int, int] | None = None
        self.save_label = QLabel()
        self.position_label = QLabel()
        self.zoom_label = QLabel()
        self.transfer_progress = QProgressBar()
        self.transfer_progress.setMaximumWidth(160)
        self.transfer_progress.setVisible(False)
        for label in (self.save_label, self.position_label, self.zoom_label, self.transfer_progress):
            bar.addPermanentWidget(label)
        app.failed.connect(self.show_error)
        app.noted.connect(bar.showMessage)
        store.status_changed.connect(self._show_save_status)
        canvas.cursor_moved.connect(self._on_cursor_moved)
        canvas.cursor_left.connect(self._on_cursor_left)
        canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{100 * zoom:.0f}%"))
        transfer.busy_changed.connect(self.transfer_progress.setVisible)
        transfer.progressed.connect(self._show_transfer_progress)

    def show_error(self, message: str) -> None:
        log.warning("%s", message)
        self.bar.showMessage(message, 15000)

    def pick_class_under_pointer(self) -> None:
        """Make the class of the pixel under the pointer the one painted (napari's picker)."""
        document = self.app.document
        if document is None or self.pointer is None:
            return
        x, y = self.pointer
        value = document.label_at(x, y)
        if value == IGNORE_INDEX:
            self.bar.showMessage("Not labelled here: no class to pick", 3000)
            return
        if self.tools.set_class(value):
            self.bar.showMessage(f"Painting {self.app.classes[value].name}", 3000)

    def _show_save_status(self, text: str, warning: bool, detail: str) -> None:
        self.save_label.setStyleSheet("color: #e6194b; font-weight: bold" if warning else "")
        self.save_label.setText(text)
        self.save_label.setToolTip(detail)

    def _show_transfer_progress(self, done: int, total: int) -> None:
        self.transfer_progress.setMaximum(max(total, 1))
        self.transfer_progress.setValue(done)

    def _on_cursor_moved(self, x: int, y: int) -> None:
        self.pointer = None
        document = self.app.document
        if document is None:
            return
        height, width = document.shape
        if 0 <= x < width and 0 <= y < height:
            self.pointer = (x, y)
            value = document.label_at(x, y)
            name = "not labelled" if value == IGNORE_INDEX else self.app.classes[value].name
            if value == IGNORE_INDEX and document.nodata is not None and document.nodata[y, x]:
                name = "nodata (never labelled)"
            self.position_label.setText(f"x {x}  y {y}  {name}")
        else:
            self.position_label.setText("")

    def _on_cursor_left(self) -> None:
        self.pointer = None
        self.position_label.setText("")
