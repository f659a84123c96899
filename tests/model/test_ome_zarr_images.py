"""OME-Zarr images opened as SegGUI opens images: listed in a folder, read whole with every
channel and their dtype; a z-stack and a time series as stacks of planes, read one plane at a
time; a damaged one refused with what to do."""

from __future__ import annotations

import numpy as np
import pytest

from model.classes import default_classes
from model.errors import ImageReadError
from model.labels.ome_zarr_masks import write_image_masks
from model.storage.imageio import image_header, list_images, read_image


def test_an_exported_ome_zarr_is_listed_and_read_as_it_was_written(tmp_path):
    raw = np.random.default_rng(0).integers(0, 60000, (300, 400, 4), dtype=np.uint16)
    write_image_masks(tmp_path / "cells.ome.zarr", raw, np.zeros((300, 400), np.uint8), default_classes(2))
    grey = np.random.default_rng(1).integers(0, 255, (50, 60), dtype=np.uint8)
    write_image_masks(tmp_path / "grey.zarr", grey, np.zeros((50, 60), np.uint8), default_classes(2))
    (tmp_path / "plain.zarr").mkdir()  # a zarr folder that is no NGFF image: not listed
    left_out: list[str] = []
    assert list_images(tmp_path, left_out) == [tmp_path / "cells.ome.zarr", tmp_path / "grey.zarr"]
    assert left_out == []
    assert np.array_equal(read_image(tmp_path / "cells.ome.zarr"), raw)
    assert image_header(tmp_path / "cells.ome.zarr") == (400, 300, 4)
    assert np.array_equal(read_image(tmp_path / "grey.zarr"), grey)


def test_a_z_stack_and_a_time_series_open_as_planes_and_a_damaged_one_is_refused(tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    from model.storage.tiff_files import expand_stacks, image_title, plane_path

    stack = np.random.default_rng(2).integers(0, 4000, (2, 5, 40, 50), dtype=np.uint16)  # c, z, y, x
    write_image(stack, zarr.open_group(str(tmp_path / "stack.zarr"), mode="w"), axes="czyx", scale_factors=())
    series = np.random.default_rng(3).integers(0, 255, (3, 4, 30, 20), dtype=np.uint8)  # t, z, y, x
    write_image(series, zarr.open_group(str(tmp_path / "time.zarr"), mode="w"), axes="tzyx", scale_factors=())
    listed = expand_stacks(list_images(tmp_path))
    assert listed == [
        *(plane_path(tmp_path / "stack.zarr", z) for z in range(5)),
        *(plane_path(tmp_path / "time.zarr", i) for i in range(12)),
    ]
    assert np.array_equal(read_image(plane_path(tmp_path / "stack.zarr", 3)), np.moveaxis(stack[:, 3], 0, -1))
    assert image_header(plane_path(tmp_path / "stack.zarr", 3)) == (50, 40, 2)
    assert np.array_equal(read_image(plane_path(tmp_path / "time.zarr", 6)), series[1, 2])  # t 2, z 3
    assert image_title(plane_path(tmp_path / "time.zarr", 6), 12) == "time.zarr, plane 7 of 12"
    with pytest.raises(ImageReadError, match="stack.zarr: holds 5 plane"):
        read_image(tmp_path / "stack.zarr", plane=5)
    (tmp_path / "broken.zarr").mkdir()
    (tmp_path / "broken.zarr" / "zarr.json").write_text("{not json")
    assert tmp_path / "broken.zarr" in list_images(tmp_path)  # listed, so that opening it says why
    with pytest.raises(ImageReadError, match="broken.zarr: its zarr metadata .* copy it again"):
        read_image(tmp_path / "broken.zarr")


def test_a_large_ome_zarr_is_read_region_by_region_from_its_own_levels(tmp_path, monkeypatch):
    import zarr
    from ome_zarr.writer import write_image

    from model.storage import tiff_files
    from model.storage.slide import SlideReader, opens_as_slide

    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)  # the window's limit, made small
    image = np.random.default_rng(5).integers(0, 4000, (3, 700, 900), dtype=np.uint16)  # c, y, x
    root = zarr.open_group(str(tmp_path / "big.zarr"), mode="w")
    write_image(image, root, axes="cyx", scale_factors=(2, 4), storage_options={"chunks": (1, 128, 256)})
    small = tmp_path / "small.zarr"
    write_image(image[:, :100, :100], zarr.open_group(str(small), mode="w"), axes="cyx", scale_factors=())
    assert opens_as_slide(tmp_path / "big.zarr") and not opens_as_slide(small)
    with SlideReader(tmp_path / "big.zarr") as reader:
        assert reader.shape == (700, 900) and reader.channels == 3 and reader.dtype == np.uint16
        assert [(lv.height, lv.width, lv.downsample) for lv in reader.levels] == [
            (700, 900, 1.0),
            (350, 450, 2.0),
            (175, 225, 4.0),
        ]
        assert (reader.levels[0].tile_height, reader.levels[0].tile_width) == (128, 256)
        window = reader.read_region(0, 100, 200, 300, 400)  # across chunk borders
        assert np.array_equal(window, np.moveaxis(image[:, 100:400, 200:600], 0, -1))
        edge = reader.read_region(0, 650, 850, 100, 100)  # past the edge: 0
        assert (
            np.array_equal(edge[:50, :50], np.moveaxis(image[:, 650:, 850:], 0, -1)) and not edge[50:].any()
        )
        level = np.asarray(zarr.open_array(str(tmp_path / "big.zarr" / "s1"), mode="r"))
        assert np.array_equal(reader.read_region(1, 0, 0, 350, 450), np.moveaxis(level, 0, -1))
        assert reader.overview().shape == (175, 225, 3)
    chunk = next(
        p for p in (tmp_path / "big.zarr" / "s0").rglob("*") if p.is_file() and p.name != "zarr.json"
    )
    chunk.write_bytes(b"damaged")
    with (
        SlideReader(tmp_path / "big.zarr") as reader,
        pytest.raises(ImageReadError, match="big.zarr: the chunk"),
    ):
        reader.read_region(0, 0, 0, 700, 900)
