"""Closed-form latency, energy and utilization of a mapping: the plan's dependency recurrence
with every unit, link and memory channel free when asked for (no contention).

start(job) = max(end of its dependencies, arrival of its inputs); end = start + cost.time_ps;
a transfer is issued when its producers end and arrives after its ideal (infinite bandwidth)
or zero-load (bandwidth, no contention) latency. Pipelined runs whose units are shared between
layers are bounded below by the busiest unit's total work.
"""
from __future__ import annotations

from prismsim.hw.spec import Arch

from .mapping import Mapping
from .plan import Plan, build_plan
from .result import Result, summarize
from .workload import Workload


def analytical_times(plan: Plan, ideal_noc: bool = False) -> tuple[list[int], list[int], list[int], list[int]]:
    """The recurrence's times (ps): job starts and ends, transfer issues and arrivals."""
    start = [0] * len(plan.jobs)
    end = [0] * len(plan.jobs)
    tr_issue = [0] * len(plan.transfers)
    tr_end = [0] * len(plan.transfers)
    # transfers only depend on earlier jobs, jobs only on earlier jobs/transfers: one pass in id order
    issued: set[int] = set()

    def finish_transfer(tid: int) -> int:
        if tid not in issued:
            t = plan.transfers[tid]
            tr_issue[tid] = max([end[a] for a in t.after] + [finish_transfer(x) for x in t.after_tr], default=0)
            tr_end[tid] = tr_issue[tid] + (t.ideal_ps if ideal_noc else t.zero_load_ps)
            issued.add(tid)
        return tr_end[tid]

    for j in plan.jobs:
        s = max((end[d] for d in j.deps), default=0)
        for tid in j.inputs:
            s = max(s, finish_transfer(tid))
        start[j.id] = s
        end[j.id] = s + j.cost.time_ps
    for t in plan.transfers:
        finish_transfer(t.id)
    return start, end, tr_issue, tr_end


def analyze_plan(plan: Plan, ideal_noc: bool = False, times: tuple | None = None) -> Result:
    """The Result of the recurrence (``times``: its ``analytical_times``, if already computed)."""
    start, end, tr_issue, tr_end = times if times is not None else analytical_times(plan, ideal_noc)
    busy: dict[str, int] = {}
    for j in plan.jobs:
        if j.kind != "write":   # arrays program over their own write paths, beside the unit's work
            busy[j.unit] = busy.get(j.unit, 0) + j.cost.time_ps
    # the busiest unit bounds the run only when units are shared between concurrent layers
    return summarize(plan, "analytical", start, end, tr_issue, tr_end, latency_floor_ps=max(busy.values(), default=0))


def analyze(arch: Arch, workload: Workload, mapping: Mapping, *, ideal_noc: bool = False) -> Result:
    """Analytical latency/energy/utilization of ``mapping`` (validated first)."""
    return analyze_plan(build_plan(arch, workload, mapping), ideal_noc)
