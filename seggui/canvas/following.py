"""The canvas following the state: the image and mask on screen, the prediction and its heat
map, the tool and brush, how labels are drawn. The canvas writes only its own layers here."""

from __future__ import annotations

from PySide6.QtGui import QImage

from seggui.canvas.tools import Tool
from seggui.canvas.view import CanvasView
from seggui.controllers.composite_renderer import CompositeRenderer
from seggui.controllers.editor import MaskEditor
from seggui.controllers.image_session import ImageSession
from seggui.state.app_state import AppState
from seggui.state.label_display import MASK, PREDICTION, LabelDisplay
from seggui.state.loaded_image import LoadedImage
from seggui.state.model_state import ModelState, PredictionOnScreen
from seggui.state.tool_state import ToolState


def follow_state(
    canvas: CanvasView,
    *,
    app: AppState,
    tools: ToolState,
    tool_objects: dict[str, Tool],
    labels: LabelDisplay,
    models: ModelState,
    editor: MaskEditor,
    session: ImageSession,
    renderer: CompositeRenderer,
) -> None:
    """Connect ``canvas`` to what it shows."""
    layer = {MASK: canvas.mask_layer, PREDICTION: canvas.prediction_layer}

    def image_opened(loaded: LoadedImage) -> None:
        canvas.clear_notice()
        canvas.image_layer.set_image(loaded.display)
        canvas.mask_layer.set_labels(loaded.mask, app.classes, loaded.mask_image)
        height, width = loaded.mask.shape
        canvas.set_scene_size(width, height)

    def prediction_shown(shown: PredictionOnScreen) -> None:
        canvas.prediction_layer.set_labels(shown.classes, app.classes, shown.rendered)
        heat = shown.rendered.uncertainty if shown.rendered is not None else None
        canvas.uncertainty_layer.set_image(heat if heat is not None else QImage())

    def prediction_cleared() -> None:
        canvas.prediction_layer.set_labels(None, ())
        canvas.uncertainty_layer.set_image(QImage())

    def classes_changed(classes) -> None:
        canvas.mask_layer.set_classes(classes)
        canvas.prediction_layer.set_classes(classes)

    app.image_opened.connect(image_opened)
    app.project_opened.connect(lambda project: canvas.mask_layer.set_classes(project.classes))
    app.classes_changed.connect(classes_changed)
    session.notice_shown.connect(canvas.show_notice)
    renderer.rendered.connect(canvas.image_layer.set_image)
    editor.region_changed.connect(canvas.mask_layer.refresh)
    models.prediction_shown.connect(prediction_shown)
    models.prediction_cleared.connect(prediction_cleared)
    models.prediction_visible_changed.connect(canvas.prediction_layer.setVisible)
    models.uncertainty_visible_changed.connect(canvas.uncertainty_layer.setVisible)
    canvas.prediction_layer.setVisible(models.prediction_visible)
    canvas.uncertainty_layer.setVisible(models.uncertainty_visible)
    tools.tool_changed.connect(lambda name: canvas.set_tool(tool_objects[name]))
    tools.brush_radius_changed.connect(lambda _: canvas.update_outline())
    canvas.set_tool(tool_objects[tools.tool])
    labels.style_changed.connect(lambda name, style: layer[name].set_style(style))
    labels.opacity_changed.connect(lambda name, opacity: layer[name].setOpacity(opacity))
    for name, item in layer.items():
        item.set_style(labels.styles[name])
        item.setOpacity(labels.opacity[name])

    def hidden_changed(hidden: frozenset[int]) -> None:
        canvas.mask_layer.set_hidden(hidden)
        canvas.prediction_layer.set_hidden(hidden)

    labels.hidden_changed.connect(hidden_changed)
