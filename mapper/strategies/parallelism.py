"""How many units a layer uses, chosen rather than assumed.

Splitting a layer over more units shortens its compute, but every shard must receive the part of
its producers' outputs it reads (a GEMM shard computing output rows reads every input channel), so
the bytes on the network grow with the shard count: a layer split over ``n`` units after a layer
split over ``p`` receives about ``n`` copies of its input, ``p x n`` transfers. This module prices a
candidate split with the plan's own data rules (``plan.input_need``, ``plan.shard_regions``'s row
regions) and the ``hw`` costs, and the strategies take the fastest count (``pick_count``).

The time to deliver a layer's inputs is bounded below by the busiest of (a) a producer's injection
port (or a memory's read port), (b) a consumer's ejection port, (c) the links of the region the
transfers cross (byte-hops over the directed links in the bounding box of the nodes involved: XY
routes between nodes of a box stay in it), and (d) the global buffer's port for transfers larger
than a consumer's buffer (staged, as the plan stages them); plus the farthest pair's zero-load head
latency. These are the bounds the flow model (``sim.flow``) meets with equality on one bottleneck;
contention between layers and packet effects are left to the simulators.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.memory import mem_ps
from prismsim.hw.noc import NocParams, head_latency_ps, mesh_energy_pj, port_cycles_per_flit, route
from prismsim.hw.ops import GEMM_KINDS
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import RESIDENT, arrays_available, arrays_needed

from ..mapping import Mapping, split_counts
from ..workload import Layer, Workload
from .estimates import Capacity, capable, shard_estimate
from .placement import curve_order

BLOCK = 1 << 18       # producer x consumer pairs priced at once (memory bound of ``receive``)
LATENCY_TOL = 0.01   # chosen: counts within 1% of the fastest are as fast, within the estimate's precision


@dataclass
class Shards:
    """A placed layer's shards (or a memory as one source): each one's unit name, NoC node, output
    region (tokens x channels, normalised) and output bytes; ``cycles_per_flit`` of its port."""

    names: list[str]
    nodes: np.ndarray       # (k, dims) int
    regions: np.ndarray     # (k, 4): t0, t1, c0, c1
    out_bytes: np.ndarray   # (k,) bytes each shard produces
    cycles_per_flit: float = 1.0
    channel: bool = False   # a memory controller: it serves the consumers it is nearest to


def counts_to_try(n_max: int) -> list[int]:
    """Shard counts a layer may take on ``n_max`` units: the powers of two below it and itself."""
    out, n = [], 1
    while n < n_max:
        out.append(n)
        n *= 2
    return out + [n_max]


def row_shards(arch: Arch, units: dict[str, Unit], layer: Layer, names: list[str],
               shares: list[float] | None = None) -> Shards:
    """``layer`` split by rows over ``names`` by ``shares`` (equally by default; the plan's rule)."""
    counts = split_counts(layer.op.split_size, shares or [1.0] * len(names))
    names = [u for u, c in zip(names, counts) if c]
    counts = [c for c in counts if c]
    edges = np.cumsum([0] + counts) / layer.op.split_size
    regions = np.stack([np.zeros(len(counts)), np.ones(len(counts)), edges[:-1], edges[1:]], axis=1)
    out = np.array(counts, dtype=float) / layer.op.split_size * (layer.op.out_elements * layer.act_bits / 8)
    return Shards(names, np.array([units[u].pos for u in names], dtype=int), regions, out)


def dram_sources(arch: Arch, nbytes: int) -> list[tuple[Shards, float]]:
    """A model input of ``nbytes`` in DRAM: each memory controller serves the units nearest it
    (``Arch.nearest_dram``, as the plan reads inputs)."""
    out = []
    for name, mem in arch.dram_channels().items():
        out.append((Shards([name], np.array([tuple(mem.position)], dtype=int), np.array([[0.0, 1.0, 0.0, 1.0]]),
                           np.array([float(nbytes)]), port_cycles_per_flit(arch.noc, mem.bandwidth_gbps), True), 1.0))
    return out


def needs(layer: Layer, cons: Shards) -> np.ndarray:
    """Each consumer shard's input region (``plan.input_need`` for a row split): every channel
    of its tokens for a GEMM (each output row reads every input channel), its own channels else."""
    need = cons.regions.copy()
    if layer.op.kind in GEMM_KINDS and layer.op.split_dim == "n":
        need[:, 2], need[:, 3] = 0.0, 1.0
    return need


def hops(noc: NocParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hops between every node of ``a`` and every node of ``b`` (dimension-order distance; around
    the ring on a torus; along the routes on a graph topology)."""
    if noc.topology == "graph":
        return np.array([[len(route(noc, tuple(x), tuple(y))) - 1 for y in b] for x in a], dtype=float)
    out = np.zeros((len(a), len(b)))
    for ax in range(a.shape[1]):
        d = np.abs(a[:, None, ax] - b[None, :, ax]).astype(float)
        out += np.minimum(d, noc.grid[ax] - d) if noc.topology == "torus" else d
    return out


def box_links(nodes: np.ndarray) -> int:
    """Directed links of a mesh inside the bounding box of ``nodes`` (at least one)."""
    ext = nodes.max(axis=0) - nodes.min(axis=0) + 1
    total = 0
    for ax in range(len(ext)):
        total += 2 * (int(ext[ax]) - 1) * int(np.prod(np.delete(ext, ax)))
    return max(1, total)


def receive(arch: Arch, layer: Layer, cons: Shards, sources: list[tuple[Shards, float]],
            buffer_bytes: np.ndarray) -> tuple[int, float]:
    """(ps, NoC pJ) to deliver ``layer``'s inputs from ``sources`` (shards, fraction of their
    output the layer reads) to the consumer shards ``cons``: the bounds in the module docstring."""
    noc = arch.noc
    need = needs(layer, cons)
    inj_cycles = 0.0
    ej = np.zeros(len(cons.names))
    byte_hops = total = staged = 0.0
    far, far_pair = -1.0, None
    nodes = [cons.nodes]
    served_by = ({tuple(int(v) for v in x): arch.nearest_dram(tuple(int(v) for v in x)) for x in cons.nodes}
                 if any(src.channel for src, _ in sources) else {})
    for src, frac in sources:
        area = (src.regions[:, 1] - src.regions[:, 0]) * (src.regions[:, 3] - src.regions[:, 2])
        weight = (src.out_bytes * frac / np.maximum(area, 1e-30))[:, None]
        sent = np.zeros(len(src.names))
        block = max(1, BLOCK // len(src.names))   # consumers at a time: memory stays bounded
        for c0 in range(0, len(cons.names), block):
            cn = need[c0:c0 + block]
            dt = np.minimum(src.regions[:, None, 1], cn[None, :, 1]) - np.maximum(src.regions[:, None, 0], cn[None, :, 0])
            dc = np.minimum(src.regions[:, None, 3], cn[None, :, 3]) - np.maximum(src.regions[:, None, 2], cn[None, :, 2])
            nbytes = np.clip(dt, 0, None) * np.clip(dc, 0, None) * weight
            nbytes[np.array(src.names)[:, None] == np.array(cons.names[c0:c0 + block])[None, :]] = 0.0
            if src.channel:
                served = np.array([served_by[tuple(int(v) for v in x)] == src.names[0] for x in cons.nodes[c0:c0 + block]])
                nbytes[:, ~served] = 0.0
            if not nbytes.any():
                continue
            h = hops(noc, src.nodes, cons.nodes[c0:c0 + block])
            sent += nbytes.sum(axis=1)
            ej[c0:c0 + block] += nbytes.sum(axis=0)
            byte_hops += float((nbytes * h).sum())
            total += float(nbytes.sum())
            staged += float(nbytes[nbytes > buffer_bytes[None, c0:c0 + block]].sum())
            hm = np.where(nbytes > 0, h, -1.0)
            i, j = np.unravel_index(int(hm.argmax()), hm.shape)
            if hm[i, j] > far:
                far, far_pair = hm[i, j], (tuple(int(v) for v in src.nodes[i]), tuple(int(v) for v in cons.nodes[c0 + j]))
        if sent.any():
            inj_cycles = max(inj_cycles, float(sent.max()) / noc.flit_bytes * src.cycles_per_flit)
            nodes.append(src.nodes)
    if far_pair is None:
        return 0, 0.0
    cyc = noc.cycle_ps
    flit = noc.flit_bytes
    t = max(inj_cycles, float(ej.max()) / flit, byte_hops / flit / box_links(np.concatenate(nodes))) * cyc
    if staged:   # into the global buffer and out again
        t = max(t, mem_ps(arch.global_buffer, 2 * staged))
    t += head_latency_ps(noc, route(noc, *far_pair))
    energy = mesh_energy_pj(noc, total, byte_hops / total)
    return int(round(t)), energy


class UnitPicker:
    """Orders a kind's units for a layer: nearest (in byte-weighted hops) to where its inputs come
    from, then along the chip's space-filling curve, so a chosen subset is compact and close."""

    def __init__(self, arch: Arch, units: dict[str, Unit]):
        rank = {n: i for i, n in enumerate(curve_order(arch.noc))} if arch.noc.topology != "graph" else {}
        self.arch, self.units = arch, units
        self.decl = {u: i for i, u in enumerate(units)}   # declaration order
        self.memo: dict = {}   # prices already worked out in this mapping (decode steps repeat layers)
        self.rank = {u: rank.get(x.pos, i) for i, (u, x) in enumerate(units.items())}

    def order(self, names: list[str], sources: list[tuple[Shards, float]]) -> list[str]:
        if not sources:
            return sorted(names, key=self.rank.__getitem__)
        pos = np.array([self.units[u].pos for u in names], dtype=int)
        cost = np.zeros(len(names))
        for src, frac in sources:
            w = src.out_bytes * frac
            cost += (hops(self.arch.noc, pos, src.nodes) * w[None, :]).sum(axis=1) / max(w.sum(), 1e-30)
        return [names[i] for i in sorted(range(len(names)), key=lambda i: (round(cost[i], 6), self.rank[names[i]]))]


def fits_empty(units: dict[str, Unit], layer: Layer, names: list[str]) -> bool:
    """Whether an equal row split of ``layer`` over ``names`` fits their arrays when empty (units
    without weight arrays always fit)."""
    counts = split_counts(layer.op.split_size, [1.0] * len(names))
    return all(arrays_needed(units[u], layer.op.rows(c)) <= arrays_available(units[u])
               for u, c in zip(names, counts) if c and units[u].kind in RESIDENT)


def sources_of(arch: Arch, workload: Workload, layer: Layer, placed: dict[str, Shards]) -> list[tuple[Shards, float]]:
    """Where ``layer``'s inputs come from: its placed producers, or memory for a model input (DRAM;
    a KV cache where ``mapper.kv_cache`` put it: the global buffer, or nothing to receive when the
    units keep it)."""
    prods = workload.producers(layer.name)
    if not prods:
        nbytes = workload.input_bytes.get(layer.name, 0)
        kv = layer.info.get("kv_cache")
        if kv == "units" or not nbytes:
            return []
        if kv == "gb":
            gb = arch.global_buffer
            return [(Shards(["gb"], np.array([tuple(gb.position)], dtype=int), np.array([[0.0, 1.0, 0.0, 1.0]]),
                            np.array([float(nbytes)]), port_cycles_per_flit(arch.noc, gb.bandwidth_gbps), True), 1.0)]
        return dram_sources(arch, nbytes)
    return [(placed[p], frac) for p, frac, _ in prods if p in placed]


def split_cost(arch: Arch, units: dict[str, Unit], layer: Layer, names: list[str],
               sources: list[tuple[Shards, float]]) -> tuple[int, float]:
    """(latency ps, energy pJ) of ``layer`` split equally by rows over ``names`` with its inputs
    coming from ``sources``: receiving them (``receive``), then computing
    (``estimates.shard_estimate``, weight streams included)."""
    lat, e = shard_estimate(arch, layer, dict(zip(names, split_counts(layer.op.split_size, [1.0] * len(names)))), units)
    cons = row_shards(arch, units, layer, names)
    buffers = np.array([units[u].params.buffer_kib * 1024.0 for u in cons.names])
    t, ne = receive(arch, layer, cons, sources, buffers)
    return lat + t, e + ne


def pick_count(costs: list[tuple[int, float, list[str]]]) -> tuple[int, float, list[str]] | None:
    """Of (latency ps, energy pJ, units) per count tried (fewest units first), the fastest; a
    count within ``LATENCY_TOL`` of it with fewer units wins (less traffic, a smaller plan)."""
    if not costs:
        return None
    fastest = min(c[0] for c in costs)
    return next(c for c in costs if c[0] <= fastest * (1 + LATENCY_TOL))


def best_alone(arch: Arch, workload: Workload, units: dict[str, Unit], layer: Layer, names: list[str],
               picker: "UnitPicker | None" = None) -> tuple[int, float]:
    """(latency ps, energy pJ) of ``layer`` at the count ``pick_count`` takes of the first ``n``
    of ``names`` in curve order, its producers assumed split alike over the same units (their
    real places are not known yet when a strategy weighs unit kinds largest layer first)."""
    picker = picker or UnitPicker(arch, units)
    prods = workload.producers(layer.name)
    key = ("alone", layer.op, tuple(names), tuple((workload.layer(p).op, f) for p, f, _ in prods)
           or workload.input_bytes.get(layer.name, 0))
    if key not in picker.memo:
        picker.memo[key] = _best_alone(arch, workload, units, layer, names, picker, prods)
    return picker.memo[key]


def _best_alone(arch: Arch, workload: Workload, units: dict[str, Unit], layer: Layer, names: list[str],
                picker: "UnitPicker", prods: list) -> tuple[int, float]:
    ordered = picker.order(names, [])
    costs = []
    for n in counts_to_try(len(ordered)):
        sub = sorted(ordered[:n], key=picker.decl.__getitem__)
        if not fits_empty(units, layer, sub):
            continue
        if prods:
            sources = [(row_shards(arch, units, workload.layer(p), sub), frac) for p, frac, _ in prods]
        else:
            sources = sources_of(arch, workload, layer, {})
        costs.append((*split_cost(arch, units, layer, sub, sources), sub))
    best = pick_count(costs)
    return (best[0], best[1]) if best else (1 << 62, float("inf"))


def _subset(units: dict[str, Unit], layer: Layer, ordered: list[str], n: int, cap: Capacity,
            decl: dict[str, int]) -> list[str] | None:
    """The first ``n`` of ``ordered`` that can hold a 1/n share of ``layer``'s weights, if they fit."""
    share = layer.op.rows(-(-layer.op.split_size // n))
    need: dict[int, int] = {}   # arrays per unit group (units of a group share their params)

    def arrays(u: str) -> int:
        key = id(units[u].params)
        if key not in need:
            need[key] = arrays_needed(units[u], share)
        return need[key]

    room = [u for u in ordered if u not in cap.free or cap.free[u] >= arrays(u)]
    sub = sorted(room[:n], key=decl.__getitem__)   # shards in declaration order, as a full split has them
    return sub if len(sub) == n and cap.fits(layer, sub) else None


def _best_split(arch: Arch, units: dict[str, Unit], layer: Layer, names: list[str],
                sources: list[tuple[Shards, float]], cap: Capacity, picker: UnitPicker):
    """(latency ps, energy pJ, units) of the split ``pick_count`` takes of ``names`` (nearest
    ``sources`` first) over the ``counts_to_try`` that fit; None if none does."""
    if not names:
        return None
    key = None
    if not layer.op.weight_bytes or not any(u in cap.free for u in names):   # no arrays taken: a fixed price
        key = ("split", layer.op, tuple(names), tuple((tuple(s.names), s.regions.tobytes(), s.out_bytes.tobytes(),
                                                       f) for s, f in sources))
        if key in picker.memo:
            return picker.memo[key]
    ordered = picker.order(names, sources)
    costs = []
    for n in counts_to_try(len(ordered)):
        sub = _subset(units, layer, ordered, n, cap, picker.decl)
        if sub is not None:
            costs.append((*split_cost(arch, units, layer, sub, sources), sub))
    best = pick_count(costs)
    if key is not None:
        picker.memo[key] = best
    return best


def _fill(layer: Layer, names: list[str], cap: Capacity) -> dict[str, float] | None:
    """Shares of ``names`` in proportion to their free arrays, if ``layer`` fits them so (no equal
    split does when earlier layers filled some units more than others)."""
    free = {u: cap.free[u] for u in names if cap.free.get(u, 0) > 0}
    if not free:
        return None
    total = sum(free.values())
    shares = {u: f / total for u, f in free.items()}
    return shares if cap.fits(layer, list(shares), list(shares.values())) else None


def _choose(arch: Arch, units: dict[str, Unit], layer: Layer, kind: str, sources: list[tuple[Shards, float]],
            cap: Capacity, picker: UnitPicker) -> dict[str, float] | None:
    """Shares of units for ``layer`` on ``kind``: the best equal split (``_best_split``); when no
    equal split has room, shares by free arrays (``_fill``); when the kind has no room at all,
    the best equal split on a kind without weight arrays."""
    best = _best_split(arch, units, layer, capable(units, layer, kind), sources, cap, picker)
    if best is None and (fill := _fill(layer, capable(units, layer, kind), cap)) is not None:
        return fill
    if best is None:
        others = dict.fromkeys(units[u].kind for u in capable(units, layer) if units[u].kind not in RESIDENT)
        options = [_best_split(arch, units, layer, capable(units, layer, k), sources, cap, picker) for k in others]
        best = min((o for o in options if o), key=lambda o: o[0] * o[1], default=None)
    return {u: 1.0 / len(best[2]) for u in best[2]} if best else None


def choose_counts(workload: Workload, arch: Arch, kind_of: dict[str, str], strategy: str,
                  fixed: dict[str, dict[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """In model order, each layer's shares of units (split by rows): a ``fixed`` layer keeps its
    own; any other is split equally over units of its kind ``kind_of[layer]``, as many as the
    count from ``counts_to_try`` with the least ``split_cost`` given where its producers were
    placed, taking the units nearest its inputs (``UnitPicker``) that still have room for its
    weights. A layer sharing another's weights takes that layer's units (the weights are held
    once). A layer whose kind has no room left for it (arrays taken by layers earlier in model
    order) goes to the best kind without weight arrays that can run it."""
    units = arch.instances()
    picker = UnitPicker(arch, units)
    cap = Capacity(units)
    fixed = fixed or {}
    placed: dict[str, Shards] = {}
    chosen: dict[str, dict[str, float]] = {}
    for lname in workload.order:
        layer = workload.layer(lname)
        sources = sources_of(arch, workload, layer, placed)
        owner = workload.weight_owner.get(lname, lname)
        pick = fixed.get(lname)
        if pick is None and owner != lname and owner in chosen and lname in kind_of \
                and units[next(iter(chosen[owner]))].kind == kind_of[lname] and cap.fits(layer, list(chosen[owner]), list(chosen[owner].values())):
            pick = chosen[owner]
        if pick is None:
            pick = _choose(arch, units, layer, kind_of[lname], sources, cap, picker)
        if pick is None:
            raise PrismError(f"strategy {strategy}: no unit of arch {arch.name} has room left for layer {lname!r}")
        names, shares = list(pick), list(pick.values())
        cap.take(layer, names, shares)
        chosen[lname] = pick
        placed[lname] = row_shards(arch, units, layer, names, shares)
    return chosen


def refine_counts(workload: Workload, arch: Arch, mapping: Mapping, strategy: str) -> Mapping:
    """``mapping`` with each layer that is split over every unit of one kind re-split over the
    count of them ``choose_counts`` picks; layers split otherwise (over two kinds, say) stay."""
    units = arch.instances()
    per_kind = Counter(x.kind for x in units.values())
    kind_of, fixed = {}, {}
    for lname, shares in mapping.layers.items():
        kinds = {units[u].kind for u in shares}
        if len(kinds) == 1 and len(shares) == per_kind[next(iter(kinds))] and len(set(shares.values())) == 1:
            kind_of[lname] = next(iter(kinds))
        else:
            fixed[lname] = shares
    return replace(mapping, layers=choose_counts(workload, arch, kind_of, strategy, fixed))
