"""Run directories that appear whole or not at all, and the tables written into them."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterator

from prismsim.hw.errors import PrismError
from prismsim.mapper.result import Result


def default_run_dir(suffix: str = "") -> Path:
    base = Path("runs") / (time.strftime("%Y%m%d-%H%M%S") + suffix)
    out, i = base, 1
    while out.exists():
        out = base.with_name(f"{base.name}-{i}")
        i += 1
    return out


def check_new(path: Path, what: str = "--out") -> None:
    """Refuse to touch anything already there: a user's earlier results are never overwritten."""
    if path.exists():
        raise PrismError(f"{what}: {str(path)!r} already exists; choose a new path (earlier results are kept)")


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


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary directory beside ``target``; rename it to ``target`` on success,
    delete it on any error, so no half-written run directory is ever left."""
    check_new(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    make_dirs(target, target.parent, tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write(target: Path, text: str) -> None:
    """Write a new file ``target`` whole or not at all."""
    check_new(target)
    make_dirs(target, target.parent)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        tmp.write_text(text)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PrismError(f"--out: cannot write {str(target)!r} ({err.strerror})") from None
    os.replace(tmp, target)


def write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _num(x):
    return format(x, ".9g") if isinstance(x, float) else x


def write_result(d: Path, res: Result, extra: dict | None = None) -> None:
    """summary.json, units.csv, layers.csv, links.csv."""
    summary = res.summary()
    summary.update(extra or {})
    (d / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_csv(d / "units.csv", ["unit", "kind", "busy_ps", "utilization", "jobs", "macs", "energy_pj"],
              ([u, v["kind"], v["busy_ps"], _num(v["utilization"]), v["jobs"], v["macs"], _num(v["energy_pj"])]
               for u, v in res.per_unit.items()))
    write_csv(d / "layers.csv", ["layer", "start_ps", "end_ps", "macs", "energy_pj", "jobs", "units"],
              ([k, v["start_ps"], v["end_ps"], v["macs"], _num(v["energy_pj"]), v["jobs"], v["units"]]
               for k, v in res.per_layer.items()))
    write_csv(d / "links.csv", ["link", "utilization"],
              ([k, _num(v)] for k, v in res.link_utilization.items()))
