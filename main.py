"""SegGUI entry point: the labelling window by default, or a CLI command (train, predict, ...)."""

from __future__ import annotations

import sys

from seggui.launcher import main

if __name__ == "__main__":
    sys.exit(main())
