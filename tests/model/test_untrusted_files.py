"""What an adversary found (issue #23): project files, model files, journals, label files and folder
entries made to write where they must not, to crash a command, or to pass off damage as a model.
Each test makes its file, and failed on main before the fix it names."""

from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from model.classes import classes_from_names
from model.cli import main
from model.errors import ModelFileError
from model.labels.export_labels import ExportOptions, export_labels
from model.labels.import_labels import import_labels
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict_folder import UNCERTAINTY_FILE, write_uncertainties
from model.storage.folder_lock import LOCK_FILE
from model.storage.imageio import list_images, read_mask, write_mask
from model.storage.project import PROJECT_FILE, ProjectError, load_project
from model.storage.stroke_journal import JOURNAL_FILE, JournalRecord, StrokeJournal, replay_journal
from tests.synthetic import write_shapes_folder

CLASSES = classes_from_names(["background", "disk", "square"])  # as the shapes are


def _project(folder: Path, **fields: object) -> Path:
    data = {"classes": [{"name": c.name, "color": list(c.color)} for c in CLASSES], **fields}
    (folder / PROJECT_FILE).write_text(json.dumps(data))
    return folder


# -- 1, 2, 14, 15: the project's folders ---------------------------------------------------------
@pytest.mark.parametrize(
    "fields",
    [
        {"predictions_dir": "."},
        {"predictions_dir": "./"},
        {"predictions_dir": "masks"},  # Predict All would write over the painted masks
        {"predictions_dir": "masks/sub"},
        {"models_dir": "predictions"},
        {"mask_dir": "."},
        {"mask_dir": "./"},
        {"mask_dir": "a/.."},
    ],
)
def test_a_project_folder_that_is_the_image_folder_or_another_folder_is_refused(tmp_path, fields):
    _project(tmp_path, **fields)
    with pytest.raises(ProjectError) as caught:
        load_project(tmp_path)
    key = next(iter(fields))
    assert PROJECT_FILE in str(caught.value) and key in str(caught.value)


def test_a_folder_field_that_links_back_to_the_image_folder_is_refused(tmp_path):
    (tmp_path / "masks").symlink_to(tmp_path, target_is_directory=True)
    _project(tmp_path)
    with pytest.raises(ProjectError, match="mask_dir"):
        load_project(tmp_path)


def test_every_project_field_is_optional(tmp_path):
    (tmp_path / PROJECT_FILE).write_text("{}")
    assert [c.name for c in load_project(tmp_path).classes] == ["background", "class 1"]
    (tmp_path / PROJECT_FILE).write_text('{"mask_dir": "labels"}')
    project = load_project(tmp_path)
    assert project.mask_dir == tmp_path / "labels" and len(project.classes) == 2


def test_a_mask_folder_that_is_a_file_is_refused_by_name(tmp_path):
    (tmp_path / "labels").write_text("not a folder")
    _project(tmp_path, mask_dir="labels")
    with pytest.raises(ProjectError, match="'mask_dir' names 'labels', which is a file"):
        load_project(tmp_path)


# -- 8: training settings --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings, field",
    [
        ({"time_budget_s": "abc"}, "time_budget_s"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"augment": "yes"}, "augment"),
        ({"crop_size": 1e12}, "crop_size"),
        ({"crop_size": 10**12}, "crop_size"),
        ({"epochs": True}, "epochs"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"scale_range": [1, "x"]}, "scale_range"),
    ],
)
def test_a_bad_training_setting_is_named_when_the_project_opens(tmp_path, settings, field):
    _project(tmp_path, train_settings=settings)
    with pytest.raises(ProjectError) as caught:
        load_project(tmp_path)
    assert "train_settings" in str(caught.value) and field in str(caught.value)


def test_good_training_settings_and_the_apps_own_keys_are_kept(tmp_path):
    settings = {"time_budget_s": 90, "learning_rate": 1e-3, "start_from": "current", "scale_range": [1, 2]}
    _project(tmp_path, train_settings=settings)
    assert load_project(tmp_path).train_settings == settings


# -- 12: files made to exhaust the stack, or of the wrong shape ------------------------------------
def test_a_project_file_nested_100000_deep_is_refused_with_a_message(tmp_path):
    (tmp_path / PROJECT_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ProjectError, match="nests too deeply"):
        load_project(tmp_path)
    (tmp_path / PROJECT_FILE).write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ProjectError, match="nests too deeply"):
        load_project(tmp_path)


def test_the_cli_says_what_is_wrong_with_a_deep_project_file(tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 2)
    (folder / PROJECT_FILE).write_text("[" * 100_000 + "]" * 100_000)
    code = main(
        ["export", "masks", "--project", str(folder), "--format", "index", "--out", str(tmp_path / "x")]
    )
    assert code == 2 and "nests too deeply" in capsys.readouterr().err


def test_coco_files_of_the_wrong_shape_are_named(tmp_path):
    images = list_images(write_shapes_folder(tmp_path, 2))
    source = tmp_path / "annotations.json"
    source.write_text("[]")
    with pytest.raises(Exception, match="top level is a list") as caught:
        import_labels(source, "coco", images, tmp_path / "m", CLASSES)
    assert not isinstance(caught.value, AttributeError)
    source.write_text(
        json.dumps(
            {
                "images": [{"file_name": images[0].name, "height": 64, "width": 64}],
                "categories": [{"id": 1, "name": "disk"}],
                "annotations": [],
            }
        )
    )
    report = import_labels(source, "coco", images, tmp_path / "m", CLASSES)
    assert any("images entry 1 has no 'id'" in s for s in report.skipped), report.skipped


# -- 9, 13: model files that load but cannot predict -----------------------------------------------
def _damaged(shapes_model: Path, tmp_path: Path, change) -> Path:
    data = torch.load(shapes_model, weights_only=True)
    change(data)
    path = tmp_path / "damaged.pt"
    torch.save(data, path)
    return path


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d["normalization"].update(mean=[float("nan")]), "not finite"),
        (lambda d: d["normalization"].update(std=[0.0]), "deviation of zero"),
        (lambda d: d["normalization"].update(mean=[], std=[]), "0 means and 0 deviations for 1 channels"),
        (lambda d: next(iter(d["state_dict"].values())).fill_(float("nan")), "NaN or infinite"),
    ],
)
def test_a_model_file_that_would_predict_nonsense_is_refused_as_damaged(
    shapes_model, tmp_path, change, words
):
    path = _damaged(shapes_model, tmp_path, change)
    with pytest.raises(ModelFileError) as caught:
        load_checkpoint(path)
    assert str(path) in str(caught.value) and "damaged" in str(caught.value) and words in str(caught.value)


def test_the_cli_refuses_a_damaged_model_before_predicting(shapes_model, tmp_path, capsys):
    images = write_shapes_folder(tmp_path, 2)
    path = _damaged(shapes_model, tmp_path, lambda d: d["normalization"].update(std=[float("nan")]))
    out = tmp_path / "out"
    assert main(["predict", "--model", str(path), "--images", str(images), "--out", str(out)]) == 2
    assert "damaged" in capsys.readouterr().err and not out.exists()


def test_uncertainty_json_is_json_even_when_a_score_is_not_a_number(tmp_path):
    write_uncertainties(tmp_path, {tmp_path / "a.png": float("nan"), tmp_path / "b.png": 0.25})
    text = (tmp_path / UNCERTAINTY_FILE).read_text()
    rows = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert {r["image"]: r["uncertainty"] for r in rows} == {"a.png": None, "b.png": 0.25}


# -- 6: the journal names only masks of the project's images -------------------------------------
def test_a_journal_record_cannot_write_outside_the_mask_folder(tmp_path):
    project = tmp_path / "received"
    (project / "masks").mkdir(parents=True)
    outside = tmp_path / "X.png"
    outside.write_bytes(b"the user's own file")
    journal = StrokeJournal(project / JOURNAL_FILE)
    tile = np.ones((8, 8), np.uint8)
    for name in ("../../X.png", "../X.png", str(outside), "", "..", "other.png"):
        journal.append(JournalRecord(name, (8, 8), 1, ((0, 0, tile),)))
    journal.append(JournalRecord("a.png", (8, 8), 2, ((0, 0, tile),)))
    journal.append(JournalRecord("a.conflict-2.png", (8, 8), 3, ((0, 0, tile),)))
    journal.close()
    replay = replay_journal(project, project / "masks", CLASSES, mask_names={"a.png"})
    assert outside.read_bytes() == b"the user's own file" and not (tmp_path / "X.unusable.png").exists()
    assert sorted(p.name for p in replay.restored) == ["a.conflict-2.png", "a.png"]
    assert len(replay.problems) == 6 and all("not restored" in p for p in replay.problems)
    assert any("no image of this project" in p and "other.png" in p for p in replay.problems)
    assert sorted(os.listdir(project / "masks")) == ["a.conflict-2.png", "a.png"]


def test_a_journal_record_cannot_follow_a_link_out_of_the_mask_folder(tmp_path):
    masks = tmp_path / "p" / "masks"
    masks.mkdir(parents=True)
    target = tmp_path / "elsewhere.png"
    write_mask(target, np.zeros((8, 8), np.uint8), CLASSES)
    (masks / "a.png").symlink_to(target)
    journal = StrokeJournal(tmp_path / "p" / JOURNAL_FILE)
    journal.append(JournalRecord("a.png", (8, 8), 1, ((0, 0, np.ones((8, 8), np.uint8)),)))
    journal.close()
    replay = replay_journal(tmp_path / "p", masks, CLASSES, mask_names={"a.png"})
    assert (read_mask(target) == 0).all() and "leads out of the mask folder" in replay.problems[0]


def test_a_journal_record_of_a_name_that_is_not_utf8_is_written_and_restored(tmp_path):
    name = os.fsdecode(b"im\xff.png")  # a Linux file name no UTF-8 text can hold
    journal = StrokeJournal(tmp_path / JOURNAL_FILE)
    tile = np.full((8, 8), 2, np.uint8)
    journal.append(JournalRecord(name, (8, 8), 1, ((0, 0, tile),)))  # before: UnicodeEncodeError
    journal.close()
    replay = replay_journal(tmp_path, tmp_path / "masks", CLASSES, mask_names={name})
    assert replay.restored == [tmp_path / "masks" / name]
    assert (read_mask(tmp_path / "masks" / name) == 2).all()


# -- 5: predict never replaces what a user made ---------------------------------------------------
def test_predict_into_a_folder_of_painted_masks_needs_overwrite(shapes_model, tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 3)  # images with their masks in folder/masks
    before = {p.name: p.read_bytes() for p in (folder / "masks").iterdir()}
    out = folder / "masks"
    args = ["predict", "--model", str(shapes_model), "--images", str(folder), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "mask folder" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # Into the image folder itself: the predictions would take the images' names.
    image_bytes = {p.name: p.read_bytes() for p in list_images(folder)}
    assert main([*args[:-1], str(folder), "--overwrite"]) == 2
    assert "the image folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in list_images(folder)} == image_bytes


def test_predict_again_replaces_earlier_predictions_only_with_overwrite(shapes_model, tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 2)
    out = tmp_path / "predictions"
    args = ["predict", "--model", str(shapes_model), "--images", str(folder), "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def _lock_by_a_live_window(folder: Path) -> None:
    owner = {"host": socket.gethostname(), "pid": os.getppid(), "user": "someone", "since": 0.0}
    (folder / LOCK_FILE).write_text(json.dumps(owner))


def test_commands_stay_out_of_a_folder_a_window_edits(shapes_model, tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 2)
    _lock_by_a_live_window(folder)
    out = folder / "predictions"
    assert main(["predict", "--model", str(shapes_model), "--images", str(folder), "--out", str(out)]) == 2
    assert "being edited in a SegGUI window" in capsys.readouterr().err and not out.exists()
    labels = tmp_path / "labels"
    labels.mkdir()
    write_mask(labels / "img00.png", np.zeros((64, 64), np.uint8), CLASSES)
    code = main(["import", "--project", str(folder), "--from", str(labels), "--kind", "masks", "--overwrite"])
    assert code == 2 and "being edited" in capsys.readouterr().err
    code = main(["train", "--images", str(folder), "--out", str(folder / "models" / "m.pt"), "--steps", "1"])
    assert code == 2 and "being edited" in capsys.readouterr().err


def test_train_replaces_a_model_file_only_with_overwrite_or_in_place(shapes_model, tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 2)
    out = tmp_path / "m.pt"
    out.write_bytes(shapes_model.read_bytes())
    train = ["train", "--images", str(folder), "--classes", "background,disk,square", "--steps", "2"]
    train += ["--crop-size", "32", "--device", "cpu", "--val-fraction", "0"]
    assert main([*train, "--out", str(out)]) == 2 and "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == shapes_model.read_bytes()
    assert main([*train, "--out", str(out), "--resume", str(out)]) == 0  # fine-tuning in place


# -- 10: folder entries that are not image files ---------------------------------------------------
def test_a_looping_link_a_fifo_and_a_dangling_link_are_left_out_with_their_names(tmp_path, capsys):
    folder = _project(write_shapes_folder(tmp_path, 2))
    (folder / "loop.png").symlink_to(folder / "loop.png")
    (folder / "gone.png").symlink_to(folder / "nothing-here.png")
    os.mkfifo(folder / "pipe.tif")
    (folder / "dir.png").mkdir()
    left_out: list[str] = []
    assert [p.name for p in list_images(folder, left_out)] == ["img00.png", "img01.png"]
    assert len(left_out) == 4 and all(str(folder) in m for m in left_out)
    joined = "\n".join(left_out)
    assert "loop.png" in joined and "gone.png: left out, a link to nothing" in joined
    assert "pipe.tif: left out, not a regular file" in joined and "dir.png: left out, a folder" in joined
    # Every command gets through such a folder.
    out = tmp_path / "export"
    code = main(["export", "masks", "--project", str(folder), "--format", "index", "--out", str(out)])
    assert code == 0 and sorted(p.name for p in out.glob("*.png")) == ["img00.png", "img01.png"]


# -- 11, 17: label files -------------------------------------------------------------------------------
def test_a_labelme_mask_shape_that_is_not_a_png_skips_that_file_only(tmp_path):
    images = list_images(write_shapes_folder(tmp_path, 3, masks=0))
    source = tmp_path / "labelme"
    source.mkdir()
    junk = base64.b64encode(b"not a png at all").decode()
    bad = {
        "imagePath": images[0].name,
        "shapes": [{"label": "disk", "shape_type": "mask", "points": [[0, 0], [4, 4]], "mask": junk}],
    }
    good = {"imagePath": images[1].name, "shapes": [{"label": "disk", "points": [[2, 2], [20, 2], [20, 20]]}]}
    (source / "a.json").write_text(json.dumps(bad))
    (source / "b.json").write_text(json.dumps(good))
    (source / "c.json").write_text("[1, 2]")  # valid JSON, not a labelme document
    report = import_labels(source, "labelme", images, tmp_path / "masks", CLASSES)
    assert report.imported == [images[1]]
    assert any("a.json" in s and "shape 1" in s for s in report.skipped), report.skipped
    assert any("c.json" in s and "not a JSON object" in s for s in report.skipped), report.skipped


def test_yolo_coordinates_outside_the_image_are_refused_with_the_line(tmp_path):
    images = list_images(write_shapes_folder(tmp_path, 1, masks=0))
    labels = tmp_path / "yolo" / "labels"
    labels.mkdir(parents=True)
    (labels / "img00.txt").write_text("0 0.1 0.1 0.5 0.1 0.5 0.5\n0 1e300 0 1e300 1 0 1\n")
    report = import_labels(tmp_path / "yolo", "yolo", images, tmp_path / "masks", CLASSES)
    assert not report.imported and "img00.txt, line 2" in report.skipped[0] and "0 to 1" in report.skipped[0]


def test_coco_overlaps_between_classes_are_told(tmp_path):
    images = list_images(write_shapes_folder(tmp_path, 1, masks=0))
    square = [[10, 10, 30, 10, 30, 30, 10, 30]]
    later = [[20, 20, 40, 20, 40, 40, 20, 40]]
    data = {
        "images": [{"id": 7, "file_name": images[0].name, "height": 64, "width": 64}],
        "categories": [{"id": 1, "name": "disk"}, {"id": 2, "name": "square"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "segmentation": square},
            {"id": 2, "image_id": 7, "category_id": 2, "segmentation": later},
        ],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    report = import_labels(tmp_path / "annotations.json", "coco", images, tmp_path / "masks", CLASSES)
    assert report.imported == images
    mask = read_mask(tmp_path / "masks" / "img00.png")
    assert mask[25, 25] == 2 and mask[15, 15] == 1
    assert len(report.notes) == 1 and "of disk covered by a later square" in report.notes[0]


def test_import_with_a_labels_file_keeps_the_colours_of_the_classes_the_project_has(tmp_path):
    folder = write_shapes_folder(tmp_path, 2)
    colours = [[10, 20, 30], [200, 0, 0], [0, 0, 200]]
    names = ["background", "disk", "square"]
    data = {"classes": [{"name": n, "color": c} for n, c in zip(names, colours, strict=True)]}
    (folder / PROJECT_FILE).write_text(json.dumps(data))
    labels = tmp_path / "labels.txt"
    labels.write_text("background\ndisk\nsquare\nring\n")
    source = tmp_path / "empty"
    source.mkdir()
    assert (
        main(
            [
                "import",
                "--project",
                str(folder),
                "--from",
                str(source),
                "--kind",
                "masks",
                "--labels",
                str(labels),
            ]
        )
        == 0
    )
    project = load_project(folder)
    assert [list(c.color) for c in project.classes[:3]] == colours
    assert project.classes[3].name == "ring" and len({c.color for c in project.classes}) == 4


def test_export_into_the_projects_own_folders_is_refused(tmp_path, capsys):
    folder = _project(write_shapes_folder(tmp_path, 2))
    before = {p.name: p.read_bytes() for p in (folder / "masks").iterdir()}
    for out in (folder / "masks", folder, folder / "masks" / "sub"):
        args = ["export", "masks", "--project", str(folder), "--format", "colour", "--out", str(out)]
        assert main([*args, "--overwrite"]) == 2
        assert "choose another folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (folder / "masks").iterdir()} == before
    assert (
        main(
            [
                "export",
                "masks",
                "--project",
                str(folder),
                "--format",
                "index",
                "--out",
                str(folder / "export"),
            ]
        )
        == 0
    )


def test_a_mask_that_is_a_folder_is_named_by_train_and_export(tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 3)
    (folder / "masks" / "img01.png").unlink()
    (folder / "masks" / "img01.png").mkdir()
    report = export_labels(
        list_images(folder), folder / "masks", CLASSES, tmp_path / "out", ExportOptions(format="index")
    )
    assert len(report.exported) == 2 and "img01.png: a folder" in report.skipped[0]
    train = ["train", "--images", str(folder), "--out", str(tmp_path / "m.pt"), "--steps", "1"]
    assert main([*train, "--crop-size", "32", "--device", "cpu", "--val-fraction", "0"]) == 1
    assert "img01.png is a folder" in capsys.readouterr().err


# -- 16: leftovers of a killed export ---------------------------------------------------------------
def test_an_export_sweeps_what_a_killed_export_left_and_puts_back_a_file_it_had_moved_aside(tmp_path):
    folder = write_shapes_folder(tmp_path, 2)
    out = tmp_path / "export"
    images = list_images(folder)
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="index"))
    kept = (out / "classes.json").read_bytes()
    # A kill during the move into place: a staging folder, and the folder of files being replaced
    # holding one the kill took out before its new version came in.
    staging = out / ".seggui-export-0badc0de"
    (staging / "sub").mkdir(parents=True)
    (staging / "sub" / "half.png").write_bytes(b"half")
    replaced = out / ".seggui-export-0badc0de-replaced"
    replaced.mkdir()
    os.replace(out / "classes.json", replaced / "classes.json")
    (replaced / "img00.png").write_bytes(b"an older export's file")  # its new version is in place
    report = export_labels(
        images, folder / "masks", CLASSES, tmp_path / "other", ExportOptions(format="index")
    )
    assert report.exported  # another folder: these leftovers are not its business
    assert staging.exists()
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="index", overwrite=True))
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert (out / "classes.json").read_bytes() == kept
    assert read_mask(out / "img00.png").shape == (64, 64)
