"""Every action of the window, pressed as a user presses it (its key, else its menu entry) in a
state where it does something, with what it does asserted on screen or on disk.

``test_every_action_of_the_window_is_pressed_by_a_test`` lists the window's actions (menus,
keys, tool bars) and fails for one that no test here presses: M (Show Mask) raised in its slot on
every press for several sessions because no test pressed it. Each test says which actions it
presses (``@presses``) and fails if one of them was not triggered.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QMessageBox

from model.classes import IGNORE_INDEX, default_classes
from model.storage.imageio import read_mask, write_mask
from model.storage.project import Project, load_project, save_project
from seggui.rendering.labels import FILL, HATCH, OUTLINE
from seggui.widgets import memory_dialog, transfer_dialogs
from seggui.widgets.main_window import MainWindow
from tests.seggui.conftest import drag, view_point
from tests.synthetic import write_shapes_folder

RECENT = "File > Open Recent > (a folder opened before)"
PRESSED_BY: dict[str, str] = {}
"""Each action's name (``window_actions``) and the test that presses it."""


def presses(*names: str) -> Callable:
    """Mark a test as the one that presses the actions ``names``; it must trigger each."""

    def mark(test: Callable) -> Callable:
        for name in names:
            assert name not in PRESSED_BY, f"{name} is pressed by {PRESSED_BY[name]} already"
            PRESSED_BY[name] = test.__name__
        return pytest.mark.presses(*names)(test)

    return mark


def window_actions(window: MainWindow) -> dict[str, QAction]:
    """Every action a user can reach: menu entries by their path ("View > Show Mask"), the
    window's other actions by their key ("key 3: Class 3"), Open Recent's entries as one."""
    found: dict[str, QAction] = {}
    named = {window.actions.edit.undo: "Undo", window.actions.edit.redo: "Redo"}  # "Undo brush"...

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            text = named.get(action) or action.text().replace("&", "")
            if action.menu() is not None:
                if text == "Open Recent":
                    found[RECENT] = action
                else:
                    walk(action.menu(), f"{path} > {text}")
            elif not action.isSeparator():
                found[f"{path} > {text}"] = action

    for top in window.menuBar().actions():
        walk(top.menu(), top.text().replace("&", ""))
    in_menus = set(found.values())
    for action in window.actions.all():
        if action not in in_menus:
            key = action.shortcut().toString()
            found[f"key {key}: {action.text().replace('&', '')}"] = action
    return found


@pytest.fixture
def press(qtbot, request):
    """``press(window, name)``: the action's key on the canvas, or its menu entry; checked to
    have been triggered. Every action the test is marked with must be pressed before it ends."""
    marker = request.node.get_closest_marker("presses")
    wanted = set(marker.args) if marker else set()
    done: set[str] = set()

    def press_one(window: MainWindow, name: str) -> None:
        actions = window_actions(window)
        if name == RECENT:  # the entry goes as it opens its folder (the menu is listed anew)
            current = str(window.state.project.folder)
            entry = next(a for a in actions[RECENT].menu().actions() if a.text() != current)
            folder = entry.text()
            entry.trigger()
            fired = [True] if str(window.state.project.folder) == folder else []
        else:
            action = actions[name]
            fired = []
            action.triggered.connect(lambda *_: fired.append(True))
            shortcut = action.shortcut()
            if not shortcut.isEmpty():
                window.activateWindow()
                window.canvas.setFocus()
                qtbot.keySequence(window.canvas, shortcut)
            else:
                action.trigger()
        assert fired, f"{name} was not triggered"
        done.add(name)

    yield press_one
    assert wanted <= done, f"marked but not pressed: {sorted(wanted - done)}"


def _project(root: Path, n: int = 3, masks: int | None = 1, classes: int = 3, **settings) -> Path:
    folder = write_shapes_folder(root, n, masks=masks)
    save_project(Project(folder, classes=tuple(default_classes(classes)), train_settings=settings))
    return folder


def _click(qtbot, window: MainWindow, x: float, y: float) -> None:
    drag(qtbot, window, [(x, y)])


# -- File --------------------------------------------------------------------------------------------
@presses("File > Open Folder...", RECENT)
def test_open_folder_and_open_recent(qtbot, started, tmp_path, press, monkeypatch):
    first, second = _project(tmp_path / "a"), _project(tmp_path / "b", 2)
    window = started(first)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(second))
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "File > Open Folder...")
    assert window.state.project.folder == second and window.images.rowCount() == 2
    assert str(second) in window.windowTitle()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, RECENT)  # the folder opened before: the first
    assert window.state.project.folder == first and window.images.rowCount() == 3


@presses("File > Export Masks...")
def test_export_masks(qtbot, started, tmp_path, press, monkeypatch):
    folder = _project(tmp_path)
    window = started(folder)
    monkeypatch.setattr(transfer_dialogs.ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000):
        press(window, "File > Export Masks...")
    exported = read_mask(folder / "export" / "img00.png")
    assert np.array_equal(exported, read_mask(folder / "masks" / "img00.png"))
    assert "Exported 1 mask as index" in window.statusBar().currentMessage()


@presses("File > Import Labels...", "File > Classes from a Labels File...")
def test_import_labels_and_classes_from_a_labels_file(qtbot, started, tmp_path, press, monkeypatch):
    folder = _project(tmp_path, masks=0)
    window = started(folder)
    labels = tmp_path / "labels.txt"
    labels.write_text("_background_\nroad\nbuilding\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(labels), ""))
    press(window, "File > Classes from a Labels File...")
    assert [c.name for c in window.state.classes] == ["background", "road", "building"]
    assert window.class_panel.list.item(1).text() == "road"
    assert [c.name for c in load_project(folder).classes] == ["background", "road", "building"]
    source = tmp_path / "theirs"
    source.mkdir()
    theirs = np.zeros((64, 64), np.uint8)
    theirs[:20] = 2
    write_mask(source / "img00.png", theirs, default_classes(3))

    def chosen(self):
        self.source_edit.setText(str(source))
        self.kind_combo.setCurrentIndex(self.kind_combo.findData("masks"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(transfer_dialogs.ImportDialog, "exec", chosen)
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000):
        press(window, "File > Import Labels...")
    qtbot.waitUntil(lambda: (window.state.document.mask[:20] == 2).all(), timeout=10000)  # on screen
    assert np.array_equal(read_mask(folder / "masks" / "img00.png"), theirs)


@presses("File > Quit")
def test_quit_saves_and_closes(qtbot, started, tmp_path, press):
    folder = _project(tmp_path, masks=0)
    window = started(folder)
    window.canvas.actual_size()
    window.tool_state.set_class(2)
    _click(qtbot, window, 10.5, 10.5)
    press(window, "File > Quit")
    assert not window.isVisible()
    assert read_mask(folder / "masks" / "img00.png")[10, 10] == 2  # the stroke saved on the way out


# -- Edit --------------------------------------------------------------------------------------------
@presses("Edit > Undo", "Edit > Redo")
def test_undo_and_redo(qtbot, started, tmp_path, press):
    window = started(_project(tmp_path, masks=0))
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    _click(qtbot, window, 20.5, 20.5)
    mask = window.state.document.mask
    assert mask[20, 20] == 1
    press(window, "Edit > Undo")
    assert mask[20, 20] == IGNORE_INDEX
    press(window, "Edit > Redo")
    assert mask[20, 20] == 1


@presses("Edit > Memory Budget...")
def test_memory_budget(qtbot, started, tmp_path, press, monkeypatch):
    window = started(_project(tmp_path))

    def chosen(self):
        self.size_spin.setValue(1024)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(memory_dialog.MemoryDialog, "exec", chosen)
    press(window, "Edit > Memory Budget...")
    assert window.state.memory_budget.total_bytes == 1024 * 1024 * 1024
    assert "Memory budget: 1,024 MB" in window.statusBar().currentMessage()


# -- View --------------------------------------------------------------------------------------------
@presses("View > Fit to Window", "View > Show Mask", "View > Next Image", "View > Previous Image")
def test_fit_show_mask_and_paging(qtbot, started, tmp_path, press):
    folder = _project(tmp_path)
    window = started(folder)
    canvas = window.canvas
    fitted = canvas.zoom
    canvas.actual_size()
    assert canvas.zoom != fitted
    press(window, "View > Fit to Window")
    assert canvas.zoom == pytest.approx(fitted)
    press(window, "View > Show Mask")
    assert not canvas.mask_layer.isVisible()
    press(window, "View > Show Mask")
    assert canvas.mask_layer.isVisible()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "View > Next Image")
    assert window.state.shown_path == folder / "img01.png"
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "View > Previous Image")
    assert window.state.shown_path == folder / "img00.png"


STYLE_NAMES = {FILL: "Filled", OUTLINE: "Outlines", HATCH: "Hatched"}


@presses(
    *(
        f"View > {layer} Drawn As > {name}"
        for layer in ("Mask", "Prediction")
        for name in STYLE_NAMES.values()
    )
)
def test_how_the_mask_and_the_prediction_are_drawn(qtbot, started, tmp_path, press, shapes_model):
    folder = _project(tmp_path)
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "shapes.pt")
    window = started(folder)
    qtbot.waitUntil(lambda: window.models.shown is not None, timeout=30000)
    layers = {
        "Mask": (window.canvas.mask_layer, window.state.document.mask),
        "Prediction": (window.canvas.prediction_layer, window.models.shown.classes),
    }
    for layer, (item, labels) in layers.items():
        shape = np.argwhere(labels == 1)  # a shape's pixels, its inside among them
        for style, name in STYLE_NAMES.items():
            press(window, f"View > {layer} Drawn As > {name}")
            assert item.style == style
            drawn = item.image()
            coloured = [drawn.pixelColor(int(x), int(y)).alpha() > 0 for y, x in shape]
            # Filled colours every labelled pixel; outlines and hatching leave some clear inside.
            assert all(coloured) == (style == FILL) and any(coloured), (layer, name)


# -- Image ------------------------------------------------------------------------------------------
@presses("Image > Channels", "Image > TIFF Axes...", "Image > Next Plane", "Image > Previous Plane")
def test_channels_axes_and_planes(qtbot, started, tmp_path, press, monkeypatch):
    planes = np.stack([np.full((20, 24), 10 * (i + 1), np.uint16) for i in range(5)])
    tifffile.imwrite(tmp_path / "five.tif", planes, photometric="minisblack")  # no axes: 5 channels
    save_project(Project(tmp_path))
    window = started(tmp_path)
    assert len(window.display.views) == 5 and window.images.rowCount() == 1
    press(window, "Image > Channels")
    assert not window.channel_dock.isVisible()
    press(window, "Image > Channels")
    assert window.channel_dock.isVisible()
    monkeypatch.setattr(window.dialogs, "tiff_axes", lambda unsettled, current: "ZYX")
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "Image > TIFF Axes...")
    assert load_project(tmp_path).image_axes == "ZYX" and window.images.rowCount() == 5
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "Image > Next Plane")
    assert int(window.state.current.raw[0, 0]) == 20
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "Image > Previous Plane")
    assert int(window.state.current.raw[0, 0]) == 10


# -- Tools ------------------------------------------------------------------------------------------
TOOL_ACTIONS = {"brush": "Brush", "eraser": "Eraser", "fill": "Fill", "polygon": "Polygon", "lasso": "Lasso"}


@presses(*(f"Tools > {title}" for title in TOOL_ACTIONS.values()))
def test_each_tool_by_its_key(qtbot, started, tmp_path, press):
    window = started(_project(tmp_path))
    for name, title in [*list(TOOL_ACTIONS.items())[1:], ("brush", "Brush")]:
        press(window, f"Tools > {title}")
        assert window.tool_state.tool == name and window.canvas.tool.name == name
        assert window.tool_bar.widgetForAction(window.actions.tools.tools[name]).isChecked()


@presses("Tools > Smaller Brush", "Tools > Larger Brush", "Tools > Pick Class Under Pointer")
def test_brush_size_and_picking_a_class(qtbot, started, tmp_path, press):
    window = started(_project(tmp_path))
    radius = window.tool_state.brush_radius
    press(window, "Tools > Larger Brush")
    assert window.tool_state.brush_radius == pytest.approx(radius * 1.25)
    assert window.tool_bar.size_label.text().strip() == f"{2 * radius * 1.25:.0f} px"
    press(window, "Tools > Smaller Brush")
    assert window.tool_state.brush_radius == pytest.approx(radius)
    window.canvas.actual_size()
    mask = window.state.document.mask
    y, x = (int(v[0]) for v in np.nonzero(mask == 2))
    window.tool_state.set_class(1)
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, x + 0.5, y + 0.5))
    press(window, "Tools > Pick Class Under Pointer")
    assert window.tool_state.class_index == 2


@presses("Tools > Eraser Paints Background", "Tools > Paint Only Unlabelled Pixels")
def test_eraser_mode_and_sparing_labels(qtbot, started, tmp_path, press):
    folder = _project(tmp_path, masks=0)
    window = started(folder)
    window.canvas.actual_size()
    mask = window.state.document.mask
    window.tool_state.set_class(1)
    _click(qtbot, window, 20.5, 20.5)
    press(window, "Tools > Paint Only Unlabelled Pixels")
    window.tool_state.set_class(2)
    _click(qtbot, window, 20.5, 20.5)
    assert mask[20, 20] == 1  # spared
    press(window, "Tools > Paint Only Unlabelled Pixels")
    press(window, "Tools > Eraser Paints Background")
    window.tool_state.set_tool("eraser")
    _click(qtbot, window, 20.5, 20.5)
    assert mask[20, 20] == 0 and load_project(folder).eraser_mode == "background"


@presses(*(f"key {n}: Class {n}" for n in range(10)))
def test_the_digit_keys_pick_classes(qtbot, started, tmp_path, press):
    window = started(_project(tmp_path, classes=10))
    for n in [*range(1, 10), 0]:
        press(window, f"key {n}: Class {n}")
        assert window.tool_state.class_index == n
        assert window.class_panel.list.currentRow() == n


# -- Model ------------------------------------------------------------------------------------------
@presses("Model > Train", "Model > Stop")
def test_train_and_stop(qtbot, started, tmp_path, press):
    folder = _project(tmp_path, masks=2, epochs=1, crop_size=64, batch_size=4, device="cpu")
    window = started(folder)
    with qtbot.waitSignal(window.training.finished, timeout=120000) as done:
        press(window, "Model > Train")
    assert done.args[0].model_path.is_file() and window.models.model_path == done.args[0].model_path
    window.model_panel.form.epochs_spin.setValue(5000)
    with qtbot.waitSignal(window.training.stepped, timeout=60000):
        press(window, "Model > Train")
    with qtbot.waitSignal(window.training.finished, timeout=60000) as stopped:
        press(window, "Model > Stop")
    assert stopped.args[0].result.stopped and "Stopped after" in window.model_panel.status_label.text()


@presses(
    "Model > Open Model...",
    "Model > Show Prediction",
    "Model > Show Uncertainty",
    "Model > Accept Only Where the Model Is Sure",
    "Model > Accept Prediction (Unpainted Pixels)",
    "Model > Replace Mask with Prediction",
    "Model > Predict All",
    "Model > Next Most Uncertain",
)
def test_the_model_actions(qtbot, started, tmp_path, press, shapes_model, monkeypatch):
    folder = _project(tmp_path, n=4, masks=0)
    window = started(folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(shapes_model), ""))
    with qtbot.waitSignal(window.models.prediction_shown, timeout=30000):
        press(window, "Model > Open Model...")
    assert window.models.model_path == shapes_model
    press(window, "Model > Show Prediction")
    assert not window.canvas.prediction_layer.isVisible()
    press(window, "Model > Show Prediction")
    assert window.canvas.prediction_layer.isVisible()
    press(window, "Model > Show Uncertainty")
    qtbot.waitUntil(lambda: not window.canvas.uncertainty_layer.image().isNull(), timeout=30000)
    assert window.canvas.uncertainty_layer.isVisible()
    sure_only = window.models.accept_sure_only
    press(window, "Model > Accept Only Where the Model Is Sure")
    assert window.models.accept_sure_only is not sure_only
    if window.models.accept_sure_only:
        press(window, "Model > Accept Only Where the Model Is Sure")  # every pixel, for the check below
    predicted = window.models.shown.classes
    press(window, "Model > Accept Prediction (Unpainted Pixels)")
    assert np.array_equal(window.state.document.mask, predicted)
    window.canvas.actual_size()
    window.tool_state.set_class(0)
    _click(qtbot, window, 30.5, 30.5)
    assert window.state.document.mask[30, 30] == 0 or predicted[30, 30] == 0
    window.dialogs.confirm = lambda title, text: True  # every pixel is labelled: it asks first
    press(window, "Model > Replace Mask with Prediction")
    assert np.array_equal(window.state.document.mask, predicted)
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000):
        press(window, "Model > Predict All")
    assert sorted(p.name for p in (folder / "predictions").glob("*.png")) == [
        f"img0{i}.png" for i in range(4)
    ]
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        press(window, "Model > Next Most Uncertain")
    assert window.state.shown_path != folder / "img00.png"


# -- Help -------------------------------------------------------------------------------------------
@presses("Help > Keyboard Shortcuts", "Help > About SegGUI")
def test_help(qtbot, started, tmp_path, press, monkeypatch):
    window = started(_project(tmp_path))
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    press(window, "Help > Keyboard Shortcuts")
    assert "Brush" in shown[0] and "Show/hide mask" in shown[0]
    press(window, "Help > About SegGUI")
    assert "SegGUI" in shown[1] and "Keyboard Shortcuts" in shown[1]


# -- the coverage itself --------------------------------------------------------------------------------
def test_every_action_of_the_window_is_pressed_by_a_test(window, capsys):
    names = set(window_actions(window))
    missing = sorted(names - set(PRESSED_BY))
    assert not missing, f"actions no test presses: {missing}"
    assert not set(PRESSED_BY) - names, f"tests press actions the window lacks: {set(PRESSED_BY) - names}"
    with capsys.disabled():
        print(f"\n{len(names)} of {len(names)} actions triggered by a test")


# -- Prompts -------------------------------------------------------------------------------------------
@presses(
    "Tools > Object Prompt",
    "Tools > Keep Proposed Object",
    "Tools > Drop Proposed Object",
    "Tools > Proposed Object to Polygon",
)
def test_object_prompt_keep_drop_and_to_polygon(qtbot, started, tmp_path, press, prompt_model):
    from model.prompts.stand_in import expected_mask

    window = started(_project(tmp_path, masks=0))
    window.prompting.set_model(prompt_model)
    window.canvas.actual_size()
    press(window, "Tools > Object Prompt")
    qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)
    shape = window.state.document.shape

    def propose(x: float, y: float) -> None:
        _click(qtbot, window, x, y)
        qtbot.waitUntil(lambda: window.prompting.proposal is not None, timeout=10000)

    propose(30.5, 30.5)
    press(window, "Tools > Drop Proposed Object")
    assert window.prompting.proposal is None and (window.state.document.mask == IGNORE_INDEX).all()
    propose(30.5, 30.5)
    kept = window.prompting.proposal.mask
    press(window, "Tools > Keep Proposed Object")
    assert np.array_equal(window.state.document.mask == 1, kept)
    far = (shape[1] - 20.5, shape[0] - 20.5)
    propose(*far)
    press(window, "Tools > Proposed Object to Polygon")
    assert window.tool_state.tool == "polygon" and len(window.tools["polygon"].points) > 8
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    near = expected_mask(shape, [far], [1])
    painted = (window.state.document.mask == 1) & ~kept
    assert (painted & near).sum() >= 0.8 * near.sum() and (painted & ~near).sum() <= 0.2 * near.sum()


@presses(
    "Model > Prompt Model > EfficientSAM 10m",
    "Model > Prompt Model > EfficientSAM 30m",
    "Model > Prompt Model > SAM 2.1 tiny",
    "Model > Prompt Model > SAM 2.1 small",
    "Model > Prompt Model > SAM 2.1 base+",
    "Model > Prompt Model > SAM 2.1 large",
    "Model > Prompt Model > Load From File...",
)
def test_prompt_model_choice_and_load_from_file(qtbot, started, tmp_path, press, served_prompt_model):
    window = started(_project(tmp_path))
    for name, title in (
        ("efficientsam:latest", "EfficientSAM 30m"),
        ("sam2:tiny", "SAM 2.1 tiny"),
        ("sam2:small", "SAM 2.1 small"),
        ("sam2:latest", "SAM 2.1 base+"),
        ("sam2:large", "SAM 2.1 large"),
        ("efficientsam:10m", "EfficientSAM 10m"),
    ):
        press(window, f"Model > Prompt Model > {title}")
        assert window.prompting.model_name == name
    assert not window.weights.dialog  # choosing a model fetches nothing
    window.prompting.set_model(served_prompt_model.name)  # the stand-in, served from 127.0.0.1
    press(window, "Model > Prompt Model > Load From File...")
    dialog = window.weights.dialog
    assert dialog is not None and dialog.isVisible() and dialog.name == served_prompt_model.name
    with qtbot.waitSignal(dialog.ready, timeout=20000):
        dialog.load_files(list(served_prompt_model.files.values()))
    assert not dialog.isVisible()
    assert all(request.startswith("/files/") for request in served_prompt_model.requests)  # HEAD only


@presses("Model > Next Uncertain Object")
def test_next_uncertain_object_shows_the_least_sure_object(qtbot, started, tmp_path, press, prompt_model):
    from model.prediction.predict import Prediction
    from seggui.state.model_state import PredictionOnScreen

    window = started(_project(tmp_path, masks=0))
    window.prompting.set_model(prompt_model)  # downloaded: the prompt tool asks for nothing
    press(window, "Model > Next Uncertain Object")  # no prediction yet: it says what it needs
    assert "needs a prediction" in window.statusBar().currentMessage()
    shape = window.state.document.shape
    classes = np.zeros(shape, np.uint8)
    heat = np.zeros(shape, np.uint8)
    classes[4:14, 4:14], heat[4:14, 4:14] = 1, 40  # sure
    classes[30:44, 20:40], heat[30:44, 20:40] = 2, 200  # the least sure
    classes[50:58, 4:12], heat[50:58, 4:12] = 1, 150
    prediction = Prediction(classes, None, 0.3, heat)
    window.models.show_prediction(PredictionOnScreen(window.state.current.path, prediction))
    window.canvas.fit_to_window()
    press(window, "Model > Next Uncertain Object")
    qtbot.waitUntil(lambda: "Uncertain object 1 of 2" in window.statusBar().currentMessage(), timeout=10000)
    assert window.tool_state.tool == "prompt"
    seen = window.canvas.visible_scene_rect()
    assert seen.contains(20, 30) and seen.contains(39, 43) and seen.width() < shape[1] * 0.9
    press(window, "Model > Next Uncertain Object")
    qtbot.waitUntil(lambda: "Uncertain object 2 of 2" in window.statusBar().currentMessage(), timeout=10000)
    assert window.canvas.visible_scene_rect().contains(8, 54)


@presses("Model > Export Model as bioimage.io...")
def test_export_model_as_bioimageio(qtbot, started, tmp_path, press, shapes_model, monkeypatch):
    import zipfile

    import yaml

    from model.storage.project import load_project
    from seggui.controllers.package_export import PackageExport
    from seggui.widgets import package_dialog

    folder = _project(tmp_path, n=2, masks=0)
    window = started(folder)
    press(window, "Model > Export Model as bioimage.io...")  # no model yet: it says what it needs
    assert "needs a model" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.models.prediction_shown, timeout=30000):
        window.choice.load_model(shapes_model)

    def answer(dialog):
        dialog.name.setText("Shapes")
        dialog.authors.setText("Ada Lovelace, Alan Turing")
        dialog.licence.setCurrentText("MIT")
        dialog.training_data.setPlainText("synthetic shapes")
        return QDialog.DialogCode.Accepted

    out = folder / "models" / "Shapes.zip"  # where the dialog proposes, a folder not made yet
    monkeypatch.setattr(package_dialog.PackageDialog, "exec", answer)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    exporter = window.findChild(PackageExport)
    with qtbot.waitSignal(exporter.finished, timeout=120000):
        press(window, "Model > Export Model as bioimage.io...")
    assert out in window.models.models  # listed beside the project's models, to pick
    with zipfile.ZipFile(out) as package:
        description = yaml.safe_load(package.read("rdf.yaml"))
    assert description["name"] == "Shapes" and description["license"] == "MIT"
    assert [a["name"] for a in description["authors"]] == ["Ada Lovelace", "Alan Turing"]
    kept = load_project(folder).package  # asked once: kept in the project file for next time
    assert kept["authors"] == ["Ada Lovelace", "Alan Turing"] and kept["training_data"] == "synthetic shapes"
