"""``prismsim cost``: one GEMM on one unit, component by component (energy, busy time, area), or,
without ``--gemm``, the chip's area by component and its peak throughput and efficiency."""
from __future__ import annotations

import json
import sys

from prismsim.hw.chip import area_breakdown_mm2, chip_peak, unit_peak
from prismsim.hw.errors import PrismError
from prismsim.hw.ops import Op
from prismsim.hw.spec import Arch, load_arch
from prismsim.hw.units import area_um2, busy_ps, can_run, parts, resolution_warnings, unit_cost, unit_cycles


def warn_resolution(arch: Arch) -> None:
    """The ADC-resolution warnings of ``arch`` on stderr, one line each."""
    for w in resolution_warnings(arch.instances()):
        print(f"prismsim: warning: {w}", file=sys.stderr)


def area_comment(arch: Arch) -> str:
    """The chip's area and peak efficiency as YAML comments (``prismsim list --arch``)."""
    pk = chip_peak(arch)
    lines = [f"# area: {pk.area_mm2:,.3f} mm2 in all; peak {pk.gops / 1e3:,.2f} TOPS, {pk.gops_per_w / 1e3:.3f} TOPS/W, "
             f"{pk.gops / 1e3 / pk.area_mm2:.4f} TOPS/mm2 (prismsim cost --arch for the breakdown)"]
    first = {}
    for u in arch.instances().values():
        first.setdefault(id(u.params), u)
    for g in arch.units:
        u = first[id(g.params)]
        lines.append(f"#   {g.name}: {g.count} x {area_um2(u) * 1e-6:,.3f} mm2 ({g.kind})")
    return "\n".join(lines) + "\n"


def _chip(arch: Arch, as_json: bool) -> int:
    areas = area_breakdown_mm2(arch)
    pk = chip_peak(arch)
    groups = {}
    for name, u in arch.instances().items():
        g = groups.setdefault(u.kind, {"units": 0, "area_mm2": 0.0, "peak_gops": 0.0, "peak_power_mw": 0.0})
        up = unit_peak(u)
        g["units"] += 1
        g["area_mm2"] += up.area_mm2
        g["peak_gops"] += up.gops
        g["peak_power_mw"] += up.power_mw
    doc = {"arch": arch.label, "area_mm2": pk.area_mm2, "area_breakdown_mm2": areas, "peak_tops": pk.gops / 1e3,
           "peak_power_w": pk.power_mw / 1e3, "peak_tops_per_w": pk.gops_per_w / 1e3,
           "peak_gops_per_mm2": pk.gops_per_mm2, "units": groups}
    if as_json:
        print(json.dumps(doc))
        return 0
    print(f"chip {arch.label}: {pk.area_mm2:,.3f} mm2, peak {pk.gops / 1e3:,.2f} TOPS at {pk.power_mw / 1e3:,.2f} W "
          f"({pk.gops_per_w / 1e3:.3f} TOPS/W, {pk.gops_per_mm2:,.1f} GOPS/mm2)")
    print(f"  {'unit kind':<10} {'units':>6} {'area mm2':>11} {'peak TOPS':>10} {'peak W':>9}")
    for k, g in groups.items():
        print(f"  {k:<10} {g['units']:>6} {g['area_mm2']:>11,.3f} {g['peak_gops'] / 1e3:>10,.2f} "
              f"{g['peak_power_mw'] / 1e3:>9,.2f}")
    print("  area by component (0.1% or more)")
    for k, v in sorted(areas.items(), key=lambda kv: -kv[1]):
        if v >= pk.area_mm2 / 1000:
            print(f"    {k:<26} {v:>11,.3f} mm2  ({100 * v / pk.area_mm2:.1f}%)")
    return 0


def cmd_cost(args) -> int:
    arch = load_arch(args.arch)
    warn_resolution(arch)
    if args.gemm is None:
        if args.unit is not None:
            raise PrismError("--unit: only with --gemm (without it, cost describes the whole chip)")
        return _chip(arch, args.json)
    units = arch.instances()
    if args.unit is None:
        name = next((u for u, x in units.items() if x.kind == "photonic"), next(iter(units)))
    elif args.unit in units:
        name = args.unit
    else:
        raise PrismError(f"--unit: arch {arch.name} has no unit {args.unit!r} (units: {', '.join(units)})")
    fields = args.gemm.split(",")
    if len(fields) != 3 or not all(x.isdigit() and 0 < int(x) <= 10 ** 9 for x in fields):
        raise PrismError(f"--gemm: expected N,D,M as three whole numbers from 1 to 1e9 (got {args.gemm!r})")
    n, d, m = map(int, fields)
    op = Op("gemm", n, d, m, static_weights=True)
    unit = units[name]
    why = can_run(unit, op)
    if why:
        raise PrismError(f"--unit: {name}: {why}")
    try:
        c = unit_cost(unit, op)
    except PrismError as err:
        raise PrismError(f"--gemm {args.gemm} on unit {name}: {err}") from None
    sw, st = unit_cycles(unit, op)
    busy = busy_ps(unit, op)
    counts = {x.name: x for x in parts(unit)}
    comps = {}
    for k in dict.fromkeys([*c.energy_pj, *counts]):
        x = counts.get(k)
        comps[k] = {"count": x.count if x else None, "energy_pj": c.energy_pj.get(k, 0.0),
                    "time_share": min(1.0, busy.get(k, 0) / c.time_ps) if c.time_ps else 0.0,
                    "area_um2": x.total_area_um2 if x else 0.0}
    doc = {"unit": name, "kind": unit.kind, "gemm": {"N": n, "D": d, "M": m}, "cycles": sw,
           "static_cycles": st, "time_ps": c.time_ps, "energy_pj": c.energy_pj, "total_energy_pj": c.total_pj,
           "area_um2": area_um2(unit), "components": comps}
    if args.json:
        print(json.dumps(doc, sort_keys=False))
        return 0
    print(f"{unit.kind} unit {name} of {arch.label}: GEMM Y[{n}x{m}] = W[{n}x{d}] . X[{d}x{m}]  ({n * d * m:,} MACs)")
    print(f"  cycles         {sw:,}")
    print(f"  static cycles  {st:,}")
    print(f"  time           {c.time_ps:,} ps")
    print(f"  unit area      {area_um2(unit) * 1e-6:,.4f} mm2")
    print(f"  {'component':<16} {'count':>9} {'energy pJ':>16} {'busy':>6} {'area um2':>14}")
    for k, v in comps.items():
        cnt = f"{v['count']:,.0f}" if v["count"] is not None else "-"
        print(f"  {k:<16} {cnt:>9} {v['energy_pj']:>16,.3f} {100 * v['time_share']:>5.0f}% {v['area_um2']:>14,.1f}")
    print(f"  {'total':<16} {'':>9} {c.total_pj:>16,.3f}")
    return 0
