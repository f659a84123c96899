"""Prediction of a whole slide in bounded memory, window by window, resumable after a stop.

The slide (``model.storage.slide.SlideReader``) is cut into square windows aligned with the
output's chunks; each is read with ``context`` pixels around it, predicted
(``model.prediction.predict.Predictor``), and its inner part written into two chunked arrays
(``model.storage.chunked_mask.ChunkedMask``) in the output folder: ``classes.zarr`` (the class
map; not yet predicted reads as 255) and ``uncertainty.zarr`` (per-pixel entropy 0..254).
After each window its chunks are saved and ``progress.json`` records it with its mean
uncertainty, atomically; a later call with the same image, model and window size goes on
from there. Memory: one window with its context at a time, whatever the slide's size.

``open_output`` opens such a folder as one object (``SlideOutput``) that the thread predicting
writes while others read it (the window draws the classes as they come); ``next_window`` lets
a caller choose the order (what is on screen first).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import ImageReadError, SegGUIError
from model.prediction.predict import Predictor
from model.storage.atomic import atomic_write
from model.storage.chunked_mask import CHUNK, ChunkedMask
from model.storage.intensity import IntensityRange, intensity_range, select_channels
from model.storage.json_files import read_json_object
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


class SlideOutput:
    """An open slide prediction folder: its class and uncertainty arrays and its progress, as
    one object that the thread predicting writes and others read (the arrays lock themselves)."""

    def __init__(self, folder: Path, classes: ChunkedMask, entropy: ChunkedMask, progress: dict) -> None:
        self.folder, self.classes, self.entropy = folder, classes, entropy
        self._progress = progress
        self._lock = threading.Lock()
        self.replaced: str | None = None
        """Why ``open_output`` emptied the folder and began anew (a prediction of another size)."""
        height, width = progress["size"]
        self.window = int(progress["window"])
        self.starts = [(y, x) for y in range(0, height, self.window) for x in range(0, width, self.window)]

    @property
    def shape(self) -> tuple[int, int]:
        height, width = self._progress["size"]
        return int(height), int(width)

    def done(self) -> set[tuple[int, int]]:
        """The top-left pixels of the windows predicted."""
        with self._lock:
            return {_start_of(key) for key in self._progress["done"]}

    def summary(self) -> SlidePrediction:
        with self._lock:
            return _summary(self.folder, self._progress, len(self.starts))

    def record(self, y: int, x: int, uncertainty: float) -> None:
        """Window (y, x) is written: save its chunks, then say so in the progress, atomically."""
        self.classes.save()
        self.entropy.save()
        with self._lock:
            self._progress["done"][f"{y},{x}"] = uncertainty
            text = json.dumps(self._progress, indent=1).encode()
        atomic_write(self.folder / PROGRESS, lambda handle: handle.write(text))


def open_output(
    reader: SlideReader,
    out_folder: str | os.PathLike[str],
    *,
    model_id: str,
    window: int = DEFAULT_WINDOW,
    replace_other: bool = False,
) -> SlideOutput:
    """The prediction folder of ``reader``'s slide by ``model_id``: begun anew, or as a stopped
    prediction left it. A folder begun by another model, for another image or with another
    window is refused, or with ``replace_other`` (a window's own folder for the slide) emptied of
    that prediction and begun anew."""
    if window % CHUNK:
        raise ValueError(f"the window ({window}) must be a multiple of the chunk size {CHUNK}")
    folder = Path(out_folder)
    height, width = reader.shape
    identity = {"image": str(reader.path), "size": [height, width], "model": model_id, "window": window}
    try:
        progress = _progress(folder, identity)
    except SegGUIError:
        if not (replace_other and (folder / PROGRESS).is_file()):
            raise
        _remove_prediction(folder)
        progress = None
    if progress is None:
        folder.mkdir(parents=True, exist_ok=True)
        classes = ChunkedMask.create(folder / CLASSES, (height, width))
        entropy = ChunkedMask.create(folder / UNCERTAINTY, (height, width))
        progress = {**identity, "done": {}}
        _save_progress(folder, progress)
    else:
        classes = ChunkedMask.open(folder / CLASSES)
        entropy = ChunkedMask.open(folder / UNCERTAINTY)
        for array in (classes, entropy):  # its progress may say the slide's size while they do not
            try:
                array.check_fits((height, width))
            except SegGUIError as exc:
                if not replace_other:
                    raise SegGUIError(
                        f"{exc}: the folder holds a prediction of another size; remove it or predict "
                        "into another folder"
                    ) from exc
                _remove_prediction(folder)
                output = open_output(reader, folder, model_id=model_id, window=window)
                output.replaced = (
                    f"{exc}: the folder held a prediction of another size; the slide is predicted anew"
                )
                return output
    return SlideOutput(folder, classes, entropy, progress)


def predict_slide(
    predictor: Predictor,
    reader: SlideReader,
    out_folder: str | os.PathLike[str] | SlideOutput,
    *,
    model_id: str = "",
    window: int = DEFAULT_WINDOW,
    context: int = DEFAULT_CONTEXT,
    next_window: Callable[[list[tuple[int, int]]], tuple[int, int] | None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> SlidePrediction:
    """Predict level 0 of ``reader`` into ``out_folder`` (see the module's docstring), or into
    an output already open (``open_output``).

    ``model_id`` names the model (its file's name and stamp, say): an output folder begun by
    another model, for another image or with another window is refused, not mixed.
    ``next_window(remaining)`` picks the window to predict next from the top-left pixels of
    those not done (None: stop here); without it they go in reading order.
    ``on_progress(done, total)`` follows the windows; ``should_stop()`` is asked before each
    (a stopped prediction keeps what it wrote and resumes later). A window that cannot be read
    (a damaged tile) is told to ``on_problem`` and left for a later run, the others go on;
    without ``on_problem`` it ends the prediction, named."""
    if isinstance(out_folder, SlideOutput):
        output = out_folder
    else:
        output = open_output(reader, out_folder, model_id=model_id, window=window)
    height, width = reader.shape
    size = output.window
    intensity = slide_intensity(reader, predictor.picked)
    done = output.done()
    remaining = [start for start in output.starts if start not in done]
    while remaining:
        if should_stop is not None and should_stop():
            break
        chosen = next_window(remaining) if next_window is not None else remaining[0]
        if chosen is None:
            break
        remaining.remove(chosen)
        y, x = chosen
        h, w = min(size, height - y), min(size, width - x)
        top, left = max(0, y - context), max(0, x - context)
        bottom, right = min(height, y + h + context), min(width, x + w + context)
        try:
            raw = reader.read_region(0, top, left, bottom - top, right - left)
        except ImageReadError as exc:
            if on_problem is None:
                raise
            on_problem(f"{exc}; the window at ({y}, {x}) is left unpredicted")
            continue
        prediction = predictor.predict(raw, intensity=intensity)
        inner = (slice(y - top, y - top + h), slice(x - left, x - left + w))
        output.classes.write(y, x, prediction.classes[inner])
        assert prediction.uncertainty_map is not None
        output.entropy.write(y, x, np.minimum(prediction.uncertainty_map[inner], 254))
        output.record(y, x, float(prediction.uncertainty_map[inner].mean() / 255.0))
        if on_progress is not None:
            on_progress(len(output.starts) - len(remaining), len(output.starts))
    return output.summary()


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


def _start_of(key: str) -> tuple[int, int]:
    y, x = key.split(",")
    return int(y), int(x)


def _summary(folder: Path, progress: dict, total: int) -> SlidePrediction:
    uncertainty = {_start_of(key): float(value) for key, value in progress["done"].items()}
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
    """The progress file, checked field by field: whatever is wrong with it names the file."""
    path = folder / PROGRESS
    progress = read_json_object(path, "the prediction's progress")
    try:
        size = [int(v) for v in progress["size"]]  # type: ignore[union-attr]
        window = int(progress["window"])  # type: ignore[call-overload]
        done = {}
        for key, uncertainty in dict(progress["done"]).items():  # type: ignore[call-overload]
            y, x = _start_of(key)
            done[f"{y},{x}"] = float(uncertainty)
        if len(size) != 2 or min(size) < 1 or window < 1:
            raise ValueError(f"size {size} and window {window} are not a slide's")
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise SegGUIError(f"{path}: cannot be read ({exc}); delete the folder to start again") from exc
    return {**progress, "size": size, "window": window, "done": done}


def _remove_prediction(folder: Path) -> None:
    """Take out of ``folder`` the prediction ``open_output`` wrote there (its arrays and progress
    only: anything else in the folder stays)."""
    for name in (CLASSES, UNCERTAINTY):
        if (folder / name).is_dir():
            shutil.rmtree(folder / name)
    (folder / PROGRESS).unlink()


def _save_progress(folder: Path, progress: dict) -> None:
    text = json.dumps(progress, indent=1).encode()
    atomic_write(folder / PROGRESS, lambda handle: handle.write(text))
