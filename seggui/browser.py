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
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QListView, QVBoxLayout, QWidget


class Status(enum.Enum):
    NO_MASK = "no mask"
    LABELLED = "labelled"
    PREDICTED = "predicted"
    UNREADABLE = "unreadable"


_STATUS_COLOURS = {
    Status.NO_MASK: QColor(150, 150, 150),
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

    def set_records(self, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {r.path: i for i, r in enumerate(self._records)}
        self.endResetModel()

    def record(self, row: int) -> ImageRecord:
        return self._records[row]

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(path)

    def update(self, path: Path, status: Status, error: str | None = None) -> None:
        row = self._rows.get(path)
        if row is None:
            return
        self._records[row] = replace(self._records[row], status=status, error=error)
        index = self.index(row)
        self.dataChanged.emit(index, index)

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
        if role == Qt.ItemDataRole.ForegroundRole:
            return _STATUS_COLOURS[record.status]
        if role == StatusRole:
            return record.status
        if role == PathRole:
            return record.path
        return None


def scan_folder(images: list[Path], mask_path_of) -> list[ImageRecord]:
    """Records with status from whether a mask file exists (one ``stat`` per image)."""
    return [ImageRecord(p, Status.LABELLED if mask_path_of(p).exists() else Status.NO_MASK) for p in images]


class StatusFilter(QSortFilterProxyModel):
    """Shows all records, or only those of one status."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: Status | None = None

    def set_status(self, status: Status | None) -> None:
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
