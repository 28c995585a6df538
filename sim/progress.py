"""Progress on stderr for long work, drawn by a watcher thread so the work itself pays nothing.

``Watcher`` (simulations) wakes every ``interval`` seconds and reads two counters the run keeps
anyway: bytes the network has delivered (the bar, out of all bytes the plan moves) and jobs
ended. It only reads, so results are the same with or without it. ``Stage`` (work with no
counter to read: tracing a model, mapping, building a plan) shows what is being done and for how
long. Both show after ``delay`` seconds, so short work prints nothing.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable


class Stage:
    """``with Stage("tracing hf:gpt2"):`` shows the stage's name and elapsed time while it runs;
    ``enabled=False`` shows nothing."""

    def __init__(self, desc: str, enabled: bool = True, delay: float = 2.0, interval: float = 0.5):
        self.desc, self.enabled, self.delay, self.interval = desc, enabled, delay, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Stage":
        if self.enabled:
            self._thread = threading.Thread(target=self._watch, name="prismsim-stage", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        from tqdm import tqdm

        with tqdm(desc=self.desc, bar_format="{desc}: {elapsed}", file=sys.stderr, delay=self.delay) as bar:
            while not self._stop.wait(self.interval):
                bar.update(0)  # redraws the elapsed time, once past the delay


class Watcher(Stage):
    """``with Watcher(read, total_bytes, jobs):`` shows ``read() -> (bytes delivered, jobs ended)``."""

    def __init__(self, read: Callable[[], tuple[int, int]], total_bytes: int, jobs: int, desc: str = "simulate",
                 delay: float = 2.0, interval: float = 0.5):
        super().__init__(desc, True, delay, interval)
        self.read, self.total, self.jobs = read, total_bytes, jobs

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
