"""Next Uncertain Object: the predicted object the model is least sure of (not painted yet,
not shown yet for this prediction) brought into view with the prompt tool, as the next place to
click. Next Most Uncertain ranks the images; this ranks the objects within one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.prediction.uncertain_objects import UncertainObject, uncertain_objects
from seggui.controllers.editor import MaskEditor
from seggui.controllers.jobs import Jobs
from seggui.state.app_state import AppState
from seggui.state.document import Rect
from seggui.state.model_state import ModelState
from seggui.state.tool_state import ToolState


class NextUncertainObject(QObject):
    """Steps through the uncertain objects of the prediction on screen, most uncertain first."""

    region_wanted = Signal(object)  # Rect of the image to bring into view

    def __init__(
        self,
        app: AppState,
        models: ModelState,
        editor: MaskEditor,
        tools: ToolState,
        jobs: Jobs,
        tell: Callable[[str], None],
    ) -> None:
        super().__init__(jobs)
        self.app, self.models, self.editor, self.tools, self.jobs = app, models, editor, tools, jobs
        self.tell = tell
        """Says where to click (once the prompt tool has prepared the image)."""
        self._visited: tuple[int, set[tuple[int, int, int, int]]] = (0, set())
        """The prediction (its id) whose objects were shown, and their boxes."""

    def step(self) -> None:
        """Bring the predicted object the model is least sure of (not painted, not shown yet for
        this prediction) into view with the prompt tool chosen: the next place to click."""
        current, shown = self.app.current, self.models.shown
        if current is None or shown is None or not self.models.is_shown(current.path):
            self.app.tell("Next Uncertain Object needs a prediction on screen: train or load a model", 8000)
            return
        prediction = shown.prediction
        if prediction.uncertainty_map is None:
            self.app.tell(
                "This prediction has no uncertainty map (it was read from a file): predict again", 8000
            )
            return
        mask = self.editor.document.mask.copy() if self.editor.document is not None else current.mask
        path = current.path
        self.jobs.submit(
            lambda: uncertain_objects(prediction.classes, prediction.uncertainty_map, mask),
            lambda found: self._show_object(path, id(prediction), found),
            lambda error: self.app.report(f"Cannot rank the objects: {error}"),
            key="objects",
        )

    def _show_object(self, path: Path, prediction: int, found: list[UncertainObject]) -> None:
        if self.app.current is None or self.app.current.path != path:
            return
        if not found:
            self.app.tell("The model is sure of every object it predicts here, or you painted them", 8000)
            return
        seen, boxes = self._visited
        if seen != prediction or all(item.box in boxes for item in found):
            boxes = set()
        number, item = next((n, o) for n, o in enumerate(found, start=1) if o.box not in boxes)
        boxes.add(item.box)
        self._visited = (prediction, boxes)
        x0, y0, x1, y1 = item.box
        margin = max(16, (x1 - x0 + y1 - y0) // 2)
        self.region_wanted.emit(
            Rect(x0 - margin, y0 - margin, x1 - x0 + 1 + 2 * margin, y1 - y0 + 1 + 2 * margin)
        )
        self.tools.set_tool("prompt")
        classes = self.app.classes
        name = (
            classes[item.class_index].name if item.class_index < len(classes) else f"class {item.class_index}"
        )
        self.tell(
            f"Uncertain object {number} of {len(found)}: {name}, unsure of {item.unsure:,} of its "
            f"{item.pixels:,} pixels; click inside it at ({item.x}, {item.y}) to correct it, "
            "or paint it"
        )
