"""The Python API for notebooks: run a simulation, read a run back, get pandas tables."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from prismsim.hw.errors import PrismError, read_text
from prismsim.hw.spec import Arch, load_arch
from prismsim.mapper.critical import COLUMNS as PATH_COLUMNS
from prismsim.mapper.mapping import Mapping, chosen_schedule, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.result import Result
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.workload import Workload
from prismsim.traces import COLUMNS, ListRecorder
from prismsim.traces import analysis


@dataclass
class Run:
    """A finished run: ``summary`` (dict) and, as DataFrames, ``events``, ``units``, ``layers``,
    ``links``, ``critical_path``. Read lazily from ``dir`` when the run was written to disk."""

    summary: dict
    dir: Path | None = None
    result: Result | None = None
    mapping: Mapping | None = None
    _events: pd.DataFrame | None = field(default=None, repr=False)
    _critical: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def events(self) -> pd.DataFrame:
        if self._events is None:
            path = analysis.events_path(self.dir) if self.dir else None
            self._events = analysis.read_events(path) if path else pd.DataFrame(columns=list(COLUMNS))
        return self._events

    def _table(self, name: str) -> pd.DataFrame:
        if self.dir is not None and (self.dir / f"{name}.csv").exists():
            return pd.read_csv(self.dir / f"{name}.csv", keep_default_na=False)
        if name == "critical_path":
            return self._critical if self._critical is not None else pd.DataFrame(columns=list(PATH_COLUMNS))
        r = self.result
        if r is None:
            return pd.DataFrame()
        if name == "units":
            return pd.DataFrame([{"unit": u, **v} for u, v in r.per_unit.items()])
        if name == "layers":
            return pd.DataFrame([{"layer": k, **v} for k, v in r.per_layer.items()])
        return pd.DataFrame({"link": list(r.link_utilization), "utilization": list(r.link_utilization.values())})

    @property
    def units(self) -> pd.DataFrame:
        return self._table("units")

    @property
    def layers(self) -> pd.DataFrame:
        return self._table("layers")

    @property
    def links(self) -> pd.DataFrame:
        return self._table("links")

    @property
    def critical_path(self) -> pd.DataFrame:
        """The chain of jobs and transfers that set the latency, in time order (``mapper.critical``)."""
        return self._table("critical_path")


def simulate(arch: str | Arch = "hybrid", model: str | Workload | list = "pythia-70m",
             mapping: str | Path | Mapping | None = None,
             strategy: str | list[str] = "greedy", *, schedule: str | None = None, chunks: int | None = None,
             program_weights: bool = False, out: str | Path | None = None, trace: str = "events", seed: int = 0,
             ideal_noc: bool = False, partition: list[float] | str | None = None, **options) -> Run:
    """Simulate ``model`` (a list: several models side by side, ``mapper.colocate``) on ``arch``
    event by event. With ``out`` the run is written there as by
    ``prismsim simulate`` (and read back lazily); without it the events stay in memory.

    Several models with ``partition`` (shares per model, or ``"macs"``) or a ``strategy`` list
    (one per model): each model mapped by its own strategy on its own part of the chip
    (``mapper.colocate.partitioned``; ``options`` go to every strategy that takes them).

    ``schedule``, ``chunks``, ``program_weights``: as ``--schedule``, ``--chunks`` and
    ``--program-weights``: they shape a strategy's mapping, and replace a given mapping's own
    schedule when any is given (the mapping object itself is left as it was)."""
    from prismsim.mapper.load import load_model
    from .engine import simulate_plan
    from .output import critical, simulate_to_dir

    a = load_arch(arch) if isinstance(arch, (str, Path)) else arch
    each = [load_model(m) if isinstance(m, str) else m for m in (model if isinstance(model, (list, tuple)) else [model])]
    if len(each) > 1:   # co-located models
        from prismsim.mapper.colocate import colocate
        wl = colocate(each)
    else:
        wl = each[0]
    sched, asked = chosen_schedule(schedule, chunks, program_weights)
    if mapping is None and (partition is not None or not isinstance(strategy, str)):
        from .selection import partition_mapping
        names = [strategy] if isinstance(strategy, str) else list(strategy)
        shares = None if partition in (None, "macs") else list(partition)  # type: ignore[arg-type]
        m = partition_mapping(each, a, names, shares, options, sched, wl.name, "strategy")
    elif mapping is None:
        m = make_mapping(strategy, wl, a, schedule=sched if asked else None, **options)
    else:
        m = Mapping.load(mapping) if isinstance(mapping, (str, Path)) else mapping
        if asked:
            m = replace(m, schedule=sched)
    validate(m, a, wl)
    plan = build_plan(a, wl, m, check=False)
    if out is not None:
        simulate_to_dir(Path(out), a, m, plan, trace=trace, ideal_noc=ideal_noc, seed=seed)
        return load_run(out)
    rec = ListRecorder()
    res, tl = simulate_plan(plan, ideal_noc=ideal_noc, recorder=rec, trace=trace)
    path, crit = critical(plan, tl, ideal_noc)
    events = pd.DataFrame(rec.data, columns=list(COLUMNS))
    return Run({**res.summary(), "critical_path_ps": crit}, None, res, m, events,
               pd.DataFrame(path, columns=list(PATH_COLUMNS)))


def load_run(path: str | Path) -> Run:
    """A run directory written by ``prismsim simulate`` (or ``simulate(..., out=...)``)."""
    d = Path(path)
    if not (d / "summary.json").exists():
        raise PrismError(f"load_run: {str(d)!r} holds no summary.json")
    try:
        summary = json.loads(read_text(d / "summary.json", "load_run"))
    except json.JSONDecodeError as err:
        raise PrismError(f"load_run: {str(d / 'summary.json')!r} is not JSON ({err.msg})") from None
    m = Mapping.load(d / "mapping.yaml") if (d / "mapping.yaml").exists() else None
    return Run(summary, d, None, m)
