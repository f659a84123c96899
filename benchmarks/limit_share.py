"""How much of a time limit trains, through the command line as a user runs it (issue #39).

    python benchmarks/limit_share.py [--limits 120,600,1800] [--sets camvid,membrane]

For each data set of ``../shared/data`` and each limit, ``python main.py train --time-budget
LIMIT`` runs as a process with the default settings (CamVid's labels folder and void value 11
as its README says; membranes as they come). Measured from the process's start to its exit,
the way a user's clock runs: the time the run took against the limit (the baseline: the target
is 97-102 % of it), its training steps, the share of the limit spent in training steps (from
the model's own history), and what the summary says was scored. Run it alone: it is the
machine's speed that fills the limit.

Prints a Markdown table with the CPU it ran on.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.networks.checkpoint import load_checkpoint  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = {
    "camvid": ["--images", "camvid/train/images", "--masks", "camvid/train/labels", "--ignore-value", "11"],
    "membrane": ["--images", "membrane/images", "--masks", "membrane/masks"],
}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(name: str, limit: float) -> dict[str, object]:
    """One ``train`` with a time limit, as a process; what it took and did."""
    args = [str(DATA / a) if a.startswith(("camvid/", "membrane/")) else a for a in SETS[name]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.pt"
        command = [sys.executable, str(ROOT / "main.py"), "train", *args]
        command += ["--time-budget", str(int(limit)), "--out", str(out)]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit * 3 + 300)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{name} {limit}: exit {done.returncode}\n{done.stderr[-2000:]}")
        history = load_checkpoint(out).history
    last = history[-1] if history else {}
    summary = done.stdout.strip().splitlines()[-1]
    scored = next((part.strip() for part in summary.split(";") if "scored" in part), "?")
    return {
        "took": took,
        "steps": int(last.get("step", 0)),
        "train_s": float(last.get("train_s", 0.0)),
        "scored": scored,
        "miou": float(last.get("mean_iou", float("nan"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="120,600,1800")
    parser.add_argument("--sets", default="camvid,membrane")
    args = parser.parse_args()
    limits = [float(x) for x in args.limits.split(",")]
    sets = args.sets.split(",")
    print(f"\nOn {cpu_name()}, {platform.python_version()}, `python main.py train --time-budget LIMIT`\n")
    print("| data | limit | took | share of the limit (target 97-102 %) | steps | in training steps | "
          "last mIoU | the summary says |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for limit in limits:
        for name in sets:
            r = run(name, limit)
            took = float(r["took"])  # type: ignore[arg-type]
            print(
                f"| {name} | {limit:.0f} s | {took:.1f} s | {100 * took / limit:.1f} % | {r['steps']} | "
                f"{100 * float(r['train_s']) / limit:.0f} % | {float(r['miou']):.3f} | {r['scored']} |",  # type: ignore[arg-type]
                flush=True,
            )


if __name__ == "__main__":
    main()
