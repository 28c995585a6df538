"""``Result``: what a run produced. The analytical model and the simulator both build it with
``summarize`` from the same plan, so the two compare field by field."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from prismsim.hw.cost import category_of
from prismsim.hw.chip import area_breakdown_mm2
from prismsim.hw.units import area_um2, leakage_mw

from .plan import GB, Plan


@dataclass
class Result:
    """Latency in ps, energy in pJ, utilization in [0, 1]."""

    model: str
    arch: str
    strategy: str
    evaluator: str                      # analytical | des
    latency_ps: int
    energy_pj: float
    energy_breakdown_pj: dict[str, float]   # by category: compute, conversion, laser_static, memory, noc, static
    energy_by_kind_pj: dict[str, float]     # by unit kind, plus noc, dram and global_buffer
    macs: int
    events: int
    utilization: dict[str, float]           # per unit
    link_utilization: dict[str, float] = field(default_factory=dict)
    stall_ps: dict[str, int] = field(default_factory=dict)   # by cause
    noc_bytes: int = 0
    dram_bytes: int = 0
    gb_bytes: int = 0
    noc_byte_hops: int = 0                  # sum over transfers of bytes x hops
    noc_avg_transfer_ps: float = 0.0        # mean time from issue to arrival of a transfer
    writes_per_cell: dict[str, int] = field(default_factory=dict)
    area_mm2: float = 0.0                   # the chip's, the sum of area_breakdown_mm2
    area_breakdown_mm2: dict[str, float] = field(default_factory=dict)   # by component kind (hw.chip)
    per_layer: dict[str, dict] = field(default_factory=dict)
    per_unit: dict[str, dict] = field(default_factory=dict)

    def utilization_by_kind(self) -> dict[str, float]:
        """Mean utilization of the units of each kind (photonic, reram, ...), in [0, 1]."""
        kinds: dict[str, list[float]] = {}
        for v in self.per_unit.values():
            kinds.setdefault(v["kind"], []).append(v["utilization"])
        return {k: sum(v) / len(v) for k, v in kinds.items()}

    def summary(self) -> dict:
        """The scalar part (what summary.json holds), per-layer and per-unit tables left out."""
        d = asdict(self)
        d.pop("per_layer")
        d.pop("per_unit")
        return d


def summarize(plan: Plan, evaluator: str, job_start: list[int], job_end: list[int], tr_issue: list[int],
              tr_end: list[int], link_busy: dict[str, int] | None = None, stall_ps: dict[str, int] | None = None,
              events: int = 0, latency_floor_ps: int = 0) -> Result:
    """Account a played-out plan: energy of every job and transfer plus leakage of every unit
    over the run; utilization = busy time (jobs other than weight writes) / latency."""
    latency = max(max(job_end, default=0), max(tr_end, default=0), latency_floor_ps)
    units = plan.units
    # energy by reporting kind (unit kind, noc, dram, global_buffer), then by device
    acc: dict[str, dict[str, float]] = {}
    unit_acc = {u: acc.setdefault(units[u].kind, {}) for u in units}
    unit_sum = {u: [0, 0, 0, 0.0] for u in units}    # busy ps, jobs, MACs, energy pJ
    per_layer: dict[str, dict] = {}

    def book(name: str, start: int, end: int, macs: int, energy: float, jobs: int, run_units: list[str]) -> None:
        """Merge a run of one layer's jobs into ``per_layer``."""
        pl = per_layer.get(name)
        if pl is None:
            per_layer[name] = {"start_ps": start, "end_ps": end, "macs": macs, "energy_pj": energy, "jobs": jobs,
                               "units": run_units}
            return
        pl["start_ps"] = min(pl["start_ps"], start)
        pl["end_ps"] = max(pl["end_ps"], end)
        pl["macs"] += macs
        pl["energy_pj"] += energy
        pl["jobs"] += jobs
        pl["units"] += [u for u in run_units if u not in pl["units"]]

    layer = None   # jobs come layer by layer: sum a run of them in locals, then book it
    for j in plan.jobs:
        if j.layer != layer:
            if layer is not None:
                book(layer, l_start, l_end, l_macs, l_e, l_jobs, l_units)
            layer, l_start, l_end, l_macs, l_e, l_jobs, l_units = j.layer, job_start[j.id], 0, 0, 0.0, 0, []
        u, c = j.unit, j.cost
        a = unit_acc[u]
        e = 0.0
        for dev, v in c.energy_pj.items():
            a[dev] = a.get(dev, 0.0) + v
            e += v
        us = unit_sum[u]
        if j.kind != "write":   # weight writes run on the arrays' own write paths, beside the unit's work
            us[0] += c.time_ps
        us[1] += 1
        us[2] += j.macs
        us[3] += e
        if job_start[j.id] < l_start:
            l_start = job_start[j.id]
        if job_end[j.id] > l_end:
            l_end = job_end[j.id]
        l_macs += j.macs
        l_e += e
        l_jobs += 1
        if u not in l_units:
            l_units.append(u)
    if layer is not None:
        book(layer, l_start, l_end, l_macs, l_e, l_jobs, l_units)
    per_unit = {u: {"kind": units[u].kind, "busy_ps": us[0], "jobs": us[1], "macs": us[2], "energy_pj": us[3]}
                for u, us in unit_sum.items()}
    noc_bytes = dram_bytes = gb_bytes = byte_hops = 0
    drams = set(plan.arch.dram_channels())
    noc = acc.setdefault("noc", {})
    for t in plan.transfers:
        nb = t.nbytes
        byte_hops += nb * t.hops
        e = 0.0
        for dev, v in t.noc_energy.items():
            noc[dev] = noc.get(dev, 0.0) + v
            e += v
        for dev, v in t.mem_energy.items():
            m = acc.setdefault(dev, {})
            m[dev] = m.get(dev, 0.0) + v
            e += v
        noc_bytes += nb
        src_dram, dst_dram = t.src in drams, t.dst in drams
        if src_dram or dst_dram:
            dram_bytes += nb * (src_dram + dst_dram)
        if t.src == GB or t.dst == GB:
            gb_bytes += nb * ((t.src == GB) + (t.dst == GB))
        pl = per_layer.get(t.layer)
        if pl is not None:
            pl["energy_pj"] += e
    for u, unit in units.items():
        leak = leakage_mw(unit) * latency * 1e-3  # mW * ps = 1e-3 pJ
        unit_acc[u]["leakage"] = unit_acc[u].get("leakage", 0.0) + leak
        per_unit[u]["energy_pj"] += leak
        per_unit[u]["utilization"] = per_unit[u]["busy_ps"] / latency if latency else 0.0
    for pl in per_layer.values():
        pl["units"] = ",".join(pl["units"])
    by_cat: dict[str, float] = {}
    by_kind: dict[str, float] = {}
    for kind, devs in acc.items():
        for dev, v in devs.items():
            cat = category_of(dev)
            by_cat[cat] = by_cat.get(cat, 0.0) + v
            by_kind[kind] = by_kind.get(kind, 0.0) + v
    total = sum(by_cat.values())
    areas = area_breakdown_mm2(plan.arch)
    for u, unit in units.items():
        per_unit[u]["area_mm2"] = area_um2(unit) * 1e-6
    return Result(
        model=plan.workload.name, arch=plan.arch.label, strategy=plan.mapping.strategy, evaluator=evaluator,
        latency_ps=int(latency), energy_pj=total,
        energy_breakdown_pj=dict(sorted(by_cat.items())), energy_by_kind_pj=dict(sorted(by_kind.items())),
        macs=plan.macs, events=events,
        utilization={u: per_unit[u]["utilization"] for u in units},
        link_utilization={k: v / latency if latency else 0.0 for k, v in sorted((link_busy or {}).items())},
        stall_ps=dict(sorted((stall_ps or {}).items())), noc_bytes=noc_bytes, dram_bytes=dram_bytes,
        gb_bytes=gb_bytes, writes_per_cell=dict(plan.writes_per_cell), noc_byte_hops=byte_hops,
        noc_avg_transfer_ps=(sum(tr_end) - sum(tr_issue)) / len(tr_end) if tr_end else 0.0,
        area_mm2=sum(areas.values()), area_breakdown_mm2=areas, per_layer=per_layer, per_unit=per_unit)
