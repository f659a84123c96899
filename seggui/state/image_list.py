"""The folder's images as a list: each one's labelling status, problem and uncertainty, all or
those of one status, in name or uncertainty order. The one owner of the uncertainty scores."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, SignalInstance
from PySide6.QtGui import QColor, QImage

from model.storage.tiff_files import image_title, split_plane
from seggui.state.label_status import Status

THUMBNAIL_SIZE = 48
"""Pixels on the long side of a thumbnail in the list."""


class Thumbnails(Protocol):
    """What the list needs of a thumbnail loader (``seggui.controllers.thumbnails``)."""

    loaded: SignalInstance
    failed: SignalInstance

    def get(self, path: Path) -> QImage | None: ...

    def cached_image(self, path: Path) -> QImage | None: ...


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


class ImageListModel(QAbstractListModel):
    """Image records, all or those of one status; a folder of 100,000 images lists from one
    directory scan, no decoding, and filters without a Python call per row.

    A record whose status changes while a filter is on stays in view until the filter changes
    (a row does not vanish from under the pointer); one that comes to have the filter's status
    joins the view at once (an image predicted shows under "Predicted")."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._rows: dict[Path, int] = {}
        self._shown: list[int] | None = None  # record numbers in view; None: all
        self._shown_rows: dict[int, int] = {}
        self._stacks: set[Path] = set()  # files listed with their planes: the first row is plane 1
        self.status_filter: Status | None = None
        self.uncertain_first = False
        self.thumbnails: Thumbnails | None = None

    def set_records(self, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {r.path: i for i, r in enumerate(self._records)}
        self._stacks = {stack for stack, plane in map(split_plane, self._rows) if plane}
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

    def uncertainties(self) -> dict[Path, float]:
        """The current model's uncertainty about each image it predicted."""
        return {r.path: r.uncertainty for r in self._records if r.uncertainty is not None}

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
        elif self._shown is not None and status is self.status_filter:
            self._join_view(number)

    def _join_view(self, number: int) -> None:
        """Show record ``number``, filtered out so far: in name order among the rows in view,
        or last when they are in the order of uncertainty taken earlier."""
        assert self._shown is not None
        row = len(self._shown) if self.uncertain_first else bisect.bisect(self._shown, number)
        self.beginInsertRows(QModelIndex(), row, row)
        self._shown.insert(row, number)
        self._shown_rows = {n: r for r, n in enumerate(self._shown)}
        self.endInsertRows()

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

    def use_thumbnails(self, loader: Thumbnails) -> None:
        """Decorate rows with ``loader``'s thumbnails; their masks' statuses update the rows."""
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
        title = f"{record.path.name}, plane 1" if record.path in self._stacks else image_title(record.path)
        if role == Qt.ItemDataRole.DisplayRole:
            if record.uncertainty is None:
                return title
            return f"{title}  ({record.uncertainty:.2f})"
        if role == Qt.ItemDataRole.ToolTipRole:
            text = record.error or f"{title}: {record.status.value}"
            if record.uncertainty is not None:
                text += f"; model's uncertainty {record.uncertainty:.3f} (0 sure, 1 coin toss)"
            return text
        if role == Qt.ItemDataRole.DecorationRole and self.thumbnails is not None:
            # Rows without a thumbnail (not made yet, unreadable) get a blank one of the same
            # size: the list lays every row out like the first it measures. An image the
            # window cannot open keeps a preview made already (a slide's smallest level).
            if record.status == Status.UNREADABLE:
                return self.thumbnails.cached_image(record.path) or _placeholder()
            return self.thumbnails.get(record.path) or _placeholder()
        if role == Qt.ItemDataRole.ForegroundRole:
            return _STATUS_COLOURS[record.status]
        return None


@cache
def _placeholder() -> QImage:
    image = QImage(THUMBNAIL_SIZE, THUMBNAIL_SIZE, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    return image
