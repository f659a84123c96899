"""Run by ``test_memory_of_a_huge_image_that_failed_to_open_is_released`` in a fresh process:
opens a large image on a worker thread the way the app does, fails it after decoding, and
prints the resident memory before and after (in MB)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image

import seggui.controllers.loading as loading
from model.classes import default_classes
from model.errors import SegGUIError


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def main() -> None:
    image, trim = Path(sys.argv[1]), sys.argv[2] == "trim"
    Image.fromarray(np.full((8000, 8000, 3), 60, np.uint8)).save(image, compress_level=1)

    def out_of_memory(*args):
        raise MemoryError

    loading.composite = out_of_memory  # fails after the decode, as a display of 30000 x 30000 did
    if not trim:
        loading.release_freed_memory = lambda: None
    before = resident_mb()
    messages = []
    for _ in range(2):

        def load() -> None:
            try:
                loading.load_image(image, image.with_name("none.png"), tuple(default_classes(2)))
            except SegGUIError as exc:
                messages.append(str(exc))

        worker = threading.Thread(target=load)  # as the window's job pool runs it
        worker.start()
        worker.join()
    assert len(messages) == 2 and "not enough memory" in messages[0], messages
    print(f"{before:.0f} {resident_mb():.0f}")


if __name__ == "__main__":
    main()
