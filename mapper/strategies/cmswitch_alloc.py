"""CMSwitch's resource allocation within one segment (Zhao et al., ASPLOS'25, §4.3): every array of
the chip takes a role — compute, holding one of k weight copies of an operator; input buffer,
feeding an operator's operands (``hw.reram.feed_ps``: each memory-mode array adds its port to the
tile buffer's); or output buffer, holding an operator's spilled output — chosen by a mixed-integer
program (scipy ``milp`` / HiGHS) that minimises the segment's pipelined latency: its slowest
operator (min-max) plus the pipeline's fill.

An operator's option is ``Option(copies, feed, out, time_ps, arrays)``: ``copies`` split its
output columns, each copy on ``u`` units with ``a`` compute arrays and ``feed`` input-buffer
arrays per unit; ``out`` output-buffer arrays; ``time_ps`` the larger of its compute-or-feed time
(``unit_cost`` with the feed arrays, the one cost the simulator plays) and its output's NoC time.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from prismsim.hw.units import unit_cost

from ..mapping import split_counts
from ..workload import Layer


class Option(NamedTuple):
    copies: int
    feed: int       # input-buffer arrays per host unit
    out: int        # output-buffer arrays (on the consumer's units)
    time_ps: float
    arrays: int     # arrays the option takes, all roles


def feed_counts(spare: int) -> list[int]:
    """Input-buffer sizes tried per unit: 0, 1, 2, 4, ... up to the unit's spare arrays."""
    out, f = [0], 1
    while f <= spare:
        out.append(f)
        f *= 2
    if spare > 0 and out[-1] != spare:
        out.append(spare)
    return out


def options(unit, lay: Layer, u: int, a: int, per_unit: int, n_units: int, max_copies: int, memory: bool,
            spill_ps, array_bytes: int, buffer_bytes: int) -> list[Option]:
    """Every option of a static GEMM whose one copy takes ``u`` units x ``a`` arrays, without the
    dominated ones (no faster for as many arrays or more)."""
    rows = split_counts(lay.op.split_size, [1.0] * u)[0]
    ks = range(1, (min(max_copies, n_units, lay.op.m) if u == 1 else 1) + 1)
    feeds = feed_counts(per_unit - a) if memory and unit.params.feed_bits is not None else [0]
    outs = sorted({0, math.ceil(lay.bytes_out / array_bytes)}) if memory and lay.bytes_out > buffer_bytes else [0]
    found = []
    for k in ks:
        sop = lay.op.rows(rows).cols(math.ceil(lay.op.m / k))
        for f in feeds:
            t = unit_cost(unit, sop, f).time_ps
            for o in outs:
                found.append(Option(k, f, o, float(max(t, spill_ps(lay.bytes_out, o > 0))), k * u * (a + f) + o))
    found.sort(key=lambda x: (x.arrays, x.time_ps))
    kept: list[Option] = []
    for x in found:
        if not kept or x.time_ps < kept[-1].time_ps:
            kept.append(x)
    return kept


def pipelined_ps(stages: list[float], chunks: int) -> float:
    """Latency of stages run as a pipeline of ``chunks``: one pass of the fill plus (chunks - 1)
    chunks at the slowest stage's pace."""
    if not stages:
        return 0.0
    return sum(stages) / chunks + (chunks - 1) / chunks * max(stages)


def allocate(names: list[str], opts: dict[str, list[Option]], budget: int, chunks: int,
             fixed_stage_ps: float = 0.0, time_limit_s: float = 10.0) -> dict[str, Option]:
    """One option per operator minimising ``pipelined_ps`` of the segment within the chip's arrays:
    min (chunks-1)/chunks * T + sum(t)/chunks, T >= every chosen t and >= ``fixed_stage_ps`` (the
    digital unit's share of the segment)."""
    if not names:
        return {}
    from scipy.optimize import Bounds, LinearConstraint

    from .solver import milp

    flat = [(n, o) for n in names for o in opts[n]]
    scale = max(max(o.time_ps for _, o in flat), fixed_stage_ps, 1.0)
    t = np.array([o.time_ps for _, o in flat]) / scale
    nv = len(flat) + 1                                   # the options, then T
    cost = np.append(t / chunks, (chunks - 1) / chunks)
    one = np.zeros((len(names), nv))
    cap = np.zeros((1, nv))
    slow = np.zeros((len(names), nv))
    row = {n: i for i, n in enumerate(names)}
    for col, (n, o) in enumerate(flat):
        one[row[n], col] = 1
        cap[0, col] = o.arrays
        slow[row[n], col] = -t[col]
    slow[:, -1] = 1                                       # T - t_n >= 0
    lower = np.append(np.zeros(len(flat)), fixed_stage_ps / scale)
    upper = np.append(np.ones(len(flat)), np.inf)
    res = milp(cost, integrality=np.append(np.ones(len(flat)), 0), bounds=Bounds(lower, upper),
               constraints=[LinearConstraint(one, 1, 1), LinearConstraint(cap, 0, budget),
                            LinearConstraint(slow, 0, np.inf)],
               options={"time_limit": time_limit_s})
    if not res.success or res.x is None:   # the smallest option of each (the DP checked it fits)
        return {n: min(opts[n], key=lambda o: (o.arrays, o.time_ps)) for n in names}
    picked = np.rint(res.x[:-1]).astype(bool)
    return {n: o for (n, o), keep in zip(flat, picked) if keep}


def pack(seg_layers: list[Layer], chosen: dict[str, Option], foot: dict[str, tuple[int, int]], cims: list[str],
         per_unit: int, consumers: dict[str, list[str]]):
    """Copies onto distinct units with room for their compute and input-buffer arrays, larger
    first; output-buffer arrays onto the first consumer's units (where staging lands). Returns
    (shards, cols-split layers, memory arrays per unit), or None if it does not fit."""
    free = {u: per_unit for u in cims}
    shards: dict[str, dict[str, float]] = {}
    splits: set[str] = set()
    by_name = {x.name: x for x in seg_layers}
    names = [x.name for x in seg_layers if x.name in chosen]
    mem_units: dict[str, int] = {}
    for n in sorted(names, key=lambda n: -chosen[n].arrays):
        k, f = chosen[n].copies, chosen[n].feed
        u, a = foot[n]
        hosts = [c for c in sorted(cims, key=lambda c: -free[c]) if free[c] >= a + f][:k * u]
        if len(hosts) < k * u:
            return None
        for c in hosts:
            free[c] -= a + f
            if f:
                mem_units[c] = mem_units.get(c, 0) + f
        if k > 1:
            shards[n] = {c: 1.0 / k for c in hosts}
            splits.add(n)
        else:
            counts = split_counts(by_name[n].op.split_size, [1.0] * u)
            shards[n] = {c: cnt / sum(counts) for c, cnt in zip(hosts, counts)}
    for n in names:
        mem = chosen[n].out
        if not mem:
            continue
        later = [m for m in consumers.get(n, []) if m in shards]
        targets = list(shards[later[0]]) if later else []
        for c in targets + sorted(cims, key=lambda c: -free[c]):
            if free[c] >= mem:
                free[c] -= mem
                mem_units[c] = mem_units.get(c, 0) + mem
                break
        else:
            return None
    return shards, splits, mem_units
