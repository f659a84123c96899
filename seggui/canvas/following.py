"""The canvas following the state: the image and mask on screen, the prediction and its heat
map, the tool and brush, how labels are drawn. The canvas writes only its own layers here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from model.compute.memory_budget import MemoryBudget
from seggui.canvas.slide_layers import TILE_BYTES
from seggui.canvas.tools import Tool
from seggui.canvas.view import CanvasView
from seggui.controllers.composite_renderer import CompositeRenderer
from seggui.controllers.editor import MaskEditor
from seggui.controllers.image_session import ImageSession
from seggui.controllers.memory_use import DISPLAY_TILES_SHARE
from seggui.controllers.prompting import PromptController
from seggui.controllers.slide_prediction import SlidePredictions
from seggui.controllers.slide_tiles import SlideTiles
from seggui.rendering.labels import render_proposal
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.label_display import MASK, PREDICTION, LabelDisplay
from seggui.state.loaded_image import LoadedImage
from seggui.state.loaded_slide import LoadedSlide
from seggui.state.model_state import ModelState, PredictionOnScreen
from seggui.state.tool_state import ToolState

NO_FOLDER = (
    "No folder open",
    "Open a folder of images: File > Open Folder (Ctrl+O), or one you used before: File > Open Recent.",
)
"""What the canvas says before any folder is open."""

if TYPE_CHECKING:
    from model.prediction.predict_slide import SlideOutput


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
    display: ChannelDisplay,
    slide_tiles: SlideTiles,
    slide_predictions: SlidePredictions,
) -> None:
    """Connect ``canvas`` to what it shows."""

    def image_opened(loaded: LoadedImage) -> None:
        canvas.clear_notice()
        slide_tiles.show(None)
        canvas.slide_layer.set_slide(None)
        canvas.slide_mask_layer.set_mask(None)
        canvas.image_layer.set_image(loaded.display)
        canvas.mask_layer.set_labels(loaded.mask, app.classes, loaded.mask_image)
        height, width = loaded.mask.shape
        canvas.set_scene_size(width, height)

    def slide_opened(slide: LoadedSlide) -> None:
        canvas.clear_notice()
        canvas.image_layer.set_image(QImage())
        canvas.mask_layer.set_labels(None, ())
        prediction_cleared()
        slide_tiles.show(slide.reader, slide.views)
        canvas.slide_layer.set_slide(slide_tiles, slide.overview)
        canvas.slide_mask_layer.set_mask(slide.mask, app.classes)
        height, width = slide.shape
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
        canvas.slide_mask_layer.set_classes(classes)
        canvas.prediction_layer.set_classes(classes)
        canvas.slide_prediction_layer.set_classes(classes)

    def slide_prediction_shown(output: SlideOutput | None) -> None:
        canvas.slide_prediction_layer.set_mask(output.classes if output is not None else None, app.classes)

    def view_moved(*_) -> None:
        if app.slide is not None:
            seen = canvas.visible_scene_rect()
            slide_predictions.set_view(seen.top(), seen.left(), seen.bottom(), seen.right())

    app.image_opened.connect(image_opened)
    app.slide_opened.connect(slide_opened)
    slide_tiles.tile_ready.connect(canvas.slide_layer.tile_ready)
    display.views_changed.connect(slide_tiles.set_views)
    renderer.overview_rendered.connect(canvas.slide_layer.set_overview)
    editor.region_changed.connect(canvas.slide_mask_layer.refresh)
    slide_predictions.output_shown.connect(slide_prediction_shown)
    slide_predictions.preview_shown.connect(
        lambda preview, _: canvas.slide_prediction_layer.set_mask(preview, app.classes)
    )
    slide_predictions.window_predicted.connect(lambda item: canvas.slide_prediction_layer.refresh(item.rect))
    slide_predictions.region_wanted.connect(lambda r: canvas.show_region(QRectF(r.x, r.y, r.width, r.height)))
    scrolled = (canvas.horizontalScrollBar().valueChanged, canvas.verticalScrollBar().valueChanged)
    for moved in (canvas.zoom_changed, *scrolled):
        moved.connect(view_moved)

    def project_opened(project) -> None:
        """Nothing of the last folder stays on screen while the new one is listed."""
        canvas.clear_notice()
        slide_tiles.show(None)
        canvas.slide_layer.set_slide(None)
        canvas.slide_mask_layer.set_mask(None)
        canvas.image_layer.set_image(QImage())
        canvas.mask_layer.set_labels(None, ())
        canvas.mask_layer.set_classes(project.classes)
        prediction_cleared()

    app.project_opened.connect(project_opened)
    canvas.show_notice(*NO_FOLDER)
    app.classes_changed.connect(classes_changed)
    session.notice_shown.connect(canvas.show_notice)
    renderer.rendered.connect(canvas.image_layer.set_image)
    editor.region_changed.connect(canvas.mask_layer.refresh)
    models.prediction_shown.connect(prediction_shown)
    models.prediction_cleared.connect(prediction_cleared)
    models.prediction_visible_changed.connect(canvas.prediction_layer.setVisible)
    models.prediction_visible_changed.connect(canvas.slide_prediction_layer.setVisible)
    models.uncertainty_visible_changed.connect(canvas.uncertainty_layer.setVisible)
    canvas.prediction_layer.setVisible(models.prediction_visible)
    canvas.slide_prediction_layer.setVisible(models.prediction_visible)
    canvas.uncertainty_layer.setVisible(models.uncertainty_visible)
    tools.tool_changed.connect(lambda name: canvas.set_tool(tool_objects[name]))
    tools.brush_radius_changed.connect(lambda _: canvas.update_outline())
    canvas.set_tool(tool_objects[tools.tool])
    drawn_as = {
        MASK: (canvas.mask_layer, canvas.slide_mask_layer),
        PREDICTION: (canvas.prediction_layer, canvas.slide_prediction_layer),
    }

    def style_changed(name: str, style: str) -> None:
        for item in drawn_as[name]:
            item.set_style(style)

    def opacity_changed(name: str, opacity: float) -> None:
        for item in drawn_as[name]:
            item.setOpacity(opacity)

    def mask_visible_changed(visible: bool) -> None:
        for item in drawn_as[MASK]:
            item.setVisible(visible)

    labels.mask_visible_changed.connect(mask_visible_changed)
    mask_visible_changed(labels.mask_visible)
    labels.style_changed.connect(style_changed)
    labels.opacity_changed.connect(opacity_changed)
    for name in drawn_as:
        style_changed(name, labels.styles[name])
        opacity_changed(name, labels.opacity[name])

    def hidden_changed(hidden: frozenset[int]) -> None:
        canvas.mask_layer.set_hidden(hidden)
        canvas.slide_mask_layer.set_hidden(hidden)
        canvas.prediction_layer.set_hidden(hidden)
        canvas.slide_prediction_layer.set_hidden(hidden)

    labels.hidden_changed.connect(hidden_changed)

    def budget_changed(budget: MemoryBudget) -> None:
        """The mask's and the prediction's coloured slide tiles share what the slide's own leave."""
        tiles = int(budget.share("slide display") * (1 - DISPLAY_TILES_SHARE) / 2) // TILE_BYTES
        canvas.slide_mask_layer.set_tile_budget(tiles)
        canvas.slide_prediction_layer.set_tile_budget(tiles)

    app.memory_budget_changed.connect(budget_changed)
    budget_changed(app.memory_budget)


def follow_prompts(canvas: CanvasView, app: AppState, tools: ToolState, prompts: PromptController) -> None:
    """Draw a prompt's proposal over the image in the current class's colour, and its clicks."""

    def show(*_: object) -> None:
        proposal = prompts.proposal
        classes = app.classes
        if proposal is None or not 0 <= tools.class_index < len(classes):
            canvas.show_proposal(None)
            return
        colour = classes[tools.class_index].color
        canvas.show_proposal(render_proposal(proposal.mask, colour), proposal.window.x, proposal.window.y)

    prompts.proposal_changed.connect(show)
    tools.class_changed.connect(show)
    app.classes_changed.connect(show)
    prompts.prompts_changed.connect(lambda p: canvas.mark_prompts(p.points, p.labels, p.box))
    prompts.objects.region_wanted.connect(lambda r: canvas.show_region(QRectF(r.x, r.y, r.width, r.height)))
