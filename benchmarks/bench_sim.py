"""Event-driven simulator throughput, scaling and memory, against bare SimPy in the same run.

    python benchmarks/bench_sim.py [--quick] [--json] [--out FILE] [--trace-events N]

* bare SimPy: one process yielding 10^6 timeouts; events/s.
* full models on the default chip (``hybrid``, greedy mapping): wall time (plan + simulation),
  events (SimPy's plus the network's own), events/s and the ratio to bare SimPy.
* scaling with sequence length (Pythia-70M, 1 -> 1024 tokens: 1.2*10^4 -> 1.8*10^7 events) and
  with chip size (ResNet-18 on k x k meshes of ReRAM PEs, 16 -> 1024 PEs, curve placement with
  duplication, unrefined so mapping time stays small): simulation time per event. Runs of up to 64
  tokens and the chip-size runs are repeated (best of at least 3 and of at least a second in all,
  as ``timeit`` does); ``us_per_event_spread`` is the spread around the median over the runs of
  10^4 to 10^6 events, ``linear_fit`` the same runs' time as a fixed part plus a cost per event.
  ``smallest_run``: where the 1-token run's time goes (``small_run_breakdown``).
* ResNet-18 on ``reram-only``, event by event (issue 10: >= 30x sooner than ZigZag's 137.6 s).
* peak RSS of ``--trace-events`` packet-level trace rows streamed to a CSV (default 10^7; skipped
  with --quick).

``--quick`` (under a minute): bare SimPy, Pythia-70M and the sequence-length scaling up to 256.
Per-event figures use simulation time only; ``wall_s`` adds mapping and plan building.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time

import numpy as np
import simpy

from common import best_of, machine, save
from prismsim.hw.spec import load_arch, parse_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.result import summarize
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan
from prismsim.traces import CsvRecorder


def bare_simpy(n: int = 1_000_000) -> float:
    env = simpy.Environment()

    def proc():
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t0)


def run(arch, wl, strategy: str = "greedy", repeat: bool = False, **opts) -> dict:
    """Map, plan and simulate ``wl``; ``repeat``: simulation time is a best of (``best_of``)."""
    t0 = time.perf_counter()
    plan = build_plan(arch, wl, make_mapping(strategy, wl, arch, **opts))
    plan_s = time.perf_counter() - t0
    sim, (res, tl), runs = best_of(lambda: simulate_plan(plan, trace="none"), repeat)
    return {"model": wl.name, "arch": arch.name, "jobs": len(plan.jobs), "transfers": len(plan.transfers),
            "packets": tl.packets, "events": tl.sim_events, "plan_s": round(plan_s, 3), "sim_s": round(sim, 5),
            "runs": runs, "wall_s": round(plan_s + sim, 3), "events_per_s": round(tl.sim_events / sim),
            "us_per_event": round(sim / tl.sim_events * 1e6, 3), "latency_ps": res.latency_ps}


def linear_fit(runs: list[dict]) -> dict:
    """Least-squares fit of simulation time = fixed + slope x events over ``runs``: the fixed
    part (ms; per run: setup, accounting), the cost of one more event (us) and the largest
    residual relative to a run's time. Linear scaling shows as small residuals."""
    ev = np.array([r["events"] for r in runs], dtype=float)
    t = np.array([r["sim_s"] for r in runs])
    slope, fixed = np.polyfit(ev, t, 1)
    return {"fixed_ms": round(fixed * 1e3, 2), "us_per_event": round(slope * 1e6, 3),
            "max_residual": round(float(np.max(np.abs(fixed + slope * ev - t) / t)), 3)}


def small_run_breakdown(arch, wl) -> dict:
    """Where a small run's time goes (ms, best of): the whole simulation; the same with an ideal
    NoC (the engine's own work — dependency counters, job and transfer callbacks — plus one
    network event per transfer); and the final accounting (``summarize``) alone."""
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    sim, (_, tl), _ = best_of(lambda: simulate_plan(plan, trace="none"))
    ideal, _, _ = best_of(lambda: simulate_plan(plan, trace="none", ideal_noc=True))
    summ, _, _ = best_of(lambda: summarize(plan, "des", tl.job_start, tl.job_end, tl.tr_issue, tl.tr_end))
    return {"model": wl.name, "jobs": len(plan.jobs), "transfers": len(plan.transfers), "packets": tl.packets,
            "events": tl.sim_events, "sim_ms": round(sim * 1e3, 2), "ideal_noc_ms": round(ideal * 1e3, 2),
            "summarize_ms": round(summ * 1e3, 2)}


def mesh_arch(k: int):
    """k x k mesh of ReRAM PEs (768 crossbars each), 4 digital units, HBM at a corner."""
    return parse_arch({
        "name": f"reram-mesh-{k}x{k}", "noc": {"dims": [k, k]}, "dram": {"position": [0, 0]},
        "global_buffer": {"position": [k - 1, k - 1]},
        "units": [{"name": "pe", "kind": "reram", "count": k * k, "params": {"crossbars": 768}},
                  {"name": "dg", "kind": "digital", "count": 4,
                   "positions": [[k // 4, k // 4], [3 * k // 4, k // 4], [k // 4, 3 * k // 4], [3 * k // 4, 3 * k // 4]]}],
    }, "bench")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--trace-events", type=int, default=10_000_000)
    args = ap.parse_args()
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    hybrid = load_arch("hybrid")
    bare = bare_simpy()
    log(f"bare SimPy: {bare:,.0f} events/s")
    models = ["pythia-70m"] if args.quick else ["pythia-70m", "bert-base", "resnet50", "mobilevit-s"]
    full = []
    for m in models:
        r = run(hybrid, ZOO[m]())
        r["ratio"] = round(r["events_per_s"] / bare, 3)
        full.append(r)
        log(f"{m} on hybrid: {r['wall_s']} s, {r['events']:,} events, {r['events_per_s']:,} events/s "
            f"({100 * r['ratio']:.0f}% of bare SimPy)")
    seqs = [1, 2, 4, 8, 16, 32, 48, 60, 64, 128, 256] + ([] if args.quick else [512, 1024])
    seq_scaling = []
    for n in seqs:
        r = run(hybrid, ZOO["pythia-70m"](seq_len=n), repeat=n <= 64)
        seq_scaling.append({"seq_len": n, **{k: r[k] for k in ("events", "transfers", "packets", "runs", "sim_s",
                                                              "us_per_event")}})
        log(f"pythia-70m seq {n}: {r['events']:,} events, {r['transfers']} transfers, {r['sim_s']} s "
            f"(best of {r['runs']}), {r['us_per_event']} us/event")
    doc = {"benchmark": "sim", "machine": machine(),
           "bare_simpy_events_per_s": round(bare), "full_models": full, "seq_scaling": seq_scaling}
    in_range = [x["us_per_event"] for x in seq_scaling if 10 ** 4 <= x["events"] <= 10 ** 6]
    med = round(statistics.median(in_range), 4)
    doc["us_per_event_median"] = med
    doc["us_per_event_spread"] = [round(min(in_range) / med - 1, 3), round(max(in_range) / med - 1, 3)]
    log(f"per event over 10^4..10^6 events: median {med} us, spread {doc['us_per_event_spread']}")
    doc["linear_fit"] = fit = linear_fit([x for x in seq_scaling if 10 ** 4 <= x["events"] <= 10 ** 6])
    log(f"sim time = {fit['fixed_ms']} ms + {fit['us_per_event']} us x events (largest residual "
        f"{100 * fit['max_residual']:.1f}%)")
    b = doc["smallest_run"] = small_run_breakdown(hybrid, ZOO["pythia-70m"](seq_len=seqs[0]))
    log(f"{b['model']}: {b['sim_ms']} ms, {b['ideal_noc_ms']} ms with an ideal NoC, summarize {b['summarize_ms']} ms "
        f"({b['jobs']} jobs, {b['transfers']} transfers, {b['packets']} packets)")
    doc["events_per_s"] = full[0]["events_per_s"]
    doc["ratio"] = full[0]["ratio"]
    if not args.quick:
        chip = []
        for k in (4, 8, 16, 32):
            r = run(mesh_arch(k), ZOO["resnet18"](), "placement", repeat=True, refine=0)
            chip.append({"units": k * k + 4, **{x: r[x] for x in ("events", "wall_s", "us_per_event", "latency_ps")}})
            log(f"resnet18 on {k}x{k} ReRAM mesh: {r['events']:,} events, {r['wall_s']} s, {r['us_per_event']} us/event")
        doc["chip_scaling"] = chip
        r18 = run(load_arch("reram-only"), ZOO["resnet18"](), "homogeneous")
        doc["resnet18_reram_only_wall_s"] = r18["wall_s"]
        doc["zigzag_speedup"] = round(137.6 / r18["wall_s"], 1)
        log(f"resnet18 on reram-only: {r18['wall_s']} s ({doc['zigzag_speedup']}x sooner than ZigZag's 137.6 s)")
        doc["trace"] = trace_memory(args.trace_events, log)
    doc["peak_rss_mb"] = round(peak_rss_mb(), 1)
    save(doc, args.out)
    if args.json:
        print(json.dumps(doc))


class _Capped(CsvRecorder):
    """Stops the run (by exception) once ``cap`` rows are written."""

    class Full(Exception):
        pass

    def __init__(self, path, cap: int):
        super().__init__(path)
        self.cap = cap

    def row(self, *a) -> None:
        super().row(*a)
        if self.rows >= self.cap:
            raise self.Full


def trace_memory(n: int, log) -> dict:
    """Stream packet-level rows of BERT-base runs to a CSV until ``n`` rows; peak RSS."""
    arch = load_arch("hybrid")
    wl = ZOO["bert-base"](seq_len=512)
    plan = build_plan(arch, wl, make_mapping("equal", wl, arch))
    before = peak_rss_mb()
    with tempfile.TemporaryDirectory() as d:
        rows, t0 = 0, time.perf_counter()
        while rows < n:
            rec = _Capped(os.path.join(d, "events.csv"), n - rows)
            try:
                simulate_plan(plan, recorder=rec, trace="packets")
            except _Capped.Full:
                pass
            rec.close()
            rows += rec.rows
            size = os.path.getsize(os.path.join(d, "events.csv"))
        out = {"rows": rows, "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
               "peak_rss_before_mb": round(before, 1), "last_csv_mb": round(size / 2 ** 20, 1)}
    log(f"{rows:,} packet-level trace rows streamed: peak RSS {out['peak_rss_mb']} MB")
    return out


if __name__ == "__main__":
    main()
