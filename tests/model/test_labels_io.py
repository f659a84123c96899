"""Export to every format, import back, and compare; pycocotools and labelme's schema as referees."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageDraw

from model.classes import IGNORE_INDEX, ClassInfo, default_classes
from model.labels.export_labels import ExportConflict, ExportOptions, export_labels
from model.labels.formats.voc import voc_palette
from model.labels.import_labels import import_labels
from model.labels.polygons import mask_to_polygons, rasterize_polygon
from model.labels.rle import rle_decode, rle_encode
from model.storage.imageio import read_mask, write_mask

CLASSES = default_classes(4)


def _mask(rng: np.random.Generator, height: int = 48, width: int = 60) -> np.ndarray:
    """Background, cells (1) with nuclei (2) inside, a square of class 3, unlabelled border band."""
    mask = np.zeros((height, width), np.uint8)
    yy, xx = np.mgrid[:height, :width]
    for _ in range(2):
        cy, cx = rng.integers(12, height - 12), rng.integers(12, width - 12)
        r = rng.integers(6, 10)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < (r // 2) ** 2] = 2
    y0, x0 = rng.integers(5, height - 10), rng.integers(5, width - 10)
    mask[y0 : y0 + 5, x0 : x0 + 7] = 3
    mask[:, :3] = IGNORE_INDEX
    mask[-2:, :] = IGNORE_INDEX
    return mask


@pytest.fixture
def project(tmp_path):
    """A folder of 4 images, 3 with masks."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "project"
    (folder / "masks").mkdir(parents=True)
    images, masks = [], {}
    for i in range(4):
        image = folder / f"im{i}.png"
        Image.fromarray(rng.integers(0, 255, (48, 60), dtype=np.uint8)).save(image)
        images.append(image)
        if i < 3:
            masks[image.stem] = _mask(rng)
            write_mask(folder / "masks" / f"im{i}.png", masks[image.stem], CLASSES)
    return folder, images, masks


def _reimport(tmp_path, export_dir, kind, images, source=None):
    target = tmp_path / f"reimported-{kind}"
    report = import_labels(source or export_dir, kind, images, target, CLASSES)
    return report, {p.stem: read_mask(target / p.name) for p in images if (target / p.name).exists()}


@pytest.mark.parametrize(
    ("fmt", "kind", "lossless"),
    [
        ("index", "masks", True),
        ("geotiff", "masks", True),
        ("colour", "colour", True),
        ("coco", "coco", True),
        ("voc", "masks", True),
        ("labelme", "labelme", True),
        ("yolo", "yolo", False),  # background and not labelled are one thing in YOLO
        ("ome-zarr", "ome-zarr", True),
    ],
)
def test_every_format_round_trips(tmp_path, project, fmt, kind, lossless):
    folder, images, masks = project
    out = tmp_path / fmt
    report = export_labels(
        images, folder / "masks", CLASSES, out, ExportOptions(format=fmt, val_fraction=0.34)
    )
    assert [p.stem for p in report.exported] == ["im0", "im1", "im2"] and report.skipped == []
    assert sorted(report.train + report.val) == ["im0", "im1", "im2"] and len(report.val) == 1
    classes = json.loads((out / "classes.json").read_text())["classes"]
    assert [c["name"] for c in classes] == [c.name for c in CLASSES]
    assert not [p for p in out.iterdir() if p.name.startswith(".seggui-export")]

    imported, back = _reimport(tmp_path, out, kind, images)
    assert imported.skipped == [] and sorted(back) == ["im0", "im1", "im2"]
    for stem, mask in masks.items():
        expected = mask if lossless else np.where(mask == IGNORE_INDEX, 0, mask)
        assert np.array_equal(back[stem], expected), (fmt, stem)


def test_unlabelled_as_background_and_only_complete_and_predictions(tmp_path, project):
    folder, images, masks = project
    complete = np.ones((48, 60), np.uint8)
    write_mask(folder / "masks" / "im2.png", complete, CLASSES)
    (folder / "predictions").mkdir()
    write_mask(folder / "predictions" / "im3.png", np.full((48, 60), 3, np.uint8), CLASSES)
    out = tmp_path / "out"
    options = ExportOptions(format="index", unlabelled="background", include_predictions=True)
    report = export_labels(
        images, folder / "masks", CLASSES, out, options, predictions_dir=folder / "predictions"
    )
    assert [p.stem for p in report.exported] == ["im0", "im1", "im2", "im3"]
    assert report.from_predictions == [images[3]]
    written = np.asarray(Image.open(out / "im0.png"))
    assert Image.open(out / "im0.png").mode == "L"  # plain indices, whatever reads them
    assert np.array_equal(written, np.where(masks["im0"] == IGNORE_INDEX, 0, masks["im0"]))

    only = export_labels(
        images, folder / "masks", CLASSES, tmp_path / "only", ExportOptions(only_complete=True)
    )
    assert [p.stem for p in only.exported] == ["im2"]


def test_coco_output_loads_in_pycocotools_and_decodes_to_our_masks(tmp_path, project):
    coco_module = pytest.importorskip("pycocotools.coco")
    mask_api = pytest.importorskip("pycocotools.mask")
    folder, images, masks = project
    for polygons in (False, True):
        out = tmp_path / f"coco-{polygons}"
        export_labels(
            images, folder / "masks", CLASSES, out, ExportOptions(format="coco", coco_polygons=polygons)
        )
        coco = coco_module.COCO(str(out / "annotations.json"))
        assert [coco.cats[i]["name"] for i in sorted(coco.cats)] == [c.name for c in CLASSES]
        for image in coco.dataset["images"]:
            mask = masks[image["file_name"].split(".")[0]]
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
                theirs = coco.annToMask(ann).astype(bool)
                ours = mask == ann["category_id"] - 1
                if polygons:  # pycocotools rasterises polygons its own way: within a pixel of the border
                    assert (theirs != ours).sum() <= 2 * ours.sum() ** 0.5 * 4
                else:
                    assert np.array_equal(theirs, ours)
                    assert ann["area"] == int(mask_api.area(ann["segmentation"]))


def test_rle_matches_pycocotools_both_ways():
    mask_api = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(4)
    for _ in range(20):
        binary = rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)))) < 0.4
        theirs = mask_api.encode(np.asfortranarray(binary.astype(np.uint8)))
        assert rle_encode(binary)["counts"] == theirs["counts"].decode()
        assert np.array_equal(
            rle_decode({"size": theirs["size"], "counts": theirs["counts"].decode()}), binary
        )


def test_voc_pngs_have_the_voc_palette_and_index_values(tmp_path, project):
    folder, images, masks = project
    out = tmp_path / "voc"
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="voc", val_fraction=0.34))
    png = Image.open(out / "SegmentationClass" / "im0.png")
    assert png.mode == "P"
    palette = png.getpalette()
    assert palette[:12] == [
        0,
        0,
        0,
        128,
        0,
        0,
        0,
        128,
        0,
        128,
        128,
        0,
    ]  # background, aeroplane, bicycle, bird
    assert palette[255 * 3 : 256 * 3] == [224, 224, 192] and palette == voc_palette()
    assert np.array_equal(np.asarray(png), masks["im0"])
    lists = out / "ImageSets" / "Segmentation"
    trainval = (lists / "trainval.txt").read_text().split()
    assert trainval == ["im0", "im1", "im2"]
    assert (
        sorted((lists / "train.txt").read_text().split() + (lists / "val.txt").read_text().split())
        == trainval
    )


def test_yolo_polygons_rasterise_back_within_one_pixel_of_the_border(tmp_path, project):
    folder, images, masks = project
    out = tmp_path / "yolo"
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="yolo"))
    assert '0: "class 1"' in (out / "data.yaml").read_text()
    mask = masks["im0"]
    height, width = mask.shape
    drawn = Image.new("L", (width, height), 0)
    painter = ImageDraw.Draw(drawn)  # an independent rasteriser (Pillow), as other tools would use
    lines = (out / "labels" / "im0.txt").read_text().splitlines()
    assert lines and all(0 <= int(line.split()[0]) <= 2 for line in lines)
    for line in lines:
        values = [float(v) for v in line.split()]
        assert all(0.0 <= v <= 1.0 for v in values[1:])
        points = [(x * width, y * height) for x, y in zip(values[1::2], values[2::2])]
        painter.polygon(points, fill=int(values[0]) + 1)
    theirs = np.asarray(drawn)
    ours = np.where(mask == IGNORE_INDEX, 0, mask)
    wrong = theirs != ours
    border = np.zeros_like(wrong)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            border |= np.roll(ours, (dy, dx), axis=(0, 1)) != ours
    assert not (wrong & ~border).any()


def test_labelme_json_matches_the_documented_schema(tmp_path, project):
    folder, images, _ = project
    out = tmp_path / "labelme"
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(format="labelme"))
    document = json.loads((out / "im0.json").read_text())
    assert set(document) >= {
        "version",
        "flags",
        "shapes",
        "imagePath",
        "imageData",
        "imageHeight",
        "imageWidth",
    }
    assert (out / document["imagePath"]).resolve() == images[0].resolve()
    assert document["imageData"] is None and (document["imageHeight"], document["imageWidth"]) == (48, 60)
    for shape in document["shapes"]:
        assert set(shape) >= {"label", "points", "group_id", "shape_type", "flags"}
        assert shape["shape_type"] == "polygon" and shape["label"] in [c.name for c in CLASSES]
        assert all(len(point) == 2 for point in shape["points"])


def test_bad_inputs_are_reported_and_the_rest_is_imported(tmp_path, project):
    folder, images, _ = project
    source = tmp_path / "labelme"
    export_labels(images, folder / "masks", CLASSES, source, ExportOptions(format="labelme"))
    document = json.loads((source / "im1.json").read_text())
    document["shapes"][0]["label"] = "zebra"
    (source / "im1.json").write_text(json.dumps(document))
    report, back = _reimport(tmp_path, source, "labelme", images)
    # Before: the whole file was dropped for one unknown label. Now only that shape is.
    assert sorted(back) == ["im0", "im1", "im2"] and not report.skipped
    assert len(report.notes) == 1 and "im1.json" in report.notes[0] and "'zebra' (1 shape)" in report.notes[0]

    pngs = tmp_path / "pngs"
    export_labels(images, folder / "masks", CLASSES, pngs, ExportOptions(format="index"))
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(pngs / "im1.png")  # wrong size
    (pngs / "im2.png").write_bytes((pngs / "im2.png").read_bytes()[:60])  # truncated
    (pngs / "stranger.png").write_bytes((pngs / "im0.png").read_bytes())  # no such image
    report, back = _reimport(tmp_path, pngs, "masks", images)
    assert sorted(back) == ["im0"]
    reasons = "\n".join(report.skipped)
    assert "im1.png" in reasons and "10x10" in reasons
    assert "im2.png" in reasons and "stranger" in reasons and len(report.skipped) == 3

    colours = tmp_path / "colours"
    export_labels(images, folder / "masks", CLASSES, colours, ExportOptions(format="colour"))
    rgb = np.asarray(Image.open(colours / "im0.png")).copy()
    rgb[0, 5] = (1, 2, 3)
    Image.fromarray(rgb).save(colours / "im0.png")
    report, back = _reimport(tmp_path, colours, "colour", images)
    assert sorted(back) == ["im1", "im2"] and "(1, 2, 3)" in report.skipped[0]


def test_existing_files_are_not_overwritten_without_asking_and_failures_leave_the_folder_alone(
    tmp_path, project
):
    folder, images, _ = project
    out = tmp_path / "out"
    out.mkdir()
    (out / "im0.png").write_bytes(b"mine")
    with pytest.raises(ExportConflict) as conflict:
        export_labels(images, folder / "masks", CLASSES, out, ExportOptions())
    assert "im0.png" in conflict.value.paths and (out / "im0.png").read_bytes() == b"mine"
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(overwrite=True))
    assert (out / "im0.png").read_bytes() != b"mine"

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "im1.png").mkdir()  # a folder where a file must go: the write of im1 fails
    before = sorted(p.name for p in broken.rglob("*"))
    with pytest.raises(Exception, match="im1"):
        export_labels(images, folder / "masks", CLASSES, broken, ExportOptions(overwrite=True))
    assert sorted(p.name for p in broken.rglob("*")) == before


def test_imported_masks_keep_existing_ones_unless_asked(tmp_path, project):
    folder, images, _ = project
    out = tmp_path / "index"
    export_labels(images, folder / "masks", CLASSES, out, ExportOptions(unlabelled="background"))
    report = import_labels(out, "masks", images, folder / "masks", CLASSES)
    assert report.imported == [] and len(report.skipped) == 3
    report = import_labels(out, "masks", images, folder / "masks", CLASSES, overwrite=True)
    assert len(report.imported) == 3
    assert (read_mask(folder / "masks" / "im0.png") != IGNORE_INDEX).all()


def test_polygons_are_exact_pixel_boundaries():
    rng = np.random.default_rng(2)
    for _ in range(50):
        binary = rng.random((15, 17)) < 0.5
        union = np.zeros_like(binary)
        for polygon in mask_to_polygons(binary):
            union |= rasterize_polygon(polygon, binary.shape)
        assert (union >= binary).all()  # every pixel covered; extra pixels only in holes
    disk = np.hypot(*np.mgrid[-20:21, -20:21]) < 15
    (polygon,) = mask_to_polygons(disk)
    assert np.array_equal(rasterize_polygon(polygon, disk.shape), disk)


def test_colour_export_refuses_classes_that_share_a_colour(tmp_path, project):
    folder, images, _ = project
    same = [*CLASSES[:3], ClassInfo("twin", CLASSES[1].color)]
    with pytest.raises(Exception, match="twin"):
        export_labels(images, folder / "masks", same, tmp_path / "c", ExportOptions(format="colour"))


def test_masks_in_memory_are_exported_instead_of_their_files(tmp_path, project):
    folder, images, masks = project
    painted = masks["im0"].copy()
    painted[10:20, 10:20] = 3  # strokes not on disk yet
    fresh = np.full((48, 60), IGNORE_INDEX, np.uint8)
    fresh[:5] = 2  # an image whose first mask is still in memory only
    wrong_size = np.zeros((10, 10), np.uint8)
    overrides = {images[0]: painted, images[3]: fresh, images[1]: wrong_size}
    report = export_labels(
        images, folder / "masks", CLASSES, tmp_path / "out", ExportOptions(), overrides=overrides
    )
    assert [p.stem for p in report.exported] == ["im0", "im2", "im3"]
    assert len(report.skipped) == 1 and "im1.png" in report.skipped[0] and "10 x 10" in report.skipped[0]
    assert np.array_equal(read_mask(tmp_path / "out" / "im0.png"), painted)
    assert np.array_equal(read_mask(tmp_path / "out" / "im3.png"), fresh)
    assert np.array_equal(read_mask(folder / "masks" / "im0.png"), masks["im0"])  # the file is untouched


def test_the_round_trip_covers_every_registered_format():
    from model.labels.formats import FORMATS, IMPORT_KINDS

    covered = test_every_format_round_trips.pytestmark[0].args[1]
    assert {fmt for fmt, _, _ in covered} == set(FORMATS)
    assert {kind for _, kind, _ in covered} == set(IMPORT_KINDS)


def test_a_slides_chunked_mask_exports_as_a_tiled_tiff_beside_the_pngs_of_ordinary_images(
    project, tmp_path, monkeypatch
):
    from model.storage import tiff_files
    from model.storage.chunked_mask import ChunkedMask
    from tests.model.test_slides import write_pyramid

    folder, images, _ = project
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 500_000)
    slide = folder / "slide.tif"
    write_pyramid(slide, np.zeros((900, 1100, 3), np.uint8), levels=2)
    chunked = ChunkedMask.create(folder / "masks" / "slide.zarr", (900, 1100))
    labels = np.full((900, 1100), IGNORE_INDEX, np.uint8)
    labels[100:700, 450:600] = 2  # across chunk borders
    chunked.write(0, 0, labels)
    chunked.save()
    everything = [*images, slide]

    out = tmp_path / "background"
    report = export_labels(
        everything, folder / "masks", CLASSES, out, ExportOptions(format="index", unlabelled="background")
    )
    assert slide in report.exported and "slide.tif" in report.files and "im0.png" in report.files
    assert np.array_equal(tifffile.imread(out / "slide.tif"), np.where(labels == IGNORE_INDEX, 0, labels))
    only = export_labels(
        everything, folder / "masks", CLASSES, tmp_path / "only", ExportOptions(only_complete=True)
    )
    assert slide not in only.exported  # most of the slide is not labelled
    voc = export_labels(everything, folder / "masks", CLASSES, tmp_path / "voc", ExportOptions(format="voc"))
    assert slide not in voc.exported and any("slide.tif" in line for line in voc.skipped)


def test_a_slides_mask_exports_as_labelme_and_coco_polygons_gathered_region_by_region(
    project, tmp_path, monkeypatch
):
    from model.labels.label_formats import draw_shapes
    from model.labels.polygons import rasterize_polygon
    from model.storage import tiff_files
    from model.storage.chunked_mask import ChunkedMask
    from tests.model.test_slides import write_pyramid

    folder, images, _ = project
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 500_000)
    monkeypatch.setattr("model.labels.slide_export.EXPORT_REGION", 512)  # 6 regions, shapes across them
    slide = folder / "slide.tif"
    write_pyramid(slide, np.zeros((900, 1100, 3), np.uint8), levels=2)
    labels = np.full((900, 1100), IGNORE_INDEX, np.uint8)
    yy, xx = np.mgrid[:900, :1100]
    labels[(yy - 500) ** 2 + (xx - 520) ** 2 < 200**2] = 1  # a cell across four regions
    labels[(yy - 500) ** 2 + (xx - 520) ** 2 < 60**2] = 2  # its nucleus, a hole in it
    labels[50:120, 900:1050] = 3
    chunked = ChunkedMask.create(folder / "masks" / "slide.zarr", labels.shape)
    chunked.write(0, 0, labels)
    chunked.save()

    out = tmp_path / "labelme"
    report = export_labels([*images, slide], folder / "masks", CLASSES, out, ExportOptions(format="labelme"))
    assert slide in report.exported
    document = json.loads((out / "slide.json").read_text())
    assert (document["imageHeight"], document["imageWidth"]) == (900, 1100)
    names = {c.name: i for i, c in enumerate(CLASSES)}
    shapes = [(names[s["label"]], np.array(s["points"], float)) for s in document["shapes"]]
    assert np.array_equal(draw_shapes(shapes, labels.shape, IGNORE_INDEX), labels)  # every pixel back

    out = tmp_path / "coco"
    options = ExportOptions(format="coco", coco_polygons=True)
    export_labels([*images, slide], folder / "masks", CLASSES, out, options)
    coco = json.loads((out / "annotations.json").read_text())
    image_id = next(i["id"] for i in coco["images"] if i["file_name"] == "slide.tif")
    annotations = [a for a in coco["annotations"] if a["image_id"] == image_id]
    assert sorted(a["category_id"] - 1 for a in annotations) == [1, 2, 3]
    for annotation in annotations:
        value = annotation["category_id"] - 1
        covered = np.zeros(labels.shape, bool)
        for flat in annotation["segmentation"]:
            covered |= rasterize_polygon(np.array(flat, float).reshape(-1, 2), labels.shape)
        if value == 1:  # COCO polygons have no holes: the cell's may cover (part of) its nucleus
            assert np.all(covered[labels == 1]) and not np.any(covered[(labels != 1) & (labels != 2)])
        else:
            assert np.array_equal(covered, labels == value)
        assert annotation["area"] == int((labels == value).sum())


def _slide_project(project, monkeypatch, labels: np.ndarray | None = None):
    """The project with a 900 x 1100 slide beside its images, and the slide's chunked mask of
    ``labels`` (if given)."""
    from model.storage import tiff_files
    from model.storage.chunked_mask import ChunkedMask
    from tests.model.test_slides import write_pyramid

    folder, images, _ = project
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 500_000)
    slide = folder / "slide.tif"
    write_pyramid(slide, np.zeros((900, 1100, 3), np.uint8), levels=2)
    if labels is not None:
        chunked = ChunkedMask.create(folder / "masks" / "slide.zarr", labels.shape)
        chunked.write(0, 0, labels)
        chunked.save()
    return folder, [*images, slide], slide


def _slide_mask(folder) -> np.ndarray:
    from model.storage.chunked_mask import ChunkedMask

    return ChunkedMask.open(folder / "slide.zarr").read(0, 0, 900, 1100)


def test_a_slides_mask_exports_as_coco_run_length_encoding_streamed_in_strips_or_is_refused_past_its_limit(
    project, tmp_path, monkeypatch
):
    mask_api = pytest.importorskip("pycocotools.mask")
    labels = np.full((900, 1100), IGNORE_INDEX, np.uint8)
    labels[800:900, 400:512] = 1  # runs to the last pixel of the first strip of chunks ...
    labels[0:50, 1030:1060] = 1  # ... and on after a strip with no labels at all
    labels[100:300, 100:300] = 2
    labels[600:700, 20:60] = 0
    folder, everything, slide = _slide_project(project, monkeypatch, labels)

    for unlabelled in ("keep", "background"):
        out = tmp_path / f"coco-{unlabelled}"
        options = ExportOptions(format="coco", unlabelled=unlabelled)
        report = export_labels(everything, folder / "masks", CLASSES, out, options)
        assert slide in report.exported
        coco = json.loads((out / "annotations.json").read_text())
        image_id = next(i["id"] for i in coco["images"] if i["file_name"] == "slide.tif")
        annotations = {a["category_id"] - 1: a for a in coco["annotations"] if a["image_id"] == image_id}
        expected = np.where(labels == IGNORE_INDEX, 0, labels) if unlabelled == "background" else labels
        assert sorted(annotations) == [0, 1, 2]
        for value, annotation in annotations.items():
            rle = {"size": annotation["segmentation"]["size"], "counts": annotation["segmentation"]["counts"]}
            assert np.array_equal(mask_api.decode(rle).astype(bool), expected == value), (unlabelled, value)
            ys, xs = np.nonzero(expected == value)
            assert annotation["area"] == len(ys) and annotation["iscrowd"] == 1
            assert annotation["bbox"] == [
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1,
            ]

    back = import_labels(tmp_path / "coco-keep", "coco", everything, tmp_path / "back", CLASSES)
    assert slide in back.slides and back.skipped == []
    assert np.array_equal(_slide_mask(tmp_path / "back"), labels)

    monkeypatch.setattr("model.labels.slide_export.RLE_MAX_PIXELS", 500_000)
    refused = export_labels(
        everything, folder / "masks", CLASSES, tmp_path / "big", ExportOptions(format="coco")
    )
    assert slide not in refused.exported
    assert any(
        "slide.tif" in line and "32 bits" in line and "1,100 x 900" in line for line in refused.skipped
    )


def test_labelme_coco_and_yolo_shapes_import_into_a_slide_region_by_region_drawn_as_on_an_image(
    project, tmp_path, monkeypatch
):
    from model.labels import slide_import
    from model.labels.labelme_import import labelme_mask

    _, everything, slide = _slide_project(project, monkeypatch)
    monkeypatch.setattr(slide_import, "IMPORT_REGION", 512)
    windows = []
    real = slide_import.import_slide_shapes

    def recording(labels, *args, **kwargs):
        def draw(shape, window):
            windows.append(window)
            return labels.draw(shape, window)

        return real(dataclasses.replace(labels, draw=draw), *args, **kwargs)

    monkeypatch.setattr("model.labels.import_labels.import_slide_shapes", recording)
    names = {c.name: i for i, c in enumerate(CLASSES)}

    shapes = [  # labelme's own shapes, each across a border of the 512-pixel regions
        {
            "label": CLASSES[1].name,
            "shape_type": "polygon",
            "points": [[300.5, 400.2], [700.7, 450], [520, 820.4]],
        },
        {"label": CLASSES[2].name, "shape_type": "rectangle", "points": [[1090, 500], [1000, 530]]},
        {"label": CLASSES[3].name, "shape_type": "circle", "points": [[512, 512], [540, 530]]},
        {"label": CLASSES[2].name, "shape_type": "line", "points": [[0, 511], [1099, 515]]},
        {"label": CLASSES[1].name, "shape_type": "point", "points": [[510, 100]]},
        {"label": "__ignore__", "shape_type": "polygon", "points": [[0, 0], [40, 0], [40, 40]]},
    ]
    document = {"shapes": shapes, "imagePath": "slide.tif", "imageHeight": 900, "imageWidth": 1100}
    source = tmp_path / "labelme"
    source.mkdir()
    (source / "slide.json").write_text(json.dumps(document))
    report = import_labels(source, "labelme", everything, tmp_path / "labelme-masks", CLASSES)
    assert report.slides == [slide] and report.skipped == []
    expected = labelme_mask(document, (900, 1100), names, source / "slide.json")
    assert len(np.unique(expected)) == 5
    assert np.array_equal(_slide_mask(tmp_path / "labelme-masks"), expected)
    assert len(windows) == 6 and max(h * w for _, _, h, w in windows) <= 512 * 512  # never drawn whole

    cell = np.zeros((900, 1100), bool)
    cell[450:620, 480:560] = True
    square = [100, 100, 900, 120, 880, 880, 120, 860]
    coco = {
        "images": [{"id": 7, "file_name": "slide.tif", "height": 900, "width": 1100}],
        "categories": [{"id": i + 1, "name": c.name} for i, c in enumerate(CLASSES)],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 2, "segmentation": [square]},
            {"id": 2, "image_id": 7, "category_id": 3, "segmentation": rle_encode(cell)},
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    report = import_labels(tmp_path / "coco.json", "coco", everything, tmp_path / "coco-masks", CLASSES)
    assert report.slides == [slide] and report.skipped == []
    expected = np.full((900, 1100), IGNORE_INDEX, np.uint8)
    expected[rasterize_polygon(np.array(square, float).reshape(-1, 2), expected.shape)] = 1
    expected[cell] = 2
    assert np.array_equal(_slide_mask(tmp_path / "coco-masks"), expected)
    assert len(report.notes) == 1  # told once, not once per region
    assert "overlap" in report.notes[0] and "slide.tif" in report.notes[0]

    coco["images"][0]["width"] = 1000
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    report = import_labels(
        tmp_path / "coco.json", "coco", everything, tmp_path / "coco-masks", CLASSES, overwrite=True
    )
    assert not report.imported
    assert any("must be the same size" in line and "slide.tif" in line for line in report.skipped)
    assert np.array_equal(_slide_mask(tmp_path / "coco-masks"), expected)  # the mask as it was

    (source / "labels").mkdir()
    (source / "labels" / "slide.txt").write_text("0 0.1 0.1 0.9 0.2 0.5 0.95\n")
    report = import_labels(source, "yolo", everything, tmp_path / "yolo-masks", CLASSES)
    assert report.slides == [slide]
    triangle = np.array([[0.1, 0.1], [0.9, 0.2], [0.5, 0.95]]) * [1100, 900]
    expected = np.zeros((900, 1100), np.uint8)
    expected[rasterize_polygon(triangle, expected.shape)] = 1
    assert np.array_equal(_slide_mask(tmp_path / "yolo-masks"), expected)
    again = import_labels(source, "yolo", everything, tmp_path / "yolo-masks", CLASSES)
    assert "already has a mask" in again.skipped[0]
