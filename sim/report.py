"""``prismsim report RUN_DIR``: plots and a markdown report of a run (or of a compare/sweep table)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from prismsim.hw.errors import PrismError
from prismsim.traces import analysis, plots

from .output import atomic_dir


def _floorplan(run_dir: Path) -> dict[tuple, str]:
    """Router -> the units on it (from the run's arch.yaml)."""
    f = run_dir / "arch.yaml"
    if not f.exists():
        return {}
    from prismsim.hw.spec import parse_arch

    arch = parse_arch(yaml.safe_load(f.read_text()), str(f))
    nodes: dict[tuple, list[str]] = {}
    for u in arch.instances().values():
        nodes.setdefault(tuple(u.pos), []).append(u.name)
    for name, mem in arch.memories().items():
        nodes.setdefault(tuple(mem.position), []).append(name)
    return {k: "\n".join(v[:2]) + ("…" if len(v) > 2 else "") for k, v in nodes.items()}


def _links(links: pd.DataFrame) -> dict[tuple, float]:
    out = {}
    for name, u in zip(links.get("link", []), links.get("utilization", [])):
        if "->" in str(name) and "@" not in str(name):
            a, b = str(name).split("->")
            out[(tuple(int(v) for v in a.split(",")), tuple(int(v) for v in b.split(",")))] = float(u)
    return out


def _read_run(run_dir: Path) -> dict:
    """Everything a run's report plots, read, checked and reduced from its files (a damaged or
    foreign file raises KeyError, ValueError, TypeError, AttributeError or a YAML error here,
    never while plotting)."""
    t = analysis.read_run_tables(run_dir)
    s = t["summary"]
    latency = int(s["latency_ps"])

    def numbers(d: dict) -> dict[str, float]:
        return {str(k): float(v) for k, v in d.items()}

    layers = t["layers"]
    if len(layers):
        layers = layers.astype({"start_ps": "int64", "end_ps": "int64"})[["layer", "start_ps", "end_ps"]]
    data = {"summary": s, "spans": None, "util": None, "links": _links(t["links"]), "layers": layers,
            "energy": (numbers(s["energy_breakdown_pj"]), numbers(s["energy_by_kind_pj"])),
            "stalls": numbers(s.get("stall_ps", {}))}
    ev = analysis.events_path(run_dir)
    if ev is not None:
        spans = []
        for chunk in analysis.iter_events(ev, ["t_start_ps", "t_end_ps", "kind", "resource", "layer"]):
            c = chunk[chunk["kind"] == "compute"]
            # one bar per (unit, layer): a readable timeline however many chunks ran
            spans.append(c.groupby(["resource", "layer"], as_index=False).agg(
                t_start_ps=("t_start_ps", "min"), t_end_ps=("t_end_ps", "max")))
        if spans:
            data["spans"] = pd.concat(spans).groupby(["resource", "layer"], as_index=False).agg(
                t_start_ps=("t_start_ps", "min"), t_end_ps=("t_end_ps", "max"))
        kinds = dict(zip(t["units"]["unit"], t["units"]["kind"])) if len(t["units"]) else {}
        data["util"] = analysis.utilization_over_time(ev, kinds, latency)
    data["floorplan"] = _floorplan(run_dir) if data["links"] else {}
    data["head"] = (f"# {s['model']} on {s['arch']} ({s['strategy']})\n\n"
                    f"latency {latency / 1e6:,.3f} us, energy {s['energy_pj'] / 1e6:,.3f} uJ\n")
    return data


def _run_plots(data: dict, out: Path) -> list[tuple[str, str]]:
    figs = []
    if data["spans"] is not None and len(data["spans"]):
        figs.append(("Per-unit timeline", plots.gantt(data["spans"], out / "timeline.png").name))
    if data["util"] is not None and len(data["util"].columns):
        figs.append(("Utilization over time", plots.utilization(data["util"], out / "utilization.png").name))
    figs.append(("Energy breakdown", plots.energy_bars(*data["energy"], out / "energy.png").name))
    if data["links"]:
        figs.append(("NoC link utilization", plots.noc_heatmap(data["links"], data["floorplan"], out / "noc.png").name))
    if len(data["layers"]):
        figs.append(("Per-layer latency", plots.layer_bars(data["layers"], out / "layers.png").name))
    figs.append(("Stall time by cause", plots.stall_bars(data["stalls"], out / "stalls.png").name))
    return figs


def _read_table(table: Path) -> dict:
    """A compare or sweep table, failed points left out (reading errors as in ``_read_run``)."""
    df = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    if "error" in df:
        df = df[df["error"].isna() | (df["error"] == "")]
    label = "strategy" if "strategy" in df else ("point_id" if "point_id" in df else df.columns[0])
    data = {"df": df, "label": label, "head": f"# {table.parent.name}: {table.name}\n", "front": None}
    if {"latency_ps", "energy_pj"} <= set(df.columns) and len(df):
        data["front"] = analysis.pareto_front(df, "latency_ps", "energy_pj")
    return data


def _table_plots(data: dict, out: Path) -> list[tuple[str, str]]:
    df, label, figs = data["df"], data["label"], []
    if data["front"] is not None:
        figs.append(("Pareto front (latency, energy)",
                     plots.pareto(df, "latency_ps", "energy_pj", label, data["front"], out / "pareto.png").name))
        cols = [c for c in ("latency_ps", "energy_pj", "accuracy") if c in df and df[c].notna().any()]
        if len(df) <= 40:
            figs.append(("Comparison", plots.bars(df, label, cols, out / "bars.png").name))
    return figs


def write_report(run_dir: str | Path) -> Path:
    """Write RUN_DIR/report/ (PNGs and report.md); never overwrite an existing report."""
    d = Path(run_dir)
    if not d.is_dir():
        raise PrismError(f"report: {str(d)!r} is not a directory")
    out = d / "report"
    with atomic_dir(out, "report") as tmp:
        table = next((d / n for n in ("results.parquet", "results.csv", "compare.csv") if (d / n).exists()), None)
        try:  # reading: a damaged or foreign file is the user's to know about, in one line
            if table is not None:
                data, draw = _read_table(table), _table_plots
            elif (d / "summary.json").exists():
                data, draw = _read_run(d), _run_plots
            else:
                raise PrismError(f"report: {str(d)!r} holds no summary.json or results table")
        except (KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError) as err:
            why = (str(err).splitlines() or [""])[0][:200]
            raise PrismError(f"report: cannot read the run in {str(d)!r} ({type(err).__name__}: {why})") from None
        figs = draw(data, tmp)   # plotting: an error here is ours, and keeps its traceback
        body = [data["head"]] + [f"\n## {title}\n\n![{title}]({png})\n" for title, png in figs]
        (tmp / "report.md").write_text("".join(body))
    return out
