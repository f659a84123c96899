"""OME-Zarr (NGFF) images as SegGUI reads them: a ``*.zarr`` folder whose metadata declares
multiscales (version 0.4 or 0.5), 2-D with or without channels, z-stacks and time series as stacks
of planes (``model.storage.tiff_files.plane_path``); its full-resolution level is the image. Read
with zarr, the library OME-Zarr is written in, one plane at a time; a plane too large to decode
whole is refused with what to do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import ImageReadError

SUFFIX = ".zarr"
AGAIN = "copy it again from where it came from, or write it again with the tool that made it"
"""What to do about an OME-Zarr that is damaged or cut short."""


@dataclass(frozen=True)
class OmeZarrHeader:
    axes: str
    """The level's axis names in order, such as ``"cyx"`` or ``"tczyx"``."""
    shape: tuple[int, ...]
    dtype: np.dtype
    level: str
    """The full-resolution level's path inside the group (``"0"``, ``"s0"``)."""
    channel_names: tuple[str, ...] = ()
    """The channels' labels from the ``omero`` metadata, when it names every channel."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.shape[self.axes.index("x")], self.shape[self.axes.index("y")]

    @property
    def channels(self) -> int:
        return self.shape[self.axes.index("c")] if "c" in self.axes else 1

    @property
    def plane_sizes(self) -> dict[str, int]:
        """The axes beside channels, y and x (time, z), in the file's order, with their sizes."""
        return {a: n for a, n in zip(self.axes, self.shape) if a not in "cyx"}

    @property
    def planes(self) -> int:
        """The 2-D planes (of every channel) it holds: its time points times its z planes."""
        return int(np.prod(list(self.plane_sizes.values()), dtype=np.int64))

    def describe_planes(self) -> str:
        """ "31 planes (z)", "5 time points x 31 planes (z)", or "" for a 2-D image."""
        words = {"z": "planes (z)", "t": "time points"}
        return " x ".join(f"{n} {words.get(a, a)}" for a, n in self.plane_sizes.items() if n > 1)


def _attributes(folder: Path) -> dict | None:
    """The group attributes of a zarr folder (v3 ``zarr.json`` or v2 ``.zattrs``), None if none."""
    for name, pick in (("zarr.json", lambda d: d.get("attributes", {})), (".zattrs", lambda d: d)):
        try:
            return pick(json.loads((folder / name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError) as exc:
            raise ImageReadError(
                f"{folder}: its zarr metadata ({name}) cannot be read ({exc}); {AGAIN}"
            ) from exc
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
        raise ImageReadError(
            f"{folder}: its OME-Zarr multiscales metadata is incomplete ({exc!r}); {AGAIN}"
        ) from exc
    import zarr

    try:
        array = zarr.open_array(str(folder / level), mode="r")
    except Exception as exc:  # zarr raises its own errors for a damaged array
        raise ImageReadError(f"{folder}: its level {level!r} cannot be opened ({exc}); {AGAIN}") from exc
    if len(axes) != array.ndim or "y" not in axes or "x" not in axes:
        raise ImageReadError(f"{folder}: axes {axes!r} do not fit its {array.ndim}-D level {level!r}")
    shape = tuple(int(n) for n in array.shape)
    channels = shape[axes.index("c")] if "c" in axes else 1
    omero = attributes.get("ome", attributes).get("omero") or attributes.get("omero") or {}
    labels = [str(c.get("label", "")) for c in omero.get("channels", []) if isinstance(c, dict)]
    names = tuple(labels) if len(labels) == channels and all(labels) else ()
    return OmeZarrHeader(axes, shape, np.dtype(array.dtype), level, names)


def ome_zarr_levels(path: str | Path) -> tuple[OmeZarrHeader, list]:
    """(the header, every level of the first multiscale as a zarr array, largest first), for
    reading a 2-D one region by region (``model.storage.slide.SlideReader``)."""
    folder = Path(path)
    header = ome_zarr_header(folder)
    if header.planes > 1:
        raise ImageReadError(
            f"{folder}: an OME-Zarr of {header.describe_planes()} is a stack; SegGUI reads a slide "
            "region by region only as one 2-D plane (with channels)"
        )
    attributes = _attributes(folder) or {}
    datasets = attributes.get("ome", attributes)["multiscales"][0]["datasets"]
    import zarr

    levels = []
    for dataset in datasets:
        try:
            array = zarr.open_array(str(folder / str(dataset["path"])), mode="r")
        except Exception as exc:  # zarr raises its own errors for a damaged array
            raise ImageReadError(
                f"{folder}: its level {dataset['path']!r} cannot be opened ({exc}); {AGAIN}"
            ) from exc
        if array.ndim != len(header.axes):
            raise ImageReadError(
                f"{folder}: its level {dataset['path']!r} has {array.ndim} axes, not {header.axes}"
            )
        levels.append(array)
    return header, levels


def read_zarr_window(array, axes: str, top: int, left: int, height: int, width: int) -> np.ndarray:
    """``height x width x channels`` of a 2-D OME-Zarr level from (``top``, ``left``), cut at its edges."""
    index = tuple(
        slice(top, top + height)
        if a == "y"
        else slice(left, left + width)
        if a == "x"
        else slice(None)
        if a == "c"
        else 0
        for a in axes
    )
    data = np.asarray(array[index])
    kept = "".join(a for a in axes if a in "cyx")
    if "c" not in kept:
        data, kept = data[..., None], kept + "c"
    return np.transpose(data, [kept.index(a) for a in "yxc"])


def read_ome_zarr(path: str | Path, max_pixels: int, plane: int = 0) -> np.ndarray:
    """Plane ``plane`` (from 0; time points then z, as the file orders them) of the
    full-resolution level as ``H x W`` or ``H x W x C``, its own dtype."""
    folder = Path(path)
    header = ome_zarr_header(folder)
    if not 0 <= plane < header.planes:
        raise ImageReadError(f"{folder}: holds {header.planes} plane(s), no plane {plane + 1}")
    width, height = header.size
    if width * height > max_pixels:
        where = (
            "the window opens it as a slide, region by region, and train-slide and predict-slide read it"
            if header.planes == 1
            else "SegGUI reads slides region by region only as one 2-D plane: save the planes you "
            "label as 2-D OME-Zarr images"
        )
        raise ImageReadError(
            f"{folder}: a {width:,} x {height:,} OME-Zarr is too large to open whole; {where}"
        )
    import zarr

    array = zarr.open_array(str(folder / header.level), mode="r")
    at = iter(np.unravel_index(plane, tuple(header.plane_sizes.values())) if header.plane_sizes else ())
    pixels = np.asarray(array[tuple(slice(None) if a in "cyx" else int(next(at)) for a in header.axes)])
    kept = "".join(a for a in header.axes if a in "cyx")
    if "c" in kept:
        pixels = np.moveaxis(pixels, kept.index("c"), -1)
        kept = kept.replace("c", "") + "c"
    if kept.startswith("x"):
        pixels = np.swapaxes(pixels, 0, 1)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return np.ascontiguousarray(pixels)


def _label_header(folder: Path, name: str | None) -> tuple[str, OmeZarrHeader]:
    """(name, header) of an OME-Zarr's label image ``name``; else ``segmentation``, else the first."""
    labels = _attributes(folder / "labels") if (folder / "labels").is_dir() else None
    names = [str(n) for n in (labels or {}).get("ome", labels or {}).get("labels", [])]
    if not names:
        raise ImageReadError(f"{folder}: holds no label image (no labels/ group listing one)")
    chosen = name or ("segmentation" if "segmentation" in names else names[0])
    header = ome_zarr_header(folder / "labels" / chosen)
    if header.channels != 1:
        raise ImageReadError(
            f"{folder}: its label image {chosen!r} has {header.channels} channels (axes {header.axes}); "
            "a label image holds one value per pixel"
        )
    return chosen, header


def label_planes(path: str | Path, name: str | None = None) -> int:
    """The planes (z, time) of an OME-Zarr's label image: 1 for a 2-D one."""
    return _label_header(Path(path), name)[1].planes


def read_label_image(path: str | Path, name: str | None = None, plane: int = 0) -> tuple[str, np.ndarray]:
    """Plane ``plane`` of an OME-Zarr's label image (``name``; else ``segmentation``, else the
    first listed) at full resolution, ``H x W`` uint8: (its name, its values)."""
    folder = Path(path)
    chosen = _label_header(folder, name)[0]
    values = read_ome_zarr(folder / "labels" / chosen, max_pixels=2**62, plane=plane)
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ImageReadError(
            f"{folder}: its label image {chosen!r} holds values up to {values.max()}; SegGUI's classes "
            "are 0..254 (255: not labelled): an instance label image needs its objects mapped to classes"
        )
    return chosen, values.astype(np.uint8)
