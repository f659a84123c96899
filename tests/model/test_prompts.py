"""Prompts in the engine: fetching a prompt model's weights (progress, a wrong SHA-256, Cancel,
a mirror, files downloaded by hand, no network) and turning clicks and boxes into masks, with
the stand-in model served from 127.0.0.1 (never the real weights)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from model.errors import SegGUIError
from model.prompts import catalogue
from model.prompts.catalogue import DownloadCancelled, download, is_cached, load_from_files
from model.prompts.embeddings import EmbeddingCache
from model.prompts.headless import CACHE_FOLDER as CACHE
from model.prompts.prompter import EXCLUDE, INCLUDE, Prompter, PromptModel, Prompts, Window, prompt_window
from model.prompts.stand_in import RADIUS, expected_mask


def cache_files(home: Path) -> list[Path]:
    """Every file under osam's model cache (weights and anything a download left)."""
    root = home / ".cache" / "osam"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_download_reports_progress_and_checks_each_file(served_prompt_model, tmp_path):
    seen = []
    assert not is_cached(served_prompt_model.name)
    download(served_prompt_model.name, progress=seen.append)
    assert is_cached(served_prompt_model.name)
    roles = {p.role for p in seen}
    assert roles == {"encoder", "decoder"}
    last = [p for p in seen if p.role == "decoder"][-1]
    assert last.total == served_prompt_model.files["decoder"].stat().st_size == last.done
    assert (last.number, last.files) == (2, 2)
    assert catalogue.cached_bytes(served_prompt_model.name) == sum(
        p.stat().st_size for p in served_prompt_model.files.values()
    )
    assert catalogue.download_bytes(served_prompt_model.name) == catalogue.cached_bytes(
        served_prompt_model.name
    )


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(served_prompt_model, tmp_path):
    served_prompt_model.corrupt = True
    with pytest.raises(SegGUIError) as error:
        download(served_prompt_model.name)
    text = str(error.value)
    assert "Cannot download" in text and "hash" in text.lower()
    assert "OSAM_BLOB_ENDPOINT" in text and "Load From File" in text
    assert not is_cached(served_prompt_model.name)
    assert cache_files(tmp_path / "home") == []


def test_cancel_in_the_middle_leaves_nothing_behind(served_prompt_model, tmp_path):
    served_prompt_model.hold_after = 512
    cancel = threading.Event()
    failure = []

    def run():
        try:
            download(served_prompt_model.name, cancel=cancel)
        except SegGUIError as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert served_prompt_model.held.wait(30)  # 512 bytes in, the rest held back
    cancel.set()
    served_prompt_model.release.set()
    worker.join(30)
    assert len(failure) == 1 and isinstance(failure[0], DownloadCancelled)
    assert not is_cached(served_prompt_model.name)
    assert cache_files(tmp_path / "home") == []


def test_the_mirror_variable_fetches_from_a_mirror(served_prompt_model, monkeypatch):
    served_prompt_model.direct = False
    monkeypatch.setenv("OSAM_BLOB_ENDPOINT", served_prompt_model.mirror)
    download(served_prompt_model.name)
    assert is_cached(served_prompt_model.name)
    assert all(path.startswith("/mirror/") for path in served_prompt_model.requests)


def test_offline_the_message_names_both_ways_round(served_prompt_model, monkeypatch):
    served_prompt_model.direct = False  # the files' address answers nothing; no mirror set
    with pytest.raises(SegGUIError) as error:
        download(served_prompt_model.name)
    text = str(error.value)
    assert "404" in text
    assert "set OSAM_BLOB_ENDPOINT to a mirror" in text
    assert "Model > Prompt Model > Load From File" in text
    assert f"{served_prompt_model.base}/files/stand_in_encoder.onnx" in text


def test_load_from_file_checks_the_checksum_and_fills_the_cache(served_prompt_model, tmp_path):
    name, files = served_prompt_model.name, served_prompt_model.files
    stranger = tmp_path / "other.onnx"
    stranger.write_bytes(b"not a model")
    with pytest.raises(SegGUIError, match="not a file of"):
        load_from_files(name, [files["encoder"], stranger])
    assert cache_files(tmp_path / "home") == []  # nothing copied when one file is wrong
    assert load_from_files(name, [files["encoder"]]) == ["decoder"]
    assert not is_cached(name)
    assert load_from_files(name, [files["decoder"]]) == []
    assert is_cached(name)
    assert served_prompt_model.requests == []  # no network at all


def test_a_model_not_downloaded_is_not_loaded(served_prompt_model):
    with pytest.raises(SegGUIError, match="not downloaded"):
        PromptModel(served_prompt_model.name)
    assert served_prompt_model.requests == []


def test_the_window_is_the_image_or_a_square_around_the_prompt():
    assert prompt_window((600, 800), 10, 10) == Window(0, 0, 600, 800)
    assert prompt_window((5000, 9000), 4500, 2500) == Window(2500 - 512, 4500 - 512, 1024, 1024)
    assert prompt_window((5000, 9000), 5, 4990) == Window(5000 - 1024, 0, 1024, 1024)
    assert prompt_window((300, 9000), 8990, 100) == Window(0, 9000 - 1024, 300, 1024)


def test_clicks_shift_clicks_and_a_box_give_the_decoders_mask(prompt_model):
    prompter = Prompter(PromptModel(prompt_model), EmbeddingCache())
    pixels = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    window = Window(0, 0, 200, 300)
    embedding = prompter.embedding(pixels)
    prompts = Prompts([(50.0, 60.0)], [INCLUDE])
    assert np.array_equal(
        prompter.proposal(embedding, window, prompts), expected_mask((200, 300), [(50, 60)], [1])
    )
    prompts = Prompts([(50.0, 60.0), (58.0, 60.0)], [INCLUDE, EXCLUDE])
    got = prompter.proposal(embedding, window, prompts)
    assert np.array_equal(got, expected_mask((200, 300), [(50, 60), (58, 60)], [1, 0]))
    assert got[60, 40] and not got[60, 58]
    box = Prompts(box=(250.0, 150.0, 200.0, 100.0))  # any two corners
    got = prompter.proposal(embedding, window, box)
    assert got[100:151, 200:251].all() and got.sum() == 51 * 51
    assert not prompter.proposal(embedding, window, Prompts([(5.0, 5.0)], [EXCLUDE])).any()


def test_a_window_far_from_the_origin_gives_the_mask_in_its_coordinates(prompt_model):
    prompter = Prompter(PromptModel(prompt_model), EmbeddingCache())
    window = prompt_window((20_000, 30_000), 25_000.0, 12_000.0)
    pixels = np.zeros((window.height, window.width, 3), np.uint8)
    embedding = prompter.embedding(pixels)
    got = prompter.proposal(embedding, window, Prompts([(25_000.0, 12_000.0)], [INCLUDE]))
    ys, xs = np.nonzero(got)
    assert (xs.mean() + window.x, ys.mean() + window.y) == pytest.approx((25_000, 12_000), abs=0.5)
    assert len(xs) == pytest.approx(np.pi * RADIUS**2, rel=0.1)


def test_embeddings_are_kept_on_disk_and_read_back(prompt_model, tmp_path, monkeypatch):
    model = PromptModel(prompt_model)
    pixels = np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    first = Prompter(model, EmbeddingCache(tmp_path / "cache")).embedding(pixels)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1

    def no_encoding(_pixels):
        raise AssertionError("encoded again")

    monkeypatch.setattr(model, "encode", no_encoding)
    again = Prompter(model, EmbeddingCache(tmp_path / "cache")).embedding(pixels)  # a new window's cache
    assert np.array_equal(again.embedding, first.embedding)
    assert (again.original_height, again.original_width) == (64, 80)


def test_the_disk_cache_keeps_within_its_budget(prompt_model, tmp_path):
    model = PromptModel(prompt_model)
    cache = EmbeddingCache(tmp_path / "cache", disk_budget=3 * 32 * 64 * 64 * 4 + 3000)
    prompter = Prompter(model, cache)
    for seed in range(6):
        prompter.embedding(np.full((32, 32, 3), seed, np.uint8))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3


def test_a_damaged_cache_file_is_computed_again(prompt_model, tmp_path, caplog):
    cache = EmbeddingCache(tmp_path / "cache")
    prompter = Prompter(PromptModel(prompt_model), cache)
    pixels = np.full((32, 32, 3), 7, np.uint8)
    prompter.embedding(pixels)
    (stored,) = (tmp_path / "cache").glob("*.npz")
    stored.write_bytes(b"broken")
    fresh = Prompter(PromptModel(prompt_model), EmbeddingCache(tmp_path / "cache")).embedding(pixels)
    assert fresh.embedding.shape == (32, 64, 64)
    assert "computed again" in caplog.text


def test_the_command_line_writes_the_object_into_the_mask(stand_in_as_default, tmp_path, capsys):
    from model.classes import IGNORE_INDEX, default_classes
    from model.cli import main
    from model.storage.imageio import read_mask, write_mask

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(2)
    tifffile_image = rng.integers(0, 60000, (90, 120, 4), dtype=np.uint16)  # 16-bit, 4 channels
    import tifffile

    tifffile.imwrite(folder / "cells.tif", tifffile_image, photometric="minisblack", planarconfig="contig")
    (folder / "masks").mkdir()
    before = np.full((90, 120), IGNORE_INDEX, np.uint8)
    before[40:44, 30:34] = 0
    write_mask(folder / "masks" / "cells.png", before, default_classes(3))
    argv = ["prompt", "--image", str(folder / "cells.tif"), "--point", "30,40", "--exclude", "36,40"]
    assert main([*argv, "--class", "2", "--only-unlabelled"]) == 0
    said = capsys.readouterr()
    assert "downloading" in said.err  # the first use fetched the weights (from 127.0.0.1)
    mask = read_mask(folder / "masks" / "cells.png")
    wanted = expected_mask((90, 120), [(30, 40), (36, 40)], [1, 0]) & (before == IGNORE_INDEX)
    assert np.array_equal(mask == 2, wanted) and (mask[40:44, 30:34] == 0).all()
    assert f"{int(wanted.sum()):,} pixels of class 2" in said.out
    assert (
        main(["prompt", "--image", str(folder / "cells.tif"), "--box", "80,10,100,30", "--class", "1"]) == 0
    )
    assert (read_mask(folder / "masks" / "cells.png")[10:31, 80:101] == 1).all()
    assert len(list((folder / CACHE).glob("*.npz"))) == 1  # the same pixels: encoded once


def test_the_command_line_names_what_is_wrong(stand_in_as_default, tmp_path, capsys):
    from model.cli import main

    image = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(image)
    assert main(["prompt", "--image", str(image), "--point", "50,5", "--class", "1"]) == 2
    assert "outside a.png (30 x 20)" in capsys.readouterr().err
    assert main(["prompt", "--image", str(image), "--exclude", "5,5", "--class", "1"]) == 2
    assert "at least one --point" in capsys.readouterr().err
    from model.classes import default_classes
    from model.storage.project import Project, save_project

    save_project(Project(tmp_path, classes=tuple(default_classes(3))))
    assert main(["prompt", "--image", str(image), "--point", "5,5", "--class", "7"]) == 2
    assert "--class 7" in capsys.readouterr().err
    assert stand_in_as_default.requests == []  # nothing fetched for a command that cannot run
