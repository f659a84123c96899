"""An exported OME-Zarr opened back in the window as ``python main.py FOLDER`` opens it: shown
with every channel, listed as readable, painted and saved like any image."""

from __future__ import annotations

import numpy as np

from model.classes import IGNORE_INDEX, default_classes
from model.labels.ome_zarr_masks import channel_metadata, write_image_masks
from model.storage.imageio import read_mask
from seggui.state.label_status import Status
from tests.seggui.conftest import drag


def test_an_ome_zarr_opens_paints_and_saves(qtbot, started, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    raw = np.random.default_rng(0).integers(0, 4000, (120, 160, 3), dtype=np.uint16)
    write_image_masks(folder / "cells.ome.zarr", raw, np.zeros((120, 160), np.uint8), default_classes(2))
    window = started(folder)
    assert window.state.current.path == folder / "cells.ome.zarr"
    assert np.array_equal(window.state.current.raw, raw) and len(window.display.views) == 3
    thumbnails = window.session.thumbnails
    # its thumbnail is read as its image is
    qtbot.waitUntil(lambda: thumbnails.get(folder / "cells.ome.zarr") is not None, timeout=10000)
    assert window.images.record(0).status != Status.UNREADABLE, window.images.record(0).error
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    drag(qtbot, window, [(20.5, 30.5), (60.5, 30.5)])
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    mask = read_mask(folder / "masks" / "cells.ome.png")
    assert mask[30, 40] == 1 and mask[100, 100] == IGNORE_INDEX


def test_an_ome_zarr_z_stack_opens_as_planes_each_painted_into_its_own_mask(qtbot, started, tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    folder = tmp_path / "zstack"
    folder.mkdir()
    stack = np.random.default_rng(1).integers(0, 1000, (2, 4, 60, 80), dtype=np.uint16)  # c, z, y, x
    stack *= np.arange(1, 5, dtype=np.uint16)[None, :, None, None]  # each plane brighter than the last
    names = channel_metadata(np.moveaxis(stack[:, 0], 0, -1), ["DAPI", "GFP"])  # as exports name them
    write_image(
        stack, zarr.open_group(str(folder / "embryo.zarr"), mode="w"), axes="czyx", scale_factors=(), **names
    )
    window = started(folder)
    model = window.browser.model
    assert [model.data(model.index(r)) for r in range(model.rowCount())] == [
        f"embryo.zarr, plane {z}" for z in range(1, 5)
    ]
    assert window.plane_bar.isVisible() and window.plane_bar.label.text() == "1 of 4"
    assert [row.visible.text() for row in window.channel_dock.widget().rows] == ["DAPI", "GFP"]
    limits = [(v.low, v.high) for v in window.display.views]
    assert np.array_equal(window.state.current.raw, np.moveaxis(stack[:, 0], 0, -1))
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.plane_bar.slider.setValue(3)
    assert np.array_equal(window.state.current.raw, np.moveaxis(stack[:, 2], 0, -1))
    assert [(v.low, v.high) for v in window.display.views] == limits  # one contrast for the whole stack
    assert "OME-Zarr, 4 planes (z)" in window.statusBar().currentMessage()
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    drag(qtbot, window, [(10.5, 12.5), (30.5, 12.5)])
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    assert read_mask(folder / "masks" / "embryo.z003.png")[12, 20] == 1
    assert not (folder / "masks" / "embryo.png").exists()  # plane 1 was not painted


def test_a_large_ome_zarr_opens_as_a_slide_from_its_levels_and_strokes_land_in_its_chunked_mask(
    qtbot, window, tmp_path, monkeypatch
):
    import zarr
    from ome_zarr.writer import write_image

    from model.storage import tiff_files
    from model.storage.project import Project, save_project

    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1_000_000)
    folder = tmp_path / "big"
    folder.mkdir()
    image = np.random.default_rng(6).integers(0, 255, (3, 1900, 2600), dtype=np.uint8)
    root = zarr.open_group(str(folder / "tissue.ome.zarr"), mode="w")
    write_image(image, root, axes="cyx", scale_factors=(2, 4), storage_options={"chunks": (1, 512, 512)})
    save_project(Project(folder, classes=tuple(default_classes(3))))
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: window.canvas.viewport().width() > 900, timeout=5000)
    with qtbot.waitSignal(window.state.slide_opened, timeout=10000):
        window.session.open_folder(folder)
    slide = window.state.slide
    assert slide is not None and window.state.current is None
    assert [lv.downsample for lv in slide.reader.levels] == [1.0, 2.0, 4.0]
    assert 0 not in slide.reader.largest_regions or slide.reader.largest_regions[0] < 1900 * 2600
    window.canvas.actual_size()
    window.tool_state.set_class(2)
    window.tool_state.set_brush_radius(5)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(100.5, 40.5), (140.5, 40.5)])
    saved = zarr.open_array(str(folder / "masks" / "tissue.ome.zarr"), mode="r")
    assert saved.shape == (1900, 2600) and saved[40, 120] == 2 and saved[400, 400] == IGNORE_INDEX
