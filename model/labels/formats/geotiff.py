"""Index GeoTIFFs: each pixel its class number (255 not labelled, the nodata value), with the
class palette and, for an image that is a GeoTIFF, its georeference, so QGIS and rasterio
place the mask exactly over the image. Read back by the ``masks`` import, as index PNGs are."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.labels.formats.base import LabelFormat
from model.labels.label_formats import ExportContext
from model.storage.geotiff import GeoTags, read_geo_tags
from model.storage.imageio import write_geotiff_mask
from model.storage.tiff_files import is_tiff, split_plane


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    source = split_plane(image)[0]
    geo = read_geo_tags(source) if is_tiff(source) else None
    path = ctx.root / f"{stem}.tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_geotiff_mask(path, np.ascontiguousarray(mask, np.uint8), ctx.classes, geo or GeoTags(()))


FORMAT = LabelFormat(
    name="geotiff",
    title="Index GeoTIFFs (pixel = class number, the image's georeference kept)",
    item_paths=lambda stem: [f"{stem}.tif"],
    write_item=_write,
)
