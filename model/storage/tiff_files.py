"""TIFF files as microscopes and satellites write them, read with tifffile: every channel, the
planes of a stack, the full bit depth, the channel names and the georeference.

Which size of a TIFF is channels and which planes comes from the file's own metadata (OME-XML,
ImageJ hyperstacks, tifffile's shape record with axes). A plain shape follows the rule of ``_settle_axes``;
a shape the rule cannot settle raises ``AxesUnsettled``, never a guess: the caller asks the user
and passes the answer as ``axes``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from model.errors import ImageReadError
from model.storage.geotiff import GeoTags, geo_tags_of
from model.storage.ome_zarr_images import is_ome_zarr, ome_zarr_header

TIFF_SUFFIXES = frozenset(
    "." + ext.rsplit(".", 1)[-1] for ext in (*tifffile.TIFF.FILE_EXTENSIONS, "gtif", "gtiff", "tiff")
)
"""Files read with tifffile: every TIFF-based format it reads by its own extension (``.svs``,
``.ndpi``, ``.scn``, ``.bif``, ``.qptiff``, ``.btf``, ``.tf8``, ``.ome.tif``...), and GeoTIFF's."""
MAX_CHANNELS = 64
MAX_PIXELS = 1 << 30
"""Largest image decoded whole (about 32768 x 32768); larger files get ``too_large``'s error."""


def too_large(path: Path, tiled: bool = False) -> ImageReadError:
    """The error for an image over ``MAX_PIXELS``: what to do with it instead. ``tiled``: the
    file is a tiled TIFF already, which the command line reads region by region."""
    if tiled:
        return ImageReadError(
            f"{path}: a slide of over {MAX_PIXELS:,} pixels, too large to decode whole; the window "
            "opens it as a slide, tile by tile, and the command line trains on it and predicts it "
            "region by region: seggui train-slide, seggui predict-slide"
        )
    return ImageReadError(
        f"{path}: image is larger than {MAX_PIXELS:,} pixels, too large to decode whole; save it "
        "as a tiled pyramidal TIFF (for example: vips tiffsave IN OUT.tif --tile --pyramid "
        "--compression jpeg) for seggui train-slide and predict-slide, or split it into tiles"
    )


PLAIN_CHANNELS_UP_TO = 6
"""A plain TIFF's one leading axis of up to this many is channels: two to six stains."""

_CHANNEL_AXES = "CSE"  # channel, sample, wavelength
_PLANE_AXES = "ZT"


class TiffHeaderError(ImageReadError):
    """A file named .tif whose header tifffile cannot parse (Pillow may still read it)."""


class AxesUnsettled(ImageReadError):
    """A TIFF whose shape does not say which size is channels and which planes."""

    def __init__(self, path: Path, shape: tuple[int, ...], choices: tuple[str, ...]) -> None:
        self.path = path
        self.shape = shape
        self.choices = choices
        sizes = " x ".join(str(n) for n in shape)
        super().__init__(
            f"{path}: a TIFF of {sizes} without axes in its metadata; which is channels and which "
            f"planes cannot be told from the shape. Say it once for the folder (Image > TIFF Axes..., "
            f"or --axes on the command line), for example {' or '.join(choices[:3])}"
        )


@dataclass(frozen=True)
class TiffLayout:
    """What one TIFF holds, from its header: axes in the file's order (``Y`` and ``X`` last
    but for a trailing ``S``; ``C`` channels, ``Z``/``T`` planes), sizes, dtype, names."""

    path: Path
    axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    settled_by: str
    """"metadata", "the rule", or "the folder's axes" (a user's answer)."""
    channel_names: tuple[str, ...]
    geo: GeoTags | None
    alpha: bool = False
    """The last sample is declared alpha (dropped, as for every other format)."""
    photographic: bool = False
    """A palette, bilevel, white-is-zero or rotated (EXIF orientation) image of one page:
    Pillow reads it, as every other photograph, colours and orientation applied."""

    @property
    def channels(self) -> int:
        """Channels as read (a declared alpha sample left out)."""
        count = int(np.prod([n for a, n in zip(self.axes, self.shape) if a == "C"], dtype=np.int64))
        return count - 1 if self.alpha else count

    @property
    def planes(self) -> int:
        return int(np.prod([n for a, n in zip(self.axes, self.shape) if a in _PLANE_AXES], dtype=np.int64))

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.shape[self.axes.index("X")], self.shape[self.axes.index("Y")]

    def describe(self) -> str:
        """ "2 channels (DAPI, GFP) of 16 bits, 10 planes, axes ZCYX from the file's metadata"."""
        bits = _dtype_words(self.dtype)
        parts = [f"{self.channels} channel{'s' if self.channels != 1 else ''}"]
        if any(self.channel_names):
            parts[0] += f" ({', '.join(self.channel_names)})"
        parts[0] += f", {bits}"
        if self.alpha:
            parts[0] += f" (sample {self.channels + 1}, declared alpha, left out)"
        if self.planes > 1:
            parts.append(f"{self.planes} planes")
        return f"{', '.join(parts)}; axes {self.axes} from {self.settled_by}"


def _dtype_words(dtype: np.dtype) -> str:
    """ "16-bit integer", "32-bit float", "64-bit complex": a pixel type in a user's words."""
    kind = {"f": "float", "c": "complex", "b": "true/false"}.get(dtype.kind, "integer")
    return f"{dtype.itemsize * 8}-bit {kind}"


def is_tiff(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in TIFF_SUFFIXES


PLANE_PREFIX = "plane-"
"""Planes 2, 3, ... of a stack ``a.tif`` are the images ``a.tif/plane-2``, ``a.tif/plane-3``:
paths below the file, which no real file can have (a file holds no folder), so every part of
SegGUI keys, lists, saves and reads them as images of their own; plane 1 is the file itself, so a
mask painted on it before stacks had planes stays its mask."""


def plane_path(stack: Path, plane: int) -> Path:
    """The image that is plane ``plane`` (from 0) of ``stack``."""
    return stack if plane == 0 else stack / f"{PLANE_PREFIX}{plane + 1}"


def split_plane(path: Path) -> tuple[Path, int]:
    """``(file, plane from 0)`` of an image path (``plane_path``'s inverse): a plane of a TIFF
    stack, or of an OME-Zarr (``*.zarr``) with z or time."""
    name = path.name
    if name.startswith(PLANE_PREFIX) and name[len(PLANE_PREFIX) :].isdigit() and _holds_planes(path.parent):
        return path.parent, int(name[len(PLANE_PREFIX) :]) - 1
    return path, 0


def _holds_planes(path: Path) -> bool:
    return is_tiff(path) or path.name.lower().endswith(".zarr")


def image_title(path: Path, planes: int | None = None) -> str:
    """ "cells.tif", or "cells.tif, plane 3" (of 31) for a plane of a stack."""
    stack, plane = split_plane(path)
    if stack == path and (planes or 1) <= 1:
        return path.name
    return f"{stack.name}, plane {plane + 1}" + (f" of {planes}" if planes else "")


def expand_stacks(images: list[Path], axes: str | None = None) -> list[Path]:
    """``images`` with each stack's planes after it (``plane_path``), from the TIFF headers and
    OME-Zarr metadata. A TIFF whose header cannot be read, or whose axes the folder has not said
    yet, stays one image (opening it names the problem, or asks); so does a damaged OME-Zarr."""
    out: list[Path] = []
    for image in images:
        out.append(image)
        if is_ome_zarr(image):
            try:
                planes = ome_zarr_header(image).planes
            except ImageReadError:
                continue
            out.extend(plane_path(image, plane) for plane in range(1, planes))
        if not is_tiff(image):
            continue
        try:
            layout = tiff_layout(image, axes)
        except ImageReadError:
            continue
        if not layout.photographic:
            out.extend(plane_path(image, plane) for plane in range(1, layout.planes))
    return out


@dataclass(frozen=True)
class _Header:
    """What one parse of a TIFF's header gives, before its axes are settled."""

    file_axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    channel_names: tuple[str, ...]
    geo: GeoTags | None
    alpha: bool
    photographic: bool


def _read_header(path: Path) -> _Header:
    """Parse ``path``'s header once (``TiffHeaderError`` if tifffile cannot)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series, first = tif.series[0], tif.pages[0]
            return _Header(
                series.axes,
                tuple(int(n) for n in series.shape),
                np.dtype(series.dtype),
                _channel_names(tif),
                geo_tags_of(first),
                any(v in (1, 2) for v in np.atleast_1d(first.extrasamples)) and "S" in series.axes,
                _photographic(tif),
            )
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except Exception as exc:
        raise TiffHeaderError(f"{path}: not a TIFF tifffile can read ({type(exc).__name__}: {exc})") from exc


def tiff_layout(path: str | os.PathLike[str], axes: str | None = None) -> TiffLayout:
    """The layout of ``path`` (header only). ``axes`` is the folder's answer for shapes without
    metadata, such as ``"CYX"`` or ``"ZYX"``; it is used when its length fits the file."""
    path = Path(path)
    head = _read_header(path)
    if head.dtype.kind not in "buif":  # complex values have no one grey level: never a silent guess
        raise ImageReadError(
            f"{path}: holds {_dtype_words(head.dtype)} values, which SegGUI does not read as an image; "
            "save their magnitude (or real part) as a real-valued TIFF first"
        )
    settled, how = _settle_axes(path, head.file_axes, head.shape, axes)
    layout = TiffLayout(
        path, settled, head.shape, head.dtype, how, (), head.geo, head.alpha, head.photographic
    )
    if layout.channels > MAX_CHANNELS:
        raise ImageReadError(
            f"{path}: {layout.channels} channels; SegGUI takes up to {MAX_CHANNELS}. If they are planes "
            "of a stack, say so for the folder (Image > TIFF Axes..., or --axes)"
        )
    if len(head.channel_names) == layout.channels:
        layout = dataclasses.replace(layout, channel_names=head.channel_names)
    return layout


def tiff_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(width, height)`` of a TIFF tifffile reads (its Y and X are known whatever the other
    axes are); None for a photograph Pillow reads (``TiffLayout.photographic``)."""
    head = _read_header(Path(path))
    if head.photographic:
        return None
    return head.shape[head.file_axes.index("X")], head.shape[head.file_axes.index("Y")]


def _photographic(tif) -> bool:
    """A palette, bilevel, white-is-zero or rotated (EXIF orientation) image of one page."""
    first = tif.pages[0]
    orientation = first.tags.get(274)
    return len(tif.pages) == 1 and (
        first.photometric in (0, 3)
        or first.bitspersample == 1
        or (orientation is not None and orientation.value not in (0, 1))
    )


def _known_axes(file_axes: str) -> tuple[str, list[int]]:
    """tifffile's axes with channels as ``C``, and where the sizes of unknown meaning are."""
    unknown = [i for i, a in enumerate(file_axes) if a not in "YX" + _CHANNEL_AXES + _PLANE_AXES]
    return "".join("C" if a in _CHANNEL_AXES else a for a in file_axes), unknown


def axes_question(path: str | os.PathLike[str]) -> AxesUnsettled | None:
    """What a TIFF without axes in its metadata asks (its readings to choose from), or None
    when its metadata gives its axes; for changing a folder's answer."""
    path = Path(path)
    head = _read_header(path)
    if head.photographic:
        return None
    known, unknown = _known_axes(head.file_axes)
    return AxesUnsettled(path, head.shape, axes_choices(known, unknown)) if unknown else None


def _settle_axes(path: Path, file_axes: str, shape: tuple[int, ...], answer: str | None) -> tuple[str, str]:
    """The axes of a file as SegGUI reads them (``C``, ``Z``, ``T``, ``Y``, ``X``), and what said so.

    The rule: axes come from the file's metadata; samples per pixel are channels; without
    metadata one leading axis of 2 to ``PLAIN_CHANNELS_UP_TO`` is channels and the pages of
    colour or multi-sample images are planes; the folder's ``answer`` reads any other shape, and
    without one ``AxesUnsettled`` asks."""
    known, unknown = _known_axes(file_axes)
    if not unknown:
        return _check_axes(path, known, shape), "the file's metadata"
    if answer and len(answer) == len(shape):
        answer = answer.upper()
        if any(answer[i] != known[i] for i in range(len(known)) if i not in unknown):
            raise ImageReadError(
                f"{path}: the folder's axes {answer} do not fit this file, whose axes are {file_axes} "
                "(Q and I unknown); change the folder's axes (Image > TIFF Axes..., or --axes)"
            )
        return _check_axes(path, answer, shape), "the folder's axes"
    has_channels = "C" in known
    if len(unknown) == 1:
        size = shape[unknown[0]]
        guess = known[: unknown[0]] + ("Z" if has_channels else "C") + known[unknown[0] + 1 :]
        if has_channels or size <= PLAIN_CHANNELS_UP_TO:
            return _check_axes(path, guess, shape), "SegGUI's rule for plain TIFFs"
    raise AxesUnsettled(path, shape, axes_choices(known, unknown))


def is_axes_answer(text: str) -> bool:
    """Whether ``text`` is axes a folder's answer may hold: C, Z or T each at most once, then YX
    (and C after them for samples)."""
    axes = text.upper()
    return (
        bool(re.fullmatch(r"[CZT]{0,3}YXC?", axes))
        and all(axes.count(a) <= 1 for a in "ZT")
        and (axes.count("C") <= 1)
    )


def axes_choices(known: str, unknown: list[int]) -> tuple[str, ...]:
    """Readings of a shape's unknown axes: one of them as channels (unless the file has
    channels already) or none, the others planes (``T`` before ``Z`` when there are two)."""
    choices = []
    for channel_at in ([] if "C" in known else unknown) + [None]:
        axes = list(known)
        planes = [i for i in unknown if i != channel_at]
        for n, i in enumerate(planes):
            axes[i] = "T" if n == 0 and len(planes) > 1 else "Z"
        if channel_at is not None:
            axes[channel_at] = "C"
        choices.append("".join(axes))
    return tuple(choices)


def _check_axes(path: Path, axes: str, shape: tuple[int, ...]) -> str:
    if len(axes) != len(shape) or not re.fullmatch(r"[CZT]*YXC?", axes) or axes.count("C") > 1:
        if axes.count("C") == 2 and re.fullmatch(r"[CZT]*YXC", axes):
            return axes  # channels of colour samples (ImageJ's RGB hyperstacks): read as C x S channels
        raise ImageReadError(
            f"{path}: axes {axes} do not fit its shape {shape}; axes are letters C (channels), Z or T "
            "(planes), then Y and X, one per size"
        )
    return axes


def _channel_names(tif) -> tuple[str, ...]:
    """Channel names from OME-XML, or ImageJ's per-channel labels."""
    if tif.is_ome and tif.ome_metadata:
        pixels = re.search(r"<Pixels[^>]*>(.*?)</Pixels>", tif.ome_metadata, re.S)
        if pixels:
            names = re.findall(r"<Channel\b[^>]*?\bName=\"([^\"]*)\"", pixels.group(1))
            return tuple(names)
    return ()


def read_plane(layout: TiffLayout, plane: int = 0) -> np.ndarray:
    """Plane ``plane`` (from 0) of the TIFF ``layout`` describes, ``H x W`` (one channel) or
    ``H x W x C``, its own dtype kept."""
    import tifffile

    path = layout.path
    if not 0 <= plane < layout.planes:
        raise ImageReadError(f"{path}: has {layout.planes} planes, no plane {plane + 1}")
    width, height = layout.size
    if not (width and height):
        raise ImageReadError(f"{path}: the image has no pixels ({width} x {height})")
    if width * height > MAX_PIXELS:
        from model.storage.slide import is_slide

        raise too_large(path, tiled=is_slide(path))
    try:
        with tifffile.TiffFile(path) as tif:
            data, axes = _plane_pages(tif, layout, plane)
    except MemoryError:
        raise
    except Exception as exc:
        raise ImageReadError(f"{path}: {_why_tiff_undecodable(exc)}") from exc
    image = arrange(data, axes, 0 if axes != layout.axes else plane)
    if layout.alpha:
        image = np.ascontiguousarray(image[..., :-1] if image.shape[2] > 2 else image[..., 0])
    return image


def _plane_pages(tif, layout: TiffLayout, plane: int) -> tuple[np.ndarray, str]:
    """The pages holding ``plane`` (every channel of it), and their axes; the whole series
    when its planes are not pages of their own (a plane of a 31-plane stack reads 1/31 of it)."""
    series = tif.series[0]
    page_dims = len(series.keyframe.shape)
    lead = tuple(int(n) for n in series.shape[: len(series.shape) - page_dims])
    lead_axes = layout.axes[: len(lead)]
    pages = len(series.pages)
    if layout.planes == 1 or not lead or int(np.prod(lead)) != pages or set(lead_axes) - set("CZT"):
        return series.asarray(maxworkers=1), layout.axes
    plane_at = [i for i, a in enumerate(lead_axes) if a == "T"] + [
        i for i, a in enumerate(lead_axes) if a == "Z"
    ]
    where = np.unravel_index(plane, [lead[i] for i in plane_at])
    index = [slice(None)] * len(lead)
    for i, coordinate in zip(plane_at, where):
        index[i] = int(coordinate)
    numbers = np.arange(pages).reshape(lead)[tuple(index)]
    kept = "".join(a for i, a in enumerate(lead_axes) if i not in plane_at)
    stacked = tif.asarray(key=numbers.ravel().tolist(), series=0, maxworkers=1)
    data = stacked.reshape(*numbers.shape, *series.keyframe.shape)
    return data, kept + layout.axes[len(lead) :]


def arrange(data: np.ndarray, axes: str, plane: int = 0) -> np.ndarray:
    """``data`` of ``axes`` as one plane, ``H x W`` or ``H x W x C``."""
    order = [i for i, a in enumerate(axes) if a == "T"] + [i for i, a in enumerate(axes) if a == "Z"]
    if order:
        stacked = np.moveaxis(data, order, list(range(len(order))))
        rest = "".join(a for a in axes if a not in "TZ")
        data = stacked.reshape(-1, *stacked.shape[len(order) :])[plane]
        axes = rest
    channel_at = [i for i, a in enumerate(axes) if a == "C"]
    spatial = [axes.index("Y"), axes.index("X")]
    data = np.moveaxis(data, spatial + channel_at, list(range(len(spatial) + len(channel_at))))
    if data.ndim > 3:
        data = data.reshape(data.shape[0], data.shape[1], -1)
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.dtype not in (np.uint8, np.uint16, np.float32):
        data = data.astype(np.float32)  # as Pillow's images come: signed and 32-bit values as float
    return np.ascontiguousarray(data)


def _why_tiff_undecodable(exc: Exception) -> str:
    detail = f"({type(exc).__name__}: {exc})"
    if "imagecodecs" in str(exc):
        return f"compressed with a codec this installation lacks: pip install imagecodecs {detail}"
    text = str(exc).lower()
    if isinstance(exc, (EOFError, ValueError)) and any(
        w in text for w in ("size", "truncat", "failed to read")
    ):
        return f"the file is cut short (an interrupted copy?): copy it again {detail}"
    return f"the TIFF is damaged and cannot be decoded: copy it again from where it came from {detail}"
