"""One memory budget for everything the app keeps to be quick, split into fixed shares.

Each cache (decoded training images, the slide's decoded and coloured tiles, predictions of the
images shown, the masks and undo history of the images opened last, the chunks of slide masks
read) takes its share and drops its least recently used entries past it, so the caches together
stay within the budget whatever the images' size: a 100,000 x 100,000 slide is read tile by
tile within the same shares as a folder of 2,000 x 2,000 images. Outside the budget are what is
being worked on, not kept: the image on screen with its mask (an image is decoded whole only
below ``model.storage.tiff_files.MAX_PIXELS``; a slide never is), the network with its
optimiser while it trains, and the window being predicted.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.storage.image_cache import total_memory_bytes

MIB = 1 << 20
MIN_BYTES = 512 * MIB
MAX_DEFAULT_BYTES = 8192 * MIB
MACHINE_SHARE = 1 / 8
"""The default budget is this share of the machine's memory (3 GB of 24 GB)."""

SHARES: dict[str, tuple[float, str]] = {
    "training": (0.40, "decoded training images (the training cache)"),
    "slide tiles": (0.15, "decoded tiles of the slide on screen"),
    "slide display": (0.08, "coloured tiles of the slide, its mask and its prediction on screen"),
    "predictions": (0.17, "predictions of the images shown, with their overlays"),
    "recent masks": (0.12, "masks and undo history of the images opened last"),
    "slide masks": (0.08, "chunks of slide masks read"),
}
"""Each cache's share of the budget, and what it holds."""


def default_budget_bytes() -> int:
    """An eighth of the machine's memory, between 512 MB and 8 GB (2 GB if unknown)."""
    total = total_memory_bytes()
    if total is None:
        return 2048 * MIB
    return int(min(MAX_DEFAULT_BYTES, max(MIN_BYTES, total * MACHINE_SHARE)))


@dataclass(frozen=True)
class MemoryBudget:
    """``total_bytes`` split among the caches as ``SHARES`` says."""

    total_bytes: int

    def __post_init__(self) -> None:
        if self.total_bytes < MIN_BYTES:
            raise ValueError(
                f"a memory budget of at least {MIN_BYTES // MIB} MB, not {self.total_bytes // MIB} MB"
            )

    @classmethod
    def from_setting(cls, megabytes: int) -> MemoryBudget:
        """The budget a setting in MB asks for (0: the default for this machine)."""
        return cls(default_budget_bytes() if megabytes <= 0 else max(megabytes, MIN_BYTES // MIB) * MIB)

    def share(self, name: str) -> int:
        """The bytes of cache ``name`` (a key of ``SHARES``)."""
        return int(self.total_bytes * SHARES[name][0])

    def lines(self) -> list[str]:
        """Each share in words, as the settings state them."""
        return [f"{self.share(name) // MIB:,} MB: {what}" for name, (_, what) in SHARES.items()]
