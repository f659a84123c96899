"""A SegGUI model as a bioimage.io model package (format 0.5), written with bioimageio.spec and
checked with bioimageio.core, so ilastik, deepImageJ, QuPath, napari and bioimageio.core run it
as it is.

The package states SegGUI's preprocessing as the format's own operations: each channel scaled
to [0, 1] (8-bit images: divided by 255; others: between their 0.1 and 99.9 percentiles, then
clipped), then standardised with the model's mean and deviation. The weights (TorchScript and
ONNX, and for the classic U-Net its state dict with ``model.networks.plain_unet`` as the
architecture's source) give per-class scores, and the package's postprocessing is a softmax over
the classes.
The output's channels are named after the classes. The test tensors are a crop of a project
image and the package's own prediction of it; the cover shows that image with the prediction
drawn over it.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.errors import SegGUIError
from model.networks.checkpoint import Checkpoint
from model.networks.package_info import PackageInfo

PERCENTILES = (0.1, 99.9)
"""What ``model.storage.intensity.intensity_range`` scales non-8-bit channels between."""
TEST_SIDE = 256
"""The side of the test input crop (a multiple of the network's size step)."""


class _Scores(nn.Module):
    """The network as the package runs it: standardised input (multiples of the size step) to
    per-class scores; padding, standardising and softmax are the package's own operations."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        self.net = checkpoint.build_model()
        self.temperature = float(checkpoint.temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) / self.temperature


def _crop(raw: np.ndarray, multiple: int) -> np.ndarray:
    """A centred crop of ``raw`` (H x W [x C]) whose sides are multiples of ``multiple``, at most
    ``TEST_SIDE``; C x H x W float32."""
    side = max(multiple, TEST_SIDE - TEST_SIDE % multiple)
    height, width = raw.shape[:2]
    h, w = min(side, height - height % multiple), min(side, width - width % multiple)
    if h < multiple or w < multiple:
        raise SegGUIError(
            f"the test image is {width} x {height}: smaller than the network's {multiple} pixels"
        )
    top, left = (height - h) // 2, (width - w) // 2
    part = raw[top : top + h, left : left + w]
    part = part[..., None] if part.ndim == 2 else part
    return np.ascontiguousarray(np.moveaxis(part, -1, 0).astype(np.float32))


def export_bioimageio(
    checkpoint: Checkpoint,
    test_image: np.ndarray,
    out: Path,
    info: PackageInfo,
    channel_names: tuple[str, ...] = (),
) -> Path:
    """Write ``out`` (``NAME.zip``): the package of ``checkpoint`` with ``test_image`` (H x W [x
    C], the file's own values; the channels the model reads) as its test input. Its files are
    made in a temporary folder, removed after."""
    with tempfile.TemporaryDirectory(prefix="seggui-bioimageio-") as folder:
        return _write_package(checkpoint, test_image, out, info, channel_names, Path(folder))


def _write_package(
    checkpoint: Checkpoint,
    test_image: np.ndarray,
    out: Path,
    info: PackageInfo,
    channel_names: tuple[str, ...],
    work: Path,
) -> Path:
    import bioimageio.spec.model.v0_5 as spec
    from bioimageio.core import predict
    from bioimageio.spec import save_bioimageio_package

    from model.networks.export import export_onnx_module, export_torchscript_module

    config = checkpoint.config
    channels = config.in_channels
    image = test_image if test_image.ndim == 3 else test_image[..., None]
    if image.shape[2] != channels:
        raise SegGUIError(f"the test image has {image.shape[2]} channels; the model reads {channels}")
    multiple = config.size_multiple
    crop = _crop(image, multiple)
    names = (
        list(channel_names)
        if len(channel_names) == channels
        else [f"channel{c + 1}" for c in range(channels)]
    )
    module = _Scores(checkpoint).eval()
    torchscript, onnx = work / "weights.torchscript.pt", work / "weights.onnx"
    export_torchscript_module(module, torch.from_numpy(crop[None]), torchscript)
    export_onnx_module(module, torch.from_numpy(crop[None]), onnx)
    test_input, test_output = work / "test_input.npy", work / "test_output.npy"
    np.save(test_input, crop[None])
    classes = len(checkpoint.classes)
    np.save(test_output, np.full((1, classes, *crop.shape[1:]), 1 / classes, np.float32))  # until predicted
    readme = work / "README.md"
    readme.write_text(_readme(checkpoint, info), encoding="utf-8")
    state_dict = None if config.encoder else _state_dict_weights(spec, checkpoint, work)

    def describe(cover: Path | None) -> spec.ModelDescr:
        scaling = (
            [spec.ScaleLinearDescr(kwargs=spec.ScaleLinearKwargs(gain=1 / 255, offset=0.0))]
            if test_image.dtype == np.uint8
            else [
                spec.ScaleRangeDescr(
                    kwargs=spec.ScaleRangeKwargs(
                        axes=[spec.AxisId("y"), spec.AxisId("x")],
                        min_percentile=PERCENTILES[0],
                        max_percentile=PERCENTILES[1],
                    )
                ),
                spec.ClipDescr(kwargs=spec.ClipKwargs(min=0.0, max=1.0)),
            ]
        )
        standardise = spec.FixedZeroMeanUnitVarianceDescr(
            kwargs=spec.FixedZeroMeanUnitVarianceAlongAxisKwargs(
                mean=[float(m) for m in checkpoint.mean],
                std=[max(float(s), 1e-6) for s in checkpoint.std],
                axis=spec.AxisId("channel"),
            )
        )
        size = spec.ParameterizedSize(min=multiple, step=multiple)
        raw_id = spec.TensorId("raw")
        inputs = spec.InputTensorDescr(
            id=raw_id,
            axes=[
                spec.BatchAxis(),
                spec.ChannelAxis(channel_names=[spec.Identifier(_identifier(n)) for n in names]),
                spec.SpaceInputAxis(id=spec.AxisId("y"), size=size),
                spec.SpaceInputAxis(id=spec.AxisId("x"), size=size),
            ],
            test_tensor=spec.FileDescr(source=test_input),
            preprocessing=[*scaling, standardise],
        )
        outputs = spec.OutputTensorDescr(
            id=spec.TensorId("probabilities"),
            description="per-class probabilities: " + ", ".join(c.name for c in checkpoint.classes),
            axes=[
                spec.BatchAxis(),
                spec.ChannelAxis(
                    channel_names=[spec.Identifier(_identifier(c.name)) for c in checkpoint.classes]
                ),
                spec.SpaceOutputAxis(
                    id=spec.AxisId("y"), size=spec.SizeReference(tensor_id=raw_id, axis_id=spec.AxisId("y"))
                ),
                spec.SpaceOutputAxis(
                    id=spec.AxisId("x"), size=spec.SizeReference(tensor_id=raw_id, axis_id=spec.AxisId("x"))
                ),
            ],
            test_tensor=spec.FileDescr(source=test_output),
            postprocessing=[spec.SoftmaxDescr(kwargs=spec.SoftmaxKwargs(axis=spec.AxisId("channel")))],
        )
        return spec.ModelDescr(
            name=info.name,
            description=info.description,
            authors=[spec.Author(name=a) for a in info.authors],
            cite=[_cite(spec, info)],
            license=spec.LicenseId(info.license),
            documentation=spec.FileDescr(source=readme),
            covers=[spec.FileDescr(source=cover)] if cover is not None else [],
            tags=list(info.tags),
            inputs=[inputs],
            outputs=[outputs],
            weights=spec.WeightsDescr(
                **({"pytorch_state_dict": state_dict} if state_dict is not None else {}),
                torchscript=spec.TorchscriptWeightsDescr(
                    source=torchscript,
                    pytorch_version=_torch_version(spec),
                    **({"parent": "pytorch_state_dict"} if state_dict is not None else {}),
                ),
                onnx=spec.OnnxWeightsDescr(source=onnx, opset_version=17, parent="torchscript"),
            ),
        )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draft = describe(None)
            sample = predict(model=draft, inputs=crop[None], skip_postprocessing=False)
        probabilities = np.asarray(sample.members[spec.TensorId("probabilities")].data, np.float32)
        np.save(test_output, probabilities)
        cover = work / "cover.png"
        _write_cover(cover, crop, probabilities, checkpoint)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save_bioimageio_package(describe(cover), output_path=out)
    except ValueError as exc:  # pydantic's validation errors: what the format refuses, and why
        raise SegGUIError(f"{out}: the package does not validate as bioimage.io ({exc})") from exc
    return out


def _torch_version(spec):
    return spec.Version(torch.__version__.split("+")[0])


def _state_dict_weights(spec, checkpoint: Checkpoint, work: Path):
    """The classic U-Net's weights as a state dict, its architecture the self-contained source
    of ``model.networks.plain_unet`` (``PackagedUNet``): what ilastik and bioimageio.core
    rebuild without SegGUI."""
    from model.networks import plain_unet

    config = checkpoint.config
    source = work / "seggui_unet.py"
    source.write_text(Path(plain_unet.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    weights = work / "weights.pt"
    torch.save({k: v.detach().cpu() for k, v in checkpoint.state_dict.items()}, weights)
    network = {
        "in_channels": config.in_channels,
        "num_classes": config.num_classes,
        "depth": config.depth,
        "base_channels": config.base_channels,
        "norm": config.norm,
        "upsampling": config.upsampling,
        "dropout": float(config.dropout),
        "temperature": float(checkpoint.temperature),
    }
    return spec.PytorchStateDictWeightsDescr(
        source=weights,
        architecture=spec.ArchitectureFromFileDescr(
            source=source, callable=spec.Identifier("PackagedUNet"), kwargs=network
        ),
        pytorch_version=_torch_version(spec),
    )


def _cite(spec, info: PackageInfo):
    """The citation with its DOI (``10.``...) or its address."""
    link = info.citation_link.strip()
    if link.startswith("10."):
        return spec.CiteEntry(text=info.citation, doi=spec.Doi(link))
    return spec.CiteEntry(text=info.citation, url=spec.HttpUrl(link))


def _identifier(name: str) -> str:
    """``name`` as a Python identifier, as the format names channels ("channel 1": channel_1)."""
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name).strip("_") or "channel"
    return cleaned if cleaned.isidentifier() else f"c_{cleaned}"


def _readme(checkpoint: Checkpoint, info: PackageInfo) -> str:
    classes = "\n".join(f"- {i}: {c.name}" for i, c in enumerate(checkpoint.classes))
    data = f"\n\n## Training data\n\n{info.training_data}" if info.training_data else ""
    return (
        f"# {info.name}\n\n{info.description}\n\nA U-Net trained in SegGUI. Its output is a probability per "
        f"class and pixel (softmax); the classes:\n\n{classes}{data}\n"
    )


def _write_cover(path: Path, crop: np.ndarray, probabilities: np.ndarray, checkpoint: Checkpoint) -> None:
    """The test image (its first three channels, each stretched) with the predicted classes
    drawn over it at half opacity."""
    from PIL import Image

    channels = crop[: min(3, crop.shape[0])]
    low = channels.min(axis=(1, 2), keepdims=True)
    high = channels.max(axis=(1, 2), keepdims=True)
    grey = (channels - low) / np.maximum(high - low, 1e-6)
    rgb = np.repeat(grey, 3, axis=0) if grey.shape[0] == 1 else np.concatenate([grey, grey[:1]] * 2)[:3]
    picture = np.moveaxis(rgb, 0, -1) * 255
    classes = probabilities[0].argmax(axis=0)
    colours = np.array([c.color for c in checkpoint.classes], np.float32)
    blended = 0.5 * picture + 0.5 * colours[classes]
    Image.fromarray(blended.clip(0, 255).astype(np.uint8)).save(path)
