"""napari's reader for SegGUI projects (an npe2 plugin, ``model/napari.yaml``): a project folder,
or one image of it, opens as the image layer, its mask as a Labels layer in the class colours
with the class names as features, and its prediction as a second Labels layer. A stack (a TIFF's
planes, an OME-Zarr's z or time) opens as one 3-D image, its planes read as napari shows them,
with each plane's mask in its place. A slide's image and chunked mask open lazily (dask arrays
read window by window). napari is not imported here: the layers are returned as napari's
layer-data tuples."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.storage.imageio import list_images, read_image, read_mask
from model.storage.mask_names import MaskNames
from model.storage.project import PROJECT_FILE, Project, load_project
from model.storage.tiff_files import expand_stacks, split_plane

LayerData = tuple[object, dict, str]


def get_reader(path: str | list[str]):
    """The reader for ``path`` if it is a SegGUI project folder or an image in one, else None
    (napari then asks its other readers)."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    target = Path(path)
    if (target / PROJECT_FILE).is_file():
        return partial(read_project, target, None)
    if (target.parent / PROJECT_FILE).is_file() and target.exists():
        return partial(read_project, target.parent, target)
    return None


def class_colormap(classes: tuple[ClassInfo, ...] | list[ClassInfo]) -> dict[int | None, list[float]]:
    """Each class's colour (RGBA, 0..1) by its index; not labelled and anything else see-through."""
    colours: dict[int | None, list[float]] = {None: [0.0, 0.0, 0.0, 0.0], IGNORE_INDEX: [0.0, 0.0, 0.0, 0.0]}
    for index, info in enumerate(classes):
        colours[index] = [*(c / 255 for c in info.color), 1.0]
    return colours


def class_features(classes: tuple[ClassInfo, ...] | list[ClassInfo]) -> dict[str, list]:
    return {"index": list(range(len(classes))), "class": [info.name for info in classes]}


def read_project(folder: Path, image: Path | None = None, _path: object = None) -> list[LayerData]:
    """The layers of ``image`` (default: the project's first image) of the project ``folder``."""
    project = load_project(folder)
    images = expand_stacks(list_images(folder), project.image_axes)
    if image is None:
        if not images:
            return []
        image = images[0]
    image = split_plane(image)[0]
    names = MaskNames(images or [image])
    key = names.key(image)
    classes = project.classes
    labels_meta = {"colormap": class_colormap(classes), "features": class_features(classes)}
    slide_mask = project.mask_dir / f"{key}.zarr"
    if slide_mask.is_dir():
        return _slide_layers(image, slide_mask, key, labels_meta)
    planes = expand_stacks([image], project.image_axes)
    if len(planes) > 1:
        return _stack_layers(planes, names, project, labels_meta, key)
    raw = read_image(image)
    layers: list[LayerData] = [(raw, _image_meta(raw, image.name), "image")]
    shape = raw.shape[:2]
    for title, mask_dir in (("mask", project.mask_dir), ("prediction", project.predictions_dir)):
        path = names.mask_path(image, mask_dir)
        if path.is_file():
            mask = read_mask(path, shape=shape, num_classes=len(classes))
        elif title == "mask":
            mask = np.full(shape, IGNORE_INDEX, np.uint8)
        else:
            continue
        layers.append((mask, {"name": f"{key} {title}", **labels_meta}, "labels"))
    return layers


def _stack_layers(
    planes: list[Path], names: MaskNames, project: Project, labels_meta: dict, key: str
) -> list[LayerData]:
    """A stack: its planes as one z, y, x (, c) image read plane by plane as napari shows them,
    and each plane's mask (and prediction) in its place; a plane without one is not labelled."""
    import dask
    import dask.array as da

    axes = project.image_axes
    first = read_image(planes[0], axes)
    lazy = [da.from_array(first)] + [
        da.from_delayed(dask.delayed(read_image)(plane, axes), first.shape, first.dtype)
        for plane in planes[1:]
    ]
    pixels = da.stack(lazy)
    meta = _image_meta(first, planes[0].name)
    if "channel_axis" in meta:
        meta["channel_axis"] = 3
    layers: list[LayerData] = [(pixels, meta, "image")]
    shape = first.shape[:2]
    for title, mask_dir in (("mask", project.mask_dir), ("prediction", project.predictions_dir)):
        paths = [names.mask_path(plane, mask_dir) for plane in planes]
        if title == "prediction" and not any(path.is_file() for path in paths):
            continue
        stacked = np.full((len(planes), *shape), IGNORE_INDEX, np.uint8)
        for index, path in enumerate(paths):
            if path.is_file():
                stacked[index] = read_mask(path, shape=shape, num_classes=len(project.classes))
        layers.append((stacked, {"name": f"{key} {title}", **labels_meta}, "labels"))
    return layers


def _image_meta(raw: np.ndarray, name: str) -> dict:
    if raw.ndim == 3 and raw.shape[2] == 3 and raw.dtype == np.uint8:
        return {"name": name, "rgb": True}
    if raw.ndim == 3:
        return {"name": [f"{name} channel {c + 1}" for c in range(raw.shape[2])], "channel_axis": 2}
    return {"name": name}


def _slide_layers(image: Path, mask_folder: Path, key: str, labels_meta: dict) -> list[LayerData]:
    """A slide: its image and chunked mask as dask arrays, read when napari draws them."""
    import dask.array as da

    from model.labels.ome_zarr_masks import CHUNK, WindowedArray
    from model.storage.chunked_mask import ChunkedMask
    from model.storage.slide import SlideReader

    reader = SlideReader(image)
    mask = ChunkedMask.open(mask_folder)
    height, width = reader.shape
    shape = (height, width) if reader.channels == 1 else (height, width, reader.channels)
    chunks = (CHUNK, CHUNK) if reader.channels == 1 else (CHUNK, CHUNK, reader.channels)

    def read(top: int, left: int, height: int, width: int) -> np.ndarray:
        return reader.read_region(0, top, left, height, width)

    pixels = da.from_array(WindowedArray(shape, reader.dtype, read), chunks=chunks, asarray=False)
    windows = WindowedArray(mask.shape, np.uint8, mask.read)
    labels = da.from_array(windows, chunks=(CHUNK, CHUNK), asarray=False)
    meta = {"name": image.name, "rgb": reader.channels == 3 and reader.dtype == np.uint8}
    return [(pixels, meta, "image"), (labels, {"name": f"{key} mask", **labels_meta}, "labels")]
