"""Fuzzing what a folder from elsewhere can hold (issue #37): a chunked mask's description, chunk
files and names, and the stroke journal, made of random bytes, shapes and names from a fixed seed.
Every case ends in a correct read or a named ``SegGUIError``: never another exception, never a
hang (an alarm turns one into a failure), never a file written outside the mask folder."""

from __future__ import annotations

import json
import os
import signal
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from model.classes import IGNORE_INDEX, default_classes
from model.errors import SegGUIError
from model.storage.chunked_mask import ChunkedMask
from model.storage.stroke_journal import JOURNAL_FILE, JournalRecord, encode_record, replay_journal

CLASSES = default_classes(3)


@contextmanager
def no_hang(seconds: int):
    """Fail instead of hanging where the system has alarms (a read of a fifo would block)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hung(signum, frame):
        raise AssertionError(f"a case ran over {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _description(rng: np.random.Generator) -> bytes:
    """A ``.zarray``: mostly plausible, with one field made wrong in one of many ways."""
    meta: dict = {
        "zarr_format": 2,
        "shape": [int(rng.integers(1, 3000)), int(rng.integers(1, 3000))],
        "chunks": [256, 256],
        "dtype": "|u1",
        "compressor": {"id": "zlib", "level": 1},
        "fill_value": IGNORE_INDEX,
        "order": "C",
        "filters": None,
    }
    odd = [
        lambda: meta.update(shape=[int(rng.integers(-5, 5)), 10 ** int(rng.integers(1, 30))]),
        lambda: meta.update(chunks=[int(rng.integers(-3, 10_000))] * 2),
        lambda: meta.update(chunks=[256, 128]),
        lambda: meta.update(dtype=["<u2", "|b1", "<f8", "|u1 ", 7][int(rng.integers(5))]),
        lambda: meta.update(compressor=[None, "zlib", {"id": "blosc"}, []][int(rng.integers(4))]),
        lambda: meta.update(shape="1000x1000"),
        lambda: meta.update(shape=[1.5, [2]]),
        lambda: meta.update(zarr_format=int(rng.integers(0, 4))),
        lambda: meta.pop(["shape", "chunks", "dtype"][int(rng.integers(3))]),
        lambda: None,
        lambda: None,
    ]
    odd[int(rng.integers(len(odd)))]()
    text = json.dumps(meta).encode()
    cut = rng.random()
    if cut < 0.1:
        return text[: int(rng.integers(len(text)))]
    if cut < 0.15:
        return b"[" * int(rng.integers(1, 40_000))
    if cut < 0.2:
        return rng.bytes(int(rng.integers(0, 300)))
    return text


def _chunk_bytes(rng: np.random.Generator, chunk: int) -> bytes:
    kind = rng.integers(6)
    if kind == 0:
        return rng.bytes(int(rng.integers(0, 2000)))  # not zlib at all
    if kind == 1:  # zlib of the wrong length
        return zlib.compress(
            rng.integers(0, 256, int(rng.integers(0, 3 * chunk * chunk)), np.uint8).tobytes()
        )
    if kind == 2:  # a bomb: far more than a chunk
        return zlib.compress(bytes(64 * chunk * chunk), 9)
    if kind == 3:  # a good chunk cut short
        good = zlib.compress(rng.integers(0, 3, chunk * chunk, np.uint8).tobytes())
        return good[: int(rng.integers(len(good)))]
    return zlib.compress(rng.integers(0, 3, chunk * chunk, np.uint8).tobytes())  # a good chunk


def _chunk_name(rng: np.random.Generator) -> str:
    return str(
        rng.choice(
            [
                f"{rng.integers(0, 12)}.{rng.integers(0, 12)}",
                f"{rng.integers(0, 12)}.{rng.integers(0, 12)}",
                "².0",
                "0.0.0",
                "-1.0",
                f"{10**30}.0",
                ".0.0.deadbeef.tmp",
                "٣.1",
                "0.1 ",
            ]
        )
    )


def _fuzzed_mask_folder(folder: Path, rng: np.random.Generator) -> None:
    folder.mkdir()
    (folder / ".zarray").write_bytes(_description(rng))
    for _ in range(int(rng.integers(0, 8))):
        name = _chunk_name(rng)
        path = folder / name
        if os.path.lexists(path):
            continue
        kind = rng.random()
        if kind < 0.07 and hasattr(os, "mkfifo"):
            os.mkfifo(path)
        elif kind < 0.12:
            path.symlink_to("/dev/zero")
        elif kind < 0.15:
            path.mkdir()
        elif kind < 0.18:
            path.symlink_to(path)
        else:
            path.write_bytes(_chunk_bytes(rng, 256))


def test_the_chunked_mask_reader_reads_or_names_every_fuzzed_folder(tmp_path):
    rng = np.random.default_rng(37)
    outcomes = {"read": 0, "named": 0}
    with no_hang(60):
        for case in range(300):
            folder = tmp_path / f"case{case}.zarr"
            _fuzzed_mask_folder(folder, rng)
            try:
                mask = ChunkedMask.open(folder)
                height, width = mask.shape
                for _ in range(3):
                    top, left = int(rng.integers(-100, height)), int(rng.integers(-100, width))
                    size = int(rng.integers(1, 900))
                    window = mask.read(top, left, size, size)
                    assert window.shape == (size, size) and window.dtype == np.uint8
                step = max(16, height // 256, width // 256)
                overview = mask.read_strided(0, 0, height, width, step)
                assert overview.shape == (-(-height // step), -(-width // step))
                assert all(y >= 0 and x >= 0 for y, x in mask.stored_chunks())
                outcomes["read"] += 1
            except SegGUIError as exc:
                assert str(folder) in str(exc)  # named by its file
                outcomes["named"] += 1
    assert outcomes["read"] > 30 and outcomes["named"] > 30, outcomes  # both paths were tried


def _fuzzed_record(rng: np.random.Generator) -> JournalRecord:
    name = str(
        rng.choice(
            [
                "a.png",
                "a.png",
                "b.png",
                "a.conflict.png",
                "../x.png",
                "a\0.png",
                "",
                ".",
                "sub/a.png",
                "é.png",
                "x" * 300,
            ]
        )
    )
    height, width = (
        (96, 96) if rng.random() < 0.5 else (int(rng.integers(0, 70_000)), int(rng.integers(0, 70_000)))
    )
    tiles = []
    for _ in range(int(rng.integers(0, 4))):
        th, tw = int(rng.integers(0, 80)), int(rng.integers(0, 80))
        row = int(rng.integers(0, 3)) if rng.random() < 0.8 else int(rng.integers(0, 1 << 31))
        tiles.append((row, int(rng.integers(0, 3)), rng.integers(0, 4, (th, tw), np.uint8)))
    return JournalRecord(name, (height, width), int(rng.integers(0, 10**6)), tuple(tiles))


def test_the_journal_replay_restores_or_names_every_fuzzed_journal(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1037)
    image = tmp_path / "images"
    image.mkdir()
    Image.fromarray(np.zeros((96, 96), np.uint8)).save(image / "a.png")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(image / "b.png")
    mask_names = {"a.png": image / "a.png", "b.png": image / "b.png"}
    restored = named = 0
    with no_hang(60):
        for case in range(300):
            folder = tmp_path / f"case{case}"
            masks = folder / "masks"
            masks.mkdir(parents=True)
            data = b"".join(encode_record(_fuzzed_record(rng)) for _ in range(int(rng.integers(1, 5))))
            if rng.random() < 0.3:  # damage: flip bytes, cut the tail, or add noise
                data = bytearray(data)
                for _ in range(int(rng.integers(1, 10))):
                    data[int(rng.integers(len(data)))] = int(rng.integers(256))
                data = bytes(data)[: int(rng.integers(1, len(data) + 1))]
            if rng.random() < 0.1:
                data += rng.bytes(int(rng.integers(1, 200)))
            (folder / JOURNAL_FILE).write_bytes(data)
            replay = replay_journal(folder, masks, CLASSES, lambda p: p, mask_names=mask_names)
            assert all(isinstance(problem, str) for problem in replay.problems)
            restored += bool(replay.restored)
            named += bool(replay.problems)
            written = {p.name for p in masks.iterdir()}
            sizes = {"a.png": (96, 96), "a.conflict.png": (96, 96), "b.png": (64, 64)}
            assert written <= set(sizes), written  # the masks of the images, nothing else, nowhere else
            assert {p.name for p in folder.iterdir()} <= {"masks", JOURNAL_FILE}
            for name in written:
                shape = np.asarray(Image.open(masks / name)).shape
                assert shape == sizes[name]
    assert restored > 30 and named > 30, (restored, named)  # both paths were tried


@pytest.mark.parametrize("seed", [5, 6])
def test_a_chunked_masks_own_journal_fuzzed_is_replayed_or_named(tmp_path, seed):
    rng = np.random.default_rng(seed)
    with no_hang(60):
        for case in range(60):
            folder = tmp_path / f"case{case}.zarr"
            ChunkedMask.create(folder, (700, 500))
            records = [_fuzzed_record(rng) for _ in range(int(rng.integers(1, 4)))]
            records = [
                JournalRecord(folder.name, (700, 500) if rng.random() < 0.6 else r.shape, r.revision, r.tiles)
                for r in records
            ]
            data = b"".join(encode_record(r) for r in records)
            (folder / JOURNAL_FILE).write_bytes(data[: int(rng.integers(1, len(data) + 1))])
            try:
                mask = ChunkedMask.open(folder)
            except SegGUIError as exc:
                assert str(folder) in str(exc)
                continue
            assert mask.read(0, 0, 700, 500).shape == (700, 500)
            assert not (folder / JOURNAL_FILE).exists()
