"""Several models in one run: co-location on one chip.

The models' layers join one workload under ``<model>/`` prefixes (the model's name without its
parameters; ``#2``, ``#3`` for repeats), each model its own DAG with no edges to the others, each
layer remembering its model (``Workload.parts``). Under the sequential schedule each model's
layers run one after another as when alone, while the models run side by side, sharing units,
links and memories where the mapping puts them together.

One strategy may map the merged models over the whole chip, or (``partitioned``) each model gets
its own strategy on its own part of the chip's units: per unit kind, counts in proportion to
the models' shares (by default their MACs), each part a run of neighbours along the chip's curve;
a kind with fewer units than models is shared by all of them. The network and memories are
always shared.
"""
from __future__ import annotations

import dataclasses

import networkx as nx

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch, UnitGroup

from .mapping import Mapping, split_counts
from .workload import Workload


def tags(workloads: list[Workload]) -> list[str]:
    """Each model's prefix: its name without parameters, ``#2``, ``#3`` for repeats."""
    out: list[str] = []
    for wl in workloads:
        base = wl.name.split("[")[0]
        tag, i = base, 2
        while tag in out:
            tag, i = f"{base}#{i}", i + 1
        out.append(tag)
    return out


def colocate(workloads: list[Workload]) -> Workload:
    """One workload holding every model of ``workloads`` (at least two)."""
    if len(workloads) < 2:
        raise PrismError("--model: co-location needs at least two models")
    g = nx.DiGraph()
    inputs: dict[str, int] = {}
    parts: dict[str, str] = {}
    for wl, tag in zip(workloads, tags(workloads)):
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


def split_units(arch: Arch, shares: list[float]) -> list[list[str]]:
    """Each model's units: per kind, ``shares`` of its units (largest remainder, at least one each),
    consecutive along the chip's curve; all of a kind's units for every model when it has fewer
    units than there are models."""
    from .strategies.placement import curve_order

    rank = {n: i for i, n in enumerate(curve_order(arch.noc))}
    out: list[list[str]] = [[] for _ in shares]
    by_kind: dict[str, list] = {}
    for u in arch.instances().values():
        by_kind.setdefault(u.kind, []).append(u)
    for kind, us in by_kind.items():
        us = sorted(us, key=lambda u: (rank.get(u.pos, 0), u.name))
        if len(us) < len(shares):
            for part in out:
                part += [u.name for u in us]
            continue
        counts = split_counts(len(us), shares)                  # largest remainder
        for i in range(len(counts)):                            # at least one each
            if not counts[i]:
                counts[max(range(len(counts)), key=lambda j: counts[j])] -= 1
                counts[i] = 1
        start = 0
        for part, c in zip(out, counts):
            part += [u.name for u in us[start:start + c]]
            start += c
    return out


def sub_arch(arch: Arch, names: list[str]) -> Arch:
    """``arch`` with only the named units (same names, positions and parameters; same network and
    memories)."""
    units = arch.instances()
    groups = [UnitGroup(name=n, kind=units[n].kind, count=1, positions=[units[n].pos],
                        params=units[n].params) for n in names]
    return arch.model_copy(update={"units": groups})


def partitioned(workloads: list[Workload], arch: Arch, strategies: list[str], shares: list[float] | None = None,
                options: list[dict] | None = None) -> Mapping:
    """Each model mapped by its own strategy on its own part of the chip (``split_units``; shares
    default to the models' MACs), the mappings merged under the models' prefixes."""
    from .strategies import make_mapping

    if len(strategies) != len(workloads):
        raise PrismError(f"--strategy: {len(strategies)} strategies for {len(workloads)} models (one each, "
                         "comma-separated, or one for all)")
    shares = shares or [float(wl.macs) or 1.0 for wl in workloads]
    if len(shares) != len(workloads) or min(shares) <= 0:
        raise PrismError(f"--partition: {len(workloads)} shares > 0 needed, one per model (got {shares})")
    merged = Mapping({}, strategy="+".join(strategies), meta={"partition": {}})
    for wl, tag, strategy, names, opts in zip(workloads, tags(workloads), strategies, split_units(arch, shares),
                                              options or [{}] * len(workloads)):
        m = make_mapping(strategy, wl, sub_arch(arch, names), **opts)
        if m.segments or m.modes or m.feeds or m.blocks:
            raise PrismError(f"--partition: strategy {strategy} switches array modes chip-wide; it cannot map one "
                             "part of a chip")
        merged.layers.update({f"{tag}/{k}": v for k, v in m.layers.items()})
        merged.split.update({f"{tag}/{k}": v for k, v in m.split.items()})
        merged.row_order.update({f"{tag}/{k}": v for k, v in m.row_order.items()})
        merged.meta["partition"][tag] = {"strategy": strategy, "units": names}
    return merged
