"""Dataflow-aware placement (DATE'24 manycore; Floret's space-filling-curve ordering).

Static-weight layers are packed, in topological order, onto the weight-holding units (ReRAM /
SRAM-PIM PEs) taken in the order of a locality-preserving curve over the NoC, so a layer's PEs
are neighbours and each layer sits next to its producer:

* ``curve``: a Hilbert curve over each mesh (a boustrophedon "snake" where the mesh is not a
  power-of-two square); 3D stacks snake tier by tier, reversing the curve on every other tier so
  consecutive tiers meet over a TSV; chiplet systems visit chiplets along the curve (on a Floret
  interposer, its petals one after another: ``hw.floret.order``) and run the curve inside each
  chiplet, so consecutive layers stay on a chiplet where they can.
* ``rowmajor``: units in router order, x fastest — the naive placement.
* ``random``: units shuffled with ``seed``.

With ``duplicate`` (default on), the slowest layers that fit one PE first get extra copies
(ISAAC-style weight duplication) while all copies fit within ``budget`` of the PEs' arrays; their
output columns (tokens / pixels) are split across the copies. Then, in topological order, each
layer takes the next PEs along the order from where the previous one ended: its copies on
distinct PEs side by side, or as many PEs as its weights need, its rows shared in proportion to
their free arrays (filling partly used PEs first); a layer that shares weights with an earlier
one (``Layer.weights``: decode steps) runs where they are. Activations and pooling run on their producer's units when those can
(a PIM tile's periphery), other layers on the capable unit nearest their producers.
"""
from __future__ import annotations

import heapq
import math
import random as _random
from typing import Callable

from prismsim.hw import floret
from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, route
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import RESIDENT, arrays_available, arrays_needed, can_run, unit_cost

from ..mapping import Mapping, split_counts
from ..workload import Layer, Workload

ORDERS = ("curve", "rowmajor", "random")


def hilbert(n: int) -> list[tuple[int, int]]:
    """Cells of an n x n grid (n a power of two) in Hilbert-curve order."""
    pts = []
    for d in range(n * n):
        x = y = 0
        t, s = d, 1
        while s < n:
            rx = 1 & (t // 2)
            ry = 1 & (t ^ rx)
            if ry == 0:
                if rx == 1:
                    x, y = s - 1 - x, s - 1 - y
                x, y = y, x
            x += s * rx
            y += s * ry
            t //= 4
            s *= 2
        pts.append((x, y))
    return pts


def curve2d(w: int, h: int) -> list[tuple[int, int]]:
    """A locality-preserving walk over a w x h grid: Hilbert when possible, else a snake."""
    if w == h and w & (w - 1) == 0:
        return hilbert(w)
    return [(x if y % 2 == 0 else w - 1 - x, y) for y in range(h) for x in range(w)]


def curve_order(noc: NocParams) -> list[tuple[int, ...]]:
    """Every router of the NoC in curve order."""
    if noc.topology == "mesh3d":
        X, Y, Z = noc.dims
        tier = curve2d(X, Y)
        return [(x, y, z) for z in range(Z) for (x, y) in (tier if z % 2 == 0 else tier[::-1])]
    if noc.topology == "chiplet":
        X, Y = noc.dims
        inner = curve2d(X, Y)
        out = []
        chips = floret.order(*noc.chiplets) if noc.interposer == "floret" else curve2d(*noc.chiplets)
        for i, (cx, cy) in enumerate(chips):
            for (x, y) in (inner if i % 2 == 0 else inner[::-1]):
                out.append((cx * X + x, cy * Y + y))
        return out
    return curve2d(*noc.dims)


def _unit_order(arch: Arch, units: list[Unit], order: str, seed: int) -> list[Unit]:
    if order == "rowmajor":
        from prismsim.hw.noc import nodes
        rank = {n: i for i, n in enumerate(nodes(arch.noc))}
        return sorted(units, key=lambda u: rank[u.pos])
    if order == "random":
        out = list(units)
        _random.Random(seed).shuffle(out)
        return out
    rank = {n: i for i, n in enumerate(curve_order(arch.noc))}
    return sorted(units, key=lambda u: rank[u.pos])


def placement(workload: Workload, arch: Arch, order: str = "curve", seed: int = 0, duplicate: int = 1,
              max_copies: int = 64, budget: float = 0.85, refine: int = 1) -> Mapping:
    """Decide copies, pack every copy of every static-weight layer along the chosen order, run
    the rest next to their producers, then (``refine``) move PE contents to cut NoC energy."""
    if order not in ORDERS:
        raise PrismError(f"--option order: must be one of {', '.join(ORDERS)} (got {order!r})")
    if not 0 < float(budget) <= 1:
        raise PrismError(f"--option budget: must be in (0, 1] (got {budget!r})")
    units = arch.instances()
    pes = _unit_order(arch, [u for u in units.values() if u.kind in RESIDENT], order, int(seed))
    for b in (float(budget), 0.7 * float(budget), 0.4 * float(budget), 0.0):
        copies = _copies(workload, pes, int(max_copies), b) if duplicate and pes and b > 0 else {}
        layers, split = _pack_all(workload, arch, units, pes, copies)
        if layers is not None:
            break
    else:
        raise PrismError(f"strategy placement: the static weights of {workload.name} do not fit arch {arch.name}")
    _colocate(workload, units, layers, split)
    mapping = Mapping(layers, split=split)
    for _ in range(2 if refine else 0):
        mapping = _refine(workload, arch, units, mapping)
    return mapping


def _refine(workload: Workload, arch: Arch, units: dict[str, Unit], mapping: Mapping, passes: int = 20) -> Mapping:
    """Swap the whole contents of identical PEs (so weights still fit) while a swap lowers
    sum(bytes x NoC energy per byte of the route) over the plan's transfers, i.e. its NoC
    energy; then put layers that run off the PEs next to their producers again."""
    from ..plan import build_plan
    from prismsim.hw.noc import transfer_energy

    plan = build_plan(arch, workload, mapping, check=False)
    pos = {u: x.pos for u, x in units.items()}
    pos.update({m: tuple(p.position) for m, p in arch.memories().items()})
    adj: dict[str, dict[str, float]] = {}
    for t in plan.transfers:
        if t.src != t.dst and t.nbytes:
            adj.setdefault(t.src, {}).setdefault(t.dst, 0.0)
            adj.setdefault(t.dst, {}).setdefault(t.src, 0.0)
            adj[t.src][t.dst] += t.nbytes
            adj[t.dst][t.src] += t.nbytes
    dist: dict = {}

    def d(a, b) -> float:
        key = (a, b)
        if key not in dist:
            dist[key] = transfer_energy(arch.noc, route(arch.noc, a, b), 1).total_pj
        return dist[key]

    pes = sorted(u for u, x in units.items() if x.kind in RESIDENT)
    host = {u: u for u in pes}     # content (named by its original PE) -> PE now holding it
    where = dict(pos)

    def alike(a: str, b: str) -> bool:
        """Contents move only between identical PEs (a chip may mix ReRAM and SRAM-PIM PEs,
        or PEs of different sizes): the weights still fit and every layer can still run."""
        return units[a].kind == units[b].kind and units[a].params == units[b].params

    def delta(a: str, b: str) -> float:
        pa, pb = where[a], where[b]
        out = 0.0
        for y, w in adj.get(a, {}).items():
            if y != b:
                out += w * (d(pb, where[y]) - d(pa, where[y]))
        for y, w in adj.get(b, {}).items():
            if y != a:
                out += w * (d(pa, where[y]) - d(pb, where[y]))
        return out

    for _ in range(passes):
        improved = False
        for i, a in enumerate(pes):
            for b in pes[i + 1:]:
                if not alike(a, b):
                    continue
                if (a in adj or b in adj) and delta(a, b) < -1e-9:
                    host[a], host[b] = host[b], host[a]
                    where[a], where[b] = where[b], where[a]
                    improved = True
        if not improved:
            break
    layers = {ln: {host.get(u, u): sh for u, sh in shards.items()} for ln, shards in mapping.layers.items()}
    for layer in workload.layers:  # off-PE layers follow their producers' new places
        if not any(u in host for u in layers[layer.name]):
            layers[layer.name] = {_nearest(layer, workload, arch, units, layers): 1.0}
    return Mapping(layers, split=dict(mapping.split))


def _time(pe: Unit, layer: Layer, k: int) -> int:
    return unit_cost(pe, layer.op.cols(math.ceil(layer.op.m / max(1, k)))).time_ps


def _copies(workload: Workload, pes: list[Unit], max_copies: int, budget: float) -> dict[str, int]:
    """Copies per single-PE layer: repeatedly give one more to the slowest layer while the
    arrays of all copies stay within ``budget`` of the PEs' capacity (ISAAC-style balancing)."""
    cap = sum(arrays_available(p) for p in pes) * budget
    pe = pes[0]   # copies are counted for PEs like the first (a chip may mix PE kinds and sizes)
    per_pe = arrays_available(pe)
    used, copies, heap = 0, {}, []
    for layer in workload.layers:
        if not layer.static_weights or workload.weight_owner[layer.name] != layer.name:
            continue   # a layer sharing earlier weights (decode steps) is placed with them
        need = arrays_needed(pe, layer.op)
        used += need
        if 0 < need <= per_pe:
            copies[layer.name] = 1
            heapq.heappush(heap, (-_time(pe, layer, 1), layer.name, need))
    while heap:
        _, name, need = heapq.heappop(heap)
        k = copies[name]
        if k >= min(max_copies, workload.layer(name).op.m) or used + need > cap:
            continue
        copies[name] = k + 1
        used += need
        heapq.heappush(heap, (-_time(pe, workload.layer(name), k + 1), name, need))
    return copies


def _pack_all(workload: Workload, arch: Arch, units: dict[str, Unit], pes: list[Unit],
              copies: dict[str, int]) -> tuple[dict | None, dict]:
    """Place layers in topological order, each from where the previous one ended; None if a
    layer's weights do not fit."""
    free = {u.name: arrays_available(u) for u in pes}
    cursor = 0
    layers: dict[str, dict[str, float]] = {}
    split: dict[str, str] = {}
    for layer in workload.layers:
        first = workload.weight_owner[layer.name]
        if layer.static_weights and pes and first != layer.name:  # shared weights: where they are
            layers[layer.name] = dict(layers[first])
            if first in split:
                split[layer.name] = split[first]
            continue
        if layer.static_weights and pes:
            k = copies.get(layer.name, 1)
            got = _pack_copies(layer, pes, free, cursor, k) if k > 1 else None
            if got is not None:
                names, cursor = got
                layers[layer.name] = {u: 1.0 / len(names) for u in names}
                if len(names) > 1:
                    split[layer.name] = "cols"
                continue
            got = _pack(layer, pes, free, cursor)
            if got is None:
                return None, {}
            names, info = got
            cursor = info["cursor"]
            layers[layer.name] = {u: c / layer.op.split_size for u, c in zip(names, info["counts"])}
            continue
        layers[layer.name] = {_nearest(layer, workload, arch, units, layers): 1.0}
    return layers, split


def _scan(pes: list[Unit], free: dict[str, int], cursor: int, need: Callable[[Unit], int], k: int) -> list[int]:
    """Up to ``k`` indices of PEs, in order from ``cursor`` and wrapping, with ``need(pe)`` free arrays."""
    out = []
    for step in range(len(pes)):
        i = (cursor + step) % len(pes)
        if free[pes[i].name] >= need(pes[i]):
            out.append(i)
            if len(out) == k:
                break
    return out


def _take(pes: list[Unit], free: dict[str, int], idx: list[int], needs: list[int]) -> tuple[list[str], int]:
    for i, n in zip(idx, needs):
        free[pes[i].name] -= n
    last = idx[-1]
    return [pes[i].name for i in idx], (last if free[pes[last].name] > 0 else (last + 1) % len(pes))


def _pack(layer: Layer, pes: list[Unit], free: dict[str, int], cursor: int) -> tuple[list[str], dict] | None:
    """PEs in order from ``cursor`` (wrapping) until their free arrays hold the layer, its rows
    shared in proportion to each PE's free arrays, so partly used PEs are filled up."""
    op, n = layer.op, len(pes)
    total = arrays_needed(pes[0], op)
    idx: list[int] = []
    room = 0
    for step in range(n):
        i = (cursor + step) % n
        if free[pes[i].name] <= 0:
            continue
        idx.append(i)
        room += free[pes[i].name]
        if room < total:
            continue
        counts = split_counts(op.split_size, [free[pes[j].name] for j in idx])
        needs = [arrays_needed(pes[j], op.rows(c)) if c else 0 for j, c in zip(idx, counts)]
        if all(nd <= free[pes[j].name] for j, nd in zip(idx, needs)):
            used = [(j, nd, c) for j, nd, c in zip(idx, needs, counts) if c]
            names, nxt = _take(pes, free, [j for j, _, _ in used], [nd for _, nd, _ in used])
            return names, {"counts": [c for *_, c in used], "cursor": nxt}
    return None


def _pack_copies(layer: Layer, pes: list[Unit], free: dict[str, int], cursor: int, k: int):
    """Up to ``k`` whole copies on distinct PEs, first-fit from ``cursor``; None if not even two fit."""
    def need(pe: Unit) -> int:   # per PE: a chip may mix PE kinds and sizes
        return arrays_needed(pe, layer.op)

    idx = _scan(pes, free, cursor, need, k)
    if len(idx) < 2:
        return None
    return _take(pes, free, idx, [need(pes[i]) for i in idx])


def _colocate(workload: Workload, units: dict[str, Unit], layers: dict[str, dict[str, float]],
              split: dict[str, str]) -> None:
    """Run activations and pooling where their first producer runs, split the same way, when
    those units can (a PIM tile's periphery): the data then never leaves the tile."""
    for layer in workload.layers:
        prods = workload.producers(layer.name)
        if layer.static_weights or not prods or layer.kind not in ("elementwise", "pool"):
            continue
        src = prods[0][0]
        shards = layers[src]
        if all(can_run(units[u], layer.op) is None for u in shards):
            how = split.get(src, "rows")
            if how == "rows" and layer.op.split_size != workload.layer(src).op.split_size:
                continue  # row splits line up only when both layers have the same channels
            layers[layer.name] = dict(shards)
            if how == "cols":
                split[layer.name] = "cols"
            else:
                split.pop(layer.name, None)


def _nearest(layer: Layer, workload: Workload, arch: Arch, units: dict[str, Unit],
             placed: dict[str, dict[str, float]]) -> str:
    """The capable non-resident unit closest (in hops, weighted by share) to the producers."""
    capable = [u for u in units.values() if u.kind not in RESIDENT and can_run(u, layer.op) is None]
    if not capable:
        raise PrismError(f"strategy placement: no unit of arch {arch.name} can run layer {layer.name!r}")
    sources = [(units[u], s) for p, _, _ in workload.producers(layer.name) for u, s in placed[p].items()]
    if not sources:
        sources = [(Unit("dram", "memory", None, arch.dram_node), 1.0)]  # type: ignore[arg-type]

    def dist(u: Unit) -> float:
        return sum(s * (len(route(arch.noc, src.pos, u.pos)) - 1) for src, s in sources)

    return min(capable, key=lambda u: (dist(u), u.name)).name
