"""Throughput of the functional kernels against numpy float matmul measured in the same run.

    python benchmarks/bench_kernels.py [--batch 1024] [--json] [--out FILE]

For 128x128 and 256x256 weight matrices (8-bit weights, 2-bit cells, differential, 8 bit-serial
input steps, 8-bit ADC, 128-row crossbars): vectors/s of the bit-accurate crossbar kernel with
and without read noise (PCM model, t = 1 day), of the float surrogate and of the photonic
kernel, each divided by numpy float64 and float32 matmul on the same batch. Target (issue 3):
bit-accurate with read noise >= 1/150 of float matmul.
"""
from __future__ import annotations

import argparse
import json
import time
from functools import partial

import numpy as np

from common import machine, save
from prismsim.hw import kernels as K
from prismsim.hw import noise as N


def rate(fn, batch: int, min_s: float = 0.5) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_s:
            return batch * n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None, help="write the JSON here too")
    args = ap.parse_args()
    K.warm_up()
    rng = np.random.default_rng(0)
    rows = []
    for n in (128, 256):
        w = rng.integers(-127, 128, (n, n))
        x = rng.integers(-127, 128, (args.batch, n))
        w64, x64 = w.astype(np.float64), x.astype(np.float64)
        w32, x32 = w.astype(np.float32), x.astype(np.float32)
        xb = K.program_crossbar(w, 8, 2, "differential", partial(N.program_cells, t_s=86400.0, rng=rng))
        f64 = rate(lambda: x64 @ w64.T, args.batch)
        f32 = rate(lambda: x32 @ w32.T, args.batch)
        kernels = {
            "bit_accurate": lambda: K.crossbar_mvm(xb, x, read_noise=False),
            "bit_accurate_read_noise": lambda: K.crossbar_mvm(xb, x, read_noise=True),
            "surrogate_read_noise": lambda: K.crossbar_surrogate(xb, x, read_noise=True),
            "photonic_phase_noise": lambda: K.photonic_mvm(w64, x64, sigma=0.01, crosstalk=0.005),
        }
        for name, fn in kernels.items():
            r = rate(fn, args.batch)
            rows.append({"size": f"{n}x{n}", "kernel": name, "vectors_per_s": round(r),
                         "float64_matmul_per_s": round(f64), "float32_matmul_per_s": round(f32),
                         "ratio_vs_float64": f"1/{f64 / r:.0f}", "ratio_vs_float32": f"1/{f32 / r:.0f}"})
    doc = {"benchmark": "kernels", "machine": machine(), "batch": args.batch, "results": rows}
    save(doc, args.out)
    if args.json:
        print(json.dumps(doc))
    else:
        print("| size | kernel | vectors/s | vs float64 matmul | vs float32 matmul |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['size']} | {r['kernel']} | {r['vectors_per_s']:,} | {r['ratio_vs_float64']} | {r['ratio_vs_float32']} |")


if __name__ == "__main__":
    main()
