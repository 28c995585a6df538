"""The event-driven simulator: a mapping's plan played out in SimPy, time in integer picoseconds.

Every job is a process: it waits for its dependencies and input transfers, takes its unit (a
SimPy resource, first come first served), holds it for ``cost.time_ps`` from ``hw`` and
releases it. A transfer is issued by a callback when its producers end; the NoC model reserves
its packets and the transfer arrives as a timeout. Nothing but scheduling, contention and data
movement differs from the analytical model.
"""
from __future__ import annotations

from dataclasses import dataclass

import simpy

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.mapper.mapping import Mapping
from prismsim.mapper.plan import Plan, build_plan
from prismsim.mapper.result import Result, summarize
from prismsim.mapper.workload import Workload
from prismsim.traces import NullRecorder, Recorder

from .noc import Network


@dataclass
class Timeline:
    """When every job and transfer of a plan happened (ps), and the conservation counters."""

    job_start: list[int]
    job_end: list[int]
    tr_issue: list[int]
    tr_end: list[int]
    bytes_sent: int
    bytes_delivered: int
    packets: int


class _Run:
    def __init__(self, plan: Plan, ideal_noc: bool, recorder: Recorder):
        self.plan = plan
        self.env = simpy.Environment()
        self.net = Network(self.env, plan.arch.noc, plan.arch.memories(), ideal=ideal_noc)
        self.rec = recorder
        self.units = {u: simpy.Resource(self.env, capacity=1) for u in plan.units}
        nj, nt = len(plan.jobs), len(plan.transfers)
        self.job_done = [self.env.event() for _ in range(nj)]
        self.arrived = [self.env.event() for _ in range(nt)]
        self.start, self.end = [0] * nj, [0] * nj
        self.tr_issue, self.tr_end = [0] * nt, [0] * nt
        self.stall = {"unit_busy": 0, "noc_contention": 0}
        self.bytes_delivered = 0
        self.events = 0

    def job(self, j):
        env = self.env
        waits = [self.job_done[d] for d in j.deps] + [self.arrived[t] for t in j.inputs]
        if waits:
            yield simpy.AllOf(env, waits)
        ready = env.now
        with self.units[j.unit].request() as req:
            yield req
            self.start[j.id] = t0 = env.now
            if t0 > ready:
                self.stall["unit_busy"] += t0 - ready
                self.rec.row(ready, t0, "stall", j.unit, j.layer, j.shard, j.chunk, 0, 0, 0.0)
                self.events += 1
            yield env.timeout(j.cost.time_ps)
        self.end[j.id] = env.now
        kind = "compute" if j.kind == "compute" else "memory"
        self.rec.row(t0, env.now, kind, j.unit, j.layer, j.shard, j.chunk, 0, j.macs, j.cost.total_pj)
        self.events += 1
        self.job_done[j.id].succeed()

    def issue(self, t) -> None:
        mems = self.net.mems

        def go(_ev=None) -> None:
            now = self.env.now
            self.tr_issue[t.id] = now
            self.net.send(t.src_node, t.dst_node, t.nbytes, on_done=lambda _t: self.land(t, now),
                          src_mem=t.src if t.src in mems else None, dst_mem=t.dst if t.dst in mems else None)

        waits = [self.job_done[a] for a in t.after] + [self.arrived[x] for x in t.after_tr]
        if waits:
            simpy.AllOf(self.env, waits).callbacks.append(go)
        else:
            go()

    def land(self, t, issued: int) -> None:
        now = self.env.now
        self.tr_end[t.id] = now
        self.bytes_delivered += t.nbytes
        ideal = t.ideal_ps if self.net.ideal else t.zero_load_ps
        self.stall["noc_contention"] += max(0, now - issued - ideal)
        route = f"{t.src}->{t.dst}"
        self.rec.row(issued, now, "transfer", route, t.layer, -1, -1, t.nbytes, 0, sum(t.noc_energy.values()))
        self.events += 1
        if t.mem_energy:
            mem = t.src if t.src in self.net.mems else t.dst
            self.rec.row(issued, now, "memory", mem, t.layer, -1, -1, t.nbytes, 0, sum(t.mem_energy.values()))
            self.events += 1
        self.arrived[t.id].succeed()

    def run(self) -> Result:
        for t in self.plan.transfers:
            self.issue(t)
        for j in self.plan.jobs:
            self.env.process(self.job(j))
        self.env.run()
        if not all(e.triggered for e in self.job_done):
            stuck = next(j for j, e in zip(self.plan.jobs, self.job_done) if not e.triggered)
            links = self.net.stuck()
            why = f"; packets stuck at channels {', '.join(links[:8])}" if links else ""
            raise PrismError(f"simulation stalled at {self.env.now} ps: job {stuck.layer}"
                             f"[shard {stuck.shard}, chunk {stuck.chunk}] never ran{why}")
        res = summarize(self.plan, "des", self.start, self.end, self.tr_issue, self.tr_end,
                        link_busy=self.net.link_busy(), stall_ps=self.stall, events=self.events)
        return res


def simulate_plan(plan: Plan, *, ideal_noc: bool = False, recorder: Recorder | None = None) -> tuple[Result, Timeline]:
    """Play ``plan`` out; return the Result and the Timeline of every job and transfer."""
    run = _Run(plan, ideal_noc, recorder or NullRecorder())
    res = run.run()
    return res, Timeline(run.start, run.end, run.tr_issue, run.tr_end, run.net.bytes_sent,
                         run.bytes_delivered, run.net.packets)


def simulate(arch: Arch, workload: Workload, mapping: Mapping, *, seed: int = 0, ideal_noc: bool = False,
             recorder: Recorder | None = None) -> Result:
    """Event-driven latency/energy/utilization of ``mapping`` (validated first).

    ``seed`` is recorded for reproducibility; the timing model itself is deterministic."""
    res, _ = simulate_plan(build_plan(arch, workload, mapping), ideal_noc=ideal_noc, recorder=recorder)
    return res
