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


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary directory beside ``target``; rename it to ``target`` on success,
    delete it on any error, so no half-written run directory is ever left."""
    check_new(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write(target: Path, text: str) -> None:
    check_new(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    tmp.write_text(text)
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
