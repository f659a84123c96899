"""The file browser: every image of the folder with its labelling status, filterable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QListView, QVBoxLayout, QWidget

from seggui.state.app_state import AppState
from seggui.state.image_list import THUMBNAIL_SIZE, ImageListModel
from seggui.state.label_status import Status

LAYOUT_BATCH = 1000


class BrowserPanel(QWidget):
    """The list of images with a status filter."""

    image_chosen = Signal(object)  # path: the user moved to its row (click, arrow keys, Home, End, Enter)

    def __init__(self, images: ImageListModel, app: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = images
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
        for combo in (self.filter, self.order):  # narrow docks on small screens: names elided
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
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
        app.image_opened.connect(lambda loaded: self.select(loaded.path))
        app.slide_opened.connect(lambda slide: self.select(slide.path))

    def _chosen(self, index: QModelIndex) -> None:
        path = self.path_at(index.row()) if index.isValid() else None
        if path is not None:
            self.image_chosen.emit(path)

    def path_at(self, row: int) -> Path | None:
        """The image at ``row`` of the list in view."""
        return self.model.record(row).path if 0 <= row < self.model.rowCount() else None

    def select(self, path: Path) -> None:
        """Highlight ``path``, the image on the canvas; no row when the filter hides it (a row
        highlighted over another image's name would have the user read one and paint another)."""
        row = self.model.row_of(path)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))
        else:
            self.view.selectionModel().clear()
