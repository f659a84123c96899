from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("preset", ["fast", "lite0"])
def test_two_process_gloo_training_ends_with_identical_weights(tmp_path, preset):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(ROOT / "tests" / "model" / "ddp_worker.py"),
        str(tmp_path),
        preset,
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    assert torch.load(tmp_path / "steps0.pt") == torch.load(tmp_path / "steps1.pt") == 4
    # Training moved the weights away from their (seeded, shared) initial values.
    assert any(not torch.equal(rank0[n], torch.zeros_like(rank0[n])) for n in rank0 if "running_mean" in n)
