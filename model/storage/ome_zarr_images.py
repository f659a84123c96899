"""OME-Zarr (NGFF) images as SegGUI reads them: a ``*.zarr`` folder whose metadata declares
multiscales (version 0.4 or 0.5), 2-D with or without channels; its full-resolution level is the
image. Read with zarr, the library OME-Zarr is written in; a z-stack, a time series or an image
too large to decode whole is refused with what it is and what to do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import ImageReadError

SUFFIX = ".zarr"


@dataclass(frozen=True)
class OmeZarrHeader:
    axes: str
    """The level's axis names in order, such as ``"cyx"`` or ``"tczyx"``."""
    shape: tuple[int, ...]
    dtype: np.dtype
    level: str
    """The full-resolution level's path inside the group (``"0"``, ``"s0"``)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.shape[self.axes.index("x")], self.shape[self.axes.index("y")]

    @property
    def channels(self) -> int:
        return self.shape[self.axes.index("c")] if "c" in self.axes else 1


def _attributes(folder: Path) -> dict | None:
    """The group attributes of a zarr folder (v3 ``zarr.json`` or v2 ``.zattrs``), None if none."""
    for name, pick in (("zarr.json", lambda d: d.get("attributes", {})), (".zattrs", lambda d: d)):
        try:
            return pick(json.loads((folder / name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError) as exc:
            raise ImageReadError(f"{folder}: its zarr metadata ({name}) cannot be read ({exc})") from exc
    return None


def is_ome_zarr(path: str | Path) -> bool:
    """A folder named ``*.zarr`` whose metadata declares NGFF multiscales."""
    folder = Path(path)
    if not folder.name.lower().endswith(SUFFIX) or not folder.is_dir():
        return False
    try:
        attributes = _attributes(folder)
    except ImageReadError:
        return True  # listed, so that opening it says what is wrong
    return attributes is not None and "multiscales" in attributes.get("ome", attributes)


def ome_zarr_header(path: str | Path) -> OmeZarrHeader:
    folder = Path(path)
    attributes = _attributes(folder) or {}
    multiscales = attributes.get("ome", attributes).get("multiscales")
    try:
        first = multiscales[0]
        level = str(first["datasets"][0]["path"])
        axes = "".join(str(a["name"] if isinstance(a, dict) else a).lower()[0] for a in first["axes"])
    except (TypeError, KeyError, IndexError) as exc:
        raise ImageReadError(f"{folder}: its OME-Zarr multiscales metadata is incomplete ({exc!r})") from exc
    import zarr

    try:
        array = zarr.open_array(str(folder / level), mode="r")
    except Exception as exc:  # zarr raises its own errors for a damaged array
        raise ImageReadError(f"{folder}: its level {level!r} cannot be opened ({exc})") from exc
    if len(axes) != array.ndim or "y" not in axes or "x" not in axes:
        raise ImageReadError(f"{folder}: axes {axes!r} do not fit its {array.ndim}-D level {level!r}")
    return OmeZarrHeader(axes, tuple(int(n) for n in array.shape), np.dtype(array.dtype), level)


def read_ome_zarr(path: str | Path, max_pixels: int) -> np.ndarray:
    """The full-resolution level as ``H x W`` or ``H x W x C``, its own dtype."""
    folder = Path(path)
    header = ome_zarr_header(folder)
    extra = {a: n for a, n in zip(header.axes, header.shape) if a not in "cyx" and n > 1}
    if extra:
        said = ", ".join(
            f"{n} {'planes (z)' if a == 'z' else 'time points' if a == 't' else a}" for a, n in extra.items()
        )
        raise ImageReadError(
            f"{folder}: an OME-Zarr with {said}; SegGUI opens 2-D OME-Zarr images (with channels): "
            "save the planes you label as 2-D images"
        )
    width, height = header.size
    if width * height > max_pixels:
        raise ImageReadError(
            f"{folder}: a {width:,} x {height:,} OME-Zarr is too large to open whole; SegGUI opens "
            "larger images as slides from tiled TIFF pyramids (for example: vips tiffsave IN OUT.tif "
            "--tile --pyramid)"
        )
    import zarr

    array = zarr.open_array(str(folder / header.level), mode="r")
    pixels = np.asarray(array[...])
    order = [header.axes.index(a) for a in header.axes if a not in "cyx"]
    pixels = pixels.reshape([n for a, n in zip(header.axes, pixels.shape) if a in "cyx"]) if order else pixels
    kept = "".join(a for a in header.axes if a in "cyx")
    if "c" in kept:
        pixels = np.moveaxis(pixels, kept.index("c"), -1)
        kept = kept.replace("c", "") + "c"
    if kept.startswith("x"):
        pixels = np.swapaxes(pixels, 0, 1)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return np.ascontiguousarray(pixels)


def read_label_image(path: str | Path, name: str | None = None) -> tuple[str, np.ndarray]:
    """An OME-Zarr's label image (``name``; else ``segmentation``, else the first listed) at
    full resolution, ``H x W`` uint8: (its name, its values)."""
    folder = Path(path)
    labels = _attributes(folder / "labels") if (folder / "labels").is_dir() else None
    names = [str(n) for n in (labels or {}).get("ome", labels or {}).get("labels", [])]
    if not names:
        raise ImageReadError(f"{folder}: holds no label image (no labels/ group listing one)")
    chosen = name or ("segmentation" if "segmentation" in names else names[0])
    header = ome_zarr_header(folder / "labels" / chosen)
    if not {a for a, n in zip(header.axes, header.shape) if n > 1} <= {"y", "x"}:
        raise ImageReadError(
            f"{folder}: its label image {chosen!r} is not 2-D (axes {header.axes}, shape {header.shape})"
        )
    import zarr

    values = np.asarray(zarr.open_array(str(folder / "labels" / chosen / header.level), mode="r")[...])
    values = values.reshape(header.shape[header.axes.index("y")], header.shape[header.axes.index("x")])
    if header.axes.index("x") < header.axes.index("y"):
        values = values.T
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ImageReadError(
            f"{folder}: its label image {chosen!r} holds values up to {values.max()}; SegGUI's classes "
            "are 0..254 (255: not labelled): an instance label image needs its objects mapped to classes"
        )
    return chosen, values.astype(np.uint8)
