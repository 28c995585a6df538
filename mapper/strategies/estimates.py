"""What the strategies weigh a layer with: the weight-resident units' free arrays, which units can
run a layer, and its analytical latency and energy on given shards, from the same ``hw`` costs the
plan uses."""
from __future__ import annotations

from prismsim.hw.memory import mem_cost, mem_ps
from prismsim.hw.noc import flits_ps, route, transfer_energy
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import (RESIDENT, arrays_available, arrays_needed, can_run, local_weight_bytes,
                               streamed_weight_bytes, unit_cost)

from ..mapping import split_counts, weight_slices
from ..plan import transfer_times
from ..workload import Layer


class Capacity:
    """Arrays still free on each weight-resident unit (ReRAM, SRAM-PIM: static weights stay
    written for the whole run). A layer split equally over ``names`` holds the same weight
    slices as an earlier layer sharing its weights (``Layer.weights``) split over the same units:
    those take no more arrays."""

    def __init__(self, units: dict[str, Unit]):
        self.free = {u: arrays_available(x) for u, x in units.items() if x.kind in RESIDENT}
        self.units = units
        self.held: set[tuple[str, tuple]] = set()   # (unit, weight slice) already taken
        self._memo: dict[tuple, list] = {}           # layers sharing weights (LLM steps) split alike

    def _shards(self, layer: Layer, names: list[str], shares: list[float] | None = None) -> list[tuple[str, tuple, int]]:
        """(unit, weight slice, arrays) per non-empty shard of a row split by ``shares`` (equal by default);
        none for a layer without static weights (it takes no arrays)."""
        if not layer.op.weight_bytes:
            return []
        key = (layer.weight_key, layer.op.rows(1), layer.op.split_size, tuple(names), tuple(shares or ()))
        if key not in self._memo:
            self._memo[key] = self._split(layer, names, shares)
        return self._memo[key]

    def _split(self, layer: Layer, names: list[str], shares: list[float] | None) -> list[tuple[str, tuple, int]]:
        counts = split_counts(layer.op.split_size, shares or [1.0] * len(names))
        shards = [(u, c) for u, c in zip(names, counts) if c]
        need: dict[tuple, int] = {}   # a unit group's shards of one size need alike
        for u, c in shards:
            key = (id(self.units[u].params), c)
            if key not in need:
                need[key] = arrays_needed(self.units[u], layer.op.rows(c))
        return [(u, piece, need[id(self.units[u].params), c])
                for (u, c), piece in zip(shards, weight_slices(layer, [c for _, c in shards]))]

    def fits(self, layer: Layer, names: list[str], shares: list[float] | None = None) -> bool:
        return all(self.free.get(u, 0) >= n for u, piece, n in self._shards(layer, names, shares)
                   if n and (u, piece) not in self.held)

    def take(self, layer: Layer, names: list[str], shares: list[float] | None = None) -> None:
        for u, piece, n in self._shards(layer, names, shares):
            if u in self.free and (u, piece) not in self.held:
                self.free[u] -= n
                self.held.add((u, piece))


def capable(units: dict[str, Unit], layer: Layer, kind: str | None = None) -> list[str]:
    """Units (of ``kind``, if given) that can run ``layer``, in declaration order."""
    return [u for u, x in units.items() if (kind is None or x.kind == kind) and can_run(x, layer.op) is None]


def shard_estimate(arch: Arch, layer: Layer, counts: dict[str, int],
                   units: dict[str, Unit] | None = None) -> tuple[int, float]:
    """(latency ps, energy pJ) of ``layer`` with ``counts[unit]`` rows on each unit, its static
    weights streamed from DRAM where the unit does not hold them — the same ``hw`` costs the plan
    uses. Streams share the DRAM channel and the memory controller's first links, so their total
    bytes bound the layer's time from below. ``units``: ``arch.instances()``, if at hand."""
    units = units if units is not None else arch.instances()
    chans = arch.dram_channels()
    lat, energy = 0, 0.0
    streamed: dict[str, int] = {}            # bytes per memory controller
    first_links: dict[str, set] = {}
    costs: dict[tuple, tuple[int, float]] = {}   # a unit group's shards of one size cost alike
    whole = layer.op
    for u, c in counts.items():
        if not c:
            continue
        op = whole.rows(c)
        key = (id(units[u].params), units[u].kind, c)
        if key not in costs:
            cost = unit_cost(units[u], op)
            costs[key] = cost.time_ps, cost.total_pj
        t, e = costs[key]
        wbytes = streamed_weight_bytes(units[u], op)
        if wbytes and units[u].kind not in RESIDENT and wbytes > local_weight_bytes(units[u]):
            ch = arch.nearest_dram(units[u].pos)
            mem = chans[ch]
            _, zl = transfer_times(arch, tuple(mem.position), units[u].pos, wbytes, ch)
            t += zl
            e += mem_cost(mem, wbytes).total_pj
            path = route(arch.noc, tuple(mem.position), units[u].pos)
            e += transfer_energy(arch.noc, path, wbytes).total_pj
            streamed[ch] = streamed.get(ch, 0) + wbytes
            first_links.setdefault(ch, set()).add(path[1] if len(path) > 1 else path[0])
        lat, energy = max(lat, t), energy + e
    for ch, nbytes in streamed.items():
        flits = -(-nbytes // arch.noc.flit_bytes) // len(first_links[ch])
        lat = max(lat, mem_ps(chans[ch], nbytes), flits_ps(arch.noc, flits))
    return lat, energy
