"""Plots of run outputs (matplotlib, headless). Each function writes one PNG and returns its path."""
from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _natural(name: str):
    """pe2 before pe10."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


# one colour per strategy and per unit kind, the same in every plot (tab10); others by a stable hash
_FIXED = {name: plt.cm.tab10(i) for i, name in enumerate(
    ("homogeneous", "equal", "greedy", "placement", "h3pimap", "lionheart", "cmswitch"))}
_FIXED.update({"photonic": plt.cm.tab10(0), "reram": plt.cm.tab10(1), "sram_pim": plt.cm.tab10(2),
               "digital": plt.cm.tab10(3), "noc": plt.cm.tab10(7), "dram": plt.cm.tab10(8),
               "global_buffer": plt.cm.tab10(9)})


def _color(name: str):
    return _FIXED.get(name) or plt.cm.tab20(zlib.crc32(name.encode()) % 20)


def gantt(spans: pd.DataFrame, path: Path, title: str = "per-unit timeline",
          critical: pd.DataFrame | None = None, latency_ps: int | None = None) -> Path:
    """``spans``: resource, layer, t_start_ps, t_end_ps (one bar each; coloured by layer).
    ``critical``: resource, t_start_ps, t_end_ps of the critical path's jobs, outlined in black.
    ``latency_ps``: the axis runs to the run's end, marked (its last transfers are not unit bars)."""
    units = sorted(spans["resource"].astype(str).unique(), key=_natural)
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(units) + 1.5))
    for i, u in enumerate(units):
        rows = spans[spans["resource"].astype(str) == u]
        ax.broken_barh(list(zip(rows["t_start_ps"] / 1e6, (rows["t_end_ps"] - rows["t_start_ps"]) / 1e6)),
                       (i - 0.4, 0.8), facecolors=[_color(str(x)) for x in rows["layer"]], linewidth=0)
        if critical is not None:
            on = critical[critical["resource"].astype(str) == u]
            if len(on):
                ax.broken_barh(list(zip(on["t_start_ps"] / 1e6, (on["t_end_ps"] - on["t_start_ps"]) / 1e6)),
                               (i - 0.45, 0.9), facecolors="none", edgecolors="black", linewidth=0.9,
                               label="critical path" if not ax.get_legend_handles_labels()[1] else None)
    if critical is not None and len(critical):
        ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if latency_ps:
        ax.axvline(latency_ps / 1e6, color="black", lw=0.8, ls=":")
        ax.annotate("end of run", (latency_ps / 1e6, -0.6), fontsize=7, ha="right", annotation_clip=False)
        ax.set_xlim(0, latency_ps / 1e6 * 1.01)
    ax.set_yticks(range(len(units)), units, fontsize=7)
    ax.set_xlabel("time (µs)")
    ax.set_title(title)
    ax.invert_yaxis()
    return _save(fig, path)


def utilization(util: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for col in util.columns:
        ax.plot(util.index / 1e6, 100 * util[col], label=col)
    ax.set_xlabel("time (µs)")
    ax.set_ylabel("busy (% of units)")
    ax.set_ylim(0, 105)
    ax.set_title("utilization over time, by unit kind")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def energy_bars(by_category: dict[str, float], by_kind: dict[str, float], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, data, title in ((axes[0], by_category, "by category"), (axes[1], by_kind, "by unit kind")):
        keys = list(data)
        ax.bar(keys, [data[k] / 1e6 for k in keys], color=[_color(k) for k in keys])
        ax.set_ylabel("energy (µJ)")
        ax.set_title(f"energy {title}")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    return _save(fig, path)


def layer_bars(layers: pd.DataFrame, path: Path, top: int = 40) -> Path:
    d = layers.assign(latency_us=(layers["end_ps"] - layers["start_ps"]) / 1e6).nlargest(top, "latency_us")
    fig, ax = plt.subplots(figsize=(10, 0.22 * len(d) + 1.5))
    ax.barh(d["layer"], d["latency_us"], color=[_color(str(x)) for x in d["layer"]])
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("layer time, start to end (µs)")
    ax.set_title(f"per-layer latency (top {len(d)})")
    return _save(fig, path)


def stall_bars(stalls: dict[str, float], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3))
    keys = list(stalls) or ["none"]
    ax.bar(keys, [stalls.get(k, 0) / 1e6 for k in keys], color="tab:red")
    ax.set_ylabel("stall time, summed over jobs or transfers (µs)")
    ax.set_title("stalls by cause")
    return _save(fig, path)


def noc_heatmap(links: dict[tuple, float], nodes: dict[tuple, str], path: Path) -> Path:
    """Links (a, b) -> utilization drawn between router coordinates; one panel per tier (z)."""
    tiers = sorted({n[2] if len(n) == 3 else 0 for n in nodes} | {a[2] if len(a) == 3 else 0 for a, _ in links})
    fig, axes = plt.subplots(1, len(tiers), figsize=(5.5 * len(tiers), 5.2), squeeze=False)
    cmap = plt.cm.inferno_r
    vmax = max(links.values(), default=1.0) or 1.0
    for ax, z in zip(axes[0], tiers):
        for (a, b), u in links.items():
            za, zb = (a[2] if len(a) == 3 else 0), (b[2] if len(b) == 3 else 0)
            if za != z:
                continue
            off = 0.06 if (b[0], b[1]) > (a[0], a[1]) else -0.06   # two directions side by side
            if za != zb:  # vertical (TSV) link: a ring around the router
                ax.scatter([a[0]], [a[1]], s=400, facecolors="none", edgecolors=[cmap(u / vmax)], linewidths=3)
                continue
            ax.plot([a[0] + off, b[0] + off], [a[1] + off, b[1] + off], color=cmap(u / vmax), lw=1 + 5 * u / vmax)
        for n, label in nodes.items():
            if (n[2] if len(n) == 3 else 0) == z:
                ax.scatter([n[0]], [n[1]], s=120, color="lightgrey", edgecolors="k", zorder=3)
                ax.annotate(label, (n[0], n[1]), xytext=(7, -7), textcoords="offset points", fontsize=6.5,
                            ha="left", va="top", zorder=4, linespacing=0.95,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
        ax.set_title(f"NoC link utilization{f' (tier {z})' if len(tiers) > 1 else ''}")
        ax.set_aspect("equal")
        ax.margins(0.18)
        ax.set_xlabel("x (router)")
        ax.set_ylabel("y (router)")
        ax.invert_yaxis()
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, vmax))
    fig.colorbar(sm, ax=axes[0].tolist(), label="utilization")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# columns shown in µs, µJ, µJ·µs and % (tables keep ps, pJ and pJ·s, which equals µJ·µs)
_UNITS = {"latency_ps": ("latency (µs)", 1e-6), "energy_pj": ("energy (µJ)", 1e-6),
          "edp_pj_s": ("EDP (µJ·µs)", 1.0), "edp": ("EDP (µJ·µs)", 1e-12), "accuracy": ("accuracy (%)", 100.0),
          "area_mm2": ("area (mm²)", 1.0)}


def _shown(col: str, values):
    name, scale = _UNITS.get(col, (col, 1.0))
    return name, values.astype(float) * scale


def _tag(r, label: str) -> str:
    """A point's annotation: a sweep point's axis values, else its label."""
    axes = [k for k in r.index if str(k).startswith("axis:")]
    if axes:   # a sweep point: what it varied (the strategy is its colour)
        return ", ".join(f"{str(k).rsplit('.', 1)[-1]}={r[k]}" for k in axes)
    return str(r[label])


def pareto(df: pd.DataFrame, x: str, y: str, label: str, front: pd.DataFrame, path: Path) -> Path:
    """Latency against energy, one panel per model (each with its own front), points coloured by
    strategy with a legend, the front's points annotated; log axes where values span a decade."""
    models = sorted(df["model"].dropna().unique()) if "model" in df else [None]
    n = len(models)
    cols = min(3, n)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(5.2 * cols, 4.4 * ((n + cols - 1) // cols)),
                             squeeze=False)
    by = "strategy" if "strategy" in df else None
    for ax, model in zip(axes.flat, models):
        d = df if model is None else df[df["model"] == model]
        f = front if model is None else front[front["model"] == model]
        xn, xv = _shown(x, d[x])
        yn, yv = _shown(y, d[y])
        for key in (sorted(d[by].unique()) if by else [None]):
            m = (d[by] == key) if by else slice(None)
            ax.scatter(xv[m], yv[m], s=22, alpha=0.75, color=_color(str(key)) if key else None,
                       label=str(key) if key else "points")
        _, fx = _shown(x, f[x])
        _, fy = _shown(y, f[y])
        ax.plot(fx, fy, "k.--", lw=1, label="Pareto front")
        for (_, r), px, py in zip(f.iterrows(), fx, fy):
            ax.annotate(_tag(r, label), (px, py), fontsize=6.5, xytext=(4, 3), textcoords="offset points")
        for axis, v in (("x", xv), ("y", yv)):
            if len(v) and v.min() > 0 and v.max() / v.min() > 10:
                getattr(ax, f"set_{axis}scale")("log")
        ax.set_xlabel(xn)
        ax.set_ylabel(yn)
        ax.set_title(str(model) if model is not None else "all points", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return _save(fig, path)


def bars(df: pd.DataFrame, label: str, columns: list[str], path: Path) -> Path:
    """One panel per column, in µs, µJ, µJ·µs or %, one colour per ``label`` value throughout."""
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.6), squeeze=False)
    for ax, col in zip(axes[0], columns):
        name, v = _shown(col, df[col])
        ax.bar(df[label].astype(str), v, color=[_color(str(x)) for x in df[label]])
        if len(v) and v.min() > 0 and v.max() / v.min() > 100:   # values spanning decades
            ax.set_yscale("log")
        ax.set_ylabel(name)
        ax.set_title(name, fontsize=10)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    return _save(fig, path)


def over_time(t_s: list[float], acc_pct: list[float], std_pct: list[float], baseline_pct: float, title: str,
              path: Path) -> Path:
    """Accuracy (%, with its std over seeds) against seconds since programming, log time axis,
    the exact float accuracy as a line."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.errorbar(t_s, acc_pct, yerr=std_pct, marker="o", capsize=3, color=_color("reram"), label="mapping")
    ax.axhline(baseline_pct, color="0.4", ls="--", lw=1, label=f"exact float {baseline_pct:.2f}%")
    ax.set_xscale("log")
    ticks = [(1, "1 s"), (3600, "1 h"), (86400, "1 day"), (2592000, "1 month"), (31536000, "1 year")]
    shown = [(t, s) for t, s in ticks if min(t_s) <= t <= max(t_s)]
    if shown:
        ax.set_xticks([t for t, _ in shown], [s for _, s in shown])
    ax.set_xlabel("time since programming")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def latency_load(rows: list[dict], path: Path, title: str, slo_ps: float | None = None) -> Path:
    """TTFT p50 and p99 (ms) against the throughput served (requests/s), one point per arrival
    rate of a ``prismsim serve`` run; ``slo_ps``: a TTFT target drawn across. Beside it, when the
    rows carry their ``timeline``, the server's utilization over time at each rate."""
    over_time = [r for r in rows if r.get("timeline", {}).get("t_ps")]
    fig, axes = plt.subplots(1, 2 if over_time else 1, figsize=(11 if over_time else 6, 4))
    ax = axes[0] if over_time else axes
    thr = [r["throughput_rps"] for r in rows]
    for key, style in (("ttft_p50_ps", "o-"), ("ttft_p99_ps", "s--")):
        ax.plot(thr, [r[key] / 1e9 for r in rows], style, label=key.split("_")[1])
    if slo_ps:
        ax.axhline(slo_ps / 1e9, color="grey", lw=0.8, label="target")
    ax.set_yscale("log")
    ax.set_xlabel("throughput (requests/s)")
    ax.set_ylabel("time to first token (ms)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    if over_time:
        ax = axes[1]
        for r in over_time:
            tl = r["timeline"]
            ax.plot([t / 1e9 for t in tl["t_ps"]], tl["utilization"], label=f"{r['rate']:,g} req/s")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("utilization")
        ax.set_ylim(0, 1.05)
        ax.set_title("utilization over time", fontsize=9)
        ax.legend(fontsize=8)
    return _save(fig, path)


def decode_steps(steps: list[dict], path: Path, title: str) -> Path:
    """Each decode step's latency (µs) against the tokens in its KV cache, the simulated steps
    marked (``prismsim decode``; the others are linear between them)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([s["context"] for s in steps], [s["latency_ps"] / 1e6 for s in steps], "-", lw=1, label="every step")
    sim = [s for s in steps if s["simulated"]]
    ax.plot([s["context"] for s in sim], [s["latency_ps"] / 1e6 for s in sim], "o", label="simulated")
    ax.set_xlabel("tokens in the KV cache")
    ax.set_ylabel("step latency (µs)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)
