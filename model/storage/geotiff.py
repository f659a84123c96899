"""GeoTIFF georeferencing: the tags that place an image on the Earth, read from a source TIFF
and written onto its masks, so QGIS and rasterio lay the mask exactly over the image."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from model.errors import ImageReadError

GEOTIFF_TAGS = {
    33550: "ModelPixelScale",
    33922: "ModelTiepoint",
    34264: "ModelTransformation",
    34735: "GeoKeyDirectory",
    34736: "GeoDoubleParams",
    34737: "GeoAsciiParams",
    42112: "GDAL_METADATA",
    42113: "GDAL_NODATA",
}
GEOREFERENCE_TAGS = (33550, 33922, 34264, 34735, 34736, 34737)
"""The tags that place an image on the Earth (GDAL_METADATA and nodata are not part of it)."""


@dataclass(frozen=True)
class GeoTags:
    """A GeoTIFF's georeferencing tags as stored: ``(code, tiff type, count, value)`` each."""

    tags: tuple[tuple[int, int, int, object], ...]

    def value(self, code: int) -> object | None:
        for tag_code, _, _, value in self.tags:
            if tag_code == code:
                return value
        return None

    def extratags(self) -> list[tuple[int, int, int, object, bool]]:
        """The tags in the form ``tifffile.imwrite(extratags=...)`` takes, nodata left out."""
        return [
            (code, dtype, 0 if dtype == 2 else count, value, True)
            for code, dtype, count, value in self.tags
            if code != 42113
        ]


def read_geo_tags(path: str | os.PathLike[str]) -> GeoTags | None:
    """The georeference of a GeoTIFF (None for a TIFF without one), whatever its axes."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return geo_tags_of(tif.pages[0])
    except Exception as exc:
        raise ImageReadError(f"{path}: not a TIFF tifffile can read ({type(exc).__name__}: {exc})") from exc


def geo_tags_of(page) -> GeoTags | None:
    """The georeferencing tags of a tifffile page, if it has any."""
    tags = []
    for code in GEOTIFF_TAGS:
        tag = page.tags.get(code)
        if tag is not None:
            tags.append((code, int(tag.dtype), int(tag.count), tag.value))
    return GeoTags(tuple(tags)) if any(code in GEOREFERENCE_TAGS for code, *_ in tags) else None


def write_palette_geotiff(
    path: str | os.PathLike[str], mask: np.ndarray, palette: np.ndarray, geo: GeoTags, nodata: int
) -> None:
    """Write an index mask as a palette GeoTIFF carrying ``geo`` (its own nodata: ``nodata``)."""
    import tifffile

    from model.storage.atomic import atomic_write

    colormap = np.zeros((3, 256), np.uint16)
    colormap[:, : palette.shape[0]] = palette.T.astype(np.uint16) * 257
    extratags = geo.extratags()
    if geo.tags:
        extratags.append((42113, 2, 0, str(nodata), True))

    def write(fh) -> None:
        encoded = io.BytesIO()  # tifffile takes a handle's name for a path; os.fdopen's is a number
        tifffile.imwrite(
            encoded, mask, photometric="palette", colormap=colormap, extratags=extratags, compression="zlib"
        )
        fh.write(encoded.getbuffer())

    atomic_write(path, write)
