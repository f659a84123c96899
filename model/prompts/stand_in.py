"""A stand-in promptable model for tests and benchmarks, made here and never downloaded: a tiny
ONNX encoder and decoder with the input and output names and shapes of osam's EfficientSAM,
whose mask is a known shape (``RADIUS``-pixel disks around the clicks, the box's rectangle),
registered with osam as a model type whose files a given address serves."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

RADIUS = 12.0
"""The stand-in's mask: every pixel within this many pixels of a click (less those within it
of a shift+click), and the inside of a box."""
EMBEDDING = (32, 64, 64)
STAND_IN_NAME = "seggui-stand-in:disk"
FILES = {"encoder": "stand_in_encoder.onnx", "decoder": "stand_in_decoder.onnx"}


def stand_in_files(folder: Path) -> dict[str, Path]:
    """Write the stand-in's encoder and decoder into ``folder``; their paths by role."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for role, data in (("encoder", _encoder_bytes()), ("decoder", _decoder_bytes())):
        path = folder / FILES[role]
        path.write_bytes(data)
        written[role] = path
    return written


def expected_mask(
    shape: tuple[int, int],
    points: list[tuple[float, float]],
    labels: list[int],
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """The stand-in decoder's mask, computed in numpy (what tests assert against)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    positive, negative = np.zeros(shape, bool), np.zeros(shape, bool)
    for (x, y), label in zip(points, labels):
        disk = (xs - np.float32(x)) ** 2 + (ys - np.float32(y)) ** 2 < np.float32(RADIUS**2)
        if label == 1:
            positive |= disk
        elif label == 0:
            negative |= disk
    if box is not None:
        x0, y0, x1, y1 = (np.float32(v) for v in box)
        positive |= (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    return positive & ~negative


def register_stand_in(base_url: str, folder: Path, name: str = STAND_IN_NAME) -> str:
    """Register the stand-in with osam as ``name``, its files (written into ``folder``) served
    at ``base_url``; returns the name. A model type registered as ``name`` before is replaced
    (a test restores osam's list after)."""
    from osam import apis, types

    efficient_sam = apis.get_model_type_by_name("efficientsam:10m")  # its pre- and postprocessing

    paths = stand_in_files(folder)
    files = {
        role: types.Blob(
            url=f"{base_url.rstrip('/')}/{path.name}",
            hash="sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for role, path in paths.items()
    }
    stand_in = type(
        "SegGUIStandIn",
        (efficient_sam,),
        {"name": name, "_blobs": files, "__module__": __name__},
    )
    apis.registered_model_types[:] = [t for t in apis.registered_model_types if t.name != name]
    apis.registered_model_types.append(stand_in)
    return name


def _model_bytes(nodes, inputs, outputs, initializers=()) -> bytes:
    from onnx import helper

    graph = helper.make_graph(nodes, "stand_in", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _encoder_bytes() -> bytes:
    """``batched_images`` (1, 3, H, W) in 0..1 -> ``image_embeddings`` (1, 32, 64, 64): a resize
    and a 3 x 3 convolution, so encoding costs a little and depends on the image."""
    from onnx import TensorProto, helper, numpy_helper

    channels, height, width = EMBEDDING
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.1, (channels, 3, 3, 3)).astype(np.float32), "weight")
    sizes = numpy_helper.from_array(np.array([1, 3, height, width], np.int64), "sizes")
    nodes = [
        helper.make_node("Resize", ["batched_images", "", "", "sizes"], ["small"], mode="linear"),
        helper.make_node("Conv", ["small", "weight"], ["image_embeddings"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("batched_images", TensorProto.FLOAT, [1, 3, "H", "W"])]
    shape = [1, channels, height, width]
    outputs = [helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, shape)]
    return _model_bytes(nodes, inputs, outputs, [weight, sizes])


def _decoder_bytes() -> bytes:
    """EfficientSAM's decoder interface; the masks are ``expected_mask`` as logits (+1 inside,
    -1 outside), three times over as EfficientSAM gives three."""
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, value) -> object:
        return numpy_helper.from_array(np.asarray(value), name)

    f = np.float32
    initializers = [
        const("zero", np.int64(0)),
        const("one", np.int64(1)),
        const("idx0", np.array([0], np.int64)),
        const("idx1", np.array([1], np.int64)),
        const("shape_n11", np.array([-1, 1, 1], np.int64)),
        const("shape_n2", np.array([-1, 2], np.int64)),
        const("shape_11w", np.array([1, 1, -1], np.int64)),
        const("shape_1h1", np.array([1, -1, 1], np.int64)),
        const("radius2", f(RADIUS**2)),
        const("label_fg", f(1)),
        const("label_bg", f(0)),
        const("label_tl", f(2)),
        const("label_br", f(3)),
        const("one_f", f(1)),
        const("two_f", f(2)),
        const("zero_f", f(0)),
        const("iou", np.full((1, 1, 3), 0.9, f)),
        const("low_res", np.zeros((1, 1, 3, 4, 4), f)),
    ]
    n = helper.make_node
    nodes = [
        n("Gather", ["orig_im_size", "zero"], ["h"], axis=0),
        n("Gather", ["orig_im_size", "one"], ["w"], axis=0),
        n("Range", ["zero", "h", "one"], ["ys_i"]),
        n("Range", ["zero", "w", "one"], ["xs_i"]),
        n("Cast", ["ys_i"], ["ys_f"], to=TensorProto.FLOAT),
        n("Cast", ["xs_i"], ["xs_f"], to=TensorProto.FLOAT),
        n("Reshape", ["ys_f", "shape_1h1"], ["ys"]),  # 1, H, 1
        n("Reshape", ["xs_f", "shape_11w"], ["xs"]),  # 1, 1, W
        n("Reshape", ["batched_point_coords", "shape_n2"], ["coords"]),  # N, 2
        n("Gather", ["coords", "idx0"], ["px2"], axis=1),  # N, 1
        n("Gather", ["coords", "idx1"], ["py2"], axis=1),
        n("Reshape", ["px2", "shape_n11"], ["px"]),  # N, 1, 1
        n("Reshape", ["py2", "shape_n11"], ["py"]),
        n("Reshape", ["batched_point_labels", "shape_n11"], ["labels"]),  # N, 1, 1
        n("Sub", ["xs", "px"], ["dx"]),  # N, 1, W
        n("Sub", ["ys", "py"], ["dy"]),  # N, H, 1
        n("Mul", ["dx", "dx"], ["dx2"]),
        n("Mul", ["dy", "dy"], ["dy2"]),
        n("Add", ["dx2", "dy2"], ["d2"]),  # N, H, W
        n("Less", ["d2", "radius2"], ["inside_b"]),
        n("Cast", ["inside_b"], ["inside"], to=TensorProto.FLOAT),
        *_weight_nodes(n, "fg", "label_fg"),
        *_weight_nodes(n, "bg", "label_bg"),
        *_weight_nodes(n, "tl", "label_tl"),
        *_weight_nodes(n, "br", "label_br"),
        n("Mul", ["inside", "w_fg"], ["pos_n"]),
        n("ReduceMax", ["pos_n"], ["pos"], axes=[0], keepdims=0),  # H, W
        n("Mul", ["inside", "w_bg"], ["neg_n"]),
        n("ReduceMax", ["neg_n"], ["neg"], axes=[0], keepdims=0),
        # the box: its corners are the points labelled 2 (top left) and 3 (bottom right)
        *_corner_nodes(n, "tl"),
        *_corner_nodes(n, "br"),
        n("ReduceMax", ["w_tl"], ["has_box"], keepdims=0),
        n("GreaterOrEqual", ["xs", "x_tl"], ["gx_b"]),
        n("LessOrEqual", ["xs", "x_br"], ["lx_b"]),
        n("GreaterOrEqual", ["ys", "y_tl"], ["gy_b"]),
        n("LessOrEqual", ["ys", "y_br"], ["ly_b"]),
        *[n("Cast", [f"{v}_b"], [v], to=TensorProto.FLOAT) for v in ("gx", "lx", "gy", "ly")],
        n("Mul", ["gx", "lx"], ["in_x"]),
        n("Mul", ["gy", "ly"], ["in_y"]),
        n("Mul", ["in_x", "in_y"], ["in_box3"]),  # 1, H, W
        n("Mul", ["in_box3", "has_box"], ["in_box_w"]),
        n("ReduceMax", ["in_box_w"], ["in_box"], axes=[0], keepdims=0),
        n("Max", ["pos", "in_box"], ["fg"]),
        n("Sub", ["one_f", "neg"], ["keep"]),
        n("Mul", ["fg", "keep"], ["mask01"]),
        n("Mul", ["mask01", "two_f"], ["mask02"]),
        n("Sub", ["mask02", "one_f"], ["logit_plain"]),
        # the embedding takes part, so the decoder reads it as the real one does
        n("ReduceMean", ["image_embeddings"], ["emb_mean"], keepdims=0),
        n("Mul", ["emb_mean", "zero_f"], ["emb_zero"]),
        n("Add", ["logit_plain", "emb_zero"], ["logit"]),
        n("Unsqueeze", ["logit", "unsq_axes"], ["logit5"]),
        n("Concat", ["logit5", "logit5", "logit5"], ["output_masks"], axis=2),
        n("Identity", ["iou"], ["iou_predictions"]),
        n("Identity", ["low_res"], ["low_res_masks"]),
    ]
    initializers.append(const("unsq_axes", np.array([0, 1, 2], np.int64)))
    inputs = [
        helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, *EMBEDDING]),
        helper.make_tensor_value_info("batched_point_coords", TensorProto.FLOAT, [1, 1, "N", 2]),
        helper.make_tensor_value_info("batched_point_labels", TensorProto.FLOAT, [1, 1, "N"]),
        helper.make_tensor_value_info("orig_im_size", TensorProto.INT64, [2]),
    ]
    outputs = [
        helper.make_tensor_value_info("output_masks", TensorProto.FLOAT, [1, 1, 3, "H", "W"]),
        helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, 1, 3]),
        helper.make_tensor_value_info("low_res_masks", TensorProto.FLOAT, [1, 1, 3, 4, 4]),
    ]
    return _model_bytes(nodes, inputs, outputs, initializers)


def _weight_nodes(n, tag: str, label: str) -> list:
    """``w_<tag>``: 1.0 for the points whose label is ``label``, else 0 (N, 1, 1)."""
    from onnx import TensorProto

    return [
        n("Equal", ["labels", label], [f"is_{tag}"]),
        n("Cast", [f"is_{tag}"], [f"w_{tag}"], to=TensorProto.FLOAT),
    ]


def _corner_nodes(n, tag: str) -> list:
    """``x_<tag>``, ``y_<tag>``: the coordinates of the point labelled as that corner (0 if none)."""
    return [
        n("Mul", ["px", f"w_{tag}"], [f"px_{tag}"]),
        n("Mul", ["py", f"w_{tag}"], [f"py_{tag}"]),
        n("ReduceSum", [f"px_{tag}"], [f"x_{tag}"], keepdims=0),
        n("ReduceSum", [f"py_{tag}"], [f"y_{tag}"], keepdims=0),
    ]
