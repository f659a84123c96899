"""File > Export Masks and File > Import Labels, through the window."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtWidgets import QMessageBox

from model.classes import default_classes
from model.labels.export_labels import ExportOptions
from model.storage.imageio import read_mask
from model.storage.project import Project, load_project, save_project
from seggui.state.label_status import Status
from tests.seggui.conftest import at_zoom_one, drag, open_folder
from tests.synthetic import write_shapes_folder


def _project(root, n, masks):
    folder = write_shapes_folder(root, n, masks=masks)
    save_project(Project(folder, classes=tuple(default_classes(3))))
    return folder


def test_export_includes_unsaved_strokes_and_asks_before_replacing(qtbot, window, tmp_path, monkeypatch):
    folder = _project(tmp_path / "p", 3, masks=1)
    open_folder(qtbot, window, folder)
    window.session.step_image(1)
    qtbot.waitUntil(lambda: window.state.current.path.name == "img01.png", timeout=10000)
    at_zoom_one(window)
    drag(qtbot, window, [(5, 5), (30, 5)])  # not saved yet: the export must still have it
    out = tmp_path / "export"

    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000) as done:
        window.transfer.export(out, ExportOptions(format="labelme"))
    assert [p.name for p in done.args[0].exported] == ["img00.png", "img01.png"]
    shapes = json.loads((out / "img01.json").read_text())["shapes"]
    assert [s["label"] for s in shapes] == ["class 1"]

    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No
    )
    (out / "img00.json").write_text("mine")
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000) as refused:
        window.transfer.export(out, ExportOptions(format="labelme"))
    assert asked and "already exist" in refused.args[0] and (out / "img00.json").read_text() == "mine"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000):
        window.transfer.export(out, ExportOptions(format="labelme"))
    assert json.loads((out / "img00.json").read_text())["imageWidth"] == 64


def test_export_has_the_strokes_even_while_the_disk_refuses_them(qtbot, window, tmp_path, monkeypatch):
    import errno

    import seggui.controllers.mask_write as autosave

    def full_disk(path, mask, classes):
        raise OSError(errno.ENOSPC, "No space left on device")

    real_write = autosave.write_mask
    monkeypatch.setattr(autosave, "write_mask", full_disk)
    window.store.retry_steps_ms = (50,)
    folder = _project(tmp_path / "p", 2, masks=0)
    open_folder(qtbot, window, folder)
    at_zoom_one(window)
    with qtbot.waitSignal(window.store.problem_found, timeout=10000):
        drag(qtbot, window, [(5, 5), (30, 5)])
    painted = window.state.document.mask.copy()
    assert (painted == 1).any()
    window.session.step_image(1)  # on screen now: an image nobody painted, which has nothing to export
    qtbot.waitUntil(lambda: window.state.current.path.name == "img01.png", timeout=10000)
    out = tmp_path / "export"
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000) as done:
        window.transfer.export(out, ExportOptions(format="index"))
    assert [p.name for p in done.args[0].exported] == ["img00.png"]
    assert np.array_equal(read_mask(out / "img00.png"), painted)
    assert not (folder / "masks" / "img00.png").exists()  # the strokes are still waiting to be saved
    assert "NOT SAVED" in window.status.save_label.text()

    monkeypatch.setattr(autosave, "write_mask", real_write)  # space freed: the retry saves them
    qtbot.waitUntil(lambda: (folder / "masks" / "img00.png").exists(), timeout=10000)
    assert np.array_equal(read_mask(folder / "masks" / "img00.png"), painted)


def test_import_fills_masks_updates_the_list_and_reports_skipped_files(qtbot, window, tmp_path):
    source = _project(tmp_path / "a", 3, masks=3)
    out = tmp_path / "coco"
    from model.labels.export_labels import export_labels

    images = sorted(source.glob("*.png"))
    export_labels(images, source / "masks", default_classes(3), out, ExportOptions(format="coco"))
    data = json.loads((out / "annotations.json").read_text())
    data["categories"][2]["name"] = "zebra"
    (out / "annotations.json").write_text(json.dumps(data))

    target = _project(tmp_path / "b", 3, masks=0)
    open_folder(qtbot, window, target)
    assert window.browser.model.status_of(target / "img00.png") == Status.NO_MASK
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(out, "coco")
    report = done.args[0]
    assert len(report.imported) == 3 and "'zebra'" in report.skipped[0]
    qtbot.waitUntil(
        lambda: window.browser.model.status_of(target / "img00.png") != Status.NO_MASK, timeout=10000
    )
    qtbot.waitUntil(lambda: (window.state.document.mask != 255).any(), timeout=10000)
    imported = read_mask(target / "masks" / "img00.png")
    original = read_mask(source / "masks" / "img00.png")
    assert np.array_equal(imported == 1, original == 1) and not (imported == 2).any()
    assert np.array_equal(window.state.document.mask, imported)


def test_export_dialog_choices_become_export_options(qtbot, tmp_path):
    from seggui.widgets.transfer_dialogs import ExportDialog, ImportChoice, ImportDialog

    dialog = ExportDialog(tmp_path / "export")
    qtbot.addWidget(dialog)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("yolo"))
    assert not dialog.background_check.isEnabled() and not dialog.polygons_check.isEnabled()
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("coco"))
    dialog.polygons_check.setChecked(True)
    dialog.complete_check.setChecked(True)
    dialog.val_spin.setValue(20)
    folder, options = dialog.choice()
    assert folder == tmp_path / "export"
    assert options == ExportOptions(format="coco", only_complete=True, val_fraction=0.2, coco_polygons=True)

    chooser = ImportDialog()
    qtbot.addWidget(chooser)
    chooser.kind_combo.setCurrentIndex(chooser.kind_combo.findData("labelme"))
    chooser.source_edit.setText(str(tmp_path))
    chooser.overwrite_check.setChecked(True)
    chooser.outside_combo.setCurrentIndex(chooser.outside_combo.findData("unlabelled"))
    chooser.add_classes_check.setChecked(True)
    assert chooser.choice() == ImportChoice(tmp_path, "labelme", True, "unlabelled", True)
    chooser.kind_combo.setCurrentIndex(chooser.kind_combo.findData("coco"))
    assert not chooser.outside_combo.isEnabled()  # only labelme has unshaped pixels to decide


def test_classes_from_a_labels_file_and_labelme_labels_added_as_classes(qtbot, window, tmp_path):
    folder = _project(tmp_path / "p", 2, masks=0)
    open_folder(qtbot, window, folder)
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\ncat\n")
    assert window.transfer.load_classes_file(labels)
    assert [c.name for c in window.state.project.classes] == ["background", "cat"]
    assert window.class_panel.list.count() == 2
    labelme = tmp_path / "labelme"
    labelme.mkdir()
    shapes = [
        {"label": "cat", "shape_type": "rectangle", "points": [[2, 2], [10, 10]]},
        {"label": "dog", "shape_type": "rectangle", "points": [[20, 2], [30, 10]]},
    ]
    (labelme / "img00.json").write_text(json.dumps({"shapes": shapes, "imagePath": "img00.png"}))
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(labelme, "labelme", add_classes=True)
    assert done.args[0].added == ["dog"]
    assert [c.name for c in load_project(folder).classes] == ["background", "cat", "dog"]
    assert window.class_panel.list.count() == 3
    mask = read_mask(folder / "masks" / "img00.png")
    assert (mask[2:11, 20:31] == 2).all() and (mask[2:11, 2:11] == 1).all() and mask[40, 40] == 0
    labels.write_text("background\nbird\n")  # masks exist now: their values would change meaning
    assert not window.transfer.load_classes_file(labels)
    assert "must start with these" in window.statusBar().currentMessage()


def test_the_dialogs_offer_every_registered_format(qtbot, tmp_path):
    from model.labels.formats import FORMATS, IMPORT_KINDS
    from seggui.widgets.transfer_dialogs import ExportDialog, ImportDialog

    export, chooser = ExportDialog(tmp_path / "export"), ImportDialog()
    qtbot.addWidget(export)
    qtbot.addWidget(chooser)
    assert [export.format_combo.itemData(i) for i in range(export.format_combo.count())] == list(FORMATS)
    assert [chooser.kind_combo.itemData(i) for i in range(chooser.kind_combo.count())] == list(IMPORT_KINDS)


def test_nothing_can_be_painted_while_an_import_runs_and_painting_resumes_after(
    qtbot, window, tmp_path, monkeypatch
):
    import threading

    import seggui.controllers.transfer as transfer

    source = _project(tmp_path / "a", 2, masks=2)
    out = tmp_path / "labelme"
    from model.labels.export_labels import export_labels

    export_labels(
        sorted(source.glob("*.png")),
        source / "masks",
        default_classes(3),
        out,
        ExportOptions(format="labelme"),
    )
    release = threading.Event()
    real = transfer.import_labels

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(transfer, "import_labels", slow)
    target = _project(tmp_path / "b", 2, masks=0)
    open_folder(qtbot, window, target)
    at_zoom_one(window)
    window.transfer.import_labels(out, "labelme")
    assert "painting resumes" in window.statusBar().currentMessage()
    drag(qtbot, window, [(5, 5), (30, 5)])
    assert (window.state.document.mask == 255).all()  # the stroke was not taken
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000):
        release.set()
    qtbot.waitUntil(lambda: (window.state.document.mask != 255).any(), timeout=10000)
    imported = window.state.document.mask.copy()
    window.tool_state.set_class(2)
    drag(qtbot, window, [(5, 5), (30, 5)])
    assert (window.state.document.mask == 2).sum() > (imported == 2).sum()  # painting is back
