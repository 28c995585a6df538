"""The critical path of a played-out plan: the chain of jobs and transfers whose times set the
run's latency.

Walk back from what ended last: a job started when the last of its dependencies and inputs
ended ("data"), or, if later, when the job before it on its unit ended ("unit": it queued); a
transfer was issued when the last job or transfer it comes after ended. Every step ends when the
next one starts, so the chain runs from 0 to the last end — the latency of a simulated run — and
its parts add up to it. Works on the event-driven times (with the engine's ``unit_prev``) and on
the analytical model's (``analytical_times``: no queues, every start is set by data; where its
busiest-unit bound sets the latency, the path ends before it). Ties go to the first dependency
found, in plan order.
"""
from __future__ import annotations

from dataclasses import dataclass

from .plan import Plan


@dataclass(frozen=True)
class Step:
    """One job (``transfer`` False) or transfer of the critical path, by its plan id; times in ps.
    ``after``: what it had waited for — ``data``, ``unit`` or ``""`` (nothing: it started at 0).
    ``contention_ps``: a transfer's time beyond its latency on an idle network."""

    transfer: bool
    id: int
    start_ps: int
    end_ps: int
    after: str
    contention_ps: int = 0


Times = tuple[list[int], list[int], list[int], list[int]]   # job starts, job ends, transfer issues, arrivals (ps)


def critical_path(plan: Plan, times: Times, unit_prev: list[int] | None = None,
                  ideal_noc: bool = False) -> list[Step]:
    """The critical path in time order. ``times``: ``Timeline.times`` or ``analytical_times``;
    ``unit_prev[j]``: the job that held job j's unit just before it when j queued for it, else -1
    (the event-driven engine's ``Timeline.unit_prev``)."""
    job_start, job_end, tr_issue, tr_end = times
    jobs, trs = plan.jobs, plan.transfers
    if not jobs and not trs:
        return []
    # what ended last (ties: transfers first, a model output lands after its job; then by id)
    last_t = max(range(len(trs)), key=lambda i: (tr_end[i], -i), default=None)
    last_j = max(range(len(jobs)), key=lambda i: (job_end[i], -i), default=None)
    transfer = last_j is None or (last_t is not None and tr_end[last_t] >= job_end[last_j])
    cur = last_t if transfer else last_j
    steps: list[Step] = []
    while True:
        if transfer:
            t = trs[cur]
            start, end = tr_issue[cur], tr_end[cur]
            base = t.ideal_ps if ideal_noc else t.zero_load_ps
            preds = [(False, a, job_end[a]) for a in t.after] + [(True, x, tr_end[x]) for x in t.after_tr]
            contention = max(0, end - start - base)
        else:
            j = jobs[cur]
            start, end = job_start[cur], job_end[cur]
            preds = [(False, d, job_end[d]) for d in j.deps] + [(True, x, tr_end[x]) for x in j.inputs]
            contention = 0
            prev = unit_prev[cur] if unit_prev is not None else -1
            if prev >= 0 and start > max((p[2] for p in preds), default=0):  # it queued for its unit
                steps.append(Step(False, cur, start, end, "unit"))
                transfer, cur = False, prev
                continue
        nxt = next(((tr, i) for tr, i, e in preds if e == start), None)
        steps.append(Step(transfer, cur, start, end, "data" if nxt else "", contention))
        if nxt is None:
            if start:
                raise AssertionError(f"critical path: nothing ended at {start} ps, when "
                                     f"{'transfer' if transfer else 'job'} {cur} started")
            break
        transfer, cur = nxt
    steps.reverse()
    return steps


def breakdown(plan: Plan, steps: list[Step]) -> dict[str, int]:
    """Time on the critical path (ps) by what filled it: ``compute:KIND`` (jobs on units of that
    kind), ``write`` (programming weights), ``switch`` (array mode switches), ``transfer`` (data
    movement at idle-network speed) and ``noc_contention`` (transfers' waits on busy channels and
    memories). The parts add up to the path's end (a simulated run's latency)."""
    out: dict[str, int] = {}
    for s in steps:
        if s.transfer:
            out["transfer"] = out.get("transfer", 0) + s.end_ps - s.start_ps - s.contention_ps
            if s.contention_ps:
                out["noc_contention"] = out.get("noc_contention", 0) + s.contention_ps
        else:
            j = plan.jobs[s.id]
            key = f"compute:{plan.units[j.unit].kind}" if j.kind == "compute" else j.kind
            out[key] = out.get(key, 0) + s.end_ps - s.start_ps
    return dict(sorted(out.items()))


def data_split(plan: Plan, steps: list[Step]) -> dict[str, int]:
    """Time on the critical path (ps) by what the time was for: ``compute`` (jobs, all kinds),
    ``feed`` (compute jobs' arrays waiting for operands from their buffers: the feed roofline),
    ``weights`` (static weights moved to their units and written there: streams and reloads,
    contention included), ``switch`` (array mode switches) and ``activations`` (operands and
    results between units, memories and buffers, contention included). Adds up as ``breakdown``."""
    out = dict.fromkeys(("compute", "feed", "weights", "switch", "activations"), 0)
    for s in steps:
        span = s.end_ps - s.start_ps
        if s.transfer:
            key = "weights" if plan.transfers[s.id].kind == "weight" else "activations"
        else:
            job = plan.jobs[s.id]
            key = "compute" if job.kind == "compute" else "switch" if job.kind == "switch" else "weights"
            if job.feed_wait_ps:
                wait = min(span, job.feed_wait_ps)
                out["feed"] += wait
                span -= wait
        out[key] += span
    return out


def latency_parts(plan: Plan, times: Times, latency_ps: int, unit_prev: list[int] | None = None,
                  ideal_noc: bool = False) -> dict[str, int]:
    """``breakdown`` of the critical path over ``times``, plus ``busiest_unit_bound``: what of
    ``latency_ps`` the path does not reach — the analytical model's bound where a unit's total
    work exceeds every chain. Adds up to ``latency_ps``."""
    parts = breakdown(plan, critical_path(plan, times, unit_prev, ideal_noc))
    rest = latency_ps - sum(parts.values())
    if rest > 0:
        parts["busiest_unit_bound"] = rest
    return parts


COLUMNS = ("t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk", "bytes", "macs", "after",
           "noc_contention_ps")


def path_rows(plan: Plan, steps: list[Step]) -> list[tuple]:
    """The steps as rows of ``critical_path.csv`` (``COLUMNS``; kinds and resources as in the
    event trace: compute | memory (a weight write) | switch on a unit, transfer on ``src->dst``)."""
    rows = []
    for s in steps:
        if s.transfer:
            t = plan.transfers[s.id]
            rows.append((s.start_ps, s.end_ps, "transfer", f"{t.src}->{t.dst}", t.layer, -1, -1, t.nbytes, 0,
                         s.after, s.contention_ps))
        else:
            j = plan.jobs[s.id]
            rows.append((s.start_ps, s.end_ps, j.trace_kind, j.unit, j.layer, j.shard, j.chunk, 0, j.macs, s.after, 0))
    return rows
