"""The file browser: every image of the folder with its labelling status, filterable."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QListView, QVBoxLayout, QWidget

from model.compute.memory import many_lasting_objects
from model.storage.imageio import MASK_SUFFIX
from model.storage.mask_names import MaskNames
from model.storage.project import Project, project_images
from model.storage.recovery import recover_folder
from model.storage.tiff_files import image_title
from seggui.label_status import Status
from seggui.thumbnails import THUMBNAIL_SIZE, ThumbnailLoader

__all__ = ["BrowserPanel", "ImageListModel", "ImageRecord", "Status", "scan_folder", "scan_project"]


_STATUS_COLOURS = {
    Status.NO_MASK: QColor(150, 150, 150),
    Status.PARTLY: QColor(245, 130, 48),
    Status.LABELLED: QColor(60, 180, 75),
    Status.PREDICTED: QColor(0, 130, 200),
    Status.UNREADABLE: QColor(230, 25, 75),
    Status.MASK_UNREADABLE: QColor(190, 30, 150),
}


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    status: Status
    error: str | None = None
    uncertainty: float | None = None
    """The current model's uncertainty about the image (0 sure .. 1 coin toss), once predicted."""


LAYOUT_BATCH = 1000


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
        self.uncertain_first = False
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

    def set_uncertain_first(self, on: bool) -> None:
        """List the images the model is least sure about first (unscored ones last, by name),
        or in name order. The order is taken now: new scores do not move rows until asked again."""
        self.beginResetModel()
        self.uncertain_first = on
        self._apply_filter()
        self.endResetModel()

    def set_uncertainty(self, path: Path, value: float) -> None:
        number = self._rows.get(path)
        if number is not None:
            self._records[number] = replace(self._records[number], uncertainty=value)
            row = self._view_row(number)
            if row is not None:
                self.dataChanged.emit(self.index(row), self.index(row))

    def clear_uncertainties(self) -> None:
        """Another model: no score stays."""
        self.beginResetModel()
        self._records = [
            replace(r, uncertainty=None) if r.uncertainty is not None else r for r in self._records
        ]
        self._apply_filter()
        self.endResetModel()

    def _apply_filter(self) -> None:
        if self.status_filter is None and not self.uncertain_first:
            self._shown, self._shown_rows = None, {}
            return
        wanted = self.status_filter
        records = self._records
        shown = [i for i, r in enumerate(records) if wanted is None or r.status is wanted]
        if self.uncertain_first:
            unscored = 2.0  # after every score (scores lie in 0..1)
            shown.sort(
                key=lambda i: -records[i].uncertainty if records[i].uncertainty is not None else unscored
            )
        self._shown = shown
        self._shown_rows = {number: row for row, number in enumerate(shown)}

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

    def _on_thumbnail_loaded(self, path: Path, labelled: Status | None, problem: str | None = None) -> None:
        """A thumbnail is made; ``labelled`` is what its mask file holds (None: no mask read),
        ``problem`` why the mask cannot be used."""
        status = self.status_of(path)
        if status in (Status.LABELLED, Status.PARTLY) and labelled is not None and labelled != status:
            self.update(path, labelled, problem)
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
            if record.uncertainty is None:
                return image_title(record.path)
            return f"{image_title(record.path)}  ({record.uncertainty:.2f})"
        if role == Qt.ItemDataRole.ToolTipRole:
            text = record.error or f"{image_title(record.path)}: {record.status.value}"
            if record.uncertainty is not None:
                text += f"; model's uncertainty {record.uncertainty:.3f} (0 sure, 1 coin toss)"
            return text
        if role == Qt.ItemDataRole.DecorationRole and self.thumbnails is not None:
            # Rows without a thumbnail (not made yet, unreadable) get a blank one of the same
            # size: the list lays every row out like the first it measures.
            if record.status == Status.UNREADABLE:
                return _placeholder()
            return self.thumbnails.get(record.path) or _placeholder()
        if role == Qt.ItemDataRole.ForegroundRole:
            return _STATUS_COLOURS[record.status]
        return None


@cache
def _placeholder() -> QImage:
    image = QImage(THUMBNAIL_SIZE, THUMBNAIL_SIZE, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    return image


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

    image_chosen = Signal(object)  # path: the user moved to its row (click, arrow keys, Home, End, Enter)

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
        self.order = QComboBox()
        self.order.addItem("By name", False)
        self.order.addItem("Most uncertain first", True)
        self.order.setToolTip(
            "Most uncertain first: the images the model is least sure about (its score in brackets; "
            "Predict All scores every image). The order is taken when chosen."
        )
        self.order.activated.connect(lambda _: self.model.set_uncertain_first(bool(self.order.currentData())))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        choices = QHBoxLayout()
        choices.addWidget(self.filter, 1)
        choices.addWidget(self.order, 1)
        layout.addLayout(choices)
        layout.addWidget(self.view)
        # The row in view is the image on the canvas, however the user got there: a highlight
        # moved by the keys over another image's name would have them read one and paint another.
        self.view.selectionModel().currentChanged.connect(lambda current, _: self._chosen(current))
        self.view.clicked.connect(self._chosen)
        self.view.activated.connect(self._chosen)

    def _chosen(self, index: QModelIndex) -> None:
        path = self.path_at(index.row()) if index.isValid() else None
        if path is not None:
            self.image_chosen.emit(path)

    def path_at(self, row: int) -> Path | None:
        """The image at ``row`` of the list in view."""
        return self.model.record(row).path if 0 <= row < self.model.rowCount() else None

    def select(self, path: Path) -> None:
        row = self.model.row_of(path)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))


def scan_project(project: Project, recover: bool) -> tuple[list, MaskNames, list[str]]:
    """On a worker thread: list the images, recover what a crash left (``model.storage.recovery``: the
    journal may only restore masks of these images), then give each its status. Returns records,
    mask names and messages to show (entries the listing left out among them)."""
    left_out: list[str] = []
    with many_lasting_objects():
        images = project_images(project, left_out)
        names = MaskNames(images)
        own = {names.mask_path(image, project.mask_dir).name for image in names.usable(images)}
        messages = recover_folder(project, own).messages() if recover else []
        messages += left_out[:5] + [f"and {len(left_out) - 5} more left out"] * (len(left_out) > 5)
        messages += names.orphaned_masks(project.mask_dir)
        records = scan_folder(images, names, project.mask_dir, project.predictions_dir)
    return records, names, messages
