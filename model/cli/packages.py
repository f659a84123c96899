"""``seggui export model --format bioimageio``: the package's test image and description from
the command line's options (``model.networks.bioimageio_export`` writes it)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from model.errors import SegGUIError


def export_package(args: argparse.Namespace, checkpoint) -> Path:
    """Write the package ``--out`` of ``checkpoint`` with ``--image`` as its test input."""
    from model.networks.bioimageio_export import export_bioimageio
    from model.networks.package_info import PackageInfo
    from model.storage.imageio import read_image
    from model.storage.intensity import select_channels

    if args.image is None:
        raise SegGUIError(
            "--format bioimageio needs --image: an image of the project, the package's test input"
        )
    raw = read_image(args.image)
    if checkpoint.input_channels:
        raw = select_channels(raw, checkpoint.input_channels)
    defaults = PackageInfo(name=args.name or args.model.stem)
    info = dataclasses.replace(
        defaults,
        description=args.description or defaults.description,
        authors=tuple(args.author) or defaults.authors,
        license=args.license,
        training_data=args.training_data,
    )
    return export_bioimageio(checkpoint, raw, args.out, info)
