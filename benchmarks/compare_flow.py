"""The flow-level network's error against the flit-level router model (issue 28: goal 5%).

    python benchmarks/compare_flow.py [--quick] [--out FILE.json]

Every zoo model on ``hybrid`` (greedy, sequential schedule, default sizes), six on the 3D, 2.5D and
Floret manycore presets, and three on ``cmswitch`` under its own strategy (pipelined segments,
weight reloads, memory-mode arrays), each simulated with ``--noc router`` and ``--noc flow`` on
the same plan: the latencies, the flow model's relative error and both wall times (what
``prismsim validate --noc flow`` reports for one run).
"""
from __future__ import annotations

import argparse
import time

from common import machine, save
from prismsim.hw.spec import load_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan

MANYCORE_MODELS = ("pythia-70m", "bert-base", "mobilevit-s", "resnet18", "resnet50", "mlp")
CMSWITCH_MODELS = ("bert-base", "resnet18", "pythia-70m")


def compare(arch_name: str, model: str, strategy: str = "greedy") -> dict:
    arch, wl = load_arch(arch_name), ZOO[model]()
    plan = build_plan(arch, wl, make_mapping(strategy, wl, arch))
    t0 = time.perf_counter()
    router, _ = simulate_plan(plan, trace="none")
    t1 = time.perf_counter()
    flow, _ = simulate_plan(plan, trace="none", noc="flow")
    t2 = time.perf_counter()
    return {"arch": arch_name, "model": model, "router_us": round(router.latency_ps / 1e6, 3),
            "flow_us": round(flow.latency_ps / 1e6, 3), "error": round(flow.latency_ps / router.latency_ps - 1, 4),
            "router_s": round(t1 - t0, 2), "flow_s": round(t2 - t1, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="hybrid only")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    runs = [("hybrid", m, "greedy") for m in ZOO]
    if not args.quick:
        runs += [(a, m, "greedy") for a in ("manycore-3d", "manycore-2.5d", "manycore-floret") for m in MANYCORE_MODELS]
        runs += [("cmswitch", m, "cmswitch") for m in CMSWITCH_MODELS]
    rows = []
    for a, m, strategy in runs:
        r = compare(a, m, strategy)
        rows.append(r)
        print(f"{a:14s} {m:18s} router {r['router_us']:10.2f} us  flow {r['flow_us']:10.2f} us  "
              f"error {100 * r['error']:+6.2f}%  ({r['router_s']} s / {r['flow_s']} s)", flush=True)
    worst = max(rows, key=lambda r: abs(r["error"]))
    print(f"largest error {100 * worst['error']:+.2f}% ({worst['model']} on {worst['arch']})")
    save({"benchmark": "flow vs router", "machine": machine(), "rows": rows}, args.out)


if __name__ == "__main__":
    main()
