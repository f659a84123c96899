from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from model.classes import IGNORE_INDEX, default_classes
from model.errors import ImageReadError, MaskError
from model.storage.imageio import image_channels, list_images, read_image, read_mask, write_mask


def _exif_rotated(path, array: np.ndarray, orientation: int = 6) -> None:
    img = Image.fromarray(array)
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(path, exif=exif.tobytes())


def test_reads_8bit_grey_rgb_rgba_and_palette(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    rgb = np.dstack([grey, grey * 2, grey * 3])
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, np.full_like(grey, 7)])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "pal.png")

    assert read_image(tmp_path / "grey.png").tolist() == grey.tolist()
    assert read_image(tmp_path / "rgb.png").tolist() == rgb.tolist()
    rgba = read_image(tmp_path / "rgba.png")
    assert rgba.shape == (3, 4, 3) and rgba.tolist() == rgb.tolist()  # alpha dropped
    assert read_image(tmp_path / "pal.png").shape == (3, 4, 3)
    assert image_channels(tmp_path / "grey.png") == 1
    assert image_channels(tmp_path / "rgba.png") == 3


def test_reads_16bit_grey_as_uint16(tmp_path):
    wide = (np.arange(20, dtype=np.uint16) * 3000).reshape(4, 5)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    for name in ("wide.png", "wide.tif"):
        arr = read_image(tmp_path / name)
        assert arr.dtype == np.uint16
        assert arr.tolist() == wide.tolist()


def test_exif_orientation_applied_to_image_and_mask_alike(tmp_path):
    image = np.zeros((4, 6), np.uint8)
    image[0, 0] = 255  # marker in the stored top-left corner
    _exif_rotated(tmp_path / "photo.jpg", np.dstack([image] * 3))
    _exif_rotated(tmp_path / "mask.png", (image > 0).astype(np.uint8))

    shown = read_image(tmp_path / "photo.jpg")
    mask = read_mask(tmp_path / "mask.png", shape=shown.shape[:2])
    assert shown.shape[:2] == (6, 4)  # orientation 6: rotated 90 degrees
    assert mask.shape == (6, 4)
    assert mask[0, 3] == 1 and mask.sum() == 1  # the corner moved to the top-right
    assert shown[0, 3].mean() > 128


def test_truncated_and_foreign_files_name_the_file(tmp_path):
    Image.fromarray(np.full((64, 64), 9, np.uint8)).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.png").write_text("not an image")

    with pytest.raises(ImageReadError, match="cut.png"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(ImageReadError, match="notes.png.*not an image"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(ImageReadError, match="missing.png.*not found"):
        read_image(tmp_path / "missing.png")


def test_mask_of_wrong_size_or_unknown_values_or_colour_is_refused(tmp_path):
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(MaskError, match=r"small.png.*5x5.*8x6"):
        read_mask(tmp_path / "small.png", shape=(6, 8))
    Image.fromarray(np.array([[0, 1, 7, 255]], np.uint8)).save(tmp_path / "seven.png")
    with pytest.raises(MaskError, match=r"seven.png.*\[7\]"):
        read_mask(tmp_path / "seven.png", num_classes=3)
    assert read_mask(tmp_path / "seven.png", num_classes=8).tolist() == [[0, 1, 7, 255]]
    colour = np.zeros((2, 2, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    with pytest.raises(MaskError, match="colour.png.*colour mask"):
        read_mask(tmp_path / "colour.png")


def test_write_mask_writes_index_png_with_class_palette_atomically(tmp_path):
    classes = default_classes(3)
    mask = np.array([[0, 1, 2], [IGNORE_INDEX, 2, 1]], np.uint8)
    path = tmp_path / "m.png"
    write_mask(path, mask, classes)

    with Image.open(path) as img:
        assert img.mode == "P"
        assert np.asarray(img).tolist() == mask.tolist()
        palette = img.getpalette()
    assert tuple(palette[3:6]) == classes[1].color
    assert tuple(palette[6:9]) == classes[2].color
    assert read_mask(path, num_classes=3).tolist() == mask.tolist()
    assert os.listdir(tmp_path) == ["m.png"]  # no temporary file left behind


def test_failed_mask_write_keeps_the_old_file(tmp_path):
    classes = default_classes(2)
    path = tmp_path / "m.png"
    write_mask(path, np.ones((2, 2), np.uint8), classes)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_mask(path, np.ones((2, 2), np.float32), classes)  # type: ignore[arg-type]
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.png"]


def test_list_images_natural_order_skips_other_files(tmp_path):
    for name in ("img10.png", "img2.png", "img1.TIF", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["img1.TIF", "img2.png", "img10.png"]


def test_natural_order_is_text_then_number_part_by_part(tmp_path):
    import random
    import re

    def as_parts(name: str) -> list[object]:  # the rule, spelled as lists of parts
        return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]

    rng = random.Random(0)
    names = {
        "".join(rng.choice("ab-_.0179AZ ") for _ in range(rng.randint(1, 7))) + ".png" for _ in range(800)
    }
    names |= {"a-b.png", "a1.png", "a007.png", "A1b.png", "a01.png", "a10.png", "a9.png", "a.png"}
    names = {name for name in names if not name.startswith(".")}  # hidden files are not listed
    for name in names:
        (tmp_path / name).write_bytes(b"")
    listed = [p.name for p in list_images(tmp_path)]
    keys = [as_parts(name) for name in listed]
    assert len(listed) == len(names) and keys == sorted(keys)


def test_an_image_too_large_to_decode_is_refused_with_the_way_to_a_slide(tmp_path, monkeypatch):
    path = tmp_path / "mosaic.png"
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if it were over 2**30 pixels
    with pytest.raises(ImageReadError, match=r"mosaic.png: .*tiled pyramidal TIFF.*seggui train-slide"):
        read_image(path)


def test_a_tiff_too_large_to_decode_is_refused_before_reading_its_pixels(tmp_path, monkeypatch):
    import tifffile

    from model.storage import tiff_files

    path = tmp_path / "slide.tif"
    tifffile.imwrite(path, np.zeros((64, 80, 3), np.uint8), tile=(32, 32), photometric="rgb")
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 64 * 80 - 1)  # as if it were 50,000 x 50,000

    def never(*args, **kwargs):
        raise AssertionError("the pixels were read")

    monkeypatch.setattr(tiff_files, "_plane_pages", never)
    with pytest.raises(
        ImageReadError, match=r"slide.tif: a slide of over .*seggui train-slide, seggui predict-slide"
    ):
        read_image(path)
    tifffile.imwrite(path, np.zeros((64, 80, 3), np.uint8), photometric="rgb")  # in strips
    with pytest.raises(ImageReadError, match=r"slide.tif: .*save it as a tiled pyramidal TIFF"):
        read_image(path)
