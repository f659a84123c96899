"""Listing a folder's images with their statuses, on a worker thread."""

from __future__ import annotations

import os
from pathlib import Path

from model.compute.memory import many_lasting_objects
from model.storage.chunked_mask import SLIDE_MASK_SUFFIX, ChunkedMaskError, holds_labels
from model.storage.imageio import MASK_SUFFIX
from model.storage.mask_names import MaskNames
from model.storage.project import Project, project_images
from model.storage.recovery import recover_folder
from seggui.state.image_list import ImageRecord
from seggui.state.label_status import Status


def scan_folder(
    images: list[Path], names: MaskNames, mask_dir: Path, predictions_dir: Path | None = None
) -> list[ImageRecord]:
    """Records with status from whether a mask file (or a slide's chunked mask with labels)
    exists, else whether a prediction does (one listing of each folder). An image without a
    mask name of its own (``names.refused``) is listed as unreadable, with the reason."""
    masks = _file_names(mask_dir)
    predicted = _file_names(predictions_dir) if predictions_dir is not None else set()

    def record(path: Path) -> ImageRecord:
        if path in names.refused:
            return ImageRecord(path, Status.UNREADABLE, f"{path}: {names.refused[path]}")
        mask = f"{names.key(path)}{MASK_SUFFIX}"
        if mask in masks:
            return ImageRecord(path, Status.LABELLED)
        slide_mask = f"{names.key(path)}{SLIDE_MASK_SUFFIX}"
        if slide_mask in masks:
            try:
                if holds_labels(mask_dir / slide_mask):
                    return ImageRecord(path, Status.PARTLY)  # a slide's chunked mask, which has labels
            except ChunkedMaskError as exc:  # a file, a looping link: this image's, not the folder's
                return ImageRecord(path, Status.MASK_UNREADABLE, str(exc))
        return ImageRecord(path, Status.PREDICTED if mask in predicted else Status.NO_MASK)

    return [record(p) for p in images]


def _file_names(folder: Path) -> set[str]:
    """Names in ``folder`` (none if it is missing or unreadable)."""
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def scan_project(project: Project, recover: bool) -> tuple[list, MaskNames, list[str]]:
    """On a worker thread: list the images, recover what a crash left (``model.storage.recovery``: the
    journal may only restore masks of these images), then give each its status. Returns records,
    mask names and messages to show (entries the listing left out among them)."""
    left_out: list[str] = []
    with many_lasting_objects():
        images = project_images(project, left_out)
        names = MaskNames(images)
        own = {names.mask_path(image, project.mask_dir).name: image for image in names.usable(images)}
        messages = recover_folder(project, own).messages() if recover else []
        messages += left_out[:5] + [f"and {len(left_out) - 5} more left out"] * (len(left_out) > 5)
        messages += names.orphaned_masks(project.mask_dir)
        records = scan_folder(images, names, project.mask_dir, project.predictions_dir)
    return records, names, messages
