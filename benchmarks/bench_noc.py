"""Router-model speed: an 8x8 mesh (2 VCs x 8 flits, 4-flit packets), uniform traffic at 0.2
flits/node/cycle, 6,000 measured cycles (plus warm-up and drain), best of 3.

    python benchmarks/bench_noc.py [--json] [--out FILE] [--long-cycles N]

Reports wall time, cycles and flit moves (events) per second. Then a long run (``--long-cycles``,
default 300,000 measured cycles at 0.1) and the process's peak RSS: sources draw as the run goes
and measures are running sums, so memory should not grow with cycles. The same load point against
BookSim2, built in the same run, is in ``compare_booksim.py``.
"""
from __future__ import annotations

import argparse
import json
import resource
import time

from common import machine, save
from prismsim.hw.noc import NocParams
from prismsim.sim.traffic import run_load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--long-cycles", type=int, default=300_000)
    args = ap.parse_args()
    noc = NocParams(dims=(8, 8), packet_flits=4, buffer_flits=8)
    run_load(noc, "uniform", 0.05, 500)  # compile and warm caches
    best, p = None, None
    for _ in range(3):
        t0 = time.perf_counter()
        p = run_load(noc, "uniform", 0.2, 6000, seed=1)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    doc = {"benchmark": "noc", "machine": machine(), "mesh": "8x8", "rate": 0.2, "measured_cycles": 6000,
           "cycles": p.cycles, "events": p.events, "wall_s": round(best, 3),
           "events_per_s": round(p.events / best), "us_per_cycle": round(best / p.cycles * 1e6, 2),
           "accepted": round(p.accepted, 4), "avg_packet_latency_cycles": round(p.avg_packet_latency, 1)}
    t0 = time.perf_counter()
    long = run_load(noc, "uniform", 0.1, args.long_cycles, seed=1)
    doc["long_run"] = {"rate": 0.1, "measured_cycles": args.long_cycles, "packets": long.packets,
                       "wall_s": round(time.perf_counter() - t0, 2),
                       "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    save(doc, args.out)
    lr = doc["long_run"]
    print(json.dumps(doc) if args.json else
          f"8x8 mesh, uniform 0.2 flits/node/cycle, {doc['cycles']:,} cycles, {doc['events']:,} flit moves: "
          f"{doc['wall_s']} s (best of 3), {doc['events_per_s']:,} events/s, {doc['us_per_cycle']} us/cycle; "
          f"accepted {doc['accepted']}, latency {doc['avg_packet_latency_cycles']} cycles\n"
          f"long run: {lr['measured_cycles']:,} cycles at 0.1, {lr['packets']:,} packets, {lr['wall_s']} s, "
          f"peak RSS {lr['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
