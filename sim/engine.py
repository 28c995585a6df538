"""The event-driven simulator: a mapping's plan played out in SimPy, time in integer picoseconds.

Every job waits for its dependencies and input transfers, queues for its unit (first come,
first served), holds it for ``cost.time_ps`` from ``hw`` and releases it (a weight write holds
nothing: each array programs over its own write path, beside the unit's compute); a transfer enters the
packet network (``sim/noc.py``) when its producers end. Both are driven by callbacks on SimPy
events rather than processes. Nothing but scheduling, contention and data movement differs from
the analytical model.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import simpy

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.mapper.gcpause import fewer_collections
from prismsim.mapper.mapping import Mapping
from prismsim.mapper.plan import Plan, build_plan
from prismsim.mapper.result import Result, summarize
from prismsim.mapper.workload import Workload
from prismsim.traces import NullRecorder, Recorder

from .flow import FlowNetwork
from .noc import Network
from .progress import Watcher


@dataclass
class Timeline:
    """When every job and transfer of a plan happened (ps), and the conservation counters."""

    job_start: list[int]
    job_end: list[int]
    tr_issue: list[int]
    tr_end: list[int]
    unit_prev: list[int]  # per job: the job it queued behind for its unit, or -1
    bytes_sent: int
    bytes_delivered: int
    packets: int
    sim_events: int     # events processed: SimPy's plus the network's own

    @property
    def times(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """Job starts, job ends, transfer issues and arrivals (ps), as ``mapper.critical`` takes them."""
        return self.job_start, self.job_end, self.tr_issue, self.tr_end


TRACE_LEVELS = ("none", "layers", "events", "packets")
NOC_MODELS = ("router", "flow")


class _Run:
    """One run. Jobs and transfers start from callbacks: each keeps a count of what it waits
    for; when the count reaches zero a job queues (first come, first served) for its unit and a
    transfer enters the network."""

    def __init__(self, plan: Plan, ideal_noc: bool, recorder: Recorder, trace: str = "events",
                 counters: bool = False, noc: str = "router"):
        self.plan = plan
        self.env = simpy.Environment()
        net = FlowNetwork if noc == "flow" else Network
        self.net = net(self.env, plan.arch.noc, plan.mems or plan.arch.memories(), ideal=ideal_noc,
                           recorder=recorder if trace == "packets" else None,
                           counters=recorder if counters else None)
        self.tracing = trace in ("events", "packets")
        self.rec = recorder if self.tracing else NullRecorder()
        self.layer_rec = recorder if trace == "layers" else None
        self.jobs, self.trs = jobs, trs = plan.jobs, plan.transfers
        nj, nt = len(jobs), len(trs)
        self.wait_job = [len(j.deps) + len(j.inputs) for j in jobs]
        self.wait_tr = [len(t.after) + len(t.after_tr) for t in trs]
        # what each job (index jid) and transfer (index nj + tid) is waited for by: jobs as their
        # ids, transfers as ~tid (negative)
        then: list[list[int]] = [[] for _ in range(nj + nt)]
        for j in jobs:
            jid = j.id
            for d in j.deps:
                then[d].append(jid)
            for t in j.inputs:
                then[nj + t].append(jid)
        for t in trs:
            tid = ~t.id
            for a in t.after:
                then[a].append(tid)
            for x in t.after_tr:
                then[nj + x].append(tid)
        self.then, self.nj = then, nj
        self.queue: dict[str, deque] = {u: deque() for u in plan.units}
        self.busy = dict.fromkeys(plan.units, False)
        self.ready = [0] * nj
        self.start, self.end = [0] * nj, [-1] * nj
        self.unit_prev = [-1] * nj
        self.tr_issue, self.tr_end = [0] * nt, [0] * nt
        self.unit_stall_ps = self.noc_stall_ps = 0
        self.stalls = 0        # jobs that waited for their unit
        self.bytes_delivered = 0
        self.timeouts = 0      # SimPy events the engine scheduled (job ends)
        self.routes: dict = {}  # (src, dst) unit/memory names -> the network's route handle
        self.jobs_done = 0

    # -- jobs (``now``: the time of the event that got us here, which may be the network's,
    # ahead of ``env.now``; see sim/noc.py) -------------------------------------------------
    def job_ready(self, jid: int, now: int) -> None:
        """All the job waited for has happened: it starts, or queues behind its busy unit."""
        self.ready[jid] = now
        unit = self.jobs[jid].unit
        if self.jobs[jid].kind == "write":   # each array programs over its own write path: no queue
            self.start[jid] = now
            self.env.timeout(now + self.jobs[jid].cost.time_ps - self.env.now, jid).callbacks.append(self.job_end)
            self.timeouts += 1
        elif self.busy[unit]:
            self.queue[unit].append(jid)
        else:
            self.begin(jid, unit, now)

    def begin(self, jid: int, unit: str, now: int) -> None:
        """Start job ``jid`` on its (idle) unit; its end is a SimPy timeout."""
        self.busy[unit] = True
        self.start[jid] = now
        j = self.jobs[jid]
        if now > self.ready[jid]:
            self.unit_stall_ps += now - self.ready[jid]
            self.stalls += 1
            if self.tracing:
                self.rec.row(self.ready[jid], now, "stall", unit, j.layer, j.shard, j.chunk, 0, 0, 0.0)
        env = self.env
        env.timeout(now + j.cost.time_ps - env.now, jid).callbacks.append(self.job_end)
        self.timeouts += 1

    def job_end(self, ev: simpy.Event) -> None:
        jid = ev.value
        j = self.jobs[jid]
        now = self.env.now
        self.end[jid] = now
        self.jobs_done += 1
        if self.tracing:
            self.rec.row(self.start[jid], now, j.trace_kind, j.unit, j.layer, j.shard, j.chunk, 0, j.macs,
                         j.cost.total_pj)
        q = self.queue[j.unit]   # first come, first served (a weight write never held the unit)
        if j.kind != "write":
            if q:
                nxt = q.popleft()
                self.unit_prev[nxt] = jid
                self.begin(nxt, j.unit, now)
            else:
                self.busy[j.unit] = False
        self.release(self.then[jid], now)

    def release(self, then: list[int], now: int) -> None:
        """One more thing the given jobs (ids) and transfers (~ids) waited for has happened."""
        wait_job, wait_tr = self.wait_job, self.wait_tr
        for x in then:
            if x >= 0:
                wait_job[x] -= 1
                if not wait_job[x]:
                    self.job_ready(x, now)
            else:
                x = ~x
                wait_tr[x] -= 1
                if not wait_tr[x]:
                    self.issue(x, now)

    # -- transfers ----------------------------------------------------------------------------
    def issue(self, tid: int, now: int) -> None:
        t = self.trs[tid]
        self.tr_issue[tid] = now
        r = self.routes.get((t.src, t.dst))
        if r is None:
            mems = self.net.mems
            r = self.routes[t.src, t.dst] = self.net.route(t.src_node, t.dst_node, t.src if t.src in mems else None,
                                                           t.dst if t.dst in mems else None)
        self.net.send_on(r, t.nbytes, self.land, tag=tid)

    def land(self, tid: int, now: int) -> None:
        t = self.trs[tid]
        issued = self.tr_issue[tid]
        self.tr_end[tid] = now
        self.bytes_delivered += t.nbytes
        late = now - issued - (t.ideal_ps if self.net.ideal else t.zero_load_ps)
        if late > 0:
            self.noc_stall_ps += late
        if self.tracing:
            self.rec.row(issued, now, "transfer", f"{t.src}->{t.dst}", t.layer, -1, -1, t.nbytes, 0,
                         sum(t.noc_energy.values()))
            if t.mem_energy:
                mem = t.src if t.src in self.net.mems else t.dst
                self.rec.row(issued, now, "memory", mem, t.layer, -1, -1, t.nbytes, 0, sum(t.mem_energy.values()))
        self.release(self.then[self.nj + tid], now)

    def run(self) -> Result:
        for tid, n in enumerate(self.wait_tr):
            if n == 0:
                self.issue(tid, 0)
        for jid, n in enumerate(self.wait_job):
            if n == 0:
                self.job_ready(jid, 0)
        self.net.run()
        if self.jobs_done < len(self.jobs):
            stuck = next(j for j in self.jobs if self.end[j.id] < 0)
            links = self.net.stuck()
            why = f"; packets stuck at channels {', '.join(links[:8])}" if links else ""
            raise PrismError(f"simulation stalled at {self.env.now} ps: job {stuck.layer}"
                             f"[shard {stuck.shard}, chunk {stuck.chunk}] never ran{why}")
        # trace events: every job, transfer, memory access (a transfer to or from one) and stall
        events = len(self.jobs) + len(self.trs) + sum(1 for t in self.trs if t.mem_energy) + self.stalls
        res = summarize(self.plan, "des", self.start, self.end, self.tr_issue, self.tr_end,
                        link_busy=self.net.link_busy(), events=events,
                        stall_ps={"noc_contention": self.noc_stall_ps, "unit_busy": self.unit_stall_ps})
        if self.layer_rec is not None:  # one row per layer: its span, units, MACs and energy
            for name, pl in res.per_layer.items():
                self.layer_rec.row(pl["start_ps"], pl["end_ps"], "compute", pl["units"], name, -1, -1, 0,
                                   pl["macs"], pl["energy_pj"])
        return res


def simulate_plan(plan: Plan, *, ideal_noc: bool = False, recorder: Recorder | None = None,
                  trace: str = "events", counters: bool = False, progress: bool = False,
                  noc: str = "router") -> tuple[Result, Timeline]:
    """Play ``plan`` out; return the Result and the Timeline of every job and transfer.

    ``trace``: what goes to ``recorder`` — ``none``; ``layers`` (a row per layer); ``events`` (a
    row per job, transfer, memory access and stall); ``packets`` (also a row per packet per
    channel it holds). ``counters``: also send NoC input-buffer occupancy to ``recorder.counter``.
    ``progress``: a bar on stderr (bytes delivered, jobs ended) once the run has taken 2 s.
    ``noc``: ``router`` (the flit-level router model) or ``flow`` (max–min fair flows, ``sim.flow``)."""
    if noc not in NOC_MODELS:
        raise PrismError(f"--noc: must be one of {', '.join(NOC_MODELS)} (got {noc!r})")
    if trace not in TRACE_LEVELS:
        raise PrismError(f"--trace: must be one of {', '.join(TRACE_LEVELS)} (got {trace!r})")
    with fewer_collections():
        run = _Run(plan, ideal_noc, recorder or NullRecorder(), trace, counters, noc)
        if progress:
            total = sum(t.nbytes for t in plan.transfers)
            with Watcher(lambda: (run.net.bytes_delivered, run.jobs_done), total, len(plan.jobs)):
                res = run.run()
        else:
            res = run.run()
    tl = Timeline(run.start, run.end, run.tr_issue, run.tr_end, run.unit_prev, run.net.bytes_sent,
                  run.bytes_delivered, run.net.packets, run.timeouts + run.net.events)
    check_invariants(res, tl)
    return res, tl


INT64_PS = 2 ** 62   # times stay well inside int64 (traces, Parquet, reports)
US_PER_EVENT = 1.0   # wall time per simulation event (flit move): 0.6-1.6 us measured on the 2-core machine
#                     (bench_sim.py --quick median 0.63; hybrid 0.96, manycore-2.5d 1.45-1.6; sim/README.md)


def estimate(plan: Plan) -> tuple[int, float]:
    """(simulation events, seconds) a run of ``plan`` should take: every flit of a transfer moves
    hops + 3 times in the router model (injection, each router's switch, ejection); plus the jobs
    and transfers; seconds at ``US_PER_EVENT``."""
    fb = plan.arch.noc.flit_bytes
    moves = sum(-(-t.nbytes // fb) * (t.hops + 3) for t in plan.transfers)
    events = len(plan.jobs) + len(plan.transfers) + moves
    return events, events * US_PER_EVENT * 1e-6


def check_invariants(res: Result, tl: Timeline) -> None:
    """What every run must satisfy before anything is written: no job or transfer ends before it
    starts, times fit int64, every energy is finite and >= 0. A broken one is a one-line error."""
    bad = next((i for i, (a, b) in enumerate(zip(tl.job_start, tl.job_end)) if b < a), None)
    if bad is None:
        bad_tr = next((i for i, (a, b) in enumerate(zip(tl.tr_issue, tl.tr_end)) if b < a), None)
        if bad_tr is not None:
            raise PrismError(f"run invariant broken: transfer {bad_tr} arrives at {tl.tr_end[bad_tr]} ps, before "
                             f"its issue at {tl.tr_issue[bad_tr]} ps; nothing written")
    else:
        raise PrismError(f"run invariant broken: job {bad} ends at {tl.job_end[bad]} ps, before its start at "
                         f"{tl.job_start[bad]} ps; nothing written")
    if not 0 <= res.latency_ps < INT64_PS:
        raise PrismError(f"run invariant broken: latency {res.latency_ps} ps does not fit the traces' int64 "
                         "(the workload or the chip is far too large or slow); nothing written")
    neg = next(((k, v) for k, v in res.energy_breakdown_pj.items() if not (v >= 0 and v < float("inf"))), None)
    if neg is not None:
        raise PrismError(f"run invariant broken: energy {neg[0]} is {neg[1]!r} pJ; nothing written")


def simulate(arch: Arch, workload: Workload, mapping: Mapping, *, seed: int = 0, ideal_noc: bool = False,
             recorder: Recorder | None = None) -> Result:
    """Event-driven latency/energy/utilization of ``mapping`` (validated first).

    ``seed`` is recorded for reproducibility; the timing model itself is deterministic."""
    res, _ = simulate_plan(build_plan(arch, workload, mapping), ideal_noc=ideal_noc, recorder=recorder)
    return res
