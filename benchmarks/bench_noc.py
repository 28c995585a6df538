"""NoC packet-model speed: an 8x8 mesh, uniform traffic at 0.2 flits/node/cycle for 6,000 cycles.

    python benchmarks/bench_noc.py [--json] [--out FILE]

Reference point (issue 4): a C++ cycle-level simulator takes 0.6 s for this on the 2-core
development machine; the target is about a second or less.
"""
from __future__ import annotations

import argparse
import json
import time

from common import machine, save
from prismsim.hw.noc import NocParams
from prismsim.sim.traffic import run_load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    noc = NocParams(dims=(8, 8), packet_flits=4, buffer_flits=8)
    run_load(noc, "uniform", 0.05, 500)  # warm caches
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        p = run_load(noc, "uniform", 0.2, 6000, seed=1)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    flits = p.packets * noc.packet_flits / 0.9  # measured packets exclude the 10% warm-up
    doc = {"benchmark": "noc", "machine": machine(),
           "mesh": "8x8", "rate": 0.2, "cycles": 6000, "approx_flits": round(flits), "wall_s": round(best, 3),
           "accepted": round(p.accepted, 4), "avg_packet_latency_cycles": round(p.avg_packet_latency, 1)}
    save(doc, args.out)
    print(json.dumps(doc) if args.json else
          f"8x8 mesh, uniform 0.2 flits/node/cycle, 6000 cycles (~{doc['approx_flits']:,} flits): "
          f"{doc['wall_s']} s (best of 3); accepted {doc['accepted']}, latency {doc['avg_packet_latency_cycles']} cycles")


if __name__ == "__main__":
    main()
