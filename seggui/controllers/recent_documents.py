"""The masks of recently open images, kept with their undo history for when they are opened again."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from seggui.controllers.editor import MaskEditor
from seggui.state.document import MaskDocument

KEPT_IMAGES = 10
KEPT_BYTES = 256 << 20
"""Masks kept besides the open one: at most this many images and this many bytes of mask
(undo tiles come on top, bounded per image by the editor's undo limit)."""


class RecentDocuments:
    """Documents of images opened before, newest last; the oldest are dropped with their history."""

    def __init__(self, editor: MaskEditor, images: int = KEPT_IMAGES, max_bytes: int = KEPT_BYTES) -> None:
        self.editor = editor
        self.images, self.max_bytes = images, max_bytes
        self._kept: OrderedDict[Path, MaskDocument] = OrderedDict()

    def keep(self, image: Path, document: MaskDocument) -> None:
        """``document`` was closed (another image opened): keep it and its undo history."""
        self._drop(self._kept.pop(image, None), document)
        self._kept[image] = document
        while len(self._kept) > self.images or (
            len(self._kept) > 1 and sum(d.mask.nbytes for d in self._kept.values()) > self.max_bytes
        ):
            _, oldest = self._kept.popitem(last=False)
            self.editor.forget_document(oldest)

    def reopen(self, image: Path, mask: np.ndarray) -> MaskDocument | None:
        """The kept document of ``image`` if it still holds ``mask`` (what the file or the store
        says now), else None (and its history goes: the mask changed meanwhile)."""
        document = self._kept.pop(image, None)
        if document is None:
            return None
        if document.mask.shape == mask.shape and np.array_equal(document.mask, mask):
            return document
        self.editor.forget_document(document)
        return None

    def clear(self) -> None:
        """Another folder, or the classes were renumbered: no history stays."""
        for document in self._kept.values():
            self.editor.forget_document(document)
        self._kept.clear()

    def _drop(self, old: MaskDocument | None, new: MaskDocument) -> None:
        if old is not None and old is not new:
            self.editor.forget_document(old)
