"""TIFFs as microscopes and satellites write them (written here with tifffile): every channel,
every plane, the full bit depth, the channel names and the georeference come in as they are."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from model.classes import default_classes
from model.errors import ImageReadError
from model.labels.export_labels import ExportOptions, export_labels
from model.storage.geotiff import GEOREFERENCE_TAGS, read_geo_tags
from model.storage.imageio import image_channels, image_size, read_image, read_mask, write_mask
from model.storage.project import Project, load_project, save_project
from model.storage.tiff_files import AxesUnsettled, tiff_layout

RNG = np.random.default_rng(7)
CLASSES = default_classes(3)


def _fluorescence(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(0, 9000, shape, dtype=np.uint16)


CASES = [
    # name, array written, tifffile options, (channels, planes), plane 0 as H x W (x C)
    ("two_channels", _fluorescence((2, 40, 56)), {"photometric": "minisblack"}, (2, 1), "CYX"),
    ("five_channels", _fluorescence((5, 40, 56)), {}, (5, 1), "CYX"),
    (
        "planar_two",
        _fluorescence((2, 40, 56)),
        {"planarconfig": "separate", "photometric": "minisblack"},
        (2, 1),
        "CYX",
    ),
    (
        "four_samples",
        RNG.integers(0, 255, (40, 56, 4), dtype=np.uint8),
        {"photometric": "minisblack", "planarconfig": "contig"},
        (4, 1),
        "YXC",
    ),
    ("rgb16", _fluorescence((40, 56, 3)), {"photometric": "rgb"}, (3, 1), "YXC"),
    ("lzw_grey16", _fluorescence((40, 56)), {"compression": "lzw"}, (1, 1), "YX"),
    ("float", RNG.normal(0, 1, (40, 56)).astype(np.float32), {}, (1, 1), "YX"),
]


@pytest.mark.parametrize(("name", "array", "options", "counts", "axes"), CASES, ids=[c[0] for c in CASES])
def test_plain_tiffs_come_in_with_every_channel_and_their_own_values(
    tmp_path, name, array, options, counts, axes
):
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, array, **options)
    layout = tiff_layout(path)
    assert (layout.channels, layout.planes) == counts and layout.axes == axes
    image = read_image(path)
    expected = np.moveaxis(array, 0, -1) if axes == "CYX" else array
    assert image.dtype == array.dtype and np.array_equal(image, expected)
    assert image_channels(path) == counts[0] and image_size(path) == (56, 40)


def test_ome_and_imagej_files_give_their_axes_planes_and_channel_names(tmp_path):
    czyx = _fluorescence((3, 4, 40, 56))
    ome = tmp_path / "cells.ome.tif"
    tifffile.imwrite(
        ome, czyx, ome=True, metadata={"axes": "CZYX", "Channel": {"Name": ["DAPI", "GFP", "RFP"]}}
    )
    layout = tiff_layout(ome)
    assert (layout.axes, layout.channels, layout.planes) == ("CZYX", 3, 4)
    assert layout.channel_names == ("DAPI", "GFP", "RFP") and layout.settled_by == "the file's metadata"
    assert np.array_equal(read_image(ome, plane=2), np.moveaxis(czyx[:, 2], 0, -1))

    tzcyx = _fluorescence((5, 2, 2, 40, 56))  # a time series of two-plane, two-channel stacks
    hyperstack = tmp_path / "timelapse.tif"
    tifffile.imwrite(hyperstack, tzcyx, imagej=True, metadata={"axes": "TZCYX"})
    layout = tiff_layout(hyperstack)
    assert (layout.channels, layout.planes) == (2, 10)
    assert np.array_equal(read_image(hyperstack, plane=7), np.moveaxis(tzcyx[3, 1], 0, -1))  # t 4, z 2
    with pytest.raises(ImageReadError, match="10 planes, no plane 11"):
        read_image(hyperstack, plane=10)


def test_a_shape_the_rule_cannot_settle_is_asked_never_guessed(tmp_path):
    stack = _fluorescence((10, 40, 56))
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack)
    with pytest.raises(AxesUnsettled) as asked:
        read_image(path)
    assert str(path) in str(asked.value) and asked.value.choices == ("CYX", "ZYX")
    assert (
        tiff_layout(path, "ZYX").planes == 10 and tiff_layout(path, "ZYX").settled_by == "the folder's axes"
    )
    assert np.array_equal(read_image(path, "ZYX", plane=3), stack[3])
    assert np.array_equal(read_image(path, "CYX"), np.moveaxis(stack, 0, -1))
    rgb_pages = tmp_path / "rgb_pages.tif"  # pages of colour images are planes by the rule
    tifffile.imwrite(rgb_pages, RNG.integers(0, 255, (6, 40, 56, 3), dtype=np.uint8), photometric="rgb")
    assert (tiff_layout(rgb_pages).channels, tiff_layout(rgb_pages).planes) == (3, 6)


def test_the_folders_answer_is_kept_in_the_project_and_checked(tmp_path):
    save_project(Project(tmp_path, image_axes="ZYX"))
    assert load_project(tmp_path).image_axes == "ZYX"
    (tmp_path / "seggui_project.json").write_text('{"image_axes": "XYZ"}')
    with pytest.raises(Exception, match="image_axes"):
        load_project(tmp_path)


def _geotiff(path, bands: np.ndarray) -> dict[int, object]:
    """A 4-band 16-bit planar GeoTIFF in UTM zone 32N, 10 m pixels; returns its geo tags."""
    tags = {
        33550: (12, 3, (10.0, 10.0, 0.0)),
        33922: (12, 6, (0.0, 0.0, 0.0, 500000.0, 5600000.0, 0.0)),
        34735: (3, 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32632)),
        34737: (2, 0, "WGS 84 / UTM zone 32N|"),
    }
    tifffile.imwrite(
        path,
        bands,
        planarconfig="separate",
        photometric="minisblack",
        extratags=[(code, t, n, v, True) for code, (t, n, v) in tags.items()],
    )
    return {code: v for code, (_, _, v) in tags.items()}


def test_a_geotiffs_masks_are_exported_and_predicted_with_its_georeference(tmp_path, shapes_model):
    from model.networks.checkpoint import load_checkpoint
    from model.prediction.predict import Predictor
    from model.prediction.predict_folder import predict_folder

    predictor = Predictor(load_checkpoint(shapes_model), "cpu")

    folder = tmp_path / "scene"
    folder.mkdir()
    bands = _fluorescence((4, 40, 56))
    written = _geotiff(folder / "tile.tif", bands)
    assert image_channels(folder / "tile.tif") == 4
    source = read_geo_tags(folder / "tile.tif")
    assert source is not None and {code: source.value(code) for code in written} == written
    mask = RNG.integers(0, 3, (40, 56), dtype=np.uint8)
    (folder / "masks").mkdir()
    write_mask(folder / "masks" / "tile.png", mask, CLASSES)

    out = tmp_path / "export"
    export_labels([folder / "tile.tif"], folder / "masks", CLASSES, out, ExportOptions(format="geotiff"))
    exported = read_geo_tags(out / "tile.tif")
    assert exported is not None
    for code in GEOREFERENCE_TAGS:
        assert exported.value(code) == source.value(code), code
    with tifffile.TiffFile(out / "tile.tif") as tif:
        assert tif.pages[0].tags[42113].value == "255"  # not labelled is nodata
    assert np.array_equal(read_mask(out / "tile.tif"), mask)

    # A grey model cannot take 4 bands: refused with the file and both counts, nothing written.
    result = predict_folder(predictor, [folder / "tile.tif"], tmp_path / "pred", CLASSES)
    assert len(result.problems) == 1 and "tile.tif" in result.problems[0]
    assert "4 channels" in result.problems[0] and "takes 1" in result.problems[0]
    grey = folder / "grey.tif"
    _geotiff(grey, _fluorescence((40, 56)))
    result = predict_folder(predictor, [grey], tmp_path / "pred", CLASSES)
    assert result.problems == [] and (tmp_path / "pred" / "grey.png").is_file()
    predicted = read_geo_tags(tmp_path / "pred" / "grey.tif")
    assert predicted is not None and all(predicted.value(c) == written[c] for c in written)
    assert np.array_equal(
        read_mask(tmp_path / "pred" / "grey.tif"), read_mask(tmp_path / "pred" / "grey.png")
    )


def test_a_16_bit_colour_png_keeps_its_16_bits(tmp_path):
    import imagecodecs

    rgba = RNG.integers(0, 65535, (20, 30, 4), dtype=np.uint16)
    (tmp_path / "c16.png").write_bytes(imagecodecs.png_encode(rgba))
    image = read_image(tmp_path / "c16.png")
    assert image.dtype == np.uint16 and np.array_equal(image, rgba[..., :3])  # Pillow gave 8 bits


def test_a_stack_trains_predicts_exports_and_imports_plane_by_plane(tmp_path, shapes_model):
    from model.labels.import_labels import import_labels
    from model.networks.checkpoint import load_checkpoint
    from model.prediction.predict import Predictor
    from model.prediction.predict_folder import predict_folder
    from model.storage.image_cache import DecodedCache
    from model.storage.mask_names import MaskNames
    from model.storage.project import project_images
    from model.storage.tiff_files import expand_stacks, plane_path
    from model.training.data import find_samples
    from model.training.training_images import load_training_set

    folder = tmp_path / "stacks"
    folder.mkdir()
    stack = RNG.integers(0, 255, (3, 40, 56), dtype=np.uint8)
    tifffile.imwrite(folder / "z.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    images = expand_stacks([folder / "z.tif"])
    assert images == [folder / "z.tif", plane_path(folder / "z.tif", 1), plane_path(folder / "z.tif", 2)]
    assert [np.array_equal(read_image(p), stack[k]) for k, p in enumerate(images)] == [True] * 3
    names = MaskNames(images)
    assert [names.mask_path(p, folder / "masks").name for p in images] == [
        "z.png",
        "z.z002.png",
        "z.z003.png",
    ]
    (folder / "masks").mkdir()
    masks = {p: RNG.integers(0, 3, (40, 56), dtype=np.uint8) for p in (images[0], images[2])}
    for image, mask in masks.items():
        write_mask(names.mask_path(image, folder / "masks"), mask, CLASSES)

    samples = find_samples(folder, folder / "masks")
    assert [s.image for s in samples] == images and samples[1].mask is None
    loaded, problems = load_training_set(samples, 1, 3, cache=DecodedCache(1 << 26))
    assert problems == [] and [item.path for item in loaded] == [images[0], images[2]]
    assert np.array_equal(loaded[1].labels(), masks[images[2]])

    result = predict_folder(
        Predictor(load_checkpoint(shapes_model), "cpu"), images, tmp_path / "pred", CLASSES
    )
    assert result.problems == [] and sorted(p.name for p in (tmp_path / "pred").glob("*.png")) == [
        "z.png", "z.z002.png", "z.z003.png",
    ]  # fmt: skip

    project = Project(folder)
    assert project_images(project) == images
    out = tmp_path / "export"
    report = export_labels(images, folder / "masks", CLASSES, out, ExportOptions())
    assert sorted(p.name for p in out.glob("*.png")) == ["z.png", "z.z003.png"] and report.skipped == []
    coco = export_labels(images, folder / "masks", CLASSES, tmp_path / "coco", ExportOptions(format="coco"))
    assert (
        len(coco.skipped) == 1
        and "z.tif, plane 3" in coco.skipped[0]
        and "names image files" in coco.skipped[0]
    )

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    tifffile.imwrite(fresh / "z.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    imported = import_labels(out, "masks", project_images(Project(fresh)), fresh / "masks", CLASSES)
    assert imported.skipped == [] and len(imported.imported) == 2
    assert np.array_equal(read_mask(fresh / "masks" / "z.z003.png"), masks[images[2]])


def test_the_command_line_takes_the_axes_of_plain_stacks(tmp_path, shapes_model, capsys):
    from model.cli import main

    folder = tmp_path / "plain"
    folder.mkdir()
    tifffile.imwrite(folder / "s.tif", RNG.integers(0, 255, (8, 32, 40), dtype=np.uint8))
    model = ["--model", str(shapes_model), "--images", str(folder)]
    assert main(["predict", *model, "--out", str(tmp_path / "a")]) == 1  # asked, not guessed
    assert "--axes" in capsys.readouterr().err
    assert main(["predict", *model, "--out", str(tmp_path / "b"), "--axes", "ZYX"]) == 0
    assert len(list((tmp_path / "b").glob("s*.png"))) == 8  # s.png, s.z002.png ... s.z008.png
    save_project(Project(folder, image_axes="ZYX"))  # the window's answer serves the command too
    assert main(["predict", *model, "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "s.z008.png").is_file()
