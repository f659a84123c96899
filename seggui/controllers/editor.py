"""Painting into the mask on screen with the tool state's class and brush, one undo stack per
image; emits what changed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from model.classes import IGNORE_INDEX
from model.storage.slide import SlideReader
from seggui.state.document import Edit, MaskDocument, Rect, similar_pixels
from seggui.state.tool_state import ToolState

UNDO_LIMIT = 200


class EditCommand(QUndoCommand):
    """An already-applied ``Edit`` on the undo stack (the first ``redo`` is a no-op)."""

    def __init__(self, editor: MaskEditor, document: MaskDocument, edit: Edit) -> None:
        super().__init__(edit.label)
        self._editor, self._document, self._edit = editor, document, edit
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._editor._apply(self._document, self._edit, undo=False)

    def undo(self) -> None:
        self._editor._apply(self._document, self._edit, undo=True)


class MaskEditor(QObject):
    """Paints into the current ``MaskDocument`` and records undoable edits, one stack per image."""

    region_changed = Signal(object)  # Rect of the current document that needs repainting
    edited = Signal(object, object)  # the MaskDocument whose pixels changed, [(tile row, col, new values)]
    fill_limited = Signal(str)  # a fill on a slide met the limit of its reach: what happened

    def __init__(self, tools: ToolState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        """The class, brush radius, eraser mode and keep-labels choice painted with."""
        self.read_only = False
        """Set while another window edits the folder: nothing can be painted."""
        self.image: np.ndarray | SlideReader | None = None
        """The raw image of the open mask (a slide's reader), for filling by similarity."""
        self.document: MaskDocument | None = None
        self.undo_group = QUndoGroup(self)
        self._stacks: dict[int, QUndoStack] = {}
        tools.keep_labels_changed.connect(self._on_keep_labels_changed)

    @property
    def erase_value(self) -> int:
        """What the eraser paints: background or "not labelled" (the project's eraser mode)."""
        return 0 if self.tools.erase_to_background else IGNORE_INDEX

    def set_document(self, document: MaskDocument | None) -> None:
        """Edit ``document`` from now on (its undo history is kept while it lives)."""
        self.document = document
        if document is not None:
            document.keep_labels = self.tools.keep_labels
        if document is None:
            self.undo_group.setActiveStack(None)
            return
        stack = self._stacks.get(id(document))
        if stack is None:
            stack = QUndoStack(self.undo_group)
            stack.setUndoLimit(UNDO_LIMIT)
            self._stacks[id(document)] = stack
        self.undo_group.setActiveStack(stack)

    def forget_document(self, document: MaskDocument) -> None:
        """Drop the undo history of a document that is no longer open."""
        stack = self._stacks.pop(id(document), None)
        if stack is not None:
            self.undo_group.removeStack(stack)
            stack.deleteLater()

    def _on_keep_labels_changed(self, on: bool) -> None:
        if self.document is not None:
            self.document.keep_labels = on

    # -- used by tools ------------------------------------------------------------------------
    def begin_edit(self, label: str) -> bool:
        if self.document is None or self.read_only:
            return False
        self.document.begin_edit(label)
        return True

    def end_edit(self) -> None:
        document = self.document
        if document is None:
            return
        edit = document.end_edit()
        if edit is not None:
            self.undo_group.activeStack().push(EditCommand(self, document, edit))
            self.edited.emit(document, [(ty, tx, new) for ty, tx, _, new in edit.tiles])

    def paint_segment(self, start: QPointF, end: QPointF, value: int) -> None:
        if self.document is not None:
            rect = self.document.paint_segment(
                start.x(), start.y(), end.x(), end.y(), self.tools.brush_radius, value
            )
            self._changed(rect)

    def flood_fill(self, pos: QPointF, value: int) -> None:
        if self.document is not None:
            self._filled(self.document.flood_fill(int(pos.x()), int(pos.y()), value))

    def fill_similar(self, pos: QPointF, tolerance: float, value: int) -> None:
        """Fill the connected pixels whose image values lie within ``tolerance`` of the clicked
        one (a magic wand), whatever their labels."""
        document = self.document
        x, y = int(pos.x()), int(pos.y())
        if document is None or not (0 <= x < document.shape[1] and 0 <= y < document.shape[0]):
            return
        bounds = document.fill_bounds(x, y)
        raw = self._image_in(bounds, document.shape)
        if raw is not None:
            similar = similar_pixels(raw, x - bounds.x, y - bounds.y, tolerance)
            self._filled(document.fill_connected(x, y, similar, value, bounds))

    def _image_in(self, bounds: Rect, shape: tuple[int, int]) -> np.ndarray | None:
        """The raw image within ``bounds`` (None without an image of the mask's size)."""
        image = self.image
        if isinstance(image, SlideReader) and image.shape == shape:
            return image.read_region(0, bounds.y, bounds.x, bounds.height, bounds.width)
        if isinstance(image, np.ndarray) and image.shape[:2] == shape:
            return image[bounds.y : bounds.y + bounds.height, bounds.x : bounds.x + bounds.width]
        return None

    def _filled(self, rect: Rect) -> None:
        self._changed(rect)
        if self.document is not None and self.document.fill_stopped:
            self.fill_limited.emit(self.document.fill_stopped)

    def fill_polygon(self, points: list[tuple[float, float]], value: int) -> None:
        if self.document is not None:
            self._changed(self.document.fill_polygon(points, value))

    def paint_where(self, rect: Rect, where: np.ndarray, value: int, label: str) -> bool:
        """Paint ``value`` where ``where`` (``rect``'s size) as one undoable edit, under the
        rules of a stroke; False if nothing changed."""
        if not self.begin_edit(label):
            return False
        assert self.document is not None
        changed = self.document.paint_where(rect, where, value)
        self._changed(changed)
        self.end_edit()
        return bool(changed.width and changed.height)

    def replace_where(
        self, where: np.ndarray, values: np.ndarray, label: str, rect: Rect | None = None
    ) -> bool:
        """Set the masked pixels to ``values`` as one undoable edit; False if nothing changed.
        With ``rect``, the arrays cover that rectangle alone (a part of a slide)."""
        if not self.begin_edit(label):
            return False
        assert self.document is not None
        if rect is None:
            changed = self.document.replace_where(where, values)
        else:
            changed = self.document.replace_in(rect, where, values)
        self._changed(changed)
        self.end_edit()
        return bool(changed.width and changed.height)

    def _changed(self, rect: Rect) -> None:
        if rect.width and rect.height:
            self.region_changed.emit(rect)

    def _apply(self, document: MaskDocument, edit: Edit, *, undo: bool) -> None:
        rect = document.apply(edit, undo=undo)
        if document is self.document:
            self.region_changed.emit(rect)
        self.edited.emit(document, [(ty, tx, old if undo else new) for ty, tx, old, new in edit.tiles])
