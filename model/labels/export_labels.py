"""Exporting a project's masks to a folder in one of the formats of ``model.labels.formats``.

Everything is written into a hidden staging folder inside the export folder first and moved into
place only when every file is written, so a failure (unreadable mask, full disk) leaves the export
folder as it was. Existing files are never replaced unless ``overwrite`` is set; the conflict
error lists them so a caller can ask.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import IGNORE_COLOR, IGNORE_INDEX, ClassInfo
from model.errors import SegGUIError
from model.labels.formats import EXPORT_FORMATS, FORMATS, coco, labelme
from model.labels.formats.ome_zarr import zarr_name
from model.labels.label_formats import CLASSES_FILE, ExportContext, classes_json, write_text
from model.labels.ome_zarr_masks import write_slide_masks
from model.labels.slide_export import (
    SLIDE_EXPORT_FORMAT,
    is_complete,
    refusal,
    rle_refusal,
    slide_export_name,
    slide_masks_of,
    slide_runs,
    slide_shapes,
)
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import check_mask, image_size, read_image, read_mask
from model.storage.mask_names import MaskNames
from model.storage.nodata import nodata_pixels, nodata_rule
from model.storage.slide import SlideReader, TileCache
from model.storage.tiff_files import image_title, split_plane
from model.storage.tiled_tiff import write_tiled_mask
from model.storage.write_guard import check_apart
from model.words import counted


class ExportConflict(SegGUIError):
    """The export would replace existing files (``paths``, relative to the export folder)."""

    def __init__(self, folder: Path, paths: list[str]) -> None:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(
            f"{folder}: {len(paths)} files already exist ({shown}); to replace them: --overwrite, "
            "or Replace when the window asks"
        )
        self.folder, self.paths = folder, paths


@dataclass(frozen=True)
class ExportOptions:
    format: str = "index"
    unlabelled: str = "keep"
    """``keep`` writes not-labelled pixels as 255 where the format can; ``background`` makes them 0."""
    only_complete: bool = False
    """Only images whose mask labels every pixel."""
    include_predictions: bool = False
    """Pixels nothing is painted on are exported from the image's prediction, if there is one:
    images without a mask wholly, partly painted masks where they are not painted (strokes win)."""
    val_fraction: float = 0.0
    """Share of the exported images listed in ``val.txt`` (the rest in ``train.txt``)."""
    seed: int = 0
    coco_polygons: bool = False
    """COCO segmentations as polygons instead of run-length encoding (RLE is exact)."""
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.unlabelled not in ("keep", "background"):
            raise ValueError(f"unlabelled must be 'keep' or 'background', got {self.unlabelled!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass(frozen=True)
class ExportProgress:
    index: int
    total: int
    image: Path


@dataclass
class ExportReport:
    exported: list[Path] = field(default_factory=list)
    from_predictions: list[Path] = field(default_factory=list)
    """Images without a mask, exported from their prediction."""
    completed_from_predictions: list[Path] = field(default_factory=list)
    """Partly painted masks whose unpainted pixels came from the prediction."""
    skipped: list[str] = field(default_factory=list)
    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stopped: bool = False

    def summary(self) -> str:
        """ "3 masks (1 from predictions; 2 painted in part, the rest predicted)"."""
        parts = []
        if self.from_predictions:
            parts.append(f"{len(self.from_predictions)} from predictions")
        if self.completed_from_predictions:
            parts.append(f"{len(self.completed_from_predictions)} painted in part, the rest predicted")
        return counted(len(self.exported), "mask") + (f" ({'; '.join(parts)})" if parts else "")


def split_lists(stems: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded split of ``stems`` into train and val (val gets ``round(n * val_fraction)``)."""
    order = list(stems)
    random.Random(seed).shuffle(order)
    n_val = round(len(order) * val_fraction)
    val = set(order[:n_val])
    return [s for s in stems if s not in val], [s for s in stems if s in val]


def _split_files(fmt: str) -> tuple[str, str]:
    folder = EXPORT_FORMATS[fmt].lists_folder
    return f"{folder}train.txt", f"{folder}val.txt"


def planned_files(
    images: Sequence[Path], options: ExportOptions, slides: Collection[Path] = frozenset()
) -> list[str]:
    """Every file the export may write, relative to the export folder (``slides``: the images
    whose masks are chunked, exported as tiled TIFFs)."""
    fmt = EXPORT_FORMATS[options.format]
    files = [CLASSES_FILE, *fmt.shared_paths, *_split_files(options.format)]
    if fmt.trainval:
        files.append(f"{fmt.lists_folder}trainval.txt")
    names = MaskNames(images)
    assert fmt.item_paths is not None
    for image in names.usable(images):
        if image in slides and options.format == SLIDE_EXPORT_FORMAT:
            files.append(slide_export_name(names.key(image)))
        elif image in slides and options.format == "ome-zarr":
            files.append(zarr_name(names.key(image)))
        else:
            files += fmt.item_paths(names.key(image))
    return files


def export_labels(
    images: Sequence[Path],
    mask_dir: Path,
    classes: list[ClassInfo],
    out_dir: Path,
    options: ExportOptions,
    *,
    predictions_dir: Path | None = None,
    overrides: Mapping[Path, np.ndarray] | None = None,
    slide_masks: Mapping[Path, ChunkedMask] | None = None,
    on_progress: Callable[[ExportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExportReport:
    """Export the masks of ``images`` (from ``mask_dir``) to ``out_dir`` in ``options.format``.

    ``overrides`` maps an image path to a mask held in memory (strokes not yet on disk) that is
    exported instead of its file. A slide's chunked mask (``masks/<name>.zarr``; the window's open
    ones, by folder, in ``slide_masks``) is exported as a tiled index TIFF, streamed
    (``model.labels.slide_export``); formats that hold whole images leave it out, saying why.

    Masks that cannot be read, or do not fit their image, are reported in ``skipped``; the
    rest are exported. Raises ``ExportConflict`` before writing anything if files would be
    replaced without ``options.overwrite``, and ``SegGUIError`` (naming the file) if a write
    fails, leaving ``out_dir`` unchanged. Stopping midway also leaves it unchanged.
    """
    protected = {"the mask folder": mask_dir}
    if predictions_dir is not None:
        protected["the predictions folder"] = predictions_dir
    check_apart(out_dir, protected)
    if images:
        check_apart(out_dir, {"the image folder": images[0].parent}, inside=False)
    names = MaskNames(images)
    fmt = EXPORT_FORMATS[options.format]
    assert fmt.write_item is not None
    if fmt.distinct_colours:
        _check_distinct_colours(classes)
    refused: list[str] = []
    slides = slide_masks_of(names.usable(images), names, mask_dir, slide_masks, refused)
    planned = planned_files(images, options, slides)
    if out_dir.exists() and not options.overwrite:
        existing = [p for p in planned if (out_dir / p).exists()]
        if existing:
            raise ExportConflict(out_dir, existing)
    report = ExportReport(skipped=refused)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        report.skipped += sweep_staging(out_dir)
        staging = out_dir / f"{STAGING_PREFIX}{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        raise SegGUIError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    try:
        ctx = ExportContext(staging, out_dir, list(classes), options.coco_polygons)
        for index, image in enumerate(images, 1):
            if should_stop is not None and should_stop():
                report.stopped = True
                return report
            if image in names.refused:
                report.skipped.append(f"{image}: {names.refused[image]}")
                continue
            if image in slides:
                _export_slide(ctx, image, slides[image], names.key(image), fmt.title, options, report)
                if on_progress is not None:
                    on_progress(ExportProgress(index, len(images), image))
                continue
            override = overrides.get(image) if overrides else None
            mask = _mask_for(image, names, mask_dir, predictions_dir, classes, options, report, override)
            if mask is not None and fmt.names_image_files and split_plane(image)[1]:
                report.skipped.append(
                    f"{image_title(image)}: {fmt.title.split(' (')[0]} names image files, and a plane of a "
                    "stack is none; export stacks as index PNGs or GeoTIFFs (one mask per plane)"
                )
            elif mask is not None:
                try:
                    fmt.write_item(ctx, image, mask, names.key(image))
                except OSError as exc:
                    raise SegGUIError(
                        f"cannot write the export of {image.name}: {exc.strerror or exc}"
                    ) from exc
                report.exported.append(image)
            if on_progress is not None:
                on_progress(ExportProgress(index, len(images), image))
        exported = [names.key(image) for image in report.exported]
        report.train, report.val = split_lists(exported, options.val_fraction, options.seed)
        try:
            if fmt.finish is not None:
                fmt.finish(ctx)
            write_text(staging / CLASSES_FILE, classes_json(list(classes), options.unlabelled == "keep"))
            train_file, val_file = _split_files(options.format)
            write_text(staging / train_file, "".join(f"{s}\n" for s in report.train))
            write_text(staging / val_file, "".join(f"{s}\n" for s in report.val))
            if fmt.trainval:
                write_text(staging / f"{fmt.lists_folder}trainval.txt", "".join(f"{s}\n" for s in exported))
        except OSError as exc:
            raise SegGUIError(f"cannot write the export to {out_dir}: {exc.strerror or exc}") from exc
        report.files = _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


STAGING_PREFIX = ".seggui-export-"
EXPORT_TILE_BYTES = 32 * 1024 * 1024
"""A slide exported as OME-Zarr is read window by window, each tile once: a small tile cache."""
_REPLACED = "-replaced"


def sweep_staging(out_dir: Path) -> list[str]:
    """Remove what an export killed midway left in ``out_dir``: its staging folders, and the
    folder of files it was replacing, each of which is first put back where the export had
    taken it from if nothing is there now (the kill came between moving it aside and moving
    the new file in). Returns a message for each leftover that could not be removed."""
    problems = []
    for entry in sorted(out_dir.iterdir()) if out_dir.is_dir() else []:
        if not entry.name.startswith(STAGING_PREFIX) or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            if entry.name.endswith(_REPLACED):
                for folder, _, files in os.walk(entry):
                    for name in files:
                        relative = (Path(folder) / name).relative_to(entry)
                        target = out_dir / relative
                        if not target.exists():
                            target.parent.mkdir(parents=True, exist_ok=True)
                            os.replace(Path(folder) / name, target)
            shutil.rmtree(entry)
        except OSError as exc:
            problems.append(f"{entry}: cannot remove what an interrupted export left ({exc.strerror or exc})")
    return problems


def _export_slide(
    ctx: ExportContext,
    image: Path,
    mask: ChunkedMask,
    key: str,
    format_title: str,
    options: ExportOptions,
    report: ExportReport,
) -> None:
    """Write a slide's mask as a tiled index TIFF, labelme or COCO, or say why it is left out."""
    if options.format not in (SLIDE_EXPORT_FORMAT, "labelme", "coco", "ome-zarr"):
        report.skipped.append(refusal(image, format_title))
        return
    runs = options.format == "coco" and not options.coco_polygons
    refused = rle_refusal(image, mask.shape) if runs else None
    if refused is not None:
        report.skipped.append(refused)
        return
    if options.only_complete and not is_complete(mask):
        return
    background = options.unlabelled == "background"
    try:
        if options.format == SLIDE_EXPORT_FORMAT:
            unlabelled = 0 if background else IGNORE_INDEX
            write_tiled_mask(mask, ctx.root / slide_export_name(key), ctx.classes, unlabelled=unlabelled)
        elif options.format == "ome-zarr":
            with SlideReader(image, TileCache(EXPORT_TILE_BYTES)) as reader:
                write_slide_masks(
                    ctx.root / zarr_name(key),
                    reader,
                    mask,
                    ctx.classes,
                    unlabelled=0 if background else IGNORE_INDEX,
                )
        elif runs:
            coco.collect_runs(
                ctx, image, slide_runs(mask, len(ctx.classes), background=background), mask.shape
            )
        else:
            shapes, counts = slide_shapes(mask, len(ctx.classes), background=background)
            if options.format == "labelme":
                labelme.write_shapes(ctx, image, shapes, mask.shape, key)
            else:
                coco.collect_shapes(ctx, image, shapes, mask.shape, counts)
    except OSError as exc:
        raise SegGUIError(f"cannot write the export of {image.name}: {exc.strerror or exc}") from exc
    report.exported.append(image)


def _check_distinct_colours(classes: list[ClassInfo]) -> None:
    """Colour PNGs lose classes that share a colour (or use the not-labelled colour): refuse."""
    seen = {IGNORE_COLOR: "not labelled"}
    for info in classes:
        if info.color in seen:
            raise SegGUIError(
                f"classes '{seen[info.color]}' and '{info.name}' share the colour {info.color}; "
                "colour PNGs could not tell them apart: give one another colour first"
            )
        seen[info.color] = info.name


def _mask_for(
    image: Path,
    names: MaskNames,
    mask_dir: Path,
    predictions_dir: Path | None,
    classes: list[ClassInfo],
    options: ExportOptions,
    report: ExportReport,
    override: np.ndarray | None = None,
) -> np.ndarray | None:
    """The mask to export for ``image`` (None, with a reason in ``report.skipped``, if none):
    the painted mask, with its unpainted pixels from the prediction when the options say so."""
    path = names.mask_path(image, mask_dir)
    prediction = names.mask_path(image, predictions_dir) if predictions_dir is not None else None
    if not options.include_predictions or prediction is None or not prediction.is_file():
        prediction = None
    if override is None and path.exists() and not path.is_file():
        report.skipped.append(f"{path}: a folder or other non-file, not a mask image; left out")
        return None
    painted = override is not None or path.is_file()
    if not painted and prediction is None:
        return None
    try:
        width, height = image_size(image)
        if override is not None:
            check_mask(override, (height, width), len(classes), image)
            mask = override
        elif painted:
            mask = read_mask(path, shape=(height, width), num_classes=len(classes))
        else:
            mask = np.full((height, width), IGNORE_INDEX, np.uint8)
    except SegGUIError as exc:
        report.skipped.append(str(exc))
        return None
    unlabelled = mask == IGNORE_INDEX
    completed = False
    if prediction is not None and unlabelled.any():
        try:
            predicted = read_mask(prediction, shape=(height, width), num_classes=len(classes))
        except SegGUIError as exc:
            report.skipped.append(f"{exc}; the mask is exported as painted" if painted else str(exc))
            if not painted:
                return None
        else:
            mask = np.where(unlabelled, predicted, mask)
            unlabelled, completed = mask == IGNORE_INDEX, True
    mask, unlabelled = _without_nodata(image, mask, unlabelled, report)
    if options.only_complete and unlabelled.any():
        return None
    if completed:
        (report.completed_from_predictions if painted else report.from_predictions).append(image)
    if options.unlabelled == "background":
        mask = np.where(unlabelled, np.uint8(0), mask)
    return mask


def _without_nodata(
    image: Path, mask: np.ndarray, unlabelled: np.ndarray, report: ExportReport
) -> tuple[np.ndarray, np.ndarray]:
    """``mask`` with the pixels its image says hold no data not labelled (GDAL nodata, alpha,
    mask band: ``model.storage.nodata``), whatever was painted or predicted there, and the
    pixels left to label: nodata is neither labelled nor to be labelled (nor made background).
    The image is decoded only when its header declares nodata."""
    rule = nodata_rule(image)
    if not rule.declared:
        return mask, unlabelled
    try:
        nodata = nodata_pixels(image, read_image(image), rule)
    except SegGUIError as exc:
        report.skipped.append(f"{exc}; its nodata pixels could not be left out")
        return mask, unlabelled
    if nodata is None or nodata.shape != mask.shape:
        return mask, unlabelled
    return np.where(nodata, np.uint8(IGNORE_INDEX), mask), unlabelled & ~nodata


def _move_into_place(staging: Path, out_dir: Path) -> list[str]:
    """Move every staged file to the same place under ``out_dir``, all or nothing.

    Files being replaced are moved aside first; if any move fails, the files already moved are
    taken back out and the replaced ones restored. Returns the relative paths written.
    """
    relatives = sorted(
        (Path(folder) / name).relative_to(staging) for folder, _, names in os.walk(staging) for name in names
    )
    for relative in relatives:
        target = out_dir / relative
        if target.is_dir() or any(parent.is_file() for parent in target.parents if out_dir in parent.parents):
            raise SegGUIError(f"cannot write {target}: a folder or file is in the way")
    backup = staging.with_name(staging.name + _REPLACED)
    moved: list[Path] = []
    replaced: list[Path] = []
    try:
        for relative in relatives:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                (backup / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup / relative)
                replaced.append(relative)
            os.replace(staging / relative, target)
            moved.append(relative)
    except OSError as exc:
        for relative in moved:
            (out_dir / relative).unlink(missing_ok=True)
        for relative in replaced:
            os.replace(backup / relative, out_dir / relative)
        raise SegGUIError(f"cannot write {out_dir / relative}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(backup, ignore_errors=True)
    return [relative.as_posix() for relative in relatives]
