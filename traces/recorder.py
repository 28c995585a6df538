"""Streaming event recorder: rows are buffered and written in chunks so memory stays bounded."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

COLUMNS = ("t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk", "bytes", "macs", "energy_pj")
KINDS = ("compute", "transfer", "memory", "switch", "stall")


class Recorder(Protocol):
    def row(self, t_start_ps: int, t_end_ps: int, kind: str, resource: str, layer: str, shard: int,
            chunk: int, nbytes: int, macs: int, energy_pj: float) -> None: ...

    def close(self) -> None: ...


class NullRecorder:
    """Keeps nothing; counts rows."""

    def __init__(self) -> None:
        self.rows = 0

    def row(self, *args) -> None:  # noqa: D401 - same signature as Recorder.row
        self.rows += 1

    def close(self) -> None:
        pass


class CsvRecorder:
    """Writes ``events.csv`` (columns ``COLUMNS``; units in the names) ``chunk_rows`` rows at a time."""

    def __init__(self, path: str | Path, chunk_rows: int = 65536):
        self._f = open(path, "w", newline="")
        self._w = csv.writer(self._f, lineterminator="\n")
        self._w.writerow(COLUMNS)
        self._buf: list[tuple] = []
        self._chunk = chunk_rows
        self.rows = 0

    def row(self, t_start_ps: int, t_end_ps: int, kind: str, resource: str, layer: str, shard: int,
            chunk: int, nbytes: int, macs: int, energy_pj: float) -> None:
        self._buf.append((t_start_ps, t_end_ps, kind, resource, layer, shard, chunk, nbytes, macs,
                          format(energy_pj, ".9g")))
        self.rows += 1
        if len(self._buf) >= self._chunk:
            self.flush()

    def flush(self) -> None:
        self._w.writerows(self._buf)
        self._buf.clear()

    def close(self) -> None:
        self.flush()
        self._f.close()
