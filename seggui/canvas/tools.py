"""Canvas tools: objects with press/move/release in image coordinates. No widgets here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication

from seggui.controllers.editor import MaskEditor
from seggui.controllers.prompting import PromptController
from seggui.state.tool_state import SIMILAR, TOOL_NAMES

BRUSH_OUTLINE, PATH, POLYGON, PROMPT, NO_OVERLAY = "brush outline", "path", "polygon", "prompt", "none"
"""What the canvas draws over the image for a tool: the brush's circle under the pointer, the
path being drawn, a polygon's vertices and a line to the pointer, a prompt's box being dragged,
or nothing."""
DRAG_PIXELS = 5
"""A press moved farther than this on screen is a box, not a click."""


class Tool(Protocol):
    name: str
    overlay: str
    cursor: Qt.CursorShape

    def press(self, pos: QPointF) -> None: ...
    def move(self, pos: QPointF) -> None: ...
    def release(self, pos: QPointF) -> None: ...


class BrushTool:
    """Round brush; the eraser is a brush that paints the project's "erased" value."""

    def __init__(self, editor: MaskEditor, *, eraser: bool = False) -> None:
        self.editor = editor
        self.eraser = eraser
        self.name = "eraser" if eraser else "brush"
        self.overlay, self.cursor = BRUSH_OUTLINE, Qt.CursorShape.CrossCursor
        self._last: QPointF | None = None

    def _value(self) -> int:
        return self.editor.erase_value if self.eraser else self.editor.tools.class_index

    def press(self, pos: QPointF) -> None:
        if not self.editor.begin_edit(self.name):
            return
        self._last = pos
        self.editor.paint_segment(pos, pos, self._value())

    def move(self, pos: QPointF) -> None:
        if self._last is None:
            return
        self.editor.paint_segment(self._last, pos, self._value())
        self._last = pos

    def release(self, pos: QPointF) -> None:
        if self._last is None:
            return
        self._last = None
        self.editor.end_edit()


class FillTool:
    """Fill under the click as the tool state says: the connected area of the same label
    (``SAME_LABEL``), or the connected pixels that look alike in the image, within the
    tolerance (``SIMILAR``)."""

    name = "fill"
    overlay, cursor = NO_OVERLAY, Qt.CursorShape.PointingHandCursor

    def __init__(self, editor: MaskEditor) -> None:
        self.editor = editor

    def press(self, pos: QPointF) -> None:
        tools = self.editor.tools
        if self.editor.begin_edit(self.name):
            if tools.fill_mode == SIMILAR:
                self.editor.fill_similar(pos, tools.fill_tolerance, tools.class_index)
            else:
                self.editor.flood_fill(pos, tools.class_index)
            self.editor.end_edit()

    def move(self, pos: QPointF) -> None:
        return

    def release(self, pos: QPointF) -> None:
        return


class LassoTool:
    """Freehand lasso: drag a closed outline; its inside is filled on release."""

    name = "lasso"
    overlay, cursor = PATH, Qt.CursorShape.CrossCursor

    def __init__(self, editor: MaskEditor) -> None:
        self.editor = editor
        self.points: list[tuple[float, float]] = []

    def press(self, pos: QPointF) -> None:
        self.points = [(pos.x(), pos.y())]

    def move(self, pos: QPointF) -> None:
        if self.points:
            self.points.append((pos.x(), pos.y()))

    def release(self, pos: QPointF) -> None:
        points, self.points = self.points, []
        _fill_outline(self.editor, self.name, points)


class PolygonTool:
    """Click vertices; double-click or Enter (``finish``) fills the polygon, Escape cancels."""

    name = "polygon"
    overlay, cursor = POLYGON, Qt.CursorShape.CrossCursor

    def __init__(self, editor: MaskEditor) -> None:
        self.editor = editor
        self.points: list[tuple[float, float]] = []

    def press(self, pos: QPointF) -> None:
        self.points.append((pos.x(), pos.y()))

    def move(self, pos: QPointF) -> None:
        return

    def release(self, pos: QPointF) -> None:
        return

    def finish(self) -> None:
        points, self.points = self.points, []
        _fill_outline(self.editor, self.name, points)

    def cancel(self) -> None:
        self.points = []


class PromptTool:
    """Click inside an object for its mask, shift+click a part to leave out, drag a box around
    it; Enter (``finish``) paints the proposal in the current class, Escape (``cancel``) drops it."""

    name = "prompt"
    overlay, cursor = PROMPT, Qt.CursorShape.CrossCursor

    def __init__(self, editor: MaskEditor, prompts: PromptController) -> None:
        self.editor, self.prompts = editor, prompts
        self.zoom = 1.0
        """Screen pixels per image pixel (the canvas keeps it), for telling a drag from a click."""
        self.start: QPointF | None = None
        self.box: tuple[float, float, float, float] | None = None
        """The box being dragged (x0, y0, x1, y1), drawn by the canvas."""

    def press(self, pos: QPointF) -> None:
        self.start, self.box = pos, None

    def move(self, pos: QPointF) -> None:
        start = self.start
        if start is None:
            return
        far = max(abs(pos.x() - start.x()), abs(pos.y() - start.y())) * self.zoom > DRAG_PIXELS
        if far or self.box is not None:
            self.box = (start.x(), start.y(), pos.x(), pos.y())

    def release(self, pos: QPointF) -> None:
        start, box = self.start, self.box
        self.start, self.box = None, None
        if start is None:
            return
        if box is not None:
            self.prompts.set_box(start.x(), start.y(), pos.x(), pos.y())
            return
        shift = bool(QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.prompts.add_point(start.x(), start.y(), include=not shift)

    def finish(self) -> None:
        self.prompts.accept()

    def cancel(self) -> None:
        self.start, self.box = None, None
        self.prompts.drop()


def _fill_outline(editor: MaskEditor, label: str, points: list[tuple[float, float]]) -> None:
    """Fill a closed outline with the current class as one undoable edit."""
    if len(points) >= 3 and editor.begin_edit(label):
        editor.fill_polygon(points, editor.tools.class_index)
        editor.end_edit()


@dataclass(frozen=True)
class ToolInfo:
    """A painting tool as the window offers it: its name, key, menu title and how to make it."""

    name: str
    key: str
    title: str
    make: Callable[[MaskEditor, PromptController], Tool]


TOOLS: tuple[ToolInfo, ...] = (
    ToolInfo("brush", "B", "Brush", lambda editor, _: BrushTool(editor)),
    ToolInfo("eraser", "E", "Eraser", lambda editor, _: BrushTool(editor, eraser=True)),
    ToolInfo("fill", "F", "Fill", lambda editor, _: FillTool(editor)),
    ToolInfo("polygon", "P", "Polygon", lambda editor, _: PolygonTool(editor)),
    ToolInfo("lasso", "L", "Lasso", lambda editor, _: LassoTool(editor)),
    ToolInfo("prompt", "O", "Object Prompt", PromptTool),
)
"""The tools, in tool-bar order: a new tool is one class and one entry here (and its name in
``seggui.state.tool_state.TOOL_NAMES``)."""
assert tuple(info.name for info in TOOLS) == TOOL_NAMES
