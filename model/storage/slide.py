"""Very large images read region by region: tiled and pyramidal TIFFs (OME-TIFF, SVS-style,
plain tiled or striped TIFF) and 2-D OME-Zarr images (their multiscales as the pyramid, a chunk
as a tile), decoded one tile or strip at a time through a bounded cache and never whole.

A ``SlideReader`` lists the file's resolution levels (the full image first, then each reduced
level of its pyramid) and reads any window of any level: the tiles it overlaps are decoded with
tifffile's own decoder (JPEG, LZW, Deflate, ...) and kept in a ``TileCache`` of a fixed number of
bytes shared by every reader. A window larger than ``max_region_pixels`` is refused, so a
caller asking for a whole slide by mistake gets an error, not an out-of-memory kill.
Readers are safe to use from several threads.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from model.errors import ImageReadError
from model.storage.ome_zarr_images import is_ome_zarr, ome_zarr_header, ome_zarr_levels, read_zarr_window

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
OVERVIEW_PIXELS = 4096 * 4096
"""The largest smallest level read whole for a preview or the slide's intensity range."""
MAX_REGION_PIXELS = 8192 * 8192
"""The largest window one call reads (64 Mpixel: 192 MB of 8-bit colour)."""


class TileCache:
    """Decoded tiles, least recently used first out, within ``max_bytes``; thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.decoded = 0
        """Tiles decoded so far (misses)."""

    @property
    def nbytes(self) -> int:
        return self._bytes

    def set_max_bytes(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` from now on (the oldest tiles go at once)."""
        with self._lock:
            self.max_bytes = max_bytes
            self._trim()

    def _trim(self) -> None:
        """Drop the least recently used tiles past ``max_bytes`` (the lock held)."""
        while self._bytes > self.max_bytes and self._tiles:
            _, old = self._tiles.popitem(last=False)
            self._bytes -= old.nbytes

    def held(self) -> list[tuple]:
        """The tiles held now, least recently used first."""
        with self._lock:
            return list(self._tiles)

    def get(self, key: tuple, decode: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
                return tile
        tile = decode()  # outside the lock: other threads read their own tiles meanwhile
        with self._lock:
            self.decoded += 1
            if key not in self._tiles and tile.nbytes <= self.max_bytes:
                self._tiles[key] = tile
                self._bytes += tile.nbytes
                self._trim()
        return tile


@dataclass(frozen=True)
class SlideLevel:
    """One resolution of a slide: its size, its tiles' size and how much smaller than level 0."""

    index: int
    height: int
    width: int
    tile_height: int
    tile_width: int
    downsample: float


class SlideReader:
    """Windows of a tiled or striped TIFF, level by level (see the module's docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        cache: TileCache | None = None,
        *,
        max_region_pixels: int = MAX_REGION_PIXELS,
    ) -> None:
        self.path = Path(path)
        self.cache = cache or TileCache()
        self.max_region_pixels = max_region_pixels
        self.largest_regions: dict[int, int] = {}
        """Per level, the most pixels one ``read_region`` call has returned (tests assert on it)."""
        self._zarr: list | None = None
        if is_ome_zarr(self.path):
            self._open_zarr()
            return
        try:
            self._tif = tifffile.TiffFile(self.path)
        except (OSError, ValueError, tifffile.TiffFileError) as exc:
            raise ImageReadError(f"{self.path}: cannot be read as a TIFF ({exc})") from exc
        series = self._tif.series[0]
        if len(series.pages) > 1:
            self._tif.close()
            raise ImageReadError(
                f"{self.path}: {len(series.pages)} planes or channels stored as separate pages "
                f"(shape {series.shape}, axes {series.axes}); SegGUI reads a slide region by region "
                "only as one plane of interleaved channels: save it as such a tiled TIFF"
            )
        self._pages = [_keyframe(level) for level in series.levels]
        first = self._pages[0]
        if first.dtype is None:
            raise ImageReadError(f"{self.path}: its pixel type is not one SegGUI reads")
        if first.imagedepth != 1 or (first.planarconfig == 2 and first.samplesperpixel > 1):
            raise ImageReadError(
                f"{self.path}: a volume or separate colour planes cannot be read region by region; "
                "save it as a tiled TIFF of interleaved channels (pyramid optional)"
            )
        self.dtype = first.dtype
        self.channels = int(first.samplesperpixel)
        self.levels = [
            SlideLevel(
                index,
                int(page.imagelength),
                int(page.imagewidth),
                *_segment_size(page),
                first.imagewidth / page.imagewidth,
            )
            for index, page in enumerate(self._pages)
        ]
        # One lock for every read of the file: ours below, and tifffile's own delayed loading
        # of tag values (its file handle's lock, a no-op until set). Two locks let a tag load
        # seek between our seek and read: a valid JPEG tile then came back starting with "JF".
        self._tif.filehandle.set_lock(True)
        self._read_lock = self._tif.filehandle.lock

    def _open_zarr(self) -> None:
        """An OME-Zarr's levels, each read a chunk at a time (its chunks are the tiles)."""
        header, self._zarr = ome_zarr_levels(self.path)
        self._zarr_axes = header.axes
        self.dtype = header.dtype
        self.channels = header.channels
        y, x = header.axes.index("y"), header.axes.index("x")
        full_width = header.shape[x]
        self.levels = [
            SlideLevel(
                index,
                int(array.shape[y]),
                int(array.shape[x]),
                int(array.chunks[y]),
                int(array.chunks[x]),
                full_width / array.shape[x],
            )
            for index, array in enumerate(self._zarr)
        ]

    def close(self) -> None:
        if self._zarr is None:
            self._tif.close()

    def __getstate__(self) -> dict:
        """What a loader process needs to open the slide itself (a file handle, locks and the
        tiles decoded so far do not travel; the process gets a cache of the same size)."""
        return {"path": self.path, "cache_bytes": self.cache.max_bytes, "max_region": self.max_region_pixels}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], TileCache(state["cache_bytes"]), max_region_pixels=state["max_region"])

    def __enter__(self) -> SlideReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def shape(self) -> tuple[int, int]:
        """Level 0's height and width."""
        return self.levels[0].height, self.levels[0].width

    def overview(self, max_pixels: int = OVERVIEW_PIXELS) -> np.ndarray | None:
        """The smallest level, whole (``H x W`` or ``H x W x C``); None if even it is over
        ``max_pixels``."""
        level = self.levels[-1]
        if level.height * level.width > max_pixels:
            return None
        return self.read_region(level.index, 0, 0, level.height, level.width)

    def level_for(self, downsample: float) -> SlideLevel:
        """The smallest level still at least as detailed as ``downsample`` asks (1: full size)."""
        fitting = [level for level in self.levels if level.downsample <= downsample * 1.001]
        return fitting[-1] if fitting else self.levels[0]

    def read_region(self, level: int, top: int, left: int, height: int, width: int) -> np.ndarray:
        """The window of ``level`` (``H x W`` or ``H x W x C``); parts outside the image are 0."""
        if height * width > self.max_region_pixels:
            raise ValueError(
                f"{self.path}: a {width} x {height} window is more than the {self.max_region_pixels:,} "
                "pixels read at once; read it in parts"
            )
        spec = self.levels[level]
        out = np.zeros((height, width, self.channels), dtype=self.dtype)
        y0, y1 = max(top, 0), min(top + height, spec.height)
        x0, x1 = max(left, 0), min(left + width, spec.width)
        th, tw = spec.tile_height, spec.tile_width
        for ty in range(y0 // th, (y1 - 1) // th + 1 if y1 > y0 else 0):
            for tx in range(x0 // tw, (x1 - 1) // tw + 1 if x1 > x0 else 0):
                tile = self.cache.get(
                    (self.path, level, ty, tx), lambda ty=ty, tx=tx: self._decode(level, ty, tx)
                )
                ay0, ay1 = max(y0, ty * th), min(y1, (ty + 1) * th)
                ax0, ax1 = max(x0, tx * tw), min(x1, (tx + 1) * tw)
                out[ay0 - top : ay1 - top, ax0 - left : ax1 - left] = tile[
                    ay0 - ty * th : ay1 - ty * th, ax0 - tx * tw : ax1 - tx * tw
                ]
        self.largest_regions[level] = max(self.largest_regions.get(level, 0), height * width)
        return out[..., 0] if self.channels == 1 else out

    def _decode(self, level: int, ty: int, tx: int) -> np.ndarray:
        """One tile (or strip) of ``level`` as ``tile_height x tile_width x C``."""
        spec = self.levels[level]
        if self._zarr is not None:
            return self._decode_chunk(level, ty, tx)
        page = self._pages[level]
        across = -(-spec.width // spec.tile_width)
        index = ty * across + tx
        offset, count = page.dataoffsets[index], page.databytecounts[index]
        with self._read_lock:
            if count:
                self._tif.filehandle.seek(offset)
                data = self._tif.filehandle.read(count)
            else:
                data = None
        try:
            segment, _, shape = page.decode(data, index, jpegtables=page.jpegtables)
        except (ValueError, NotImplementedError, RuntimeError, tifffile.TiffFileError) as exc:
            # imagecodecs' errors (Jpeg8Error, DeflateError, ...) are RuntimeErrors
            y, x = ty * spec.tile_height, tx * spec.tile_width
            raise ImageReadError(
                f"{self.path}: tile {index} of level {level} (pixels from x {x}, y {y}) cannot be "
                f"decoded, the file is damaged there: copy it again from where it came from, or "
                f"save it again with the scanner's software ({type(exc).__name__}: {exc})"
            ) from exc
        tile = np.zeros((spec.tile_height, spec.tile_width, self.channels), dtype=self.dtype)
        if segment is not None:
            rows, cols = min(shape[1], spec.tile_height), min(shape[2], spec.tile_width)
            tile[:rows, :cols] = segment[0, :rows, :cols]
        return tile

    def _decode_chunk(self, level: int, ty: int, tx: int) -> np.ndarray:
        """One chunk of an OME-Zarr level as ``tile_height x tile_width x C``."""
        assert self._zarr is not None
        spec = self.levels[level]
        top, left = ty * spec.tile_height, tx * spec.tile_width
        try:
            data = read_zarr_window(
                self._zarr[level], self._zarr_axes, top, left, spec.tile_height, spec.tile_width
            )
        except Exception as exc:  # zarr and its codecs raise their own errors for a damaged chunk
            raise ImageReadError(
                f"{self.path}: the chunk of level {level} from x {left}, y {top} cannot be read, the "
                "OME-Zarr is damaged there: copy it again from where it came from "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        tile = np.zeros((spec.tile_height, spec.tile_width, self.channels), dtype=self.dtype)
        tile[: data.shape[0], : data.shape[1]] = data
        return tile


def _keyframe(level: tifffile.TiffPageSeries) -> tifffile.TiffPage:
    page = level.keyframe
    if not isinstance(page, tifffile.TiffPage):
        raise ImageReadError(f"{level.parent.filehandle.path}: a pyramid level has no readable page")
    return page


def _segment_size(page: tifffile.TiffPage) -> tuple[int, int]:
    """Tile height and width; for a striped page, a strip: rows per strip by the full width."""
    if page.is_tiled:
        return int(page.tilelength), int(page.tilewidth)
    return int(min(page.rowsperstrip, page.imagelength)), int(page.imagewidth)


def is_slide(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a TIFF that can be read region by region (tiled, or a pyramid), or a
    2-D OME-Zarr."""
    if is_ome_zarr(path):
        return _zarr_plane_pixels(path) is not None
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return len(series.levels) > 1 or bool(series.keyframe.is_tiled)
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):  # IndexError: no series
        return False


def opens_as_slide(path: str | os.PathLike[str]) -> bool:
    """Whether the window opens ``path`` as a slide, region by region: a tiled or pyramidal
    TIFF, or a 2-D OME-Zarr, whose full image is over ``model.storage.tiff_files.MAX_PIXELS``
    (smaller ones are decoded whole, which every tool and the model's training can use)."""
    from model.storage.tiff_files import MAX_PIXELS, is_tiff

    if is_ome_zarr(path):
        return (_zarr_plane_pixels(path) or 0) > MAX_PIXELS
    if not is_tiff(path):
        return False
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = series.keyframe
            if not (len(series.levels) > 1 or page.is_tiled):
                return False
            return int(page.imagelength) * int(page.imagewidth) > MAX_PIXELS
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):  # IndexError: no series
        return False


def _zarr_plane_pixels(path: str | os.PathLike[str]) -> int | None:
    """The pixels of a 2-D OME-Zarr; None for a stack, or one whose metadata cannot be read."""
    try:
        header = ome_zarr_header(path)
    except ImageReadError:
        return None
    width, height = header.size
    return width * height if header.planes == 1 else None


def slide_overview(path: str | os.PathLike[str], max_pixels: int = OVERVIEW_PIXELS) -> np.ndarray | None:
    """The smallest level of a slide, whole (``H x W`` or ``H x W x C``), for a preview; None if
    ``path`` is no slide or even its smallest level is over ``max_pixels``."""
    if not is_slide(path):
        return None
    with SlideReader(path, TileCache(max_bytes=0)) as reader:
        return reader.overview(max_pixels)
