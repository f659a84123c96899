"""Prediction on images of any size: overlapping tiles, smoothly blended, in bounded memory."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from model.classes import IGNORE_INDEX
from model.compute import distributed
from model.compute.device import choose_device
from model.compute.precision import autocast_dtype, precision_name
from model.networks.checkpoint import Checkpoint
from model.networks.inference import fold_batchnorm, fuse_conv_relu
from model.networks.package_model import PackageModel
from model.networks.unet import SegmentationNet
from model.storage.intensity import (
    ChannelMismatch,
    IntensityRange,
    channel_count,
    channel_problem,
    intensity_range,
    select_channels,
    to_channels,
)

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 48
SINGLE_PASS_PIXELS = 1024 * 1024
"""Images up to this many pixels are predicted in one pass (no seams, fewer FLOPs than tiles)."""


@dataclass(frozen=True)
class Prediction:
    """Class map (``H x W`` uint8), optional probabilities (``C x H x W`` float16), uncertainty.

    ``uncertainty`` is the mean normalised entropy of the class probabilities over the image:
    0 when the model is sure of every pixel, 1 when every pixel is a coin toss.
    ``uncertainty_map`` is that entropy per pixel, scaled to 0..255 (``H x W`` uint8).
    """

    classes: np.ndarray
    probabilities: np.ndarray | None
    uncertainty: float
    uncertainty_map: np.ndarray | None = None


def without_nodata(prediction: Prediction, nodata: np.ndarray | None) -> Prediction:
    """``prediction`` with the pixels that hold no data not labelled and sure (no class, no
    probability, nothing to correct), its uncertainty that of the other pixels."""
    if nodata is None or not nodata.any():
        return prediction
    classes = prediction.classes.copy()
    classes[nodata] = IGNORE_INDEX
    probabilities = prediction.probabilities
    if probabilities is not None:
        probabilities = probabilities.copy()
        probabilities[:, nodata] = 0
    uncertainty, heat = prediction.uncertainty, prediction.uncertainty_map
    if heat is not None:
        heat = heat.copy()
        heat[nodata] = 0
        valid = heat[~nodata]
        uncertainty = float(valid.mean()) / 255 if valid.size else 0.0
    return Prediction(classes, probabilities, uncertainty, heat)


class Predictor:
    """A model ready to predict raw images (any dtype, grey or colour, any size)."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        device: str | torch.device = "auto",
        *,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        batch_size: int = 4,
        fold: bool = True,
        precision: str = "auto",
    ) -> None:
        """``fold``: fold the batch norms into the convolutions (``fold_batchnorm``) and, on the
        CPU, compute each ReLU inside the convolution before it (``fuse_conv_relu``); off only
        to measure against. ``precision``: what the network computes in
        (``model.compute.precision.autocast_dtype``; ``auto`` is bfloat16 on a CPU with AMX)."""
        self.device = device if isinstance(device, torch.device) else choose_device(device)
        self.dtype = autocast_dtype(self.device, precision)
        """The 16-bit type the network autocasts to, or None for float32."""
        self.model = checkpoint.build_model().to(self.device).eval()
        if fold:
            fold_batchnorm(self.model)
            if self.device.type == "cpu":
                fuse_conv_relu(self.model)
        self.model = self.model.to(memory_format=torch.channels_last)
        self.in_channels = checkpoint.config.in_channels
        self.picked = checkpoint.input_channels
        """The image channels the model reads (counted from 1; empty: all)."""
        self.mean = checkpoint.mean
        self.std = checkpoint.std
        self.temperature = checkpoint.temperature
        self.tile = tile
        self.overlap = overlap
        self.batch_size = batch_size

    def predict(
        self,
        raw: np.ndarray,
        *,
        probabilities: bool = False,
        on_tiles: Callable[[int, int], None] | None = None,
        intensity: IntensityRange | None = None,
        nodata: np.ndarray | None = None,
    ) -> Prediction:
        """Predict one raw image as read by ``model.storage.imageio.read_image``; ``on_tiles(done, total)``
        follows the tiles of a large image (it may raise to stop). ``intensity``: the range to
        normalise with (default: the image's own, ``intensity_range``), for windows of a larger
        image that must all be normalised alike. ``nodata``: pixels the source says hold no data
        (``model.storage.nodata``), left out of the range and predicted as not labelled."""
        problem = self.channel_problem(channel_count(raw))
        if problem is not None:
            raise ChannelMismatch(f"the image {problem}")
        picked = select_channels(raw, self.picked)
        if intensity is None and nodata is not None:
            intensity = intensity_range(picked, nodata)
        prediction = predict_tiled(
            self.model,
            picked,
            in_channels=self.in_channels,
            mean=self.mean,
            std=self.std,
            device=self.device,
            tile=self.tile,
            overlap=self.overlap,
            batch_size=self.batch_size,
            return_probabilities=probabilities,
            on_tiles=on_tiles,
            temperature=self.temperature,
            precision=precision_name(self.dtype),
            intensity=intensity,
        )
        return without_nodata(prediction, nodata)

    def channel_problem(self, image_channels: int) -> str | None:
        """Why an image of ``image_channels`` channels cannot be predicted, or None."""
        return channel_problem(image_channels, self.picked, self.in_channels)


def machine_devices(preference: str | torch.device = "auto") -> list[torch.device]:
    """The devices prediction spreads over: every GPU of this machine for ``auto`` or ``cuda``
    (this process's own GPU under ``torchrun``, which shares images between processes), else
    the one device named."""
    device = preference if isinstance(preference, torch.device) else choose_device(preference)
    if device.type != "cuda" or device.index is not None:
        return [device]
    if distributed.launched_by_torchrun():
        return [distributed.local_device(device)]
    return [torch.device("cuda", index) for index in range(max(1, torch.cuda.device_count()))]


def machine_predictors(
    checkpoint: Checkpoint | PackageModel, preference: str | torch.device = "auto", **options: int
) -> list[Predictor]:
    """One ``Predictor`` per device of ``machine_devices`` (for ``predict_folder``); a bioimage.io
    package, one predictor on the first device (bioimageio.core runs it)."""
    devices = machine_devices(preference)
    if isinstance(checkpoint, PackageModel):
        from model.prediction.package_predictor import PackagePredictor

        return [PackagePredictor(checkpoint, str(devices[0]), **options)]  # type: ignore[list-item]
    return [Predictor(checkpoint, device, **options) for device in devices]


def tile_positions(length: int, tile: int, step: int) -> list[int]:
    """Tile start offsets covering ``length``; the last tile ends exactly at the border."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def blend_window(tile_h: int, tile_w: int, overlap: int) -> torch.Tensor:
    """Weights that fall smoothly to near zero over ``overlap`` pixels at each tile edge."""

    def ramp(n: int) -> torch.Tensor:
        w = torch.ones(n)
        m = min(overlap, n // 2)
        if m > 0:
            edge = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, m + 2)[1:-1])
            w[:m] = edge
            w[n - m :] = edge.flip(0)
        return w.clamp_min(1e-3)

    return ramp(tile_h)[:, None] * ramp(tile_w)[None, :]


def _pad_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad ``C x h x w`` to ``height x width`` at the bottom/right (reflect where possible)."""
    dh, dw = height - x.shape[-2], width - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    mode = "reflect" if dh < x.shape[-2] and dw < x.shape[-1] else "replicate"
    return F.pad(x[None], [0, dw, 0, dh], mode=mode)[0]


@torch.inference_mode()
def _run(
    model: SegmentationNet,
    batch: list[torch.Tensor],
    device: torch.device,
    temperature: float = 1.0,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    x = torch.stack(batch).to(device).contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        logits = model(x)
    if temperature != 1.0:
        logits = logits.float() / temperature
    return logits.float().softmax(dim=1)  # stays on the device: blending happens there too


def predict_tiled(
    model: SegmentationNet,
    raw: np.ndarray,
    *,
    in_channels: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device | None = None,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    batch_size: int = 4,
    return_probabilities: bool = False,
    single_pass_pixels: int = SINGLE_PASS_PIXELS,
    on_tiles: Callable[[int, int], None] | None = None,
    temperature: float = 1.0,
    precision: str = "auto",
    intensity: IntensityRange | None = None,
) -> Prediction:
    """Predict a raw image (``H x W`` or ``H x W x 3``, any dtype) tile by tile.

    An image of up to ``single_pass_pixels`` pixels is predicted in a single pass. Larger images are cut into
    ``tile``-sized windows overlapping by ``overlap`` pixels whose probabilities are blended with a
    smooth window. Rows of tiles are finished and released one at a time, so working memory is
    bounded by ``tile x width`` whatever the image height.
    """
    rng = intensity if intensity is not None else intensity_range(raw)
    mean_t = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[:, None, None]

    def read_tile(y: int, x: int, h: int, w: int) -> torch.Tensor:
        planes = to_channels(rng.to_unit(raw[y : y + h, x : x + w]), in_channels)
        return (torch.from_numpy(planes) - mean_t) / std_t

    return predict_planes(
        model,
        raw.shape[0],
        raw.shape[1],
        read_tile,
        device=device,
        tile=tile,
        overlap=overlap,
        batch_size=batch_size,
        return_probabilities=return_probabilities,
        single_pass_pixels=single_pass_pixels,
        on_tiles=on_tiles,
        temperature=temperature,
        precision=precision,
    )


def predict_standardised(
    model: SegmentationNet,
    planes: torch.Tensor,
    *,
    device: torch.device | None = None,
    tile: int = DEFAULT_TILE,
    probabilities: bool = False,
) -> Prediction:
    """Predict an already standardised ``C x H x W`` tensor (used for validation)."""

    def read_tile(y: int, x: int, h: int, w: int) -> torch.Tensor:
        return planes[:, y : y + h, x : x + w]

    return predict_planes(
        model,
        planes.shape[-2],
        planes.shape[-1],
        read_tile,
        device=device,
        tile=tile,
        return_probabilities=probabilities,
    )


def predict_planes(
    model: SegmentationNet,
    height: int,
    width: int,
    read_tile: Callable[[int, int, int, int], torch.Tensor],
    *,
    device: torch.device | None = None,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    batch_size: int = 4,
    return_probabilities: bool = False,
    single_pass_pixels: int = SINGLE_PASS_PIXELS,
    on_tiles: Callable[[int, int], None] | None = None,
    temperature: float = 1.0,
    precision: str = "auto",
) -> Prediction:
    """The tiling engine: ``read_tile(y, x, h, w)`` gives standardised ``C x h x w`` input.

    ``on_tiles(done, total)`` is called after each batch of tiles; an exception it raises stops
    the prediction (and propagates). ``precision`` as for ``Predictor``."""
    device = device or next(model.parameters()).device
    dtype = autocast_dtype(device, precision)
    was_training = model.training
    model.eval()
    multiple = model.config.size_multiple
    num_classes = model.config.num_classes
    single = height * width <= single_pass_pixels
    tile_h = _round_up(height, multiple) if height <= tile or single else tile
    tile_w = _round_up(width, multiple) if width <= tile or single else tile
    if tile_h % multiple or tile_w % multiple:
        raise ValueError(f"tile size {tile} must be a multiple of {multiple} for this model")
    overlap = min(overlap, tile_h // 2, tile_w // 2)
    ys = tile_positions(height, tile_h, tile_h - overlap)
    xs = tile_positions(width, tile_w, tile_w - overlap)
    window = blend_window(tile_h, tile_w, overlap if len(ys) * len(xs) > 1 else 0).to(device)

    classes = np.empty((height, width), dtype=np.uint8)
    entropy_map = np.empty((height, width), dtype=np.uint8)
    probs_out = np.empty((num_classes, height, width), dtype=np.float16) if return_probabilities else None
    entropy_sum = 0.0
    # The blend accumulator lives on the model's device: only class maps come back to the host.
    acc = torch.zeros((num_classes, tile_h, width), device=device)
    weight = torch.zeros((tile_h, width), device=device)
    top, done, total = 0, 0, len(ys) * len(xs)
    for y in ys:
        if y > top:  # rows [top, y) are complete: no later tile reaches them
            entropy_sum += _finish_rows(acc, weight, y - top, top, classes, entropy_map, probs_out)
            acc = torch.cat([acc[:, y - top :], acc.new_zeros((num_classes, y - top, width))], dim=1)
            weight = torch.cat([weight[y - top :], weight.new_zeros((y - top, width))], dim=0)
            top = y
        h_rows = min(tile_h, height - y)
        for start in range(0, len(xs), batch_size):
            placed = xs[start : start + batch_size]
            batch = [_pad_to(read_tile(y, x, tile_h, tile_w), tile_h, tile_w) for x in placed]
            probs = _run(model, batch, device, temperature, dtype)
            for x, p in zip(placed, probs):
                w_cols = min(tile_w, width - x)
                win = window[:h_rows, :w_cols]
                acc[:, :h_rows, x : x + w_cols] += p[:, :h_rows, :w_cols] * win
                weight[:h_rows, x : x + w_cols] += win
            done += len(placed)
            if on_tiles is not None:
                on_tiles(done, total)
    entropy_sum += _finish_rows(acc, weight, height - top, top, classes, entropy_map, probs_out)
    model.train(was_training)
    uncertainty = entropy_sum / (height * width * math.log(num_classes))
    return Prediction(classes, probs_out, float(uncertainty), entropy_map)


def _finish_rows(
    acc: torch.Tensor,
    weight: torch.Tensor,
    rows: int,
    top: int,
    classes: np.ndarray,
    entropy_map: np.ndarray,
    probs_out: np.ndarray | None,
) -> float:
    """Normalise the first ``rows`` rows of the accumulator into the outputs (the per-pixel
    entropy into ``entropy_map``); return the entropy's sum."""
    probs = acc[:, :rows] / weight[:rows].clamp_min(1e-8)
    entropy = -(probs * probs.clamp_min(1e-8).log()).sum(dim=0)
    scale = 255.0 / math.log(max(acc.shape[0], 2))
    entropy_map[top : top + rows] = (entropy * scale).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
    if probs_out is not None:
        # Classes from the saved float16 values, so the saved file's argmax is the saved mask
        # (float32 differences below float16's resolution would pick another class on ties).
        half = probs.to(torch.float16).cpu().numpy()
        probs_out[:, top : top + rows] = half
        classes[top : top + rows] = half.argmax(axis=0).astype(np.uint8)
    else:
        # max(dim=0).indices picks as argmax does (the first largest; NaN counts as largest) and
        # on the CPU took 5 ms where argmax(dim=0) took 186 ms for two classes at 1024 x 1024.
        classes[top : top + rows] = probs.max(dim=0).indices.to(torch.uint8).cpu().numpy()
    return float(entropy.sum())


def _round_up(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)
