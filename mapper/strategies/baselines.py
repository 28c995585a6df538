"""Baselines: all on one unit kind, equal split over every capable unit, greedy per layer."""
from __future__ import annotations

from collections import Counter

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import RESIDENT

from ..mapping import Mapping
from ..workload import Layer, Workload
from .estimates import Capacity, capable
from .parallelism import UnitPicker, best_alone, choose_counts


def _equal(names: list[str]) -> dict[str, float]:
    return {u: 1.0 / len(names) for u in names}


def _place(layer: Layer, names: list[str], cap: Capacity) -> list[str] | None:
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
    cap = Capacity(units)
    layers = {}
    for layer in workload.layers:
        names = _place(layer, capable(units, layer, kind), cap) or capable(units, layer, "digital")
        if not names:
            raise PrismError(f"strategy homogeneous: no unit of arch {arch.name} can run layer {layer.name!r}")
        layers[layer.name] = _equal(names)
    return Mapping(layers)


def equal(workload: Workload, arch: Arch) -> Mapping:
    """Each layer split equally over every unit that can run it (weight-resident units while the
    weights fit)."""
    units = arch.instances()
    cap = Capacity(units)
    layers = {}
    for layer in workload.layers:
        names = capable(units, layer)
        rr = [u for u in names if units[u].kind in RESIDENT]
        if rr and not cap.fits(layer, rr):
            names = [u for u in names if units[u].kind not in RESIDENT]
        elif rr:
            cap.take(layer, rr)
        if not names:
            raise PrismError(f"strategy equal: no unit of arch {arch.name} can run layer {layer.name!r}")
        layers[layer.name] = _equal(names)
    return Mapping(layers)


def greedy(workload: Workload, arch: Arch) -> Mapping:
    """Each layer (largest first, for weight capacity) to the unit kind with the best analytical
    latency x energy at its best shard count; then, in model order, each layer's shard count and
    units chosen against where its inputs come from (``parallelism.choose_counts``)."""
    units = arch.instances()
    cap = Capacity(units)
    kinds = list(dict.fromkeys(u.kind for u in units.values()))
    kind_of: dict[str, str] = {}
    picker = UnitPicker(arch, units)
    for layer in sorted(workload.layers, key=lambda lay: -lay.macs):
        options = []
        for kind in kinds:
            names = capable(units, layer, kind)
            if names and (kind not in RESIDENT or cap.fits(layer, names)):
                lat, e = best_alone(arch, workload, units, layer, names, picker)
                options.append((lat * e, kinds.index(kind), names))
        if not options:
            raise PrismError(f"strategy greedy: no unit of arch {arch.name} can run layer {layer.name!r}")
        _, _, names = min(options, key=lambda o: (o[0], o[1]))
        if units[names[0]].kind in RESIDENT:
            cap.take(layer, names)
        kind_of[layer.name] = units[names[0]].kind
    return Mapping(choose_counts(workload, arch, kind_of, "greedy"))
