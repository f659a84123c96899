"""Prediction of a whole slide in bounded memory, window by window, resumable after a stop.

The slide (``model.storage.slide.SlideReader``) is cut into square windows aligned with the
output's chunks; each is read with ``context`` pixels around it, predicted
(``model.prediction.predict.Predictor``), and its inner part written into two chunked arrays
(``model.storage.chunked_mask.ChunkedMask``) in the output folder: ``classes.zarr`` (the class
map; not yet predicted reads as 255) and ``uncertainty.zarr`` (per-pixel entropy 0..254).
After each window its chunks are saved and ``progress.json`` records it with its mean
uncertainty, atomically; a later call with the same image, model and window size goes on
from there. Memory: one window with its context at a time, whatever the slide's size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import SegGUIError
from model.prediction.predict import Predictor
from model.storage.atomic import atomic_write
from model.storage.chunked_mask import CHUNK, ChunkedMask
from model.storage.intensity import IntensityRange, intensity_range, select_channels
from model.storage.slide import SlideReader

DEFAULT_WINDOW = 2048
DEFAULT_CONTEXT = 64
PROGRESS = "progress.json"
CLASSES = "classes.zarr"
UNCERTAINTY = "uncertainty.zarr"
SAMPLES = 64
SAMPLE_SIZE = 256


@dataclass(frozen=True)
class SlidePrediction:
    """What a (possibly partial) slide prediction holds."""

    folder: Path
    windows_done: int
    windows_total: int
    window: int
    uncertainty: dict[tuple[int, int], float]
    """Mean normalised entropy (0..1) per predicted window, keyed by its top-left pixel."""

    @property
    def complete(self) -> bool:
        return self.windows_done == self.windows_total

    def classes(self) -> ChunkedMask:
        return ChunkedMask.open(self.folder / CLASSES)

    def most_uncertain(self, count: int = 1) -> list[tuple[int, int]]:
        """Top-left pixels of the ``count`` windows the model is least sure of, least sure first."""
        return sorted(self.uncertainty, key=lambda key: -self.uncertainty[key])[:count]


def predict_slide(
    predictor: Predictor,
    reader: SlideReader,
    out_folder: str | os.PathLike[str],
    *,
    model_id: str,
    window: int = DEFAULT_WINDOW,
    context: int = DEFAULT_CONTEXT,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SlidePrediction:
    """Predict level 0 of ``reader`` into ``out_folder`` (see the module's docstring).

    ``model_id`` names the model (its file's name and stamp, say): an output folder begun by
    another model, for another image or with another window is refused, not mixed.
    ``on_progress(done, total)`` follows the windows; ``should_stop()`` is asked before each
    (a stopped prediction keeps what it wrote and resumes later)."""
    if window % CHUNK:
        raise ValueError(f"the window ({window}) must be a multiple of the chunk size {CHUNK}")
    folder = Path(out_folder)
    height, width = reader.shape
    identity = {"image": str(reader.path), "size": [height, width], "model": model_id, "window": window}
    progress = _progress(folder, identity)
    if progress is None:
        folder.mkdir(parents=True, exist_ok=True)
        classes = ChunkedMask.create(folder / CLASSES, (height, width))
        entropy = ChunkedMask.create(folder / UNCERTAINTY, (height, width))
        progress = {**identity, "done": {}}
        _save_progress(folder, progress)
    else:
        classes = ChunkedMask.open(folder / CLASSES)
        entropy = ChunkedMask.open(folder / UNCERTAINTY)
    intensity = slide_intensity(reader, predictor.picked)
    starts = [(y, x) for y in range(0, height, window) for x in range(0, width, window)]
    done: dict[str, float] = progress["done"]
    for y, x in starts:
        if f"{y},{x}" in done:
            continue
        if should_stop is not None and should_stop():
            break
        h, w = min(window, height - y), min(window, width - x)
        top, left = max(0, y - context), max(0, x - context)
        bottom, right = min(height, y + h + context), min(width, x + w + context)
        raw = reader.read_region(0, top, left, bottom - top, right - left)
        prediction = predictor.predict(raw, intensity=intensity)
        inner = (slice(y - top, y - top + h), slice(x - left, x - left + w))
        classes.write(y, x, prediction.classes[inner])
        assert prediction.uncertainty_map is not None
        entropy.write(y, x, np.minimum(prediction.uncertainty_map[inner], 254))
        classes.save()
        entropy.save()
        done[f"{y},{x}"] = float(prediction.uncertainty_map[inner].mean() / 255.0)
        _save_progress(folder, progress)
        if on_progress is not None:
            on_progress(len(done), len(starts))
    return _summary(folder, progress, len(starts))


def slide_intensity(reader: SlideReader, picked: tuple[int, ...] = ()) -> IntensityRange:
    """The intensity range of the whole slide (``intensity_range``), from its smallest level when
    that is small enough to read, else from ``SAMPLES`` windows spread over level 0: every
    window of a slide is normalised alike."""
    sample = reader.overview()
    if sample is None:
        side = int(np.sqrt(SAMPLES))
        height, width = reader.shape
        size = min(SAMPLE_SIZE, height, width)
        parts = [
            reader.read_region(0, int(y), int(x), size, size)
            for y in np.linspace(0, height - size, side)
            for x in np.linspace(0, width - size, side)
        ]
        sample = np.concatenate(parts, axis=0)
    return intensity_range(select_channels(sample, picked))


def open_slide_prediction(folder: str | os.PathLike[str]) -> SlidePrediction:
    """A slide prediction folder as ``predict_slide`` left it."""
    path = Path(folder)
    progress = _read_progress(path)
    height, width = progress["size"]
    window = int(progress["window"])
    total = -(-height // window) * -(-width // window)
    return _summary(path, progress, total)


def _summary(folder: Path, progress: dict, total: int) -> SlidePrediction:
    uncertainty = {}
    for key, value in progress["done"].items():
        y, x = key.split(",")
        uncertainty[(int(y), int(x))] = float(value)
    return SlidePrediction(folder, len(uncertainty), total, int(progress["window"]), uncertainty)


def _progress(folder: Path, identity: dict) -> dict | None:
    """The folder's progress if it continues the same prediction; None for a new folder."""
    if not (folder / PROGRESS).exists():
        if folder.exists() and any(folder.iterdir()):
            raise SegGUIError(
                f"{folder}: the folder holds other files; choose an empty or new folder for the prediction"
            )
        return None
    progress = _read_progress(folder)
    theirs = {key: progress.get(key) for key in identity}
    if theirs != identity:
        differs = ", ".join(key for key in identity if theirs[key] != identity[key])
        raise SegGUIError(
            f"{folder}: holds a prediction of another {differs}; choose another folder, or delete "
            "this one to start again"
        )
    return progress


def _read_progress(folder: Path) -> dict:
    try:
        progress = json.loads((folder / PROGRESS).read_text())
        progress["done"] = dict(progress["done"])
        progress["size"] = list(progress["size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SegGUIError(
            f"{folder / PROGRESS}: cannot be read ({exc}); delete the folder to start again"
        ) from exc
    return progress


def _save_progress(folder: Path, progress: dict) -> None:
    text = json.dumps(progress, indent=1).encode()
    atomic_write(folder / PROGRESS, lambda handle: handle.write(text))
