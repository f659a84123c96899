"""U-Net architecture configs and named presets (torch-free, so the GUI thread can read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

NORMS = ("batch", "group", "instance", "none")
UPSAMPLINGS = ("transpose", "bilinear")


@dataclass(frozen=True)
class UNetConfig:
    """Everything needed to rebuild a U-Net; saved in every checkpoint."""

    in_channels: int = 1
    num_classes: int = 2
    depth: int = 4
    base_channels: int = 16
    norm: str = "batch"
    upsampling: str = "transpose"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2 (background + one), got {self.num_classes}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if self.base_channels < 4:
            raise ValueError(f"base_channels must be >= 4, got {self.base_channels}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {self.upsampling!r}")

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (one halving per level)."""
        return 2**self.depth

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> UNetConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)  # type: ignore[arg-type]


PRESETS: dict[str, UNetConfig] = {
    # The classic tutorial shape: one 64-channel level, a 128-channel bottleneck,
    # one transposed-conv up-step; ends in a plain 1x1 head (no ReLU before the loss).
    "seed": UNetConfig(depth=1, base_channels=64, norm="none", upsampling="transpose"),
    # Fast interactive default, chosen by benchmarks/engine.py on a 2-core laptop CPU.
    "fast": UNetConfig(depth=4, base_channels=16, norm="batch", upsampling="transpose"),
    # Larger model for GPUs.
    "large": UNetConfig(depth=5, base_channels=32, norm="batch", upsampling="transpose"),
}
DEFAULT_PRESET = "fast"


def preset(name: str, **overrides: object) -> UNetConfig:
    """The named preset's config with ``overrides`` applied (e.g. ``num_classes=3``)."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
    return replace(base, **overrides)  # type: ignore[arg-type]
