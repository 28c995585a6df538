"""CMSwitch (Zhao et al., ASPLOS'25): dual-mode CIM arrays — compute or memory — per segment.

1. Segmentation by dynamic programming over the operators in topological order:
   L[j] = min_i L[i] + T_intra(i..j) + T_inter(i). T_intra is the segment's pipelined latency
   (``cmswitch_alloc.pipelined_ps``) with each static GEMM given an equal share of the arrays its
   weights leave free as input buffers, the digital unit's operators one stage; T_inter the
   transition into it: the mode switch, the weight reload (the segment's weights streamed from
   memory, each array then programmed over its own write path, all in parallel:
   ``hw.reram.write_cost``), and the write-back of live data — an output read after the cut leaves
   the arrays for the global buffer or memory and comes back (two NoC crossings instead of one).
   A segment whose weights exceed the arrays costs infinity.
2. Per segment, a mixed-integer program (``cmswitch_alloc.allocate``) gives every array a role —
   compute with k weight copies, input buffer feeding an operator, output buffer — minimising the
   segment's slowest pipelined operator plus the pipeline's fill.
3. Copies and memory arrays are packed onto the units; the mapping records each layer's segment,
   each segment's memory-mode arrays per unit and each layer's input buffers (``feeds``); the
   segments run pipelined (``chunks``), and the simulator plays the mode switches, weight reloads
   and write-backs as events.
``memory=0`` gives the all-compute baseline (the same compiler, every array computing, operands
from the tile buffers only); ``layerwise=1`` the layer-by-layer reload compiler without mode
switching (PUMA/OCC-style: each static GEMM a segment of its own, the whole chip for its copies,
weights reloaded per layer, layer after layer). Operators other than static GEMMs run on the
digital unit, and so do static GEMMs that do not fit the whole chip — ``meta["on_digital"]``.
"""
from __future__ import annotations

import math

from prismsim.hw.errors import PrismError
from prismsim.hw.reram import memory_capacity_bytes, write_cost
from prismsim.hw.spec import Arch
from prismsim.hw.units import arrays_available, arrays_needed, unit_cost

from ..mapping import Mapping, Schedule, split_counts
from ..row_blocks import split_rows
from ..workload import Layer, Workload
from .cmswitch_alloc import Option, allocate, options, pack, pipelined_ps


def _footprint(unit, op, per_unit: int, n_units: int) -> tuple[int, int] | None:
    """(units, arrays per unit) of one copy of an op: its rows split over the fewest units."""
    S = op.split_size
    for u in range(1, min(n_units, S) + 1):
        need = max(arrays_needed(unit, op.rows(c)) for c in split_counts(S, [1.0] * u))
        if need <= per_unit:
            return u, need
    return None


def _blocks_needed(unit, op, per_unit: int, n_units: int) -> int:
    """The fewest row blocks of an op larger than the chip that each fit it (0: none do)."""
    S = op.split_size
    for k in range(max(2, math.ceil(arrays_needed(unit, op) / (per_unit * n_units))), S + 1):
        if _footprint(unit, op.rows(math.ceil(S / k)), per_unit, n_units) is not None:
            return k
    return 0


def cmswitch(workload: Workload, arch: Arch, memory: int = 1, max_copies: int = 6, window: int = 48,
             layerwise: int = 0, chunks: int = 8) -> Mapping:
    units = arch.instances()
    cims = [u for u, x in units.items() if x.kind == "reram"]
    digital = [u for u, x in units.items() if x.kind == "digital"]
    if not cims or not digital:
        raise PrismError(f"strategy cmswitch: arch {arch.name} needs dual-mode (reram) units and a digital unit")
    if layerwise:
        memory, chunks = 0, 1      # a layer-by-layer reload compiler: no memory mode, layer after layer
    unit0, dg = units[cims[0]], units[digital[0]]
    p = unit0.params
    per_unit, n_units = arrays_available(unit0), len(cims)
    budget = per_unit * n_units
    array_bytes = memory_capacity_bytes(p, 1)
    buf = p.buffer_kib * 1024
    link_gbps = arch.noc.flit_bytes * arch.noc.clock_ghz          # bytes per ns on one link
    weight_gbps = min(arch.dram.bandwidth_gbps, link_gbps)         # memory's port into the network
    blocks = {x.name: k for x in workload.layers if x.static_weights and x.op.is_gemm
              and _footprint(unit0, x.op, per_unit, n_units) is None
              and (k := _blocks_needed(unit0, x.op, per_unit, n_units))}
    workload = split_rows(workload, blocks)   # larger than the chip: row blocks, a segment or more each
    layers = workload.layers
    index = {lay.name: i for i, lay in enumerate(layers)}
    static, too_big = [], []
    foot: dict[str, tuple[int, int]] = {}
    for lay in (x for x in layers if x.static_weights and x.op.is_gemm):
        f = _footprint(unit0, lay.op, per_unit, n_units)
        if f is None:  # one row block does not fit the chip (or one array per depthwise group): the digital unit
            too_big.append(lay.name)
            continue
        foot[lay.name] = f
        static.append(lay)
    last_use = {x.name: max((index[c] for c in workload.graph.successors(x.name)), default=len(layers))
                for x in layers}

    def spill_ps(nbytes: int, on_chip: bool) -> float:
        """An output over the NoC: once to a consumer's buffer or memory-mode arrays, twice
        through the global buffer or memory when it fits neither."""
        if nbytes <= buf:
            return nbytes / link_gbps * 1000
        return nbytes / link_gbps * 1000 * (1 if on_chip else 2)

    opts = {lay.name: options(unit0, lay, *foot[lay.name], per_unit, n_units, max_copies, bool(memory), spill_ps,
                              array_bytes, buf) for lay in static}
    weights_of = {lay.name: lay.op.weight_bytes for lay in static}
    write_ps = {lay.name: write_cost(p, lay.op.rows(split_counts(lay.op.split_size, [1.0] * foot[lay.name][0])[0])).time_ps
                for lay in static}
    digital_ps = {x.name: unit_cost(dg, x.op).time_ps + (x.op.weight_bytes / weight_gbps * 1000 if x.op.weight_bytes else 0)
                  + spill_ps(x.bytes_out, False) for x in layers if x.name not in opts}

    def inter_ps(i: int, names: list[str]) -> float:
        """The transition into a segment starting at layer i: the mode switch (all arrays at once)
        and the segment's weights reloaded — streamed from memory, the last array then programmed
        over its own write path (all arrays write in parallel)."""
        w = sum(weights_of[n] for n in names)
        switch = p.mode_switch_ns * 1000 if memory and i else 0.0
        return switch + (w / weight_gbps * 1000 + max(write_ps[n] for n in names) if w else 0.0)

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

    def usable(n: str, j: int) -> list[Option]:
        """Options of layer n in a segment ending before layer j: an output read after the cut is
        written back (no output-buffer arrays: they change modes at the cut)."""
        return [o for o in opts[n] if not o.out] if last_use[n] >= j else opts[n]

    def seg_cost(i: int, j: int) -> float:
        """Estimated latency of layers i..j-1 as one segment, pipelined, each static GEMM one copy
        with an equal share of the free arrays as buffers (for the DP)."""
        holder = holders(layers[i:j])
        names = [n for n, h in holder.items() if n == h]   # the weights the segment holds
        used = sum(foot[n][0] * foot[n][1] for n in names)
        if used > budget or not fits(names):
            return math.inf
        share = (budget - used) // max(1, len(names))
        stages = [min(o.time_ps for o in usable(n, j) if o.copies == 1 and o.arrays <= foot[n][0] * foot[n][1] + share)
                  for n in holder]
        stages.append(sum(digital_ps[x.name] for x in layers[i:j] if x.name in digital_ps))
        return pipelined_ps(stages, chunks) + inter_ps(i, names)

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
    mapping = Mapping({}, segments={}, modes={}, blocks=blocks,
                      schedule=Schedule("pipelined", chunks) if chunks > 1 else Schedule())
    choice_log = []
    for s, (i, j) in enumerate(zip(cuts, cuts[1:])):
        seg_layers = layers[i:j]
        holder = holders(seg_layers)
        owners = [n for n, h in holder.items() if n == h]
        seg_opts = {n: usable(n, j) for n in owners}
        fixed = sum(digital_ps[x.name] for x in seg_layers if x.name in digital_ps)
        chosen = allocate(owners, seg_opts, budget, chunks, fixed)
        consumers = {n: owners[k + 1:k + 2] for k, n in enumerate(owners)}   # the next static layer
        while True:
            placed = pack(seg_layers, chosen, foot, cims, per_unit, consumers)
            if placed is not None:
                break
            worst = max((n for n in chosen if chosen[n].arrays > foot[n][0] * foot[n][1]),
                        key=lambda n: chosen[n].arrays, default=None)
            if worst is None:
                raise PrismError(f"strategy cmswitch: segment {s} of {workload.name} does not pack onto the units")
            chosen[worst] = max((o for o in seg_opts[worst] if o.arrays < chosen[worst].arrays), key=lambda o: o.arrays)
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
                if chosen[holder[x.name]].feed:
                    mapping.feeds[x.name] = chosen[holder[x.name]].feed
            else:
                mapping.layers[x.name] = {digital[0]: 1.0}
        if mem_units:
            mapping.modes[s] = mem_units
        choice_log.append({"segment": s, "layers": j - i,
                           "copies": {n: c.copies for n, c in chosen.items() if c.copies > 1},
                           "input_buffers": {n: c.feed for n, c in chosen.items() if c.feed},
                           "memory_arrays": sum(mem_units.values()),
                           "pipeline_ps": round(pipelined_ps([c.time_ps for c in chosen.values()] + [fixed], chunks))})
    if len(cuts) == 2:
        mapping.segments = {}
    mapping.meta = {"segments": len(cuts) - 1, "memory_mode": bool(memory), "layerwise": bool(layerwise),
                    "plan": choice_log, "on_digital": too_big, "blocks": blocks}
    return mapping
