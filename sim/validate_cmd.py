"""``prismsim validate``: the analytical model (or the flow-level network) against the
event-driven run, in total and per layer."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from prismsim.mapper.analytical import analytical_times, analyze_plan

from .engine import simulate_plan
from .output import atomic_dir, critical_parts, default_run_dir, fmt_ps, write_csv
from .selection import plan_of, select, shares


def _validate_flow(args, out, arch, wl, mapping, plan) -> int:
    """The flow-level network against the router model: latency per layer and in total."""
    ref, _ = simulate_plan(plan, trace="none", progress=not args.no_progress)
    t0 = time.perf_counter()
    flow, _ = simulate_plan(plan, trace="none", noc="flow")
    wall = time.perf_counter() - t0
    rows, worst = [], ("", 0.0)
    for name in wl.order:
        a, b = ref.per_layer[name], flow.per_layer[name]
        span_a, span_b = a["end_ps"] - a["start_ps"], b["end_ps"] - b["start_ps"]
        err = (span_b - span_a) / span_a if span_a else 0.0
        if abs(err) > abs(worst[1]):
            worst = (name, err)
        rows.append([name, a["start_ps"], a["end_ps"], b["start_ps"], b["end_ps"], format(err, ".6g")])
    err = (flow.latency_ps - ref.latency_ps) / ref.latency_ps if ref.latency_ps else 0.0
    rows.append(["TOTAL", 0, ref.latency_ps, 0, flow.latency_ps, format(err, ".6g")])
    with atomic_dir(out) as d:
        write_csv(d / "validation.csv", ["layer", "router_start_ps", "router_end_ps", "flow_start_ps",
                                         "flow_end_ps", "rel_error"], rows)
    print(f"{wl.name} on {arch.label}, strategy {mapping.strategy}, {mapping.schedule.kind}: flow-level network "
          f"against the router model")
    print(f"  latency  router {fmt_ps(ref.latency_ps)}  flow {fmt_ps(flow.latency_ps)}  error {100 * err:+.2f}%  "
          f"(flow run {wall:.2f} s)")
    print(f"  layers   largest error {100 * worst[1]:+.2f}% ({worst[0] or '-'}); per layer in validation.csv")
    print(f"  wrote    {out}/validation.csv")
    return 0


def cmd_validate(args) -> int:
    arch, wl, mapping = select(args)
    out = Path(args.out) if args.out else default_run_dir("-validate")
    plan = plan_of(args, arch, wl, mapping)
    if args.noc == "flow":
        return _validate_flow(args, out, arch, wl, mapping, plan)
    an_times = analytical_times(plan, args.ideal_noc)
    an = analyze_plan(plan, ideal_noc=args.ideal_noc, times=an_times)
    des, tl = simulate_plan(plan, ideal_noc=args.ideal_noc, progress=not args.no_progress)
    an_path = critical_parts(plan, an_times, an.latency_ps, ideal_noc=args.ideal_noc)
    des_path = critical_parts(plan, tl.times, des.latency_ps, tl.unit_prev, args.ideal_noc)

    def rel(a: float, b: float) -> float:
        return abs(a - b) / abs(b) if b else float(a != b)

    rows = []
    for name in wl.order:
        a, s = an.per_layer[name], des.per_layer[name]
        rows.append([name, a["start_ps"], a["end_ps"], s["start_ps"], s["end_ps"],
                     format(rel(s["end_ps"] - s["start_ps"], a["end_ps"] - a["start_ps"]), ".6g")])
    lat_err, e_err = rel(des.latency_ps, an.latency_ps), rel(des.energy_pj, an.energy_pj)
    rows.append(["TOTAL", 0, an.latency_ps, 0, des.latency_ps, format(lat_err, ".6g")])
    with atomic_dir(out) as d:
        write_csv(d / "validation.csv", ["layer", "analytical_start_ps", "analytical_end_ps", "des_start_ps",
                                         "des_end_ps", "rel_error"], rows)
        write_csv(d / "critical_path.csv", ["part", "analytical_ps", "des_ps"],
                  ([k, an_path.get(k, 0), des_path.get(k, 0)] for k in sorted(set(an_path) | set(des_path))))
    noc = "ideal NoC (no contention, infinite bandwidth)" if args.ideal_noc else "real NoC"
    print(f"{wl.name} on {arch.label}, strategy {mapping.strategy}, {mapping.schedule.kind}, {noc}")
    print(f"  latency  analytical {fmt_ps(an.latency_ps)}  event-driven {fmt_ps(des.latency_ps)}  "
          f"error {100 * lat_err:.4f}%")
    print(f"  energy   analytical {an.energy_pj / 1e6:,.3f} uJ  event-driven {des.energy_pj / 1e6:,.3f} uJ  "
          f"error {100 * e_err:.4f}%")
    if an.latency_ps and des.latency_ps:
        print(f"  critical path  analytical   {shares(an_path, an.latency_ps)}")
        print(f"                 event-driven {shares(des_path, des.latency_ps)}")
    print(f"  wrote    {out}/validation.csv, critical_path.csv")
    queued = des.stall_ps.get("unit_busy", 0)
    if queued:  # the one contention an ideal NoC leaves: jobs of overlapping layers sharing a unit
        print(f"  unit contention: jobs waited {fmt_ps(queued)} in all for busy units (layers sharing units "
              f"overlap); the analytical model has no queues")
    if args.ideal_noc and (lat_err > 1e-3 or e_err > 1e-3):
        why = "; units were contended, so contention was not all removed" if queued else ""
        print(f"prismsim: validation failed: analytical and event-driven differ by more than 0.1%{why}", file=sys.stderr)
        return 1
    return 0
