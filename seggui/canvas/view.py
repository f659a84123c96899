"""The canvas: image, mask and prediction layers; zoom around the cursor, pan, tool input."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
)

from seggui.canvas.layers import ImageLayer, LabelLayer
from seggui.canvas.slide_layers import SlideImageLayer, SlideMaskLayer
from seggui.canvas.tools import BRUSH_OUTLINE, PATH, POLYGON, PROMPT, Tool

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
VERTEX_MARKER_PX = 7


class CanvasNotice(QLabel):
    """Why the image asked for is not shown, over the whole canvas: it hides the image before
    (whose name the list no longer highlights) and takes the pointer's strokes, so none lands there."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMargin(40)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the reason
        self.setStyleSheet("background: rgb(30, 30, 30); color: rgb(235, 235, 235); font-size: 11pt;")
        self.setVisible(False)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        event.accept()


class CanvasView(QGraphicsView):
    """Shows one image with its layers and feeds left-button input to the active tool."""

    cursor_moved = Signal(int, int)  # image pixel under the cursor
    cursor_left = Signal()  # the pointer left the canvas
    zoom_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.image_layer = ImageLayer()
        self.mask_layer = LabelLayer(z=2)
        self.prediction_layer = LabelLayer(z=1, background=False)
        self.uncertainty_layer = ImageLayer()  # where the model is unsure, over its prediction
        self.uncertainty_layer.setZValue(1.5)
        self.uncertainty_layer.setVisible(False)
        self.slide_layer = SlideImageLayer(z=0)  # a slide's pixels, tile by tile, in place of image_layer
        self.slide_mask_layer = SlideMaskLayer(z=2)  # its chunked mask, in place of mask_layer
        self.slide_prediction_layer = SlideMaskLayer(z=1, background=False)  # its prediction so far
        for item in (
            self.image_layer,
            self.prediction_layer,
            self.uncertainty_layer,
            self.mask_layer,
            self.slide_layer,
            self.slide_mask_layer,
            self.slide_prediction_layer,
        ):
            self.scene().addItem(item)
        self.mask_layer.setOpacity(0.5)
        self.slide_mask_layer.setOpacity(0.5)
        self.prediction_layer.setOpacity(0.4)
        self.slide_prediction_layer.setOpacity(0.4)
        self._outline = QGraphicsEllipseItem()
        self._outline.setPen(QPen(QColor(255, 255, 255, 220), 0))
        self._outline.setZValue(10)
        self._outline.setVisible(False)
        self.scene().addItem(self._outline)
        self._path = QGraphicsPathItem()
        self._path.setPen(QPen(QColor(255, 255, 0), 0))
        self._path.setZValue(11)
        self.scene().addItem(self._path)
        self._rubber_band = QGraphicsPathItem()  # last vertex to the pointer, while drawing a polygon
        self._rubber_band.setPen(QPen(QColor(255, 255, 0), 0, Qt.PenStyle.DashLine))
        self._rubber_band.setZValue(11)
        self.scene().addItem(self._rubber_band)
        self._vertices = QGraphicsPathItem()  # a small square on each vertex clicked
        self._vertices.setPen(QPen(QColor(0, 0, 0), 0))
        self._vertices.setBrush(QColor(255, 255, 0))
        self._vertices.setZValue(12)
        self.scene().addItem(self._vertices)
        self.proposal_item = QGraphicsPixmapItem()  # a prompt's proposed object, not yet painted
        self.proposal_item.setZValue(3)
        self.scene().addItem(self.proposal_item)
        self._prompt_marks: dict[bool, QGraphicsPathItem] = {}  # included (green) and left out (red) clicks
        for included, colour in ((True, QColor(40, 220, 60)), (False, QColor(235, 40, 40))):
            marks = QGraphicsPathItem()
            marks.setPen(QPen(QColor(255, 255, 255), 0))
            marks.setBrush(colour)
            marks.setZValue(12)
            self.scene().addItem(marks)
            self._prompt_marks[included] = marks
        self._box = QGraphicsPathItem()  # the prompt box being dragged, or the proposal's box
        self._box.setPen(QPen(QColor(255, 255, 0), 0, Qt.PenStyle.DashLine))
        self._box.setZValue(11)
        self.scene().addItem(self._box)
        self._marked: tuple[list, list, tuple | None] = ([], [], None)
        self._pointer_scene: QPointF | None = None
        self.tool: Tool | None = None
        self._panning: QPointF | None = None
        self._space_down = False
        self._painting = False
        self._auto_fit = True  # keep fitting on resize until the user zooms or pans
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setMouseTracking(True)
        self._image_rect = QRectF()
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(30, 30, 30))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.notice = CanvasNotice(self.viewport())

    def show_notice(self, title: str, text: str) -> None:
        """Cover the canvas with ``title`` and ``text`` (an image that cannot be shown, and why)."""
        self.notice.setText(f"<b>{_escaped(title)}</b><br><br>{_escaped(text)}")
        self.notice.setGeometry(self.viewport().rect())
        self.notice.setVisible(True)
        self.notice.raise_()

    def clear_notice(self) -> None:
        self.notice.setVisible(False)

    def show_proposal(self, image: QImage | None, x: int = 0, y: int = 0) -> None:
        """Draw a prompt's proposal (``render_proposal``) with its top-left at image pixel
        (``x``, ``y``); None removes it."""
        if image is None or image.isNull():
            self.proposal_item.setPixmap(QPixmap())
            return
        self.proposal_item.setPixmap(QPixmap.fromImage(image))
        self.proposal_item.setPos(x, y)

    def mark_prompts(
        self,
        points: list[tuple[float, float]],
        labels: list[int],
        box: tuple[float, float, float, float] | None,
    ) -> None:
        """Mark a proposal's clicks (green: inside, red: left out) and its box."""
        self._marked = (list(points), list(labels), box)
        self._show_prompt_marks()

    def _show_prompt_marks(self) -> None:
        points, labels, box = self._marked
        half = VERTEX_MARKER_PX / 2 / max(self.zoom, 1e-6)
        for included, item in self._prompt_marks.items():
            path = QPainterPath()
            for (x, y), label in zip(points, labels):
                if (label == 1) == included:
                    path.addEllipse(QPointF(x, y), half, half)
            item.setPath(path)
        dragged = getattr(self.tool, "box", None) if self.tool is not None else None
        shown = dragged or box
        path = QPainterPath()
        if shown is not None:
            x0, y0, x1, y1 = shown
            path.addRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        self._box.setPath(path)

    # -- view --------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_scene_size(self, width: int, height: int) -> None:
        """Show an image of this size; the scene extends well past it so the view can always
        scroll, which zooming around the cursor and panning near the border need."""
        self._image_rect = QRectF(0, 0, width, height)
        margin = 4.0 * max(width, height) + 20_000.0
        self.scene().setSceneRect(self._image_rect.adjusted(-margin, -margin, margin, margin))
        self.fit_to_window()

    @property
    def min_zoom(self) -> float:
        """The farthest out one can zoom: ``MIN_ZOOM``, or half the whole-image view of a slide."""
        rect, viewport = self._image_rect, self.viewport().rect()
        if rect.isEmpty() or viewport.isEmpty():
            return MIN_ZOOM
        fit = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        return min(MIN_ZOOM, fit / 2)

    def visible_scene_rect(self) -> QRectF:
        """The part of the scene (image pixels) the viewport shows."""
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def show_region(self, rect: QRectF) -> None:
        """Fit ``rect`` of the image (a region Next Most Uncertain chose) into the view."""
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = False
        self.zoom_changed.emit(self.zoom)

    def fit_to_window(self) -> None:
        rect = self._image_rect
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = True
        self.zoom_changed.emit(self.zoom)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.notice.setGeometry(self.viewport().rect())
        if self._auto_fit:
            self.fit_to_window()

    def actual_size(self) -> None:
        """One screen pixel per image pixel, the image's top-left corner at the view's."""
        self._auto_fit = False
        self.resetTransform()
        offset = self.viewportTransform().map(self._image_rect.topLeft())
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(offset.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(offset.y()))
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the scene point under ``anchor`` (view coordinates) in place."""
        self._auto_fit = False
        factor = max(self.min_zoom / self.zoom, min(MAX_ZOOM / self.zoom, factor))
        pointer = anchor
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        inverse, _ = self.viewportTransform().inverted()
        before = inverse.map(anchor)
        self.scale(factor, factor)
        drift = self.viewportTransform().map(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(drift.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(drift.y()))
        self.zoom_changed.emit(self.zoom)
        self._outline_to_pointer(pointer)
        self._show_polygon_guides()
        self._show_prompt_marks()

    def _outline_to_pointer(self, pointer: QPointF | None = None) -> None:
        """Put the brush outline under the pointer (``pointer`` in view coordinates, else where
        the system says it is) again after the view moved beneath it."""
        if not self._outline.isVisible():
            return
        where = self._pointer_in_scene(pointer)
        if where is not None:
            self.update_outline(where)

    def _pointer_in_scene(self, pointer: QPointF | None = None) -> QPointF | None:
        """The scene point under the pointer, None when it is not over the canvas."""
        where = pointer if pointer is not None else QPointF(self.viewport().mapFromGlobal(QCursor.pos()))
        if not self.viewport().rect().contains(where.toPoint()):
            return None
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(where)

    def leaveEvent(self, event) -> None:
        self._outline.setVisible(False)
        self.cursor_left.emit()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25**steps, event.position())
        event.accept()

    # -- brush outline -----------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        """Paint with ``tool`` from now on: its cursor, its overlay."""
        self.tool = tool
        self.viewport().setCursor(tool.cursor)
        self.update_outline()
        self._show_path()

    def _restore_cursor(self) -> None:
        if self.tool is not None:
            self.viewport().setCursor(self.tool.cursor)
        else:
            self.viewport().unsetCursor()

    def update_outline(self, scene_pos: QPointF | None = None) -> None:
        """Draw the brush outline at ``scene_pos``; without one, where it is, or under the
        pointer if that is over the canvas (never at a stale place such as the image corner)."""
        tool = self.tool
        if tool is None or tool.overlay != BRUSH_OUTLINE:
            self._outline.setVisible(False)
            return
        if scene_pos is None and self._outline.isVisible():
            scene_pos = self._outline.rect().center()
        elif scene_pos is None:
            scene_pos = self._pointer_in_scene()
        if scene_pos is None:
            return
        r = tool.editor.tools.brush_radius
        self._outline.setRect(QRectF(scene_pos.x() - r, scene_pos.y() - r, 2 * r, 2 * r))
        self._outline.setVisible(True)

    # -- input -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        middle = event.button() == Qt.MouseButton.MiddleButton
        if middle or (event.button() == Qt.MouseButton.LeftButton and self._space_down):
            self._panning = event.position()
            self._auto_fit = False
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is not None:
            self._painting = True
            if self.tool.overlay == PROMPT:
                self.tool.zoom = self.zoom
            self.tool.press(self._exact_pos(event))
            self._show_path()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        pos = self._exact_pos(event)
        self.cursor_moved.emit(int(pos.x() // 1), int(pos.y() // 1))
        self.update_outline(pos)
        self._pointer_scene = pos
        if self._painting and self.tool is not None:
            self.tool.move(pos)
            self._show_path()
        elif self.tool is not None and self.tool.overlay == POLYGON and self.tool.points:
            self._show_polygon_guides()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._panning = None
            self._restore_cursor()
            return
        if self._painting and event.button() == Qt.MouseButton.LeftButton and self.tool is not None:
            self._painting = False
            self.tool.release(self._exact_pos(event))
            self._show_path()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.tool is not None and self.tool.overlay == POLYGON:
            self.tool.finish()
            self._show_path()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        finishes = self.tool is not None and self.tool.overlay in (POLYGON, PROMPT)
        if finishes and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.tool.finish()
            self._show_path()
            return
        if finishes and event.key() == Qt.Key.Key_Escape:
            self.tool.cancel()
            self._show_path()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._restore_cursor()
            return
        super().keyReleaseEvent(event)

    def _exact_pos(self, event: QMouseEvent) -> QPointF:
        """Image coordinates of the cursor with sub-pixel precision, at any zoom."""
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(event.position())

    def _show_path(self) -> None:
        points = (
            getattr(self.tool, "points", None)
            if self.tool is not None and self.tool.overlay in (PATH, POLYGON)
            else None
        )
        path = QPainterPath()
        if points:
            path.moveTo(*points[0])
            for x, y in points[1:]:
                path.lineTo(x, y)
        self._path.setPath(path)
        self._show_polygon_guides()
        self._show_prompt_marks()

    def _show_polygon_guides(self) -> None:
        """While a polygon is drawn: a dashed line from its last vertex to the pointer, and a
        marker on every vertex (a fixed size on screen at any zoom)."""
        points = self.tool.points if self.tool is not None and self.tool.overlay == POLYGON else []
        band, markers = QPainterPath(), QPainterPath()
        if points:
            if self._pointer_scene is not None:
                band.moveTo(*points[-1])
                band.lineTo(self._pointer_scene)
            half = VERTEX_MARKER_PX / 2 / max(self.zoom, 1e-6)
            for x, y in points:
                markers.addRect(QRectF(x - half, y - half, 2 * half, 2 * half))
        self._rubber_band.setPath(band)
        self._vertices.setPath(markers)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
