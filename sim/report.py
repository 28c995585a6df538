"""``prismsim report RUN_DIR``: plots and a markdown report of a run (or of a compare/sweep table)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from prismsim.hw.errors import PrismError
from prismsim.traces import analysis, plots

from .output import atomic_dir, edp_uj_us, fmt_ps, tops, tops_per_mm2

TOP = 10   # rows in the report's "longest" and "busiest" tables


def _md(header: list[str], rows) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _energy_table(by: dict[str, float], total: float, what: str) -> str:
    rows = sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))
    return _md([what, "energy (uJ)", "share"],
               ((k, f"{v / 1e6:,.3f}", f"{100 * v / total:.1f}%" if total else "-") for k, v in rows))


def _area_table(by: dict[str, float]) -> str:
    """Chip area by component kind (hw.chip.area_breakdown_mm2), largest first, those of 0.1% or more."""
    total = sum(float(v) for v in by.values())
    rows = sorted(((k, float(v)) for k, v in by.items()), key=lambda kv: (-kv[1], kv[0]))
    return _md(["component", "area (mm2)", "share"], [(k, f"{v:,.3f}", f"{100 * v / total:.1f}%")
                                                      for k, v in rows if total and v >= total / 1000]
               + [("chip", f"{total:,.3f}", "100.0%")])


def _critical_tables(parts: dict, path: pd.DataFrame, latency: int) -> str:
    """What filled the critical path, and the layers that held it longest."""
    parts = {str(k): int(v) for k, v in parts.items()}
    text = _md(["on the critical path", "time", "share"], (
        (k, fmt_ps(v), f"{100 * v / latency:.1f}%" if latency else "-")
        for k, v in sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))))
    if len(path):
        path = path.astype({"t_start_ps": "int64", "t_end_ps": "int64", "noc_contention_ps": "int64"})
        path = path.assign(span=path["t_end_ps"] - path["t_start_ps"])
        by = path.groupby("layer", sort=False).agg(span=("span", "sum"), steps=("span", "size"),
                                                   contention=("noc_contention_ps", "sum"))
        by = by.sort_values("span", ascending=False, kind="stable").head(TOP)
        text += "\n" + _md(["layer", "time on the path", "share", "steps", "of it NoC contention"], (
            (r.Index, fmt_ps(r.span), f"{100 * r.span / latency:.1f}%" if latency else "-", r.steps,
             fmt_ps(r.contention)) for r in by.itertuples()))
    return text


def _summary_table(s: dict) -> str:
    latency, total, macs = int(s["latency_ps"]), float(s["energy_pj"]), int(s["macs"])
    rate, per_w = tops(macs, latency, total)
    sched = str(s.get("schedule", "sequential"))
    if sched == "pipelined":
        sched += f", {int(s['chunks'])} chunks"
    if s.get("program_weights"):
        sched += ", weights programmed first"
    stalls = ", ".join(f"{k} {fmt_ps(int(v))}" for k, v in s.get("stall_ps", {}).items() if v) or "none"
    return _md(["", "value"], [
        ("latency", fmt_ps(latency)), ("energy", f"{total / 1e6:,.3f} uJ"), ("MACs", f"{macs / 1e9:.4f} G"),
        ("throughput", f"{rate:.2f} TOPS"), ("efficiency", f"{per_w:.3f} TOPS/W"),
        ("chip area", f"{float(s.get('area_mm2', 0.0)):,.3f} mm2"),
        ("area efficiency", f"{tops_per_mm2(macs, latency, float(s.get('area_mm2', 0.0))):.4f} TOPS/mm2"),
        ("evaluator", str(s["evaluator"]) + (", ideal NoC" if s.get("ideal_noc") else "")), ("schedule", sched),
        ("NoC bytes", f"{int(s.get('noc_bytes', 0)):,}"), ("DRAM bytes", f"{int(s.get('dram_bytes', 0)):,}"),
        ("global buffer bytes", f"{int(s.get('gb_bytes', 0)):,}"), ("stalls (summed)", stalls)])


def _units_tables(units: pd.DataFrame) -> str:
    """Utilization per unit kind, and the busiest units."""
    units = units.astype({"utilization": float, "busy_ps": "int64", "jobs": "int64", "macs": "int64",
                          "energy_pj": float})
    kinds = units.groupby("kind", sort=True).agg(units=("unit", "size"), avg=("utilization", "mean"),
                                                 peak=("utilization", "max"))
    busiest = units.sort_values(["utilization", "unit"], ascending=[False, True]).head(TOP)
    return _md(["unit kind", "units", "mean", "busiest"], (
        (r.Index, r.units, f"{100 * r.avg:.1f}%", f"{100 * r.peak:.1f}%") for r in kinds.itertuples())) + "\n" + \
        _md(["unit", "kind", "utilization", "busy", "jobs", "MACs", "energy (uJ)"], (
            (r.unit, r.kind, f"{100 * r.utilization:.1f}%", fmt_ps(r.busy_ps), r.jobs, f"{r.macs:,}",
             f"{r.energy_pj / 1e6:,.3f}") for r in busiest.itertuples()))


def _layers_table(layers: pd.DataFrame) -> str:
    layers = layers.astype({"start_ps": "int64", "end_ps": "int64", "macs": "int64", "energy_pj": float})
    layers = layers.assign(span=layers["end_ps"] - layers["start_ps"])
    longest = layers.sort_values(["span", "start_ps"], ascending=[False, True]).head(TOP)
    return _md(["layer", "start", "end", "span", "MACs", "energy (uJ)", "units"], (
        (r.layer, fmt_ps(r.start_ps), fmt_ps(r.end_ps), fmt_ps(r.span), f"{r.macs:,}", f"{r.energy_pj / 1e6:,.3f}",
         r.units) for r in longest.itertuples()))


def _channels_table(links: pd.DataFrame) -> str:
    links = links.astype({"utilization": float}).sort_values(["utilization", "link"], ascending=[False, True])
    return _md(["channel", "utilization"], ((r.link, f"{100 * r.utilization:.1f}%") for r in links.head(TOP).itertuples()))


def _run_tables(t: dict, energy: tuple[dict, dict]) -> list[tuple[str, str]]:
    """The run's figures as markdown tables, (title, table) each: summary, critical path, energy,
    utilization, the longest layers and the busiest channels (read from the run's files, so a
    damaged one raises here, not while plotting)."""
    s = t["summary"]
    out = [("Summary", _summary_table(s))]
    if s.get("models"):   # co-located models: each one's figures
        out.append(("Models", _md(["model", "latency (us)", "MACs", "energy in its jobs and transfers (uJ)"],
                                  ((m, f"{float(v['latency_ps']) / 1e6:,.3f}", f"{int(v['macs']):,}",
                                    f"{float(v['energy_pj']) / 1e6:,.3f}") for m, v in s["models"].items()))))
    if s.get("critical_path_ps"):
        out.append(("Critical path", _critical_tables(s["critical_path_ps"], t["critical_path"], int(s["latency_ps"]))))
    out.append(("Energy", _energy_table(energy[0], float(s["energy_pj"]), "category") + "\n"
                + _energy_table(energy[1], float(s["energy_pj"]), "unit kind")))
    if s.get("area_breakdown_mm2"):
        out.append(("Area", _area_table(s["area_breakdown_mm2"])))
    if len(t["units"]):
        out.append(("Utilization", _units_tables(t["units"])))
    if len(t["layers"]):
        out.append((f"Layers ({min(TOP, len(t['layers']))} longest of {len(t['layers'])})", _layers_table(t["layers"])))
    if len(t["links"]):
        out.append((f"Channels ({min(TOP, len(t['links']))} busiest of {len(t['links'])})", _channels_table(t["links"])))
    return out


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
    data["tables"] = _run_tables(t, data["energy"])
    path = t["critical_path"]
    if len(path):
        path = path[path["kind"] != "transfer"]
        data["critical"] = path.astype({"t_start_ps": "int64", "t_end_ps": "int64"})[["resource", "t_start_ps",
                                                                                      "t_end_ps"]]
    return data


def _run_plots(data: dict, out: Path) -> list[tuple[str, str]]:
    figs = []
    if data["spans"] is not None and len(data["spans"]):
        figs.append(("Per-unit timeline", plots.gantt(data["spans"], out / "timeline.png", critical=data.get("critical"),
                                                      latency_ps=int(data["summary"]["latency_ps"])).name))
    if data["util"] is not None and len(data["util"].columns):
        figs.append(("Utilization over time", plots.utilization(data["util"], out / "utilization.png").name))
    figs.append(("Energy breakdown", plots.energy_bars(*data["energy"], out / "energy.png").name))
    if data["links"]:
        figs.append(("NoC link utilization", plots.noc_heatmap(data["links"], data["floorplan"], out / "noc.png").name))
    if len(data["layers"]):
        figs.append(("Per-layer latency", plots.layer_bars(data["layers"], out / "layers.png").name))
    figs.append(("Stall time by cause", plots.stall_bars(data["stalls"], out / "stalls.png").name))
    return figs


def _read_table(table: Path, by: str | None = None) -> dict:
    """A compare or sweep table, failed points left out (reading errors as in ``_read_run``);
    ``by``: a sweep axis whose every value gets its own fronts (beside the model)."""
    df = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    if by is not None:
        col = by if by in df else f"axis:{by}"
        if col not in df:
            axes = ", ".join(c[5:] for c in df.columns if str(c).startswith("axis:")) or "none"
            raise PrismError(f"--by: {by!r} is not an axis of {table.name} (axes: {axes})")
        df = df.assign(model=df["model"].astype(str) + f", {by.rsplit('.', 1)[-1]}=" + df[col].astype(str)) \
            if "model" in df else df.assign(model=f"{by}=" + df[col].astype(str))
    failed = 0
    if "error" in df:
        ok = df["error"].isna() | (df["error"] == "")
        df, failed = df[ok], int((~ok).sum())
    label = "strategy" if "strategy" in df else ("point_id" if "point_id" in df else df.columns[0])
    head = f"# {table.parent.name}: {table.name}\n"
    if failed:
        head += f"\n{failed} of {failed + len(df)} rows could not run (their error is in {table.name}).\n"
    data = {"df": df, "label": label, "head": head, "front": None, "tables": []}
    if {"latency_ps", "energy_pj"} <= set(df.columns) and len(df):
        df = df.astype({"latency_ps": "int64", "energy_pj": float})
        data["df"] = df
        groups = [g for _, g in df.groupby("model", sort=True)] if "model" in df else [df]
        data["front"] = front = pd.concat([analysis.pareto_front(g, "latency_ps", "energy_pj") for g in groups])
        data["tables"] = [_result_table(df, label, front)]
    return data


def _result_table(df: pd.DataFrame, label: str, front: pd.DataFrame, most: int = 40) -> tuple[str, str]:
    """Every row of a compare or sweep table, or with more than ``most`` the Pareto front's
    first ``most`` (by latency): its label, model, strategy and axes, latency, energy, EDP and
    accuracy where there is one."""
    on_front = set(front.index)
    rows = df if len(df) <= most else front.head(most)
    per = " per model" if "model" in df and df["model"].nunique() > 1 else ""
    title = f"Results ({len(df)})" if len(df) <= most else \
        f"Pareto fronts{per} ({len(rows)} of their {len(front)} of {len(df)} points)"
    ids = [c for c in ("model", "strategy") if c in df and c != label]
    axes = [c for c in df.columns if str(c).startswith("axis:")]
    acc = "accuracy" in df and df["accuracy"].notna().any()
    crit = [c for c in df.columns if str(c).startswith("critical:")]   # a sweep's critical-path parts
    header = [label] + ids + [c[len("axis:"):] for c in axes] + ["latency", "energy (uJ)", "EDP (uJ*us)"] \
        + (["accuracy"] if acc else []) + (["critical path mostly"] if crit else []) + ["Pareto front"]
    body = []
    for i, r in rows.iterrows():
        lat, e = int(r["latency_ps"]), float(r["energy_pj"])
        cells = [r[label]] + [r[c] for c in ids] + [r[c] for c in axes]
        cells += [fmt_ps(lat), f"{e / 1e6:,.3f}", f"{edp_uj_us(lat, e):.4g}"]
        if acc:
            cells.append("-" if pd.isna(r["accuracy"]) else f"{100 * float(r['accuracy']):.2f}%")
        if crit:
            parts = {c[len("critical:"):]: float(r[c]) for c in crit if not pd.isna(r[c])}
            top = max(sorted(parts), key=parts.get, default=None)
            cells.append(f"{top} {100 * parts[top] / lat:.0f}%" if top and lat else "-")
        body.append(cells + ["yes" if i in on_front else ""])
    return title, _md(header, body)


def _table_plots(data: dict, out: Path) -> list[tuple[str, str]]:
    df, label, figs = data["df"], data["label"], []
    if data["front"] is not None:
        figs.append(("Pareto front (latency, energy)",
                     plots.pareto(df, "latency_ps", "energy_pj", label, data["front"], out / "pareto.png").name))
        cols = [c for c in ("latency_ps", "energy_pj", "accuracy") if c in df and df[c].notna().any()]
        if len(df) <= 40:
            figs.append(("Comparison", plots.bars(df, label, cols, out / "bars.png").name))
    return figs


def write_report(run_dir: str | Path, by: str | None = None) -> Path:
    """Write RUN_DIR/report/ (PNGs and report.md); never overwrite an existing report. ``by``: for
    a sweep, one front per model and value of that axis."""
    d = Path(run_dir)
    if not d.is_dir():
        raise PrismError(f"report: {str(d)!r} is not a directory")
    out = d / "report"
    with atomic_dir(out, "report") as tmp:
        table = next((d / n for n in ("results.parquet", "results.csv", "compare.csv") if (d / n).exists()), None)
        try:  # reading: a damaged or foreign file is the user's to know about, in one line
            if table is not None:
                data, draw = _read_table(table, by), _table_plots
            elif (d / "summary.json").exists():
                if by is not None:
                    raise PrismError("--by: only for a sweep or compare directory")
                data, draw = _read_run(d), _run_plots
            else:
                raise PrismError(f"report: {str(d)!r} holds no summary.json or results table")
        except (KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError) as err:
            why = (str(err).splitlines() or [""])[0][:200]
            raise PrismError(f"report: cannot read the run in {str(d)!r} ({type(err).__name__}: {why})") from None
        figs = draw(data, tmp)   # plotting: an error here is ours, and keeps its traceback
        body = [data["head"]] + [f"\n## {title}\n\n{table}" for title, table in data["tables"]]
        body += [f"\n## {title}\n\n![{title}]({png})\n" for title, png in figs]
        (tmp / "report.md").write_text("".join(body))
    return out
