"""The window's actions, grouped as its menus group them (named tuples, as labelme groups its
own), each connected to the state or controller it runs and following the state it shows
(enabled, checked). The window adds them all to itself, so their keys work anywhere in it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QFileDialog, QMenuBar, QWidget

from seggui.canvas.tools import TOOLS
from seggui.canvas.view import CanvasView
from seggui.controllers.acceptance import Acceptance
from seggui.controllers.image_session import ImageSession
from seggui.controllers.model_choice import ModelChoice
from seggui.controllers.model_files import MODEL_FILE_PATTERNS
from seggui.controllers.package_export import PackageExport
from seggui.controllers.ranking import Ranking
from seggui.controllers.training import TrainingController
from seggui.controllers.transfer import LabelTransfer
from seggui.rendering.labels import STYLES
from seggui.state.app_state import AppState
from seggui.state.label_display import LAYERS, LabelDisplay
from seggui.state.model_state import ModelState
from seggui.state.tool_state import ToolState
from seggui.widgets.actions import make_action
from seggui.widgets.help import show_about, show_shortcuts
from seggui.widgets.memory_dialog import choose_memory_budget
from seggui.widgets.package_dialog import ask_package_export
from seggui.widgets.plane_bar import PlaneBar
from seggui.widgets.prompt_actions import PromptActions, show_licences
from seggui.widgets.transfer_dialogs import ask_classes_file, ask_export, ask_import


class FileActions(NamedTuple):
    open_folder: QAction
    export: QAction
    import_labels: QAction
    classes_file: QAction
    quit: QAction


class EditActions(NamedTuple):
    undo: QAction
    redo: QAction
    memory: QAction


class ViewActions(NamedTuple):
    fit: QAction
    mask_visible: QAction
    next_image: QAction
    previous_image: QAction
    styles: dict[str, dict[str, QAction]]
    """Per layer (``MASK``, ``PREDICTION``), one checkable action per drawing style."""


class ImageActions(NamedTuple):
    axes: QAction
    next_plane: QAction
    previous_plane: QAction


class ToolActions(NamedTuple):
    tools: dict[str, QAction]
    classes: tuple[QAction, ...]
    """Keys 0-9: paint that class."""
    smaller: QAction
    larger: QAction
    erase_to_background: QAction
    keep_labels: QAction
    pick_class: QAction


class ModelActions(NamedTuple):
    train: QAction
    stop: QAction
    show_prediction: QAction
    show_uncertainty: QAction
    accept_unpainted: QAction
    accept_sure_only: QAction
    accept_all: QAction
    predict_all: QAction
    next_uncertain: QAction
    load_model: QAction
    export_package: QAction


class HelpActions(NamedTuple):
    shortcuts: QAction
    about: QAction


class WindowActions(NamedTuple):
    file: FileActions
    edit: EditActions
    view: ViewActions
    image: ImageActions
    tools: ToolActions
    model: ModelActions
    prompts: PromptActions
    help: HelpActions

    def all(self) -> list[QAction]:
        """Every action, for the window to hold (their keys then work anywhere in it)."""
        found: list[QAction] = []
        for group in self:
            for item in group:
                if isinstance(item, QAction):
                    found.append(item)
                elif isinstance(item, dict):
                    for value in item.values():
                        found.extend(value.values() if isinstance(value, dict) else [value])
                else:
                    found.extend(item)
        return found


def file_actions(
    parent: QWidget, app: AppState, transfer: LabelTransfer, choose_folder: Callable[[], None]
) -> FileActions:
    return FileActions(
        make_action(parent, "&Open Folder...", choose_folder, QKeySequence.StandardKey.Open),
        make_action(parent, "&Export Masks...", lambda: ask_export(parent, app, transfer), "Ctrl+E"),
        make_action(parent, "&Import Labels...", lambda: ask_import(parent, app, transfer), "Ctrl+I"),
        make_action(
            parent, "Classes from a &Labels File...", lambda: ask_classes_file(parent, app, transfer)
        ),
        make_action(parent, "&Quit", parent.close, QKeySequence.StandardKey.Quit),
    )


def view_actions(
    parent: QWidget, canvas: CanvasView, session: ImageSession, labels: LabelDisplay
) -> ViewActions:
    mask_visible = make_action(parent, "Show &Mask", labels.set_mask_visible, "M", checkable=True)
    mask_visible.setChecked(labels.mask_visible)
    labels.mask_visible_changed.connect(mask_visible.setChecked)
    return ViewActions(
        make_action(parent, "&Fit to Window", canvas.fit_to_window, "Ctrl+0"),
        mask_visible,
        make_action(parent, "&Next Image", lambda: session.step_image(1), "PgDown"),
        make_action(parent, "&Previous Image", lambda: session.step_image(-1), "PgUp"),
        style_actions(parent, labels),
    )


def image_actions(parent: QWidget, session: ImageSession, plane_bar: PlaneBar) -> ImageActions:
    axes = make_action(parent, "TIFF &Axes...", session.ask_axes_again)
    axes.setToolTip("Which sizes of the folder's TIFFs without axes in their metadata are channels")
    return ImageActions(
        axes,
        make_action(parent, "Next &Plane", lambda: plane_bar.step(1), "."),
        make_action(parent, "Previous Pla&ne", lambda: plane_bar.step(-1), ","),
    )


def help_actions(parent: QWidget) -> HelpActions:
    return HelpActions(
        make_action(
            parent,
            "&Keyboard Shortcuts",
            lambda: show_shortcuts(parent),
            QKeySequence.StandardKey.HelpContents,
        ),
        make_action(parent, "&About SegGUI", lambda: show_about(parent)),
    )


def edit_actions(parent: QWidget, undo_group: QUndoGroup, app: AppState, settings: QSettings) -> EditActions:
    undo = undo_group.createUndoAction(parent, "&Undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = undo_group.createRedoAction(parent, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    memory = make_action(parent, "&Memory Budget...", lambda: choose_memory_budget(parent, app, settings))
    memory.setStatusTip("How much the window's caches may keep in memory, share by share")
    return EditActions(undo, redo, memory)


def remember_styles(labels: LabelDisplay, settings: QSettings) -> None:
    """Draw the layers as last chosen, and keep each new choice for next time."""
    for layer in LAYERS:
        chosen = str(settings.value(f"display/{layer}_style", labels.styles[layer]))
        labels.set_style(layer, chosen if chosen in STYLES else labels.styles[layer])
    labels.style_changed.connect(lambda layer, style: settings.setValue(f"display/{layer}_style", style))


def style_actions(parent: QWidget, labels: LabelDisplay) -> dict[str, dict[str, QAction]]:
    """View > Mask Drawn As and Prediction Drawn As: one exclusive group per layer."""
    styles: dict[str, dict[str, QAction]] = {}
    for layer in LAYERS:
        group = QActionGroup(parent)
        styles[layer] = {}
        for style, text in STYLES.items():
            action = make_action(parent, text, lambda _=False, la=layer, st=style: labels.set_style(la, st))
            action.setCheckable(True)
            action.setChecked(labels.styles[layer] == style)
            group.addAction(action)
            styles[layer][style] = action
    labels.style_changed.connect(lambda layer, style: styles[layer][style].setChecked(True))
    return styles


def tool_actions(parent: QWidget, tools: ToolState, pick_class: Callable[[], None]) -> ToolActions:
    group = QActionGroup(parent)
    by_name: dict[str, QAction] = {}
    for info in TOOLS:
        action = make_action(
            parent, info.title, lambda _=False, n=info.name: tools.set_tool(n), info.key, checkable=True
        )
        group.addAction(action)
        by_name[info.name] = action
    by_name[tools.tool].setChecked(True)
    tools.tool_changed.connect(lambda name: by_name[name].setChecked(True))
    classes = tuple(
        make_action(parent, f"Class {n}", lambda _=False, n=n: tools.set_class(n), str(n)) for n in range(10)
    )
    erase = make_action(parent, "Eraser Paints &Background", tools.set_erase_to_background, checkable=True)
    tools.erase_mode_changed.connect(erase.setChecked)
    keep = make_action(parent, "Paint Only &Unlabelled Pixels", tools.set_keep_labels, checkable=True)
    keep.setToolTip("Brush, fill, polygon and lasso leave labelled pixels as they are")
    tools.keep_labels_changed.connect(keep.setChecked)
    return ToolActions(
        tools=by_name,
        classes=classes,
        smaller=make_action(
            parent, "Smaller Brush", lambda: tools.set_brush_radius(tools.brush_radius / 1.25), "["
        ),
        larger=make_action(
            parent, "Larger Brush", lambda: tools.set_brush_radius(tools.brush_radius * 1.25), "]"
        ),
        erase_to_background=erase,
        keep_labels=keep,
        pick_class=make_action(parent, "&Pick Class Under Pointer", pick_class, "I"),
    )


def model_actions(
    parent: QWidget,
    app: AppState,
    models: ModelState,
    *,
    training: TrainingController,
    ranking: Ranking,
    acceptance: Acceptance,
    choice: ModelChoice,
    package: PackageExport,
) -> ModelActions:
    """The Model menu, enabled as the model state allows."""

    def a(text: str, slot, shortcut: str | None = None, checkable: bool = False) -> QAction:
        return make_action(parent, text, slot, shortcut, checkable)

    def stop() -> None:
        training.stop()
        ranking.stop()

    actions = ModelActions(
        train=a("&Train", training.train, "Ctrl+T"),
        stop=a("&Stop", stop),
        show_prediction=a("Show P&rediction", models.set_prediction_visible, "R", checkable=True),
        show_uncertainty=a("Show &Uncertainty", models.set_uncertainty_visible, "Shift+U", checkable=True),
        accept_unpainted=a("&Accept Prediction (Unpainted Pixels)", acceptance.accept_unpainted, "A"),
        accept_sure_only=a(
            "Accept Only Where the Model Is &Sure", models.set_accept_sure_only, checkable=True
        ),
        accept_all=a("&Replace Mask with Prediction", acceptance.accept_all, "Shift+A"),
        predict_all=a("&Predict All", lambda: ranking.predict_all(), "Ctrl+Shift+P"),
        next_uncertain=a("&Next Most Uncertain", ranking.next_uncertain, "U"),
        load_model=a("Open Model...", lambda: _choose_model_file(parent, app, choice)),
        export_package=a("Export Model as &bioimage.io...", lambda: ask_package_export(parent, package)),
    )
    # Short captions on the panel's buttons (menus keep the whole text): the Model dock fits
    # beside a canvas on a 1024-pixel screen.
    actions.load_model.setIconText("Open...")
    package.finished.connect(lambda _: choice.refresh_models())  # a package in the models folder is listed
    actions.accept_unpainted.setIconText("Accept Prediction")
    actions.accept_all.setIconText("Replace Mask")
    actions.train.setToolTip("Fine-tune the model on every painted pixel (Ctrl+T)")
    actions.stop.setToolTip("Stop after the current step and keep the model so far")
    actions.accept_unpainted.setToolTip(
        "Copy the prediction into the pixels not painted yet; painted pixels stay (A)"
    )
    actions.accept_all.setToolTip(
        "Copy the whole prediction into the mask (undoable; asks first when every pixel is "
        "labelled already) (Shift+A)"
    )
    actions.predict_all.setToolTip("Predict every image into the predictions folder")
    actions.next_uncertain.setToolTip(
        "Open the unfinished image the model is least sure about: correcting it helps most (U)"
    )
    actions.accept_sure_only.setToolTip(
        "Accept Prediction leaves the pixels Show Uncertainty tints unpainted, for you to paint: "
        "a weak model's accepted mistakes are trained on as labels"
    )
    actions.show_uncertainty.setToolTip(
        "Tint where the model is unsure, yellow to red: the places worth correcting (Shift+U)"
    )
    for action, on, changed in (
        (actions.show_prediction, models.prediction_visible, models.prediction_visible_changed),
        (actions.show_uncertainty, models.uncertainty_visible, models.uncertainty_visible_changed),
        (actions.accept_sure_only, models.accept_sure_only, models.accept_sure_only_changed),
    ):
        action.setChecked(on)
        changed.connect(action.setChecked)

    slides = acceptance.slides  # a slide's prediction on screen enables Accept too

    def update(*_: object) -> None:
        has_model, has_project = models.has_model, app.project is not None
        current = app.current
        shown = current is not None and models.is_shown(current.path)
        slide_shown = slides is not None and slides.output is not None
        shown = shown or (app.slide is not None and slide_shown)
        actions.train.setEnabled(has_project and not models.training)
        actions.stop.setEnabled(models.training or models.predicting_all)
        actions.accept_unpainted.setEnabled(shown)
        actions.accept_all.setEnabled(shown)
        actions.predict_all.setEnabled(has_model and has_project and not models.predicting_all)
        actions.next_uncertain.setEnabled(has_model and has_project)

    for signal in (
        models.model_changed,
        models.training_changed,
        models.predicting_all_changed,
        models.prediction_shown,
        models.prediction_cleared,
        app.project_opened,
        app.image_opened,
        app.slide_opened,
    ):
        signal.connect(update)
    if slides is not None:
        slides.output_shown.connect(update)
    update()
    return actions


def _choose_model_file(parent: QWidget, app: AppState, choice: ModelChoice) -> None:
    project = app.project
    start = str(project.models_dir if project is not None else Path.home())
    path, _ = QFileDialog.getOpenFileName(
        parent,
        "Open model",
        start,
        f"SegGUI models and bioimage.io packages ({MODEL_FILE_PATTERNS});;All files (*)",
    )
    if path:
        choice.load_model(Path(path))


def build_menus(bar: QMenuBar, actions: WindowActions, extra_image: list[QAction], recent_menu_title: str):
    """The menu bar: File, Image, Edit, View, Tools, Model, Help; returns File > Open Recent."""
    file, view, tools, model = actions.file, actions.view, actions.tools, actions.model
    file_menu = bar.addMenu("&File")
    file_menu.addAction(file.open_folder)
    recent = file_menu.addMenu(recent_menu_title)
    file_menu.addSeparator()
    for action in (file.export, file.import_labels, file.classes_file):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(file.quit)
    image_menu = bar.addMenu("&Image")
    for action in (*extra_image, *actions.image):
        image_menu.addAction(action)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(actions.edit.undo)
    edit_menu.addAction(actions.edit.redo)
    edit_menu.addSeparator()
    edit_menu.addAction(actions.edit.memory)
    view_menu = bar.addMenu("&View")
    for action in (view.fit, view.mask_visible, view.next_image, view.previous_image):
        view_menu.addAction(action)
    view_menu.addSeparator()
    for layer, title in zip(LAYERS, ("&Mask Drawn As", "&Prediction Drawn As")):
        menu = view_menu.addMenu(title)
        for action in view.styles[layer].values():
            menu.addAction(action)
    tools_menu = bar.addMenu("&Tools")
    for action in (
        *tools.tools.values(),
        tools.smaller,
        tools.larger,
        tools.erase_to_background,
        tools.keep_labels,
        tools.pick_class,
    ):
        tools_menu.addAction(action)
    tools_menu.addSeparator()
    for action in (actions.prompts.accept, actions.prompts.drop, actions.prompts.to_polygon):
        tools_menu.addAction(action)
    model_menu = bar.addMenu("&Model")
    for group in (
        (model.train, model.stop),
        (
            model.show_prediction,
            model.show_uncertainty,
            model.accept_unpainted,
            model.accept_sure_only,
            model.accept_all,
        ),
        (model.predict_all, model.next_uncertain, actions.prompts.next_object),
        (model.load_model, model.export_package),
    ):
        if not model_menu.isEmpty():
            model_menu.addSeparator()
        for action in group:
            model_menu.addAction(action)
    model_menu.addSeparator()
    prompt_menu = model_menu.addMenu("Prompt &Model")
    for action in actions.prompts.models.values():
        prompt_menu.addAction(action)
    prompt_menu.addSeparator()
    prompt_menu.addAction(actions.prompts.load_from_file)
    prompt_menu.aboutToShow.connect(lambda: show_licences(actions.prompts.models))
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions.help.shortcuts)
    help_menu.addAction(actions.help.about)
    return recent
