"""A bioimage.io model package predicting as SegGUI's own models do (``Predictor``'s interface:
``predict`` and ``channel_problem``), its pre- and postprocessing run by bioimageio.core. Only a
package whose output is a per-class map of a 2-D image is used; any other is refused with what
it is and why."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from model.classes import ClassInfo, distinct_color
from model.errors import SegGUIError
from model.prediction.predict import Prediction, without_nodata
from model.storage.intensity import channel_count, channel_problem

PACKAGE_SUFFIXES = (".zip", ".yaml")


def is_package(path: str | Path) -> bool:
    """A bioimage.io package by its name: ``NAME.zip``, or its ``rdf.yaml`` / ``bioimageio.yaml``."""
    return Path(path).suffix.lower() in PACKAGE_SUFFIXES


class PackagePredictor:
    """Predicts raw images with a bioimage.io package (``path``: its zip or description)."""

    def __init__(self, path: str | Path) -> None:
        from bioimageio.core import load_model_description

        self.path = Path(path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = load_model_description(self.path)
        except Exception as exc:  # bioimageio raises its own and pydantic's errors for a bad package
            raise SegGUIError(
                f"{self.path}: not a bioimage.io model package SegGUI can read ({exc})"
            ) from exc
        self.model = model
        self.in_channels, self.classes = _check_usable(self.path, model)
        self.picked: tuple[int, ...] = ()
        self._pipeline = None

    def channel_problem(self, image_channels: int) -> str | None:
        return channel_problem(image_channels, (), self.in_channels)

    def predict(
        self,
        raw: np.ndarray,
        *,
        probabilities: bool = False,
        on_tiles=None,
        intensity=None,
        nodata: np.ndarray | None = None,
    ) -> Prediction:
        """The package's prediction of ``raw`` (H x W [x C], the file's values); its own
        preprocessing normalises it (``intensity`` is SegGUI's, not used)."""
        from bioimageio.core import create_prediction_pipeline, predict

        problem = self.channel_problem(channel_count(raw))
        if problem is not None:
            raise SegGUIError(f"the image {problem}")
        image = raw if raw.ndim == 3 else raw[..., None]
        tensor = np.moveaxis(image, -1, 0)[None].astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._pipeline is None:
                self._pipeline = create_prediction_pipeline(self.model)
            sample = predict(model=self._pipeline, inputs=tensor)
        (output,) = sample.members.values()
        scores = np.asarray(output.data, np.float32)[0]
        if on_tiles is not None:
            on_tiles(1, 1)
        sums = scores.sum(axis=0)
        if scores.min() < 0 or not np.allclose(sums, 1.0, atol=1e-3):  # scores, not probabilities
            scores = np.exp(scores - scores.max(axis=0, keepdims=True))
            scores /= scores.sum(axis=0, keepdims=True)
        entropy = -(scores * np.log(np.maximum(scores, 1e-8))).sum(axis=0)
        scale = 255.0 / math.log(max(scores.shape[0], 2))
        heat = np.clip(np.round(entropy * scale), 0, 255).astype(np.uint8)
        prediction = Prediction(
            scores.argmax(axis=0).astype(np.uint8),
            scores.astype(np.float16) if probabilities else None,
            float(entropy.mean() / math.log(max(scores.shape[0], 2))),
            heat,
        )
        return without_nodata(prediction, nodata)


def _check_usable(path: Path, model) -> tuple[int, list[ClassInfo]]:
    """(input channels, classes) of a package SegGUI can use, else why not."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise SegGUIError(
            f"{path}: a model of {len(model.inputs)} inputs and {len(model.outputs)} outputs; SegGUI "
            "uses packages of one image in and one per-class map out"
        )
    (inputs,), (output,) = model.inputs, model.outputs
    in_kinds = [str(a.type) for a in inputs.axes]
    out_kinds = [str(a.type) for a in output.axes]
    if in_kinds.count("space") != 2 or out_kinds.count("space") != 2:
        raise SegGUIError(
            f"{path}: its tensors have axes {in_kinds} in and {out_kinds} out; SegGUI uses 2-D models (y, x)"
        )
    channel_in = next((a for a in inputs.axes if str(a.type) == "channel"), None)
    channel_out = next((a for a in output.axes if str(a.type) == "channel"), None)
    if channel_out is None:
        raise SegGUIError(
            f"{path}: its output has no channel axis (one value per pixel, such as instance labels); "
            "SegGUI uses packages whose output is a map per class"
        )
    names = [str(n) for n in channel_out.channel_names]
    if len(names) < 2:
        raise SegGUIError(
            f"{path}: its output has {len(names)} channel; SegGUI needs one per class, two or more"
        )
    colours: list[tuple[int, int, int]] = []
    classes = []
    for index, name in enumerate(names):
        colour = distinct_color(index, colours)
        colours.append(colour)
        classes.append(ClassInfo(name.replace("_", " "), colour))
    return (len(channel_in.channel_names) if channel_in is not None else 1), classes
