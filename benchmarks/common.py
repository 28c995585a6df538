"""What the benchmark scripts share: the machine they ran on, timing, and writing their JSON."""
from __future__ import annotations

import json
import os
import platform
import time


def machine() -> str:
    """CPU and core count, e.g. ``x86_64, 2 cores``."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def save(doc: dict, path: str | None) -> None:
    """Write ``doc`` as indented JSON to ``path`` (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)


def best_of(fn, repeat: bool = True) -> tuple[float, object, int]:
    """Best wall time (s) of ``fn()``, its last result and the number of calls: one call, or with
    ``repeat`` at least 3 calls and at least a second of calls in all (as ``timeit`` does)."""
    times: list[float] = []
    while not times or repeat and (len(times) < 3 or sum(times) < 1.0):
        s = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - s)
    return min(times), out, len(times)
