"""A bioimage.io model package as the model in use: read and checked by bioimageio.core, its
classes named by its output channels. Only a package whose output is a per-class map of a 2-D
image is used; any other is refused with what it is and why. No torch here (the window reads
``is_package`` on its own thread); ``model.prediction.package_predictor`` runs it."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from model.classes import ClassInfo, distinct_color
from model.errors import SegGUIError

if TYPE_CHECKING:
    from model.networks.checkpoint import Checkpoint

PACKAGE_SUFFIXES = (".zip", ".yaml")
TILE_SIDE = 512
"""The side of the tiles a package predicts when it lets us choose (a multiple of its step)."""


def is_package(path: str | Path) -> bool:
    """A bioimage.io package by its name: ``NAME.zip``, or its ``rdf.yaml`` / ``bioimageio.yaml``."""
    return Path(path).suffix.lower() in PACKAGE_SUFFIXES


@dataclass
class PackageModel:
    """A bioimage.io package SegGUI can predict with (``load_package`` makes one)."""

    path: Path
    description: object
    """bioimageio.spec's model description (format 0.4 or 0.5)."""
    name: str
    classes: list[ClassInfo]
    in_channels: int
    input_channels: tuple[int, ...] = ()
    """As ``Checkpoint.input_channels``: empty, every channel of the image goes in."""
    history: list[dict[str, object]] = field(default_factory=list)
    """No training history: the package was trained elsewhere."""
    _fingerprint: str = ""

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def describe(self) -> str:
        return f"bioimage.io package {self.name!r}"

    def fingerprint(self) -> str:
        """A digest of the package's bytes (a description's folder: of its description file)."""
        if not self._fingerprint:
            digest = hashlib.blake2b(digest_size=10)
            with open(self.path, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint


def load_model_file(path: str | Path) -> Checkpoint | PackageModel:
    """A SegGUI model file (``.pt``) or a bioimage.io package, by its name."""
    if is_package(path):
        return load_package(path)
    from model.networks.checkpoint import load_checkpoint

    return load_checkpoint(path)


def load_package(path: str | Path) -> PackageModel:
    """Read and check the package at ``path``; a ``SegGUIError`` says why SegGUI cannot use it."""
    from bioimageio.core import load_model_description

    path = Path(path)
    if not path.is_file():
        raise SegGUIError(f"{path}: no such file (a bioimage.io package is a .zip or its rdf.yaml)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            description = load_model_description(path, format_version="latest")
    except Exception as exc:  # bioimageio raises its own and pydantic's errors for a bad package
        raise SegGUIError(
            f"{path}: not a bioimage.io model package SegGUI can read ({exc}); if it is one, it is "
            "damaged or cut short: download or export it again"
        ) from exc
    in_channels, classes = check_usable(path, description)
    return PackageModel(path, description, str(description.name), classes, in_channels)


def check_usable(path: Path, description) -> tuple[int, list[ClassInfo]]:
    """(input channels, classes) of a package SegGUI can use, else why not."""
    if len(description.inputs) != 1 or len(description.outputs) != 1:
        raise SegGUIError(
            f"{path}: a model of {len(description.inputs)} inputs and {len(description.outputs)} "
            "outputs; SegGUI uses packages of one image in and one per-class map out"
        )
    (inputs,), (output,) = description.inputs, description.outputs
    if not hasattr(inputs, "id"):
        raise SegGUIError(
            f"{path}: a bioimage.io model of format {description.format_version}; SegGUI reads format "
            "0.5 packages (bioimageio.spec updates older ones: `bioimageio update-format`)"
        )
    in_kinds = [str(a.type) for a in inputs.axes]
    out_kinds = [str(a.type) for a in output.axes]
    if in_kinds.count("space") != 2 or out_kinds.count("space") != 2:
        raise SegGUIError(
            f"{path}: its tensors have axes {in_kinds} in and {out_kinds} out; SegGUI uses 2-D models (y, x)"
        )
    if "time" in in_kinds or "index" in in_kinds:
        raise SegGUIError(f"{path}: its input has axes {in_kinds}; SegGUI gives a model one 2-D image")
    channel_in = next((a for a in inputs.axes if str(a.type) == "channel"), None)
    channel_out = next((a for a in output.axes if str(a.type) == "channel"), None)
    if channel_out is None:
        raise SegGUIError(
            f"{path}: its output has no channel axis (one value per pixel, such as instance labels); "
            "SegGUI uses packages whose output is a map per class"
        )
    names = [str(n) for n in channel_out.channel_names]
    if len(names) < 2:
        raise SegGUIError(
            f"{path}: its output has {len(names)} channel; SegGUI needs one per class, two or more"
        )
    for axis in output.axes:
        if str(axis.type) == "space" and getattr(axis, "scale", 1.0) != 1.0:
            raise SegGUIError(
                f"{path}: its output is scaled {axis.scale}x along {axis.id}; SegGUI uses models whose "
                "output has a value per input pixel"
            )
    colours: list[tuple[int, int, int]] = []
    classes = []
    for index, name in enumerate(names):
        colour = distinct_color(index, colours)
        colours.append(colour)
        classes.append(ClassInfo(name.replace("_", " "), colour))
    return (len(channel_in.channel_names) if channel_in is not None else 1), classes
