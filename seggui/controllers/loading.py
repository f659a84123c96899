"""Opening an image and its mask off the GUI thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.compute.memory import release_freed_memory
from model.errors import SegGUIError
from model.storage.atomic import file_stamp
from model.storage.imageio import read_image, read_mask
from model.storage.intensity import channel_count
from model.storage.tiff_files import TiffLayout, is_tiff, read_plane, split_plane, tiff_layout
from seggui.rendering.composite import ChannelView, carried_views, channel_statistics, composite
from seggui.rendering.labels import render_labels, rgb_qimage
from seggui.state.loaded_image import LoadedImage


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
        limits, channel_histograms = channel_statistics(raw)
        views = carried_views(previous_views, limits, layout.channel_names if layout else ())
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
        _description(raw, layout),
        layout.planes if layout is not None else 1,
    )


def _description(raw: np.ndarray, layout: TiffLayout | None) -> str:
    height, width = raw.shape[:2]
    if layout is not None:
        return f"{width} x {height}, {layout.describe()}"
    channels = channel_count(raw)
    kind = {1: "grey", 3: "colour"}.get(channels, f"{channels} channels")
    return f"{width} x {height}, {kind}, {raw.dtype.itemsize * 8}-bit"
