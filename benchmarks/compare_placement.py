"""Dataflow-aware placement against naive placements, 2.5D against 3D (DATE'24 manycore).

    python benchmarks/compare_placement.py [--models resnet50,bert-base] [--out FILE.json]

Simulates each model event by event on ``manycore-3d`` and ``manycore-2.5d`` with the
``placement`` strategy: the dataflow-aware default (curve packing + traffic-aware refinement)
against the curve packing alone, row-major and random packing (both unrefined), and prints a
markdown table of latency, NoC energy, bytes x hops and mean transfer latency.
"""
from __future__ import annotations

import argparse
import json
import time

from prismsim.hw.spec import load_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan

VARIANTS = {
    "dataflow-aware (curve + refine)": {},
    "curve, unrefined": {"refine": 0},
    "row-major (naive)": {"order": "rowmajor", "refine": 0},
    "random (naive)": {"order": "random", "refine": 0},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet50,bert-base")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for model in args.models.split(","):
        wl = ZOO[model]()
        for preset in ("manycore-3d", "manycore-2.5d"):
            arch = load_arch(preset)
            for label, opts in VARIANTS.items():
                t0 = time.perf_counter()
                res, _ = simulate_plan(build_plan(arch, wl, make_mapping("placement", wl, arch, **opts)))
                rows.append({"model": model, "arch": preset, "placement": label,
                             "latency_us": round(res.latency_ps / 1e6, 1),
                             "noc_energy_uj": round(res.energy_breakdown_pj["noc"] / 1e6, 1),
                             "noc_byte_hops": res.noc_byte_hops,
                             "avg_transfer_ns": round(res.noc_avg_transfer_ps / 1e3),
                             "wall_s": round(time.perf_counter() - t0, 1)})
                print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)
    print("\n| model | arch | placement | latency (us) | NoC energy (uJ) | bytes x hops | mean transfer (ns) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['arch']} | {r['placement']} | {r['latency_us']:,} | {r['noc_energy_uj']:,} | "
              f"{r['noc_byte_hops']:.3g} | {r['avg_transfer_ns']:,} |")


if __name__ == "__main__":
    main()
