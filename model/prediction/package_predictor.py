"""A bioimage.io model package predicting as SegGUI's own models do (``Predictor``'s interface:
``predict``, ``channel_problem``, ``picked``). bioimageio.core runs the package's preprocessing
over the whole image, its weights tile by tile (tiles of a size the package accepts, blended
where they overlap, so any image size works) and its postprocessing."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np

from model.errors import SegGUIError
from model.networks.package_model import TILE_SIDE, PackageModel
from model.prediction.predict import (
    DEFAULT_OVERLAP,
    SINGLE_PASS_PIXELS,
    Prediction,
    blend_window,
    tile_positions,
    without_nodata,
)
from model.storage.intensity import channel_count, channel_problem


class PackagePredictor:
    """Predicts raw images with a package from ``model.networks.package_model.load_package``."""

    def __init__(
        self,
        package: PackageModel,
        device: str | None = None,
        tile: int = TILE_SIDE,
        overlap: int = DEFAULT_OVERLAP,
        single_pass_pixels: int = SINGLE_PASS_PIXELS,
    ) -> None:
        self.package = package
        self.classes = package.classes
        self.in_channels = package.in_channels
        self.picked: tuple[int, ...] = ()
        self.tile, self.overlap, self.single_pass_pixels = tile, overlap, single_pass_pixels
        self.device = device
        """The torch device the weights run on (None: bioimageio.core's choice)."""
        description = package.description
        (self._input,), (self._output,) = description.inputs, description.outputs  # type: ignore[attr-defined]
        self._pipeline = None
        self._lock = threading.Lock()  # one image at a time through the package's pipeline

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
        preprocessing normalises it (``intensity``, SegGUI's, is not used)."""
        from bioimageio.core.sample import Sample

        problem = self.channel_problem(channel_count(raw))
        if problem is not None:
            raise SegGUIError(f"the image {problem}")
        image = raw if raw.ndim == 3 else raw[..., None]
        height, width = image.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = self._pipeline_once()
            sample = Sample(
                members={self._input.id: self._tensor(np.moveaxis(image, -1, 0))}, stat={}, id="image"
            )
            pipeline.apply_preprocessing(sample)  # over the whole image: every tile scaled alike
            ready = self._channels_first(sample.members[self._input.id], self._input)
            scores = self._predict_tiles(pipeline, ready, sample.stat, on_tiles)[:, :height, :width]
        if scores.min() < 0 or not np.allclose(scores.sum(axis=0), 1.0, atol=1e-3):  # not probabilities
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

    def _pipeline_once(self):
        from bioimageio.core import create_prediction_pipeline

        if self._pipeline is None:
            devices = [self.device] if self.device is not None else None
            self._pipeline = create_prediction_pipeline(self.package.description, devices=devices)
        return self._pipeline

    def _predict_tiles(self, pipeline, ready: np.ndarray, stat, on_tiles) -> np.ndarray:
        """Class scores (classes x H x W, at least the tile's size) of the preprocessed image."""
        from bioimageio.core.sample import Sample

        _, height, width = ready.shape
        whole = height * width <= self.single_pass_pixels
        space = [axis for axis in self._input.axes if str(axis.type) == "space"]
        tile_h, tile_w = (self._tile_side(axis, side, whole) for axis, side in zip(space, (height, width)))
        pad_h, pad_w = max(tile_h - height, 0), max(tile_w - width, 0)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "edge"  # as our own Predictor pads
            ready = np.pad(ready, ((0, 0), (0, pad_h), (0, pad_w)), mode=mode)
        full_h, full_w = ready.shape[1:]
        overlap = min(self.overlap, tile_h // 4, tile_w // 4)
        rows = tile_positions(full_h, tile_h, tile_h - overlap)
        columns = tile_positions(full_w, tile_w, tile_w - overlap)
        blend = blend_window(tile_h, tile_w, overlap).numpy()
        total, done = len(rows) * len(columns), 0
        scores = np.zeros((len(self.classes), full_h, full_w), np.float32)
        weights = np.zeros((full_h, full_w), np.float32)
        for top in rows:
            for left in columns:
                block = ready[:, top : top + tile_h, left : left + tile_w]
                tile = Sample(members={self._input.id: self._tensor(block)}, stat=stat, id="tile")
                out = pipeline.predict_sample_without_blocking(tile, skip_preprocessing=True)
                (tensor,) = out.members.values()
                tile_scores = self._channels_first(tensor, self._output)
                if tile_scores.shape != (len(self.classes), tile_h, tile_w):
                    raise SegGUIError(
                        f"{self.package.path.name}: a {tile_h} x {tile_w} tile gave an output of shape "
                        f"{tile_scores.shape}; SegGUI needs one per class and pixel"
                    )
                scores[:, top : top + tile_h, left : left + tile_w] += tile_scores * blend
                weights[top : top + tile_h, left : left + tile_w] += blend
                done += 1
                if on_tiles is not None:
                    on_tiles(done, total)
        return scores / weights

    def _tile_side(self, axis, side: int, whole: bool) -> int:
        """The side along ``axis`` of the tiles: the package's fixed size, or the smallest size
        it accepts of at least the image's side (``whole``) or our tile's."""
        size = axis.size
        if isinstance(size, int):
            return size
        if not hasattr(size, "step"):
            raise SegGUIError(
                f"{self.package.path.name}: its input's {axis.id} size is given by another tensor; "
                "SegGUI gives a model one image"
            )
        wanted = side if whole else min(side, self.tile)
        steps = math.ceil(max(wanted - size.min, 0) / size.step) if size.step else 0
        return int(size.min + steps * size.step)

    def _tensor(self, channels_first: np.ndarray):
        """(channels, y, x) as the package's input tensor: its axes, in its order, a batch of one."""
        import xarray as xr
        from bioimageio.core.tensor import Tensor

        planes = xr.DataArray(channels_first.astype(np.float32, copy=False), dims=("_c", "_y", "_x"))
        spaces = iter(("_y", "_x"))
        names, order = {}, []
        for axis in self._input.axes:
            kind, name = str(axis.type), str(axis.id)
            if kind == "channel":
                names["_c"] = name
            elif kind == "space":
                names[next(spaces)] = name
            else:  # the batch
                planes = planes.expand_dims(name)
            order.append(name)
        if "_c" not in names:  # no channel axis: one channel
            planes = planes.isel(_c=0)
        return Tensor.from_xarray(planes.rename(names).transpose(*order))

    @staticmethod
    def _channels_first(tensor, described) -> np.ndarray:
        """A tensor as (channels, y, x) float32, in the order its description gives."""
        data = tensor.data
        channel = [str(a.id) for a in described.axes if str(a.type) == "channel"]
        space = [str(a.id) for a in described.axes if str(a.type) == "space"]
        others = [d for d in data.dims if str(d) not in channel + space]
        data = data.isel({d: 0 for d in others})
        if channel:
            return np.asarray(data.transpose(*channel, *space).values, np.float32)
        return np.asarray(data.transpose(*space).values, np.float32)[None]
