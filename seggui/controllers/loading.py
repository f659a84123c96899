"""Opening an image and its mask off the GUI thread; a slide too large to decode whole opens as
a slide (its reader, its chunked mask and an overview), never read whole."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.composite import ChannelView, Histogram, carried_views, channel_statistics, composite
from model.compute.memory import release_freed_memory
from model.compute.memory_budget import MemoryBudget
from model.errors import SegGUIError
from model.storage.atomic import file_stamp
from model.storage.chunked_mask import ChunkedMask, slide_mask_folder
from model.storage.imageio import read_image, read_mask
from model.storage.intensity import channel_count
from model.storage.nodata import nodata_pixels
from model.storage.ome_zarr_images import OmeZarrHeader, is_ome_zarr, ome_zarr_header
from model.storage.slide import SlideReader, TileCache, opens_as_slide
from model.storage.slide_masks import open_or_plan
from model.storage.tiff_files import TiffLayout, is_tiff, plane_path, read_plane, split_plane, tiff_layout
from seggui.rendering.labels import render_labels, rgb_qimage
from seggui.state.loaded_image import LoadedImage
from seggui.state.loaded_slide import LoadedSlide


def load_document(
    path: Path,
    mask_path: Path,
    classes: tuple[ClassInfo, ...],
    axes: str | None = None,
    previous_views: tuple[ChannelView, ...] = (),
    open_masks: dict[Path, ChunkedMask] | None = None,
    budget: MemoryBudget | None = None,
) -> LoadedImage | LoadedSlide:
    """``load_slide`` for a slide too large to decode whole, else ``load_image``; a slide's
    caches keep to ``budget``'s shares (the machine's default budget if None)."""
    source, plane = split_plane(path)
    if plane == 0 and opens_as_slide(source):
        folder = slide_mask_folder(mask_path)
        return load_slide(path, folder, previous_views, (open_masks or {}).get(folder), budget)
    return load_image(path, mask_path, classes, axes, previous_views)


def load_slide(
    path: Path,
    mask_folder: Path,
    previous_views: tuple[ChannelView, ...] = (),
    open_mask: ChunkedMask | None = None,
    budget: MemoryBudget | None = None,
) -> LoadedSlide:
    """Open the slide ``path`` and its chunked mask ``mask_folder`` (``open_mask`` if this
    window has it open already; planned, not written, if there is none yet): the reader, the
    smallest level drawn as the overview, the channel views from that level's statistics.
    Raises ``SegGUIError`` naming the file for one that cannot be shown so (no reduced level
    small enough to show whole)."""
    budget = budget or MemoryBudget.from_setting(0)
    reader = SlideReader(path, TileCache(budget.share("slide tiles")))
    try:
        overview = reader.overview()
        if overview is None:
            height, width = reader.shape
            raise SegGUIError(
                f"{path}: a {width:,} x {height:,} slide without a reduced level of at most "
                "4096 x 4096 pixels, which the window shows while finer tiles load; save it with a "
                "pyramid (for example: vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg)"
            )
        limits, histograms = channel_statistics(overview)
        views = carried_views(previous_views, limits)
        if open_mask is not None:
            mask, messages = open_mask, []
        else:
            mask, messages = open_or_plan(mask_folder, reader.shape, budget.share("slide masks"))
    except BaseException:
        reader.close()
        raise
    height, width = reader.shape
    kind = {1: "grey", 3: "colour"}.get(reader.channels, f"{reader.channels} channels")
    description = (
        f"{width:,} x {height:,} slide, {kind}, {reader.dtype.itemsize * 8}-bit, "
        f"{len(reader.levels)} levels; read tile by tile"
    )
    return LoadedSlide(
        path,
        mask_folder,
        reader,
        mask,
        overview,
        rgb_qimage(composite(overview, views)),
        views,
        histograms,
        description,
        tuple(messages),
    )


def load_image(
    path: Path,
    mask_path: Path,
    classes: tuple[ClassInfo, ...],
    axes: str | None = None,
    previous_views: tuple[ChannelView, ...] = (),
) -> LoadedImage:
    """Read ``path`` and its mask (or an empty mask), for a background job; raises
    ``SegGUIError`` for a bad image (``model.storage.tiff_files.AxesUnsettled`` for a TIFF whose axes the
    folder must say), having handed back what a huge decode held (``release_freed_memory``);
    running out of memory is said plainly. ``axes`` is the folder's answer; ``previous_views``
    how the last image was shown (``carried_views``)."""
    try:
        source, plane = split_plane(path)
        layout = tiff_layout(source, axes) if is_tiff(source) else None
        if layout is not None and layout.photographic:
            layout = None
        raw = read_plane(layout, plane) if layout is not None else read_image(path)
        zarr_header = ome_zarr_header(source) if layout is None and is_ome_zarr(source) else None
        nodata = nodata_pixels(path, raw)
        limits, channel_histograms = channel_statistics(raw, nodata)
        if layout is not None and layout.planes > 1:  # one set of limits for the stack, as Fiji's
            read = partial(read_plane, layout)
            limits = stack_limits(source, layout.planes, plane, raw, read, layout.axes)
        elif zarr_header is not None and zarr_header.planes > 1:
            read = lambda index: read_image(plane_path(source, index))  # noqa: E731
            limits = stack_limits(source, zarr_header.planes, plane, raw, read)
        names = layout.channel_names if layout else zarr_header.channel_names if zarr_header else ()
        views = carried_views(previous_views, limits, names)
        display = rgb_qimage(composite(raw, views))
        problem = None
        mask = np.full(raw.shape[:2], IGNORE_INDEX, np.uint8)
        stamp = file_stamp(mask_path)  # before reading: a change made after this is noticed on saving
        if stamp is not None:
            try:
                mask = read_mask(mask_path, shape=raw.shape[:2], num_classes=len(classes))
            except SegGUIError as exc:
                problem = str(exc)
        mask_image = render_labels(mask, classes)
    except SegGUIError:
        release_freed_memory()
        raise
    except MemoryError:
        release_freed_memory()
        raise SegGUIError(f"{path}: not enough memory to open this image") from None
    return LoadedImage(
        path,
        mask_path,
        raw,
        display,
        views,
        channel_histograms,
        mask,
        problem,
        mask_image,
        stamp,
        _description(raw, layout, channel_histograms, nodata, zarr_header),
        layout.planes if layout is not None else zarr_header.planes if zarr_header is not None else 1,
        layout is not None and layout.geo is not None,
        nodata,
    )


STACK_SAMPLE_PLANES = 5
"""Planes of a stack (the one opened among them) whose values set the stack's contrast limits."""


def stack_limits(
    stack: Path,
    planes: int,
    plane: int,
    raw: np.ndarray,
    read: Callable[[int], np.ndarray],
    reading: str = "",
) -> list[tuple[float, float]]:
    """The automatic contrast limits of a whole stack of ``planes`` (``raw``: its plane
    ``plane``; ``read(index)``: another plane; ``reading``: how the file is read, such as a
    TIFF's axes), from up to ``STACK_SAMPLE_PLANES`` planes spread over it: every plane is shown
    alike, so paging through the stack compares planes instead of stretching each (limits jumped
    from plane to plane)."""
    stamp = stack.stat()
    key = (stack, reading, stamp.st_mtime_ns, stamp.st_size)
    with _STACK_LOCK:
        known = _STACK_LIMITS.get(key)
    if known is not None:
        return list(known)
    picked = sorted({plane, *np.linspace(0, planes - 1, STACK_SAMPLE_PLANES).round().astype(int)})
    channels = channel_count(raw)
    samples = []
    for index in picked:
        values = raw if index == plane else read(int(index))
        flat = values.reshape(-1, channels)
        samples.append(flat[:: max(1, flat.shape[0] // 200_000)])
    stacked = np.concatenate(samples)
    limits = tuple(
        channel_statistics(stacked.reshape(-1, 1, channels) if channels > 1 else stacked[:, :1])[0]
    )
    with _STACK_LOCK:
        _STACK_LIMITS[key] = limits
        while len(_STACK_LIMITS) > 32:
            _STACK_LIMITS.pop(next(iter(_STACK_LIMITS)))
    return list(limits)


_STACK_LIMITS: dict[tuple, tuple[tuple[float, float], ...]] = {}
_STACK_LOCK = threading.Lock()


def _description(
    raw: np.ndarray,
    layout: TiffLayout | None,
    histograms: tuple[Histogram, ...] = (),
    nodata: np.ndarray | None = None,
    zarr_header: OmeZarrHeader | None = None,
) -> str:
    """ "512 x 512, 4 channels, 16-bit integer; ...; channel 4 is constant (10000); 12 % nodata"."""
    height, width = raw.shape[:2]
    if layout is not None:
        text = f"{width} x {height}, {layout.describe()}"
    else:
        channels = channel_count(raw)
        kind = {1: "grey", 3: "colour"}.get(channels, f"{channels} channels")
        text = f"{width} x {height}, {kind}, {raw.dtype.itemsize * 8}-bit"
        if zarr_header is not None:
            text += ", OME-Zarr" + (f", {zarr_header.describe_planes()}" if zarr_header.planes > 1 else "")
    constant = [(c, h.constant) for c, h in enumerate(histograms, 1) if h.constant is not None]
    for channel, value in constant:
        text += f"; channel {channel} is constant ({_number(value)}), it shows nothing"
    if nodata is not None:
        text += f"; {100 * nodata.mean():.3g} % nodata (never labelled)"
    return text


def _number(value: float) -> str:
    return f"{value:g}"
