"""What a command runs: the arch, the model and the mapping its flags select, and the plan."""
from __future__ import annotations

import math
import sys

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch, load_arch
from prismsim.mapper.colocate import colocate, partitioned
from prismsim.mapper.load import load_model
from prismsim.mapper.mapping import Mapping, chosen_schedule, validate
from prismsim.mapper.row_blocks import split_rows
from prismsim.mapper.params import parse_params
from prismsim.mapper.plan import Plan, build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.workload import Workload

from .compare import check_strategies
from .cost_cmd import warn_resolution
from .engine import US_PER_EVENT, estimate
from .progress import Stage
from .workload_file import expand


def model_spec(args, spec: str | None = None) -> str:
    """--model (or ``spec``, one of several) plus --phase / --decode-tokens as zoo parameters."""
    spec = args.model if spec is None else spec
    extra = []
    if getattr(args, "phase", None):
        extra.append(f"phase={args.phase}")
    if getattr(args, "decode_tokens", None):
        if args.phase != "decode":
            raise PrismError("--decode-tokens: only with --phase decode")
        extra.append(f"decode_tokens={args.decode_tokens}")
    if extra:
        if spec.endswith(".onnx"):
            raise PrismError(f"--phase: phases are for zoo, hf: and torch: causal LMs (got --model {spec!r})")
        spec += ("&" if "?" in spec else "?") + "&".join(extra)
    return spec


DEFAULT_MODEL = "pythia-70m"


def load_each(args) -> list[Workload]:
    """Every model --model names (or the workload file it gives: ``sim/workload_file.py``), loaded."""
    expand(args)
    specs = args.model if isinstance(args.model, list) else [args.model or DEFAULT_MODEL]
    loaded = []
    for spec in specs:
        spec = model_spec(args, spec)
        with Stage(f"loading {spec}", not args.no_progress):
            loaded.append(load_model(spec))
    return loaded


def load_models(args) -> Workload:
    """The model --model names; several --model flags: them all in one run (``colocate``)."""
    loaded = load_each(args)
    return loaded[0] if len(loaded) == 1 else colocate(loaded)


def partition_shares(text: str | None, models: int) -> list[float] | None:
    """``--partition`` [SHARES]: None (no partition), [] (shares by the models' MACs) or the shares."""
    if text is None:
        return None
    if text == "macs":
        return []
    try:
        out = [float(x) for x in text.split(",")]
    except ValueError:
        out = []
    if len(out) != models or not all(math.isfinite(x) and x > 0 for x in out):
        raise PrismError(f"--partition: expected {models} shares > 0 separated by commas, one per --model "
                         f"(got {text[:40]!r})")
    return out


def partition_mapping(each: list[Workload], arch: Arch, strategies: list[str], shares: list[float] | None,
                      options: dict, schedule, name: str, flag: str = "--strategy") -> Mapping:
    """Co-located models each mapped by its strategy (one for all, or one each) on its own part of
    the chip (``mapper.colocate.partitioned``; shares: None or [] by the models' MACs), options
    checked as ``--strategy`` checks them; the mapping runs under ``schedule``."""
    per = check_strategies(list(dict.fromkeys(strategies)), options, flag)
    names = strategies * len(each) if len(strategies) == 1 else strategies
    mapping = partitioned(each, arch, names, shares, [per[x] for x in names])
    mapping.schedule = schedule
    mapping.model, mapping.arch = name, arch.name
    return mapping


def select(args) -> tuple[Arch, Workload, Mapping]:
    arch = load_arch(args.arch)
    warn_resolution(arch)
    each = load_each(args)
    wl = each[0] if len(each) == 1 else colocate(each)
    sched, asked = chosen_schedule(args.schedule, args.chunks, args.program_weights)
    strategies = (args.strategy or "").split(",")
    part = partition_shares(getattr(args, "partition", None), len(each))
    if (part is not None or len(strategies) > 1) and (args.mapping or len(each) < 2):
        raise PrismError("--partition and one --strategy per model need several --model and no --mapping")
    if args.mapping:
        mapping = Mapping.load(args.mapping)
        if asked:
            mapping.schedule = sched
        validate(mapping, arch, wl, source=args.mapping)
        other = [(x, a, b) for x, a, b in (("model", mapping.model, wl.name), ("arch", mapping.arch, arch.name))
                 if a and a != b]
        if other:  # valid (layer and unit names match), but perhaps not what the user meant
            print(f"prismsim: note: {args.mapping} was made for {' and '.join(f'{x} {a}' for x, a, _ in other)}; "
                  f"this run: {', '.join(f'{x} {b}' for x, _, b in other)}", file=sys.stderr)
    else:
        opts = strategy_options(args.option)
        with Stage(f"mapping {wl.name} ({args.strategy})", not args.no_progress):
            if part is not None or len(strategies) > 1:
                mapping = partition_mapping(each, arch, strategies, part, opts, sched, wl.name)
            else:
                mapping = make_mapping(args.strategy, wl, arch, schedule=sched if asked else None, **opts)
        validate(mapping, arch, wl, source=f"strategy {args.strategy}")
    return arch, split_rows(wl, mapping.blocks), mapping


def plan_of(args, arch: Arch, wl: Workload, mapping: Mapping) -> Plan:
    """The checked mapping's plan (every job and transfer), showing progress if that is long; a
    run estimated to take over a minute says so before it starts."""
    with Stage(f"building the plan ({len(wl.layers)} layers)", not args.no_progress):
        plan = build_plan(arch, wl, mapping, check=False)
    if not getattr(args, "ideal_noc", False) and getattr(args, "noc", "router") == "router":
        events, seconds = estimate(plan)
        if seconds > LONG_RUN_S:
            print(f"prismsim: note: this run is about {events:,.0f} simulation events, roughly "
                  f"{duration(seconds)} ({US_PER_EVENT} us per event); --noc flow or --ideal-noc skip the "
                  f"flit-level network, a smaller model parameter shortens it", file=sys.stderr)
    return plan


LONG_RUN_S = 60.0


def duration(seconds: float) -> str:
    """Seconds in the largest unit they fill: "4.0 days", "1.0 years", "12 s"."""
    for unit, size in (("years", 31536000), ("months", 2592000), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def strategy_options(pairs: list[str] | None) -> dict:
    """``KEY=VALUE`` strategy options; whole numbers and decimals become numbers."""
    return parse_params(pairs or [], "--option")


def shares(parts: dict[str, int], latency_ps: int) -> str:
    """``a 68.0%, b 19.4%, ...``: the parts of a latency, largest first (those of 0.1% or more)."""
    order = sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k} {100 * v / latency_ps:.1f}%" for k, v in order if v * 1000 >= latency_ps)
