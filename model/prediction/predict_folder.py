"""Predicting a list of images into a folder of index PNGs, with per-image uncertainty.

Used by ``seggui predict`` and by the app's "Predict all" (which runs it on a worker thread and
stops it through ``should_stop``). Predictions never go into the mask folder. Several
predictors (one per GPU) share the images as they come free; under ``torchrun`` each process
takes every ``world``-th image and rank 0 writes the merged uncertainty ranking.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.classes import ClassInfo
from model.errors import SegGUIError
from model.storage.atomic import atomic_write
from model.storage.geotiff import read_geo_tags
from model.storage.imageio import read_image, write_geotiff_mask, write_mask
from model.storage.intensity import channel_count, non_finite_pixels
from model.storage.mask_names import MaskNames
from model.storage.nodata import nodata_pixels
from model.storage.tiff_files import is_tiff, split_plane

if TYPE_CHECKING:  # importing torch is slow; the app's GUI thread ranks images without it
    from model.prediction.predict import Predictor

UNCERTAINTY_FILE = "uncertainty.json"


@dataclass(frozen=True)
class ImagePredicted:
    """Progress of ``predict_folder``: image ``index`` (1-based) of ``total`` is done."""

    index: int
    total: int
    image: Path
    output: Path
    uncertainty: float
    seconds: float


@dataclass
class FolderPrediction:
    """What ``predict_folder`` did: uncertainty per predicted image, files it could not read."""

    uncertainties: dict[Path, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Images predicted with a caveat (NaN or infinite pixels, read as the darkest or brightest)."""
    stopped: bool = False


def predict_folder(
    predictor: Predictor | Sequence[Predictor],
    images: Sequence[Path],
    out_dir: Path,
    classes: list[ClassInfo],
    *,
    probabilities: bool = False,
    on_image: Callable[[ImagePredicted], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_tiles: Callable[[Path, int, int], None] | None = None,
    axes: str | None = None,
) -> FolderPrediction:
    """Predict ``images`` into ``out_dir`` (index PNGs with the class palette, written atomically;
    for a GeoTIFF also a palette GeoTIFF ``<name>.tif`` with its georeference, for a GIS).

    Unreadable images are reported in ``problems`` and skipped. ``uncertainty.json`` in
    ``out_dir`` lists every image's uncertainty (highest first) when the run ends. A write that
    fails (read-only folder, full disk) raises ``SegGUIError`` naming the file. A large image
    reports its tiles through ``on_tiles(image, done, total)``, and ``should_stop`` is asked
    between its tiles as well, so stopping never waits for a whole huge image.

    With several predictors each runs on a thread of its own, taking the next image when it
    is free; the callbacks are then called from those threads, one at a time. Under
    ``torchrun`` (a process group initialised) this process predicts its share of the images,
    and every process returns the merged result. ``axes`` is the folder's answer for TIFFs
    without axes in their metadata; an image whose channels the model cannot take is a problem.
    """
    from model.compute import distributed

    predictors = [predictor] if not isinstance(predictor, Sequence) else list(predictor)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = MaskNames(images)  # on the whole list: every process names files alike
    rank, world = distributed.rank(), distributed.world_size()
    share = list(images)[rank::world]
    run = _FolderRun(share, out_dir, classes, names, probabilities, on_image, should_stop, on_tiles, axes)
    if len(predictors) == 1:
        run.work(predictors[0])
    else:
        threads = [threading.Thread(target=run.work, args=(p,), daemon=True) for p in predictors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if run.error is not None:
        raise run.error
    result = run.result
    if world > 1:
        result = _merge(distributed.gather_objects(result))
    if rank == 0:
        write_uncertainties(out_dir, result.uncertainties)
    return result


class _FolderRun:
    """The images of one ``predict_folder`` call, handed to predictors as they come free."""

    def __init__(
        self,
        images: list[Path],
        out_dir: Path,
        classes: list[ClassInfo],
        names: MaskNames,
        probabilities: bool,
        on_image: Callable[[ImagePredicted], None] | None,
        should_stop: Callable[[], bool] | None,
        on_tiles: Callable[[Path, int, int], None] | None,
        axes: str | None = None,
    ) -> None:
        self.axes = axes
        self.todo: queue.SimpleQueue[Path] = queue.SimpleQueue()
        for path in images:
            self.todo.put(path)
        self.total = len(images)
        self.out_dir, self.classes, self.names = out_dir, classes, names
        self.probabilities = probabilities
        self.on_image, self.should_stop, self.on_tiles = on_image, should_stop, on_tiles
        self.result = FolderPrediction()
        self.error: BaseException | None = None
        self.done = 0
        self.lock = threading.Lock()

    def _stopping(self) -> bool:
        return self.error is not None or (self.should_stop is not None and self.should_stop())

    def work(self, predictor: Predictor) -> None:
        try:
            while not self._stopping():
                try:
                    path = self.todo.get_nowait()
                except queue.Empty:
                    return
                self._predict_one(predictor, path)
            with self.lock:
                self.result.stopped = self.result.stopped or self.error is None
        except _Stopped:
            with self.lock:
                self.result.stopped = True
        except BaseException as exc:  # handed to the caller's thread, raised there
            with self.lock:
                self.error = self.error or exc

    def _predict_one(self, predictor: Predictor, path: Path) -> None:
        result = self.result
        if path in self.names.refused:
            with self.lock:
                result.problems.append(f"{path}: {self.names.refused[path]}")
            return
        start = time.perf_counter()
        try:
            raw = read_image(path, self.axes)
            source = split_plane(path)[0]
            geo = read_geo_tags(source) if is_tiff(source) else None
            nodata = nodata_pixels(path, raw)
        except SegGUIError as exc:
            with self.lock:
                result.problems.append(str(exc))
            return
        problem = predictor.channel_problem(channel_count(raw))
        if problem is not None:
            with self.lock:
                result.problems.append(f"{path}: {problem}; predict it with a model trained on such images")
            return
        bad = non_finite_pixels(raw)
        if bad:
            with self.lock:
                result.warnings.append(
                    f"{path}: {bad} pixels are NaN or infinite; predicted as the darkest (NaN, -inf) "
                    "or brightest (+inf) value"
                )
        tiles = partial(_tiles_done, path, self._locked(self.on_tiles), self.should_stop)
        prediction = predictor.predict(raw, probabilities=self.probabilities, on_tiles=tiles, nodata=nodata)
        output = self.names.mask_path(path, self.out_dir)  # predictions are masks: same name rule
        try:
            write_mask(output, prediction.classes, self.classes)
            if geo is not None:
                write_geotiff_mask(output.with_suffix(".tif"), prediction.classes, self.classes, geo)
            if prediction.probabilities is not None:
                probs = prediction.probabilities
                atomic_write(output.with_suffix(".npy"), lambda fh, p=probs: np.save(fh, p))
        except OSError as exc:
            raise SegGUIError(f"cannot write {output}: {exc.strerror or exc}") from exc
        with self.lock:
            result.uncertainties[path] = prediction.uncertainty
            self.done += 1
            if self.on_image is not None:
                seconds = time.perf_counter() - start
                self.on_image(
                    ImagePredicted(self.done, self.total, path, output, prediction.uncertainty, seconds)
                )

    def _locked(self, callback: Callable[..., None] | None) -> Callable[..., None] | None:
        if callback is None:
            return None

        def call(*args: object) -> None:
            with self.lock:
                callback(*args)

        return call


def _merge(parts: list[FolderPrediction]) -> FolderPrediction:
    """The results of every process as one."""
    merged = FolderPrediction()
    for part in parts:
        merged.uncertainties.update(part.uncertainties)
        merged.problems += part.problems
        merged.warnings += part.warnings
        merged.stopped = merged.stopped or part.stopped
    return merged


class _Stopped(Exception):
    """``should_stop`` said yes between two tiles."""


def _tiles_done(
    image: Path,
    on_tiles: Callable[[Path, int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    done: int,
    total: int,
) -> None:
    if on_tiles is not None:
        on_tiles(image, done, total)
    if should_stop is not None and done < total and should_stop():
        raise _Stopped


def write_uncertainties(out_dir: Path, uncertainties: dict[Path, float]) -> None:
    """``uncertainty.json``: image file names with their uncertainty, most uncertain first."""
    ranked = rank_by_uncertainty(uncertainties)
    rows = [{"image": p.name, "uncertainty": _finite_or_none(uncertainties[p])} for p in ranked]
    text = json.dumps(rows, indent=1, allow_nan=False)  # NaN is not JSON: other tools refuse it
    try:
        atomic_write(out_dir / UNCERTAINTY_FILE, lambda fh: fh.write(text.encode("utf-8")))
    except OSError as exc:
        raise SegGUIError(f"cannot write {out_dir / UNCERTAINTY_FILE}: {exc.strerror or exc}") from exc


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def rank_by_uncertainty(uncertainties: dict[Path, float], exclude: set[Path] | None = None) -> list[Path]:
    """Images from most to least uncertain (ties by name), leaving out ``exclude``."""
    exclude = exclude or set()
    candidates = [p for p in uncertainties if p not in exclude]
    return sorted(candidates, key=lambda p: (-uncertainties[p], p.name))
