"""``prismsim``: simulate, validate, map, list. Bad input -> one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.colocate import per_model
from prismsim.mapper.load import load_model
from prismsim.mapper.mapping import SCHEDULES, chosen_schedule
from prismsim.mapper.plan import Plan
from prismsim.mapper.result import Result
from prismsim.mapper.strategies import STRATEGIES

from .cost_cmd import cmd_cost
from .decode_cmd import add_parser as add_decode_parser
from .engine import NOC_MODELS, TRACE_LEVELS
from .argtypes import positive, seed
from .accuracy_cmd import cmd_accuracy, parse_times as _times
from .map_cmd import cmd_list, cmd_map
from .noc_cmd import add_parser as add_noc_parser
from .serve_cmd import add_parser as add_serve_parser
from .output import (STOP, Terminated, atomic_dir, check_new, check_stop, default_run_dir, edp_uj_us, fmt_ps,
                     simulate_to_dir, tops, tops_per_mm2)
from .progress import Stage
from .selection import DEFAULT_MODEL, model_spec, plan_of, select, shares, strategy_options
from .validate_cmd import cmd_validate

DEFAULT_ARCH, DEFAULT_STRATEGY = "hybrid", "greedy"
MODEL_HELP = ("zoo model with parameters (pythia-70m?seq_len=256), hf:TYPE?field=value (a Hugging Face config), "
              "torch:pkg.module:factory, or FILE.onnx (default: pythia-70m)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        self.exit(2, f"prismsim: error: {message} (see prismsim --help)\n")


def _print_summary(res: Result, wall_s: float, out: Path | None, simulated: int | None = None,
                   critical: dict[str, int] | None = None, plan: Plan | None = None) -> None:
    rate, per_w = tops(res.macs, res.latency_ps, res.energy_pj)
    print(f"{res.model} on {res.arch}  (strategy {res.strategy}, evaluator {res.evaluator})")
    if plan is not None:
        sched = plan.mapping.schedule
        print(f"  schedule     {sched.kind}" + (f", {sched.chunks} chunks per layer" if sched.kind == "pipelined" else "")
              + (", weights written first" if sched.program_weights else ""))
    print(f"  latency      {fmt_ps(res.latency_ps)}")
    print(f"  energy       {res.energy_pj / 1e6:,.3f} uJ")
    for cat, e in res.energy_breakdown_pj.items():
        print(f"    {cat:<12} {e / 1e6:,.3f} uJ  ({100 * e / res.energy_pj:.1f}%)")
    print(f"  MACs         {res.macs / 1e9:.4f} G  ({rate:.2f} TOPS, {per_w:.3f} TOPS/W)")
    if res.area_mm2:
        print(f"  area         {res.area_mm2:,.3f} mm2  ({tops_per_mm2(res.macs, res.latency_ps, res.area_mm2):.4f} TOPS/mm2)")
    util = ", ".join(f"{k} {100 * u:.1f}%" for k, u in res.utilization_by_kind().items())
    print(f"  utilization  {util} (mean per kind)")
    if res.stall_ps and plan is not None:   # per transfer / job, so no sum reads as exceeding the latency
        n_tr, n_jobs = max(1, len(plan.transfers)), max(1, len(plan.jobs))
        print(f"  waiting      a transfer waits {fmt_ps(res.stall_ps.get('noc_contention', 0) // n_tr)} on average "
              f"for busy links, a job {fmt_ps(res.stall_ps.get('unit_busy', 0) // n_jobs)} for its busy unit")
    if critical and res.latency_ps:
        print(f"  critical     {shares(critical, res.latency_ps)}  (of the latency, critical_path.csv)")
    if plan is not None and plan.workload.parts:
        for tag, m in per_model(plan.workload, res.per_layer).items():
            print(f"  model        {tag}: latency {fmt_ps(m['latency_ps'])}, {m['macs'] / 1e9:.4f} G MACs, "
                  f"{m['energy_pj'] / 1e6:,.3f} uJ in its jobs and transfers")
    counts = f"{len(plan.jobs):,} jobs and {len(plan.transfers):,} transfers" if plan is not None else \
        f"{res.events:,} jobs and transfers"
    sim = f"; {simulated:,} simulation events" if simulated is not None else ""
    print(f"  events       {counts}{sim}  (wall {wall_s:.2f} s)")
    if out is not None:
        print(f"  wrote        {out}/")


def cmd_simulate(args) -> int:
    arch, wl, mapping = select(args)
    out = Path(args.out) if args.out else default_run_dir()
    plan = plan_of(args, arch, wl, mapping)
    t0 = time.perf_counter()
    res, tl, crit = simulate_to_dir(out, arch, mapping, plan, trace=args.trace, trace_format=args.trace_format,
                                    ideal_noc=args.ideal_noc, seed=args.seed, noc=args.noc,
                                    perfetto=Path(args.perfetto) if args.perfetto else None,
                                    progress=not args.no_progress)
    _print_summary(res, time.perf_counter() - t0, out, tl.sim_events, crit, plan)
    return 0


def cmd_compare(args) -> int:
    import json

    from .compare import check_strategies, compare, write_compare

    arch = load_arch(args.arch)
    spec = model_spec(args)
    with Stage(f"loading {spec}", not args.no_progress):
        wl = load_model(spec)
    strategies = [x.strip() for x in args.strategies.split(",") if x.strip()]
    opts = strategy_options(args.option)
    check_strategies(strategies, opts)
    out = Path(args.out) if args.out else default_run_dir("-compare")
    check_new(out)
    sched, asked = chosen_schedule(args.schedule, args.chunks)

    def progress(row):
        parts = {k[len("critical:"):]: v for k, v in row.items() if k.startswith("critical:")}
        if args.json:
            print(json.dumps({**{k: row[k] for k in ("strategy", "latency_ps", "energy_pj", "accuracy", "error")},
                              "critical_path_ps": parts or None}), flush=True)
        elif row["error"]:
            print(f"  {row['strategy']:<12} cannot run: {row['error']}", flush=True)
        else:
            acc = "" if row["accuracy"] is None else f"  accuracy {100 * row['accuracy']:.2f}%"
            top = max(sorted(parts), key=parts.get, default=None)
            path = f"  critical path mostly {top} {100 * parts[top] / row['latency_ps']:.0f}%" \
                if top and row["latency_ps"] else ""
            print(f"  {row['strategy']:<12} latency {fmt_ps(row['latency_ps']):>16}  energy "
                  f"{row['energy_pj'] / 1e6:>12,.3f} uJ  EDP {edp_uj_us(row['latency_ps'], row['energy_pj']):.4g} uJ*us"
                  f"{acc}{path}  ({row['wall_s']} s)",
                  flush=True)

    if not args.json:
        print(f"{wl.name} on {arch.label}: {', '.join(strategies)}")
    with atomic_dir(out) as d:
        rows, mappings = compare(arch, wl, strategies, sched if asked else None, opts, progress=progress)
        write_compare(d, rows, mappings)
    if not args.json:
        print(f"  wrote {out}/compare.csv")
    return 0


def cmd_sweep(args) -> int:
    import json

    from .sweep import load_sweep, run_sweep, summarize

    spec = load_sweep(args.sweep_file, progress=not args.no_progress)
    if args.evaluator:
        spec["evaluator"] = args.evaluator
    out = Path(args.out) if args.out else default_run_dir("-sweep")
    if out.exists() and not (out / "results.sqlite").exists():
        raise PrismError(f"--out: {str(out)!r} exists and holds no sweep to resume; choose a new path")
    workers = args.workers or os.cpu_count() or 1
    print(f"sweep: {len(spec['points'])} points ({spec['evaluator']}) -> {out}/"
          + (f" on {args.scheduler}" if args.scheduler else f" on {workers} local workers"), flush=True)
    t0 = time.perf_counter()
    df = run_sweep(spec, out, workers, args.scheduler, progress=not args.no_progress)
    summary = summarize(df)
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    print(f"  {summary['points']} points, {summary['failed']} failed, {summary['wall_s']} s")
    if summary["failed"]:
        top = summary["top_error"]
        print(f"  most failures ({top['points']}): {top['error']}")
    for model, entry in summary["models"].items():
        print(f"  {model}: Pareto front (latency, energy) of {len(entry['pareto'])} points")
        for obj in ("latency_ps", "energy_pj", "edp"):
            b = entry[f"best_{obj}"]
            axes = ", ".join(f"{k[5:]}={v}" for k, v in b.items() if k.startswith("axis:"))
            value = {"latency_ps": fmt_ps(int(b["latency_ps"])), "energy_pj": f"{b['energy_pj'] / 1e6:,.3f} uJ",
                     "edp": f"{edp_uj_us(b['latency_ps'], b['energy_pj']):.4g} uJ*us"}[obj]
            print(f"    best {obj.removesuffix('_ps').removesuffix('_pj'):<8} {value:>16}  {b['strategy']}  {axes}")
    print(f"  wrote {out}/results.csv")
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    out = write_report(args.run_dir, args.by)
    print(f"wrote {out}/report.md")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="prismsim", description="Simulate DNN mappings on heterogeneous photonic + ReRAM chips.")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)

    def selection(sp, out_help: str | None, out_required: bool = False, models: bool = False) -> None:
        """The shared arch/model/mapping flags; ``--out`` too unless ``out_help`` is None; with
        ``models``, ``--model`` may be given several times (co-located models)."""
        sp.add_argument("--arch", default=DEFAULT_ARCH, help="preset name or YAML file (default: hybrid)")
        if models:
            sp.add_argument("--model", action="append", default=None,
                            help=MODEL_HELP + "; give it again to co-locate several models in one run")
            sp.add_argument("--partition", nargs="?", const="macs", default=None, metavar="SHARES",
                            help="co-located models on their own parts of the chip's units: per kind, in "
                            "proportion to SHARES (e.g. 1,3; default: the models' MACs); with --strategy "
                            "s1,s2 each model gets its own strategy")
        else:
            sp.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--mapping", help="mapping YAML file")
        g.add_argument("--strategy", default=DEFAULT_STRATEGY, help=f"one of {', '.join(STRATEGIES)}; with several "
                       "--model, one per model separated by commas")
        sp.add_argument("--option", "-O", action="append", metavar="KEY=VALUE",
                        help="strategy option, e.g. -O kind=photonic, -O order=rowmajor (repeatable)")
        sp.add_argument("--schedule", choices=SCHEDULES, default=None, help="sequential (default) or pipelined")
        sp.add_argument("--chunks", type=positive, default=None, help="pipeline chunks per layer (default 8)")
        sp.add_argument("--program-weights", action="store_true",
                        help="start by writing static weights into ReRAM/SRAM-PIM units (model load)")
        sp.add_argument("--seed", type=seed, default=0, help="seed recorded with the run and used by noisy "
                        "strategies (whole number >= 0; default 0)")
        phase_flags(sp)
        if out_help is not None:
            sp.add_argument("--out", required=out_required, help=out_help)
        progress_flag(sp)

    def phase_flags(sp) -> None:
        sp.add_argument("--phase", choices=["prefill", "decode"], default=None, help="LLM phase (zoo pythia-70m, hf: or torch: causal LMs)")
        sp.add_argument("--decode-tokens", type=positive, default=None, help="decode steps (with --phase decode)")

    def progress_flag(sp) -> None:
        sp.add_argument("--no-progress", action="store_true", help="no progress on stderr (shown after 2 s)")

    s = sub.add_parser("simulate", help="run a mapping event by event")
    selection(s, "run directory (default runs/<timestamp>)", models=True)
    s.add_argument("--ideal-noc", action="store_true", help="no NoC/memory contention, infinite bandwidth")
    s.add_argument("--noc", choices=NOC_MODELS, default="router",
                   help="network model: the flit-level router model (default) or max-min fair flows (fast)")
    s.add_argument("--trace", choices=TRACE_LEVELS, default="events",
                   help="trace detail: none, a row per layer, per event (default), or also per packet hop")
    s.add_argument("--trace-format", choices=["csv", "parquet"], default="csv", help="events.csv or events.parquet")
    s.add_argument("--perfetto", help="also write a Chrome/Perfetto trace-event JSON file")
    s.set_defaults(fn=cmd_simulate)
    v = sub.add_parser("validate", help="analytical model vs event-driven simulation")
    selection(v, "directory for validation.csv (default runs/<timestamp>-validate)", models=True)
    v.add_argument("--ideal-noc", action="store_true", help="remove contention: the two must agree within 0.1%%")
    v.add_argument("--noc", choices=NOC_MODELS, default="router",
                   help="flow: the flow-level network against the router model, per layer and in total")
    v.set_defaults(fn=cmd_validate)
    ac = sub.add_parser("accuracy", help="accuracy of a mapping under non-idealities (trained MNIST models)")
    selection(ac, None)
    ac.set_defaults(model="mnist-cnn")
    ac.add_argument("--t", type=_times, default=[86400.0],
                    help="seconds since programming, one or a comma list for accuracy over time, e.g. "
                         "1,3600,86400,2592000,31536000 (default 86400: 1 day)")
    ac.add_argument("--plot", metavar="FILE.png", help="with several --t: draw accuracy against time into FILE.png")
    ac.add_argument("--seeds", type=positive, default=5, help="noise realisations")
    ac.add_argument("--samples", type=positive, default=1000, help="test digits (at most 1000)")
    ac.add_argument("--kernel", choices=["bit", "surrogate"], default="bit", help="crossbar kernel")
    ac.add_argument("--no-compensation", action="store_true", help="no global drift compensation")
    ac.add_argument("--sensitivity", choices=["reram", "photonic", "sram_pim"],
                    help="also: accuracy drop with only each layer on this kind, and the SNR proxy")
    ac.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    ac.set_defaults(fn=cmd_accuracy)
    cp = sub.add_parser("compare", help="several strategies, each simulated event by event")
    cp.add_argument("--arch", default=DEFAULT_ARCH, help="preset name or YAML file (default: hybrid)")
    cp.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    phase_flags(cp)
    cp.add_argument("--strategies", default="homogeneous,equal,greedy,h3pimap",
                    help=f"comma-separated, of {', '.join(STRATEGIES)} (default: homogeneous,equal,greedy,h3pimap)")
    cp.add_argument("--option", "-O", action="append", metavar="KEY=VALUE", help="strategy option (to those taking it)")
    cp.add_argument("--schedule", choices=SCHEDULES, default=None, help="sequential (default) or pipelined")
    cp.add_argument("--chunks", type=positive, default=None, help="pipeline chunks per layer (default 8)")
    cp.add_argument("--out", help="directory (default runs/<timestamp>-compare)")
    cp.add_argument("--json", action="store_true", help="one JSON object per strategy")
    progress_flag(cp)
    cp.set_defaults(fn=cmd_compare)
    sw = sub.add_parser("sweep", help="design-space sweep on local workers or a Dask cluster")
    sw.add_argument("sweep_file", help="sweep YAML: base, models, strategies, axes (README: Design-space sweeps)")
    sw.add_argument("--out", help="sweep directory (default runs/<timestamp>-sweep); an existing sweep resumes")
    sw.add_argument("--workers", type=positive, default=None, help="local processes (default: cores)")
    sw.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    sw.add_argument("--evaluator", choices=["analytical", "des"], default=None,
                    help="analytical or des (default: the file's evaluator, else analytical)")
    progress_flag(sw)
    sw.set_defaults(fn=cmd_sweep)
    rp = sub.add_parser("report", help="plots and report.md of a run directory, into RUN_DIR/report/")
    rp.add_argument("run_dir", help="a run, compare or sweep directory")
    rp.add_argument("--by", help="a sweep axis (e.g. noc.link_width_bits): one Pareto front per model and value "
                    "of it (default: per model)")
    rp.set_defaults(fn=cmd_report)
    m = sub.add_parser("map", help="write a strategy's mapping as YAML")
    selection(m, "mapping YAML file to write", out_required=True, models=True)
    m.set_defaults(fn=cmd_map)
    c = sub.add_parser("cost", help="one GEMM on one unit, per component (energy, busy time, area); "
                       "without --gemm the chip's area and peak efficiency")
    c.add_argument("--arch", default=DEFAULT_ARCH, help="preset name or YAML file (default: hybrid)")
    c.add_argument("--unit", help="unit name (default: the first photonic unit)")
    c.add_argument("--gemm", help="N,D,M of Y[N x M] = W[N x D] . X[D x M], e.g. 512,512,128 (default: none, "
                   "the chip's area by component and peak TOPS, TOPS/W, TOPS/mm2)")
    c.add_argument("--json", action="store_true", help="one JSON object")
    c.set_defaults(fn=cmd_cost)
    add_noc_parser(sub)
    lst = sub.add_parser("list", help="presets, models, strategies; --arch NAME prints a preset as YAML")
    lst.add_argument("--arch", help="a preset name or YAML file to print as complete YAML (with its area)")
    lst.set_defaults(fn=cmd_list)
    add_serve_parser(sub)
    add_decode_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv or ["simulate"])
    except SystemExit as stop:  # --help, or a bad flag already reported on one line
        return int(stop.code or 0)
    if args.cmd is None:
        parser.print_help()
        return 0
    if getattr(args, "mapping", None):
        args.strategy = None
    STOP.clear()
    main_thread = threading.current_thread() is threading.main_thread()  # only it may take signals
    hangup = getattr(signal, "SIGHUP", None)
    # a kill, or the terminal closing (SIGHUP), cleans up as Ctrl-C does
    previous = {sig: signal.signal(sig, _terminated) for sig in (signal.SIGTERM, hangup) if sig} if main_thread else {}
    try:
        code = args.fn(args)
        check_stop()      # a termination whose exception was swallowed (raised inside a finalizer)
        return code
    except PrismError as err:
        text = " ".join(str(err).split("\n"))
        if len(text) > 2000:   # an echoed value too long to read is no use; keep both ends
            text = text[:1000] + " ... " + text[-500:]
        print(f"prismsim: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("prismsim: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("prismsim: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        sys.stderr.close()
        return 0
    except OSError as err:  # the machine refused (disk full, no permission): one line, no traceback
        where = f": {err.filename}" if err.filename else ""
        print(f"prismsim: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _terminated(signum, frame) -> None:
    STOP.set()
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
