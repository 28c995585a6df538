"""The Mapping: per layer, which units run which share of it, and the schedule. A YAML artifact
users read, write and diff; validated against the arch and workload before anything runs."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from prismsim.hw.errors import PrismError, load_yaml, read_text, shown
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import arrays_available, arrays_needed, can_run

from .workload import Layer, Workload

SCHEDULES = ("sequential", "pipelined")
SHARE_TOL = 1e-6   # how far a layer's shares may sum from 1 (rounding in a written mapping)
SPLITS = ("rows", "cols")


@dataclass(frozen=True)
class Schedule:
    """``sequential``: layer after layer in topological order, each layer's shards in parallel
    (co-located models, ``mapper.colocate``, each in its own sequence, side by side).
    ``pipelined``: every layer's output columns (tokens / pixels) split into ``chunks`` jobs that
    stream to consumers as soon as each is ready. ``program_weights``: the run starts by writing
    the static weights into weight-resident units (ReRAM program-and-verify, SRAM-PIM writes);
    otherwise they are already there, as after a model load."""

    kind: str = "sequential"
    chunks: int = 1
    program_weights: bool = False

    def __post_init__(self) -> None:  # the API builds these from plain arguments
        if self.kind not in SCHEDULES:
            raise PrismError(f"schedule.kind: must be one of {', '.join(SCHEDULES)} (got {shown(self.kind)})")
        if not isinstance(self.chunks, int) or isinstance(self.chunks, bool) or self.chunks < 1:
            raise PrismError(f"schedule.chunks: must be a whole number >= 1 (got {shown(self.chunks)})")
        if not isinstance(self.program_weights, bool):
            raise PrismError(f"schedule.program_weights: must be true or false (got {shown(self.program_weights)})")


def chosen_schedule(kind: str | None = None, chunks: int | None = None,
                    program_weights: bool = False) -> tuple[Schedule, bool]:
    """The schedule a run asks for (command line or API) and whether it asks for one at all.
    ``kind`` defaults to pipelined when only ``chunks`` is given, else sequential; ``chunks`` to 8
    when pipelined, else 1. A mapping's own schedule stands unless one is asked for."""
    given = kind is not None or chunks is not None or program_weights
    kind = kind if kind is not None else ("pipelined" if chunks is not None else "sequential")
    chunks = chunks if chunks is not None else (8 if kind == "pipelined" else 1)
    return Schedule(kind, chunks, program_weights), given


FIELDS = {"prismsim_mapping", "model", "arch", "strategy", "schedule", "layers", "split", "segments", "modes",
          "feeds", "blocks", "row_order", "weights"}


def format_order(order) -> str:
    """A row order as runs: ``"0-99,150,100-149"`` (each run ascending by one)."""
    runs, start, prev = [], None, None
    for r in map(int, order):
        if start is not None and r == prev + 1:
            prev = r
            continue
        if start is not None:
            runs.append(f"{start}-{prev}" if prev > start else f"{start}")
        start = prev = r
    if start is not None:
        runs.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ",".join(runs)


def parse_order(text: Any, where: str) -> list[int]:
    """The inverse of ``format_order``; raises PrismError naming ``where`` on anything else."""
    if not isinstance(text, str) or not text.strip():
        raise PrismError(f"{where}: expected runs of row indices like \"0-99,150\" (got {shown(text)})")
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        if not a.isdigit() or (b and not b.isdigit()) or (b and int(b) < int(a)):
            raise PrismError(f"{where}: {part.strip()!r} is not a row index or an ascending run a-b")
        if int(b or a) >= MAX_ROWS or len(out) + int(b or a) - int(a) >= MAX_ROWS:
            raise PrismError(f"{where}: more than {MAX_ROWS:,} rows (no layer has that many)")
        out.extend(range(int(a), int(b or a) + 1))
    return out


MAX_ROWS = 1 << 24   # a row order longer than this is a typo or a memory bomb, not a layer


@dataclass
class Mapping:
    """``layers[name] = {unit: share}``, shares summing to 1. A layer's shards split its output
    rows (heads / groups / output features: each unit holds its share of the weights) unless
    ``split[name] == "cols"``: then they split its output columns (tokens / pixels), every unit
    holding a full copy of the weights — weight duplication, for throughput. ``row_order[name]``
    deals a rows-split layer's rows to its shards in that order instead of 0..n-1 (H3PIMAP's
    stage 2 moves the rows most sensitive to noise); it changes which weights a unit holds, not
    how many, so it matters to accuracy and not to timing."""

    layers: dict[str, dict[str, float]]
    schedule: Schedule = field(default_factory=Schedule)
    strategy: str = "manual"
    model: str = ""
    arch: str = ""
    split: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict, compare=False)   # what a strategy reports (Pareto front, ...)
    # CMSwitch-style dual mode: layers run in segments (in topological order); between segments
    # the weights of resident units are reloaded and units may put some arrays in memory mode
    segments: dict[str, int] = field(default_factory=dict)     # layer -> segment (default 0)
    modes: dict[int, dict[str, int]] = field(default_factory=dict)  # segment -> {unit: arrays in memory mode}
    # layer -> memory-mode arrays of each shard's unit that feed that shard its operands (CMSwitch's
    # input buffers: each adds its port to the tile buffer's feed, ``hw.reram.feed_ps``)
    feeds: dict[str, int] = field(default_factory=dict)
    # layer -> row blocks it runs as (an operator larger than the chip: ``mapper.row_blocks``); the
    # other fields name the blocks, ``<layer>.block<i>``
    blocks: dict[str, int] = field(default_factory=dict)
    row_order: dict[str, list[int]] = field(default_factory=dict)    # layer -> its rows in shard order
    # weights the mapping was made for (LionHeart's retraining), written beside the YAML as .npz
    weights: dict[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    weights_file: str = ""

    def split_of(self, layer: str) -> str:
        return self.split.get(layer, "rows")

    def segment_of(self, layer: str) -> int:
        return self.segments.get(layer, 0)

    def memory_arrays(self, segment: int, unit: str) -> int:
        return self.modes.get(segment, {}).get(unit, 0)

    def feed_of(self, layer: str) -> int:
        return self.feeds.get(layer, 0)

    def to_yaml(self) -> str:
        doc = {
            "prismsim_mapping": 1, "model": self.model, "arch": self.arch, "strategy": self.strategy,
            "schedule": {"kind": self.schedule.kind, "chunks": self.schedule.chunks,
                         "program_weights": self.schedule.program_weights},
            "layers": {k: {u: float(s) for u, s in v.items()} for k, v in self.layers.items()},
        }
        if self.split:
            doc["split"] = dict(self.split)
        if self.segments:
            doc["segments"] = dict(self.segments)
        if self.modes:
            doc["modes"] = {int(k): dict(v) for k, v in self.modes.items()}
        if self.feeds:
            doc["feeds"] = dict(self.feeds)
        if self.blocks:
            doc["blocks"] = dict(self.blocks)
        if self.row_order:
            doc["row_order"] = {k: format_order(v) for k, v in self.row_order.items()}
        if self.weights_file:
            doc["weights"] = self.weights_file
        return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)

    @classmethod
    def from_yaml(cls, text: str, source: str = "mapping") -> "Mapping":
        return cls.from_dict(load_yaml(text, source), source)

    @classmethod
    def from_dict(cls, doc: Any, source: str = "mapping") -> "Mapping":
        if not isinstance(doc, dict) or not isinstance(doc.get("layers"), dict):
            raise PrismError(f"{source}: expected a mapping with a 'layers:' table of layer -> {{unit: share}}")
        unknown = sorted(set(map(str, doc)) - FIELDS)
        if unknown:
            raise PrismError(f"{source}: field {unknown[0]!r} is not a mapping setting (known: {', '.join(sorted(FIELDS))})")
        if doc.get("prismsim_mapping", 1) != 1:
            raise PrismError(f"{source}: field prismsim_mapping: this prismsim reads version 1 "
                             f"(got {shown(doc['prismsim_mapping'])})")
        sched = doc.get("schedule") or {}
        if not isinstance(sched, dict):
            raise PrismError(f"{source}: field schedule must be a table with kind and chunks (got {shown(sched)})")
        unknown = set(sched) - {"kind", "chunks", "program_weights"}
        if unknown:
            raise PrismError(f"{source}: field schedule.{sorted(unknown)[0]} is not a schedule setting")
        try:
            schedule = Schedule(sched.get("kind", "sequential"), sched.get("chunks", 1),
                                sched.get("program_weights", False))
        except PrismError as e:
            raise PrismError(f"{source}: field {e}") from None
        layers: dict[str, dict[str, float]] = {}
        for lname, shards in doc["layers"].items():
            if not isinstance(shards, dict) or not shards:
                raise PrismError(f"{source}: layer {lname!r}: expected {{unit: share, ...}} (got {shown(shards)})")
            layers[str(lname)] = {str(u): _share(s, f"{source}: layer {lname!r}, unit {u!r}") for u, s in shards.items()}
        split = doc.get("split") or {}
        if not isinstance(split, dict):
            raise PrismError(f"{source}: field split must be a table of layer -> rows|cols (got {shown(split)})")
        for lname, how in split.items():
            if how not in SPLITS:
                raise PrismError(f"{source}: field split.{lname} must be rows or cols (got {shown(how)})")
        segments = doc.get("segments") or {}
        if not isinstance(segments, dict) or not all(isinstance(v, int) and v >= 0 for v in segments.values()):
            raise PrismError(f"{source}: field segments must map layers to whole numbers >= 0")
        modes = doc.get("modes") or {}
        if not isinstance(modes, dict):
            raise PrismError(f"{source}: field modes must map segments to {{unit: arrays in memory mode}}")
        for seg, units in modes.items():
            if not isinstance(seg, int) or not isinstance(units, dict) or \
                    not all(isinstance(n, int) and n >= 0 for n in units.values()):
                raise PrismError(f"{source}: field modes.{seg} must map units to whole numbers of arrays (got {shown(units)})")
        feeds = doc.get("feeds") or {}
        if not isinstance(feeds, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                  for v in feeds.values()):
            raise PrismError(f"{source}: field feeds must map layers to whole numbers of arrays >= 0 (got {shown(feeds)})")
        blocks = doc.get("blocks") or {}
        if not isinstance(blocks, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65_536
                                                   for v in blocks.values()):
            raise PrismError(f"{source}: field blocks must map layers to whole numbers of row blocks in 1..65536 "
                             f"(got {shown(blocks)})")
        orders = doc.get("row_order") or {}
        if not isinstance(orders, dict):
            raise PrismError(f"{source}: field row_order must map layers to runs of row indices (got {shown(orders)})")
        row_order = {str(k): parse_order(v, f"{source}: field row_order.{k}") for k, v in orders.items()}
        weights_file = doc.get("weights") or ""
        if not isinstance(weights_file, str):
            raise PrismError(f"{source}: field weights must name a .npz file beside the mapping (got {shown(weights_file)})")
        return cls(layers, schedule, str(doc.get("strategy", "manual")),
                   str(doc.get("model", "")), str(doc.get("arch", "")), {str(k): str(v) for k, v in split.items()},
                   segments={str(k): int(v) for k, v in segments.items()},
                   modes={int(k): {str(u): int(n) for u, n in v.items()} for k, v in modes.items()},
                   feeds={str(k): int(v) for k, v in feeds.items()}, blocks={str(k): int(v) for k, v in blocks.items()},
                   row_order=row_order, weights_file=weights_file)

    @classmethod
    def load(cls, path: str | Path) -> "Mapping":
        m = cls.from_yaml(read_text(path, "--mapping"), str(path))
        if m.weights_file:
            m.weights = load_weights_file(Path(path).parent / m.weights_file, f"{path}: field weights")
        return m

    def save_weights(self, yaml_path: Path) -> Path | None:
        """Write ``weights`` as ``<stem>.weights.npz`` beside the mapping's YAML and name it there."""
        if self.weights is None:
            return None
        out = yaml_path.with_name(yaml_path.with_suffix("").name + ".weights.npz")
        with open(out, "wb") as f:
            np.savez_compressed(f, **{k: np.asarray(v, dtype=np.float32) for k, v in self.weights.items()})
        self.weights_file = out.name
        return out


def load_weights_file(path: Path, where: str) -> dict[str, np.ndarray]:
    """A mapping's weights (.npz of named arrays); a PrismError naming ``where`` otherwise."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k].astype(np.float64) for k in data.files}
    except (OSError, ValueError) as err:
        raise PrismError(f"{where}: cannot read {str(path)!r} as weights ({err.__class__.__name__})") from None


def _share(s: Any, where: str) -> float:
    """A share from YAML: a number > 0, or a string that reads as one (YAML 1.1 leaves ``1e-3`` a string)."""
    if isinstance(s, str):
        try:
            s = float(s)
        except ValueError:
            pass
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not s > 0 or not math.isfinite(s):
        raise PrismError(f"{where}: share must be a finite number > 0 (got {shown(s)})")
    return float(s)


def split_counts(total: int, shares: list[float]) -> list[int]:
    """Apportion ``total`` rows by ``shares`` (largest remainder, ties to the earlier shard)."""
    return list(_split_counts(total, tuple(shares)))


@functools.lru_cache(maxsize=65536)
def _split_counts(total: int, shares: tuple[float, ...]) -> tuple[int, ...]:
    s = sum(shares)
    exact = [total * x / s for x in shares]
    counts = [int(e) for e in exact]
    rest = total - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    return tuple(counts)


def resolve(mapping: Mapping, layer: Layer) -> list[tuple[str, int]]:
    """(unit, size along the split dimension) per non-empty shard, in mapping order."""
    units = list(mapping.layers[layer.name])
    total = layer.op.m if mapping.split_of(layer.name) == "cols" else layer.op.split_size
    counts = split_counts(total, [mapping.layers[layer.name][u] for u in units])
    return [(u, c) for u, c in zip(units, counts) if c > 0]


def weight_slices(layer: Layer, counts: list[int], cols: bool = False) -> list[tuple]:
    """The static weights each shard of ``counts`` (along the split dimension, in order) holds:
    its rows of the layer's weight matrix, all of them when the layer splits its columns. Layers
    that share a matrix (``Layer.weights``) and split it alike hold the same slices, which a
    weight-resident unit stores once."""
    whole = (layer.weight_key, 0, layer.op.split_size)
    return [whole if cols else (layer.weight_key, s, c) for s, c in zip(accumulate(counts, initial=0), counts)]


def held_weights(mapping: Mapping, layer: Layer) -> list[tuple[str, int, tuple]]:
    """(unit, size along the split dimension, ``weight_slices`` slice) per non-empty shard (``resolve``)."""
    shards = resolve(mapping, layer)
    pieces = weight_slices(layer, [c for _, c in shards], mapping.split_of(layer.name) == "cols")
    return [(u, c, piece) for (u, c), piece in zip(shards, pieces)]


def shard_op(mapping: Mapping, layer: Layer, count: int):
    """The ``hw`` op of one shard: ``count`` rows (with their share of the weights) or ``count``
    columns (with all of the weights)."""
    return layer.op.cols(count) if mapping.split_of(layer.name) == "cols" else layer.op.rows(count)


def validate(mapping: Mapping, arch: Arch, workload: Workload, source: str = "mapping") -> None:
    """Raise PrismError naming layer and unit for the first problem found."""
    if mapping.blocks:   # operators run as row blocks: the mapping names the blocks
        from .row_blocks import split_rows
        workload = split_rows(workload, mapping.blocks, source)
    units: dict[str, Unit] = arch.instances()
    names = set(workload.order)
    for lname in (list(mapping.layers) + list(mapping.split) + list(mapping.segments) + list(mapping.row_order)
                  + list(mapping.feeds)):
        if lname not in names:
            raise PrismError(f"{source}: layer {lname!r} is not in model {workload.name}")
    for lname, order in mapping.row_order.items():
        n = workload.layer(lname).op.split_size
        if mapping.split_of(lname) == "cols":
            raise PrismError(f"{source}: row_order.{lname}: the layer splits its columns, not its rows")
        if len(order) != n or set(order) != set(range(n)):
            raise PrismError(f"{source}: row_order.{lname} must list each of the layer's {n} rows once "
                             f"(got {len(order)} entries, {len(set(order))} distinct)")
    last = 0
    for lname in workload.order:
        seg = mapping.segment_of(lname)
        if seg < last:
            raise PrismError(f"{source}: layer {lname!r} is in segment {seg} after a layer of segment {last}"
                             " (segments follow the topological order)")
        last = seg
    for seg, mem in mapping.modes.items():
        for uname, n in mem.items():
            if uname not in units:
                raise PrismError(f"{source}: modes.{seg}: unit {uname!r} is not in arch {arch.name}")
            if n and units[uname].kind != "reram":
                raise PrismError(f"{source}: modes.{seg}: unit {uname!r} is {units[uname].kind}, not a dual-mode array unit")
            if n > arrays_available(units[uname]):
                raise PrismError(f"{source}: modes.{seg}: unit {uname!r} has {arrays_available(units[uname])} arrays, "
                                 f"not {n}")
    fed: dict[tuple[int, str], int] = {}   # (segment, unit) -> memory arrays given as operand feeds
    for lname, n in mapping.feeds.items():
        if not n:
            continue
        seg = mapping.segment_of(lname)
        for uname in mapping.layers.get(lname, {}):
            if uname in units and units[uname].kind != "reram":
                raise PrismError(f"{source}: feeds.{lname}: unit {uname!r} is {units[uname].kind}, not a dual-mode array unit")
            fed[seg, uname] = fed.get((seg, uname), 0) + n
            if uname in units and fed[seg, uname] > mapping.memory_arrays(seg, uname):
                raise PrismError(f"{source}: feeds.{lname}: unit {uname!r} feeds {fed[seg, uname]} arrays to the layers "
                                 f"of segment {seg} but has {mapping.memory_arrays(seg, uname)} in memory mode")
    used: dict[tuple[int, str], int] = {}
    held: set[tuple[int, str, tuple]] = set()   # (segment, unit, weight slice) already counted
    for lname in workload.order:
        if lname not in mapping.layers:
            raise PrismError(f"{source}: layer {lname!r} has no shards (every layer must be mapped)")
        shards = mapping.layers[lname]
        total = sum(shards.values())
        if abs(total - 1.0) > SHARE_TOL:
            raise PrismError(f"{source}: layer {lname!r}: shares sum to {total!r}, not 1 (within {SHARE_TOL:g})")
        layer = workload.layer(lname)
        for uname in shards:
            if uname not in units:
                raise PrismError(f"{source}: layer {lname!r}: unit {uname!r} is not in arch {arch.name}")
            why = can_run(units[uname], layer.op)
            if why:
                raise PrismError(f"{source}: layer {lname!r} cannot run on unit {uname!r}: {why}")
        seg = mapping.segment_of(lname)
        for uname, count, piece in held_weights(mapping, layer):
            need = arrays_needed(units[uname], shard_op(mapping, layer, count))
            if need and (seg, uname, piece) not in held:
                held.add((seg, uname, piece))
                key = (seg, uname)
                used[key] = used.get(key, 0) + need
                cap = arrays_available(units[uname]) - mapping.memory_arrays(seg, uname)
                if used[key] > cap:
                    raise PrismError(
                        f"{source}: layer {lname!r} on unit {uname!r}: static weights do not fit "
                        f"({used[key]} arrays needed by this and earlier layers, unit has {cap} in compute mode)")


def gemm_macs_by_kind(mapping: Mapping, arch: Arch, workload: Workload) -> dict[str, dict[str, float]]:
    """Share of the MACs of the static-weight GEMMs and of the dynamic ones (attention's
    activation x activation matmuls) per unit kind — which tier a mapping gives which work."""
    units = arch.instances()
    out: dict[str, dict[str, float]] = {}
    for lay in workload.layers:
        if lay.op.is_gemm:
            d = out.setdefault("static" if lay.static_weights else "dynamic", {})
            total = sum(mapping.layers[lay.name].values())
            for u, s in mapping.layers[lay.name].items():
                d[units[u].kind] = d.get(units[u].kind, 0.0) + s / total * lay.op.macs
    return {k: {kind: v / (sum(d.values()) or 1) for kind, v in sorted(d.items())} for k, d in out.items()}
