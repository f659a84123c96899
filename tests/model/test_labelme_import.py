"""labelme files import as labelme's own converter (labelme2voc) turns them into masks.

The expected masks are drawn here from labelme's documented rule, with Pillow directly (not with
SegGUI's code): start from class 0 (``_background_``); for each shape in file order fill it with
its boundary (``ImageDraw.polygon(xy, outline=1, fill=1)``, ``rectangle``, ``ellipse`` of radius
the distance of the two circle points, 10 px ``line``, 5 px ``point``); ``__ignore__`` is -1,
saved as 255.
"""

from __future__ import annotations

import json
import math

import numpy as np
from PIL import Image, ImageDraw

from model.classes import IGNORE_INDEX, ClassInfo
from model.labels.import_labels import import_labels
from model.storage.imageio import read_mask

CLASSES = [
    ClassInfo("background", (0, 0, 0)),
    ClassInfo("cell", (230, 25, 75)),
    ClassInfo("nucleus", (0, 130, 200)),
]
SHAPES = [
    {
        "label": "cell",
        "shape_type": "polygon",
        "points": [[5.3, 4.8], [30.6, 6.2], [27.9, 25.5], [8.1, 22.4]],
    },
    {"label": "nucleus", "shape_type": "circle", "points": [[18.0, 15.0], [22.5, 17.0]]},
    {"label": "cell", "shape_type": "rectangle", "points": [[50.7, 30.2], [38.1, 44.9]]},  # corners reversed
    {"label": "__ignore__", "shape_type": "polygon", "points": [[33, 2], [45, 2], [40, 12]]},
    {"label": "zebra", "shape_type": "polygon", "points": [[2, 30], [12, 30], [12, 40]]},  # not a class
    {
        "label": "nucleus",
        "shape_type": "polygon",
        "points": [[55, 40], [75, 42], [70, 60], [52, 58]],
    },  # over the border
    {"label": "cell", "shape_type": "line", "points": [[2, 46], [30, 46]]},
    {"label": "nucleus", "shape_type": "point", "points": [[45, 20]]},
]
HEIGHT, WIDTH = 50, 64


def labelme2voc(shapes: list[dict], names: dict[str, int]) -> np.ndarray:
    """labelme's rule, reimplemented from its documentation with Pillow."""
    label = np.zeros((HEIGHT, WIDTH), np.int32)
    for shape in shapes:
        if shape["label"] not in names:
            continue  # labelme itself stops here with a KeyError; SegGUI leaves the shape out
        canvas = Image.new("L", (WIDTH, HEIGHT), 0)
        draw = ImageDraw.Draw(canvas)
        xy = [tuple(p) for p in shape["points"]]
        kind = shape["shape_type"]
        if kind == "circle":
            (cx, cy), (px, py) = xy
            d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
            draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
        elif kind == "rectangle":
            (x0, y0), (x1, y1) = xy
            draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
        elif kind == "line":
            draw.line(xy=xy, fill=1, width=10)
        elif kind == "point":
            cx, cy = xy[0]
            draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], outline=1, fill=1)
        else:
            draw.polygon(xy=xy, outline=1, fill=1)
        label[np.asarray(canvas, bool)] = names[shape["label"]]
    return label.astype(np.uint8)  # -1 (__ignore__) becomes 255, as labelme's lblsave writes it


def _project(tmp_path, shapes=SHAPES):
    folder = tmp_path / "project"
    folder.mkdir()
    Image.fromarray(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).save(folder / "photo.jpg")
    source = tmp_path / "labelme"
    source.mkdir()
    document = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": "../project/photo.jpg",
        "imageData": None,
        "imageHeight": HEIGHT,
        "imageWidth": WIDTH,
    }
    (source / "photo.json").write_text(json.dumps(document))
    return folder, source


def test_labelme_files_become_the_masks_labelme2voc_makes(tmp_path):
    folder, source = _project(tmp_path)
    report = import_labels(source, "labelme", [folder / "photo.jpg"], folder / "masks", CLASSES)
    names = {"_background_": 0, "__ignore__": -1, "cell": 1, "nucleus": 2}
    expected = labelme2voc(SHAPES, names)
    mask = read_mask(folder / "masks" / "photo.png")
    # Before: 33-75 % of pixels differed (outside = not labelled, a ring of edge pixels missing,
    # __ignore__ and unknown labels dropped the whole file).
    assert np.array_equal(mask, expected), np.argwhere(mask != expected)[:10]
    assert (mask == IGNORE_INDEX).any() and (mask == 0).any()
    assert report.imported == [folder / "photo.jpg"] and not report.skipped
    assert report.notes == [
        f"{source / 'photo.json'}: left out shapes of labels that are not classes: 'zebra' (1 shape)"
    ]


def test_outside_the_shapes_can_stay_not_labelled(tmp_path):
    folder, source = _project(tmp_path)
    import_labels(source, "labelme", [folder / "photo.jpg"], folder / "masks", CLASSES, outside="unlabelled")
    mask = read_mask(folder / "masks" / "photo.png")
    covered = labelme2voc(SHAPES, {"cell": 1, "nucleus": 2, "__ignore__": -1, "_background_": 0})
    drawn = labelme2voc([dict(s, label="cell") for s in SHAPES if s["label"] != "zebra"], {"cell": 1}) == 1
    assert np.array_equal(mask[drawn], covered[drawn])
    assert (mask[~drawn] == IGNORE_INDEX).all()


def test_unknown_labels_can_become_new_classes(tmp_path):
    folder, source = _project(tmp_path)
    report = import_labels(
        source, "labelme", [folder / "photo.jpg"], folder / "masks", CLASSES, add_classes=True
    )
    assert [c.name for c in report.classes] == [
        "background",
        "cell",
        "nucleus",
        "zebra",
    ] and report.added == ["zebra"]
    expected = labelme2voc(SHAPES, {"_background_": 0, "__ignore__": -1, "cell": 1, "nucleus": 2, "zebra": 3})
    assert np.array_equal(read_mask(folder / "masks" / "photo.png"), expected)
    assert not report.notes
