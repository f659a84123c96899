"""Makes the window icon, resources/icons/seggui.png: a cell image half covered by a painted mask.

python resources/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 256


def main() -> None:
    scale = 4  # drawn large, then reduced: smooth edges
    big = SIZE * scale
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=48 * scale, fill=(38, 44, 56, 255))
    cells = Image.new("L", (big, big), 0)
    cell_draw = ImageDraw.Draw(cells)
    for cx, cy, r in ((300, 300, 170), (740, 330, 130), (600, 700, 210)):
        cell_draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=150)
        cell_draw.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=235)
    cells = cells.filter(ImageFilter.GaussianBlur(10))
    inset = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    inset.paste(Image.merge("RGBA", (cells, cells, cells, cells.point(lambda v: 255 if v else 0))))
    icon.alpha_composite(inset)
    overlay = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mask_draw = ImageDraw.Draw(overlay)
    for cx, cy, r in ((300, 300, 170), (600, 700, 210)):
        mask_draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(230, 25, 75, 150))
        mask_draw.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=(0, 130, 200, 190))
    icon.alpha_composite(overlay)
    stroke = [(140, 900), (260, 760), (330, 640), (360, 560)]
    draw = ImageDraw.Draw(icon)
    draw.line(stroke, fill=(255, 225, 25, 255), width=54, joint="curve")
    for x, y in (stroke[0], stroke[-1]):
        draw.ellipse((x - 27, y - 27, x + 27, y + 27), fill=(255, 225, 25, 255))
    out = Path(__file__).resolve().parent / "icons" / "seggui.png"
    out.parent.mkdir(exist_ok=True)
    icon.resize((SIZE, SIZE), Image.LANCZOS).save(out)
    print(out)


if __name__ == "__main__":
    main()
