"""The window's prompt actions: keep, drop or outline the proposed object, and Model > Prompt
Model (the models with their licences, and Load From File)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QWidget

from model.prompts.catalogue import PROMPT_MODELS, licence
from seggui.canvas.tools import Tool
from seggui.canvas.view import CanvasView
from seggui.controllers.prompting import PromptController
from seggui.widgets.actions import make_action
from seggui.widgets.prompt_model_dialog import WeightsAsker

__all__ = ["PromptActions", "WeightsAsker", "prompt_actions", "show_licences"]


class PromptActions(NamedTuple):
    accept: QAction
    drop: QAction
    to_polygon: QAction
    models: dict[str, QAction]
    """Model > Prompt Model: one checkable action per offered model."""
    load_from_file: QAction
    next_object: QAction


def prompt_actions(
    parent: QWidget,
    prompts: PromptController,
    ask_weights: Callable[[str], None],
    canvas: CanvasView,
    tool_objects: dict[str, Tool],
) -> PromptActions:
    """Keep, drop or outline the proposal; choose the prompt model, or load its files."""
    group = QActionGroup(parent)
    models: dict[str, QAction] = {}
    for info in PROMPT_MODELS:
        action = make_action(
            parent, info.title, lambda _=False, n=info.name: prompts.set_model(n), checkable=True
        )
        action.setStatusTip(f"{info.parameters} parameters; {info.advice}")
        group.addAction(action)
        models[info.name] = action
    if prompts.model_name in models:
        models[prompts.model_name].setChecked(True)
    prompts.model_changed.connect(lambda name: models[name].setChecked(True) if name in models else None)
    accept = make_action(parent, "&Keep Proposed Object", prompts.accept)
    accept.setToolTip("Paint the proposed object in the current class (Enter)")
    drop = make_action(parent, "&Drop Proposed Object", prompts.drop)
    drop.setToolTip("Forget the proposed object and its prompts (Esc)")

    def to_polygon() -> None:
        """The proposed object's outline as the polygon tool's points, to correct and close."""
        points = prompts.outline()
        if points:
            polygon = tool_objects["polygon"]
            prompts.tools.set_tool("polygon")
            polygon.points = points
            canvas.set_tool(polygon)

    outline = make_action(parent, "Proposed Object to P&olygon", to_polygon)
    outline.setToolTip("Turn the proposed object's outline into polygon points to correct, then Enter")

    def follow(proposal: object) -> None:
        for action in (accept, drop, outline):
            action.setEnabled(proposal is not None)

    prompts.proposal_changed.connect(follow)
    follow(None)
    load = make_action(parent, "Load From &File...", lambda: ask_weights(prompts.model_name))
    load.setToolTip("The chosen prompt model's files, downloaded yourself (checked against their SHA-256)")
    next_object = make_action(parent, "Next Uncertain &Object", prompts.objects.step, "N")
    next_object.setToolTip(
        "Bring the predicted object the model is least sure of into view, with the prompt tool: "
        "the next place to click (N)"
    )
    return PromptActions(accept, drop, outline, models, load, next_object)


def show_licences(models: dict[str, QAction]) -> None:
    """Each prompt model's licence beside its name (osam is imported when the menu first opens,
    not when the window starts)."""
    for name, action in models.items():
        if "(" not in action.text():
            action.setText(f"{action.text()} ({licence(name)[0]})")
