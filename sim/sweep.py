"""Design-space sweeps: arch parameters x models x strategies, on a process pool or a Dask cluster
(request streams too: a ``serve`` table, ``sim/sweep_serve.py``).

A sweep file (YAML)::

    base: hybrid                      # preset or arch file
    models: ["pythia-70m?seq_len=64", resnet18]
    strategies: [greedy, equal]
    evaluator: analytical             # or des (event-driven)
    sampling: grid                    # or random, with samples: N and seed: S
    axes:                             # dotted paths into the complete arch YAML (prismsim list --arch)
      noc.link_width_bits: [128, 256, 512]
      units.1.params.adc_bits: [6, 8]

Every point is validated before any work starts. Points run in batches through a
``concurrent.futures.Executor``: a local process pool, or ``distributed.Client(address)
.get_executor()`` for a Dask cluster. Results go to an append-only SQLite store in the sweep
directory, one transaction per finished batch and keyed by a hash of the point, so an interrupted
sweep (even kill -9) loses at most the batches in flight and re-running it skips finished points;
a failing point is stored with its error. ``results.csv`` (one row per point) is rewritten from the
store at the end of every run.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import sys
import sqlite3
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from prismsim.hw.errors import PrismError, load_yaml, read_text, shown
from prismsim.hw.spec import Arch, load_arch, parse_arch
from prismsim.mapper.load import load_model

from .output import atomic_file, critical_columns, critical_parts, make_dirs

BATCH = int(os.environ.get("PRISMSIM_SWEEP_BATCH", "50"))  # points per task: ~50 amortizes task overhead
OBJECTIVES = ("latency_ps", "energy_pj", "edp")


def _index(node: list, key: str) -> int:
    """A list position from ``key``: a number, or the ``name`` of an entry (``units.rr`` is the
    unit group named rr)."""
    if key.isdigit():
        return int(key)
    hit = next((i for i, x in enumerate(node) if isinstance(x, dict) and x.get("name") == key), None)
    if hit is None:
        raise KeyError(key)
    return hit


def _child(node: Any, key: str) -> Any:
    """``node[key]``; a list takes ``key`` as an index or an entry's name."""
    return node[_index(node, key)] if isinstance(node, list) else node[key]


def _put(node: Any, key: str, value: Any) -> None:
    """``node[key] = value``; a list takes ``key`` as an index or an entry's name. Setting a unit
    group's ``count`` drops positions given for another count (the units are laid out in order)."""
    if isinstance(node, list):
        node[_index(node, key)] = value
    else:
        node[key] = value
        if key == "count" and isinstance(node.get("positions"), list) and len(node["positions"]) != value:
            node["positions"] = None


def _with(doc: dict, values: dict[str, Any]) -> dict:
    """A copy of ``doc`` with the value at each dotted path (``units.0.params.tiles``) replaced.
    Only the tables and lists along the paths are copied; ``doc`` is left as it was."""
    out = copy.copy(doc)
    fresh = {id(out)}   # containers this copy owns
    for path, value in values.items():
        *parents, last = str(path).split(".")
        node = out
        for k in parents:
            child = _child(node, k)
            if id(child) not in fresh:
                child = copy.copy(child)
                fresh.add(id(child))
                _put(node, k, child)
            node = child
        _put(node, last, value)
    return out


def _point_id(base_json: str, values: dict, model: str, strategy: str, evaluator: str) -> str:
    """A point's id: sha256 of its JSON (base arch, axes, model, strategy, evaluator; keys sorted),
    with the base's JSON made once per sweep rather than once per point."""
    doc = (f'{{"axes": {json.dumps(values, sort_keys=True)}, "base": {base_json}, "evaluator": '
           f'{json.dumps(evaluator)}, "model": {json.dumps(model)}, "strategy": {json.dumps(strategy)}}}')
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


def _has(doc: dict, path: str) -> bool:
    """Whether a dotted ``path`` names a value in ``doc``."""
    node = doc
    for k in path.split("."):
        try:
            node = _child(node, k)
        except (KeyError, IndexError, ValueError, TypeError):
            return False
    return True


def load_sweep(path: str | Path, progress: bool = False) -> dict:
    """Parse and validate a sweep file; return {base, points, evaluator}. Errors name the field.
    ``progress``: a bar on stderr while the points are checked, if that takes over 2 s."""
    from .progress import Stage

    p = Path(path)
    doc = load_yaml(read_text(p, "sweep"), str(p))
    if not isinstance(doc, dict):
        raise PrismError(f"{p}: a sweep must be a YAML mapping")
    known = {"base", "models", "strategies", "evaluator", "sampling", "samples", "seed", "axes", "serve"}
    for k in doc:
        if k not in known:
            raise PrismError(f"{p}: field {k!r} is not a sweep setting (known: {', '.join(sorted(known))})")
    base = load_arch(str(doc.get("base", "hybrid")))
    base_doc = base.model_dump(mode="json")
    models, strategies = doc.get("models", ["pythia-70m"]), doc.get("strategies", ["greedy"])
    for field, given in (("models", models), ("strategies", strategies)):
        if not isinstance(given, list) or not given:  # an empty list ran the default silently
            raise PrismError(f"{p}: field {field}: expected a non-empty list (got {shown(given)})")
        bad = next((x for x in given if not isinstance(x, str)), None)
        if bad is not None:
            raise PrismError(f"{p}: field {field}: expected names (text), got {shown(bad)}")
    evaluator = doc.get("evaluator", "analytical")
    if evaluator not in ("analytical", "des"):
        raise PrismError(f"{p}: field evaluator must be analytical or des (got {shown(evaluator)})")
    from prismsim.mapper.strategies import STRATEGIES
    for s in strategies:
        if s not in STRATEGIES:
            raise PrismError(f"{p}: field strategies: unknown strategy {shown(s)}")
    for m in models:
        try:
            with Stage(f"loading {m}", progress):
                load_model(str(m))
        except PrismError as err:
            raise PrismError(f"{p}: field models: {str(err).removeprefix('--model: ')}") from None
    axes = doc.get("axes") or {}
    if not isinstance(axes, dict):
        raise PrismError(f"{p}: field axes must map dotted paths to lists of values")
    serve = None
    if "serve" in doc:   # a serving sweep: each point a request stream (sim/sweep_serve.py)
        from . import sweep_serve
        serve = sweep_serve.check_table(doc["serve"], axes, models, str(p))
    for path, values in axes.items():
        if serve is not None and str(path).startswith("serve."):
            if not isinstance(values, list) or not values:
                raise PrismError(f"{p}: field axes.{path}: expected a non-empty list of values (got {shown(values)})")
            for v in values:
                sweep_serve.check(str(path).removeprefix("serve."), v, f"{p}: axes.{path}")
            continue
        if not _has(base_doc, str(path)):
            raise PrismError(f"{p}: field axes: {path!r} is not a field of arch {base.name} (see prismsim list --arch)")
        if not isinstance(values, list) or not values:
            raise PrismError(f"{p}: field axes.{path}: expected a non-empty list of values (got {shown(values)})")
        for v in values:  # every value must make a valid arch on its own
            parse_arch(_with(base_doc, {path: v}), f"{p}: axes.{path} = {v!r}")
    names = list(axes)
    # the grid: axis values (last axis fastest, as itertools.product), then model, then strategy
    radix = [len(axes[n]) for n in names] + [len(models), len(strategies)]
    size = math.prod(radix)

    def grid_point(i: int) -> tuple[dict, str, str]:
        digits = []
        for r in reversed(radix):
            i, d = divmod(i, r)
            digits.append(d)
        *idx, m, s = reversed(digits)
        return {n: axes[n][k] for n, k in zip(names, idx)}, str(models[m]), strategies[s]

    sampling = doc.get("sampling", "grid")
    if sampling == "random":
        n = doc.get("samples")
        if not isinstance(n, int) or n < 1:
            raise PrismError(f"{p}: field samples must be a whole number >= 1 for random sampling (got {shown(n)})")
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise PrismError(f"{p}: field seed must be a whole number >= 0 (got {shown(seed)})")
        rng = random.Random(seed)
        # indices, not the points: a sample of a grid too big to list (same picks as sampling the list)
        grid = [grid_point(i) for i in rng.sample(range(size), min(n, size))]
    elif sampling == "grid":
        grid = [grid_point(i) for i in range(size)]
    else:
        raise PrismError(f"{p}: field sampling must be grid or random (got {shown(sampling)})")
    from tqdm import tqdm

    base_json = json.dumps(base_doc, sort_keys=True)
    points, clash = [], {}
    kind = evaluator if serve is None else "serve " + json.dumps(serve, sort_keys=True)   # in the point's id
    for values, model, strategy in tqdm(grid, desc="checking points", unit="point", delay=2, file=sys.stderr,
                                        disable=not progress):
        pt = {"point_id": _point_id(base_json, values, model, strategy, kind), "axes": values,
              "model": model, "strategy": strategy}
        arch_values = {k: v for k, v in values.items() if serve is None or not k.startswith("serve.")}
        if serve is not None:
            pt["serve"] = {**serve, **{k.removeprefix("serve."): v for k, v in values.items() if k.startswith("serve.")}}
        combo = json.dumps(arch_values, sort_keys=True)
        if combo not in clash:  # the full arch: values valid alone can still clash together
            try:
                parse_arch(_with(base_doc, arch_values), "arch")
                clash[combo] = ""
            except PrismError as err:
                clash[combo] = str(err)
        if clash[combo]:  # recorded as a failed point (run_batch), the others still run
            pt["error"] = clash[combo]
        points.append(pt)
    if points and all("error" in pt for pt in points):
        raise PrismError(f"{p}: no point makes a valid arch; the first, {points[0]['axes']}: {points[0]['error']}")
    return {"base": base_doc, "points": points, "evaluator": evaluator, "axes": names}


def _row(pt: dict, error: str | None = None) -> dict:
    """A point's row: its id, model, strategy and axes; with ``error``, the row of a point that
    failed (no figures)."""
    row = {"point_id": pt["point_id"], "model": pt["model"], "strategy": pt["strategy"],
           **{f"axis:{k}": v for k, v in pt["axes"].items()}}
    if error is not None:
        row.update(latency_ps=None, energy_pj=None, edp=None, macs=None, area_mm2=None, error=error)
    return row


def run_batch(base_doc: dict, batch: list[dict], evaluator: str) -> list[dict]:
    """Evaluate points (in a worker): one row each, with the error if it failed."""
    from prismsim.mapper.analytical import analytical_times, analyze_plan
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping

    from .engine import simulate_plan

    models: dict[str, Any] = {}
    served: dict = {}    # service times per (chip, model, strategy, shape) in this batch
    rows = []
    for pt in batch:
        t0 = time.perf_counter()
        row = _row(pt)
        try:
            if pt.get("error"):  # its axis values clash (found by load_sweep)
                raise PrismError(pt["error"])
            arch = Arch.model_validate(_with(base_doc, {k: v for k, v in pt["axes"].items()
                                                        if "serve" not in pt or not k.startswith("serve.")}))
            row["arch"] = arch.label
            if "serve" in pt:   # a request stream (sim/sweep_serve.py)
                from .sweep_serve import evaluate
                row.update(evaluate(arch, pt["model"], pt["strategy"], pt["serve"], served), error="")
                row["wall_s"] = round(time.perf_counter() - t0, 4)
                rows.append(row)
                continue
            wl = models.get(pt["model"]) or models.setdefault(pt["model"], load_model(pt["model"]))
            plan = build_plan(arch, wl, make_mapping(pt["strategy"], wl, arch))
            if evaluator == "des":
                res, tl = simulate_plan(plan, trace="none")
                parts = critical_parts(plan, tl.times, res.latency_ps, tl.unit_prev)
            else:
                times = analytical_times(plan)
                res = analyze_plan(plan, times=times)
                parts = critical_parts(plan, times, res.latency_ps)
            row.update(latency_ps=res.latency_ps, energy_pj=res.energy_pj, edp=res.latency_ps * res.energy_pj,
                       macs=res.macs, area_mm2=res.area_mm2, error="", **{f"critical:{k}": v for k, v in parts.items()})
        except Exception as err:  # a failing point is recorded and the sweep goes on
            row.update(_row(pt, f"{type(err).__name__}: {err}".splitlines()[0][:300]))   # arch kept if known
        row["wall_s"] = round(time.perf_counter() - t0, 4)
        rows.append(row)
    return rows


class Store:
    """Append-only results store (SQLite, WAL): one JSON row per point, committed per batch."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS results (point_id TEXT PRIMARY KEY, row TEXT NOT NULL)")
        self.db.commit()

    def done(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT point_id FROM results")}

    def add(self, rows: list[dict]) -> None:
        self._add_checked(rows, Store._insert)

    def _insert(self, rows: list[dict]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO results VALUES (?, ?)",
                                [(r["point_id"], json.dumps(r, sort_keys=True)) for r in rows])

    def _add_checked(self, rows: list[dict], insert) -> None:
        try:
            insert(self, rows)
        except sqlite3.OperationalError as err:   # disk full, read-only: what was committed stays
            raise PrismError(f"sweep: cannot store results ({err}); the points stored so far are kept, "
                             "re-run the same command to resume") from None

    def frame(self) -> pd.DataFrame:
        rows = [json.loads(r[0]) for r in self.db.execute("SELECT row FROM results ORDER BY point_id")]
        return pd.DataFrame(rows)

    def close(self) -> None:
        self.db.close()


def _worker_init() -> None:
    """Sweep workers leave Ctrl-C to the parent (which stores what finished) and die with it."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        except OSError:
            pass


def make_executor(workers: int, scheduler: str | None) -> tuple[Executor, Any]:
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise PrismError("--scheduler needs Dask: pip install 'prismsim[cluster]'") from None
        try:
            client = Client(scheduler, timeout=10)
        except OSError as err:
            raise PrismError(f"--scheduler: cannot reach {scheduler!r} ({err})") from None
        return client.get_executor(), client
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init), None


def batches_of(todo: list[dict], workers: int) -> list[list[dict]]:
    """Batches of at most ``BATCH`` points, small enough that every worker gets several."""
    size = max(1, min(BATCH, math.ceil(len(todo) / (4 * max(1, workers)))))
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def died(point: dict) -> dict:
    return {**_row(point, "its worker died running it alone (killed, or out of memory)"), "wall_s": None}


def _lock(out: Path):
    """An exclusive lock on the sweep directory (released when the returned file is closed); a
    second sweep on it waits, saying so."""
    f = open(out / ".lock", "a")
    try:
        import fcntl
    except ImportError:   # not POSIX: no lock
        return f
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"prismsim: another sweep is writing to {out}; waiting for it to finish", file=sys.stderr)
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _round(spec: dict, tasks: list[list[dict]], workers: int, scheduler: str | None, store: "Store", bar) -> list:
    """Run ``tasks`` on one executor, storing each as it finishes; the tasks lost to a worker's
    death (which breaks every task in flight) are returned."""
    ex, client = make_executor(workers, scheduler)
    lost = []
    futures: dict = {}
    try:
        futures = {ex.submit(run_batch, spec["base"], b, spec["evaluator"]): b for b in tasks}
        for f in as_completed(futures):
            try:
                rows = f.result()
            except BrokenProcessPool:
                lost.append(futures[f])
                continue
            store.add(rows)
            if bar is not None:
                bar.update(len(rows))
    except BaseException:   # Ctrl-C, SIGTERM: drop what has not started, keep what is running
        running = [f for f in futures if not f.cancel()]
        for f in running:
            try:
                store.add(f.result())
            except BaseException:   # a second Ctrl-C, or a broken pool: stop waiting
                break
        raise
    finally:
        try:
            ex.shutdown(wait=True, cancel_futures=True)
        except TypeError:  # Dask's ClientExecutor has no cancel_futures
            ex.shutdown(wait=True)
        if client is not None:
            client.close()
    return lost


def run_sweep(spec: dict, out: Path, workers: int, scheduler: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Every point not yet in the store, in batches over ``workers`` processes (or a Dask cluster).
    A worker's death (``kill -9``, the OOM killer) breaks the batches in flight: they are run again
    point by point on fresh workers, and a point whose worker dies again is run alone; one that
    kills its worker alone is recorded as failed. Ctrl-C keeps every batch already stored and
    the batches running. A second sweep on the same ``out`` waits for the first, then finds its
    points done."""
    make_dirs(out, out)
    lock = _lock(out)
    store = Store(out / "results.sqlite")
    try:
        todo = [p for p in spec["points"] if p["point_id"] not in store.done()]
        bar = None
        if todo and progress:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), unit="point", desc="sweep", smoothing=0.1)
        try:
            lost = _round(spec, batches_of(todo, workers), workers, scheduler, store, bar) if todo else []
            if lost:
                points = [p for b in lost for p in b]
                print(f"prismsim: warning: a sweep worker died (killed, or out of memory); running its "
                      f"{len(points)} point(s) again on fresh workers", file=sys.stderr)
                lost = _round(spec, [[p] for p in points], workers, scheduler, store, bar)
            for (p,) in lost:   # died twice: alone now, so a death names its point
                if _round(spec, [[p]], 1, None, store, bar):
                    store.add([died(p)])
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        df = store.frame()
    finally:
        store.close()
        lock.close()
    wanted = {p["point_id"] for p in spec["points"]}
    df = critical_columns(df[df["point_id"].isin(wanted)].sort_values("point_id").reset_index(drop=True))
    with atomic_file(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)
    (out / "sweep.yaml").write_text(yaml.safe_dump({"points": len(wanted), "evaluator": spec["evaluator"],
                                                    "axes": spec["axes"]}, sort_keys=False))
    return df


def summarize(df: pd.DataFrame) -> dict:
    """Per model: the best point for each objective and the latency-energy Pareto front."""
    from prismsim.traces.analysis import pareto_front

    ok = df[(df["error"] == "") | df["error"].isna()] if "error" in df else df
    out: dict[str, Any] = {"points": int(len(df)), "failed": int(len(df) - len(ok)), "models": {}}
    if out["failed"]:  # the commonest reason, with how many points it stopped
        reasons = df.loc[~df.index.isin(ok.index), "error"].value_counts()
        out["top_error"] = {"error": str(reasons.index[0]), "points": int(reasons.iloc[0])}
    for model, d in ok.groupby("model"):
        d = d.astype({"latency_ps": float, "energy_pj": float, "edp": float})
        entry = {f"best_{obj}": {k: (v.item() if hasattr(v, "item") else v) for k, v in d.loc[d[obj].idxmin()].items()}
                 for obj in OBJECTIVES}
        entry["pareto"] = pareto_front(d, "latency_ps", "energy_pj")["point_id"].tolist()
        out["models"][model] = entry
    return out
