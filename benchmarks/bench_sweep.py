"""Sweep scaling: the same 200-point analytical sweep on 1 and 2 local workers (issue 8).

    python benchmarks/bench_sweep.py [--json] [--out FILE]

Target: 2 workers >= 1.7x faster than 1. Worker start-up (imports) is included, as users see it.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import machine, save
from prismsim.sim.sweep import load_sweep, run_sweep

SWEEP = """
base: hybrid
models: ["pythia-70m?seq_len=64", resnet18]
strategies: [greedy, equal]
axes:
  noc.link_width_bits: [64, 128, 256, 512, 1024]
  units.1.params.adc_bits: [4, 5, 6, 7, 8]
  units.0.params.tiles: [2, 4]
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "s.yaml"
        f.write_text(SWEEP)
        spec = load_sweep(f)
        times = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            run_sweep(spec, Path(d) / f"w{w}", w, progress=False)
            times[w] = time.perf_counter() - t0
    doc = {"benchmark": "sweep", "machine": machine(),
           "points": len(spec["points"]), "wall_1_worker_s": round(times[1], 2),
           "wall_2_workers_s": round(times[2], 2), "speedup": round(times[1] / times[2], 2)}
    save(doc, args.out)
    print(json.dumps(doc) if args.json else
          f"{doc['points']} points: 1 worker {doc['wall_1_worker_s']} s, 2 workers {doc['wall_2_workers_s']} s "
          f"({doc['speedup']}x)")


if __name__ == "__main__":
    main()
