"""From prompts to a mask: the window of the image a prompt model sees (the whole image, or the
``WINDOW``-pixel square around the first prompt of a large one or a slide), its embedding
(cached), and the decoder's mask for clicks, shift+clicks and a box, in image coordinates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model.errors import SegGUIError
from model.prompts.catalogue import is_cached, model_info, model_type
from model.prompts.embeddings import EmbeddingCache, embedding_key

WINDOW = 1024
"""The side of the square a prompt model encodes: SAM's input size. A larger image (a slide)
is encoded window by window around the prompts."""
INCLUDE, EXCLUDE = 1, 0
"""A click's label: inside the object, or a part to leave out (shift+click)."""


@dataclass(frozen=True)
class Window:
    """The part of the image a prompt model sees, in image pixels."""

    y: int
    x: int
    height: int
    width: int

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


def prompt_window(shape: tuple[int, int], x: float, y: float, side: int = WINDOW) -> Window:
    """The whole image when it fits ``side`` both ways; else the ``side`` square (less at the
    image's border) centred on (``x``, ``y``), kept inside the image."""
    height, width = shape
    if height <= side and width <= side:
        return Window(0, 0, height, width)
    h, w = min(side, height), min(side, width)
    top = int(min(max(round(y) - h // 2, 0), height - h))
    left = int(min(max(round(x) - w // 2, 0), width - w))
    return Window(top, left, h, w)


@dataclass
class Prompts:
    """The prompts of one proposal, in image coordinates."""

    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None
    """x0, y0, x1, y1 (any corners: they are put in order)."""

    @property
    def empty(self) -> bool:
        return not self.points and self.box is None

    def first(self) -> tuple[float, float]:
        """Where the proposal started: its window is centred there."""
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            return (x0 + x1) / 2, (y0 + y1) / 2
        return self.points[0]


class PromptModel:
    """One promptable model loaded in this process (its ONNX sessions); ``encode`` and ``mask``
    may run on any thread."""

    def __init__(self, name: str) -> None:
        if not is_cached(name):
            raise SegGUIError(f"{model_info(name).title} is not downloaded yet")
        self.name = name
        try:
            self._model = model_type(name)()
        except Exception as exc:  # ONNX Runtime's own errors for a damaged or foreign file
            raise SegGUIError(f"Cannot load {model_info(name).title}: {exc}") from exc
        self._lock = threading.Lock()

    def encode(self, pixels: np.ndarray):
        """The embedding of ``pixels`` (H x W x 3 uint8, as the user sees them)."""
        return self._model.encode_image(np.ascontiguousarray(pixels))

    def mask(self, embedding, points: list[tuple[float, float]], labels: list[int]) -> np.ndarray:
        """The decoder's mask (bool, the encoded pixels' size) for points in those pixels'
        coordinates; labels as osam's: 1 include, 0 exclude, 2 and 3 a box's corners."""
        from osam import types

        request = types.GenerateRequest(
            model=self.name,
            image_embedding=embedding,
            prompt=types.Prompt(
                points=np.asarray(points, np.float32).reshape(-1, 2),
                point_labels=np.asarray(labels, np.int32),
            ),
        )
        response = self._model.generate(request)
        mask = np.zeros((embedding.original_height, embedding.original_width), bool)
        for annotation in response.annotations:
            box = annotation.bounding_box
            if annotation.mask is None or box is None:
                continue
            part = annotation.mask
            mask[box.ymin : box.ymin + part.shape[0], box.xmin : box.xmin + part.shape[1]] |= part
        return mask


Pixels = Callable[[Window], np.ndarray]
"""Reads a window of the image as the user sees it: H x W x 3 uint8."""


class Prompter:
    """Proposals for one image: the window and its embedding are chosen by the first prompt and
    kept for the prompts that follow it (each a new decode only)."""

    def __init__(self, model: PromptModel, cache: EmbeddingCache) -> None:
        self.model, self.cache = model, cache

    def embedding(self, pixels: np.ndarray):
        """The embedding of ``pixels``, from the cache or encoded now (and kept)."""
        key = embedding_key(self.model.name, pixels)
        found = self.cache.get(key)
        if found is None:
            found = self.model.encode(pixels)
            self.cache.put(key, found)
        return found

    def proposal(self, embedding, window: Window, prompts: Prompts) -> np.ndarray:
        """The mask (bool, ``window``'s size) for ``prompts``; prompts outside the window are
        left out (a box is clipped to it)."""
        points, labels = [], []
        for (x, y), label in zip(prompts.points, prompts.labels):
            if window.contains(x, y):
                points.append((x - window.x, y - window.y))
                labels.append(label)
        if prompts.box is not None:
            x0, y0, x1, y1 = prompts.box
            x0, x1 = sorted((x0, x1))
            y0, y1 = sorted((y0, y1))
            points += [
                (max(x0 - window.x, 0.0), max(y0 - window.y, 0.0)),
                (min(x1 - window.x, window.width - 1.0), min(y1 - window.y, window.height - 1.0)),
            ]
            labels += [2, 3]
        if not points or all(label == EXCLUDE for label in labels):
            return np.zeros((window.height, window.width), bool)
        return self.model.mask(embedding, points, labels)
