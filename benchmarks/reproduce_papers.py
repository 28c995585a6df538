"""The papers' comparisons, from event-driven runs (README "Reproducing the papers").

    python benchmarks/reproduce_papers.py [--out FILE.json]

* H3PIMAP vs homogeneous (all on the most numerous analog kind) and equal split on
  pythia-70m and mobilevit-s on ``hybrid`` (paper: 2.74x energy efficiency, 3.47x latency);
* LionHeart vs all-digital on the trained MNIST CNN and MLP on ``lionheart`` (paper: speed-up and
  energy gain up to >6x at a chosen accuracy drop; here 2 points after one day of drift);
* CMSwitch vs the all-compute baseline (same compiler, no memory mode) on ``cmswitch`` for
  bert-base (seq 64, as in the paper), resnet18 and an LLM (Pythia-70M's body with an 8,192-token
  head: the full 50,304-token head exceeds the chip), prefill and decode (paper: 1.31x average).
"""
from __future__ import annotations

import argparse
import json

from common import save
from prismsim.hw.spec import load_arch
from prismsim.mapper import accuracy as acc
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan


def run(arch, wl, m):
    res, _ = simulate_plan(build_plan(arch, wl, m), trace="none")
    return res.latency_ps, res.energy_pj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    doc = {"h3pimap": [], "lionheart": []}
    hybrid = load_arch("hybrid")
    for model in ("pythia-70m", "mobilevit-s"):
        wl = ZOO[model]()
        h3 = make_mapping("h3pimap", wl, hybrid)
        lat, en = run(hybrid, wl, h3)
        for base in ("homogeneous", "equal", "greedy"):
            bl, be = run(hybrid, wl, make_mapping(base, wl, hybrid))
            row = {"model": model, "baseline": base, "latency_speedup": round(bl / lat, 2),
                   "energy_efficiency": round(be / en, 2), "h3pimap_latency_us": round(lat / 1e6, 1),
                   "h3pimap_energy_uj": round(en / 1e6, 1), "baseline_latency_us": round(bl / 1e6, 1),
                   "baseline_energy_uj": round(be / 1e6, 1), "remapped": [r["layer"] for r in h3.meta["remapped"]]}
            doc["h3pimap"].append(row)
            print(json.dumps(row), flush=True)
    lh = load_arch("lionheart")
    for model in ("mnist-cnn", "mnist-mlp"):
        wl = ZOO[model]()
        m = make_mapping("lionheart", wl, lh)
        d = make_mapping("homogeneous", wl, lh, kind="digital")
        lat, en = run(lh, wl, m)
        dl, de = run(lh, wl, d)
        a = acc.evaluate(model, lh, wl, m, acc.AccuracyConfig(seeds=5))
        row = {"model": model, "analog_mac_fraction": round(m.meta["analog_mac_fraction"], 3),
               "accepted": [s["layer"] for s in m.meta["steps"] if s["accepted"]],
               "rejected": [s["layer"] for s in m.meta["steps"] if not s["accepted"]],
               "accuracy_digital": a.baseline_accuracy, "accuracy_lionheart": round(a.accuracy_mean, 4),
               "speedup": round(dl / lat, 2), "energy_gain": round(de / en, 2)}
        doc["lionheart"].append(row)
        print(json.dumps(row), flush=True)
    from prismsim.sim.cli import load_model

    cm = load_arch("cmswitch")
    doc["cmswitch"] = []
    for spec in ("bert-base?seq_len=64", "resnet18", "pythia-70m?seq_len=64&vocab=8192",
                 "pythia-70m?seq_len=64&vocab=8192&phase=decode&decode_tokens=2"):
        wl = load_model(spec)
        m = make_mapping("cmswitch", wl, cm)
        lat, en = run(cm, wl, m)
        bl, be = run(cm, wl, make_mapping("cmswitch", wl, cm, memory=0))
        row = {"model": spec, "segments": m.meta["segments"],
               "memory_arrays": sum(p["memory_arrays"] for p in m.meta["plan"]),
               "speedup": round(bl / lat, 3), "energy_gain": round(be / en, 3)}
        doc["cmswitch"].append(row)
        print(json.dumps(row), flush=True)
    save(doc, args.out)


if __name__ == "__main__":
    main()
