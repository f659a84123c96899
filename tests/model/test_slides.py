"""Very large images read by region, and masks kept in chunks: nothing is decoded or written whole."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import tifffile

from model.classes import IGNORE_INDEX
from model.errors import ImageReadError
from model.storage.chunked_mask import ChunkedMask, ChunkedMaskError
from model.storage.slide import SlideReader, TileCache, is_slide


def write_pyramid(path, image: np.ndarray, levels: int = 3, tile: int = 128, compression="zlib") -> None:
    """An OME-style pyramid: the full image with its reductions as sub-IFDs."""
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        options = {
            "tile": (tile, tile),
            "compression": compression,
            "photometric": "rgb" if image.ndim == 3 else "minisblack",
        }
        tif.write(image, subifds=levels - 1, **options)
        for level in range(1, levels):
            step = 2**level
            tif.write(image[::step, ::step], subfiletype=1, **options)


@pytest.fixture
def colour_slide(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1000, 1500, 3), dtype=np.uint8)
    path = tmp_path / "slide.tif"
    write_pyramid(path, image)
    return path, image


def test_a_pyramid_lists_its_levels_and_reads_any_window_of_each(colour_slide):
    path, image = colour_slide
    with SlideReader(path) as reader:
        assert is_slide(path)
        assert reader.shape == (1000, 1500) and reader.channels == 3 and reader.dtype == np.uint8
        assert [(lv.height, lv.width, lv.downsample) for lv in reader.levels] == [
            (1000, 1500, 1.0),
            (500, 750, 2.0),
            (250, 375, 4.0),
        ]
        assert np.array_equal(reader.read_region(0, 130, 250, 300, 400), image[130:430, 250:650])
        assert np.array_equal(reader.read_region(2, 0, 0, 250, 375), image[::4, ::4])
        # a window over the border: the outside is 0
        edge = reader.read_region(1, 450, 700, 100, 100)
        assert np.array_equal(edge[:50, :50], image[::2, ::2][450:, 700:])
        assert not edge[50:].any() and not edge[:, 50:].any()
        assert reader.level_for(3.0).index == 1 and reader.level_for(0.5).index == 0
        assert reader.level_for(100).index == 2


def test_a_slide_is_never_decoded_whole_and_its_cache_stays_within_budget(colour_slide):
    path, image = colour_slide
    tile_bytes = 128 * 128 * 3
    cache = TileCache(max_bytes=6 * tile_bytes)
    with SlideReader(path, cache, max_region_pixels=256 * 256) as reader:
        for top in range(0, 1000, 200):
            for left in range(0, 1500, 250):
                window = reader.read_region(0, top, left, 200, 250)
                assert np.array_equal(window, image[top : top + 200, left : left + 250])
                assert cache.nbytes <= 6 * tile_bytes
        assert reader.largest_regions == {0: 200 * 250}
        with pytest.raises(ValueError, match="read it in parts"):
            reader.read_region(0, 0, 0, 1000, 1500)
        before = cache.decoded
        reader.read_region(0, 800, 1250, 200, 250)  # the last window again: from the cache
        assert cache.decoded == before


def test_jpeg_tiles_of_a_striped_grey_image_and_threads_reading_at_once(tmp_path):
    rng = np.random.default_rng(1)
    grey = (rng.integers(0, 4096, (700, 900)) * 16).astype(np.uint16)
    striped = tmp_path / "strips.tif"
    tifffile.imwrite(striped, grey, rowsperstrip=64, compression="zlib")
    with SlideReader(striped) as reader:
        assert reader.levels[0].tile_height == 64 and reader.dtype == np.uint16
        results = {}

        def read(key):
            results[key] = reader.read_region(0, key * 100, 50, 150, 800)

        threads = [threading.Thread(target=read, args=(k,)) for k in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for key, window in results.items():
            assert np.array_equal(window, grey[key * 100 : key * 100 + 150, 50:850])
    jpeg = tmp_path / "jpeg.tif"
    smooth = np.repeat(np.repeat(rng.integers(0, 256, (25, 25, 3), dtype=np.uint8), 16, 0), 16, 1)
    write_pyramid(jpeg, smooth, levels=2, tile=128, compression="jpeg")
    with SlideReader(jpeg) as reader:
        window = reader.read_region(0, 64, 64, 256, 256).astype(int)
        assert np.abs(window - smooth[64:320, 64:320]).mean() < 4  # lossy, but the same picture


def test_a_file_that_is_not_a_tiff_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "scan.tif"
    bad.write_bytes(b"not a tiff at all")
    with pytest.raises(ImageReadError, match="scan.tif"):
        SlideReader(bad)
    assert not is_slide(bad)
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((5, 256, 256), np.uint16), tile=(128, 128), photometric="minisblack")
    with pytest.raises(ImageReadError, match=r"stack.tif: 5 planes or channels stored as separate pages"):
        SlideReader(stack)


def test_strokes_on_a_huge_mask_touch_only_their_chunks_and_read_back(tmp_path):
    folder = tmp_path / "mask.zarr"
    mask = ChunkedMask.create(folder, (100_000, 100_000), chunk=512)
    assert mask.stored_chunks() == []
    assert sum(f.stat().st_size for f in folder.iterdir()) < 1000  # empty: the description alone
    stroke = np.full((40, 600), 3, np.uint8)
    mask.write(50_000, 49_900, stroke)  # crosses a chunk border: two chunks
    round_dot = np.zeros((30, 30), bool)
    round_dot[10:20, 10:20] = True
    mask.write(1000, 1000, np.full((30, 30), 1, np.uint8), where=round_dot)
    report = mask.save()
    assert report.chunks_written == 3 and report.bytes_written < 10_000
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert files == ["1.1", "97.97", "97.98"]
    again = ChunkedMask.open(folder)
    assert np.array_equal(again.read(50_000, 49_900, 40, 600), stroke)
    assert np.all(again.read(50_040, 49_900, 10, 600) == IGNORE_INDEX)
    dot = again.read(1000, 1000, 30, 30)
    assert np.array_equal(dot == 1, round_dot) and np.all(dot[~round_dot] == IGNORE_INDEX)
    # a second save after one more stroke writes that stroke's chunk alone; erasing a chunk removes it
    again.write(1000, 1000, np.full((30, 30), IGNORE_INDEX, np.uint8))
    again.write(70_000, 10, np.full((5, 5), 2, np.uint8))
    report = again.save()
    assert (report.chunks_written, report.chunks_removed) == (1, 1)
    assert again.stored_chunks() == [(97, 97), (97, 98), (136, 0)]


def test_the_mask_folder_is_a_zarr_array_and_bad_folders_are_refused(tmp_path):
    folder = tmp_path / "mask.zarr"
    mask = ChunkedMask.create(folder, (1000, 700), chunk=256)
    mask.write(900, 600, np.full((100, 100), 4, np.uint8))
    mask.save()
    meta = json.loads((folder / ".zarray").read_text())
    assert meta["shape"] == [1000, 700] and meta["chunks"] == [256, 256] and meta["fill_value"] == 255
    import zarr

    opened = zarr.open_array(str(folder), mode="r")
    expected = np.full((1000, 700), IGNORE_INDEX, np.uint8)
    expected[900:, 600:] = 4
    assert np.array_equal(opened[:], expected)
    with pytest.raises(ChunkedMaskError, match="already"):
        ChunkedMask.create(folder, (10, 10))
    (folder / "3.2").write_bytes(b"garbage")
    with pytest.raises(ChunkedMaskError, match="3.2.*damaged"):
        ChunkedMask.open(folder).read(900, 600, 100, 100)
    with pytest.raises(ChunkedMaskError, match="not a readable chunked mask"):
        ChunkedMask.open(tmp_path / "nothing")


def test_training_reads_only_the_tiles_around_the_labels_of_a_slide(tmp_path):
    """Two labelled patches of a 3072 x 4096 slide: the run trains (its loss falls) on the
    regions holding them and decodes none of the tiles far from them."""
    from model.classes import default_classes
    from model.prediction.predict_slide import slide_intensity
    from model.training.settings import TrainSettings
    from model.training.slide_regions import slide_regions
    from model.training.train import StepEnded, fit
    from tests.synthetic import shapes_image

    rng = np.random.default_rng(2)
    image = np.full((3072, 4096), 110, np.uint8)
    truth = np.zeros((3072, 4096), np.uint8)
    for y in range(0, 3072, 128):
        for x in range(0, 4096, 128):
            image[y : y + 128, x : x + 128], truth[y : y + 128, x : x + 128] = shapes_image(rng, 128)
    path = tmp_path / "slide.tif"
    write_pyramid(path, image, levels=3, tile=256)
    mask = ChunkedMask.create(tmp_path / "mask.zarr", image.shape)
    for top, left in ((100, 100), (2500, 3300)):  # two painted patches, far apart
        mask.write(top, left, truth[top : top + 400, left : left + 500])
    mask.save()
    cache = TileCache()
    with SlideReader(path, cache) as reader:
        regions = slide_regions(reader, mask, 1, slide_intensity(reader), region=1024)
        assert [(r.top, r.left, r.height, r.width) for r in regions] == [
            (0, 0, 1024, 1024),
            (2048, 3072, 1024, 1024),
        ]
        assert regions[0].sampling.labelled_pixels == 400 * 500
        steps: list[float] = []
        settings = TrainSettings(
            preset="fast", max_steps=40, batch_size=4, crop_size=64, learning_rate=3e-3, device="cpu"
        )
        fit(
            settings,
            regions,
            [],
            default_classes(3),
            on_event=lambda e: isinstance(e, StepEnded) and steps.append(e.loss),
        )
        assert reader.largest_regions[0] <= 1024 * 1024
        read_tiles = {key[2:] for key in cache.held() if key[1] == 0}
    assert len(steps) == 40 and np.mean(steps[-8:]) < np.mean(steps[:8])
    # level-0 tiles read: only those of the two labelled regions (and their crops' context)
    near_first = {(ty, tx) for ty, tx in read_tiles if ty * 256 < 1024 + 64 and tx * 256 < 1024 + 64}
    near_second = {(ty, tx) for ty, tx in read_tiles if ty * 256 >= 2048 - 64 and tx * 256 >= 3072 - 64}
    assert read_tiles == near_first | near_second and near_first and near_second
    assert len(read_tiles) < (3072 // 256) * (4096 // 256) // 3


def test_strokes_journalled_on_a_huge_mask_survive_a_kill_and_land_in_their_chunks(tmp_path):
    """A process paints three strokes on a 60,000 x 60,000 mask, journals each, saves after the
    first only and is killed; reopening puts the other two back into their chunks."""
    import subprocess
    import sys
    import textwrap

    folder = tmp_path / "mask.zarr"
    ChunkedMask.create(folder, (60_000, 60_000))
    script = textwrap.dedent(
        f"""
        import os, numpy as np
        from model.storage.chunked_mask import ChunkedMask
        mask = ChunkedMask.open({str(folder)!r})
        for n, (y, x) in enumerate([(100, 100), (30_000, 59_950), (59_990, 20_000)]):
            mask.write(y, x, np.full((10, 50), n + 1, np.uint8))
            mask.journal_edit(y, x, 10, 50)
            if n == 0:
                mask.save()
        os.kill(os.getpid(), 9)
        """
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["0.0"]  # the saved one
    mask = ChunkedMask.open(folder)
    assert mask.restored_edits == 2 and mask.journal_problem is None
    assert not (folder / ".seggui_journal").exists()
    assert np.all(mask.read(100, 100, 10, 50) == 1)
    assert np.all(mask.read(30_000, 59_950, 10, 50) == 2)  # up to the right border
    assert np.all(mask.read(59_990, 20_000, 10, 50) == 3)
    assert np.all(mask.read(30_010, 59_950, 10, 50) == IGNORE_INDEX)
    assert mask.stored_chunks() == [(0, 0), (58, 117), (117, 39)]
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert files == ["0.0", "117.39", "58.117"]  # written by the replay


def test_a_save_forgets_the_journalled_edits_it_wrote(tmp_path):
    mask = ChunkedMask.create(tmp_path / "mask.zarr", (5000, 5000))
    mask.write(10, 10, np.full((3, 3), 1, np.uint8))
    mask.journal_edit(10, 10, 3, 3)
    assert mask.journalled_edits == 1 and (tmp_path / "mask.zarr" / ".seggui_journal").exists()
    mask.save()
    assert mask.journalled_edits == 0 and not (tmp_path / "mask.zarr" / ".seggui_journal").exists()
    mask.write(20, 20, np.full((3, 3), 2, np.uint8))
    mask.journal_edit(20, 20, 3, 3)
    with open(tmp_path / "mask.zarr" / ".seggui_journal", "ab") as journal:
        journal.write(b"SGJ1 torn by a kill")  # the next edit, cut short
    reopened = ChunkedMask.open(tmp_path / "mask.zarr")
    assert reopened.restored_edits == 1 and "cut short" in reopened.journal_problem
    assert np.all(reopened.read(20, 20, 3, 3) == 2) and np.all(reopened.read(10, 10, 3, 3) == 1)


def test_a_slide_and_its_mask_travel_to_a_loader_process(colour_slide, tmp_path):
    """Loader processes get the regions pickled: the reader reopens the file there, and the
    mask's unsaved chunks go with it."""
    import pickle

    path, image = colour_slide
    mask = ChunkedMask.create(tmp_path / "mask.zarr", (1000, 1500))
    mask.write(10, 20, np.full((5, 5), 2, np.uint8))  # not saved
    with SlideReader(path) as reader:
        reader.read_region(0, 0, 0, 100, 100)
        copy = pickle.loads(pickle.dumps(reader))
        mask_copy = pickle.loads(pickle.dumps(mask))
    assert copy.cache is not reader.cache and copy.cache.nbytes == 0
    assert np.array_equal(copy.read_region(1, 10, 10, 50, 60), image[::2, ::2][10:60, 10:70])
    assert np.all(mask_copy.read(10, 20, 5, 5) == 2)
    copy.close()


def test_slide_labels_come_from_a_label_tiff_or_a_mask_folder_and_bad_ones_are_named(tmp_path):
    from model.errors import SegGUIError
    from model.storage.slide_masks import open_slide_mask

    labels = np.full((700, 900), 255, np.uint16)
    labels[10:20, 30:50] = 2
    labels[600:650, 800:900] = 0
    tiff = tmp_path / "labels.tif"
    tifffile.imwrite(tiff, labels, tile=(256, 256))
    mask, counts = open_slide_mask(tiff, (700, 900), tmp_path)
    assert counts == {2: 200, 0: 5000}
    assert np.array_equal(mask.read(0, 0, 700, 900), labels.astype(np.uint8))
    again, counts_again = open_slide_mask(mask.folder, (700, 900), tmp_path / "unused")
    assert counts_again == counts and again.folder == mask.folder
    _, without_zero = open_slide_mask(tiff, (700, 900), tmp_path / "ignored", ignore_value=0)
    assert without_zero == {2: 200}
    with pytest.raises(SegGUIError, match="labels.tif: the labels are 900 x 700, the slide 1000 x 700"):
        open_slide_mask(tiff, (700, 1000), tmp_path / "other")
    labels[5, 5] = 300
    tifffile.imwrite(tiff, labels, tile=(256, 256))
    with pytest.raises(SegGUIError, match="labels.tif: holds the value 300"):
        open_slide_mask(tiff, (700, 900), tmp_path / "third")


def test_a_reduced_view_of_a_huge_mask_reads_only_its_labelled_chunks(tmp_path, monkeypatch):
    """Every step-th pixel of any window, as the window draws a slide's mask zoomed out, equal to
    striding the whole mask; chunks without labels are never read."""
    mask = ChunkedMask.create(tmp_path / "mask.zarr", (3000, 2500))
    whole = np.full((3000, 2500), IGNORE_INDEX, np.uint8)
    values = np.random.default_rng(1).integers(0, 3, (700, 900)).astype(np.uint8)
    mask.write(400, 1100, values)
    whole[400:1100, 1100:2000] = values
    mask.save()
    mask = ChunkedMask.open(tmp_path / "mask.zarr")
    read = []
    original = ChunkedMask._chunk
    monkeypatch.setattr(ChunkedMask, "_chunk", lambda self, key: read.append(key) or original(self, key))
    for step in (1, 3, 8, 64):
        for top, left, height, width in ((0, 0, 3000, 2500), (123, 457, 1700, 1900), (-50, -50, 600, 800)):
            padded = np.full((height + 100, width + 100), IGNORE_INDEX, np.uint8)
            y0, x0 = max(top, 0), max(left, 0)
            part = whole[y0 : top + height, x0 : left + width]
            padded[y0 - top : y0 - top + part.shape[0], x0 - left : x0 - left + part.shape[1]] = part
            strided = mask.read_strided(top, left, height, width, step)
            assert np.array_equal(strided, padded[:height:step, :width:step]), (step, top, left)
    assert set(read) <= set(mask.stored_chunks()) == {(y, x) for y in range(0, 3) for x in range(2, 4)}


def test_a_planned_mask_writes_nothing_until_an_edit_is_kept(tmp_path):
    folder = tmp_path / "masks" / "slide.zarr"
    mask = ChunkedMask.planned(folder, (60_000, 60_000))
    assert mask.read(100, 100, 4, 4).tolist() == [[IGNORE_INDEX] * 4] * 4
    assert mask.save().chunks_written == 0 and not folder.exists()  # only looked at
    mask.write(10, 10, np.ones((3, 3), np.uint8))
    mask.journal_tiles(((0, 0, mask.read(0, 0, 64, 64)),))
    assert (folder / ".zarray").exists() and (folder / ".seggui_journal").exists()
    mask.save()
    assert np.array_equal(ChunkedMask.open(folder).read(10, 10, 3, 3), np.ones((3, 3), np.uint8))
    with pytest.raises(ChunkedMaskError, match="a mask is there already"):
        ChunkedMask.planned(folder, (60_000, 60_000))
