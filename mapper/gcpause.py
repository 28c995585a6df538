"""Fewer garbage collections while millions of long-lived objects are made (a plan's jobs and
transfers, a simulation's events): CPython's collector otherwise walks them all again every few
thousand allocations. Cycles made meanwhile are still collected, only less often."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def fewer_collections(threshold: int = 100_000) -> Iterator[None]:
    """Collect the youngest generation every ``threshold`` allocations instead of every 700
    (CPython's default), and the older ones as rarely as ever relative to it; restored after."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
