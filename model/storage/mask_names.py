"""Which file name an image's mask (and prediction, and exported label) gets.

The rule, the same in the app, ``train``, ``predict``, export and import: an image's *key* is its
stem (``cell01.tif`` -> ``cell01``), so existing projects keep their masks. Images in one folder
whose stems differ only by extension (``a.png`` and ``a.jpg``) would share one mask, so each of
those is keyed by its whole name instead (``a.png`` -> ``a.png``, mask ``a.png.png``). Keys are
compared without case, as on Windows and macOS disks. An image whose key still collides with
another's (``a.png`` beside ``a.jpg`` and ``a.png.tif``) is refused with a message naming both.

Planes of a stack (``model.storage.tiff_files.plane_path``): plane 1 is the file and keeps its key; plane
*k* is keyed ``<file key>.z<k>`` with three digits (``stack.z002``, mask ``stack.z002.png``): one
mask file per plane, so a stroke saves one plane, the journal, conflict copies and recovery work
per file as for any image, and Fiji (File > Import > Image Sequence) or napari open the masks of
a stack as one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from model.storage.imageio import MASK_SUFFIX
from model.storage.tiff_files import PLANE_PREFIX, image_title, split_plane


def _folder_text(image: Path) -> str:
    text = str(image)
    return text[: len(text) - len(image.name)]


class MaskNames:
    """The key of each image of a folder listing, and the images refused for a colliding key."""

    def __init__(self, images: Iterable[Path]) -> None:
        listed = list(images)
        planes = [(image, *split_plane(image)) for image in listed if image.name.startswith(PLANE_PREFIX)]
        planes = [(image, stack, plane) for image, stack, plane in planes if plane > 0]
        plane_images = {image for image, _, _ in planes}
        images = [image for image in listed if image not in plane_images] if planes else listed
        folders = [_folder_text(image) for image in images]  # strings: hashing Paths is slow
        by_stem: dict[tuple[str, str], list[Path]] = defaultdict(list)
        for image, folder in zip(images, folders, strict=True):
            by_stem[(folder, image.stem.casefold())].append(image)
        keys = {}
        for group in by_stem.values():
            for image in group:
                keys[image] = image.stem if len(group) == 1 else image.name
        self.shared_stems: list[tuple[Path, ...]] = [tuple(g) for g in by_stem.values() if len(g) > 1]
        """Groups of images that share a stem (each got its whole name as key)."""
        for image, stack, plane in planes:
            keys[image] = f"{keys.get(stack, stack.stem)}.z{plane + 1:03d}"
            images.append(image)
            folders.append(_folder_text(stack))
        owner: dict[tuple[str, str], Path] = {}
        self.refused: dict[Path, str] = {}
        """Image -> why it has no mask name (its key collides with another image's)."""
        for image, folder in zip(images, folders, strict=True):
            slot = (folder, keys[image].casefold())
            other = owner.setdefault(slot, image)
            if other is not image:
                message = (
                    f"{image_title(image)} and {image_title(other)} would share the mask name "
                    f"{keys[image]}{MASK_SUFFIX}; rename one of them"
                )
                self.refused[image] = self.refused[other] = message
        self._keys = {image: key for image, key in keys.items() if image not in self.refused}

    def key(self, image: Path) -> str:
        """The name (without suffix) of ``image``'s mask; its stem for an image not in the listing."""
        key = self._keys.get(image)
        if key is not None:
            return key
        stack, plane = split_plane(image)
        return f"{stack.stem}.z{plane + 1:03d}" if plane else image.stem

    def mask_path(self, image: Path, mask_dir: Path) -> Path:
        """Where ``image``'s mask lives in ``mask_dir``."""
        return mask_dir / f"{self.key(image)}{MASK_SUFFIX}"

    def usable(self, images: Iterable[Path]) -> list[Path]:
        """``images`` less the refused ones, in order."""
        return [image for image in images if image not in self.refused]

    def orphaned_masks(self, mask_dir: Path) -> list[str]:
        """Messages for masks named by a shared stem (written before images got their own masks):
        no image uses them now, and which image they belonged to cannot be known."""
        messages = []
        for group in self.shared_stems:
            old = mask_dir / f"{group[0].stem}{MASK_SUFFIX}"
            if old.exists() and all(self.mask_path(image, mask_dir) != old for image in group):
                names = " and ".join(image.name for image in group)
                own = ", ".join(self.mask_path(image, mask_dir).name for image in group)
                messages.append(
                    f"{old}: {names} share this mask name, so each now has a mask of its own ({own}); "
                    f"this file is left as it was: rename it to the mask of the image it belongs to"
                )
        return messages
