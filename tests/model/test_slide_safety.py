"""Slides as safe as images (issue #37): what an adversary did to chunked masks, slide predictions,
journals and commands, headless. Each test makes its hostile file and failed on main before."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile

from model.classes import IGNORE_INDEX, classes_from_names, default_classes
from model.cli import main
from model.prediction.predict_slide import CLASSES, PROGRESS, open_slide_prediction
from model.storage import tiff_files
from model.storage.chunk_files import ChunkedMaskError
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import read_mask, write_mask
from model.storage.mask_names import MaskNames
from model.storage.project import Project, load_project, save_project
from model.storage.recovery import recover_folder, sweep_leftovers
from model.storage.stroke_journal import JOURNAL_FILE, JournalRecord, StrokeJournal, replay_journal
from seggui.controllers.scanning import scan_folder
from seggui.state.label_status import Status
from tests.model.test_slides import write_pyramid
from tests.synthetic import shapes_image

CLASSES_3 = default_classes(3)
SHAPE_CLASSES = classes_from_names(["background", "disk", "square"])  # as the synthetic shapes are


@pytest.fixture
def grey_slide(tmp_path):
    """A 1100 x 1600 grey slide of shape images, as a tiled pyramid, in a folder of its own."""
    rng = np.random.default_rng(3)
    image = np.vstack([np.hstack([shapes_image(rng, 100)[0] for _ in range(16)]) for _ in range(11)])
    folder = tmp_path / "slides"
    folder.mkdir()
    write_pyramid(folder / "slide.tif", image, levels=2, tile=256)
    return folder / "slide.tif", image


def _predict_slide(model: Path, slide: Path, out: Path, *extra: str) -> int:
    return main(["predict-slide", "--model", str(model), "--image", str(slide), "--out", str(out),
                 "--window", "1024", "--device", "cpu", *extra])  # fmt: skip


# -- 1: predict-slide --tiff writes over nothing it must not ---------------------------------------------
@pytest.mark.parametrize("which", ["slide", "model"])
def test_predict_slide_refuses_a_tiff_path_that_is_its_own_input(
    shapes_model, grey_slide, tmp_path, capsys, which
):
    slide, _ = grey_slide
    model = tmp_path / "model.pt"
    model.write_bytes(shapes_model.read_bytes())
    target = slide if which == "slide" else model
    before = target.read_bytes()
    assert _predict_slide(model, slide, tmp_path / "pred", "--tiff", str(target), "--overwrite") == 2
    err = capsys.readouterr().err
    assert f"--tiff is the {which}" in err and "Traceback" not in err
    assert target.read_bytes() == before
    assert not (tmp_path / "pred").exists()  # refused before anything was written


def test_predict_slide_replaces_an_existing_tiff_only_with_overwrite(
    shapes_model, grey_slide, tmp_path, capsys
):
    slide, image = grey_slide
    tiff = tmp_path / "classes.tif"
    tiff.write_bytes(b"the user's own file")
    assert _predict_slide(shapes_model, slide, tmp_path / "pred", "--tiff", str(tiff)) == 2
    assert "--overwrite" in capsys.readouterr().err and tiff.read_bytes() == b"the user's own file"
    assert _predict_slide(shapes_model, slide, tmp_path / "pred", "--tiff", str(tiff), "--overwrite") == 0
    assert tifffile.imread(tiff).shape == image.shape


def test_predict_slide_writes_nothing_into_a_projects_image_or_mask_folder(shapes_model, grey_slide, capsys):
    slide, _ = grey_slide
    save_project(Project(slide.parent))
    for out, tiff in (
        (slide.parent / "masks" / "pred", None),  # the output folder in the mask folder
        (slide.parent.parent / "pred", slide.parent / "masks" / "classes.tif"),
        (slide.parent.parent / "pred", slide.parent / "classes.tif"),  # one more image in the folder
    ):
        extra = ("--tiff", str(tiff)) if tiff else ()
        assert _predict_slide(shapes_model, slide, out, *extra) == 2
        err = capsys.readouterr().err
        assert "this is the project's" in err or "the slide's project folder" in err, err
        assert not out.exists() and (tiff is None or not tiff.exists())


# -- 5: a prediction folder whose arrays are of another size ------------------------------------------
@pytest.mark.parametrize("name", [CLASSES, "uncertainty.zarr"])
def test_predict_slide_refuses_an_array_of_another_size(shapes_model, grey_slide, tmp_path, capsys, name):
    slide, _ = grey_slide
    out = tmp_path / "pred"
    assert _predict_slide(shapes_model, slide, out) == 0
    for path in (out / name).iterdir():
        path.unlink()
    (out / name).rmdir()
    ChunkedMask.create(out / name, (100, 100))  # edited to 100 x 100
    progress = json.loads((out / PROGRESS).read_text())
    progress["done"] = {}  # nothing done: it would predict into the small array
    (out / PROGRESS).write_text(json.dumps(progress))
    capsys.readouterr()
    assert _predict_slide(shapes_model, slide, out) == 2
    err = capsys.readouterr().err
    assert "100 x 100 beside a slide of 1,600 x 1,100" in err and "another size" in err


# -- 6: a tile that cannot be decoded -----------------------------------------------------------------
def _damage_tile(slide: Path, index: int) -> None:
    with tifffile.TiffFile(slide) as tif:
        page = tif.series[0].levels[0].keyframe
        offset, count = page.dataoffsets[index], page.databytecounts[index]
    data = bytearray(slide.read_bytes())
    data[offset : offset + count] = bytes(count)  # zeroed: zlib cannot inflate them
    slide.write_bytes(bytes(data))


def test_predict_slide_names_a_damaged_tile_and_predicts_every_other_window(
    shapes_model, grey_slide, tmp_path, capsys
):
    slide, _ = grey_slide
    _damage_tile(slide, 0)  # in the first of the four 1024 windows
    out = tmp_path / "pred"
    assert _predict_slide(shapes_model, slide, out) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    skipped = [line for line in err.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1 and "tile 0 of level 0" in skipped[0] and "window at (0, 0)" in skipped[0]
    done = open_slide_prediction(out)
    assert done.windows_done == 3 and (0, 0) not in done.uncertainty


# -- 7: chunk files that block, never end, or inflate without end -------------------------------------
@pytest.fixture
def labelled_mask(tmp_path):
    mask = ChunkedMask.create(tmp_path / "m.zarr", (600, 600), chunk=256)
    mask.write(0, 0, np.ones((600, 600), np.uint8))
    mask.save()
    return tmp_path / "m.zarr"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_a_chunk_file_is_named_not_waited_on(labelled_mask):
    (labelled_mask / "1.1").unlink()
    os.mkfifo(labelled_mask / "1.1")
    mask = ChunkedMask.open(labelled_mask)
    assert mask.read(0, 0, 10, 10).min() == 1  # the other chunks read
    with pytest.raises(ChunkedMaskError, match=r"1\.1: a chunk of the mask is not a regular file"):
        mask.read(300, 300, 10, 10)


def test_a_link_to_dev_zero_as_a_chunk_file_is_named_not_read(labelled_mask):
    (labelled_mask / "0.1").unlink()
    (labelled_mask / "0.1").symlink_to("/dev/zero")
    with pytest.raises(ChunkedMaskError, match=r"0\.1: a chunk of the mask is a link"):
        ChunkedMask.open(labelled_mask).read(0, 300, 10, 10)


def test_a_chunk_that_inflates_past_a_chunk_is_refused_after_a_chunk(labelled_mask, monkeypatch):
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MB of zeros in 64 kB
    (labelled_mask / "0.0").write_bytes(bomb)
    inflated: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self):
            self.inner = real()
            self.unconsumed_tail = b""

        def decompress(self, data, limit=0):
            out = self.inner.decompress(data, limit)
            self.unconsumed_tail = self.inner.unconsumed_tail
            inflated.append(len(out))
            return out

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    with pytest.raises(ChunkedMaskError, match=r"0\.0: a chunk of the mask holds 65,537 bytes or more"):
        ChunkedMask.open(labelled_mask).read(0, 0, 10, 10)
    assert sum(inflated) <= 256 * 256 + 1


def test_a_zarray_that_is_a_fifo_or_nested_deep_is_named(tmp_path):
    folder = tmp_path / "m.zarr"
    folder.mkdir()
    (folder / ".zarray").write_text("[" * 30_000 + "]" * 30_000)
    with pytest.raises(ChunkedMaskError, match="too deeply|not a JSON object|nests"):
        ChunkedMask.open(folder)
    if hasattr(os, "mkfifo"):
        (folder / ".zarray").unlink()
        os.mkfifo(folder / ".zarray")
        with pytest.raises(ChunkedMaskError, match="not a regular file"):
            ChunkedMask.open(folder)


# -- 8: one odd entry in the mask folder ----------------------------------------------------------------
@pytest.mark.parametrize("odd", ["file", "loop", "superscript"])
def test_an_odd_slide_mask_is_its_slides_problem_not_the_folders(grey_slide, odd):
    slide, _ = grey_slide
    folder = slide.parent
    other = folder / "b.png"
    from PIL import Image

    Image.fromarray(np.zeros((20, 30), np.uint8)).save(other)
    masks = folder / "masks"
    masks.mkdir()
    write_mask(masks / "b.png", np.zeros((20, 30), np.uint8), CLASSES_3)
    zarr_folder = masks / "slide.zarr"
    if odd == "file":
        zarr_folder.write_text("not a folder")
    elif odd == "loop":
        zarr_folder.symlink_to(zarr_folder)
    else:
        mask = ChunkedMask.create(zarr_folder, (1100, 1600))
        mask.write(0, 0, np.ones((10, 10), np.uint8))
        mask.save()
        (zarr_folder / "².0").write_bytes(b"x")
    images = [other, slide]
    records = scan_folder(images, MaskNames(images), masks, folder / "predictions")
    status = {r.path.name: r.status for r in records}
    assert status["b.png"] == Status.LABELLED
    expected = Status.PARTLY if odd == "superscript" else Status.MASK_UNREADABLE
    assert status["slide.tif"] == expected
    if odd != "superscript":
        why = next(r for r in records if r.path == slide).error
        assert "slide.zarr" in why and "not a chunked mask folder" in why


def test_export_and_train_slide_name_an_odd_slide_mask_and_go_on(grey_slide, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1_000_000)  # the 1600 x 1100 slide opens as one
    slide, _ = grey_slide
    folder = slide.parent
    from PIL import Image

    Image.fromarray(np.zeros((20, 30), np.uint8)).save(folder / "b.png")
    save_project(Project(folder, classes=CLASSES_3))
    masks = folder / "masks"
    masks.mkdir()
    write_mask(masks / "b.png", np.ones((20, 30), np.uint8), CLASSES_3)
    (masks / "slide.zarr").write_text("not a folder")
    out = tmp_path / "out"
    assert main(["export", "masks", "--project", str(folder), "--format", "index", "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert (out / "masks" / "b.png").exists() or list(out.rglob("b.png")), printed
    said = printed.out + printed.err
    assert "slide.zarr" in said and "not a chunked mask folder" in said and "Traceback" not in said
    for odd in ("file", "loop"):
        if odd == "loop":
            (masks / "slide.zarr").unlink()
            (masks / "slide.zarr").symlink_to(masks / "slide.zarr")
        assert main(["train-slide", "--image", str(slide), "--mask", str(masks / "slide.zarr"),
                     "--out", str(tmp_path / "m.pt"), "--steps", "1", "--device", "cpu"]) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert "slide.zarr" in err and "Traceback" not in err, err


# -- 4: a journal record is trusted no further than its image --------------------------------------------
def _journal(folder: Path, *records: JournalRecord) -> None:
    journal = StrokeJournal(folder / JOURNAL_FILE)
    for record in records:
        journal.append(record)
    journal.close()


def _tile(value: int, size: int = 64) -> np.ndarray:
    return np.full((size, size), value, np.uint8)


def test_a_journal_record_of_the_wrong_size_is_dropped_and_the_good_mask_kept(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((96, 96), np.uint8)).save(tmp_path / "a.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    good = np.full((96, 96), 2, np.uint8)
    write_mask(masks / "a.png", good, CLASSES_3)
    _journal(tmp_path, JournalRecord("a.png", (97, 96), 1, ((0, 0, _tile(1)),)))
    replay = replay_journal(tmp_path, masks, CLASSES_3, lambda p: p, mask_names={"a.png": tmp_path / "a.png"})
    assert np.array_equal(read_mask(masks / "a.png"), good)
    assert not list(masks.glob("*.unusable*"))
    assert any("'a.png'" in p and "96 x 96" in p for p in replay.problems), replay.problems
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_a_journal_record_of_a_readable_mask_of_another_size_never_moves_it_aside(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    good = np.full((96, 96), 2, np.uint8)
    write_mask(masks / "a.png", good, CLASSES_3)
    _journal(tmp_path, JournalRecord("a.png", (128, 128), 1, ((0, 0, _tile(1)),)))
    replay = replay_journal(tmp_path, masks, CLASSES_3, lambda p: p, mask_names={"a.png"})
    assert np.array_equal(read_mask(masks / "a.png"), good) and not list(masks.glob("*.unusable*"))
    assert any("96 x 96" in p and "stay in the journal" in p for p in replay.problems), replay.problems
    assert (tmp_path / JOURNAL_FILE).exists()  # kept, not thrown away


@pytest.mark.parametrize("shape", [(30_000, 30_000), (65_535, 65_535), (0, 5)])
def test_a_journal_record_not_of_its_images_size_allocates_nothing(tmp_path, shape):
    from PIL import Image

    Image.fromarray(np.zeros((96, 96), np.uint8)).save(tmp_path / "a.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    _journal(tmp_path, JournalRecord("a.png", shape, 1, ((0, 0, _tile(1)),)))
    replay = replay_journal(tmp_path, masks, CLASSES_3, lambda p: p, mask_names={"a.png": tmp_path / "a.png"})
    assert not (masks / "a.png").exists()
    assert any("not of its image's size, 96 x 96" in p for p in replay.problems), replay.problems


@pytest.mark.parametrize("shape", [(65_535, 65_535), (0, 5)])
def test_a_journal_record_no_image_can_have_is_dropped_without_its_image(tmp_path, shape):
    masks = tmp_path / "masks"
    masks.mkdir()
    _journal(tmp_path, JournalRecord("a.png", shape, 1, ((0, 0, _tile(1)),)))
    replay = replay_journal(tmp_path, masks, CLASSES_3, lambda p: p, mask_names={"a.png"})
    assert not (masks / "a.png").exists()
    assert any("no image's" in p for p in replay.problems), replay.problems


def test_a_journal_name_with_a_nul_byte_is_named_and_the_folder_opens(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    _journal(tmp_path, JournalRecord("a\0.png", (64, 64), 1, ((0, 0, _tile(1)),)),
             JournalRecord("b.png", (64, 64), 2, ((0, 0, _tile(1)),)))  # fmt: skip
    replay = replay_journal(tmp_path, masks, CLASSES_3, lambda p: p, mask_names={"b.png"})
    assert any("not a file name" in p for p in replay.problems)
    assert read_mask(masks / "b.png").max() == 1  # the good record still restored


# -- 11: what a killed slide import and a killed chunk write leave -------------------------------------
def test_opening_sweeps_a_killed_slide_imports_staging_and_chunk_temporaries(tmp_path):
    save_project(Project(tmp_path))
    project = load_project(tmp_path)
    masks = project.mask_dir
    mask = ChunkedMask.create(masks / "slide.zarr", (300, 300))
    mask.write(0, 0, np.ones((10, 10), np.uint8))
    mask.save()
    staging = masks / ".slide.zarr.importing-0a1b2c3d"
    staging.mkdir()
    (staging / "0.0").write_bytes(bytes(1000))
    temporary = masks / "slide.zarr" / ".0.0.deadbeef.tmp"
    temporary.write_bytes(bytes(100))
    prediction = project.predictions_dir / "slide.slide" / "classes.zarr"
    prediction.mkdir(parents=True)
    (prediction / ".1.0.0123abcd.tmp").write_bytes(b"x")
    kept = masks / "slide.zarr" / "notes.tmp"  # not a temporary of ours
    kept.write_text("mine")
    removed, problems = sweep_leftovers(project)
    assert not staging.exists() and not temporary.exists() and not (prediction / ".1.0.0123abcd.tmp").exists()
    assert kept.exists() and not problems and len(removed) == 3
    assert ChunkedMask.open(masks / "slide.zarr").read(0, 0, 1, 1)[0, 0] == 1


def test_a_mask_a_killed_import_had_moved_aside_is_put_back(tmp_path):
    save_project(Project(tmp_path))
    project = load_project(tmp_path)
    aside = project.mask_dir / ".slide.zarr.replaced-0a1b2c3d"
    mask = ChunkedMask.create(aside, (300, 300))
    mask.write(0, 0, np.ones((10, 10), np.uint8))
    mask.save()
    recovery = recover_folder(project, {})
    assert not aside.exists() and not recovery.problems
    assert ChunkedMask.open(project.mask_dir / "slide.zarr").read(0, 0, 1, 1)[0, 0] == 1


# -- 3 (headless): two writers of one chunked mask --------------------------------------------------------
def test_a_chunk_another_writer_changed_goes_to_a_conflict_copy_and_nothing_is_lost(tmp_path):
    folder = tmp_path / "slide.zarr"
    first = ChunkedMask.create(folder, (1000, 1000))
    second = ChunkedMask.open(folder)
    assert second.read(0, 0, 1, 1)[0, 0] == IGNORE_INDEX  # the second has read chunk 0.0
    first.write(10, 10, np.ones((5, 5), np.uint8))
    first.save()
    second.write(100, 100, np.full((5, 5), 2, np.uint8))  # same chunk, from the older read
    second.write(600, 600, np.full((5, 5), 2, np.uint8))  # a chunk nobody else changed
    report = second.save()
    assert report.conflicts == 1 and report.conflict_copy == tmp_path / "slide.conflict.zarr"
    on_disk = ChunkedMask.open(folder)
    assert on_disk.read(10, 10, 1, 1)[0, 0] == 1 and on_disk.read(100, 100, 1, 1)[0, 0] == IGNORE_INDEX
    assert on_disk.read(600, 600, 1, 1)[0, 0] == 2
    copy = ChunkedMask.open(tmp_path / "slide.conflict.zarr")
    assert copy.read(100, 100, 1, 1)[0, 0] == 2 and copy.stored_chunks() == [(0, 0)]
    # later saves of that chunk from the second go to the copy too; the first's go on as before
    second.write(200, 200, np.full((5, 5), 2, np.uint8))
    assert second.save().conflicts == 0
    first.write(20, 20, np.ones((5, 5), np.uint8))
    assert first.save().conflicts == 0
    assert ChunkedMask.open(tmp_path / "slide.conflict.zarr").read(200, 200, 1, 1)[0, 0] == 2
    assert ChunkedMask.open(folder).read(20, 20, 1, 1)[0, 0] == 1


# -- 7 (window side, headless): an unreadable chunk reads as not labelled and is kept when painted ---
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_painting_over_an_unreadable_chunk_keeps_it_aside(labelled_mask):
    (labelled_mask / "1.1").unlink()
    os.mkfifo(labelled_mask / "1.1")
    said: list[str] = []
    mask = ChunkedMask.open(labelled_mask)
    mask.on_unreadable_chunk = said.append
    assert mask.read(300, 300, 2, 2).max() == IGNORE_INDEX and len(said) == 1
    mask.read(400, 400, 2, 2)
    assert len(said) == 1  # told once per chunk
    mask.write(300, 300, np.full((4, 4), 2, np.uint8))
    mask.save()
    assert (labelled_mask / ".1.1.unusable").exists() and (labelled_mask / "1.1").is_file()
    assert ChunkedMask.open(labelled_mask).read(300, 300, 1, 1)[0, 0] == 2


# -- 9: small files that would take all memory or hang -------------------------------------------------
def test_a_labelme_mask_shape_larger_than_its_image_is_refused_before_decoding(tmp_path, monkeypatch):
    import base64
    import io

    from PIL import Image

    from model.labels.import_labels import import_labels
    from model.storage.imageio import list_images
    from tests.synthetic import write_shapes_folder

    images = list_images(write_shapes_folder(tmp_path, 2, masks=0))
    big = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(big, "PNG")  # some 100 kB that decode to 900 MB
    decoded: list[tuple[int, int]] = []
    real = Image.Image.convert
    monkeypatch.setattr(
        Image.Image, "convert", lambda self, *a, **k: decoded.append(self.size) or real(self, *a, **k)
    )
    source = tmp_path / "labelme"
    source.mkdir()
    shape = {"label": "disk", "shape_type": "mask", "points": [[0, 0], [4, 4]]}
    big_mask = {**shape, "mask": base64.b64encode(big.getvalue()).decode()}
    (source / "a.json").write_text(json.dumps({"imagePath": images[0].name, "shapes": [big_mask]}))
    polygon = {"label": "disk", "points": [[2, 2], [20, 2], [20, 20]]}
    (source / "b.json").write_text(json.dumps({"imagePath": images[1].name, "shapes": [polygon]}))
    report = import_labels(source, "labelme", images, tmp_path / "masks", SHAPE_CLASSES)
    assert report.imported == [images[1]]  # the import goes on
    assert any("a.json" in s and "30000 x 30000, larger than the image" in s for s in report.skipped), (
        report.skipped
    )
    assert (30_000, 30_000) not in decoded


def test_labelme_shapes_far_outside_their_image_are_left_out_with_a_note(tmp_path):
    from model.labels.import_labels import import_labels
    from model.storage.imageio import list_images
    from tests.synthetic import write_shapes_folder

    images = list_images(write_shapes_folder(tmp_path, 1, masks=0))
    source = tmp_path / "labelme"
    source.mkdir()
    shapes = [
        {"label": "disk", "points": [[2, 2], [20, 2], [20, 20]]},
        {"label": "disk", "points": [[1e300, 0], [1e300, 5], [0, 5]]},
        {"label": "disk", "shape_type": "circle", "points": [[10, 10], [10, 1e9]]},
        {"label": "disk", "points": [[500, 500], [520, 500], [520, 520]]},  # wholly outside
    ]
    (source / "a.json").write_text(json.dumps({"imagePath": images[0].name, "shapes": shapes}))
    report = import_labels(source, "labelme", images, tmp_path / "masks", SHAPE_CLASSES)
    assert report.imported == [images[0]]
    notes = " ".join(report.notes)
    assert "shape 2 (polygon 'disk') reaches far beyond the image" in notes
    assert "shape 3 (circle 'disk') reaches far beyond the image" in notes
    assert "shape 4 (polygon 'disk') lies wholly outside the image" in notes


@pytest.mark.parametrize("field, value, words", [("depth", 10**6, "depth must be 1..8"),
                                                 ("base_channels", 10**5, "channels; at most 4,096"),
                                                 ("num_classes", 10**9, "num_classes must be"),
                                                 ("depth", "4", "whole number")])  # fmt: skip
def test_a_model_file_with_an_absurd_network_is_refused_before_building_it(
    shapes_model, tmp_path, capsys, field, value, words
):
    import torch

    data = torch.load(shapes_model, weights_only=True)
    data["config"][field] = value
    path = tmp_path / "absurd.pt"
    torch.save(data, path)
    images = tmp_path / "images"
    images.mkdir()
    assert main(["predict", "--model", str(path), "--images", str(images), "--out", str(tmp_path / "o"),
                 "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "absurd.pt: damaged SegGUI model file" in err and words in err and "Traceback" not in err


def test_a_progress_file_nested_deep_or_wrong_names_its_file(shapes_model, grey_slide, tmp_path, capsys):
    slide, _ = grey_slide
    out = tmp_path / "pred"
    assert _predict_slide(shapes_model, slide, out) == 0
    wrong = json.dumps({**json.loads((out / PROGRESS).read_text()), "window": "wide"})
    for text, words in (("[" * 100_000 + "]" * 100_000, "nests too deeply"), (wrong, "invalid literal")):
        (out / PROGRESS).write_text(text)
        capsys.readouterr()
        assert _predict_slide(shapes_model, slide, out) == 2
        err = capsys.readouterr().err
        assert str(out / PROGRESS) in err and words in err and "Traceback" not in err


# -- 12: unclear words and silent redirections ----------------------------------------------------------
def test_coco_names_ids_and_duplicates_that_cannot_be_used_are_told(tmp_path):
    from model.labels.import_labels import import_labels
    from model.storage.imageio import list_images
    from tests.synthetic import write_shapes_folder

    images = list_images(write_shapes_folder(tmp_path, 2, masks=0))
    square = [[10, 10, 30, 10, 30, 30, 10, 30]]
    data = {
        "images": [
            {"id": 1, "file_name": images[0].name, "height": 64, "width": 64},
            {"id": 2, "file_name": images[1].name, "height": 64, "width": 64},
            {"id": 2, "file_name": "elsewhere.png", "height": 64, "width": 64},  # the same id again
            {"id": [3], "file_name": "x.png", "height": 64, "width": 64},
        ],
        "categories": [
            {"id": 1, "name": "disk"},
            {"id": 5, "name": ["square"]},  # a name that is not text
            {"id": 10**20, "name": "square"},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": square},
            {"id": 2, "image_id": 2, "category_id": 1, "segmentation": square},  # which image 2?
            {"id": 3, "image_id": 1, "category_id": 1e20, "segmentation": square},  # no such category
            {"id": 4, "image_id": [1], "category_id": [1], "segmentation": square},
        ],
    }
    source = tmp_path / "annotations.json"
    source.write_text(json.dumps(data))
    report = import_labels(source, "coco", images, tmp_path / "masks", SHAPE_CLASSES)
    said = " | ".join(report.skipped + report.notes)
    assert report.imported == [images[0]]
    assert "categories entry 2 has no name (text)" in said
    assert "images entry 3 (elsewhere.png) repeats the id 2" in said
    assert "images entry 4 has no 'id'" in said
    assert "3 annotation(s) name no image or category" in said


def test_a_complex_tiff_is_named_as_complex_and_refused(tmp_path):
    from model.errors import ImageReadError
    from model.storage.imageio import read_image

    path = tmp_path / "fft.tif"
    tifffile.imwrite(path, (np.ones((8, 8)) + 1j).astype(np.complex64))
    with pytest.raises(ImageReadError, match="64-bit complex values"):
        read_image(path)
