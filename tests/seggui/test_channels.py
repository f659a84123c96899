"""Multi-channel and 16-bit TIFFs in the window: a composite of every channel with its own
colour, contrast and visibility; a plain shape asked about once per folder; fills on every channel."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from model.classes import IGNORE_INDEX
from model.composite import (
    GREEN,
    MAGENTA,
    ChannelView,
    channel_statistics,
    composite,
    default_views,
)
from model.storage.imageio import read_mask
from model.storage.project import load_project
from seggui.state.document import similar_pixels
from tests.seggui.conftest import at_zoom_one, drag, open_folder


def _stains(rng: np.random.Generator, channels: int = 4) -> np.ndarray:
    """A 16-bit ``C x 48 x 64`` image: channel c bright in its own quarter of the width."""
    image = rng.integers(100, 200, (channels, 48, 64)).astype(np.uint16)
    for c in range(channels):
        image[c, :, c * 16 : (c + 1) * 16] += 6000 + 1000 * c
    return image


@pytest.fixture
def stained(tmp_path):
    rng = np.random.default_rng(0)
    names = {"Channel": {"Name": ["DAPI", "GFP", "RFP", "Cy5"]}}
    for i in range(2):
        tifffile.imwrite(
            tmp_path / f"cells{i}.ome.tif", _stains(rng), ome=True, metadata={"axes": "CYX", **names}
        )
    return tmp_path


def _pixel(window, x: int, y: int) -> tuple[int, int, int]:
    colour = window.canvas.image_layer._image.pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def test_every_channel_is_shown_in_its_colour_with_its_name_and_own_contrast(qtbot, window, stained):
    open_folder(qtbot, window, stained)
    raw = window.state.current.raw
    assert raw.shape == (48, 64, 4) and raw.dtype == np.uint16  # every channel, 16 bits kept
    panel = window.channel_dock.widget()
    assert [row.visible.text() for row in panel.rows] == ["DAPI", "GFP", "RFP", "Cy5"]
    views = window.display.views
    assert [v.colour for v in views] == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    # Each quarter shows its own channel's colour: a stain 30x dimmer than the fourth is seen.
    assert _pixel(window, 8, 10)[0] > 200 and _pixel(window, 8, 10)[1] < 60
    assert _pixel(window, 24, 10)[1] > 200 and _pixel(window, 24, 10)[0] < 60
    assert min(_pixel(window, 56, 10)) > 200  # the fourth channel is grey: all three
    assert "4 channels (DAPI, GFP, RFP, Cy5), 16-bit" in window.statusBar().currentMessage()

    before = window.canvas.image_layer._image.copy()
    panel.rows[1].visible.setChecked(False)  # GFP hidden
    qtbot.waitUntil(lambda: window.canvas.image_layer._image != before, timeout=5000)
    assert _pixel(window, 24, 10)[1] < 60 and not window.display.views[1].visible
    assert _pixel(window, 8, 10)[0] > 200  # the others as they were

    low, high = window.display.views[0].auto
    shown = window.canvas.image_layer._image.copy()
    window.display.set_limits(0, low, low + (high - low) * 4)  # DAPI dimmer
    qtbot.waitUntil(lambda: window.canvas.image_layer._image != shown, timeout=5000)
    assert 30 < _pixel(window, 8, 10)[0] < 120
    assert panel.rows[0].limits.text().endswith(f"{low + (high - low) * 4:.0f}")

    # The next image of four channels keeps the colours, visibility and the limits set.
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.open_image(stained / "cells1.ome.tif")
    views = window.display.views
    assert not views[1].visible and views[0].high == pytest.approx(low + (high - low) * 4)
    assert views[2].high == views[2].auto[1]  # limits not touched stay automatic
    window.display.reset_limits()
    assert all((v.low, v.high) == v.auto for v in window.display.views)


def test_dragging_a_limit_on_the_histogram_sets_it(qtbot, window, stained):
    from PySide6.QtCore import QPoint, Qt

    open_folder(qtbot, window, stained)
    histogram = window.channel_dock.widget().rows[0].range
    histogram.resize(200, 40)
    start = window.display.views[0].high
    right = QPoint(int(histogram._x(start)), 20)
    qtbot.mousePress(histogram, Qt.MouseButton.LeftButton, pos=right)
    qtbot.mouseMove(histogram, QPoint(right.x() // 2, 20))
    qtbot.mouseRelease(histogram, Qt.MouseButton.LeftButton, pos=QPoint(right.x() // 2, 20))
    assert window.display.views[0].high < 0.7 * start  # the high line moved left
    assert window.display.views[0].low == window.display.views[0].auto[0]


def test_a_plain_stack_shape_is_asked_about_once_for_the_folder(qtbot, window, tmp_path):
    rng = np.random.default_rng(1)
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, rng.integers(0, 4000, (8, 32, 40)).astype(np.uint16))
    asked = []

    def answer(unsettled, current):
        asked.append((unsettled.path.name, unsettled.choices, current))
        return "CYX"

    window.dialogs.tiff_axes = answer
    open_folder(qtbot, window, tmp_path)
    qtbot.waitUntil(
        lambda: window.state.current is not None and window.state.current.raw.shape == (32, 40, 8),
        timeout=10000,
    )
    assert asked == [("a.tif", ("CYX", "ZYX"), None)]
    assert load_project(tmp_path).image_axes == "CYX" and len(window.display.views) == 8
    assert "axes CYX from the folder's axes" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.open_image(tmp_path / "b.tif")
    assert len(asked) == 1 and window.state.current.raw.shape == (32, 40, 8)


def test_declining_the_axes_question_explains_on_the_canvas(qtbot, window, tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((8, 32, 40), np.uint16))
    window.dialogs.tiff_axes = lambda unsettled, current: None
    with qtbot.waitSignal(window.session.image_failed, timeout=10000):
        window.session.open_folder(tmp_path)
    notice = window.canvas.notice.text()
    assert "a.tif" in notice and "8 x 32 x 40" in notice and "CYX or ZYX" in notice
    assert load_project(tmp_path).image_axes is None


def test_the_similarity_fill_compares_every_channel():
    image = np.full((10, 10, 4), 1000, np.uint16)
    image[:, 5:, 3] = 9000  # the right half differs in channel 4 only
    filled = similar_pixels(image, 1, 1, 0.1)
    assert filled[:, :5].all() and not filled[:, 5:].any()


def test_composites_of_grey_and_8_bit_colour_images_are_the_images_themselves():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(composite(rgb, default_views(channel_statistics(rgb)[0])), rgb)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    assert np.array_equal(
        composite(grey, default_views(channel_statistics(grey)[0])), np.repeat(grey[..., None], 3, axis=2)
    )
    two = rng.integers(0, 65535, (20, 30, 2), dtype=np.uint16)
    assert [v.colour for v in default_views(channel_statistics(two)[0])] == [GREEN, MAGENTA]
    half = (ChannelView("a", GREEN, 0.0, 65535.0), ChannelView("b", MAGENTA, 0.0, 65535.0, visible=False))
    shown = composite(two, half)
    assert np.array_equal(shown[..., 0], np.zeros((20, 30), np.uint8))  # magenta hidden: no red
    assert np.abs(shown[..., 1].astype(int) - np.round(two[..., 0] / 257)).max() <= 1


def test_every_plane_of_a_stack_has_its_own_mask_and_the_slider_steps_through_them(qtbot, window, tmp_path):
    stack = np.random.default_rng(3).integers(0, 4000, (5, 32, 40)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "z.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    open_folder(qtbot, window, tmp_path)
    model = window.browser.model
    assert [model.data(model.index(r)) for r in range(model.rowCount())] == [
        "z.tif, plane 1", "z.tif, plane 2", "z.tif, plane 3", "z.tif, plane 4", "z.tif, plane 5",
    ]  # fmt: skip
    assert np.array_equal(window.state.current.raw, stack[0]) and window.plane_bar.isVisible()
    assert window.plane_bar.label.text() == "1 of 5"
    at_zoom_one(window)
    drag(qtbot, window, [(5, 5), (8, 5)])  # class 1 on plane 1
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.actions.image.next_plane.trigger()
    assert np.array_equal(window.state.current.raw, stack[1]) and window.plane_bar.label.text() == "2 of 5"
    assert "z.tif, plane 2 of 5" in window.statusBar().currentMessage()
    assert (window.state.document.mask == IGNORE_INDEX).all()  # plane 2 starts empty
    window.tool_state.set_class(0)
    drag(qtbot, window, [(20, 20), (24, 20)])
    qtbot.waitUntil(lambda: not window.store.has_unsaved(), timeout=10000)
    first, second = read_mask(tmp_path / "masks" / "z.png"), read_mask(tmp_path / "masks" / "z.z002.png")
    assert first[5, 6] == 1 and first[20, 22] == IGNORE_INDEX
    assert second[20, 22] == 0 and second[5, 6] == IGNORE_INDEX
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.plane_bar.slider.setValue(5)
    assert np.array_equal(window.state.current.raw, stack[4])
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.actions.image.previous_plane.trigger()
    assert np.array_equal(window.state.current.raw, stack[3])
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.plane_bar.slider.setValue(2)
    assert window.state.document.mask[20, 22] == 0  # its own mask again


def test_the_channels_a_model_reads_are_a_training_setting_kept_in_the_project(qtbot, window, stained):
    open_folder(qtbot, window, stained)
    panel = window.model_panel.form
    panel.channels_edit.setText("4, 1")
    panel.channels_edit.editingFinished.emit()
    assert load_project(stained).train_settings["channels"] == [4, 1]
    panel.show_settings(load_project(stained).train_settings)
    assert panel.channels_edit.text() == "4, 1" and panel.settings()["channels"] == [4, 1]
    panel.channels_edit.setText("")
    panel.channels_edit.editingFinished.emit()
    assert load_project(stained).train_settings["channels"] == []  # every channel


def test_the_axes_dialog_offers_every_reading_and_starts_on_the_stack(qtbot, tmp_path):
    from model.storage.tiff_files import AxesUnsettled
    from seggui.widgets.axes_dialog import AxesDialog

    dialog = AxesDialog(AxesUnsettled(tmp_path / "s.tif", (10, 64, 64), ("CYX", "ZYX")), None)
    qtbot.addWidget(dialog)
    buttons = dialog.group.buttons()
    assert [b.text() for b in buttons] == [
        "CYX: 10 channels of one 64 x 64 image",
        "ZYX: a stack of 10 planes (z), 1 channel each",
    ]
    assert dialog.chosen() == "ZYX"  # shapes the rule reads as channels never come here
    buttons[0].setChecked(True)
    assert dialog.chosen() == "CYX"
    again = AxesDialog(AxesUnsettled(tmp_path / "s.tif", (10, 64, 64), ("CYX", "ZYX")), "CYX")
    qtbot.addWidget(again)
    assert again.chosen() == "CYX"  # the folder's last answer first
