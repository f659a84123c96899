"""A slide in the window: shown tile by tile from the level that fits the zoom, painted into its
chunked mask with every tool, journalled and saved chunk by chunk, never decoded whole."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image
from PySide6.QtCore import Qt

from model.classes import default_classes
from model.compute.memory_budget import SHARES, MemoryBudget, default_budget_bytes
from model.labels.export_labels import ExportOptions
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict_slide import open_slide_prediction
from model.storage import tiff_files
from model.storage.chunked_mask import ChunkedMask
from model.storage.project import Project, save_project
from seggui.controllers.memory_use import SETTING
from seggui.controllers.slide_tiles import DISPLAY_TILE
from seggui.state.label_status import Status
from seggui.state.tool_state import SAME_LABEL, SIMILAR
from seggui.widgets.main_window import MainWindow
from seggui.widgets.memory_dialog import MemoryDialog, apply_choice
from tests.model.test_slides import write_pyramid
from tests.seggui.conftest import capsule, drag, grey_slide_with_model, landed, open_folder, view_point
from tests.synthetic import shapes_image

HEIGHT, WIDTH = 1900, 2600


@pytest.fixture
def slide_folder(tmp_path, monkeypatch):
    """A folder with one 2600 x 1900 colour pyramid, which the window takes for a whole slide."""
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1_000_000)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    folder = tmp_path / "slides"
    folder.mkdir()
    write_pyramid(folder / "slide.tif", image, levels=3, tile=256)
    save_project(Project(folder))
    return folder, image


def open_slide(qtbot, window, folder):
    window.resize(1900, 1000)  # room for a canvas of some 1000 x 900 beside the docks
    qtbot.waitUntil(lambda: window.canvas.viewport().width() > 900, timeout=5000)
    with qtbot.waitSignal(window.state.slide_opened, timeout=10000):
        window.session.open_folder(folder)
    return window.state.slide


def all_tiles_drawn(qtbot, window) -> None:
    window.canvas.viewport().repaint()
    qtbot.waitUntil(lambda: window.slide_tiles.pending == 0, timeout=10000)
    window.canvas.viewport().repaint()


def test_a_slide_is_shown_from_the_level_that_fits_and_never_read_whole(qtbot, window, slide_folder):
    folder, image = slide_folder
    slide = open_slide(qtbot, window, folder)
    assert window.state.current is None and window.state.slide is slide
    assert window.state.is_current(folder / "slide.tif")
    all_tiles_drawn(qtbot, window)
    reader = slide.reader
    fitted = reader.level_for(1 / window.canvas.zoom).index
    assert fitted > 0 and window.canvas.slide_layer.level_drawn(window.canvas.zoom) == fitted
    assert 0 not in reader.largest_regions  # nothing of full resolution read for the whole view

    window.canvas.actual_size()  # one screen pixel per slide pixel, the slide's corner at the view's
    all_tiles_drawn(qtbot, window)
    assert reader.largest_regions[0] <= DISPLAY_TILE * DISPLAY_TILE  # tile by tile
    shot = window.canvas.viewport().grab().toImage()
    assert shot.height() > DISPLAY_TILE + 10
    for x, y in ((5, 7), (40, 300), (20, DISPLAY_TILE + 3)):  # the last from the second row of tiles
        colour = shot.pixelColor(x, y)
        assert (colour.red(), colour.green(), colour.blue()) == tuple(image[y, x])


def test_strokes_on_a_slide_land_in_its_chunks_on_disk_and_undo_takes_them_back(qtbot, window, slide_folder):
    folder, _ = slide_folder
    slide = open_slide(qtbot, window, folder)
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(6)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(500.5, 40.5), (530.5, 60.5)])  # across the chunk border at x = 512
    a, b = landed(window, 500.5, 40.5), landed(window, 530.5, 60.5)
    expected = np.where(capsule((HEIGHT, WIDTH), a, b, 6), 1, 255)
    mask_folder = folder / "masks" / "slide.zarr"
    assert slide.mask_path == mask_folder
    on_disk = zarr.open_array(str(mask_folder), mode="r")
    assert np.array_equal(on_disk[:, :], expected)
    assert sorted(p.name for p in mask_folder.iterdir() if not p.name.startswith(".")) == ["0.0", "0.1"]
    assert window.images.record(0).status == Status.PARTLY

    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.editor.undo_group.undo()
    assert not [p for p in mask_folder.iterdir() if not p.name.startswith(".")]  # emptied chunks go
    assert window.state.document.label_at(510, 50) == 255


def test_a_stroke_on_a_slide_is_journalled_before_it_is_saved(qtbot, window, slide_folder, tmp_path):
    folder, _ = slide_folder
    open_slide(qtbot, window, folder)
    window.store.autosave_timer.setInterval(600_000)  # the save would come long after a kill
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(3)
    drag(qtbot, window, [(100.5, 100.5), (140.5, 100.5)])
    a, b = landed(window, 100.5, 100.5), landed(window, 140.5, 100.5)
    mask_folder = folder / "masks" / "slide.zarr"
    qtbot.waitUntil(lambda: (mask_folder / ".seggui_journal").exists(), timeout=10000)
    window.store._journal_writer.submit(lambda: None).result()
    assert not (mask_folder / "0.0").exists()  # not saved: only the journal has the stroke

    killed = tmp_path / "after-a-kill.zarr"
    shutil.copytree(mask_folder, killed)  # the folder as a kill now would leave it
    reopened = ChunkedMask.open(killed)
    expected = np.where(capsule((200, 200), a, b, 3), 1, 255)
    assert reopened.restored_edits == 1
    assert np.array_equal(reopened.read(0, 0, 200, 200), expected)


def test_fills_polygons_and_lassos_work_on_a_slide_and_a_fill_stops_at_its_stated_reach(
    qtbot, window, slide_folder, monkeypatch
):
    folder, _ = slide_folder
    monkeypatch.setattr("seggui.state.slide_document.FILL_REACH", 40)
    open_slide(qtbot, window, folder)
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_tool("polygon")
    viewport = window.canvas.viewport()
    for x, y in ((20, 20), (60, 20), (60, 50)):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, x, y))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    document = window.state.document
    assert document.label_at(50, 25) == 1 and document.label_at(25, 45) == 255

    window.tool_state.set_class(0)
    window.tool_state.set_tool("fill")
    window.tool_state.set_fill(SAME_LABEL)
    with qtbot.waitSignal(window.state.noted, timeout=5000) as told:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, 300.5, 300.5))
    assert "40 pixels from the click" in told.args[0]
    x, y = (int(v) for v in landed(window, 300.5, 300.5))
    filled = np.argwhere(document.chunked.read(0, 0, 400, 400) == 0)
    assert filled.min(axis=0).tolist() == [y - 40, x - 40] and filled.max(axis=0).tolist() == [y + 40, x + 40]

    window.tool_state.set_class(1)
    window.tool_state.set_fill(SIMILAR, 1.0)  # every pixel of the slide's own values alike
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, 600.5, 300.5))
    x, y = (int(v) for v in landed(window, 600.5, 300.5))
    similar = np.argwhere(document.chunked.read(0, 400, 800, 400) == 1) + np.array(
        [0, 400]
    )  # right of the polygon
    assert similar.min(axis=0).tolist() == [y - 40, x - 40]
    assert similar.max(axis=0).tolist() == [y + 40, x + 40]

    window.tool_state.set_tool("lasso")
    drag(qtbot, window, [(700, 600), (760, 600), (760, 660), (700, 660)])
    assert document.label_at(730, 630) == 1 and document.label_at(690, 630) == 255


def test_the_view_zooms_out_past_the_whole_slide_and_back_in(qtbot, window, slide_folder):
    folder, _ = slide_folder
    open_slide(qtbot, window, folder)
    fitted = window.canvas.zoom
    window.canvas.zoom_by(0.8)
    assert window.canvas.zoom == pytest.approx(fitted * 0.8)
    window.canvas.zoom_by(1.25 * 1.25)
    assert window.canvas.zoom == pytest.approx(fitted * 1.25)


def test_a_slide_with_saved_labels_is_listed_as_labelled_and_opens_with_them(qtbot, window, slide_folder):
    folder, _ = slide_folder
    mask = ChunkedMask.create(folder / "masks" / "slide.zarr", (HEIGHT, WIDTH))
    mask.write(1000, 2000, np.ones((30, 40), np.uint8))
    mask.save()
    slide = open_slide(qtbot, window, folder)
    assert window.images.record(0).status == Status.PARTLY
    assert slide.mask.read(1000, 2000, 30, 40).tolist() == np.ones((30, 40), np.uint8).tolist()
    assert (
        window.state.document.label_at(2039, 1029) == 1 and window.state.document.label_at(2040, 1029) == 255
    )


def test_training_from_the_window_learns_from_strokes_painted_on_a_slide(
    qtbot, window, tmp_path, monkeypatch
):
    """A slide's strokes train the model as an image's do: read region by region, the loss falls,
    and the model takes the slide's three colour channels."""
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1_000_000)
    columns = np.arange(WIDTH) // 64 % 2  # dark and bright stripes 64 pixels wide
    image = np.repeat(np.where(columns, 220, 30).astype(np.uint8)[None, :, None], HEIGHT, axis=0)
    image = np.repeat(image, 3, axis=2)
    folder = tmp_path / "striped"
    folder.mkdir()
    write_pyramid(folder / "slide.tif", image, levels=3, tile=256)
    settings = {"crop_size": 64, "batch_size": 8, "learning_rate": 3e-3, "device": "cpu",
                "val_fraction": 0.0, "max_steps": 40, "preset": "fast"}  # fmt: skip
    save_project(Project(folder, classes=tuple(default_classes(2)), train_settings=settings))
    open_slide(qtbot, window, folder)
    saving = threading.Event()  # held back: the strokes are not on disk while training starts
    save = ChunkedMask.save
    monkeypatch.setattr(ChunkedMask, "save", lambda mask: saving.wait(60) and save(mask))
    window.canvas.actual_size()
    window.tool_state.set_brush_radius(12)
    for value, x in ((0, 32.5), (1, 96.5), (0, 160.5), (1, 224.5)):
        window.tool_state.set_class(value)
        drag(qtbot, window, [(x, 40.5), (x, 400.5)])
    started, steps = [], []
    window.training.worker.started.connect(started.append)
    window.training.worker.step_ended.connect(steps.append)
    outcomes, failures, previews = [], [], []
    window.training.finished.connect(outcomes.append)
    window.training.failed.connect(failures.append)
    layer = window.canvas.slide_prediction_layer
    window.slide_predictions.preview_shown.connect(
        lambda mask, rect: previews.append((mask, rect, layer._mask is mask))  # drawn at once
    )
    window.training.train()
    qtbot.waitUntil(lambda: bool(outcomes or failures), timeout=180000)
    saving.set()
    assert not failures
    assert previews  # live previews of what is on screen while it trained
    preview, rect, drawn = previews[-1]
    assert drawn and rect == window.slide_predictions.view_rect() and rect.width * rect.height < 2048 * 2048
    shown = preview.read(rect.y, rect.x, rect.height, rect.width)
    assert set(np.unique(shown)) <= {0, 1}  # every pixel of the view predicted
    assert not np.any(preview.read(rect.y + rect.height, 0, 5, 5) != 255)  # nothing beyond it
    assert not (Path(tempfile.gettempdir()) / "seggui-preview.zarr").exists()  # held in memory only
    outcome = outcomes[0]
    assert started[0].train_images == 1  # the one 2048-pixel region holding the strokes
    assert len(steps) == 40 and np.mean([s.loss for s in steps[-5:]]) < 0.5 * np.mean(
        [s.loss for s in steps[:5]]
    )
    assert load_checkpoint(outcome.model_path).config.in_channels == 3


def test_a_slides_mask_is_exported_as_a_tiled_tiff_that_tifffile_reads_back_equal(
    qtbot, window, slide_folder, tmp_path
):
    folder, _ = slide_folder
    open_slide(qtbot, window, folder)
    window.store.autosave_timer.setInterval(600_000)  # exported from the open mask, not the disk
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(5)
    drag(qtbot, window, [(300.5, 200.5), (700.5, 260.5)])  # across the chunk border at x = 512
    a, b = landed(window, 300.5, 200.5), landed(window, 700.5, 260.5)
    expected = np.where(capsule((HEIGHT, WIDTH), a, b, 5), 1, 255).astype(np.uint8)
    assert not (folder / "masks" / "slide.zarr" / "0.0").exists()  # not saved yet

    out = tmp_path / "export"
    with qtbot.waitSignal(window.transfer.export_finished, timeout=20000) as done:
        window.transfer.export(out, ExportOptions(format="index"))
    assert done.args[0].exported == [folder / "slide.tif"]
    with tifffile.TiffFile(out / "slide.tif") as tif:
        page = tif.pages[0]
        assert page.is_tiled and page.shape == (HEIGHT, WIDTH)
        assert np.array_equal(page.asarray(), expected)
        reduced = page.pages[0].asarray()  # the first reduced level, every second pixel
        assert np.array_equal(reduced, expected[::2, ::2])

    with qtbot.waitSignal(window.transfer.export_finished, timeout=20000) as done:
        window.transfer.export(tmp_path / "colours", ExportOptions(format="colour"))
    assert done.args[0].exported == []
    assert "slide.tif" in done.args[0].skipped[0] and "tiled index TIFF" in done.args[0].skipped[0]


@pytest.fixture
def grey_slide_project(tmp_path, monkeypatch, shapes_model):
    """A 2600 x 1900 slide of grey shapes with the shapes model in its project, predicted in
    512-pixel windows (24 of them)."""
    return grey_slide_with_model(tmp_path, shapes_model, monkeypatch)[0]


def test_a_slide_is_predicted_on_screen_first_then_whole_and_next_most_uncertain_shows_its_regions(
    qtbot, window, grey_slide_project
):
    folder = grey_slide_project
    predictions = window.slide_predictions
    with qtbot.waitSignal(predictions.output_shown, timeout=60000, check_params_cb=lambda o: o is not None):
        open_slide(qtbot, window, folder)
    output = predictions.output
    assert window.canvas.slide_prediction_layer._mask is output.classes
    assert output.done() == set()  # the whole slide spans 24 windows: nothing predicted on its own
    assert "zoom in" in window.models.status

    arrived = []
    predictions.window_predicted.connect(arrived.append)
    window.canvas.actual_size()  # the corner at 1:1: a few windows on screen
    seen = window.canvas.visible_scene_rect()
    on_screen = {
        (y, x)
        for y in range(0, HEIGHT, 512)
        for x in range(0, WIDTH, 512)
        if y < seen.bottom() and x < seen.right()
    }
    assert 4 <= len(on_screen) <= 12
    qtbot.waitUntil(lambda: not predictions._running and len(arrived) == len(on_screen), timeout=60000)
    assert output.done() == on_screen
    centre = seen.center()
    nearest = min(on_screen, key=lambda s: (s[0] + 256 - centre.y()) ** 2 + (s[1] + 256 - centre.x()) ** 2)
    assert (arrived[0].top, arrived[0].left) == nearest  # the centre of the view first
    classes = output.classes.read(0, 0, HEIGHT, WIDTH)
    for y in range(0, HEIGHT, 512):
        for x in range(0, WIDTH, 512):
            predicted = classes[y : y + 512, x : x + 512] != 255
            assert predicted.all() if (y, x) in on_screen else not predicted.any()
    assert set(np.unique(classes)) <= {0, 1, 2, 255}

    def stop_after_three_more(item) -> None:
        if len(arrived) == len(on_screen) + 3:
            window.ranking.stop()

    predictions.window_predicted.connect(stop_after_three_more)
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=120000) as stopped:
        window.ranking.predict_all()
    predictions.window_predicted.disconnect(stop_after_three_more)
    assert stopped.args[0].stopped
    done_before = len(output.done())
    assert len(on_screen) + 3 <= done_before < 24  # the windows done when the stop came, not the rest
    assert (
        open_slide_prediction(folder / "predictions" / "slide.slide").windows_done == done_before
    )  # on disk
    arrived.clear()
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=120000):
        window.ranking.predict_all()  # resumed: only the windows not predicted yet
    assert len(arrived) == 24 - done_before
    summary = output.summary()
    assert summary.complete and summary.windows_total == 24
    assert window.images.uncertainties()[folder / "slide.tif"] == pytest.approx(
        np.mean(list(summary.uncertainty.values()))
    )
    assert (folder / "predictions" / "slide.slide" / "progress.json").is_file()

    shown = []
    predictions.region_wanted.connect(shown.append)
    ranked = summary.most_uncertain(2)
    window.ranking.next_uncertain()
    window.ranking.next_uncertain()
    assert [(r.y, r.x) for r in shown] == ranked  # the least sure region, then the next
    seen = window.canvas.visible_scene_rect()
    assert seen.contains(ranked[1][1] + 256, ranked[1][0] + 256)
    assert "uncertainty" in window.statusBar().currentMessage()


def test_the_memory_budget_set_in_the_settings_bounds_every_cache_of_a_slide(
    qtbot, window, slide_folder, monkeypatch
):
    monkeypatch.setattr("model.compute.memory_budget.MIN_BYTES", 1 << 20)  # a budget this machine can fill
    folder, image = slide_folder
    slide = open_slide(qtbot, window, folder)
    dialog = MemoryDialog(window.state.memory_budget, True, window)
    assert "MB: decoded tiles of the slide on screen" in dialog.shares.text()
    dialog.size_spin.setMinimum(1)
    dialog.size_spin.setValue(8)
    assert not dialog.uses_default and dialog.setting == 8
    apply_choice(dialog, window.state, window.settings)
    budget = window.state.memory_budget
    assert budget.total_bytes == 8 << 20 and int(window.settings.value(SETTING)) == 8
    assert slide.reader.cache.max_bytes == budget.share("slide tiles")
    assert window.slide_tiles.budget_bytes == budget.share("slide display") // 2
    assert window.service.cache_pixels * 10 <= budget.share("predictions")
    assert window.session.recent_documents.max_bytes == budget.share("recent masks")
    assert slide.mask.clean_bytes == budget.share("slide masks")

    window.canvas.actual_size()
    bars = window.canvas.horizontalScrollBar(), window.canvas.verticalScrollBar()
    for x, y in ((0, 0), (1200, 0), (1200, 900), (0, 900), (600, 500)):  # across the whole slide
        bars[0].setValue(x)
        bars[1].setValue(y)
        all_tiles_drawn(qtbot, window)
        assert slide.reader.cache.nbytes <= budget.share("slide tiles")
        screen = len(window.slide_tiles._on_screen) * DISPLAY_TILE * DISPLAY_TILE * 4
        assert window.slide_tiles._bytes <= window.slide_tiles.budget_bytes + screen  # the screen's own
    seen = window.canvas.visible_scene_rect()
    shot = window.canvas.viewport().grab().toImage()
    colour = shot.pixelColor(10, 10)  # still drawn right, from the few tiles the budget keeps
    expected = image[int(seen.top()) + 10, int(seen.left()) + 10]
    assert (colour.red(), colour.green(), colour.blue()) == tuple(expected)

    again = MainWindow(window.settings)  # the next start keeps the choice
    qtbot.addWidget(again)
    assert again.state.memory_budget == budget


def test_a_memory_budget_splits_into_shares_that_stay_within_it():
    budget = MemoryBudget.from_setting(1024)
    assert budget.total_bytes == 1024 << 20
    assert sum(budget.share(name) for name in SHARES) <= budget.total_bytes
    assert MemoryBudget.from_setting(0).total_bytes == default_budget_bytes() >= 512 << 20
    assert MemoryBudget.from_setting(100).total_bytes == 512 << 20  # the least it can be
    with pytest.raises(ValueError, match="at least 512 MB"):
        MemoryBudget(1 << 20)


def test_accepting_a_slides_prediction_takes_what_is_on_screen_as_one_undo_step(
    qtbot, window, grey_slide_project, monkeypatch
):
    folder = grey_slide_project
    predictions = window.slide_predictions
    with qtbot.waitSignal(predictions.output_shown, timeout=60000, check_params_cb=lambda o: o is not None):
        open_slide(qtbot, window, folder)
    window.store.autosave_timer.setInterval(600_000)
    window.canvas.actual_size()
    qtbot.waitUntil(lambda: len(predictions.output.done()) >= 4 and not predictions._running, timeout=60000)
    window.tool_state.set_class(2)
    window.tool_state.set_brush_radius(4)
    drag(qtbot, window, [(60.5, 60.5), (120.5, 60.5)])  # painted first: Accept keeps it
    a, b = landed(window, 60.5, 60.5), landed(window, 120.5, 60.5)
    stroke = capsule((HEIGHT, WIDTH), a, b, 4)
    window.models.set_accept_sure_only(False)
    assert window.actions.model.accept_unpainted.isEnabled()

    window.acceptance.accept_unpainted()
    rect = predictions.view_rect()
    predicted = predictions.output.classes.read(rect.y, rect.x, rect.height, rect.width)
    mask = window.state.document.read(rect)
    painted = stroke[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
    assert np.all(mask[painted] == 2)
    assert np.array_equal(mask[~painted], predicted[~painted])  # every other pixel on screen
    outside = window.state.document.chunked.read(rect.y + rect.height, 0, 10, 10)
    assert np.all(outside == 255)  # below the view: untouched

    window.editor.undo_group.undo()
    mask = window.state.document.read(rect)
    assert np.all(mask[painted] == 2) and np.all(mask[~painted] == 255)

    monkeypatch.setattr("seggui.controllers.acceptance.ACCEPT_PIXELS", 1000 * 1000)
    window.canvas.fit_to_window()  # the whole slide: more than one Accept takes
    qtbot.waitUntil(lambda: predictions.view_rect().width == WIDTH, timeout=5000)
    errors = []
    window.state.failed.connect(errors.append)
    window.acceptance.accept_unpainted()
    assert errors and "Zoom in to accept" in errors[0]


def test_predict_all_predicts_a_slide_that_is_not_on_screen_beside_the_folders_images(
    qtbot, window, grey_slide_project
):
    folder = grey_slide_project
    rng = np.random.default_rng(8)
    Image.fromarray(shapes_image(rng, 128)[0]).save(folder / "a-small.png")
    with qtbot.waitSignal(window.models.prediction_shown, timeout=60000):
        open_folder(qtbot, window, folder)  # the small image first, by name
    assert window.state.current.path.name == "a-small.png" and window.state.slide is None
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=120000) as finished:
        window.ranking.predict_all()
    result = finished.args[0]
    assert set(result.uncertainties) == {folder / "a-small.png", folder / "slide.tif"} and not result.problems
    done = open_slide_prediction(folder / "predictions" / "slide.slide")
    assert done.complete and done.windows_total == 24
    classes = done.classes().read(0, 0, HEIGHT, WIDTH)
    assert not np.any(classes == 255) and set(np.unique(classes)) <= {0, 1, 2}
    assert (folder / "predictions" / "a-small.png").is_file()
    assert window.images.status_of(folder / "slide.tif") == Status.PREDICTED


def test_a_label_tiff_imported_for_a_slide_streams_into_its_chunked_mask_and_shows(
    qtbot, window, slide_folder, tmp_path
):
    folder, _ = slide_folder
    open_slide(qtbot, window, folder)
    labels = np.full((HEIGHT, WIDTH), 255, np.uint8)
    labels[100:900, 200:1400] = 1  # across chunk borders
    labels[1500:1800, 2000:2500] = 0
    source = tmp_path / "from-qupath"
    source.mkdir()
    tifffile.imwrite(source / "slide.tif", labels, tile=(256, 256), compression="zlib")

    bar = []
    window.transfer.progressed.connect(lambda done, total: bar.append((done, total)))
    reopened = qtbot.waitSignal(window.state.slide_opened, timeout=30000)  # the slide opens again
    with reopened, qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(source, "masks")
    assert [step for step in bar if step[1] == 100] == [(0, 100), (25, 100), (50, 100), (75, 100), (100, 100)]
    report = done.args[0]
    assert report.imported == [folder / "slide.tif"] and report.slides == [folder / "slide.tif"]
    on_disk = zarr.open_array(str(folder / "masks" / "slide.zarr"), mode="r")
    assert np.array_equal(on_disk[:, :], labels)
    document = window.state.document
    assert document.label_at(500, 500) == 1 and document.label_at(2100, 1600) == 0
    assert document.label_at(50, 50) == 255
    assert window.images.record(0).status == Status.PARTLY

    wrong = tmp_path / "wrong-size"
    wrong.mkdir()
    tifffile.imwrite(wrong / "slide.tif", labels[:1000], tile=(256, 256))
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(wrong, "masks", overwrite=True)
    assert not done.args[0].imported and "must be the same size" in done.args[0].skipped[0]
    assert np.array_equal(zarr.open_array(str(folder / "masks" / "slide.zarr"), mode="r")[:, :], labels)
    with qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(source, "masks")  # without overwriting
    assert "already has a mask" in done.args[0].skipped[0]


def test_labelme_shapes_imported_for_a_slide_are_drawn_into_its_chunked_mask_and_show(
    qtbot, window, slide_folder, tmp_path, monkeypatch
):
    monkeypatch.setattr("model.labels.slide_import.IMPORT_REGION", 1024)  # shapes across regions
    folder, _ = slide_folder
    open_slide(qtbot, window, folder)
    names = [c.name for c in window.state.classes]
    shapes = [
        {"label": names[1], "shape_type": "rectangle", "points": [[200, 100], [1399, 899]]},
        {"label": "tumour", "shape_type": "polygon", "points": [[2000, 1500], [2500, 1500], [2500, 1800]]},
    ]
    source = tmp_path / "labelme"
    source.mkdir()
    document = {"shapes": shapes, "imagePath": "slide.tif", "imageHeight": HEIGHT, "imageWidth": WIDTH}
    (source / "slide.json").write_text(json.dumps(document))

    bar = []
    window.transfer.progressed.connect(lambda done, total: bar.append((done, total)))
    reopened = qtbot.waitSignal(window.state.slide_opened, timeout=30000)
    with reopened, qtbot.waitSignal(window.transfer.import_finished, timeout=30000) as done:
        window.transfer.import_labels(source, "labelme", outside="unlabelled", add_classes=True)
    assert (54, 100) in bar and bar[-1] == (100, 100)  # the bar moves as each row of regions is drawn
    assert done.args[0].slides == [folder / "slide.tif"] and done.args[0].skipped == []
    assert [c.name for c in window.state.classes] == [*names, "tumour"]  # a new class, once
    on_disk = ChunkedMask.open(folder / "masks" / "slide.zarr").read(0, 0, HEIGHT, WIDTH)
    expected = np.full((HEIGHT, WIDTH), 255, np.uint8)
    expected[100:900, 200:1400] = 1
    assert np.array_equal(on_disk[:1000], expected[:1000])
    assert on_disk[1700, 2490] == 2 and on_disk[1700, 2010] == 255  # inside and outside the triangle
    document = window.state.document
    assert document.label_at(1000, 500) == 1 and document.label_at(2490, 1700) == 2
    assert document.label_at(50, 50) == 255
    qtbot.waitUntil(lambda: "1 mask imported, 0 skipped" in window.statusBar().currentMessage(), timeout=5000)
