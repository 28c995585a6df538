"""``prismsim decode``: an LLM's decode, step by step — each step's latency as the KV cache grows,
and the decode's total (``sim/llm_steps.py``)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.kv_cache import PLACES

from .argtypes import add_llm_flags, positive
from .llm_steps import decode, sampled
from .output import atomic_file, check_new, fmt_ps, make_dirs, write_csv

COLUMNS = ["t", "context", "latency_ps", "energy_pj", "macs", "simulated"]


def add_parser(sub) -> None:
    """The ``decode`` subcommand's flags."""
    d = sub.add_parser("decode", help="an LLM's decode step by step: each step's latency as the KV cache grows")
    add_llm_flags(d)
    d.add_argument("--prompt", type=positive, default=128, help="prompt tokens before the first step (default 128)")
    d.add_argument("--tokens", type=positive, default=64, help="decode steps: tokens made per request (default 64)")
    d.add_argument("--batch", type=positive, default=1, help="requests decoding together (default 1)")
    d.add_argument("--stride", type=positive, default=1,
                   help="simulate every STRIDE-th step and the last, the others linear between (default 1: all)")
    d.add_argument("--kv-cache", choices=PLACES, default="dram", help="where the KV cache lives (default dram)")
    d.add_argument("--noc", choices=("router", "flow"), default="flow", help="network model (default flow)")
    d.add_argument("--out", default=None, help="CSV file: a row per step (t, context, latency_ps, energy_pj, "
                   "macs, simulated)")
    d.add_argument("--plot", default=None, help="PNG file: each step's latency against the tokens in its KV cache")
    d.add_argument("--json", action="store_true", help="the totals and the steps as one JSON object")
    d.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    d.set_defaults(fn=cmd_decode)


def cmd_decode(args) -> int:
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix != ".csv":
            raise PrismError(f"--out: expected a .csv file name (got {args.out!r})")
        check_new(out, "--out")
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        if plot.suffix != ".png":
            raise PrismError(f"--plot: expected a .png file name (got {args.plot!r})")
        check_new(plot, "--plot")
    if args.prompt > 10 ** 6 or args.tokens > 10 ** 6 or args.batch > 4096:
        raise PrismError(f"--prompt/--tokens/--batch: at most 1,000,000 tokens and 4,096 requests "
                         f"(got {args.prompt}, {args.tokens}, {args.batch})")
    arch = load_arch(args.arch)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(sampled(args.tokens, args.stride)), desc="decode steps", unit="step", delay=2.0)
    t0 = time.perf_counter()
    try:
        run = decode(arch, args.model, args.prompt, args.tokens, args.stride, args.batch, args.strategy, args.noc,
                     args.kv_cache, on_step=(lambda done, total: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    if out is not None:   # its folder made only now: a failed run leaves nothing behind
        make_dirs(out, out.parent)
        with atomic_file(out) as tmp:
            write_csv(tmp, COLUMNS, [[s[c] if c != "simulated" else int(s[c]) for c in COLUMNS] for s in run.steps])
    if plot is not None:
        from prismsim.traces.plots import decode_steps
        make_dirs(plot, plot.parent, what="--plot")
        with atomic_file(plot) as tmp:
            decode_steps(run.steps, tmp, f"{args.model} on {arch.name}, batch {args.batch}, stride {args.stride}")
    n_sim = sum(s["simulated"] for s in run.steps)
    need = args.batch * (args.prompt + args.tokens)   # every request's cache at the end
    total = {"model": args.model, "arch": arch.name, "prompt": args.prompt, "tokens": args.tokens,
             "batch": args.batch, "stride": args.stride, "steps_simulated": n_sim, "latency_ps": run.latency_ps,
             "energy_pj": run.energy_pj, "macs": run.macs,
             "tokens_per_s": args.tokens * args.batch / run.latency_ps * 1e12 if run.latency_ps else 0.0,
             "kv_cache": args.kv_cache, "kv_capacity_tokens": run.kv.tokens, "kv_tokens_held": need,
             "wall_s": round(wall, 2)}
    if args.json:
        print(json.dumps({**total, "steps": run.steps}))
        return 0
    first, last = run.steps[0], run.steps[-1]
    print(f"{args.model} on {arch.name}: {args.tokens} decode steps of {args.batch} request(s) after a "
          f"{args.prompt}-token prompt ({n_sim} simulated{'' if n_sim == args.tokens else ', the rest linear between'})")
    print(f"  step     first {fmt_ps(first['latency_ps'])} (context {first['context']}), last "
          f"{fmt_ps(last['latency_ps'])} (context {last['context']}), mean {fmt_ps(run.latency_ps // args.tokens)}")
    print(f"  latency  {fmt_ps(run.latency_ps)}  ({total['tokens_per_s']:,.0f} tokens/s)")
    print(f"  energy   {run.energy_pj / 1e6:,.3f} uJ  ({run.energy_pj / 1e6 / (args.tokens * args.batch):,.3f} uJ "
          f"per token)")
    print(f"  KV cache {need:,} tokens at the end, in {args.kv_cache} holding {run.kv.tokens:,} ({run.kv.binding} fills "
          f"first)" + ("" if need <= run.kv.tokens else " -- it does not fit: the steps beyond are what the chip "
                       "would take with room for it"))
    wrote = [str(x) for x in (out, plot) if x is not None]
    print(f"  wall     {wall:.1f} s" + (f"; wrote {', '.join(wrote)}" if wrote else ""))
    return 0
