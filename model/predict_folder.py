"""Predicting a list of images into a folder of index PNGs, with per-image uncertainty.

Used by ``seggui predict`` and by the app's "Predict all" (which runs it on a worker thread and
stops it through ``should_stop``). Predictions never go into the mask folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.atomic import atomic_write
from model.classes import ClassInfo
from model.errors import SegGUIError
from model.imageio import read_image, write_mask
from model.intensity import non_finite_pixels
from model.mask_names import MaskNames

if TYPE_CHECKING:  # importing torch is slow; the app's GUI thread ranks images without it
    from model.predict import Predictor

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
    predictor: Predictor,
    images: Sequence[Path],
    out_dir: Path,
    classes: list[ClassInfo],
    *,
    probabilities: bool = False,
    on_image: Callable[[ImagePredicted], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_tiles: Callable[[Path, int, int], None] | None = None,
) -> FolderPrediction:
    """Predict ``images`` into ``out_dir`` (index PNGs with the class palette, written atomically).

    Unreadable images are reported in ``problems`` and skipped. ``uncertainty.json`` in
    ``out_dir`` lists every image's uncertainty (highest first) when the run ends. A write that
    fails (read-only folder, full disk) raises ``SegGUIError`` naming the file. A large image
    reports its tiles through ``on_tiles(image, done, total)``, and ``should_stop`` is asked
    between its tiles as well, so stopping never waits for a whole huge image.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    result = FolderPrediction()
    names = MaskNames(images)
    for index, path in enumerate(images, 1):
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if path in names.refused:
            result.problems.append(f"{path}: {names.refused[path]}")
            continue
        start = time.perf_counter()
        try:
            raw = read_image(path)
        except SegGUIError as exc:
            result.problems.append(str(exc))
            continue
        bad = non_finite_pixels(raw)
        if bad:
            result.warnings.append(
                f"{path}: {bad} pixels are NaN or infinite; predicted as the darkest (NaN, -inf) or "
                "brightest (+inf) value"
            )
        try:
            prediction = predictor.predict(
                raw, probabilities=probabilities, on_tiles=partial(_tiles_done, path, on_tiles, should_stop)
            )
        except _Stopped:
            result.stopped = True
            break
        output = names.mask_path(path, out_dir)  # predictions are masks: same name rule
        try:
            write_mask(output, prediction.classes, classes)
            if prediction.probabilities is not None:
                probs = prediction.probabilities
                atomic_write(output.with_suffix(".npy"), lambda fh, p=probs: np.save(fh, p))
        except OSError as exc:
            raise SegGUIError(f"cannot write {output}: {exc.strerror or exc}") from exc
        result.uncertainties[path] = prediction.uncertainty
        if on_image is not None:
            on_image(
                ImagePredicted(
                    index, len(images), path, output, prediction.uncertainty, time.perf_counter() - start
                )
            )
    write_uncertainties(out_dir, result.uncertainties)
    return result


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
    text = json.dumps([{"image": p.name, "uncertainty": uncertainties[p]} for p in ranked], indent=1)
    try:
        atomic_write(out_dir / UNCERTAINTY_FILE, lambda fh: fh.write(text.encode("utf-8")))
    except OSError as exc:
        raise SegGUIError(f"cannot write {out_dir / UNCERTAINTY_FILE}: {exc.strerror or exc}") from exc


def rank_by_uncertainty(uncertainties: dict[Path, float], exclude: set[Path] | None = None) -> list[Path]:
    """Images from most to least uncertain (ties by name), leaving out ``exclude``."""
    exclude = exclude or set()
    candidates = [p for p in uncertainties if p not in exclude]
    return sorted(candidates, key=lambda p: (-uncertainties[p], p.name))
