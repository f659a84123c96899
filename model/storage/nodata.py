"""Pixels an image says hold no data: a GeoTIFF's GDAL nodata value, a declared alpha sample,
or GDAL's internal mask. Such pixels are never trained on, predicted, accepted or exported as a
class: they stay "not labelled" (``model.classes.IGNORE_INDEX``), as the source says they are.

A pixel is nodata where every channel holds the nodata value (rasterio's dataset mask: a pixel
with any valid band is valid), where the alpha sample is 0, or where the mask is 0.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import ImageReadError
from model.storage.tiff_files import is_tiff, split_plane

GDAL_NODATA = 42113
_MASK_SUBFILE = 4  # NewSubfileType bit of a transparency mask (GDAL_TIFF_INTERNAL_MASK)


@dataclass(frozen=True)
class NodataRule:
    """What one TIFF declares, from its header: a nodata value, an alpha sample, a mask page."""

    value: float | None = None
    alpha: bool = False
    mask_page: int | None = None

    @property
    def declared(self) -> bool:
        return self.value is not None or self.alpha or self.mask_page is not None


def nodata_rule(path: str | os.PathLike[str]) -> NodataRule:
    """The nodata a TIFF declares (nothing for other files), from its header alone."""
    source = split_plane(Path(path))[0]
    if not is_tiff(source):
        return NodataRule()
    import tifffile

    try:
        with tifffile.TiffFile(source) as tif:
            first = tif.pages[0]
            tag = first.tags.get(GDAL_NODATA)
            value = _parse_value(source, tag.value) if tag is not None else None
            alpha = any(v in (1, 2) for v in np.atleast_1d(first.extrasamples)) and first.samplesperpixel > 1
            mask_page = next(
                (
                    i
                    for i, page in enumerate(tif.pages[1:], 1)
                    if int(getattr(page, "subfiletype", 0)) & _MASK_SUBFILE
                    and page.shape[:2] == first.shape[:2]
                ),
                None,
            )
            return NodataRule(value, bool(alpha), mask_page)
    except (OSError, ValueError, tifffile.TiffFileError):
        return NodataRule()  # reading the image names what is wrong with the file


def _parse_value(path: Path, text: object) -> float | None:
    """GDAL keeps nodata as text ("0", "-9999", "nan"); text that is no number is named."""
    try:
        return float(str(text).strip().rstrip("\x00"))
    except ValueError:
        raise ImageReadError(f"{path}: its GDAL nodata tag {text!r} is not a number") from None


def nodata_pixels(
    path: str | os.PathLike[str], raw: np.ndarray, rule: NodataRule | None = None
) -> np.ndarray | None:
    """Where ``raw``, the image read from ``path`` (a plane of a stack included), holds no data
    (``H x W`` bool), or None when the file declares none or none of its pixels is nodata."""
    rule = nodata_rule(path) if rule is None else rule
    if not rule.declared:
        return None
    planes = raw if raw.ndim == 3 else raw[..., None]
    nodata = np.zeros(raw.shape[:2], bool)
    if rule.value is not None:
        if math.isnan(rule.value):
            nodata |= np.isnan(planes).all(axis=2) if planes.dtype.kind == "f" else False
        else:
            nodata |= (planes == rule.value).all(axis=2)
    for extra in _extra_masks(Path(path), raw.shape[:2], rule):
        nodata |= extra == 0
    return nodata if nodata.any() else None


def _extra_masks(path: Path, shape: tuple[int, ...], rule: NodataRule) -> list[np.ndarray]:
    """The alpha sample of the plane and the mask page, as read (either may be missing)."""
    if not (rule.alpha or rule.mask_page is not None):
        return []
    import tifffile

    source, plane = split_plane(path)
    found = []
    with tifffile.TiffFile(source) as tif:
        if rule.alpha:
            page = tif.pages[plane] if plane < len(tif.pages) else tif.pages[0]
            data = page.asarray(maxworkers=1)
            if data.ndim == 3 and data.shape[:2] == shape:  # samples last (contiguous)
                found.append(data[..., -1])
            elif data.ndim == 3 and data.shape[1:] == shape:  # separate sample planes
                found.append(data[-1])
        if rule.mask_page is not None:
            mask = tif.pages[rule.mask_page].asarray(maxworkers=1)
            if mask.shape[:2] == shape:
                found.append(mask if mask.ndim == 2 else mask[..., 0])
    return found
