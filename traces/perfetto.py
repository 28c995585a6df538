"""Chrome / Perfetto trace-event JSON, streamed: open it in ui.perfetto.dev or chrome://tracing.

One process per kind of resource (units, NoC routes, NoC channels, memories), one thread (track)
per resource; every event is a complete ("X") slice named by its layer (or kind); counters ("C")
carry buffer occupancy; the run's critical path, given at the end, is a track of its own.
Timestamps are microseconds (the format's unit) with ps resolution.
"""
from __future__ import annotations

import json
from pathlib import Path

_PROCESSES = {"compute": (1, "units"), "stall": (1, "units"), "switch": (1, "units"),
              "transfer": (2, "noc transfers"), "memory": (4, "memories")}


class PerfettoRecorder:
    def __init__(self, path: str | Path):
        self._f = open(path, "w")
        self._f.write('{"displayTimeUnit":"ns","traceEvents":[\n')
        self._first = True
        self._tids: dict[tuple[int, str], int] = {}
        self.rows = 0
        for pid, name in sorted(set(_PROCESSES.values()) | {(3, "noc channels"), (5, "counters"),
                                                             (6, "critical path")}):
            self._emit({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}})

    def _emit(self, ev: dict) -> None:
        self._f.write(("" if self._first else ",\n") + json.dumps(ev, separators=(",", ":")))
        self._first = False

    def _tid(self, pid: int, resource: str) -> int:
        key = (pid, resource)
        tid = self._tids.get(key)
        if tid is None:
            tid = self._tids[key] = len(self._tids) + 1
            self._emit({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": resource}})
        return tid

    def row(self, t_start_ps: int, t_end_ps: int, kind: str, resource: str, layer: str, shard: int,
            chunk: int, nbytes: int, macs: int, energy_pj: float) -> None:
        self.rows += 1
        pid = 3 if (kind == "transfer" and not layer) else _PROCESSES.get(kind, (1, "units"))[0]
        args = {"kind": kind, "bytes": nbytes, "macs": macs, "energy_pj": energy_pj}
        if shard >= 0:
            args.update(shard=shard, chunk=chunk)
        self._emit({"ph": "X", "name": layer or kind, "cat": kind, "pid": pid, "tid": self._tid(pid, resource),
                    "ts": t_start_ps / 1e6, "dur": (t_end_ps - t_start_ps) / 1e6, "args": args})

    def critical_path(self, steps) -> None:
        """The chain of jobs and transfers that set the latency, as slices on one track: rows
        ``(t_start_ps, t_end_ps, kind, resource, layer, shard, chunk, bytes, macs, after,
        noc_contention_ps)``, the columns of ``critical_path.csv``."""
        tid = self._tid(6, "critical path")
        for t0, t1, kind, resource, layer, shard, chunk, nbytes, macs, after, contention in steps:
            args = {"kind": kind, "resource": resource, "bytes": nbytes, "macs": macs, "after": after,
                    "noc_contention_ps": contention}
            self._emit({"ph": "X", "name": layer or kind, "cat": "critical", "pid": 6, "tid": tid,
                        "ts": t0 / 1e6, "dur": (t1 - t0) / 1e6, "args": args})

    def counter(self, t_ps: int, name: str, value: float) -> None:
        self._emit({"ph": "C", "name": name, "pid": 5, "tid": 0, "ts": t_ps / 1e6, "args": {"value": value}})

    def close(self) -> None:
        self._f.write("\n]}\n")
        self._f.close()
