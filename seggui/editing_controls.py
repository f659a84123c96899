"""What the window's editing controls do: tool, class, brush, fill, display styles, class edits,
the class under the pointer. Mixed into ``MainWindow`` (which builds the widgets in
``seggui.window_ui``)."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QMessageBox

from model.classes import IGNORE_INDEX
from model.storage.project import Project, remove_class_from_masks
from seggui.canvas.tools import FillTool


class EditingControls:
    """Mixed into ``MainWindow``: answers its tool bar, menus and class list."""

    # -- editing --------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(self.tools[name])
        self.tool_actions[name].setChecked(True)

    def set_label_style(self, layer: str, style: str) -> None:
        """Draw the ``"mask"`` or ``"prediction"`` layer filled, as outlines or hatched (kept
        for next time). Predictions are hatched unless chosen otherwise: filled, a prediction
        over the whole image looked like paint."""
        target = self.canvas.mask_layer if layer == "mask" else self.canvas.prediction_layer
        target.set_style(style)
        self.style_actions[layer][style].setChecked(True)
        self.settings.setValue(f"display/{layer}_style", style)

    def set_hidden_classes(self, hidden: frozenset[int]) -> None:
        """Classes left out of the mask and prediction drawings (unticked in the class list)."""
        self.canvas.mask_layer.set_hidden(hidden)
        self.canvas.prediction_layer.set_hidden(hidden)

    def set_fill_mode(self, mode: str) -> None:
        """``FillTool.SIMILAR`` (pixels that look alike) or ``FillTool.SAME_LABEL``."""
        fill = self.tools["fill"]
        fill.mode = mode  # type: ignore[attr-defined]
        index = self.fill_mode_combo.findData(mode)
        if index != self.fill_mode_combo.currentIndex():
            self.fill_mode_combo.setCurrentIndex(index)
        self.tolerance_spin.setEnabled(mode == FillTool.SIMILAR)

    def set_fill_tolerance(self, percent: float) -> None:
        self.tools["fill"].tolerance = percent / 100  # type: ignore[attr-defined]
        if self.tolerance_spin.value() != percent:
            self.tolerance_spin.setValue(percent)

    def set_class(self, index: int) -> None:
        if 0 <= index < len(self.editor.classes):
            self.editor.current_class = index
            self.class_panel.select(index)

    def set_brush_radius(self, radius: float) -> None:
        radius = max(0.5, min(100.0, radius))
        self.editor.brush_radius = radius
        blocked = self.size_slider.blockSignals(True)
        self.size_slider.setValue(round(radius * 2))
        self.size_slider.blockSignals(blocked)
        self.size_label.setText(f" {2 * radius:.0f} px")
        self.canvas.update_outline()

    def set_classes(self, classes: tuple) -> None:
        """Rename, recolour or add classes; saved to the project file at once."""
        if self.project is None:
            return
        project = self.project.with_classes(list(classes))
        if self.update_project(project):
            self.state.classes_changed.emit(project.classes)  # the store, editor, layers and lists follow

    def update_project(self, project: Project) -> bool:
        """Save ``project`` (same folder, new settings) and use it (``AppState.update_project``)."""
        return self.state.update_project(project)

    def remove_class(self, index: int) -> None:
        """After confirmation, remove a class from the project and from every mask on disk."""
        if self.project is None or not 0 < index < len(self.project.classes):
            self._error("Background (class 0) cannot be removed; pick another class")
            return
        name = self.project.classes[index].name
        answer = QMessageBox.question(
            self,
            "Remove class",
            f"Remove class '{name}'? Its pixels in every mask of this folder become not labelled, and "
            "the classes after it move down one number. This cannot be undone.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        errors = self.store.flush()
        if errors:
            self._error("; ".join(errors))
            return
        self.canvas.setEnabled(False)
        project = self.project

        def failed(error: BaseException) -> None:
            self.canvas.setEnabled(True)
            self._error(str(error))

        self.jobs.submit(lambda: remove_class_from_masks(project, index), self._on_class_removed, failed)

    def _on_class_removed(self, result: object) -> None:
        self.canvas.setEnabled(True)
        project, problems = result  # type: ignore[misc]
        for message in problems:
            self._error(message)
        self.project = project
        self.recent_documents.clear()  # their pixels and undo steps hold the old class numbers
        self.state.classes_changed.emit(project.classes)
        if self.current is not None:
            self.open_image(self.current.path)  # the file on disk is the truth now

    def _on_erase_mode_toggled(self, checked: bool) -> None:
        self.editor.erase_to_background = checked
        if self.project is not None and self.project.eraser_mode != (
            "background" if checked else "unlabelled"
        ):
            self.update_project(
                dataclasses.replace(self.project, eraser_mode="background" if checked else "unlabelled")
            )

    def _on_mask_visible_toggled(self, checked: bool) -> None:
        self.canvas.mask_layer.setVisible(checked)

    def _on_canvas_cursor_moved(self, x: int, y: int) -> None:
        self._pointer = None
        if self.document is None:
            return
        height, width = self.document.shape
        if 0 <= x < width and 0 <= y < height:
            self._pointer = (x, y)
            value = int(self.document.mask[y, x])
            name = "not labelled" if value == IGNORE_INDEX else self.editor.classes[value].name
            self.position_label.setText(f"x {x}  y {y}  {name}")
        else:
            self.position_label.setText("")

    def _on_canvas_cursor_left(self) -> None:
        self._pointer = None
        self.position_label.setText("")

    def pick_class_under_pointer(self) -> None:
        """Make the class of the pixel under the pointer the one painted (napari's picker)."""
        if self.document is None or self._pointer is None:
            return
        x, y = self._pointer
        value = int(self.document.mask[y, x])
        if value == IGNORE_INDEX:
            self.statusBar().showMessage("Not labelled here: no class to pick", 3000)
            return
        self.set_class(value)
        self.statusBar().showMessage(f"Painting {self.editor.classes[value].name}", 3000)

    def confirm(self, title: str, text: str) -> bool:
        """Ask a yes/no question (tests answer it by replacing this method)."""
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes
