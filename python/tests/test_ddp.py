"""DistributedDataParallel (gloo, 2 local processes): python/examples/ddp_train.py run with two
ranks and with one process on the concatenated batch."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ddp_train.py"


def run(world_size, out):
    subprocess.run([sys.executable, str(EXAMPLE), "--world-size", str(world_size), "--steps", "4",
                    "--out", str(out)], check=True, timeout=300)
    return json.loads(out.read_text())


def test_two_ranks_equal_one_process_on_the_whole_batch(tmp_path):
    two = run(2, tmp_path / "two.json")
    one = run(1, tmp_path / "one.json")
    assert two["ranks_identical"]
    moved = 0.0
    for name, values in one["parameters"].items():
        other = two["parameters"][name]
        scale = max(abs(v) for v in values)
        assert max(abs(a - b) for a, b in zip(values, other)) <= 1e-5 * scale, name
        if name == "scattering.log_sigma":
            initial = [math.log(0.8)] * 4 + [math.log(1.6)] * 4
            moved = max(abs(v - s) for v, s in zip(values, initial))
    assert moved > 1e-4  # the filters were trained, not just compared at their initial values
