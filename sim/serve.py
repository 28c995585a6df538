"""Request streams (``prismsim serve``): how many requests per second a chip serves an LLM, and
with what latency.

Each request is a prefill of its prompt (which yields its first token) and then one decode step
per further token. The chip's times come from the event-driven simulator, played once per shape:
the prefill of one prompt, and one decode step of ``b`` requests at once (their GEMMs share each
weight read; each attends over its own KV cache) for b = 1, 2, 4, … up to the batch limit, at the
context a request has halfway through its decode and at the longest one, all steps under one
mapping (the strategy's for the fullest batch, as a deployed chip runs one); other batch sizes
interpolate linearly, and a step runs at its requests' mean context, linear between the two
(``ServiceTimes``). The requests then run through a discrete-event queue (SimPy): arrivals
(Poisson for a seed, or evenly spaced), and a scheduler — ``fcfs`` serves one request at a time;
``continuous`` (continuous batching) admits waiting requests first come first served between
decode steps while the batch has room and the KV cache has space for their prompt and output,
runs each admitted request's prefill alone, then advances every running request one token per
step. A request whose prompt and output exceed the whole KV cache is refused. Requests may carry
priority classes (the highest waiting class is admitted first) and, with eviction, a request that
does not fit the KV cache evicts running requests of lower classes, which later recompute their
cache. The KV cache lives in DRAM, the global buffer or the units' buffers (``mapper.kv_cache``),
which sets what a step reads and how many tokens fit. The run's utilization, batch and KV cache
over time come with its metrics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import simpy

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import leakage_mw
from prismsim.mapper.kv_cache import KvCapacity, kv_capacity, place_kv
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.parallelism import counts_to_try

from .engine import simulate_plan
from .llm_steps import llm_builders

SCHEDULERS = ("fcfs", "continuous")
ARRIVALS = ("poisson", "fixed")


@dataclass
class ServiceTimes:
    """The chip's times for one model: a prompt's prefill, and a decode step per batch size (ps)
    at ``context`` cached tokens per request and, when measured, at ``far`` (``step_ps_far``: a
    step's time grows linearly with the context, attention's share); their energies (pJ, the
    runs' dynamic and static) when measured."""

    prefill_ps: int
    step_ps: dict[int, int]
    prefill_pj: float = 0.0
    step_pj: dict[int, float] | None = None
    prompt: int = 0                               # the prompt length prefill_ps is for
    prefill_at: dict[int, int] | None = None      # prompt length -> prefill ps, when measured at several
    prefill_pj_at: dict[int, float] | None = None
    kv: KvCapacity | None = None                  # the KV cache's capacity, when known
    idle_mw: float = 0.0                          # the chip's leakage while it waits for requests
    context: int = 0                              # cached tokens per request step_ps is measured at
    far: int = 0                                  # a second context, step_ps_far's
    step_ps_far: dict[int, int] | None = None
    step_pj_far: dict[int, float] | None = None

    def prefill(self, n: int) -> float:
        """The prefill of ``n`` tokens (ps): measured, linear between (or beyond) the lengths
        measured, or in proportion to the one prompt measured."""
        if self.prefill_at:
            return _between(self.prefill_at, n)
        return self.prefill_ps * n / self.prompt if self.prompt else float(self.prefill_ps)

    def prefill_energy(self, n: int) -> float:
        if self.prefill_pj_at:
            return _between(self.prefill_pj_at, n)
        return self.prefill_pj * n / self.prompt if self.prompt else self.prefill_pj

    def step(self, b: int, context: float | None = None) -> int:
        """One decode step of ``b`` requests (with ``context`` cached tokens each on average, when
        measured at two): measured, or linear between the batch sizes and contexts measured."""
        return int(round(self._at(self.step_ps, self.step_ps_far, b, context)))

    def step_energy(self, b: int, context: float | None = None) -> float:
        return self._at(self.step_pj, self.step_pj_far, b, context) if self.step_pj else 0.0

    def _at(self, near: dict, far: dict | None, b: int, context: float | None) -> float:
        v = _between(near, b)
        if far is None or context is None or self.far == self.context:
            return v
        return v + (_between(far, b) - v) * (context - self.context) / (self.far - self.context)


def _between(table: dict, b: int) -> float:
    """``table[b]``, or linear between the nearest sizes measured (beyond them: along the last
    two, or in proportion when one was measured)."""
    if b in table:
        return table[b]
    sizes = sorted(table)
    if len(sizes) == 1:
        return table[sizes[0]] * b / sizes[0]
    lo = max((x for x in sizes if x < b), default=sizes[0])
    hi = min((x for x in sizes if x > b), default=sizes[-1])
    if lo == hi:
        lo, hi = (sizes[0], sizes[1]) if b < sizes[0] else (sizes[-2], sizes[-1])
    return table[lo] + (table[hi] - table[lo]) * (b - lo) / (hi - lo)


def prompt_lengths(lo: int, hi: int) -> list[int]:
    """The prompt lengths whose prefill is simulated for prompts of lo..hi tokens: both ends and
    the powers of two between."""
    return sorted({lo, hi} | {1 << k for k in range(hi.bit_length()) if lo < 1 << k < hi})


def service_times(arch: Arch, model: str, prompt, decode_tokens: int, max_batch: int,
                  strategy: str = "greedy", noc: str = "router", kv_cache: str = "dram") -> ServiceTimes:
    """Simulate the prefill of ``prompt`` tokens (or, for a (lo, hi) range, of ``prompt_lengths``)
    and a decode step per batch size of ``counts_to_try(max_batch)`` (context: the mean prompt +
    half the output, and the longest prompt + the whole output) with ``strategy``'s mapping, the KV cache in ``kv_cache`` (``mapper.kv_cache``);
    ``ServiceTimes.kv``: its capacity under the decode mapping."""
    lo, hi = (prompt, prompt) if isinstance(prompt, int) else prompt
    prompt = (lo + hi) // 2
    prefill, decode = llm_builders(model)

    def run(wl, mapping=None):
        plan = build_plan(arch, wl, mapping or make_mapping(strategy, wl, arch))
        return simulate_plan(plan, trace="none", noc=noc)[0]

    context = prompt + max(0, decode_tokens - 1) // 2
    far = hi + max(0, decode_tokens - 1)       # the longest context a request reaches

    def step(b: int, ctx: int = context):
        return place_kv(decode(ctx, b), kv_cache)

    # one mapping for every batch size, as a deployed chip runs one (made for the fullest batch;
    # the layer names do not depend on the batch)
    fullest = step(max_batch)
    decode_map = make_mapping(strategy, fullest, arch)
    kv = kv_capacity(arch, fullest, decode_map, context, max_batch)
    steps = {b: run(step(b) if b != max_batch else fullest, decode_map) for b in counts_to_try(max_batch)}
    pre = {n: run(prefill(n)) for n in prompt_lengths(lo, hi)}
    mid = pre[prompt] if prompt in pre else None
    out = ServiceTimes(0, {b: r.latency_ps for b, r in steps.items()}, 0.0, {b: r.energy_pj for b, r in steps.items()},
                       prompt, {n: r.latency_ps for n, r in pre.items()}, {n: r.energy_pj for n, r in pre.items()}, kv)
    out.idle_mw = sum(leakage_mw(u) for u in arch.instances().values())
    out.context, out.far = context, far
    if far != context:   # the steps at the longest context too: a step's time follows the context
        at_far = {b: run(step(b, far), decode_map) for b in counts_to_try(max_batch)}
        out.step_ps_far = {b: r.latency_ps for b, r in at_far.items()}
        out.step_pj_far = {b: r.energy_pj for b, r in at_far.items()}
    out.prefill_ps = mid.latency_ps if mid else int(round(out.prefill(prompt)))
    out.prefill_pj = mid.energy_pj if mid else out.prefill_energy(prompt)
    return out


def _arrivals(n: int, rate_rps: float, kind: str, seed: int) -> np.ndarray:
    """Arrival times (ps) of ``n`` requests at ``rate_rps``: Poisson (exponential gaps) or even."""
    gap = 1e12 / rate_rps
    if kind == "fixed":
        return np.arange(n) * gap
    gaps = np.random.default_rng(seed).exponential(gap, n)
    return np.concatenate([[0.0], np.cumsum(gaps[:-1])])   # the first at 0, as the fixed stream


def run_stream(times: ServiceTimes, rate_rps: float, requests: int, decode_tokens, prompt,
               max_batch: int = 8, scheduler: str = "continuous", arrivals="poisson",
               kv_tokens: int | None = None, seed: int = 0, priorities=None, evict: bool = False,
               bins: int = 50) -> dict:
    """Serve ``requests`` requests arriving at ``rate_rps``; the stream's metrics (times in ps).
    ``decode_tokens``, ``prompt``: tokens of every request, or one count per request; ``arrivals``:
    ``poisson``, ``fixed``, or the requests' arrival times (ps, a trace; ``rate_rps`` unused).
    ``priorities``: a class per request (higher first; default all 0): the scheduler admits the
    highest class waiting, first come first served within it. ``evict``: when that request does
    not fit the KV cache, running requests of lower classes are evicted (newest first) until it
    fits (only when that makes room); an evicted request waits again and, readmitted, recomputes
    its KV cache — a prefill of its prompt and the tokens it had made (prefill time in proportion
    to the tokens), whose pass makes its next token — and goes on from there. ``timeline``: utilization, batch and KV cache in ``bins``
    slices of the run."""
    if scheduler not in SCHEDULERS:
        raise PrismError(f"--scheduler: one of {', '.join(SCHEDULERS)} (got {scheduler!r})")
    if isinstance(arrivals, str) and arrivals not in ARRIVALS:
        raise PrismError(f"--arrivals: one of {', '.join(ARRIVALS)} or a trace file (got {arrivals!r})")
    batch = 1 if scheduler == "fcfs" else max_batch
    tokens = np.broadcast_to(np.asarray(decode_tokens, dtype=np.int64), (requests,))
    prio = np.broadcast_to(np.asarray(0 if priorities is None else priorities, dtype=np.int64), (requests,))
    prompts = np.broadcast_to(np.asarray(prompt, dtype=np.int64), (requests,))
    if times.prompt == 0 and not times.prefill_at:   # one measured prompt: the stream's own
        times = replace(times, prompt=int(prompts[0]))
    need = prompts + tokens                  # KV-cache tokens each request holds while it runs
    cap = kv_tokens if kv_tokens is not None else math.inf
    env = simpy.Environment()
    t_arr = _arrivals(requests, rate_rps, arrivals, seed) if isinstance(arrivals, str) \
        else np.asarray(arrivals, dtype=float)
    admitted = np.full(requests, np.nan)
    first = np.full(requests, np.nan)
    done = np.full(requests, np.nan)
    left = tokens.copy()                     # tokens each request has still to make
    refused: list[int] = []
    waiting: list[int] = []
    running: list[int] = []
    state = {"kv": 0, "ctx": 0, "busy": 0, "in_system": 0, "area": 0.0, "last": 0.0, "finished": 0, "evicted": 0,
             "energy": 0.0}
    marks: list[tuple] = [(0.0, 0, 0)]       # (time, batch, KV tokens) at every change
    busy: list[tuple[float, float]] = []     # the server's busy intervals
    wake = [env.event()]

    def count(delta: int) -> None:           # requests in the system, integrated over time
        state["area"] += state["in_system"] * (env.now - state["last"])
        state["last"] = env.now
        state["in_system"] += delta

    def mark() -> None:
        marks.append((env.now, len(running), state["kv"]))

    def work(dt: float, pj: float):
        busy.append((env.now, env.now + dt))
        state["busy"] += dt
        state["energy"] += pj
        return env.timeout(dt)

    def context_of(r: int) -> int:           # tokens in a running request's cache: prompt + made - 1
        return int(prompts[r] + tokens[r] - left[r] - 1)

    def best() -> int:                       # the highest class waiting, then the earliest
        return min(waiting, key=lambda i: (-prio[i], t_arr[i], i))

    def source():
        for i, t in enumerate(t_arr):
            yield env.timeout(max(0.0, t - env.now))
            if need[i] > cap:
                refused.append(i)
                state["finished"] += 1
            else:
                count(+1)
                waiting.append(i)
            if not wake[0].triggered:
                wake[0].succeed()

    def finish(i: int) -> None:
        done[i] = env.now
        state["kv"] -= need[i]
        state["finished"] += 1
        count(-1)

    def server():
        while state["finished"] < requests:
            while waiting and len(running) < batch:
                i = best()
                lower = sorted((r for r in running if prio[r] < prio[i]), key=lambda r: -admitted[r])
                if evict and state["kv"] + need[i] > cap >= state["kv"] + need[i] - sum(need[r] for r in lower):
                    while state["kv"] + need[i] > cap:   # only when evicting lower classes makes room
                        r = lower.pop(0)
                        running.remove(r)
                        state["ctx"] -= context_of(r)
                        state["kv"] -= need[r]
                        state["evicted"] += 1
                        waiting.append(r)
                if state["kv"] + need[i] > cap:
                    break
                waiting.remove(i)
                made = int(tokens[i] - left[i])
                if np.isnan(admitted[i]):
                    admitted[i] = env.now
                state["kv"] += need[i]
                mark()
                n = int(prompts[i]) + made       # a readmitted request recomputes its cache
                yield work(times.prefill(n), times.prefill_energy(n))
                if not made:
                    first[i] = env.now
                left[i] -= 1                     # the prefill's pass makes the next token
                if left[i] > 0:
                    running.append(i)
                    state["ctx"] += context_of(i)
                else:   # its one token came with the prefill
                    finish(i)
                mark()
            if running:   # at the running requests' mean context
                ctx = state["ctx"] / len(running)
                yield work(times.step(len(running), ctx), times.step_energy(len(running), ctx))
                for r in running:
                    left[r] -= 1
                state["ctx"] += len(running)     # each request's cache grew by a token
            for r in [r for r in running if left[r] <= 0]:
                running.remove(r)
                state["ctx"] -= context_of(r)
                finish(r)
            mark()
            if not running and not waiting and state["finished"] < requests:
                wake[0] = env.event()
                yield wake[0]

    env.process(source())
    env.process(server())
    env.run()
    ok = ~np.isnan(done)
    span = float(np.nanmax(done) - t_arr[0]) if ok.any() else 0.0
    ttft = first[ok] - t_arr[ok]
    tpot = (done[ok] - first[ok]) / np.maximum(1, tokens[ok] - 1)
    wait = admitted[ok] - t_arr[ok]
    in_sys = done[ok] - t_arr[ok]

    def pct(x, q):
        return int(round(float(np.percentile(x, q)))) if len(x) else 0

    served = int(ok.sum())
    idle_pj = times.idle_mw * max(0.0, span - state["busy"]) * 1e-3   # mW x ps = 1e-3 pJ
    energy = state["energy"] + idle_pj   # the runs' energies (their leakage included) and the idle gaps'
    out = {"rate": rate_rps, "requests": requests, "served": served, "refused": len(refused),
           "evicted": state["evicted"],
           "throughput_rps": served / span * 1e12 if span else 0.0,
           "tokens_per_s": float(tokens[ok].sum()) / span * 1e12 if span else 0.0,
           "ttft_p50_ps": pct(ttft, 50), "ttft_p99_ps": pct(ttft, 99),
           "tpot_p50_ps": pct(tpot, 50), "tpot_p99_ps": pct(tpot, 99),
           "queueing_mean_ps": int(round(float(wait.mean()))) if served else 0, "queueing_p99_ps": pct(wait, 99),
           "utilization": state["busy"] / span if span else 0.0,
           "mean_in_system": state["area"] / span if span else 0.0,
           "mean_time_in_system_ps": float(in_sys.mean()) if served else 0.0,
           "tokens": int(tokens[ok].sum()),
           "energy_per_request_pj": energy / served if served else 0.0,
           "idle_energy_pj": idle_pj,
           "timeline": timeline(busy, marks, t_arr[0], span, bins)}
    if priorities is not None:
        out["by_priority"] = {int(c): {"served": int((ok & (prio == c)).sum()),
                                       "ttft_p50_ps": pct(first[ok & (prio == c)] - t_arr[ok & (prio == c)], 50),
                                       "ttft_p99_ps": pct(first[ok & (prio == c)] - t_arr[ok & (prio == c)], 99)}
                              for c in sorted(set(prio.tolist()))}
    return out


def timeline(busy: list[tuple[float, float]], marks: list[tuple], t0: float, span: float, bins: int) -> dict:
    """The run cut into ``bins`` slices: the server's busy share of each, and the batch and KV
    cache (tokens) at each slice's end."""
    if span <= 0:
        return {"t_ps": [], "utilization": [], "batch": [], "kv_tokens": []}
    edges = t0 + np.linspace(0.0, span, bins + 1)
    util = np.zeros(bins)
    for a, b in busy:
        lo, hi = np.searchsorted(edges, a, "right") - 1, np.searchsorted(edges, b, "left")
        for k in range(max(0, lo), min(bins, hi)):
            util[k] += max(0.0, min(b, edges[k + 1]) - max(a, edges[k]))
    util /= span / bins
    at = np.array([m[0] for m in marks])
    idx = np.searchsorted(at, edges[1:], "right") - 1
    return {"t_ps": [int(x) for x in edges[1:]], "utilization": [round(float(u), 4) for u in util],
            "batch": [int(marks[i][1]) for i in idx], "kv_tokens": [int(marks[i][2]) for i in idx]}


def estimate(times: ServiceTimes, rate_rps: float, decode_tokens: int, max_batch: int, scheduler: str,
             kv_tokens: float = math.inf, need: int = 0) -> dict:
    """A queueing estimate beside the simulated stream: the most requests per second the scheduler
    can serve (``capacity_rps``: a full batch's prefills one after another, then its steps; a batch
    holds at most the requests of ``need`` tokens that ``kv_tokens`` of KV cache hold), and for
    ``fcfs`` the M/D/1 mean TTFT (Poisson arrivals, a fixed service time per request)."""
    b = 1 if scheduler == "fcfs" else max_batch
    if need and kv_tokens < math.inf:
        b = max(1, min(b, int(kv_tokens // need)))
    per_batch = b * times.prefill_ps + max(0, decode_tokens - 1) * times.step(b)
    out = {"capacity_rps": b / per_batch * 1e12}
    if scheduler == "fcfs":
        s = per_batch
        rho = rate_rps * s / 1e12
        out["md1_ttft_mean_ps"] = (int(round(rho * s / (2 * (1 - rho)) + times.prefill_ps)) if rho < 1 else None)
    return out
