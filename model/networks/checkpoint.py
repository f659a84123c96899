"""One-file model checkpoints: weights, architecture, classes, normalisation and history.

Files are written atomically and read with ``torch.load(weights_only=True)``, so a model file
from elsewhere cannot run code when opened.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.classes import ClassInfo
from model.errors import ModelFileError, first_line
from model.networks.unet import SegmentationNet, UNetConfig, build_unet
from model.storage.atomic import atomic_write

FORMAT = "seggui-model"
VERSION = 1


@dataclass
class Checkpoint:
    """A trained (or initial) model and everything needed to use it on new images."""

    config: UNetConfig
    state_dict: dict[str, torch.Tensor]
    classes: list[ClassInfo]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    history: list[dict[str, object]] = field(default_factory=list)
    train_settings: dict[str, object] = field(default_factory=dict)
    input_channels: tuple[int, ...] = ()
    """The image channels the network reads, counted from 1, in order (``TrainSettings.channels``);
    empty: every channel of the image."""
    temperature: float = 1.0
    """Divides the logits before the softmax, so the probabilities' confidence matches how often
    the model was right on held-out strokes (``model.prediction.calibration``); the class map is the same."""

    def build_model(self) -> SegmentationNet:
        """A U-Net with these weights, in eval mode, on the CPU."""
        model = build_unet(self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def describe(self) -> str:
        """The network in words (``UNetConfig.describe``)."""
        return self.config.describe()

    def fingerprint(self) -> str:
        """A short digest of the weights, classes and inputs: the same for the same model, saved
        or not, so a prediction written by it can be known again (a slide's, resumed)."""
        digest = hashlib.blake2b(digest_size=10)
        digest.update(
            repr((self.config, self.class_names, self.mean, self.std, self.input_channels)).encode()
        )
        for name, tensor in sorted(self.state_dict.items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
            "classes": [c.to_dict() for c in self.classes],
            "normalization": {"mean": list(self.mean), "std": list(self.std)},
            "history": list(self.history),
            "train_settings": dict(self.train_settings),
            "temperature": float(self.temperature),
            "input_channels": list(self.input_channels),
        }


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically (the old file stays whole on any failure)."""
    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    data = buffer.getvalue()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(data))


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a SegGUI model file; ``ModelFileError`` names the file if it is anything else."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror or exc})") from exc
    if magic[:4] != b"PK\x03\x04" and magic[:1] != b"\x80":  # torch's zip format, or an old pickle
        what = "an empty file" if not magic else "not a PyTorch file at all"
        raise ModelFileError(f"{path}: not a SegGUI model file ({what})")
    try:
        with warnings.catch_warnings():  # foreign pickles warn about their protocol; we report below
            warnings.simplefilter("ignore", UserWarning)
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's text advises weights_only=False: not for users
        raise ModelFileError(
            f"{path}: not a SegGUI model file (it holds Python objects besides tensors, which are "
            "refused because opening them could run code)"
        ) from exc
    except Exception as exc:
        raise ModelFileError(
            f"{path}: not a SegGUI model file (could not be read safely: {first_line(exc)})"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not a SegGUI model file (no '{FORMAT}' marker; "
            "plain PyTorch state dicts and other tools' models cannot be opened)"
        )
    version = data.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(
            f"{path}: damaged SegGUI model file (format version {version!r} is not a number)"
        )
    if version > VERSION:
        raise ModelFileError(f"{path}: made by a newer SegGUI (format version {version}); please update")
    try:
        config = UNetConfig.from_dict(data["config"])
        checkpoint = Checkpoint(
            config=config,
            state_dict=dict(data["state_dict"]),
            classes=[ClassInfo.from_dict(c) for c in data["classes"]],
            mean=tuple(float(v) for v in data["normalization"]["mean"]),
            std=tuple(float(v) for v in data["normalization"]["std"]),
            history=list(data.get("history", [])),
            train_settings=dict(data.get("train_settings", {})),
            temperature=float(data.get("temperature", 1.0)),  # files before it: uncalibrated
            input_channels=tuple(int(v) for v in data.get("input_channels", [])),
        )
        build_unet(config).load_state_dict(checkpoint.state_dict)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: damaged SegGUI model file ({exc})") from exc
    if len(checkpoint.classes) != config.num_classes:
        raise ModelFileError(
            f"{path}: damaged SegGUI model file ({len(checkpoint.classes)} class names for "
            f"{config.num_classes} outputs)"
        )
    damage = _damage(checkpoint)
    if damage is not None:
        raise ModelFileError(f"{path}: damaged SegGUI model file ({damage}); train it again or use another")
    return checkpoint


def _damage(checkpoint: Checkpoint) -> str | None:
    """What makes a model that loads unusable: input normalisation that does not fit the
    network's channels, or is not finite, or divides by zero; weights that are NaN or infinite
    (such a model predicts one class everywhere, without a word)."""
    channels = checkpoint.config.in_channels
    mean, std = checkpoint.mean, checkpoint.std
    if len(mean) != channels or len(std) != channels:
        counts = f"{len(mean)} means and {len(std)} deviations"
        return f"its input normalisation has {counts} for {channels} channels"
    if not all(math.isfinite(v) for v in (*mean, *std)):
        return f"its input normalisation is not finite (mean {list(mean)}, deviation {list(std)})"
    if not all(v > 0 for v in std):
        return f"its input normalisation divides by a deviation of zero or less ({list(std)})"
    picked = checkpoint.input_channels
    if len(set(picked)) != len(picked) or not all(1 <= c <= 64 for c in picked):
        return f"the image channels it reads ({list(picked)}) are not different numbers from 1 to 64"
    if not (math.isfinite(checkpoint.temperature) and 0.01 <= checkpoint.temperature <= 100):
        return f"its temperature {checkpoint.temperature} is not a number from 0.01 to 100"
    for name, tensor in checkpoint.state_dict.items():
        floating = isinstance(tensor, torch.Tensor) and tensor.is_floating_point()
        if floating and not torch.isfinite(tensor).all():
            return f"its weights {name} hold NaN or infinite values"
    return None


def adapt_to_classes(checkpoint: Checkpoint, classes: list[ClassInfo]) -> Checkpoint:
    """``checkpoint`` with its head resized for ``classes`` (fine-tuning after classes were added).

    Classes are matched by position: existing outputs keep their weights, new ones start fresh.
    Removing classes is refused, since predictions of a class the project lost are meaningless.
    """
    old = checkpoint.config.num_classes
    new = len(classes)
    if new < old:
        raise ModelFileError(
            f"the model knows {old} classes ({', '.join(checkpoint.class_names)}) but the project "
            f"has {new}; train a new model or restore the removed classes"
        )
    if new == old:
        return Checkpoint(**{**checkpoint.__dict__, "classes": list(classes)})
    config = UNetConfig.from_dict({**checkpoint.config.to_dict(), "num_classes": new})
    fresh = build_unet(config).state_dict()
    state = dict(checkpoint.state_dict)
    for name in ("head.weight", "head.bias"):
        grown = fresh[name].clone()
        grown[:old] = state[name]
        state[name] = grown
    return Checkpoint(
        config=config,
        state_dict=state,
        classes=list(classes),
        mean=checkpoint.mean,
        std=checkpoint.std,
        history=list(checkpoint.history),
        train_settings=dict(checkpoint.train_settings),
        input_channels=checkpoint.input_channels,
        temperature=checkpoint.temperature,
    )


def check_classes(checkpoint: Checkpoint, classes: list[ClassInfo], source: str = "the model") -> str | None:
    """Whether ``checkpoint`` can serve a project with ``classes``; classes match by position.

    Raises ``ModelFileError`` when the model knows more classes than the project (its extra
    outputs would have no meaning). Returns a note for the user when the model knows fewer
    classes (training adds them) or the names differ (e.g. after a rename), else ``None``.
    """
    model_names, project_names = checkpoint.class_names, [c.name for c in classes]
    if len(model_names) > len(project_names):
        raise ModelFileError(
            f"{source} was trained for {len(model_names)} classes ({', '.join(model_names)}) but "
            f"this project has {len(project_names)} ({', '.join(project_names)}); "
            "train a new model or add the missing classes"
        )
    if len(model_names) < len(project_names):
        missing = ", ".join(project_names[len(model_names) :])
        return f"{source} does not know the classes {missing} yet; train to teach it"
    if model_names != project_names:
        pairs = ", ".join(f"{a} = {b}" for a, b in zip(model_names, project_names) if a != b)
        return f"{source} names its classes differently; matched by number: {pairs}"
    return None
