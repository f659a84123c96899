"""Importing existing labels into a project's mask folder, with a report of what was read and why
anything was skipped. Reads every format ``model.labels.export_labels`` writes (round trip)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo, distinct_color
from model.errors import MaskError, SegGUIError
from model.labels.formats import IMPORT_FORMATS, IMPORT_KINDS, ReadContext
from model.labels.formats.base import MaskMaker, ShapeLabels, Window
from model.labels.formats.index import label_folder
from model.labels.labelme_import import LabelmeShapes
from model.labels.slide_import import import_slide_labels, import_slide_shapes
from model.storage.chunked_mask import slide_mask_folder
from model.storage.imageio import image_size, write_mask
from model.storage.mask_names import MaskNames
from model.storage.project import MAX_CLASSES
from model.storage.slide import opens_as_slide
from model.storage.tiff_files import split_plane
from model.words import TO_REPLACE

__all__ = ["IMPORT_KINDS", "ImportProgress", "ImportReport", "import_labels"]


@dataclass
class ImportReport:
    imported: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files not imported, each with its reason."""
    notes: list[str] = field(default_factory=list)
    """Files imported with something left out (shapes of labels the project does not have)."""
    classes: list[ClassInfo] = field(default_factory=list)
    """The project's classes after the import (longer than before if unknown labels were added)."""
    added: list[str] = field(default_factory=list)
    """Labels added as classes (``add_classes``)."""
    slides: list[Path] = field(default_factory=list)
    """The imported images that are whole slides (their chunked masks were replaced)."""

    def summary(self) -> str:
        added = f"; new classes {', '.join(self.added)}" if self.added else ""
        notes = f", {len(self.notes)} with shapes left out" if self.notes else ""
        masks = f"{len(self.imported)} mask{'' if len(self.imported) == 1 else 's'}"
        return f"{masks} imported{notes}, {len(self.skipped)} skipped{added}"


@dataclass(frozen=True)
class ImportProgress:
    index: int
    total: int
    name: str
    share: float = 0.0
    """How much of this file is read already (a whole slide's labels report as they go)."""

    def steps(self, per_file: int = 100) -> tuple[int, int]:
        """(done, total) for a progress bar: ``per_file`` steps a file."""
        return (self.index - 1) * per_file + round(self.share * per_file), self.total * per_file


def import_labels(
    source: Path,
    kind: str,
    images: Sequence[Path],
    mask_dir: Path,
    classes: list[ClassInfo],
    *,
    overwrite: bool = False,
    outside: str = "background",
    add_classes: bool = False,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Turn the labels in ``source`` into index masks in ``mask_dir`` for the project's ``images``.

    Labels are matched to images by mask name (``model.storage.mask_names``: the stem, or the whole image
    name where two images share a stem); labelme and COCO files, which name their image, by that
    name first. A label file that could belong to either of two images is refused. A file that
    cannot be used (unknown label or colour, wrong size, truncated) is skipped with its reason and
    the rest goes on. Existing masks are kept unless ``overwrite``.

    labelme files are drawn as labelme's converter draws them (``model.labels.labelme_import``): pixels
    outside every shape are background (``outside="unlabelled"`` leaves them not labelled).
    Shapes whose label is not a class are left out, each file listing its unknown labels in
    ``report.notes``, or, with ``add_classes``, become new classes (``report.classes``).
    """
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of {', '.join(IMPORT_KINDS)}")
    if not source.exists():
        raise SegGUIError(f"{source}: not found")
    mask_names = MaskNames(images)
    names = {c.name: i for i, c in enumerate(classes)}
    report = ImportReport(classes=list(classes))
    options = _LabelmeOptions(outside, add_classes, names, report)
    read = IMPORT_FORMATS[kind].read
    assert read is not None
    context = ReadContext(
        source,
        _ImageMatcher(images, mask_names, report),
        list(classes),
        names,
        report.skipped,
        options.labels,
        report.notes,
    )
    jobs = list(read(context))
    for index, (name, image, make_mask) in enumerate(jobs, 1):
        if on_progress is not None:
            on_progress(ImportProgress(index, len(jobs), name))
        target = mask_names.mask_path(image, mask_dir)
        if opens_as_slide(image):

            def along(share: float, index: int = index, name: str = name) -> None:
                if on_progress is not None:
                    on_progress(ImportProgress(index, len(jobs), name, share))

            _import_slide(kind, source, name, image, target, make_mask, report, overwrite, along)
            continue
        if target.exists() and not overwrite:
            report.skipped.append(f"{name}: {image.name} already has a mask ({TO_REPLACE})")
            continue
        try:
            width, height = image_size(image)
            mask = make_mask((height, width))
            if mask.shape != (height, width):
                raise MaskError(
                    f"{name}: labels are {mask.shape[1]}x{mask.shape[0]} but {image.name} is {width}x{height}"
                )
            bad = np.unique(mask[(mask >= len(report.classes)) & (mask != IGNORE_INDEX)])
            if bad.size:
                raise MaskError(
                    f"{name}: values {bad[:8].tolist()} are not classes of this project "
                    f"({len(report.classes)} classes): declare its classes first (File > Classes from a "
                    "Labels File, or --labels with an export's classes.json), then import again"
                )
            mask_dir.mkdir(parents=True, exist_ok=True)
            write_mask(target, mask, report.classes)
        except (SegGUIError, ValueError, KeyError, TypeError) as exc:
            report.skipped.append(str(exc) if isinstance(exc, SegGUIError) else f"{name}: {exc}")
            continue
        except OSError as exc:
            raise SegGUIError(f"cannot write {target}: {exc.strerror or exc}") from exc
        report.imported.append(image)
    return report


def _import_slide(
    kind: str,
    source: Path,
    name: str,
    image: Path,
    target: Path,
    labels: MaskMaker,
    report: ImportReport,
    overwrite: bool,
    along: Callable[[float], None],
) -> None:
    """A whole slide's labels, never held whole: an index label TIFF streamed into its chunked
    mask, or shapes (labelme, COCO, YOLO) drawn into it region by region; colour masks, which
    hold the whole image in one picture, are refused for it, saying why."""
    folder = slide_mask_folder(target)
    try:
        if kind == "masks":
            refused = import_slide_labels(
                label_folder(source) / name, image, folder, report.classes, overwrite=overwrite, along=along
            )
        elif isinstance(labels, ShapeLabels):
            refused = import_slide_shapes(
                labels, name, image, folder, report.classes, overwrite=overwrite, along=along
            )
        else:
            refused = (
                f"{name}: {image.name} is a whole slide; import its labels as index masks (a one-channel "
                "label TIFF of its size, as QuPath and Fiji export them) or as labelme, COCO or YOLO shapes"
            )
    except SegGUIError as exc:
        report.skipped.append(str(exc))
        return
    if refused is not None:
        report.skipped.append(refused)
        return
    report.imported.append(image)
    report.slides.append(image)


class _ImageMatcher:
    """Finds the project image a label file belongs to, reporting files that match none or two."""

    def __init__(self, images: Sequence[Path], names: MaskNames, report: ImportReport) -> None:
        self._by_key = {names.key(image).casefold(): image for image in names.usable(images)}
        files = [image for image in names.usable(images) if split_plane(image)[1] == 0]
        self._by_name = {image.name.casefold(): image for image in files}  # planes have no file name
        self._shared = {group[0].stem.casefold(): group for group in names.shared_stems}
        self._report = report

    def __call__(self, label_file: Path, stem: str, image_name: str | None = None) -> Path | None:
        image = self._by_name.get(image_name.casefold()) if image_name else None
        image = image or self._by_key.get(stem.casefold())
        if image is not None:
            return image
        group = self._shared.get(stem.casefold())
        if group is not None:
            both = " and ".join(i.name for i in group)
            own = " or ".join(f"{i.name}.*" for i in group)
            self._report.skipped.append(
                f"{label_file}: {both} share the name {stem}, so this file could be either's; "
                f"name it {own} to say which"
            )
        else:
            self._report.skipped.append(f"{label_file}: no image named {stem}.* in the project")
        return None


@dataclass
class _LabelmeOptions:
    """How labelme shapes become classes, and the record of labels the project did not have."""

    outside: str
    add_classes: bool
    names: dict[str, int]
    report: ImportReport

    def labels(self, document: dict, path: Path) -> ShapeLabels:
        """The labels of a labelme ``document``, its shapes given their classes on first use
        (adding classes or noting the labels left out then, once however many windows are drawn)."""
        prepared: list[LabelmeShapes] = []
        unread = [document]  # let go once its shapes are prepared: a slide's file can be large

        def draw(shape: tuple[int, int], window: Window) -> np.ndarray:
            if not prepared:
                prepared.append(self._shapes(unread.pop(), path, shape))
            return prepared[0].draw(shape, window)

        return ShapeLabels(draw)

    def _shapes(self, document: dict, path: Path, size: tuple[int, int]) -> LabelmeShapes:
        unknown: dict[str, int] = {}

        def value_of(label: str) -> int | None:
            unknown[label] = unknown.get(label, 0) + 1
            if not self.add_classes:
                return None
            if len(self.report.classes) >= MAX_CLASSES:
                raise MaskError(f"{path}: cannot add class {label!r}: a project holds {MAX_CLASSES} classes")
            self.names[label] = len(self.report.classes)
            colors = [c.color for c in self.report.classes]
            self.report.classes.append(ClassInfo(label, distinct_color(len(self.report.classes), colors)))
            self.report.added.append(label)
            return self.names[label]

        shapes = LabelmeShapes(document, self.names, path, size, outside=self.outside, unknown=value_of)
        self.report.notes += shapes.notes
        if unknown and not self.add_classes:
            listed = ", ".join(
                f"{label!r} ({count} shape{'s' if count > 1 else ''})" for label, count in unknown.items()
            )
            self.report.notes.append(f"{path}: left out shapes of labels that are not classes: {listed}")
        return shapes
