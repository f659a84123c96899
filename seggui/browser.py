"""The file browser: every image of the folder with its labelling status, filterable."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QListView, QVBoxLayout, QWidget

from model.imageio import MASK_SUFFIX, list_images
from model.mask_names import MaskNames
from model.memory import many_lasting_objects
from model.project import Project
from model.recovery import recover_folder
from seggui.label_status import Status
from seggui.thumbnails import THUMBNAIL_SIZE, ThumbnailLoader

__all__ = ["BrowserPanel", "ImageListModel", "ImageRecord", "Status", "scan_folder", "scan_project"]


_STATUS_COLOURS = {
    Status.NO_MASK: QColor(150, 150, 150),
    Status.PARTLY: QColor(245, 130, 48),
    Status.LABELLED: QColor(60, 180, 75),
    Status.PREDICTED: QColor(0, 130, 200),
    Status.UNREADABLE: QColor(230, 25, 75),
}


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    status: Status
    error: str | None = None


LAYOUT_BATCH = 1000
StatusRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2


class ImageListModel(QAbstractListModel):
    """Image records, all or those of one status; a folder of 100,000 images lists from one
    directory scan, no decoding, and filters without a Python call per row.

    A record whose status changes while a filter is on stays in view until the filter changes
    (a row does not vanish from under the pointer)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._rows: dict[Path, int] = {}
        self._shown: list[int] | None = None  # record numbers in view; None: all
        self._shown_rows: dict[int, int] = {}
        self.status_filter: Status | None = None
        self.thumbnails: ThumbnailLoader | None = None

    def set_records(self, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {r.path: i for i, r in enumerate(self._records)}
        self._apply_filter()
        self.endResetModel()

    def set_status_filter(self, status: Status | None) -> None:
        """Show only records of ``status`` (None: all)."""
        self.beginResetModel()
        self.status_filter = status
        self._apply_filter()
        self.endResetModel()

    def _apply_filter(self) -> None:
        if self.status_filter is None:
            self._shown, self._shown_rows = None, {}
            return
        wanted = self.status_filter
        self._shown = [i for i, record in enumerate(self._records) if record.status is wanted]
        self._shown_rows = {number: row for row, number in enumerate(self._shown)}

    def _view_row(self, number: int) -> int | None:
        return number if self._shown is None else self._shown_rows.get(number)

    def record(self, row: int) -> ImageRecord:
        """The record in view at ``row``."""
        return self._records[row if self._shown is None else self._shown[row]]

    def records(self) -> list[ImageRecord]:
        """Every record, whatever the filter."""
        return list(self._records)

    def row_of(self, path: Path) -> int | None:
        """The row in view of ``path`` (None if not listed or filtered out)."""
        number = self._rows.get(path)
        return None if number is None else self._view_row(number)

    def update(self, path: Path, status: Status, error: str | None = None) -> None:
        number = self._rows.get(path)
        if number is None:
            return
        self._records[number] = replace(self._records[number], status=status, error=error)
        row = self._view_row(number)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def status_of(self, path: Path) -> Status | None:
        number = self._rows.get(path)
        return None if number is None else self._records[number].status

    def _on_thumbnail_loaded(self, path: Path, labelled: Status | None) -> None:
        """A thumbnail is made; ``labelled`` is what its mask file holds (None: no mask read)."""
        status = self.status_of(path)
        if status in (Status.LABELLED, Status.PARTLY) and labelled is not None and labelled != status:
            self.update(path, labelled)
        elif status is not None:
            row = self.row_of(path)
            if row is not None:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])

    def _on_thumbnail_failed(self, path: Path, message: str) -> None:
        self.update(path, Status.UNREADABLE, message)

    def use_thumbnails(self, loader: ThumbnailLoader) -> None:
        self.thumbnails = loader
        loader.loaded.connect(self._on_thumbnail_loaded)
        loader.failed.connect(self._on_thumbnail_failed)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._records) if self._shown is None else len(self._shown)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        record = self.record(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return record.path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.error or f"{record.path.name}: {record.status.value}"
        if role == Qt.ItemDataRole.DecorationRole and self.thumbnails is not None:
            if record.status == Status.UNREADABLE:
                return None
            return self.thumbnails.get(record.path)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _STATUS_COLOURS[record.status]
        if role == StatusRole:
            return record.status
        if role == PathRole:
            return record.path
        return None


def scan_folder(
    images: list[Path], names: MaskNames, mask_dir: Path, predictions_dir: Path | None = None
) -> list[ImageRecord]:
    """Records with status from whether a mask file exists, else whether a prediction does (one
    listing of each folder). An image without a mask name of its own (``names.refused``) is
    listed as unreadable, with the reason."""
    masks = _file_names(mask_dir)
    predicted = _file_names(predictions_dir) if predictions_dir is not None else set()

    def record(path: Path) -> ImageRecord:
        if path in names.refused:
            return ImageRecord(path, Status.UNREADABLE, f"{path}: {names.refused[path]}")
        mask = f"{names.key(path)}{MASK_SUFFIX}"
        if mask in masks:
            return ImageRecord(path, Status.LABELLED)
        return ImageRecord(path, Status.PREDICTED if mask in predicted else Status.NO_MASK)

    return [record(p) for p in images]


def _file_names(folder: Path) -> set[str]:
    """Names in ``folder`` (none if it is missing or unreadable)."""
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


class BrowserPanel(QWidget):
    """The list of images with a status filter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(self)
        self.filter = QComboBox()
        self.filter.addItem("All images", None)
        for status in Status:
            self.filter.addItem(status.value.capitalize(), status)
        self.filter.currentIndexChanged.connect(
            lambda _: self.model.set_status_filter(self.filter.currentData())
        )
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)
        # Rows are laid out a thousand at a time between events: 100,000 at once froze the
        # window for 130 ms.
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(LAYOUT_BATCH)
        self.view.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)

    def path_at(self, row: int) -> Path | None:
        """The image at ``row`` of the list in view."""
        return self.model.record(row).path if 0 <= row < self.model.rowCount() else None

    def select(self, path: Path) -> None:
        row = self.model.row_of(path)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))


def scan_project(project: Project, recover: bool) -> tuple[list, MaskNames, list[str]]:
    """On a worker thread: recover what a crash left (``model.recovery``), then list the images
    with their status. Returns records, mask names and messages to show."""
    messages = recover_folder(project).messages() if recover else []
    with many_lasting_objects():
        images = list_images(project.folder)
        names = MaskNames(images)
        messages += names.orphaned_masks(project.mask_dir)
        records = scan_folder(images, names, project.mask_dir, project.predictions_dir)
    return records, names, messages
