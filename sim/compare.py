"""``prismsim compare``: several strategies on one arch and model, each simulated event by event."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.mapper.mapping import Mapping, Schedule, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import STRATEGIES, check_options, make_mapping, option_defaults
from prismsim.mapper.workload import Workload
from prismsim.traces import analysis, plots

from .engine import simulate_plan
from .output import critical_columns, critical_parts


def check_strategies(strategies: list[str], options: dict, flag: str = "--strategies") -> dict[str, dict]:
    """At least one strategy, each known and named once (``--strategies``); every option taken
    by at least one of them. Returns each strategy's own options, checked (``check_options``)."""
    if not strategies:
        raise PrismError(f"{flag}: name at least one strategy (choose from {', '.join(STRATEGIES)})")
    for i, s in enumerate(strategies):
        if s not in STRATEGIES:
            raise PrismError(f"{flag}: unknown strategy {s!r} (choose from {', '.join(STRATEGIES)})")
        if s in strategies[:i]:
            raise PrismError(f"{flag}: {s!r} is listed twice")
    takes = {s: option_defaults(s) for s in strategies}
    for key in options:
        if not any(key in t for t in takes.values()):
            raise PrismError(f"--option: none of {', '.join(strategies)} has an option {key!r}")
    return {s: check_options(s, {k: v for k, v in options.items() if k in takes[s]}) for s in strategies}


def compare(arch: Arch, wl: Workload, strategies: list[str], schedule: Schedule | None, options: dict,
            accuracy_seeds: int = 3, accuracy_samples: int = 1000, t_eval: float = 86400.0,
            progress=None) -> tuple[list[dict], dict[str, Mapping]]:
    """One row per strategy: latency, energy, EDP, accuracy (trained models) and utilization per
    unit kind, from an event-driven run of its mapping. A strategy that cannot map this model on
    this chip (a PrismError) gets a row with its ``error`` and the others still run; if none
    can, the first error is raised."""
    from prismsim.mapper import accuracy as acc

    per_strategy = check_strategies(strategies, options)
    model = wl.name.split("[")[0]
    rows, mappings = [], {}
    for s in strategies:
        t0 = time.perf_counter()
        try:
            m = make_mapping(s, wl, arch, schedule=schedule, **per_strategy[s])
            validate(m, arch, wl, source=f"strategy {s}")
        except PrismError as err:
            rows.append({"strategy": s, "latency_ps": None, "energy_pj": None, "edp_pj_s": None, "area_mm2": None,
                         "accuracy": None, "error": str(err), "wall_s": round(time.perf_counter() - t0, 2)})
            if progress:
                progress(rows[-1])
            continue
        plan = build_plan(arch, wl, m, check=False)
        res, tl = simulate_plan(plan, trace="none")
        row = {"strategy": s, "latency_ps": res.latency_ps, "energy_pj": res.energy_pj,
               "edp_pj_s": res.latency_ps * 1e-12 * res.energy_pj, "area_mm2": res.area_mm2, "accuracy": None,
               "error": None}
        parts = critical_parts(plan, tl.times, res.latency_ps, tl.unit_prev)
        row.update({f"critical:{k}": v for k, v in parts.items()})
        if model in acc.TRAINED:
            cfg = acc.AccuracyConfig(t_s=t_eval, seeds=accuracy_seeds, samples=accuracy_samples)
            row["accuracy"] = acc.evaluate(model, arch, wl, m, cfg).accuracy_mean
        row.update({f"util_{k}": u for k, u in res.utilization_by_kind().items()})
        row["wall_s"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        mappings[s] = m
        if progress:
            progress(row)
    if not mappings:
        raise PrismError(next(r["error"] for r in rows))
    return rows, mappings


def write_compare(out: Path, rows: list[dict], mappings: dict[str, Mapping]) -> None:
    df = critical_columns(pd.DataFrame(rows))
    df.to_csv(out / "compare.csv", index=False)
    for s, m in mappings.items():
        (out / f"mapping-{s}.yaml").write_text(m.to_yaml())
        if m.meta:
            (out / f"meta-{s}.json").write_text(json.dumps(m.meta, indent=2, default=float))
    ran = df[df["error"].isna()].reset_index(drop=True)   # the plots show the strategies that ran
    cols = [c for c in ("latency_ps", "energy_pj", "edp_pj_s", "accuracy") if ran[c].notna().any()]
    plots.bars(ran, "strategy", cols, out / "compare.png")
    front = analysis.pareto_front(ran, "latency_ps", "energy_pj")
    plots.pareto(ran, "latency_ps", "energy_pj", "strategy", front, out / "pareto.png")
