"""Baselines: all on one unit kind, equal split over every capable unit, greedy per layer."""
from __future__ import annotations

from collections import Counter

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import (RESIDENT, arrays_available, arrays_needed, can_run, local_weight_bytes,
                               streamed_weight_bytes, unit_cost)

from ..mapping import Mapping, split_counts, weight_slices
from ..plan import transfer_times
from ..workload import Layer, Workload
from prismsim.hw.memory import mem_cost, mem_ps
from prismsim.hw.noc import flits_ps, route, transfer_energy


class _Capacity:
    """Arrays still free on each weight-resident unit (ReRAM, SRAM-PIM: static weights stay
    written for the whole run). A layer split equally over ``names`` holds the same weight
    slices as an earlier layer sharing its weights (``Layer.weights``) split over the same units:
    those take no more arrays."""

    def __init__(self, units: dict[str, Unit]):
        self.free = {u: arrays_available(x) for u, x in units.items() if x.kind in RESIDENT}
        self.units = units
        self.held: set[tuple[str, tuple]] = set()   # (unit, weight slice) already taken

    def _shards(self, layer: Layer, names: list[str]) -> list[tuple[str, tuple, int]]:
        """(unit, weight slice, arrays) per non-empty shard of an equal split."""
        shards = [(u, c) for u, c in zip(names, split_counts(layer.op.split_size, [1.0] * len(names))) if c]
        return [(u, piece, arrays_needed(self.units[u], layer.op.rows(c)))
                for (u, c), piece in zip(shards, weight_slices(layer, [c for _, c in shards]))]

    def fits(self, layer: Layer, names: list[str]) -> bool:
        return all(self.free.get(u, 0) >= n for u, piece, n in self._shards(layer, names)
                   if n and (u, piece) not in self.held)

    def take(self, layer: Layer, names: list[str]) -> None:
        for u, piece, n in self._shards(layer, names):
            if u in self.free and (u, piece) not in self.held:
                self.free[u] -= n
                self.held.add((u, piece))


def _capable(units: dict[str, Unit], layer: Layer, kind: str | None = None) -> list[str]:
    return [u for u, x in units.items() if (kind is None or x.kind == kind) and can_run(x, layer.op) is None]


def _equal(names: list[str]) -> dict[str, float]:
    return {u: 1.0 / len(names) for u in names}


def _place(layer: Layer, names: list[str], cap: _Capacity) -> list[str] | None:
    """``names`` if the layer fits on them (always, unless they are weight-resident units that are full)."""
    if not names:
        return None
    if any(cap.units[u].kind in RESIDENT for u in names):
        if not cap.fits(layer, names):
            return None
        cap.take(layer, names)
    return names


def homogeneous(workload: Workload, arch: Arch, kind: str | None = None) -> Mapping:
    """Every layer on all units of one kind (default: the arch's most numerous non-digital kind),
    split equally; what that kind cannot run goes to the digital units."""
    units = arch.instances()
    kinds = Counter(u.kind for u in units.values() if u.kind != "digital")
    kind = kind or (kinds.most_common(1)[0][0] if kinds else "digital")
    if kind not in {u.kind for u in units.values()}:
        raise PrismError(f"--kind: arch {arch.name} has no {kind!r} units")
    cap = _Capacity(units)
    layers = {}
    for layer in workload.layers:
        names = _place(layer, _capable(units, layer, kind), cap) or _capable(units, layer, "digital")
        if not names:
            raise PrismError(f"strategy homogeneous: no unit of arch {arch.name} can run layer {layer.name!r}")
        layers[layer.name] = _equal(names)
    return Mapping(layers)


def equal(workload: Workload, arch: Arch) -> Mapping:
    """Each layer split equally over every unit that can run it (weight-resident units while the
    weights fit)."""
    units = arch.instances()
    cap = _Capacity(units)
    layers = {}
    for layer in workload.layers:
        names = _capable(units, layer)
        rr = [u for u in names if units[u].kind in RESIDENT]
        if rr and not cap.fits(layer, rr):
            names = [u for u in names if units[u].kind not in RESIDENT]
        elif rr:
            cap.take(layer, rr)
        if not names:
            raise PrismError(f"strategy equal: no unit of arch {arch.name} can run layer {layer.name!r}")
        layers[layer.name] = _equal(names)
    return Mapping(layers)


def shard_estimate(arch: Arch, layer: Layer, counts: dict[str, int]) -> tuple[int, float]:
    """(latency ps, energy pJ) of ``layer`` with ``counts[unit]`` rows on each unit, its static
    weights streamed from DRAM where the unit does not hold them — the same ``hw`` costs the plan
    uses. Streams share the DRAM channel and the memory controller's first links, so their total
    bytes bound the layer's time from below."""
    units = arch.instances()
    chans = arch.dram_channels()
    lat, energy = 0, 0.0
    streamed: dict[str, int] = {}            # bytes per memory controller
    first_links: dict[str, set] = {}
    for u, c in counts.items():
        if not c:
            continue
        op = layer.op.rows(c)
        cost = unit_cost(units[u], op)
        t, e = cost.time_ps, cost.total_pj
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


def layer_estimate(arch: Arch, layer: Layer, names: list[str]) -> tuple[int, float]:
    """``shard_estimate`` of ``layer`` split equally over ``names``."""
    return shard_estimate(arch, layer, dict(zip(names, split_counts(layer.op.split_size, [1.0] * len(names)))))


def greedy(workload: Workload, arch: Arch) -> Mapping:
    """Each layer (largest first, for weight capacity) to the unit kind with the best analytical
    latency x energy, split equally over that kind's units."""
    units = arch.instances()
    cap = _Capacity(units)
    kinds = list(dict.fromkeys(u.kind for u in units.values()))
    chosen: dict[str, dict[str, float]] = {}
    for layer in sorted(workload.layers, key=lambda lay: -lay.macs):
        options = []
        for kind in kinds:
            names = _capable(units, layer, kind)
            if names and (kind not in RESIDENT or cap.fits(layer, names)):
                lat, e = layer_estimate(arch, layer, names)
                options.append((lat * e, kinds.index(kind), names))
        if not options:
            raise PrismError(f"strategy greedy: no unit of arch {arch.name} can run layer {layer.name!r}")
        _, _, names = min(options, key=lambda o: (o[0], o[1]))
        if units[names[0]].kind in RESIDENT:
            cap.take(layer, names)
        chosen[layer.name] = _equal(names)
    return Mapping({name: chosen[name] for name in workload.order})
