"""Scale (issue 28): thousand-unit manycores and billion-parameter LLMs, on both network models.

    python benchmarks/bench_scale.py [--quick] [--out FILE.json]

Each run is its own process (its peak RSS is its own): map (greedy, which chooses how many units
each layer uses), build the plan, simulate with ``--noc router`` (flit level) or ``--noc flow``
(max-min fair flows). Rows: Pythia-70M on k x k meshes of ReRAM PEs with 4 digital units
(``bench_sim.mesh_arch``; 16 to 4,096 PEs), and Llama-style models on ``hybrid`` (``hf:llama``
configs: 1.1B = hidden 2048, 22 layers; 7B = hidden 4096, 32 layers; prefill of 128 tokens, and
the 1.1B decoding 128 tokens: as one plan, and step by step with every 8th / 32nd step simulated,
``prismsim decode --stride``, import and tracing included in its wall time). Targets (issue 28, flow model): 7B prefill <= 20 s, the 1.1B with
128 decode tokens <= 60 s, Pythia-70M on 1,024 units <= 10 s; 1,024 units <= 60 s and <= 1 GB.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import machine, save

LLAMA_1B = "hf:llama?hidden_size=2048&num_hidden_layers=22&intermediate_size=5632&num_attention_heads=32&num_key_value_heads=4"
LLAMA_7B = "hf:llama?hidden_size=4096&num_hidden_layers=32&intermediate_size=11008&num_attention_heads=32&num_key_value_heads=32"


def sampled_decode(case: dict) -> dict:
    """``prismsim decode``: every ``stride``-th step simulated alone (importing each included), the
    rest linear between; wall time in s (all of it), peak RSS in MB."""
    from prismsim.hw.spec import load_arch
    from prismsim.sim.llm_steps import decode

    t0 = time.perf_counter()
    run = decode(load_arch(case["arch"]), case["model"], case["prompt"], case["tokens"], case["stride"],
                 noc=case["noc"])
    wall = time.perf_counter() - t0
    return {**case, "steps_simulated": sum(s["simulated"] for s in run.steps), "wall_s": round(wall, 2),
            "latency_us": round(run.latency_ps / 1e6, 2), "energy_uj": round(run.energy_pj / 1e6, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def one(case: dict) -> dict:
    """Run one case in this process; wall times in s, peak RSS in MB."""
    if "stride" in case:
        return sampled_decode(case)
    from bench_sim import mesh_arch
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.load import load_model
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.sim.engine import simulate_plan

    arch = mesh_arch(case["k"]) if "k" in case else load_arch(case["arch"])
    t0 = time.perf_counter()
    wl = load_model(case["model"])
    t1 = time.perf_counter()
    m = make_mapping("greedy", wl, arch)
    plan = build_plan(arch, wl, m)
    t2 = time.perf_counter()
    res, tl = simulate_plan(plan, trace="none", noc=case["noc"])
    t3 = time.perf_counter()
    return {**case, "units": len(arch.instances()), "jobs": len(plan.jobs), "transfers": len(plan.transfers),
            "events": tl.sim_events, "load_s": round(t1 - t0, 2), "map_plan_s": round(t2 - t1, 2),
            "sim_s": round(t3 - t2, 2), "wall_s": round(t3 - t1, 2), "latency_us": round(res.latency_ps / 1e6, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def cases(quick: bool) -> list[dict]:
    ks = (4, 8, 16) if quick else (4, 8, 16, 32, 64)
    out = [{"k": k, "model": "pythia-70m", "noc": noc} for k in ks for noc in ("router", "flow")]
    if not quick:
        out += [{"arch": "hybrid", "model": f"{LLAMA_1B}&seq_len=128", "noc": noc, "label": "llama-1.1b prefill 128"}
                for noc in ("flow", "router")]
        out += [{"arch": "hybrid", "model": f"{LLAMA_7B}&seq_len=128", "noc": "flow", "label": "llama-7b prefill 128"},
                {"arch": "hybrid", "model": f"{LLAMA_1B}&seq_len=128&phase=decode&decode_tokens=128", "noc": "flow",
                 "label": "llama-1.1b 128 decode tokens"}]
        out += [{"arch": "hybrid", "model": LLAMA_1B, "prompt": 128, "tokens": 128, "stride": k, "noc": "flow",
                 "label": f"llama-1.1b decode, stride {k}"} for k in (8, 32)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return
    rows = []
    for case in cases(args.quick):
        p = subprocess.run([sys.executable, __file__, "--one", json.dumps(case)], capture_output=True, text=True,
                           cwd=Path(__file__).parent)
        if p.returncode:
            r = {**case, "error": (p.stderr.strip().splitlines() or ["?"])[-1]}
        else:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        rows.append(r)
        what = r.get("label") or f"{r['model']} on {r['k']}x{r['k']} PEs"
        if "stride" in r and "error" not in r:
            print(f"{what:34s} {r['noc']:6s} {r['steps_simulated']} steps simulated  wall {r['wall_s']:6.1f} s  "
                  f"{r['peak_rss_mb']:7.0f} MB  latency {r['latency_us']:,.1f} us", flush=True)
            continue
        print(f"{what:34s} {r['noc']:6s} " + (r["error"] if "error" in r else
              f"{r['jobs'] + r['transfers']:>8,} jobs+transfers {r['events']:>12,} events  map+plan {r['map_plan_s']:6.1f} s"
              f"  sim {r['sim_s']:6.1f} s  {r['peak_rss_mb']:7.0f} MB  latency {r['latency_us']:,.1f} us"), flush=True)
    save({"benchmark": "scale", "machine": machine(), "rows": rows}, args.out)


if __name__ == "__main__":
    main()
