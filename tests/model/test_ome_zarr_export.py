"""Masks exported as OME-Zarr label images and read back with ome-zarr-py's own reader: the
image's pixels (every channel, 16-bit kept), the mask's, each class's colour and name; a slide
streamed from its reader and chunked mask; the command line's format."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile
from PIL import Image

from model.classes import IGNORE_INDEX, ClassInfo
from model.cli import main
from model.labels.export_labels import ExportOptions, export_labels
from model.storage import tiff_files
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import read_mask, write_mask
from model.storage.project import Project, save_project

CLASSES = [
    ClassInfo("background", (0, 0, 0)),
    ClassInfo("cell", (230, 25, 75)),
    ClassInfo("nucleus", (0, 130, 200)),
]


def _read(path):
    """ome-zarr-py's reader on ``path``: (image levels, label levels, label metadata)."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    nodes = list(Reader(parse_url(str(path)))())
    image = nodes[0]
    label = next(n for n in nodes if n.metadata.get("name") == "segmentation")
    return [np.asarray(a) for a in image.data], [np.asarray(a) for a in label.data], label.metadata


def _folder(tmp_path):
    folder = tmp_path / "project"
    (folder / "masks").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 60000, (4, 600, 800), dtype=np.uint16)
    tifffile.imwrite(folder / "cells.tif", cells, photometric="minisblack", metadata={"axes": "CYX"})
    photo = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    Image.fromarray(photo).save(folder / "photo.png")
    mask = np.full((600, 800), IGNORE_INDEX, np.uint8)
    mask[20:120, 30:200], mask[150:200, 50:60] = 1, 2
    write_mask(folder / "masks" / "cells.png", mask, CLASSES)
    small = np.zeros((90, 120), np.uint8)
    small[10:40, 10:40] = 1
    write_mask(folder / "masks" / "photo.png", small, CLASSES)
    save_project(Project(folder, classes=tuple(CLASSES)))
    return folder, cells, photo, mask, small


def test_the_export_reads_back_with_ome_zarr_py_pixels_and_colours_equal(tmp_path):
    folder, cells, photo, mask, small = _folder(tmp_path)
    out = tmp_path / "export"
    images = [folder / "cells.tif", folder / "photo.png"]
    report = export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="ome-zarr"))
    assert report.exported == images and not report.skipped
    levels, labels, metadata = _read(out / "cells.ome.zarr")
    assert levels[0].dtype == np.uint16 and np.array_equal(levels[0], cells)  # all four channels, 16-bit
    assert np.array_equal(labels[0], mask)
    assert labels[0].shape == (600, 800) and len(labels) == len(levels) == 2  # and 300 x 400
    assert np.array_equal(labels[1], mask[::2, ::2])
    for index, info in enumerate(CLASSES):
        assert metadata["color"][index] == pytest.approx([*(c / 255 for c in info.color), 1.0])
        assert metadata["properties"][index] == {"class": info.name}
    assert (
        metadata["color"][IGNORE_INDEX][3] == 0
        and metadata["properties"][IGNORE_INDEX]["class"] == "not labelled"
    )
    levels, labels, _ = _read(out / "photo.ome.zarr")
    assert np.array_equal(np.moveaxis(levels[0], 0, -1), photo) and np.array_equal(labels[0], small)


def test_unlabelled_as_background_and_the_command_line(tmp_path, capsys):
    folder, _, _, mask, _ = _folder(tmp_path)
    out = tmp_path / "cli"
    argv = ["export", "masks", "--project", str(folder), "--format", "ome-zarr", "--out", str(out)]
    assert main([*argv, "--unlabelled", "background"]) == 0
    _, labels, _ = _read(out / "cells.ome.zarr")
    assert np.array_equal(labels[0], np.where(mask == IGNORE_INDEX, 0, mask))
    assert main(argv) == 2  # would replace what is there
    assert "already exist" in capsys.readouterr().err


def test_a_slide_is_streamed_from_its_reader_and_chunked_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)  # this 1700 x 1300 slide is "huge"
    folder = tmp_path / "slides"
    (folder / "masks").mkdir(parents=True)
    image = np.random.default_rng(3).integers(0, 256, (1300, 1700, 3), dtype=np.uint8)
    with tifffile.TiffWriter(folder / "biopsy.tif") as tif:  # a pyramid of three levels
        tif.write(image, subifds=2, tile=(256, 256), photometric="rgb")
        tif.write(image[::2, ::2], subfiletype=1, tile=(256, 256), photometric="rgb")
        tif.write(image[::4, ::4], subfiletype=1, tile=(256, 256), photometric="rgb")
    chunked = ChunkedMask.create(folder / "masks" / "biopsy.zarr", (1300, 1700))
    painted = np.full((1300, 1700), IGNORE_INDEX, np.uint8)
    painted[100:900, 1200:1650], painted[1000:1250, 10:300] = 1, 2
    chunked.write(0, 0, painted)
    chunked.save()
    out = tmp_path / "export"
    report = export_labels(
        [folder / "biopsy.tif"], folder / "masks", CLASSES, out, ExportOptions(format="ome-zarr")
    )
    assert report.exported == [folder / "biopsy.tif"], report.skipped
    levels, labels, metadata = _read(out / "biopsy.ome.zarr")
    assert [level.shape[1:] for level in levels] == [(1300, 1700), (650, 850), (325, 425)]  # the slide's own
    for level, step in zip(levels, (1, 2, 4)):
        assert np.array_equal(np.moveaxis(level, 0, -1), image[::step, ::step])
    assert np.array_equal(labels[0], painted)
    assert np.array_equal(labels[1], painted[::2, ::2]) and np.array_equal(labels[2], painted[::4, ::4])
    assert metadata["properties"][2] == {"class": "nucleus"}


def test_label_images_import_as_masks_from_an_export_or_the_project_itself(tmp_path, capsys):
    folder, _, _, mask, small = _folder(tmp_path)
    out = tmp_path / "export"
    export_labels(
        [folder / "cells.tif", folder / "photo.png"],
        folder / "masks",
        CLASSES,
        out,
        ExportOptions(format="ome-zarr"),
    )
    shutil.rmtree(folder / "masks")
    argv = ["import", "--project", str(folder), "--from", str(out), "--kind", "ome-zarr"]
    assert main(argv) == 0, capsys.readouterr().err
    assert np.array_equal(read_mask(folder / "masks" / "cells.png"), mask)
    assert np.array_equal(read_mask(folder / "masks" / "photo.png"), small)
    # the exported OME-Zarrs as a project of their own: their label images become its masks,
    # once the project has the classes (a new folder has two: it is told how to declare them)
    assert main(["import", "--project", str(out), "--from", str(out), "--kind", "ome-zarr"]) == 1
    told = capsys.readouterr().err
    assert "values [2] are not classes of this project (2 classes)" in told and "classes.json" in told
    save_project(Project(out, classes=tuple(CLASSES)))
    assert (
        main(["import", "--project", str(out), "--from", str(out), "--kind", "ome-zarr", "--overwrite"]) == 0
    )
    assert np.array_equal(read_mask(out / "masks" / "cells.ome.png"), mask)


def test_a_stack_exports_as_one_ome_zarr_its_planes_as_z_and_imports_back_plane_by_plane(tmp_path, capsys):
    from model.storage.ome_zarr_images import ome_zarr_header
    from model.storage.project import load_project, project_images
    from model.storage.tiff_files import plane_path

    folder = tmp_path / "stacks"
    (folder / "masks").mkdir(parents=True)
    rng = np.random.default_rng(4)
    stack = rng.integers(0, 60000, (3, 2, 70, 90), dtype=np.uint16)  # z, c, y, x
    names = {"axes": "ZCYX", "Channel": {"Name": ["DAPI", "GFP"]}}
    tifffile.imwrite(folder / "embryo.tif", stack, photometric="minisblack", ome=True, metadata=names)
    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(folder / "flat.png")
    save_project(Project(folder, classes=tuple(CLASSES)))
    masks = {}
    for z in (0, 2):  # the middle plane not labelled
        masks[z] = np.full((70, 90), IGNORE_INDEX, np.uint8)
        masks[z][5 + z : 30, 10 : 40 + z] = 1 + z // 2
    write_mask(folder / "masks" / "embryo.png", masks[0], CLASSES)
    write_mask(folder / "masks" / "embryo.z003.png", masks[2], CLASSES)
    images = project_images(load_project(folder))
    assert images[:3] == [plane_path(folder / "embryo.tif", z) for z in range(3)]
    out = tmp_path / "export"
    report = export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="ome-zarr"))
    assert not report.skipped
    assert sorted(p.name for p in out.glob("*.ome.zarr")) == ["embryo.ome.zarr"]  # flat.png has no mask
    levels, labels, metadata = _read(out / "embryo.ome.zarr")
    assert np.array_equal(levels[0], np.moveaxis(stack, 0, 1))  # c, z, y, x: every channel, 16-bit
    assert labels[0].shape == (3, 70, 90) and np.array_equal(labels[0][0], masks[0])
    assert (labels[0][1] == IGNORE_INDEX).all() and np.array_equal(labels[0][2], masks[2])
    assert metadata["properties"][1] == {"class": "cell"}
    assert ome_zarr_header(out / "embryo.ome.zarr").channel_names == ("DAPI", "GFP")  # names travel

    shutil.rmtree(folder / "masks")
    argv = ["import", "--project", str(folder), "--from", str(out), "--kind", "ome-zarr"]
    assert main(argv) == 0, capsys.readouterr().err
    assert np.array_equal(read_mask(folder / "masks" / "embryo.png"), masks[0])
    assert np.array_equal(read_mask(folder / "masks" / "embryo.z003.png"), masks[2])

    # the export as a project of its own: the OME-Zarr is a stack of 3 planes with their labels
    save_project(Project(out, classes=tuple(CLASSES)))
    assert project_images(load_project(out)) == [plane_path(out / "embryo.ome.zarr", z) for z in range(3)]
    assert main(["import", "--project", str(out), "--from", str(out), "--kind", "ome-zarr"]) == 0
    assert np.array_equal(read_mask(out / "masks" / "embryo.ome.z003.png"), masks[2])


def test_napari_ome_zarrs_reader_gives_napari_the_image_the_classes_colours_and_names(tmp_path):
    """What napari shows when a user drops an export on it: napari-ome-zarr's reader function
    (no window opened), on a 4-channel 16-bit image and a stack."""
    reader = pytest.importorskip("napari_ome_zarr").napari_get_reader  # Python 3.10 lacks it
    from model.storage.project import load_project, project_images

    folder, cells, _, mask, _ = _folder(tmp_path)
    stack = np.random.default_rng(9).integers(0, 255, (3, 64, 80), dtype=np.uint8)
    tifffile.imwrite(folder / "z.tif", stack, metadata={"axes": "ZYX"})
    write_mask(folder / "masks" / "z.z002.png", np.where(stack[1] > 128, 1, 0).astype(np.uint8), CLASSES)
    out = tmp_path / "export"
    images = project_images(load_project(folder))
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="ome-zarr"))

    image, labels = reader(str(out / "cells.ome.zarr"))(str(out / "cells.ome.zarr"))
    data, options, kind = image
    assert kind == "image" and options["channel_axis"] == 0 and np.array_equal(np.asarray(data[0]), cells)
    data, options, kind = labels
    assert kind == "labels" and np.array_equal(np.asarray(data[0]), mask)
    for value, info in enumerate(CLASSES):
        assert options["colormap"][value] == pytest.approx([*(c / 255 for c in info.color), 1.0])
    assert options["colormap"][IGNORE_INDEX][3] == 0  # not labelled: see-through
    names = dict(zip(options["properties"]["index"], options["properties"]["class"]))
    assert names == {0: "background", 1: "cell", 2: "nucleus", IGNORE_INDEX: "not labelled"}

    image, labels = reader(str(out / "z.ome.zarr"))(str(out / "z.ome.zarr"))
    assert np.array_equal(np.asarray(image[0][0]), stack) and image[1]["axis_labels"] == ("z", "y", "x")
    planes = np.asarray(labels[0][0])
    assert planes.shape == (3, 64, 80) and (planes[0] == IGNORE_INDEX).all()
    assert np.array_equal(planes[1], np.where(stack[1] > 128, 1, 0))
