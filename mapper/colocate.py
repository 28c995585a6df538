"""Several models in one run: co-location on one chip.

The models' layers join one workload under ``<model>/`` prefixes (the model's name without its
parameters; ``#2``, ``#3`` for repeats), each model its own DAG with no edges to the others, each
layer remembering its model (``Workload.parts``). Under the sequential schedule each model's
layers run one after another as when alone, while the models run side by side, sharing units,
links and memories where the mapping puts them together.
"""
from __future__ import annotations

import dataclasses

import networkx as nx

from prismsim.hw.errors import PrismError

from .workload import Workload


def colocate(workloads: list[Workload]) -> Workload:
    """One workload holding every model of ``workloads`` (at least two)."""
    if len(workloads) < 2:
        raise PrismError("--model: co-location needs at least two models")
    g = nx.DiGraph()
    inputs: dict[str, int] = {}
    parts: dict[str, str] = {}
    tags: list[str] = []
    for wl in workloads:
        base = wl.name.split("[")[0]
        tag, i = base, 2
        while tag in tags:
            tag, i = f"{base}#{i}", i + 1
        tags.append(tag)
        for n in wl.graph.nodes:
            lay = wl.layer(n)
            g.add_node(f"{tag}/{n}", layer=dataclasses.replace(
                lay, name=f"{tag}/{n}", weights=f"{tag}/{lay.weights}" if lay.weights else ""))
            parts[f"{tag}/{n}"] = tag
        for a, b, d in wl.graph.edges(data=True):
            g.add_edge(f"{tag}/{a}", f"{tag}/{b}", **d)
        inputs.update({f"{tag}/{k}": v for k, v in wl.input_bytes.items()})
    return Workload(" + ".join(wl.name for wl in workloads), g, inputs, parts)


def per_model(workload: Workload, per_layer: dict[str, dict]) -> dict[str, dict]:
    """Per model of a co-located run: latency (its last layer's end, ps), MACs and the energy of
    its layers' jobs and transfers (pJ; the chip's idle and static power is the whole run's)."""
    out: dict[str, dict] = {}
    for name, v in per_layer.items():
        m = out.setdefault(workload.parts.get(name, ""), {"latency_ps": 0, "macs": 0, "energy_pj": 0.0, "layers": 0})
        m["latency_ps"] = max(m["latency_ps"], v["end_ps"])
        m["macs"] += v["macs"]
        m["energy_pj"] += v["energy_pj"]
        m["layers"] += 1
    return out
