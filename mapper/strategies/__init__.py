"""Mapping strategies: ``(workload, arch, options) -> Mapping``, deterministic for a seed."""
from __future__ import annotations

import inspect
import math
from typing import Callable

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch

from ..mapping import Mapping, Schedule
from ..workload import Workload
from .baselines import equal, greedy, homogeneous
from .cmswitch import cmswitch
from .h3pimap import h3pimap
from .lionheart import lionheart
from .placement import placement

STRATEGIES: dict[str, Callable[..., Mapping]] = {
    "homogeneous": homogeneous, "equal": equal, "greedy": greedy, "placement": placement, "h3pimap": h3pimap,
    "lionheart": lionheart, "cmswitch": cmswitch}


# Bounds of the numeric strategy options (inclusive unless in OPEN_BELOW; None: none). Whole-number
# options (an int default) take whole numbers, decimal ones any finite number; 0/1 options are switches.
OPTION_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "pop": (2, None), "gens": (1, None), "seed": (0, None), "max_drop": (0, 1), "t_eval": (0, None),
    "accuracy_seeds": (1, None), "accuracy_samples": (1, None), "remap": (0, 1), "memory": (0, 1),
    "max_copies": (1, None), "window": (1, None), "duplicate": (0, 1), "budget": (0, 1), "refine": (0, 1),
    "threshold": (0, 1), "seeds": (1, None), "samples": (1, None), "retrain": (0, 1), "epochs": (1, 100),
    "layerwise": (0, 1), "chunks": (1, 4096)}
OPEN_BELOW = {"budget"}   # options whose lower bound is excluded: a share of the arrays, > 0


def option_defaults(strategy: str) -> dict:
    """``strategy``'s options (the keyword parameters after workload and arch) and their defaults."""
    params = inspect.signature(STRATEGIES[strategy]).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def check_options(strategy: str, options: dict) -> dict:
    """``options`` for ``strategy``, each a known option of the right type within its bounds; a
    PrismError naming the option otherwise. Decimal options come back as floats."""
    defaults = option_defaults(strategy)
    out = {}
    for key, v in options.items():
        if key not in defaults:
            raise PrismError(f"--option: strategy {strategy} has no option {key!r}")
        default = defaults[key]
        if isinstance(default, (int, float)):
            whole = isinstance(default, int)
            if isinstance(v, bool) or not isinstance(v, int if whole else (int, float)) or not math.isfinite(v):
                raise PrismError(f"--option {key}: must be a {'whole' if whole else 'finite'} number (got {v!r})")
            lo, hi = OPTION_BOUNDS.get(key, (None, None))
            open_below = key in OPEN_BELOW
            if lo is not None and (v < lo or open_below and v == lo) or hi is not None and v > hi:
                span = (f"in {'(' if open_below else '['}{lo}, {hi}]" if hi is not None
                        else f"{'>' if open_below else '>='} {lo}")
                raise PrismError(f"--option {key}: must be {span} (got {v!r})")
            v = v if whole else float(v)
        out[key] = v
    return out


def make_mapping(strategy: str, workload: Workload, arch: Arch, schedule: Schedule | None = None,
                 **options) -> Mapping:
    """``strategy``'s mapping of ``workload`` on ``arch`` (options checked by ``check_options``),
    run under ``schedule`` when one is given, else under the strategy's own (``cmswitch``
    pipelines its segments; the others run layer after layer)."""
    if strategy not in STRATEGIES:
        raise PrismError(f"--strategy: unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    m = STRATEGIES[strategy](workload, arch, **check_options(strategy, options))
    if schedule is not None:
        m.schedule = schedule
    m.strategy, m.model, m.arch = strategy, workload.name, arch.name
    return m
