"""``Result``: what a run produced. The analytical model and the simulator both build it with
``summarize`` from the same plan, so the two compare field by field."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from prismsim.hw.cost import category_of
from prismsim.hw.units import leakage_mw

from .plan import DRAM, GB, Plan


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
    per_layer: dict[str, dict] = field(default_factory=dict)
    per_unit: dict[str, dict] = field(default_factory=dict)

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
    over the run; utilization = busy time / latency."""
    latency = max(max(job_end, default=0), max(tr_end, default=0), latency_floor_ps)
    units = plan.units
    # energy by reporting kind (unit kind, noc, dram, global_buffer), then by device
    acc: dict[str, dict[str, float]] = {}
    per_unit = {u: {"kind": units[u].kind, "busy_ps": 0, "jobs": 0, "macs": 0, "energy_pj": 0.0} for u in units}
    unit_acc = {u: acc.setdefault(units[u].kind, {}) for u in units}
    per_layer: dict[str, dict] = {}
    for j in plan.jobs:
        a = unit_acc[j.unit]
        e = 0.0
        for dev, v in j.cost.energy_pj.items():
            a[dev] = a.get(dev, 0.0) + v
            e += v
        pu = per_unit[j.unit]
        pu["busy_ps"] += j.cost.time_ps
        pu["jobs"] += 1
        pu["macs"] += j.macs
        pu["energy_pj"] += e
        s, t = job_start[j.id], job_end[j.id]
        pl = per_layer.get(j.layer)
        if pl is None:
            pl = per_layer[j.layer] = {"start_ps": s, "end_ps": t, "macs": 0, "energy_pj": 0.0, "jobs": 0,
                                       "units": []}
        elif s < pl["start_ps"]:
            pl["start_ps"] = s
        if t > pl["end_ps"]:
            pl["end_ps"] = t
        pl["macs"] += j.macs
        pl["energy_pj"] += e
        pl["jobs"] += 1
        if j.unit not in pl["units"]:
            pl["units"].append(j.unit)
    noc_bytes = dram_bytes = gb_bytes = byte_hops = 0
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
        if t.src == DRAM or t.dst == DRAM:
            dram_bytes += nb * ((t.src == DRAM) + (t.dst == DRAM))
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
    return Result(
        model=plan.workload.name, arch=plan.arch.name, strategy=plan.mapping.strategy, evaluator=evaluator,
        latency_ps=int(latency), energy_pj=total,
        energy_breakdown_pj=dict(sorted(by_cat.items())), energy_by_kind_pj=dict(sorted(by_kind.items())),
        macs=plan.macs, events=events,
        utilization={u: per_unit[u]["utilization"] for u in units},
        link_utilization={k: v / latency if latency else 0.0 for k, v in sorted((link_busy or {}).items())},
        stall_ps=dict(sorted((stall_ps or {}).items())), noc_bytes=noc_bytes, dram_bytes=dram_bytes,
        gb_bytes=gb_bytes, writes_per_cell=dict(plan.writes_per_cell), noc_byte_hops=byte_hops,
        noc_avg_transfer_ps=(sum(e - i for i, e in zip(tr_issue, tr_end)) / len(tr_end)) if tr_end else 0.0,
        per_layer=per_layer, per_unit=per_unit)
