#!/usr/bin/env python3
"""kymatio 0.3.0's torch frontend on one device, the reference for the layer's fixed forward
(`benches/gpu.sh` runs it on CUDA beside `examples/layer_costs --device wgpu`).

For each case (3x32x32 J=2 and 1x128x128 J=4 by default; L=8, batch 128) it times the forward
of `kymatio.torch.Scattering2D` on a float32 batch: the upload of the input and the download of
the output inside the timed region (as a user pays them), the device synchronised before each
clock read, one warm-up run reported apart, then the best and the median of `--repeats` runs.
Prints one JSON line per case.

kymatio 0.3.0 imports its 3D frontend, which imports `scipy.special.sph_harm`, removed in SciPy
1.17; the 2D transform never calls it. With a newer SciPy this script defines a stand-in that
raises if called, and says so in its output.

    python3 benches/kymatio_torch_gpu.py [--device cuda] [--batch 128] [--repeats 10]
"""
import argparse
import json
import statistics
import time

import numpy as np
import scipy.special
import torch

SPH_HARM_SHIM = not hasattr(scipy.special, "sph_harm")
if SPH_HARM_SHIM:

    def _sph_harm_unavailable(*args, **kwargs):
        raise RuntimeError("scipy.special.sph_harm stand-in: the 2D transform never calls it")

    scipy.special.sph_harm = _sph_harm_unavailable

import kymatio  # noqa: E402
from kymatio.torch import Scattering2D  # noqa: E402

CASES = {"3x32x32": (3, 32, 2), "1x128x128": (1, 128, 4)}


def timed(device, f):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    f()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    args = parser.parse_args()
    device = torch.device(args.device)
    for name in args.case or list(CASES):
        c, size, j = CASES[name]
        rng = np.random.default_rng(0)
        x = torch.from_numpy(rng.random((args.batch, c, size, size), dtype=np.float32))
        t = time.perf_counter()
        scattering = Scattering2D(J=j, shape=(size, size), L=8).to(device)
        build = time.perf_counter() - t

        def forward():
            return scattering(x.to(device)).cpu()

        warm_up = timed(device, forward)
        runs = sorted(timed(device, forward) for _ in range(max(args.repeats, 1)))
        peak = (
            torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        )
        print(
            json.dumps(
                {
                    "frontend": "kymatio.torch",
                    "kymatio": kymatio.__version__,
                    "torch": torch.__version__,
                    "device": torch.cuda.get_device_name(device)
                    if device.type == "cuda"
                    else args.device,
                    "sph_harm_stand_in": SPH_HARM_SHIM,
                    "case": name,
                    "J": j,
                    "L": 8,
                    "batch": args.batch,
                    "build_s": round(build, 5),
                    "warm_up_s": round(warm_up, 5),
                    "best_s": round(runs[0], 5),
                    "median_s": round(statistics.median(runs), 5),
                    "images_per_s_best": round(args.batch / runs[0], 1),
                    "peak_torch_allocated_mib": peak,
                }
            )
        )


if __name__ == "__main__":
    main()
