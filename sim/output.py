"""Run directories that appear whole or not at all, and the tables written into them."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from prismsim.hw.errors import PrismError, shown
from prismsim.hw.spec import Arch, arch_yaml
from prismsim.mapper.colocate import per_model
from prismsim.mapper.critical import COLUMNS as PATH_COLUMNS, breakdown, critical_path, latency_parts, path_rows
from prismsim.mapper.mapping import Mapping
from prismsim.mapper.plan import Plan
from prismsim.mapper.result import Result

if TYPE_CHECKING:
    import pandas as pd


_RESERVED: set[Path] = set()   # default run directories this process claimed (empty until renamed onto)


def default_run_dir(suffix: str = "") -> Path:
    """``runs/<timestamp><suffix>``, or with ``-1``, ``-2``, ... if taken. The name is claimed at
    once (an empty directory, created atomically), so runs started in the same second never
    collide; a claimed name left empty is removed at exit."""
    base = Path("runs") / (time.strftime("%Y%m%d-%H%M%S") + suffix)
    for i in range(10_000):
        out = base if i == 0 else base.with_name(f"{base.name}-{i}")
        try:
            out.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError:
            return out   # the write itself will say why
        if not _RESERVED:
            import atexit
            atexit.register(_release_all)
        _RESERVED.add(out.resolve())
        return out
    raise PrismError(f"--out: no free name beside {str(base)!r}")


def _release(path: Path) -> None:
    """Drop a claimed default directory that is still empty (nothing was written into it)."""
    key = path.resolve()
    if key in _RESERVED:
        _RESERVED.discard(key)
        with contextlib.suppress(OSError):
            path.rmdir()


def _release_all() -> None:
    for p in list(_RESERVED):
        _release(p)


NAME_MAX = 255   # bytes in one path component on the usual file systems


def check_new(path: Path, what: str = "--out") -> None:
    """Refuse to touch anything already there: a user's earlier results are never overwritten
    (a default run directory this process claimed, still empty, is its own). A name too long for
    the file system (with room for the hidden temporary name written first) is refused too."""
    room = len(tmp_beside(path).name.encode()) - len(path.name.encode())
    if len(path.name.encode()) + room > NAME_MAX:
        raise PrismError(f"{what}: the name {shown(path.name)} is {len(path.name.encode())} bytes; at most "
                         f"{NAME_MAX - room} fit beside the temporary name written first")
    if path.exists() and not (path.resolve() in _RESERVED and path.is_dir() and not any(path.iterdir())):
        raise PrismError(f"{what}: {str(path)!r} already exists; choose a new path (earlier results are kept)")


TMP_MARK = ".tmp-"


def tmp_beside(target: Path) -> Path:
    """A hidden temporary name beside ``target`` for writing it whole before renaming; it keeps
    the suffix, from which matplotlib and pandas pick the format."""
    return target.with_name(f".{target.stem}{TMP_MARK}{os.getpid()}{target.suffix}")


def clean_stale(folder: Path) -> None:
    """Remove hidden temporary outputs in ``folder`` left by processes that no longer run (a
    ``kill -9`` or a power cut mid-write)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for p in entries:
        name = p.name
        if not name.startswith(".") or TMP_MARK not in name:
            continue
        pid = name.rsplit(TMP_MARK, 1)[1].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one of another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def make_dirs(target: Path, *dirs: Path, what: str = "--out") -> None:
    """Create ``dirs`` (as ``mkdir -p``) for writing ``target``; if the machine refuses, a
    PrismError naming ``what`` and ``target``."""
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            file = next((p for p in (d, *d.parents) if p.exists() and not p.is_dir()), None)
            why = f"{str(file)!r} is a file" if file is not None else err.strerror
            raise PrismError(f"{what}: cannot create {str(target)!r} ({why})") from None


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is, so partial output is removed on the way out."""


STOP = threading.Event()   # set by the signal handler: a Terminated swallowed on the way (raised
                           # inside a finalizer, say) still keeps a run from being committed


def check_stop() -> None:
    """Raise Terminated if a termination signal came (even if its first raise was lost)."""
    if STOP.is_set():
        raise Terminated


@contextlib.contextmanager
def atomic_dir(target: Path, what: str = "--out") -> Iterator[Path]:
    """Yield a hidden temporary directory beside ``target``; rename it to ``target`` on success,
    delete it on any error, so no half-written run directory is ever left. Errors name ``what``."""
    check_new(target, what)
    tmp = tmp_beside(target)
    clean_stale(target.parent)
    shutil.rmtree(tmp, ignore_errors=True)
    make_dirs(target, target.parent, tmp, what=what)
    try:
        yield tmp
        check_stop()
        os.replace(tmp, target)
        _RESERVED.discard(target.resolve())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _release(target)
        raise


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target`` to write; it becomes ``target`` when the
    block ends without error and is deleted otherwise, so ``target`` appears whole or not at all."""
    tmp = tmp_beside(target)
    try:
        yield tmp
        check_stop()
        try:
            os.replace(tmp, target)
        except OSError as err:   # name the user's file, not the hidden temporary one
            raise PrismError(f"--out: cannot write {str(target)!r} ({err.strerror or err})") from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(target: Path, text: str) -> None:
    """Write a new file ``target`` whole or not at all."""
    check_new(target)
    make_dirs(target, target.parent)
    with atomic_file(target) as tmp:
        try:
            tmp.write_text(text)
        except OSError as err:   # the folder refuses: name the user's file, not the temporary one
            raise PrismError(f"--out: cannot write {str(target)!r} ({err.strerror or err})") from None


def write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def fmt_ps(ps: int) -> str:
    """A time in ps as ``1,234.567 us`` (``ns`` below a microsecond)."""
    return f"{ps / 1e6:,.3f} us" if ps >= 1e6 else f"{ps / 1e3:,.3f} ns"


def fmt_bytes(n: float) -> str:
    """Bytes in the largest binary unit that keeps a number >= 1 (B, KiB, MiB, GiB, TiB)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:,.4g} {unit}"
        n /= 1024
    return f"{n:,.4g} TiB"


def tops(macs: int, latency_ps: int, energy_pj: float) -> tuple[float, float]:
    """(TOPS, TOPS/W) at two operations per MAC: operations per ps are Tops/s, per pJ Tops/J."""
    return (2 * macs / latency_ps if latency_ps else 0.0, 2 * macs / energy_pj if energy_pj else 0.0)


def edp_uj_us(latency_ps: float, energy_pj: float) -> float:
    """Energy-delay product in µJ·µs, the one EDP unit shown (tables keep edp = ps x pJ)."""
    return latency_ps * 1e-6 * energy_pj * 1e-6


def tops_per_mm2(macs: int, latency_ps: int, area_mm2: float) -> float:
    """Achieved TOPS over the chip's area."""
    return tops(macs, latency_ps, 0.0)[0] / area_mm2 if area_mm2 else 0.0


def critical_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A results table's critical-path parts (``critical:PART``, ps; sweeps, compare) side by side
    at the end, whole numbers, 0 where a row that ran had no such part, empty where it failed."""
    crit = sorted(c for c in df.columns if c.startswith("critical:"))
    if not crit:
        return df
    ran = df["error"].isna() | (df["error"] == "")
    df = df[[c for c in df.columns if c not in crit] + crit].copy()
    for c in crit:
        df[c] = df[c].where(~ran, df[c].fillna(0)).astype("Int64")
    return df


def _num(x):
    return format(x, ".9g") if isinstance(x, float) else x


def write_result(d: Path, res: Result, extra: dict | None = None) -> None:
    """summary.json, units.csv, layers.csv, links.csv."""
    summary = res.summary()
    summary.update(extra or {})
    (d / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_csv(d / "units.csv", ["unit", "kind", "busy_ps", "utilization", "jobs", "macs", "energy_pj", "area_mm2"],
              ([u, v["kind"], v["busy_ps"], _num(v["utilization"]), v["jobs"], v["macs"], _num(v["energy_pj"]),
                _num(v.get("area_mm2", 0.0))] for u, v in res.per_unit.items()))
    write_csv(d / "layers.csv", ["layer", "start_ps", "end_ps", "macs", "energy_pj", "jobs", "units"],
              ([k, v["start_ps"], v["end_ps"], v["macs"], _num(v["energy_pj"]), v["jobs"], v["units"]]
               for k, v in res.per_layer.items()))
    write_csv(d / "links.csv", ["link", "utilization"],
              ([k, _num(v)] for k, v in res.link_utilization.items()))


def _no_path(err: AssertionError) -> None:
    print(f"prismsim: warning: no critical path for this run ({err}); please report it", file=sys.stderr)


def critical_parts(plan: Plan, times, latency_ps: int, unit_prev: list[int] | None = None,
                   ideal_noc: bool = False) -> dict[str, int]:
    """``mapper.critical.latency_parts``, or ``{}`` with a warning should the walk find the
    timeline inconsistent (a bug): the run's results are kept either way."""
    try:
        return latency_parts(plan, times, latency_ps, unit_prev, ideal_noc)
    except AssertionError as err:
        _no_path(err)
        return {}


def critical(plan: Plan, tl, ideal_noc: bool = False) -> tuple[list[tuple], dict[str, int]]:
    """A simulated run's critical path (``mapper.critical``): its rows for ``critical_path.csv``
    and the time on it by what filled it (ps; the parts add up to the latency). Should the walk
    find the timeline inconsistent (a bug), a warning on stderr and no path: the run itself is
    kept."""
    try:
        steps = critical_path(plan, tl.times, tl.unit_prev, ideal_noc)
    except AssertionError as err:
        _no_path(err)
        return [], {}
    return path_rows(plan, steps), breakdown(plan, steps)


def model_file(tag: str) -> str:
    """A co-located model's tag as a file name: characters other than letters, digits and ``.#-``
    become ``_``."""
    return re.sub(r"[^A-Za-z0-9.#-]", "_", tag)


def simulate_to_dir(out: Path, arch: Arch, mapping: Mapping, plan: Plan, *, trace: str = "events",
                    trace_format: str = "csv", ideal_noc: bool = False, seed: int = 0, noc: str = "router",
                    perfetto: Path | None = None, progress: bool = False):
    """Simulate ``plan`` into the new run directory ``out`` (events, summary, tables, mapping and
    arch), whole or not at all; ``perfetto`` also writes a trace-event JSON file there. Returns
    the Result, the Timeline and the critical path's breakdown (``critical``)."""
    from prismsim.traces import CsvRecorder, ParquetRecorder, SplitRecorder, TeeRecorder
    from prismsim.traces.perfetto import PerfettoRecorder

    from .engine import simulate_plan

    if perfetto is not None:
        if perfetto.suffix != ".json":
            raise PrismError(f"--perfetto: expected a .json file name (got {str(perfetto)!r})")
        check_new(perfetto, "--perfetto")
        make_dirs(perfetto, perfetto.parent, what="--perfetto")
    if trace_format not in ("csv", "parquet"):
        raise PrismError(f"--trace-format: must be csv or parquet (got {trace_format!r})")
    if trace_format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise PrismError("--trace-format parquet needs pyarrow: pip install 'prismsim[parquet]'") from None
    # the perfetto file appears after the run directory, both or neither
    with atomic_file(perfetto) if perfetto else contextlib.nullcontext() as pf_tmp, atomic_dir(out) as d:
        kind = ParquetRecorder if trace_format == "parquet" else CsvRecorder
        events = kind(d / f"events.{trace_format}")
        pf = PerfettoRecorder(pf_tmp) if pf_tmp else None
        models = sorted(set(plan.workload.parts.values())) if trace != "none" else []
        split = None
        if models:   # co-located models: a trace per model beside the whole run's
            (d / "models").mkdir()
            split = SplitRecorder({m: kind(d / "models" / f"{model_file(m)}.events.{trace_format}") for m in models})
        rec = TeeRecorder(events, split, pf)
        try:
            res, tl = simulate_plan(plan, ideal_noc=ideal_noc, noc=noc, recorder=rec, trace=trace, counters=pf is not None,
                                    progress=progress)
            path, crit = critical(plan, tl, ideal_noc)
            if pf is not None:
                pf.critical_path(path)
        finally:
            rec.close()
        write_result(d, res, {"seed": seed, "trace": trace, "trace_rows": events.rows,
                              "schedule": mapping.schedule.kind, "chunks": mapping.schedule.chunks,
                              "program_weights": mapping.schedule.program_weights, "ideal_noc": ideal_noc,
                              "noc_model": noc,
                              "critical_path_ps": crit,
                              **({"models": per_model(plan.workload, res.per_layer)} if plan.workload.parts else {})})
        write_csv(d / "critical_path.csv", list(PATH_COLUMNS), path)
        (d / "mapping.yaml").write_text(mapping.to_yaml())
        (d / "arch.yaml").write_text(arch_yaml(arch))
    return res, tl, crit
