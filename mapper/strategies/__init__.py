"""Mapping strategies: ``(workload, arch, options) -> Mapping``, deterministic for a seed."""
from __future__ import annotations

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


def make_mapping(strategy: str, workload: Workload, arch: Arch, schedule: Schedule | None = None,
                 **options) -> Mapping:
    if strategy not in STRATEGIES:
        raise PrismError(f"--strategy: unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    try:
        m = STRATEGIES[strategy](workload, arch, **options)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        bad = str(err).split("'")[1]
        raise PrismError(f"--option: strategy {strategy} has no option {bad!r}") from None
    m.schedule = schedule or Schedule()
    m.strategy, m.model, m.arch = strategy, workload.name, arch.name
    return m
