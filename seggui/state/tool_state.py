"""How the user paints: the tool, the class, the brush, the fill mode and tolerance, whether only
unlabelled pixels are painted and what the eraser leaves. Setters check and emit; nothing else
emits these signals."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal

from model.storage.project import Project
from seggui.state.app_state import AppState

TOOL_NAMES = ("brush", "eraser", "fill", "polygon", "lasso", "prompt")
SIMILAR, SAME_LABEL = "similar pixels", "same label"
"""Fill modes: the connected pixels that look alike in the image (a magic wand), or the
connected area of the clicked label (such as the inside of an outline)."""
BRUSH_RADII = (0.5, 100.0)
"""The smallest and largest brush radius, in image pixels."""


class ToolState(QObject):
    """The painting choices of one window; the class follows the project's classes and the
    eraser mode is the project's (saved in its file)."""

    tool_changed = Signal(str)
    class_changed = Signal(int)
    brush_radius_changed = Signal(float)
    fill_changed = Signal(str, float)  # mode, tolerance (0..1 of the image's value range)
    keep_labels_changed = Signal(bool)
    erase_mode_changed = Signal(bool)  # True: the eraser paints background (class 0)

    def __init__(self, app: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.tool = "brush"
        self.class_index = 1
        self.brush_radius = 8.0
        self.fill_mode = SIMILAR
        self.fill_tolerance = 0.1
        self.keep_labels = False
        """Brush, fill, polygon and lasso leave labelled pixels as they are."""
        app.project_opened.connect(self._follow_project)
        app.classes_changed.connect(lambda classes: self._clamp_class(len(classes)))

    @property
    def erase_to_background(self) -> bool:
        project = self.app.project
        return project is not None and project.eraser_mode == "background"

    def set_tool(self, name: str) -> None:
        if name not in TOOL_NAMES:
            raise ValueError(f"no tool {name!r}; the tools are {', '.join(TOOL_NAMES)}")
        if name != self.tool:
            self.tool = name
            self.tool_changed.emit(name)

    def set_class(self, index: int) -> bool:
        """Paint class ``index`` (False, nothing changed, if the project has no such class)."""
        if not 0 <= index < len(self.app.classes):
            return False
        if index != self.class_index:
            self.class_index = index
            self.class_changed.emit(index)
        return True

    def set_brush_radius(self, radius: float) -> None:
        """The brush radius in image pixels, kept within ``BRUSH_RADII``."""
        radius = float(min(max(radius, BRUSH_RADII[0]), BRUSH_RADII[1]))
        if radius != self.brush_radius:
            self.brush_radius = radius
            self.brush_radius_changed.emit(radius)

    def set_fill(self, mode: str, tolerance: float | None = None) -> None:
        """Fill ``SIMILAR`` or ``SAME_LABEL`` pixels; ``tolerance`` 0..1 for similar ones."""
        if mode not in (SIMILAR, SAME_LABEL):
            raise ValueError(f"no fill mode {mode!r}")
        tolerance = self.fill_tolerance if tolerance is None else float(tolerance)
        if not 0.0 <= tolerance <= 1.0:
            raise ValueError(f"a fill tolerance lies in 0..1, got {tolerance}")
        if (mode, tolerance) != (self.fill_mode, self.fill_tolerance):
            self.fill_mode, self.fill_tolerance = mode, tolerance
            self.fill_changed.emit(mode, tolerance)

    def set_keep_labels(self, on: bool) -> None:
        if bool(on) != self.keep_labels:
            self.keep_labels = bool(on)
            self.keep_labels_changed.emit(self.keep_labels)

    def set_erase_to_background(self, on: bool) -> None:
        """The eraser paints background (True) or "not labelled"; saved in the project file."""
        project = self.app.project
        if project is None or bool(on) == self.erase_to_background:
            return
        mode = "background" if on else "unlabelled"
        if self.app.update_project(dataclasses.replace(project, eraser_mode=mode)):
            self.erase_mode_changed.emit(bool(on))

    def _follow_project(self, project: Project) -> None:
        self._clamp_class(len(project.classes))
        self.erase_mode_changed.emit(self.erase_to_background)

    def _clamp_class(self, count: int) -> None:
        if self.class_index >= count:
            self.class_index = max(0, min(1, count - 1))
            self.class_changed.emit(self.class_index)
