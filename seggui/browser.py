"""The file browser: every image of the folder with its labelling status, filterable."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QListView, QVBoxLayout, QWidget

from model.imageio import list_images
from model.mask_names import MaskNames
from model.project import Project
from model.recovery import recover_folder
from seggui.thumbnails import THUMBNAIL_SIZE, ThumbnailLoader


class Status(enum.Enum):
    NO_MASK = "no mask"
    PARTLY = "partly labelled"
    LABELLED = "labelled"
    PREDICTED = "predicted"
    UNREADABLE = "unreadable"


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


StatusRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2


class ImageListModel(QAbstractListModel):
    """Image records; a folder of 10,000 images lists from one directory scan, no decoding."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._rows: dict[Path, int] = {}
        self.thumbnails: ThumbnailLoader | None = None

    def set_records(self, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {r.path: i for i, r in enumerate(self._records)}
        self.endResetModel()

    def record(self, row: int) -> ImageRecord:
        return self._records[row]

    def records(self) -> list[ImageRecord]:
        return list(self._records)

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(path)

    def update(self, path: Path, status: Status, error: str | None = None) -> None:
        row = self._rows.get(path)
        if row is None:
            return
        self._records[row] = replace(self._records[row], status=status, error=error)
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def status_of(self, path: Path) -> Status | None:
        row = self._rows.get(path)
        return None if row is None else self._records[row].status

    def _on_thumbnail_loaded(self, path: Path, complete: bool | None) -> None:
        status = self.status_of(path)
        if status in (Status.LABELLED, Status.PARTLY) and complete is not None:
            self.update(path, Status.LABELLED if complete else Status.PARTLY)
        elif status is not None:
            row = self._rows[path]
            self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])

    def _on_thumbnail_failed(self, path: Path, message: str) -> None:
        self.update(path, Status.UNREADABLE, message)

    def use_thumbnails(self, loader: ThumbnailLoader) -> None:
        self.thumbnails = loader
        loader.loaded.connect(self._on_thumbnail_loaded)
        loader.failed.connect(self._on_thumbnail_failed)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        record = self._records[index.row()]
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
    """Records with status from whether a mask file exists (one ``stat`` per image), else whether
    a prediction does (one listing of ``predictions_dir``). An image without a mask name of its
    own (``names.refused``) is listed as unreadable, with the reason."""
    predicted = set()
    if predictions_dir is not None and predictions_dir.is_dir():
        predicted = {p.name for p in predictions_dir.glob("*.png")}

    def record(path: Path) -> ImageRecord:
        if path in names.refused:
            return ImageRecord(path, Status.UNREADABLE, f"{path}: {names.refused[path]}")
        mask = names.mask_path(path, mask_dir)
        if mask.exists():
            return ImageRecord(path, Status.LABELLED)
        return ImageRecord(path, Status.PREDICTED if mask.name in predicted else Status.NO_MASK)

    return [record(p) for p in images]


class StatusFilter(QSortFilterProxyModel):
    """Shows all records, or only those of one status."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: Status | None = None

    def set_status(self, status: Status | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.status = status
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.status = status
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.status is None:
            return True
        return self.sourceModel().index(row, 0, parent).data(StatusRole) == self.status


class BrowserPanel(QWidget):
    """The list of images with a status filter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(self)
        self.proxy = StatusFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter = QComboBox()
        self.filter.addItem("All images", None)
        for status in Status:
            self.filter.addItem(status.value.capitalize(), status)
        self.filter.currentIndexChanged.connect(lambda _: self.proxy.set_status(self.filter.currentData()))
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)

    def path_at(self, proxy_row: int) -> Path | None:
        index = self.proxy.index(proxy_row, 0)
        return index.data(PathRole) if index.isValid() else None

    def select(self, path: Path) -> None:
        row = self.model.row_of(path)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row))
        if index.isValid():
            self.view.setCurrentIndex(index)


def scan_project(project: Project, recover: bool) -> tuple[list, MaskNames, list[str]]:
    """On a worker thread: recover what a crash left (``model.recovery``), then list the images
    with their status. Returns records, mask names and messages to show."""
    messages = recover_folder(project).messages() if recover else []
    images = list_images(project.folder)
    names = MaskNames(images)
    messages += names.orphaned_masks(project.mask_dir)
    records = scan_folder(images, names, project.mask_dir, project.predictions_dir)
    return records, names, messages
