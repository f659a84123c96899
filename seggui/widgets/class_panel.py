"""The class palette: pick, rename, recolour, add, hide and remove classes. It follows the
project's classes and the tool state's class; edits go to ``ClassEditing``."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QGridLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from model.classes import ClassInfo, distinct_color
from seggui.controllers.class_editing import ClassEditing
from seggui.state.app_state import AppState
from seggui.state.label_display import LabelDisplay
from seggui.state.tool_state import ToolState


def colour_icon(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class ClassPanel(QWidget):
    """Lists the project's classes; an edit is a whole new tuple of classes."""

    def __init__(
        self,
        app: AppState,
        tools: ToolState,
        labels: LabelDisplay,
        editing: ClassEditing,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tools, self.labels, self.editing = tools, labels, editing
        self._classes: tuple[ClassInfo, ...] = ()
        self.list = QListWidget()
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.list.setToolTip(
            "Click a class to paint it; double-click its name (or Rename) to rename it; untick it to hide it"
        )
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_class)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected class (or double-click its name)")
        self.rename_button.clicked.connect(self._edit_current_name)
        self.colour_button = QPushButton("Colour...")
        self.colour_button.clicked.connect(self.choose_colour)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: editing.remove_class(self.list.currentRow()))
        buttons = QGridLayout()  # two rows: the dock stays narrow on a small screen
        buttons.addWidget(self.add_button, 0, 0)
        buttons.addWidget(self.rename_button, 0, 1)
        buttons.addWidget(self.colour_button, 1, 0)
        buttons.addWidget(self.remove_button, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        app.project_opened.connect(lambda project: self.show_classes(project.classes))
        app.classes_changed.connect(self.show_classes)
        tools.class_changed.connect(self.select)

    def show_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        """List ``classes``, the one painted selected; if their number changed, none is hidden
        (the indices moved)."""
        if len(classes) != len(self._classes):
            self.labels.set_hidden(frozenset())
        self._classes = classes
        blocker = QSignalBlocker(self.list)
        self.list.clear()
        for index, info in enumerate(classes):
            item = QListWidgetItem(colour_icon(info.color), info.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
            shown = Qt.CheckState.Unchecked if index in self.labels.hidden else Qt.CheckState.Checked
            item.setCheckState(shown)
            key = f"; key {index}" if index < 10 else ""
            item.setToolTip(
                f"class {index}{key}; double-click to rename; untick to hide it (the labels stay)"
            )
            self.list.addItem(item)
        self.list.setCurrentRow(self.tools.class_index)
        del blocker

    def select(self, index: int) -> None:
        with QSignalBlocker(self.list):
            self.list.setCurrentRow(index)

    def add_class(self, name: str | None = None) -> None:
        index = len(self._classes)
        # Never a colour another class has: two classes would look alike, and colour export refuses them.
        info = ClassInfo(name or f"class {index}", distinct_color(index, [c.color for c in self._classes]))
        self.editing.set_classes((*self._classes, info))

    def _edit_current_name(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def rename(self, index: int, name: str) -> None:
        name = name.strip()
        if not name or name == self._classes[index].name:
            self.show_classes(self._classes)
            return
        classes = list(self._classes)
        classes[index] = ClassInfo(name, classes[index].color)
        self.editing.set_classes(tuple(classes))

    def set_colour(self, index: int, color: tuple[int, int, int]) -> None:
        classes = list(self._classes)
        classes[index] = ClassInfo(classes[index].name, color)
        self.editing.set_classes(tuple(classes))

    def choose_colour(self) -> None:
        index = self.list.currentRow()
        if index < 0:
            return
        chosen = QColorDialog.getColor(QColor(*self._classes[index].color), self, "Class colour")
        if chosen.isValid():
            self.set_colour(index, (chosen.red(), chosen.green(), chosen.blue()))

    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        index = self.list.row(item)
        hidden = set(self.labels.hidden)
        if item.checkState() == Qt.CheckState.Checked:
            hidden.discard(index)
        else:
            hidden.add(index)
        if frozenset(hidden) != self.labels.hidden:
            self.labels.set_hidden(frozenset(hidden))
            return
        self.rename(index, item.text())

    def _on_list_row_changed(self, row: int) -> None:
        if row >= 0:
            self.tools.set_class(row)
