"""Analysis of run outputs with pandas: events, utilization over time, link loads, comparisons."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .recorder import COLUMNS, TYPES

_DTYPES = {c: ("string" if t == "string" else t) for c, t in zip(COLUMNS, TYPES)}


def events_path(run_dir: str | Path) -> Path | None:
    d = Path(run_dir)
    for name in ("events.parquet", "events.csv"):
        if (d / name).exists():
            return d / name
    return None


def read_events(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole event table (CSV or Parquet) with the documented column types."""
    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path, columns=columns)
    else:
        df = pd.read_csv(path, usecols=columns, dtype={k: v for k, v in _DTYPES.items() if not columns or k in columns},
                         keep_default_na=False)
    return df.astype({k: v for k, v in _DTYPES.items() if k in df.columns})


def iter_events(path: str | Path, columns: list[str], chunk_rows: int = 1_000_000):
    """The event table in chunks, so memory stays bounded on huge traces."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(path, usecols=columns, chunksize=chunk_rows, keep_default_na=False,
                               dtype={k: v for k, v in _DTYPES.items() if k in columns})


def busy_integral(t0: np.ndarray, t1: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """F(e) = total busy time before each edge e of intervals [t0, t1): differences give busy time per bin."""
    s0, s1 = np.sort(t0), np.sort(t1)
    c0, c1 = np.concatenate([[0], np.cumsum(s0, dtype=np.float64)]), np.concatenate([[0], np.cumsum(s1, dtype=np.float64)])
    k0, k1 = np.searchsorted(s0, edges, side="left"), np.searchsorted(s1, edges, side="left")
    return (k0 * edges - c0[k0]) - (k1 * edges - c1[k1])


def utilization_over_time(path: str | Path, groups: dict[str, str], latency_ps: int, bins: int = 100) -> pd.DataFrame:
    """Busy fraction of each group of units (``groups``: unit -> group, e.g. its kind) per time bin,
    from the compute rows of an event table, streamed."""
    edges = np.linspace(0, max(latency_ps, 1), bins + 1)
    total: dict[str, np.ndarray] = {}
    sizes: dict[str, int] = {}
    for g in groups.values():
        sizes[g] = sizes.get(g, 0) + 1
    for chunk in iter_events(path, ["t_start_ps", "t_end_ps", "kind", "resource"]):
        busy = chunk[chunk["kind"] == "compute"]
        for unit, rows in busy.groupby("resource"):
            g = groups.get(str(unit))
            if g is None:
                continue
            f = busy_integral(rows["t_start_ps"].to_numpy(np.float64), rows["t_end_ps"].to_numpy(np.float64), edges)
            total[g] = total.get(g, 0) + f
    width = np.diff(edges)
    out = {g: np.diff(f) / width / sizes[g] for g, f in sorted(total.items())}
    return pd.DataFrame(out, index=pd.Index(edges[:-1], name="t_ps"))


def read_run_tables(run_dir: str | Path) -> dict:
    """summary.json and the per-unit, per-layer, per-link and critical-path tables of a run directory."""
    d = Path(run_dir)
    out = {"summary": json.loads((d / "summary.json").read_text())}
    for name in ("units", "layers", "links", "critical_path"):
        f = d / f"{name}.csv"
        out[name] = pd.read_csv(f, keep_default_na=False) if f.exists() else pd.DataFrame()
    return out


def compare(run_dirs: list[str | Path]) -> pd.DataFrame:
    """One row per run: its scalar results."""
    rows = []
    for d in run_dirs:
        s = json.loads((Path(d) / "summary.json").read_text())
        rows.append({"run": str(d), "model": s.get("model"), "arch": s.get("arch"), "strategy": s.get("strategy"),
                     "latency_ps": s["latency_ps"], "energy_pj": s["energy_pj"], "edp": s["latency_ps"] * s["energy_pj"],
                     **{f"energy_{k}_pj": v for k, v in s["energy_breakdown_pj"].items()}})
    return pd.DataFrame(rows)


def pareto_front(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Rows not dominated in (x, y), both minimised, sorted by x."""
    d = df.sort_values([x, y])
    keep, best = [], float("inf")
    for i, v in zip(d.index, d[y]):
        if v < best:
            keep.append(i)
            best = v
    return d.loc[keep]
