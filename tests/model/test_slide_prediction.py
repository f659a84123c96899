"""A slide predicted window by window, resumed after a stop, and a huge mask exported as tiles."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from model.classes import IGNORE_INDEX, default_classes
from model.errors import SegGUIError
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict import Predictor
from model.prediction.predict_slide import open_output, open_slide_prediction, predict_slide
from model.storage.chunked_mask import ChunkedMask
from model.storage.slide import SlideReader
from model.storage.tiled_tiff import pyramid_steps, write_tiled_mask
from tests.model.test_slides import write_pyramid
from tests.synthetic import shapes_image


@pytest.fixture
def grey_slide(tmp_path):
    """A 1100 x 1600 grey slide of 100-pixel shape images side by side, as a tiled pyramid."""
    rng = np.random.default_rng(3)
    rows = [np.hstack([shapes_image(rng, 100)[0] for _ in range(16)]) for _ in range(11)]
    image = np.vstack(rows)
    path = tmp_path / "slide.tif"
    write_pyramid(path, image, levels=2, tile=256)
    return path, image


def test_a_slide_is_predicted_window_by_window_and_resumes_where_it_stopped(
    shapes_model, grey_slide, tmp_path
):
    path, image = grey_slide
    predictor = Predictor(load_checkpoint(shapes_model), "cpu", precision="float32")
    whole = predictor.predict(image).classes
    asked = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    with SlideReader(path) as reader:
        partial = predict_slide(
            predictor, reader, tmp_path / "out", model_id="shapes", window=512, should_stop=stop_after_two
        )
        assert (partial.windows_done, partial.windows_total, partial.complete) == (2, 12, False)
        classes = partial.classes().read(0, 0, 1100, 1600)
        assert np.all(classes[:512, 1024:1536] == IGNORE_INDEX)  # the third window was never predicted
        seen = []
        done = predict_slide(
            predictor, reader, tmp_path / "out", model_id="shapes", window=512,
            on_progress=lambda n, total: seen.append((n, total)),
        )  # fmt: skip
        # full resolution only window by window; the intensity range from the small level
        assert reader.largest_regions == {0: (512 + 2 * 64) ** 2, 1: 550 * 800}
    assert done.complete and seen == [(n, 12) for n in range(3, 13)]
    classes = done.classes().read(0, 0, 1100, 1600)
    assert np.mean(classes == whole) > 0.99  # the same classes but where windows meet
    again = open_slide_prediction(tmp_path / "out")
    assert again.complete and again.uncertainty == done.uncertainty
    assert len(again.most_uncertain(3)) == 3
    worst = again.most_uncertain(1)[0]
    assert again.uncertainty[worst] == max(again.uncertainty.values())
    with SlideReader(path) as reader, pytest.raises(SegGUIError, match="another model"):
        predict_slide(predictor, reader, tmp_path / "out", model_id="another", window=512)


def test_the_windows_asked_for_go_first_and_another_models_prediction_can_be_replaced(
    shapes_model, grey_slide, tmp_path
):
    path, _ = grey_slide
    predictor = Predictor(load_checkpoint(shapes_model), "cpu", precision="float32")
    wanted = [(512, 1024), (0, 512)]  # "on screen", nearest the centre first

    def on_screen(remaining):
        return next((start for start in wanted if start in remaining), None)  # None: stop

    with SlideReader(path) as reader:
        output = open_output(reader, tmp_path / "out", model_id="shapes", window=512)
        order = []
        predict_slide(
            predictor, reader, output, next_window=on_screen, on_progress=lambda n, _: order.append(n)
        )
        assert output.done() == set(wanted) and order == [1, 2]
        classes = output.classes.read(0, 0, 1100, 1600)
        assert np.all(classes[512:1024, 1024:1536] != IGNORE_INDEX)
        assert np.all(classes[:512, :512] == IGNORE_INDEX)  # not asked for: not predicted
        with pytest.raises(SegGUIError, match="another model"):
            open_output(reader, tmp_path / "out", model_id="retrained", window=512)
        (tmp_path / "out" / "notes.txt").write_text("mine")
        fresh = open_output(reader, tmp_path / "out", model_id="retrained", window=512, replace_other=True)
        assert fresh.done() == set() and np.all(fresh.classes.read(0, 0, 1100, 1600) == IGNORE_INDEX)
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"  # only the prediction was replaced


def test_a_huge_mask_exports_as_a_tiled_pyramid_that_tifffile_reads_back(tmp_path):
    mask = ChunkedMask.create(tmp_path / "mask.zarr", (6000, 5000))
    rng = np.random.default_rng(0)
    expected = np.full((6000, 5000), IGNORE_INDEX, np.uint8)
    for _ in range(40):  # strokes here and there
        y, x = int(rng.integers(0, 5900)), int(rng.integers(0, 4900))
        value = np.full((int(rng.integers(5, 100)), int(rng.integers(5, 100))), rng.integers(0, 3), np.uint8)
        mask.write(y, x, value)
        expected[y : y + value.shape[0], x : x + value.shape[1]] = value[: 6000 - y, : 5000 - x]
    mask.save()
    out = write_tiled_mask(mask, tmp_path / "mask.tif", default_classes(3))
    assert pyramid_steps((6000, 5000)) == [1, 2, 4]
    with tifffile.TiffFile(out) as tif:
        levels = tif.series[0].levels
        assert [level.shape for level in levels] == [(6000, 5000), (3000, 2500), (1500, 1250)]
        assert tif.pages[0].is_tiled and tif.pages[0].tilewidth == 512
        assert '"classes": ["background", "class 1", "class 2"]' in tif.pages[0].description
        store = zarr.open(tif.aszarr(level=0), mode="r")
        assert np.array_equal(store[1000:3000, 2000:4500], expected[1000:3000, 2000:4500])
        assert np.array_equal(levels[2].asarray(), expected[::4, ::4])
    assert np.array_equal(tifffile.imread(out), expected)


def test_the_command_line_predicts_a_slide_writes_its_tiff_and_a_rerun_resumes(
    shapes_model, grey_slide, tmp_path, capsys
):
    from model.cli import main

    path, image = grey_slide
    out, tiff = tmp_path / "pred", tmp_path / "classes.tif"
    args = ["predict-slide", "--model", str(shapes_model), "--image", str(path), "--out", str(out)]
    assert main([*args, "--window", "1024", "--tiff", str(tiff), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "[4/4] windows" in printed and "predicted 4 windows" in printed
    written = tifffile.imread(tiff)
    assert written.shape == image.shape and set(np.unique(written)) <= {0, 1, 2}
    assert main([*args, "--window", "1024", "--device", "cpu"]) == 0  # all done: nothing predicted again
    assert "windows\n" not in capsys.readouterr().out
    assert main([*args, "--window", "512", "--device", "cpu"]) == 2  # another window: refused, named
    assert "another window" in capsys.readouterr().err


def test_the_command_line_predicts_a_slide_with_a_bioimageio_package_as_with_its_model(
    shapes_model, shapes_package, grey_slide, tmp_path, capsys
):
    from model.cli import main

    path, _ = grey_slide
    written = {}
    for model in (shapes_model, shapes_package):
        out, tiff = tmp_path / model.name.replace(".", "-"), tmp_path / f"{model.name}.tif"
        argv = ["predict-slide", "--model", str(model), "--image", str(path), "--out", str(out)]
        assert main([*argv, "--window", "1024", "--tiff", str(tiff), "--device", "cpu"]) == 0
        written[model.suffix] = tifffile.imread(tiff)
    assert "[4/4] windows" in capsys.readouterr().out
    assert np.mean(written[".pt"] != written[".zip"]) < 0.001


def test_the_command_line_trains_on_a_slide_and_its_label_tiff_then_predicts_it(grey_slide, tmp_path, capsys):
    """The headless loop on a slide: a label TIFF as QuPath exports one (0 not labelled here,
    said by --ignore-value), train-slide, then predict-slide with the model it wrote."""
    from model.cli import main

    path, image = grey_slide
    labels = np.zeros(image.shape, np.uint8)
    rng = np.random.default_rng(3)  # the fixture's shapes again: their true classes + 1
    truth = np.vstack([np.hstack([shapes_image(rng, 100)[1] for _ in range(16)]) for _ in range(11)])
    labels[100:600, 200:900] = truth[100:600, 200:900] + 1
    label_tiff = tmp_path / "labels.tif"
    tifffile.imwrite(label_tiff, labels, tile=(256, 256), compression="zlib")
    model = tmp_path / "slide-model.pt"
    args = ["train-slide", "--image", str(path), "--mask", str(label_tiff), "--out", str(model)]
    options = ["--ignore-value", "0", "--preset", "fast", "--steps", "30", "--device", "cpu"]
    assert main([*args, *options, "--classes", "unused,background,disk,square"]) == 0
    err = capsys.readouterr().err
    assert "training on 1 labelled regions of slide.tif" in err
    checkpoint = load_checkpoint(model)
    assert [c.name for c in checkpoint.classes] == ["unused", "background", "disk", "square"]
    assert main([*args, *options]) == 2  # --out exists: refused without --overwrite
    assert "--overwrite" in capsys.readouterr().err
    out = tmp_path / "pred"
    command = [
        "predict-slide",
        "--model",
        str(model),
        "--image",
        str(path),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert main(command) == 0
    assert set(np.unique(open_slide_prediction(out).classes().read(0, 0, 1100, 1600))) <= {0, 1, 2, 3}


def test_a_models_fingerprint_is_the_same_for_the_same_weights_and_changes_with_them(shapes_model):
    first, again = load_checkpoint(shapes_model), load_checkpoint(shapes_model)
    assert first.fingerprint() == again.fingerprint()  # a slide's prediction by it resumes
    name = next(iter(again.state_dict))
    again.state_dict[name] = again.state_dict[name] + 1e-3
    assert first.fingerprint() != again.fingerprint()  # a retrained model starts a new one
