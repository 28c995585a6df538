"""``prismsim serve``: an LLM's request stream on a chip, one row (or JSON object) per arrival rate."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from prismsim.hw.errors import PrismError, read_text
from prismsim.hw.spec import load_arch
from prismsim.mapper.kv_cache import PLACES

from .argtypes import add_llm_flags, numbers, positive, seed
from .output import atomic_file, check_new, fmt_bytes, fmt_ps
from .progress import Stage
from .serve import ARRIVALS, SCHEDULERS, estimate, run_stream, service_times

COLUMNS = ("rate", "throughput_rps", "tokens_per_s", "ttft_p50_ps", "ttft_p99_ps", "tpot_p50_ps", "tpot_p99_ps",
           "queueing_mean_ps", "utilization")


def add_parser(sub) -> None:
    """The ``serve`` subcommand's flags."""
    sv = sub.add_parser("serve", help="an LLM's request stream: throughput, TTFT and TPOT against arrival rate")
    add_llm_flags(sv)
    sv.add_argument("--rate", help="arrival rates in requests/s, comma-separated, e.g. 100,1000 (not with a trace)")
    sv.add_argument("--requests", type=positive, default=200, help="requests per rate (default 200)")
    sv.add_argument("--prompt", default="128",
                    help="prompt tokens per request: N, or LO-HI drawn uniformly for each (default 128; a "
                         "range simulates the prefill at both ends and the powers of two between)")
    sv.add_argument("--decode-tokens", default="64",
                    help="output tokens per request: N, or LO-HI drawn uniformly for each (default 64)")
    sv.add_argument("--max-batch", type=positive, default=8, help="requests decoding at once (default 8)")
    sv.add_argument("--scheduler", choices=SCHEDULERS, default="continuous",
                    help="continuous (batching, default) or fcfs (one request at a time)")
    sv.add_argument("--arrivals", default="poisson",
                    help="poisson (default), fixed (even spacing), or a trace file: a line per request, its "
                         "arrival in seconds, optionally its output tokens and its priority class "
                         "('0.0012,48' or '0.0012,48,1')")
    sv.add_argument("--kv-cache", choices=PLACES, default="dram",
                    help="where the KV cache lives: dram (default), gb (the global buffer) or units (the local "
                         "buffers of the units its layers are mapped to); its capacity comes from there")
    sv.add_argument("--kv-tokens", type=positive, default=None,
                    help="at most this many KV-cache tokens (default: what --kv-cache holds); a request holds "
                         "prompt + output")
    sv.add_argument("--priority-share", type=float, default=None, metavar="F",
                    help="a share F of the requests (drawn with the seed) in a higher priority class, admitted "
                         "first; per-class TTFT is printed")
    sv.add_argument("--evict", action="store_true",
                    help="a request that does not fit the KV cache evicts running requests of lower classes "
                         "(they recompute their KV cache when readmitted)")
    sv.add_argument("--seed", type=seed, default=0, help="seed of the Poisson arrivals (default 0)")
    sv.add_argument("--noc", choices=("router", "flow"), default="router",
                    help="network model of the service-time runs (default router)")
    sv.add_argument("--ttft-p99", type=float, default=None, metavar="US",
                    help="a TTFT target (us): prints the highest rate tried whose p99 TTFT meets it")
    sv.add_argument("--plot", default=None, help="PNG file: the latency-load curve (TTFT p50 and p99) and "
                    "utilization over time at each rate")
    sv.add_argument("--json", action="store_true", help="one JSON object per rate")
    sv.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    sv.set_defaults(fn=cmd_serve)


def _rates(text: str) -> list[float]:
    rates = numbers(text, "--rate")
    bad = next((r for r in rates if not (math.isfinite(r) and r > 0)), None)
    if not rates or bad is not None:
        raise PrismError(f"--rate: each rate must be a finite number > 0 requests/s (got {text!r})")
    return rates


def _span(text: str, flag: str) -> tuple[int, int]:
    """``N`` or ``LO-HI``: whole numbers >= 1 (at most 10^6), LO <= HI."""
    lo, dash, hi = text.partition("-")
    if not lo.isdigit() or (dash and not hi.isdigit()) or not 1 <= int(lo) <= 10 ** 6 \
            or (dash and not int(lo) <= int(hi) <= 10 ** 6):
        raise PrismError(f"{flag}: expected N or LO-HI, whole numbers in 1..1000000, LO <= HI (got {text[:40]!r})")
    return int(lo), int(hi) if dash else int(lo)


def _tokens(text: str, n: int, seed: int, flag: str = "--decode-tokens", stream: int = 1):
    """A count, or LO-HI drawn uniformly per request (seeded; ``stream`` apart for each flag)."""
    lo, hi = _span(text, flag)
    if lo == hi and "-" not in text:
        return lo
    return np.random.default_rng(seed + stream).integers(lo, hi + 1, n)


def _trace(path: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A trace file's arrival times (ps, from its first), output tokens and priority classes
    (None where not given)."""
    times, toks, prios = [], [], []
    for k, line in enumerate(read_text(Path(path), "--arrivals").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        try:
            t = float(cells[0])
            tok = int(cells[1]) if len(cells) > 1 else None
            pr = int(cells[2]) if len(cells) > 2 else None
        except ValueError:
            raise PrismError(f"--arrivals: {path} line {k}: expected 'seconds[,tokens[,priority]]' "
                             f"(got {line.strip()[:40]!r})") from None
        if not math.isfinite(t) or t < 0 or (tok is not None and tok < 1) or (pr is not None and not 0 <= pr <= 1000) \
                or len(cells) > 3:
            raise PrismError(f"--arrivals: {path} line {k}: a time >= 0 s, tokens >= 1 and a priority class "
                             f"0..1000 (got {line.strip()[:40]!r})")
        times.append(t)
        toks.append(tok)
        prios.append(pr)
    if not times:
        raise PrismError(f"--arrivals: {path} holds no requests")
    if any(b < a for a, b in zip(times, times[1:])):
        raise PrismError(f"--arrivals: {path}: arrival times must not decrease")
    for name, col in (("output tokens", toks), ("priority classes", prios)):
        given = [x for x in col if x is not None]
        if given and len(given) != len(col):
            raise PrismError(f"--arrivals: {path}: give {name} on every line or on none")
    t_ps = (np.array(times) - times[0]) * 1e12
    return (t_ps, np.array(toks) if toks[0] is not None else None,
            np.array(prios) if prios[0] is not None else None)


def cmd_serve(args) -> int:
    trace = None
    if args.arrivals not in ARRIVALS:
        if args.rate:
            raise PrismError("--rate: not with a trace file (--arrivals FILE sets the arrivals)")
        trace = _trace(args.arrivals)
        rates = [len(trace[0]) / (trace[0][-1] / 1e12) if trace[0][-1] > 0 else math.inf]
        args.requests = len(trace[0])
    elif not args.rate:
        raise PrismError("--rate: give arrival rates (requests/s), or a trace file with --arrivals")
    else:
        rates = _rates(args.rate)
    tokens = trace[1] if trace is not None and trace[1] is not None else _tokens(args.decode_tokens, args.requests,
                                                                                  args.seed)
    mean_tokens = int(round(float(np.mean(tokens))))
    span = _span(args.prompt, "--prompt")
    prompts = _tokens(args.prompt, args.requests, args.seed, "--prompt", 3)
    prio = trace[2] if trace is not None else None
    if args.priority_share is not None:
        if prio is not None or not (math.isfinite(args.priority_share) and 0 < args.priority_share < 1):
            raise PrismError(f"--priority-share: a fraction in (0, 1), not with a trace's classes "
                             f"(got {args.priority_share!r})")
        prio = (np.random.default_rng(args.seed + 2).random(args.requests) < args.priority_share).astype(np.int64)
    if args.ttft_p99 is not None and not (math.isfinite(args.ttft_p99) and args.ttft_p99 > 0):
        raise PrismError(f"--ttft-p99: must be a finite number of microseconds > 0 (got {args.ttft_p99!r})")
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        if plot.suffix != ".png":
            raise PrismError(f"--plot: expected a .png file name (got {args.plot!r})")
        check_new(plot, "--plot")
    arch = load_arch(args.arch)
    with Stage(f"service times of {args.model} on {arch.name}", not args.no_progress):
        times = service_times(arch, args.model, span, mean_tokens, args.max_batch, args.strategy, args.noc,
                              args.kv_cache)
    kv = times.kv
    cap = min(kv.tokens, args.kv_tokens or kv.tokens)
    if not args.json:
        steps = ", ".join(f"b={b} {fmt_ps(t)}" for b, t in sorted(times.step_ps.items()))
        far = ", ".join(f"b={b} {fmt_ps(t)}" for b, t in sorted((times.step_ps_far or {}).items()))
        pre = ", ".join(f"{n} tokens {fmt_ps(t)}" for n, t in sorted((times.prefill_at or {}).items()))
        print(f"{args.model} on {arch.name}: prefill of {pre}; decode step at context {times.context}: {steps}"
              + (f"; at context {times.far}: {far}" if far else ""))
        room, per_token, _ = kv.per_memory[kv.binding]
        print(f"KV cache in {args.kv_cache}: {kv.tokens:,} tokens ({kv.binding} fills first: {fmt_bytes(room)} "
              f"at {per_token:,.0f} B per token" + (f", of {len(kv.per_memory)} units" if kv.where == "units" else "")
              + ")" + (f"; at most {cap:,} by --kv-tokens" if cap < kv.tokens else ""))
        print(f"{'rate':>10} {'thru_rps':>10} {'tok/s':>10} {'ttft_p50':>12} {'ttft_p99':>12} {'tpot_p50':>12} "
              f"{'tpot_p99':>12} {'queue_mean':>12} {'util':>6}  estimate")
    rows = []
    for rate in rates:
        r = run_stream(times, rate, args.requests, tokens, prompts, args.max_batch, args.scheduler,
                       trace[0] if trace is not None else args.arrivals, cap, args.seed, prio, args.evict)
        est = estimate(times, rate, mean_tokens, args.max_batch, args.scheduler, cap,
                       int(round(float(np.mean(prompts)))) + mean_tokens)
        rows.append(r)
        if args.json:
            print(json.dumps({**{k: r[k] for k in COLUMNS}, "queueing_p99_ps": r["queueing_p99_ps"],
                              "served": r["served"], "refused": r["refused"], "evicted": r["evicted"],
                              "kv_capacity_tokens": cap, "kv_cache": args.kv_cache,
                              "energy_per_request_pj": r["energy_per_request_pj"], "idle_energy_pj": r["idle_energy_pj"],
                              **({"by_priority": r["by_priority"]} if "by_priority" in r else {}),
                              "estimate": est, "timeline": r["timeline"]}), flush=True)
            continue
        md1 = est.get("md1_ttft_mean_ps")
        note = f"capacity {est['capacity_rps']:,.0f} rps" + (f", M/D/1 TTFT {fmt_ps(md1)}" if md1 else "")
        print(f"{rate:>10,.0f} {r['throughput_rps']:>10,.0f} {r['tokens_per_s']:>10,.0f} {fmt_ps(r['ttft_p50_ps']):>12} "
              f"{fmt_ps(r['ttft_p99_ps']):>12} {fmt_ps(r['tpot_p50_ps']):>12} {fmt_ps(r['tpot_p99_ps']):>12} "
              f"{fmt_ps(r['queueing_mean_ps']):>12} {r['utilization']:>6.1%}  {note}"
              + (f"; {r['refused']} refused" if r["refused"] else "")
              + (f"; {r['evicted']} evictions" if r["evicted"] else ""), flush=True)
        for c, v in r.get("by_priority", {}).items():
            print(f"{'':>10} class {c}: {v['served']} served, TTFT p50 {fmt_ps(v['ttft_p50_ps'])}, "
                  f"p99 {fmt_ps(v['ttft_p99_ps'])}", flush=True)
    slo = args.ttft_p99 * 1e6 if args.ttft_p99 is not None else None
    if slo is not None and not args.json:
        met = [r for r in rows if r["served"] and r["ttft_p99_ps"] <= slo]
        best = max(met, key=lambda r: r["throughput_rps"], default=None)
        print(f"TTFT p99 <= {args.ttft_p99:,g} us: " + (f"{best['throughput_rps']:,.0f} requests/s (rate {best['rate']:,g})"
              if best else "no rate tried meets it"))
    if plot is not None:
        from prismsim.traces.plots import latency_load
        with atomic_file(plot) as tmp:
            latency_load(rows, tmp, f"{args.model} on {arch.name}, {args.scheduler}, batch <= {args.max_batch}", slo)
        if not args.json:
            print(f"wrote {plot}")
    return 0
