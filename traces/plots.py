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


def _color(name: str):
    return plt.cm.tab20(zlib.crc32(name.encode()) % 20)


def gantt(spans: pd.DataFrame, path: Path, title: str = "per-unit timeline",
          critical: pd.DataFrame | None = None) -> Path:
    """``spans``: resource, layer, t_start_ps, t_end_ps (one bar each; coloured by layer).
    ``critical``: resource, t_start_ps, t_end_ps of the critical path's jobs, outlined in black."""
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
    ax.set_yticks(range(len(units)), units, fontsize=7)
    ax.set_xlabel("time (us)")
    ax.set_title(title)
    ax.invert_yaxis()
    return _save(fig, path)


def utilization(util: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for col in util.columns:
        ax.plot(util.index / 1e6, 100 * util[col], label=col)
    ax.set_xlabel("time (us)")
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
        ax.set_ylabel("energy (uJ)")
        ax.set_title(f"energy {title}")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    return _save(fig, path)


def layer_bars(layers: pd.DataFrame, path: Path, top: int = 40) -> Path:
    d = layers.assign(latency_us=(layers["end_ps"] - layers["start_ps"]) / 1e6).nlargest(top, "latency_us")
    fig, ax = plt.subplots(figsize=(10, 0.22 * len(d) + 1.5))
    ax.barh(d["layer"], d["latency_us"], color=[_color(str(x)) for x in d["layer"]])
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("layer time, start to end (us)")
    ax.set_title(f"per-layer latency (top {len(d)})")
    return _save(fig, path)


def stall_bars(stalls: dict[str, float], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 3))
    keys = list(stalls) or ["none"]
    ax.bar(keys, [stalls.get(k, 0) / 1e6 for k in keys], color="tab:red")
    ax.set_ylabel("stall time, summed (us)")
    ax.set_title("stalls by cause")
    return _save(fig, path)


def noc_heatmap(links: dict[tuple, float], nodes: dict[tuple, str], path: Path) -> Path:
    """Links (a, b) -> utilization drawn between router coordinates; one panel per tier (z)."""
    tiers = sorted({n[2] if len(n) == 3 else 0 for n in nodes} | {a[2] if len(a) == 3 else 0 for a, _ in links})
    fig, axes = plt.subplots(1, len(tiers), figsize=(4.5 * len(tiers), 4.5), squeeze=False)
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
                ax.annotate(label, (n[0], n[1]), fontsize=6, ha="center", va="center", zorder=4)
        ax.set_title(f"NoC link utilization{f' (tier {z})' if len(tiers) > 1 else ''}")
        ax.set_aspect("equal")
        ax.invert_yaxis()
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, vmax))
    fig.colorbar(sm, ax=axes[0].tolist(), label="utilization")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pareto(df: pd.DataFrame, x: str, y: str, label: str, front: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(df[x], df[y], s=18, alpha=0.6, label="points")
    ax.plot(front[x], front[y], "r.-", label="Pareto front")
    if label in df:
        for _, r in front.iterrows():
            ax.annotate(str(r[label]), (r[x], r[y]), fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def bars(df: pd.DataFrame, label: str, columns: list[str], path: Path) -> Path:
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.6), squeeze=False)
    for ax, col in zip(axes[0], columns):
        ax.bar(df[label].astype(str), df[col], color=[_color(str(v)) for v in df[label]])
        ax.set_title(col)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    return _save(fig, path)


