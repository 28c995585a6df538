"""Streaming event recorders: rows are buffered and written in chunks so memory stays bounded.

Schema (one row per event; units in the column names):

| column | type | meaning |
|---|---|---|
| t_start_ps, t_end_ps | int64 | when the event began and ended, ps |
| kind | string | compute, transfer, memory, switch or stall |
| resource | string | unit, ``src->dst`` route or NoC channel, memory name |
| layer | string | the layer the event belongs to ("" for packet hops) |
| shard, chunk | int32 | which job of the layer (-1 for transfers) |
| bytes | int64 | bytes moved |
| macs | int64 | multiply-accumulates computed |
| energy_pj | float64 | dynamic energy of the event, pJ |
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

COLUMNS = ("t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk", "bytes", "macs", "energy_pj")
TYPES = ("int64", "int64", "string", "string", "string", "int32", "int32", "int64", "int64", "float64")
KINDS = ("compute", "transfer", "memory", "switch", "stall")


class Recorder(Protocol):
    rows: int

    def row(self, t_start_ps: int, t_end_ps: int, kind: str, resource: str, layer: str, shard: int,
            chunk: int, nbytes: int, macs: int, energy_pj: float) -> None: ...

    def counter(self, t_ps: int, name: str, value: float) -> None: ...

    def close(self) -> None: ...


class NullRecorder:
    """Keeps nothing; counts rows."""

    def __init__(self) -> None:
        self.rows = 0

    def row(self, *args) -> None:  # noqa: D401 - same signature as Recorder.row
        self.rows += 1

    def counter(self, t_ps: int, name: str, value: float) -> None:
        pass

    def close(self) -> None:
        pass


class ListRecorder(NullRecorder):
    """Keeps every row in memory (small runs, notebooks, tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple] = []

    def row(self, *args) -> None:
        self.rows += 1
        self.data.append(args)


class CsvRecorder:
    """Writes ``events.csv`` (columns ``COLUMNS``) ``chunk_rows`` rows at a time."""

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

    def counter(self, t_ps: int, name: str, value: float) -> None:
        pass

    def flush(self) -> None:
        self._w.writerows(self._buf)
        self._buf.clear()

    def close(self) -> None:
        self.flush()
        self._f.close()


class ParquetRecorder:
    """Writes ``events.parquet`` (same schema) one row group per ``chunk_rows`` rows (pyarrow)."""

    def __init__(self, path: str | Path, chunk_rows: int = 262144):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError("Parquet traces need pyarrow: pip install 'prismsim[parquet]'") from None
        self._pa = pa
        self.schema = pa.schema([(c, getattr(pa, "string" if t == "string" else t)()) for c, t in zip(COLUMNS, TYPES)])
        self._w = pq.ParquetWriter(str(path), self.schema)
        self._cols: list[list] = [[] for _ in COLUMNS]
        self._chunk = chunk_rows
        self.rows = 0

    def row(self, *args) -> None:
        for col, v in zip(self._cols, args):
            col.append(v)
        self.rows += 1
        if len(self._cols[0]) >= self._chunk:
            self.flush()

    def counter(self, t_ps: int, name: str, value: float) -> None:
        pass

    def flush(self) -> None:
        if self._cols[0]:
            try:
                self._w.write_table(self._pa.Table.from_arrays(self._cols, schema=self.schema))
            except (self._pa.ArrowException, OSError) as err:   # a full disk surfaces as ArrowInvalid
                raise OSError(f"cannot write the Parquet trace ({str(err).splitlines()[0][:200]})") from None
            self._cols = [[] for _ in COLUMNS]

    def close(self) -> None:
        self.flush()
        try:
            self._w.close()
        except (self._pa.ArrowException, OSError) as err:
            raise OSError(f"cannot write the Parquet trace ({str(err).splitlines()[0][:200]})") from None


class TeeRecorder:
    """Sends every row and counter to several recorders."""

    def __init__(self, *recorders):
        self.recorders = [r for r in recorders if r is not None]
        self.rows = 0

    def row(self, *args) -> None:
        self.rows += 1
        for r in self.recorders:
            r.row(*args)

    def counter(self, t_ps: int, name: str, value: float) -> None:
        for r in self.recorders:
            r.counter(t_ps, name, value)

    def close(self) -> None:
        for r in self.recorders:
            r.close()


class SplitRecorder:
    """Sends each row to the recorder of the model its layer belongs to: the layer name's prefix
    before ``/`` (co-located models' layers are ``<model>/<layer>``). Rows of no model's layer
    (packet hops, whose layer is "") go nowhere; the whole run's trace keeps them."""

    def __init__(self, recorders: dict):
        self.recorders = recorders
        self.rows = 0

    def row(self, *args) -> None:
        r = self.recorders.get(args[4].partition("/")[0]) if "/" in args[4] else None
        if r is not None:
            self.rows += 1
            r.row(*args)

    def counter(self, t_ps: int, name: str, value: float) -> None:
        pass

    def close(self) -> None:
        for r in self.recorders.values():
            r.close()
