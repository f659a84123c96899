"""Prompt models on this machine: encoder seconds per image, decoder milliseconds per click,
memory per cached embedding, and in the window (offscreen) the GUI thread's longest stall while
an image is encoded against its longest stall idle (the baseline, same process), and click to
proposal drawn against the decoder's own time.

Every offered model found in osam's cache is measured; the missing ones are named with how to
fetch them. Without any, the stand-in model (``model.prompts.stand_in``: a tiny ONNX pair with
EfficientSAM's interface) is measured, which shows the window's overheads, not a real encoder's
cost.

    QT_QPA_PLATFORM=offscreen python benchmarks/prompts.py [--images 3] [--clicks 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from limit_share import cpu_name

from model.prompts.catalogue import PROMPT_MODELS, is_cached, load_from_files, model_info
from model.prompts.embeddings import EmbeddingCache, embedding_bytes
from model.prompts.prompter import INCLUDE, WINDOW, Prompter, PromptModel, Prompts, Window
from model.prompts.stand_in import register_stand_in, stand_in_files


def engine_figures(name: str, images: int, clicks: int) -> dict[str, float]:
    """Encoder seconds (median over ``images`` 1024 x 1024 images), decoder ms (median over
    ``clicks``), embedding MB."""
    model = PromptModel(name)
    prompter = Prompter(model, EmbeddingCache())
    rng = np.random.default_rng(0)
    encodes, embedding = [], None
    for _ in range(images):
        pixels = rng.integers(0, 255, (WINDOW, WINDOW, 3), dtype=np.uint8)
        start = time.perf_counter()
        embedding = model.encode(pixels)
        encodes.append(time.perf_counter() - start)
    window = Window(0, 0, WINDOW, WINDOW)
    decodes = []
    for _ in range(clicks):
        x, y = rng.uniform(50, WINDOW - 50, 2)
        start = time.perf_counter()
        prompter.proposal(embedding, window, Prompts([(float(x), float(y))], [INCLUDE]))
        decodes.append(time.perf_counter() - start)
    return {
        "encode_s": statistics.median(encodes),
        "decode_ms": 1000 * statistics.median(decodes),
        "embedding_mb": embedding_bytes(embedding) / 1e6,
    }


def window_figures(name: str, clicks: int) -> dict[str, float]:
    """In the window: the longest gap of a 5 ms timer idle and while a 1024 x 1024 image is
    encoded, and click to proposal drawn."""
    from PIL import Image
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from seggui import app as seggui_app

    folder = Path(tempfile.mkdtemp(prefix="prompt-bench-"))
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (WINDOW, WINDOW, 3), dtype=np.uint8)).save(folder / "a.png")
    qt = seggui_app.application()
    settings = QSettings(str(folder.parent / f"{folder.name}.ini"), QSettings.Format.IniFormat)
    window = seggui_app.start(folder, settings)

    def wait(condition, seconds: float = 120.0) -> None:
        end = time.perf_counter() + seconds
        while not condition():
            qt.processEvents()
            if time.perf_counter() > end:
                raise TimeoutError("the window did not get there")
            time.sleep(0.001)

    wait(lambda: window.state.current is not None)
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    idle_end = time.perf_counter() + 2.0
    wait(lambda: time.perf_counter() > idle_end)
    idle = max(gaps)
    window.prompting.set_model(name)
    gaps.clear()
    last[0] = clock.elapsed()
    window.tool_state.set_tool("prompt")
    wait(lambda: window.prompting._embedding is not None)
    encoding = max(gaps) if gaps else 0.0
    drawn = []
    for _ in range(clicks):
        x, y = (float(v) for v in rng.uniform(50, WINDOW - 50, 2))
        window.prompting.drop()
        start = time.perf_counter()
        window.prompting.add_point(x, y)
        wait(
            lambda: (
                window.prompting.proposal is not None and not window.canvas.proposal_item.pixmap().isNull()
            )
        )
        drawn.append(time.perf_counter() - start)
    timer.stop()
    window.prompting.drop()
    window.close()
    QApplication.processEvents()
    return {
        "idle_stall_ms": idle,
        "encode_stall_ms": encoding,
        "click_to_drawn_ms": 1000 * statistics.median(drawn),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    found = [info.name for info in PROMPT_MODELS if is_cached(info.name)]
    for info in PROMPT_MODELS:
        if info.name not in found:
            print(
                f"missing: {info.title} ({info.name}); fetch it by choosing it in Model > Prompt Model "
                "and pressing O, or `python main.py prompt` with --model, or Load From File",
                file=sys.stderr,
            )
    if not found:
        name = register_stand_in("http://127.0.0.1:9/not-served", Path(tempfile.mkdtemp()) / "made")
        os.environ["HOME"] = tempfile.mkdtemp(prefix="prompt-bench-home-")  # its cache: thrown away
        load_from_files(name, list(stand_in_files(Path(tempfile.mkdtemp())).values()))
        found = [name]
        print("no real model in the cache: measuring the stand-in (its encoder is trivial)", file=sys.stderr)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    print()
    print(
        "| model | encoder s / 1024 x 1024 image | decoder ms / click | MB / cached embedding "
        "| GUI stall idle (baseline) ms | GUI stall while encoding ms | ratio | click to drawn ms "
        "| drawn / decoder |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in found:
        engine = engine_figures(name, args.images, args.clicks)
        shown = window_figures(name, args.clicks)
        print(
            f"| {model_info(name).title} | {engine['encode_s']:.3f} | {engine['decode_ms']:.1f} "
            f"| {engine['embedding_mb']:.1f} | {shown['idle_stall_ms']:.0f} | {shown['encode_stall_ms']:.0f} "
            f"| {shown['encode_stall_ms'] / max(shown['idle_stall_ms'], 1):.2f} "
            f"| {shown['click_to_drawn_ms']:.1f} | {shown['click_to_drawn_ms'] / engine['decode_ms']:.2f} |"
        )
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
