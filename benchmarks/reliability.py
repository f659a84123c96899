"""What a kill, a failing disk and a second writer cost a user's strokes.

    python benchmarks/reliability.py [--kills 20] [--seed 0]

1. Kill -9 at random moments while ``paint_driver.py`` (the real window, offscreen) paints a
   stroke every 100 ms into a fresh folder; the driver's own log of finished strokes is the
   truth. After each kill the folder is opened the way the app does (the journal is replayed)
   and every logged stroke is looked for in the mask. The same kills are run with the stroke
   journal off (saves only, as before), in this run, as the baseline; then with an image whose
   name is not UTF-8 and with a 5000 x 5000 image (its mask takes seconds to write).
   A false conflict is a conflict copy, or a "changed on disk" message, where only this one
   window wrote.
2. A save that keeps failing (the disk is full) for 32 s: tries counted against the back-off.
3. Two processes paint one image: the second finds the folder in use and either opens it
   read-only, or the user chose "edit anyway"; every stroke must be in a mask file, or have
   been refused or reported to its painter.
4. Slides (a 33,000 x 33,000 pyramid, its mask a chunked folder): kill -9 while painting, with
   the slide's journal off (before) and on (now); kill -9 during a slide's label import (the
   old mask must stay whole, or the new one be complete; no staging left once opened); two
   windows painting one slide with "edit anyway", each chunk written without a check (before)
   and with each chunk's stamp checked, a changed one's strokes going to a conflict copy (now).

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from paint_driver import cell_origin, stroke_on_mask  # noqa: E402

from model.classes import default_classes  # noqa: E402
from model.errors import SegGUIError  # noqa: E402
from model.storage.chunked_mask import ChunkedMask  # noqa: E402
from model.storage.imageio import list_images, read_mask  # noqa: E402
from model.storage.mask_names import MaskNames  # noqa: E402
from model.storage.project import Project  # noqa: E402
from model.storage.recovery import recover_folder  # noqa: E402

DRIVER = ROOT / "benchmarks" / "paint_driver.py"
CLASSES = default_classes(2)
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


PLAIN = "im0.png"
NOT_UTF8 = os.fsdecode(b"im\xff0.png")
"""A Latin-1 byte in the name, as older instruments' software writes them."""


def _folder(root: Path, name: str = PLAIN, size: int = 512) -> Path:
    folder = root / "project"
    folder.mkdir(parents=True)
    if size <= 1024:
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    else:  # smooth: a noise PNG this size takes longer to decode than the runs last
        ramp = np.linspace(0, 255, size, dtype=np.float32)
        pixels = np.stack([np.add.outer(ramp, ramp) / 2] * 3, axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(folder / name)
    return folder


def _log(path: Path) -> list[tuple[float, str, int]]:
    """(seconds, kind, stroke) per line of a driver log; kind is stroke, refused or problem."""
    rows = []
    text = path.read_text(encoding="utf-8", errors="surrogateescape") if path.exists() else ""
    for line in text.splitlines():
        parts = line.split()
        if parts[1] in ("stroke", "refused"):
            rows.append((float(parts[0]), parts[1], int(parts[2])))
        elif parts[1] == "problem":
            rows.append((float(parts[0]), "problem", -1))
    return rows


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _mask_files(folder: Path) -> tuple[list[np.ndarray], int]:
    """Every mask in the folder (conflict copies too) and how many could not be read."""
    masks, corrupt = [], 0
    mask_dir = folder / "masks"
    for path in list_images(mask_dir) if mask_dir.is_dir() else []:
        try:
            masks.append(read_mask(path))
        except SegGUIError:
            corrupt += 1
    return masks, corrupt


def _false_conflicts(folder: Path, log: Path) -> int:
    copies = len(list((folder / "masks").glob("*.conflict*.png"))) if (folder / "masks").is_dir() else 0
    lines = log.read_text(errors="surrogateescape").splitlines() if log.exists() else []
    said = sum(1 for line in lines if "changed on disk" in line)
    return copies + said


def kill_run(
    root: Path, kill_after_s: float, journal: bool, name: str = PLAIN, size: int = 512, interval: float = 0.1
) -> dict[str, float]:
    folder = _folder(root, name, size)
    log = root / "driver.log"
    command = [sys.executable, str(DRIVER), str(folder), str(log), "--interval", str(interval)]
    command += ["--strokes", "1000"]
    driver = subprocess.Popen(
        [*command, *([] if journal else ["--no-journal"])], env=ENV, stderr=subprocess.DEVNULL
    )
    _wait_for(lambda: "ready" in (log.read_text(errors="surrogateescape") if log.exists() else ""), 60)
    time.sleep(kill_after_s)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    strokes = [(t, i) for t, kind, i in _log(log) if kind == "stroke"]
    last_logged = strokes[-1][0] if strokes else 0.0
    temporary = list(folder.rglob(".*.tmp"))  # what the kill left, before opening sweeps it
    names = MaskNames(list_images(folder))
    own = {names.mask_path(image, folder / "masks").name for image in list_images(folder)}
    recover_folder(Project(folder, tuple(CLASSES)), own)  # what opening the folder does first
    masks, corrupt = _mask_files(folder)
    mask = masks[0] if masks else np.full((size, size), 255, np.uint8)
    lost = [(t, i) for t, i in strokes if not stroke_on_mask(mask, i)]
    return {
        "strokes": len(strokes),
        "lost": len(lost),
        "lost_s": (last_logged - lost[0][0] + interval) if lost else 0.0,
        "corrupt": corrupt,
        "temporary": len(temporary),
        "left_after_opening": len(list(folder.rglob(".*.tmp"))),
        "false_conflicts": _false_conflicts(folder, log),
    }


KILL_CASES = (
    ("saves only (before), 512 x 512", False, PLAIN, 512, 0.1, 1.0),
    ("stroke journal (now), 512 x 512", True, PLAIN, 512, 0.1, 1.0),
    ("journal, a name that is not UTF-8", True, NOT_UTF8, 512, 0.1, 1.0),
    ("journal, 5000 x 5000 (a save takes seconds), a stroke every 0.5 s", True, PLAIN, 5000, 0.5, 0.5),
)
"""(row, journal on, image name, side, seconds between strokes, share of the kills run)."""


def kill_table(kills: int, seed: int) -> None:
    rng = random.Random(seed)
    moments = [rng.uniform(0.3, 6.0) for _ in range(kills)]
    print(f"\n### Kill -9 while painting ({kills} random moments, 0.3-6 s in)\n")
    print(
        "| | runs | strokes painted | strokes lost | runs losing more than the last stroke | "
        "longest loss (s) | corrupt files | temporary files left by the kill (after opening) | "
        "false conflicts |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = {}
    for title, journal, name, size, interval, share in KILL_CASES:
        rows = []
        for moment in moments[: max(1, round(kills * share))]:
            extra = 3.0 if size > 1024 else 0.0  # painting starts once the big image is open
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(kill_run(Path(tmp), moment + extra, journal, name, size, interval))
        results[title] = rows
        print(
            f"| {title} | {len(rows)} | {sum(r['strokes'] for r in rows)} | {sum(r['lost'] for r in rows)} | "
            f"{sum(r['lost'] > 1 for r in rows)} | {max(r['lost_s'] for r in rows):.1f} | "
            f"{sum(r['corrupt'] for r in rows)} | {sum(r['temporary'] for r in rows)} "
            f"({sum(r['left_after_opening'] for r in rows)}) | {sum(r['false_conflicts'] for r in rows)} |"
        )
    before = sum(r["lost"] for r in results[KILL_CASES[0][0]])
    now = sum(r["lost"] for r in results[KILL_CASES[1][0]])
    print(f"\nStrokes lost, now / before: {now} / {before}" + (f" = {now / before:.3f}" if before else ""))


def slow_save_table(seconds: float) -> None:
    """One window painting a 5000 x 5000 image, a stroke every 1.6 s, saves taking seconds; then
    closed normally. Before: a queued save kept the stamp from before the one in flight, and the
    window took its own write for another program's (a conflict copy from then on)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = _folder(root, PLAIN, 5000)
        log = root / "driver.log"
        strokes = max(2, int(seconds / 1.6))
        command = [sys.executable, str(DRIVER), str(folder), str(log), "--interval", "1.6"]
        started = time.monotonic()
        subprocess.run([*command, "--strokes", str(strokes)], env=ENV, stderr=subprocess.DEVNULL, timeout=600)
        wall = time.monotonic() - started
        painted = [i for _, kind, i in _log(log) if kind == "stroke"]
        masks, corrupt = _mask_files(folder)
        on_disk = sum(1 for i in painted if masks and stroke_on_mask(masks[0], i))
        print(f"\n### One window, a 5000 x 5000 image, a stroke every 1.6 s for {wall:.0f} s, then closed\n")
        print("| strokes painted | in the mask file | false conflicts | corrupt |")
        print("|---|---|---|---|")
        print(f"| {len(painted)} | {on_disk} | {_false_conflicts(folder, log)} | {corrupt} |")


def retry_table(seconds: float) -> None:
    import errno

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    import seggui.controllers.mask_store as mask_store
    import seggui.controllers.mask_write as mask_write
    from seggui.state.document import MaskDocument

    app = QCoreApplication.instance() or QCoreApplication([])
    logging.getLogger("seggui").setLevel(logging.ERROR)  # one warning per try: the table counts them
    tries: list[float] = []

    def full_disk(path, mask, classes):
        tries.append(time.monotonic())
        raise OSError(errno.ENOSPC, "No space left on device")

    mask_write.write_mask = full_disk
    with tempfile.TemporaryDirectory() as tmp:
        store = mask_store.MaskStore()
        store.set_folder(Path(tmp), tuple(CLASSES), read_only=False)
        document = MaskDocument(np.full((64, 64), 255, np.uint8))
        store.open(Path(tmp) / "a.png", Path(tmp) / "masks" / "a.png", document, None)
        start = time.monotonic()
        for i in range(int(seconds * 10)):  # a stroke every 100 ms all along
            document.begin_edit("brush")
            document.paint_segment(1, 1 + i % 60, 5, 1 + i % 60, 1, 1)
            edit = document.end_edit()
            if edit is not None:
                store.edited(document, [(ty, tx, new) for ty, tx, _, new in edit.tiles])
            store.save_current()
            loop = QEventLoop()
            QTimer.singleShot(100, loop.quit)
            loop.exec()
        store.shutdown()
    elapsed = time.monotonic() - start
    steps, t, allowed = mask_store.RETRY_STEPS_MS, 0.0, 1
    while True:
        t += steps[min(allowed - 1, len(steps) - 1)] / 1000
        if t > elapsed:
            break
        allowed += 1
    del app
    print(f"\n### A save failing for {elapsed:.0f} s (disk full) while painting goes on\n")
    print("| tries | tries the back-off allows (1, 2, 4, 8, 16 s) | tries per second |")
    print("|---|---|---|")
    print(f"| {len(tries)} | {allowed} | {len(tries) / elapsed:.2f} |")


def two_writers_run(root: Path, on_lock: str) -> dict[str, int]:
    folder = _folder(root)
    first_log, second_log = root / "first.log", root / "second.log"
    first = subprocess.Popen(
        [sys.executable, str(DRIVER), str(folder), str(first_log), "--strokes", "40"],
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: "ready" in (first_log.read_text() if first_log.exists() else ""), 60)
    second = subprocess.Popen(
        [
            sys.executable,
            str(DRIVER),
            str(folder),
            str(second_log),
            "--strokes",
            "40",
            "--first-cell",
            "100",
            "--on-lock",
            on_lock,
        ],
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    first.wait(120)
    second.wait(120)
    masks, corrupt = _mask_files(folder)
    counts = {"painted": 0, "on disk": 0, "refused": 0, "lost, reported": 0, "lost silently": 0}
    for log in (first_log, second_log):
        rows = _log(log)
        reported = any(kind == "problem" for _, kind, _ in rows)
        for _, kind, index in rows:
            if kind == "refused":
                counts["refused"] += 1
            elif kind == "stroke":
                counts["painted"] += 1
                if any(stroke_on_mask(m, index) for m in masks):
                    counts["on disk"] += 1
                else:
                    counts["lost, reported" if reported else "lost silently"] += 1
    counts["corrupt"] = corrupt
    counts["conflict copies"] = len(list((folder / "masks").glob("*.conflict*.png")))
    return counts


def two_writers_table() -> None:
    print("\n### Two processes painting one image, 40 strokes each\n")
    print(
        "| second window | painted | on disk | refused (read-only) | lost, reported | lost silently | "
        "conflict copies | corrupt |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for on_lock in ("read-only", "take over"):
        with tempfile.TemporaryDirectory() as tmp:
            c = two_writers_run(Path(tmp), on_lock)
        print(
            f"| {on_lock} | {c['painted']} | {c['on disk']} | {c['refused']} | {c['lost, reported']} | "
            f"{c['lost silently']} | {c['conflict copies']} | {c['corrupt']} |"
        )


# -- slides --------------------------------------------------------------------------------------
SLIDE_SIDE = 33_000
SLIDE_TILE = 512


def _write_pyramid(path: Path, values: tuple[int, int]) -> None:
    """A 33,000 x 33,000 tiled pyramid of one repeated 512-pixel tile (checks of ``values``),
    zlib-compressed: a few MB, written in seconds."""
    import tifffile

    yy, xx = np.mgrid[:SLIDE_TILE, :SLIDE_TILE]
    tile = np.where((yy // 32 + xx // 32) % 2, *values).astype(np.uint8)
    options = {"tile": (SLIDE_TILE, SLIDE_TILE), "compression": "zlib", "photometric": "minisblack"}
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        for index, step in enumerate((1, 4, 16, 64)):
            side = -(-SLIDE_SIDE // step)
            count = (-(-side // SLIDE_TILE)) ** 2
            extra = {"subifds": 3} if index == 0 else {"subfiletype": 1}
            tiles = (tile for _ in range(count))
            tif.write(tiles, shape=(side, side), dtype=np.uint8, **options, **extra)


def _slide_folder(root: Path, source: Path) -> Path:
    import shutil

    folder = root / "project"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "slide.tif")
    return folder


def _slide_masks(folder: Path) -> tuple[list[np.ndarray], int]:
    """The corner where strokes are painted of the slide's mask and of its conflict copies, read as
    opening the folder reads them (the chunked mask's own journal replayed), and how many could
    not be read."""
    masks, corrupt = [], 0
    mask_dir = folder / "masks"
    for path in sorted(mask_dir.glob("slide*.zarr")) if mask_dir.is_dir() else []:
        try:
            masks.append(ChunkedMask.open(path).read(0, 0, 600, 600))
        except SegGUIError:
            corrupt += 1
    return masks, corrupt


def _leftovers(folder: Path) -> int:
    """Temporary files and slide-import staging a kill left in the project's folders."""
    staging = list((folder / "masks").glob(".*.zarr.*-*")) if (folder / "masks").is_dir() else []
    return len(list(folder.rglob(".*.tmp"))) + len(staging)


def _open_as_the_app_does(folder: Path) -> None:
    recover_folder(Project(folder, tuple(CLASSES)), {"slide.png": folder / "slide.tif"})


def slide_kill_run(root: Path, source: Path, kill_after_s: float, journal: bool) -> dict[str, int]:
    folder = _slide_folder(root, source)
    log = root / "driver.log"
    command = [sys.executable, str(DRIVER), str(folder), str(log), "--strokes", "1000"]
    command += [] if journal else ["--no-journal"]
    driver = subprocess.Popen(command, env=ENV, stderr=subprocess.DEVNULL)
    _wait_for(lambda: "ready" in (log.read_text() if log.exists() else ""), 60)
    time.sleep(kill_after_s)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    strokes = [i for _, kind, i in _log(log) if kind == "stroke"]
    left = _leftovers(folder)
    _open_as_the_app_does(folder)
    masks, corrupt = _slide_masks(folder)
    lost = [i for i in strokes if not any(stroke_on_mask(m, i) for m in masks)]
    return {
        "strokes": len(strokes),
        "lost": len(lost),
        "corrupt": corrupt,
        "left": left,
        "after_opening": _leftovers(folder),
    }


def slide_import_run(root: Path, source: Path, labels: Path, kill_after_s: float) -> tuple[str, int, int]:
    """Kill an import of a whole slide's label TIFF over a mask holding 40 strokes. What opening
    the folder then finds: "old" (the 40 strokes, nothing imported), "new" (the whole import) or
    "mixed" (anything else); and the leftovers before and after opening."""
    folder = _slide_folder(root, source)
    old = ChunkedMask.create(folder / "masks" / "slide.zarr", (SLIDE_SIDE, SLIDE_SIDE))
    for index in range(40):
        x, y = cell_origin(index)
        old.write(y + 1, x + 1, np.ones((2, 4), np.uint8))
    old.save()
    command = [
        sys.executable,
        str(ROOT / "main.py"),
        "import",
        "--project",
        str(folder),
        "--from",
        str(labels),
    ]
    command += ["--kind", "masks", "--overwrite", "--classes", "background,a,b"]
    importer = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        importer.wait(kill_after_s)
    except subprocess.TimeoutExpired:
        importer.send_signal(signal.SIGKILL)
        importer.wait()
    left = _leftovers(folder)
    _open_as_the_app_does(folder)
    after = _leftovers(folder)
    try:
        mask = ChunkedMask.open(folder / "masks" / "slide.zarr")
        corner = mask.read(0, 0, 600, 600)
        far = mask.read(SLIDE_SIDE - 600, SLIDE_SIDE - 600, 600, 600)
    except SegGUIError:
        return "mixed", left, after
    if all(stroke_on_mask(corner, i) for i in range(40)) and (far == 255).all():
        return "old", left, after
    if set(np.unique(corner)) <= {1, 2} and set(np.unique(far)) <= {1, 2}:
        return "new", left, after
    return "mixed", left, after


def two_slide_writers_run(root: Path, source: Path, checked: bool) -> dict[str, int]:
    """Two windows on one slide ("edit anyway"), 40 strokes each in the same chunks."""
    folder = _slide_folder(root, source)
    logs = [root / "first.log", root / "second.log"]
    common = ["--strokes", "40", "--interval", "0.2", *([] if checked else ["--no-chunk-check"])]
    first = subprocess.Popen(
        [sys.executable, str(DRIVER), str(folder), str(logs[0]), *common], env=ENV, stderr=subprocess.DEVNULL
    )
    _wait_for(lambda: "ready" in (logs[0].read_text() if logs[0].exists() else ""), 60)
    second_command = [sys.executable, str(DRIVER), str(folder), str(logs[1]), *common]
    second_command += ["--first-cell", "100", "--on-lock", "take over"]
    second = subprocess.Popen(second_command, env=ENV, stderr=subprocess.DEVNULL)
    first.wait(300)
    second.wait(300)
    masks, corrupt = _slide_masks(folder)
    counts = {"painted": 0, "on disk": 0, "lost, reported": 0, "lost silently": 0}
    for log in logs:
        rows = _log(log)
        reported = any(kind == "problem" for _, kind, _ in rows)
        for _, kind, index in rows:
            if kind == "stroke":
                counts["painted"] += 1
                if any(stroke_on_mask(m, index) for m in masks):
                    counts["on disk"] += 1
                else:
                    counts["lost, reported" if reported else "lost silently"] += 1
    counts["corrupt"] = corrupt
    counts["conflict copies"] = len(list((folder / "masks").glob("slide.conflict*.zarr")))
    return counts


def slide_tables(kills: int, seed: int) -> None:
    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        source, labels = Path(tmp) / "slide.tif", Path(tmp) / "labels"
        started = time.monotonic()
        _write_pyramid(source, (40, 200))
        labels.mkdir()
        _write_pyramid(labels / "slide.tif", (1, 2))
        made = time.monotonic() - started
        size = source.stat().st_size / 1e6
        print(
            f"\n### Slides: a {SLIDE_SIDE:,} x {SLIDE_SIDE:,} pyramid ({size:.1f} MB; "
            f"made with its labels in {made:.0f} s)"
        )
        print("\n#### Kill -9 while painting a slide (a stroke every 100 ms)\n")
        print(
            "| | runs | strokes painted | strokes lost | runs losing more than the last stroke | "
            "corrupt masks | leftovers of the kill (after opening) |"
        )
        print("|---|---|---|---|---|---|---|")
        moments = [rng.uniform(0.3, 6.0) for _ in range(kills)]
        for title, journal in (("slide journal off (before)", False), ("slide journal on (now)", True)):
            rows = []
            for moment in moments:
                with tempfile.TemporaryDirectory() as run:
                    rows.append(slide_kill_run(Path(run), source, moment, journal))
            total = {key: sum(r[key] for r in rows) for key in rows[0]}
            beyond = sum(r["lost"] > 1 for r in rows)
            print(
                f"| {title} | {len(rows)} | {total['strokes']} | {total['lost']} | {beyond} | "
                f"{total['corrupt']} | {total['left']} ({total['after_opening']}) |"
            )

        with tempfile.TemporaryDirectory() as run:  # how long a whole import takes here
            started = time.monotonic()
            unkilled = slide_import_run(Path(run), source, labels, 600.0)[0]
            whole = time.monotonic() - started
        imports = []
        for _ in range(kills):
            with tempfile.TemporaryDirectory() as run:
                imports.append(slide_import_run(Path(run), source, labels, rng.uniform(0.5, whole)))
        found = [kind for kind, _, _ in imports]
        print(
            f"\n#### Kill -9 during a slide's label import (a whole import: {whole:.0f} s, then {unkilled})\n"
        )
        print(
            "| runs | old mask whole | import complete | mixed or missing | "
            "leftovers of the kill (after opening) |"
        )
        print("|---|---|---|---|---|")
        print(
            f"| {len(imports)} | {found.count('old')} | {found.count('new')} | {found.count('mixed')} | "
            f"{sum(r[1] for r in imports)} ({sum(r[2] for r in imports)}) |"
        )

        print('\n#### Two windows painting one slide ("edit anyway"), 40 strokes each in the same chunks\n')
        print(
            "| chunks written | painted | on disk (mask or conflict copy) | lost, reported | lost silently | "
            "conflict copies | corrupt |"
        )
        print("|---|---|---|---|---|---|---|")
        for title, checked in (("without a check (before)", False), ("stamp checked (now)", True)):
            with tempfile.TemporaryDirectory() as run:
                c = two_slide_writers_run(Path(run), source, checked)
            print(
                f"| {title} | {c['painted']} | {c['on disk']} | {c['lost, reported']} | "
                f"{c['lost silently']} | {c['conflict copies']} | {c['corrupt']} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-seconds", type=float, default=32.0)
    parser.add_argument("--slow-seconds", type=float, default=20.0)
    parser.add_argument("--only-slides", action="store_true", help="the slide tables only")
    args = parser.parse_args()
    if not args.only_slides:
        kill_table(args.kills, args.seed)
        slow_save_table(args.slow_seconds)
        two_writers_table()
        retry_table(args.retry_seconds)
    slide_tables(args.kills, args.seed)


if __name__ == "__main__":
    main()
