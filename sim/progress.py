"""A progress bar for long simulations, drawn by a watcher thread so the event loop pays nothing.

The watcher wakes every ``interval`` seconds and reads two counters the run keeps anyway: bytes
the network has delivered (the bar, out of all bytes the plan moves) and jobs ended. It only
reads, so results are the same with or without it. The bar shows after ``delay`` seconds, so
short runs print nothing.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable


class Watcher:
    """``with Watcher(read, total_bytes, jobs):`` shows ``read() -> (bytes delivered, jobs ended)``."""

    def __init__(self, read: Callable[[], tuple[int, int]], total_bytes: int, jobs: int, desc: str = "simulate",
                 delay: float = 2.0, interval: float = 0.5):
        self.read, self.total, self.jobs = read, total_bytes, jobs
        self.desc, self.delay, self.interval = desc, delay, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Watcher":
        self._thread = threading.Thread(target=self._watch, name="prismsim-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        from tqdm import tqdm

        # tqdm's own delay: nothing is drawn before it, and the elapsed time counts from the start
        with tqdm(total=self.total, unit="B", unit_scale=True, desc=self.desc, file=sys.stderr,
                  dynamic_ncols=True, delay=self.delay) as bar:
            while True:
                done = self._stop.wait(self.interval)
                moved, ended = self.read()
                bar.update(moved - bar.n)
                bar.set_postfix_str(f"jobs {ended}/{self.jobs}", refresh=False)
                if done:
                    return
