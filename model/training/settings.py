"""Training hyper-parameters, shared by the CLI, the app's project file and ``fit``."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, fields

from model.networks.config import AUTO_PRESET, DEFAULT_PRESET, PRESETS

LOSSES = ("ce+dice", "ce", "bce")
AUTO_WORKERS = -1
"""``num_workers`` value that lets ``model.training.data_loader.loader_workers`` choose."""


@dataclass(frozen=True)
class TrainSettings:
    """Training hyper-parameters; defaults suit interactive fine-tuning on a laptop CPU."""

    preset: str = DEFAULT_PRESET
    epochs: int = 30
    max_steps: int | None = None
    time_budget_s: float | None = None
    """Stop after this many seconds of wall-clock time from the first step (validation and
    previews included; loading the images before it is not)."""
    batch_size: int = 4
    """Small batches: more updates from the same crops (measured better on a CPU than 8 or 16)."""
    crop_size: int = 128
    learning_rate: float = 7.5e-4
    encoder_lr_scale: float = 0.1
    """A pretrained encoder is fine-tuned at this fraction of ``learning_rate``."""
    encoder_warmup: float = 0.5
    """For this fraction of a run a pretrained encoder stays frozen (its backward pass skipped:
    steps twice as fast on a CPU) while the new decoder learns; then it is fine-tuned too.
    Measured on CamVid, 3 min: 0.5 gave mean IoU 0.571, 0.25 0.524, none 0.520."""
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    loss: str = "ce+dice"
    class_balance: float = 0.5
    """Weight the cross-entropy by ``(median / class pixels) ** class_balance``: 0 weighs every
    pixel alike, 0.5 softened median frequency balancing, 1 full balancing. Used with three or
    more classes: measured on CamVid (11 classes, 3 min, lite0), 0 gave mean IoU 0.405 with five
    classes never predicted, 0.3 0.482, 0.5 0.520, 1.0 0.450 (the frequent classes suffer); on
    the two-class membranes (fast, 3 min) 0.5 cost 0.006 (0.785 against 0.791), where the Dice
    term already balances the two."""
    augment: bool = True
    scale_range: tuple[float, float] = (1.0, 1.0)
    """Random zoom of training crops; off by default (it slowed learning on fixed-scale data)."""
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    num_workers: int = AUTO_WORKERS
    """Processes cutting training crops; ``AUTO_WORKERS`` (-1): none on a CPU, up to 8 on a GPU."""
    cache_mb: int = 0
    """Memory for decoded training images read from disk; 0: a sixteenth of this machine's
    memory, between 256 MB and 4 GB (``model.storage.image_cache.default_cache_bytes``)."""
    threads: int = 0
    """torch's CPU threads while training; 0 chooses them by timing steps (``model.compute.threads``)."""
    ema_decay: float = 0.995
    """Weight averaging for evaluation and the saved model; 0 turns it off."""
    channels: tuple[int, ...] = ()
    """The image channels the network reads, counted from 1 as the Channels dock shows them, in
    this order (``(1, 2, 4)``); empty: every channel. Recorded in the model, which reads the same
    channels of the images it predicts."""

    def __post_init__(self) -> None:
        _check_types(self)
        if self.preset not in PRESETS and self.preset != AUTO_PRESET:
            choices = [AUTO_PRESET, *sorted(PRESETS)]
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {choices}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.batch_size < 1 or self.crop_size < 16 or self.epochs < 1:
            raise ValueError("batch_size must be >= 1, crop_size >= 16 and epochs >= 1")
        if self.num_workers < AUTO_WORKERS or self.cache_mb < 0:
            raise ValueError("num_workers must be >= -1 (-1: automatic) and cache_mb >= 0 (0: automatic)")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0: automatic), got {self.threads}")
        if not 0.0 <= self.encoder_warmup <= 1.0 or not 0.0 <= self.class_balance <= 2.0:
            raise ValueError("encoder_warmup must be in [0, 1] and class_balance in [0, 2]")
        if not 0.0 < self.encoder_lr_scale <= 10.0:
            raise ValueError(f"encoder_lr_scale must be in (0, 10], got {self.encoder_lr_scale}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} must lie in [{low:g}, {high:g}], got {value!r}")
        if len(set(self.channels)) != len(self.channels) or not all(1 <= c <= 64 for c in self.channels):
            raise ValueError(
                f"channels must be different channel numbers from 1 to 64, got {list(self.channels)}"
            )
        low_zoom, high_zoom = self.scale_range
        if not 0.1 <= low_zoom <= high_zoom <= 10.0:
            raise ValueError(f"scale_range must be zooms 0.1 <= low <= high <= 10, got {self.scale_range}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TrainSettings:
        """Settings from a project file or checkpoint (unknown keys ignored). A value of the
        wrong type, not finite or out of range raises ``ValueError`` naming the field."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("scale_range", "channels"):
            if isinstance(known.get(name), list):
                known[name] = tuple(known[name])  # type: ignore[arg-type]
        return cls(**known)  # type: ignore[arg-type]


_RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 1_000_000),
    "max_steps": (1, 1_000_000_000),
    "time_budget_s": (1.0, 366 * 24 * 3600.0),
    "batch_size": (1, 4096),
    "crop_size": (16, 8192),
    "learning_rate": (1e-9, 10.0),
    "weight_decay": (0.0, 10.0),
    "seed": (0, 2**63 - 1),
    "num_workers": (AUTO_WORKERS, 256),
    "cache_mb": (0, 1 << 30),
    "threads": (0, 4096),
    "ema_decay": (0.0, 0.99999),
}
"""Bounds of the numeric settings a project file may hold (a crop of 1e12 pixels, say)."""


def _check_types(settings: TrainSettings) -> None:
    """Raise ``ValueError`` naming the first field whose value is not of its declared type:
    whole numbers for ``int`` (not true/false), finite numbers for ``float``, true/false for
    ``bool``, text for ``str``, a pair of numbers for ``scale_range``; None where allowed."""
    hints = typing.get_type_hints(TrainSettings)
    for item in fields(settings):
        value = getattr(settings, item.name)
        hint = hints[item.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        allowed = typing.get_args(hint) if union else (hint,)
        if value is None and type(None) in allowed:
            continue
        if not any(_is_of(value, kind) for kind in allowed if kind is not type(None)):
            wanted = " or ".join(_NAMES.get(kind, str(kind)) for kind in allowed)
            raise ValueError(f"{item.name} must be {wanted}, not {value!r}")


def _is_of(value: object, kind: object) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is str:
        return isinstance(value, str)
    if kind == tuple[int, ...]:
        return isinstance(value, tuple) and all(_is_of(v, int) for v in value)
    if typing.get_origin(kind) is tuple:
        return isinstance(value, tuple) and len(value) == 2 and all(_is_of(v, float) for v in value)
    return False


_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a finite number",
    str: "a text",
    type(None): "null",
    tuple[float, float]: "a pair of numbers",
    tuple[int, ...]: "a list of whole numbers",
}
