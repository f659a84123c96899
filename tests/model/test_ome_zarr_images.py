"""OME-Zarr images opened as SegGUI opens images: listed in a folder, read whole with every
channel and their dtype; a z-stack, a time series, a damaged one refused with what to do."""

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


def test_a_z_stack_and_a_damaged_one_are_refused_with_what_to_do(tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    root = zarr.open_group(str(tmp_path / "stack.zarr"), mode="w")
    write_image(np.zeros((5, 40, 50), np.uint8), root, axes="zyx", scale_factors=())
    with pytest.raises(ImageReadError, match="5 planes"):
        read_image(tmp_path / "stack.zarr")
    (tmp_path / "broken.zarr").mkdir()
    (tmp_path / "broken.zarr" / "zarr.json").write_text("{not json")
    assert tmp_path / "broken.zarr" in list_images(tmp_path)  # listed, so that opening it says why
    with pytest.raises(ImageReadError, match="broken.zarr: its zarr metadata"):
        read_image(tmp_path / "broken.zarr")
