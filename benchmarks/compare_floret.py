"""CNNs co-located on Floret's space-filling-curve interposer against the mesh interposer (issue 26).

    python benchmarks/compare_floret.py [--quick] [--out FILE.json] [--plot FILE.png]

Each workload (two or three zoo CNNs in one run, ``mapper.colocate``) is mapped with the
dataflow-aware ``placement`` strategy — consecutive layers along the chip's curve, which on
``manycore-floret`` runs petal by petal — and simulated event by event on ``manycore-2.5d`` (mesh
interposer, 24 links) and ``manycore-floret`` (15 links), layer after layer and pipelined (16
chunks). Per run: latency, energy, EDP (the paper's metrics), each model's latency, NoC energy,
bytes x hops, and the critical path split; per pair the Floret / mesh ratios. ``--plot`` draws
both interposers and the ratios.
"""
from __future__ import annotations

import argparse
import json
import time

from common import machine, save
from prismsim.hw.noc import graph
from prismsim.hw.spec import load_arch
from prismsim.mapper.colocate import colocate, per_model
from prismsim.mapper.load import load_model
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.mapping import Schedule
from prismsim.sim.engine import simulate_plan
from prismsim.sim.output import critical_parts

ARCHES = ("manycore-2.5d", "manycore-floret")
WORKLOADS = (("resnet18", "resnet50"), ("resnet18", "mobilevit-s"), ("resnet18", "resnet50", "mobilevit-s"))
SCHEDULES = {"sequential": Schedule(), "pipelined": Schedule("pipelined", 16)}
METRICS = {"latency": "latency_us", "energy": "energy_uj", "edp": "edp_uj_ms"}   # the paper's, per run


def interposer_links(arch) -> int:
    return sum(1 for _, _, d in graph(arch.noc).edges(data=True) if d["kind"] == "interposer") // 2


def run(arch, models: tuple[str, ...], schedule: Schedule) -> dict:
    wl = colocate([load_model(m) for m in models])
    m = make_mapping("placement", wl, arch, schedule=schedule)
    t0 = time.perf_counter()
    plan = build_plan(arch, wl, m)
    res, tl = simulate_plan(plan, trace="none")
    parts = critical_parts(plan, tl.times, res.latency_ps, tl.unit_prev)
    return {"latency_us": round(res.latency_ps / 1e6, 2), "energy_uj": round(res.energy_pj / 1e6, 1),
            "edp_uj_ms": round(res.energy_pj / 1e6 * res.latency_ps / 1e9, 2),
            "noc_energy_uj": round(res.energy_breakdown_pj["noc"] / 1e6, 2), "noc_byte_hops": res.noc_byte_hops,
            "model_latency_us": {k: round(v["latency_ps"] / 1e6, 2) for k, v in sorted(per_model(wl, res.per_layer).items())},
            "transfers": len(plan.transfers),
            "critical": {k: round(v / res.latency_ps, 3) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
                         if v >= res.latency_ps / 200},
            "wall_s": round(time.perf_counter() - t0, 1)}


def plot(doc: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 1, 2]})
    for ax, name in zip(axes, ARCHES):
        noc = load_arch(name).noc
        X, Y = noc.dims
        for a, b, d in graph(noc).edges(data=True):
            if d["kind"] == "interposer" and a < b:
                ax.plot([a[0] // X, b[0] // X], [a[1] // Y, b[1] // Y], "-", color="tab:blue", lw=3)
        cx, cy = noc.chiplets
        ax.scatter([x for x in range(cx) for _ in range(cy)], [y for _ in range(cx) for y in range(cy)],
                   s=300, marker="s", color="lightgray", zorder=3)
        ax.set_title(f"{name}: {interposer_links(load_arch(name))} interposer links")
        ax.set_xticks(range(cx))
        ax.set_yticks(range(cy))
        ax.set_aspect("equal")
    rows = doc["ratios"]
    short = {"resnet18": "R18", "resnet50": "R50", "mobilevit-s": "MViT"}
    labels = [f"{'+'.join(short.get(m, m) for m in r['models'])}\n{r['schedule'][:3]}" for r in rows]
    width = 0.27
    for i, key in enumerate(("latency", "energy", "edp")):
        axes[2].bar([j + (i - 1) * width for j in range(len(rows))], [r[key] for r in rows], width, label=key)
    axes[2].axhline(1.0, color="black", lw=0.8)
    span = max(abs(r[k] - 1) for r in rows for k in ("latency", "energy", "edp")) + 0.01
    axes[2].set_ylim(1 - span, 1 + span)
    axes[2].set_xticks(range(len(rows)))
    axes[2].set_xticklabels(labels, fontsize=8)
    axes[2].set_ylabel("Floret / mesh interposer")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one pair, layer after layer")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None)
    args = ap.parse_args()
    workloads = WORKLOADS[:1] if args.quick else WORKLOADS
    schedules = {"sequential": SCHEDULES["sequential"]} if args.quick else SCHEDULES
    doc: dict = {"machine": machine(), "interposer_links": {a: interposer_links(load_arch(a)) for a in ARCHES},
                 "runs": [], "ratios": []}
    for models in workloads:
        for sname, sched in schedules.items():
            got = {}
            for name in ARCHES:
                got[name] = {"arch": name, "models": list(models), "schedule": sname,
                             **run(load_arch(name), models, sched)}
                doc["runs"].append(got[name])
                print(json.dumps(got[name]), flush=True)
            mesh, fl = got[ARCHES[0]], got[ARCHES[1]]
            doc["ratios"].append({"models": list(models), "schedule": sname,
                                  **{k: round(fl[v] / mesh[v], 4) for k, v in METRICS.items()},
                                  "noc_energy": round(fl["noc_energy_uj"] / mesh["noc_energy_uj"], 3)})
    save(doc, args.out)
    print("\n| CNNs | schedule | mesh: latency (us) / energy (uJ) | Floret / mesh: latency / energy / EDP / NoC energy |")
    print("|---|---|---|---|")
    for r in doc["ratios"]:
        mesh = next(x for x in doc["runs"] if x["models"] == r["models"] and x["schedule"] == r["schedule"]
                    and x["arch"] == ARCHES[0])
        print(f"| {' + '.join(r['models'])} | {r['schedule']} | {mesh['latency_us']:,} / {mesh['energy_uj']:,} | "
              f"{r['latency']} / {r['energy']} / {r['edp']} / {r['noc_energy']} |")
    if args.plot:
        plot(doc, args.plot)


if __name__ == "__main__":
    main()
