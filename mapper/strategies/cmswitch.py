"""CMSwitch (Zhao et al., ASPLOS'25): dual-mode CIM arrays — compute or memory — per segment.

1. Segmentation by dynamic programming over the operators in topological order:
   L[j] = min_i L[i] + T_intra(i..j) + T_inter(i), where T_intra is the segment's estimated time
   (each static GEMM on its arrays, spilled activations over the NoC) and T_inter the transition
   when the model needs more than one segment: the mode switch and the weight reload (weight bytes
   over the path from memory while every array programs over its own write path: rows x write
   latency once); live activations crossing a cut are staged like any spilled activation (in
   T_intra); a segment whose weights exceed the arrays costs infinity.
2. Per segment, a mixed-integer program (scipy ``milp`` / HiGHS) picks for every static GEMM its
   number of copies (weight duplication with spare arrays; copies split the output columns) and
   the arrays put in memory mode to hold its spilled output, minimising the segment's time with
   the arrays of the chip as the budget.
3. Copies and memory arrays are packed onto the units; the mapping records each layer's segment
   and each segment's memory-mode arrays per unit, and the simulator plays the mode switches and
   weight reloads as events. ``memory=0`` gives the all-compute baseline (every array computes);
   ``layerwise=1`` the layer-by-layer reload compiler without mode switching (PUMA/OCC-style: each
   static GEMM a segment of its own, the whole chip for its copies, weights reloaded per layer).
Operators other than static GEMMs run on the digital units, and so do static GEMMs that do not fit
the whole chip (CMSwitch splits those over segments; not supported here yet) — ``meta["on_digital"]``.
"""
from __future__ import annotations

import math

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import arrays_available, arrays_needed, unit_cost

from ..mapping import Mapping, split_counts
from ..workload import Layer, Workload


def _footprint(unit, layer: Layer, per_unit: int, n_units: int) -> tuple[int, int] | None:
    """(units, arrays per unit) of one copy of a layer: its rows split over the fewest units."""
    S = layer.op.split_size
    for u in range(1, min(n_units, S) + 1):
        need = max(arrays_needed(unit, layer.op.rows(c)) for c in split_counts(S, [1.0] * u))
        if need <= per_unit:
            return u, need
    return None


def cmswitch(workload: Workload, arch: Arch, memory: int = 1, max_copies: int = 6, window: int = 48,
             layerwise: int = 0) -> Mapping:
    units = arch.instances()
    cims = [u for u, x in units.items() if x.kind == "reram"]
    digital = [u for u, x in units.items() if x.kind == "digital"]
    if not cims or not digital:
        raise PrismError(f"strategy cmswitch: arch {arch.name} needs dual-mode (reram) units and a digital unit")
    unit0 = units[cims[0]]
    p = unit0.params
    per_unit, n_units = arrays_available(unit0), len(cims)
    budget = per_unit * n_units
    array_bytes = p.rows * p.cols * p.bits_per_cell // 8
    buf = p.buffer_kib * 1024
    link_gbps = arch.noc.flit_bytes * arch.noc.clock_ghz          # bytes per ns on one link
    weight_gbps = min(arch.dram.bandwidth_gbps, link_gbps)
    layers = workload.layers
    static, too_big = [], []
    foot: dict[str, tuple[int, int]] = {}
    for lay in (x for x in layers if x.static_weights and x.op.is_gemm):
        f = _footprint(unit0, lay, per_unit, n_units)
        if f is None:  # larger than the chip (or one array per depthwise group): the digital unit runs it
            too_big.append(lay.name)
            continue
        foot[lay.name] = f
        static.append(lay)

    def spill_ps(nbytes: int, on_chip: bool) -> float:
        if nbytes <= buf:
            return nbytes / link_gbps * 1000
        return nbytes / link_gbps * 1000 * (1 if on_chip else 2)   # memory mode: one NoC crossing

    def options(lay: Layer) -> list[tuple[int, int, float, int]]:
        """(copies, memory arrays, time ps, arrays) of a static layer."""
        u, a = foot[lay.name]
        out = []
        for k in range(1, (min(max_copies, n_units, lay.op.m) if u == 1 else 1) + 1):
            m_cols = math.ceil(lay.op.m / k)
            rows = split_counts(lay.op.split_size, [1.0] * u)[0]
            t = unit_cost(unit0, lay.op.rows(rows).cols(m_cols)).time_ps
            for mem in ({0, math.ceil(lay.bytes_out / array_bytes)} if memory and lay.bytes_out > buf else {0}):
                out.append((k, mem, t + spill_ps(lay.bytes_out, mem > 0), k * u * a + mem))
        return out

    opts = {lay.name: options(lay) for lay in static}
    index = {lay.name: i for i, lay in enumerate(layers)}
    weights_of = {lay.name: lay.op.weight_bytes for lay in static}
    reload_fixed = min(p.rows, 10 ** 9) * p.write_latency_ns * 1000
    if layerwise:
        memory = 0       # a layer-by-layer reload compiler has no memory mode

    def inter_ps(i: int, names: list[str]) -> float:
        """The transition into a segment starting at layer i: the mode switch (all arrays at once)
        and the segment's weights reloaded — streamed over the path from memory while the arrays
        program in parallel, each over its own write path (rows x write latency once). Live
        activations crossing the cut are staged like any spilled activation (``spill_ps``,
        already in T_intra): the simulator stages every output larger than a buffer, cut or not."""
        w = sum(weights_of[n] for n in names)
        switch = p.mode_switch_ns * 1000 if memory and i else 0.0
        return switch + (w / weight_gbps * 1000 + reload_fixed if w else 0.0)

    def fits(names: list[str]) -> bool:
        """First-fit decreasing of one copy of each layer (u units x a arrays) onto the units."""
        free = [per_unit] * n_units
        for n in sorted(names, key=lambda n: -foot[n][1]):
            u, a = foot[n]
            hosts = sorted((i for i in range(n_units) if free[i] >= a), key=lambda i: -free[i])[:u]
            if len(hosts) < u:
                return False
            for i in hosts:
                free[i] -= a
        return True

    def holders(seg_layers: list[Layer]) -> dict[str, str]:
        """Static layer -> the first layer of the segment with its weights (itself, or an earlier
        one sharing them, ``Layer.weights``: those run on the same arrays)."""
        first: dict[str, str] = {}
        return {x.name: first.setdefault(x.weight_key, x.name) for x in seg_layers if x.name in opts}

    def seg_cost(i: int, j: int) -> float:
        """Estimated time of layers i..j-1 as one segment with one copy each (for the DP)."""
        holder = holders(layers[i:j])
        names = [n for n, h in holder.items() if n == h]   # the weights the segment holds
        if sum(foot[n][0] * foot[n][1] for n in names) > budget or not fits(names):
            return math.inf
        t = sum(min(o[2] for o in opts[n] if o[0] == 1) for n in holder)
        t += sum(spill_ps(x.bytes_out, False) for x in layers[i:j] if x.name not in opts)
        return t + inter_ps(i, names)

    L = len(layers)
    if layerwise:   # PUMA/OCC-style: each static GEMM (with the ops after it) a segment of its own
        cuts = sorted({0, L} | {index[x.name] for x in static if index[x.name]})
        if any(seg_cost(i, j) == math.inf for i, j in zip(cuts, cuts[1:])):
            raise PrismError(f"strategy cmswitch: a layer of {workload.name} does not fit arch {arch.name}")
    elif seg_cost(0, L) < math.inf:   # everything fits: one segment, weights stay, no reloads
        cuts = [0, L]
    else:
        best, back = [0.0] + [math.inf] * L, [0] * (L + 1)
        for j in range(1, L + 1):
            for i in range(max(0, j - window), j):
                c = best[i] + seg_cost(i, j)
                if c < best[j]:
                    best[j], back[j] = c, i
        if not math.isfinite(best[L]):
            raise PrismError(f"strategy cmswitch: no segmentation of {workload.name} fits arch {arch.name}")
        cuts, j = [L], L
        while j > 0:
            j = back[j]
            cuts.append(j)
        cuts = sorted(cuts)
    mapping = Mapping({}, segments={}, modes={})
    choice_log = []
    for s, (i, j) in enumerate(zip(cuts, cuts[1:])):
        seg_layers = layers[i:j]
        holder = holders(seg_layers)
        chosen = _milp([n for n, h in holder.items() if n == h], opts, budget)
        while True:
            placed = _pack(seg_layers, chosen, foot, cims, per_unit, layers, index)
            if placed is not None:
                break
            worst = max((n for n in chosen if chosen[n][0] > 1 or chosen[n][1] > 0),
                        key=lambda n: chosen[n][3], default=None)
            if worst is None:
                raise PrismError(f"strategy cmswitch: segment {s} of {workload.name} does not pack onto the units")
            k, mem = chosen[worst][0], chosen[worst][1]
            chosen[worst] = next(o for o in sorted(opts[worst], key=lambda o: o[2])
                                 if (o[0] < k or (o[0] == k and o[1] < mem)))
        shards, splits, mem_units = placed
        for n, h in holder.items():   # shared weights: on the arrays that hold them
            if n != h:
                shards[n] = dict(shards[h])
                if h in splits:
                    splits.add(n)
        for x in seg_layers:
            mapping.segments[x.name] = s
            if x.name in shards:
                mapping.layers[x.name] = shards[x.name]
                if x.name in splits:
                    mapping.split[x.name] = "cols"
            else:
                mapping.layers[x.name] = {digital[0]: 1.0}
        if mem_units:
            mapping.modes[s] = mem_units
        choice_log.append({"segment": s, "layers": j - i,
                           "copies": {n: c[0] for n, c in chosen.items() if c[0] > 1},
                           "memory_arrays": sum(mem_units.values())})
    if len(cuts) == 2:
        mapping.segments = {}
    mapping.meta = {"segments": len(cuts) - 1, "memory_mode": bool(memory), "layerwise": bool(layerwise),
                    "plan": choice_log, "on_digital": too_big}
    return mapping


def _milp(names: list[str], opts: dict, budget: int) -> dict[str, tuple]:
    """One option per layer minimising total time within the array budget (multiple-choice knapsack)."""
    if not names:
        return {}
    from scipy.optimize import Bounds, LinearConstraint

    from .solver import milp

    flat = [(n, o) for n in names for o in opts[n]]
    cost = np.array([o[2] for _, o in flat], dtype=float)
    arrays = np.array([o[3] for _, o in flat], dtype=float)
    one = np.zeros((len(names), len(flat)))
    for col, (n, _) in enumerate(flat):
        one[names.index(n), col] = 1
    res = milp(cost / max(cost.max(), 1.0), integrality=np.ones(len(flat)), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(one, 1, 1), LinearConstraint(arrays[None, :], 0, budget)],
               options={"time_limit": 10})
    if not res.success or res.x is None:
        return {n: min((o for o in opts[n] if o[0] == 1 and o[1] == 0), key=lambda o: o[2]) for n in names}
    picked = np.rint(res.x).astype(bool)
    return {n: o for (n, o), keep in zip(flat, picked) if keep}


def _pack(seg_layers, chosen, foot, cims, per_unit, layers, index):
    """Copies onto distinct units with free arrays, larger layers first; each layer's memory
    arrays onto its consumer's units (where staging then lands). None if it does not fit."""
    free = {u: per_unit for u in cims}
    shards: dict[str, dict[str, float]] = {}
    splits: set[str] = set()
    names = [x.name for x in seg_layers if x.name in chosen]
    for n in sorted(names, key=lambda n: -chosen[n][3]):
        k, mem = chosen[n][0], chosen[n][1]
        u, a = foot[n]
        hosts = [c for c in sorted(cims, key=lambda c: -free[c]) if free[c] >= a][:k * u]
        if len(hosts) < k * u:
            return None
        for c in hosts:
            free[c] -= a
        if k > 1:
            shards[n] = {c: 1.0 / k for c in hosts}
            splits.add(n)
        else:
            counts = split_counts(layers[index[n]].op.split_size, [1.0] * u)
            shards[n] = {c: cnt / sum(counts) for c, cnt in zip(hosts, counts)}
    mem_units: dict[str, int] = {}
    for n in names:
        mem = chosen[n][1]
        if not mem:
            continue
        # the consumer is the next static layer of the segment, else any unit
        later = [m for m in names if index[m] > index[n]]
        targets = list(shards[min(later, key=lambda m: index[m])]) if later else list(cims)
        for c in sorted(targets, key=lambda c: -free[c]) + sorted(cims, key=lambda c: -free[c]):
            if free[c] >= mem:
                free[c] -= mem
                mem_units[c] = mem_units.get(c, 0) + mem
                break
        else:
            return None
    return shards, splits, mem_units
