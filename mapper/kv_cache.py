"""Where an LLM's KV cache lives, and how many tokens fit there.

A decode step reads its cache through ``kv_cache`` layers (``Layer.info["kv_cache"]``: the memory
that holds it). Three places:

- ``dram`` (the default): the memory controllers' stacks or channels; the plan reads the cache
  from the nearest one. Capacity: every channel's ``capacity_gib`` less the model's weights,
  which stream from there.
- ``gb``: the on-chip global buffer; the plan reads it from there. Capacity: ``capacity_kib``.
- ``units``: the local buffers of the units a ``kv_cache`` layer is mapped to; each keeps its
  shards' share of every cached token and reads it in place (the unit's cost charges its buffer
  reads; no transfer). Capacity per unit: its ``buffer_kib`` (the whole buffer: activations in
  flight are not deducted) over the bytes per token it keeps.

Every request's cache spans the same memories in the same proportions, so the chip holds as many
tokens as its fullest memory allows: the smallest per-memory capacity (``KvCapacity.tokens``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch

from .mapping import Mapping, held_weights
from .workload import Workload

PLACES = ("dram", "gb", "units")


def kv_layers(workload: Workload) -> list[str]:
    """The layers reading a KV cache from memory, in order."""
    return [n for n in workload.order if workload.layer(n).info.get("kv_cache")]


def place_kv(workload: Workload, where: str) -> Workload:
    """``workload`` with its KV cache in ``where`` (one of ``PLACES``)."""
    if where not in PLACES:
        raise PrismError(f"--kv-cache: one of {', '.join(PLACES)} (got {where!r})")
    g = workload.graph.copy()
    for n in kv_layers(workload):
        lay = workload.layer(n)
        g.nodes[n]["layer"] = dataclasses.replace(lay, info={**lay.info, "kv_cache": where})
    return Workload(workload.name, g, dict(workload.input_bytes), dict(workload.parts))


@dataclass
class KvCapacity:
    """The KV cache's capacity: per memory that holds it, (bytes it may fill, bytes it keeps per
    token of one request, tokens); and the chip's, the smallest (tokens)."""

    where: str
    per_memory: dict[str, tuple[float, float, int]]

    @property
    def tokens(self) -> int:
        return min((t for _, _, t in self.per_memory.values()), default=0)

    @property
    def binding(self) -> str:
        """The memory that fills first."""
        return min(self.per_memory, key=lambda k: (self.per_memory[k][2], k))


def kv_capacity(arch: Arch, workload: Workload, mapping: Mapping, cached_tokens: int, batch: int = 1) -> KvCapacity:
    """How many tokens of KV cache the chip holds for ``workload`` (one decode step of ``batch``
    requests, each with ``cached_tokens`` in its cache) under ``mapping``."""
    names = kv_layers(workload)
    if not names:
        raise PrismError(f"--kv-cache: model {workload.name} reads no KV cache (not an LLM decode step)")
    where = workload.layer(names[0]).info["kv_cache"]
    per_token = {n: workload.input_bytes.get(n, 0) / (cached_tokens * batch) for n in names}
    total = sum(per_token.values())      # bytes of one request's token over every layer
    if where == "dram":
        weights = sum(workload.layer(n).op.weight_bytes for n in set(workload.weight_owner.values())
                      if workload.layer(n).static_weights)
        room = sum(arch.dram.channel(i).capacity_bytes for i in range(len(arch.dram.positions))) - weights
        return KvCapacity(where, {"dram": (room, total, max(0, math.floor(room / total)))})
    if where == "gb":
        room = arch.global_buffer.capacity_bytes
        return KvCapacity(where, {"gb": (room, total, math.floor(room / total))})
    units = arch.instances()
    keeps: dict[str, float] = {}
    for n in names:
        shards = held_weights(mapping, workload.layer(n))
        whole = sum(c for _, c, _ in shards)
        for u, c, _ in shards:
            keeps[u] = keeps.get(u, 0.0) + per_token[n] * c / whole
    out = {}
    for u, b in sorted(keeps.items()):
        room = units[u].params.buffer_kib * 1024.0
        out[u] = (room, b, math.floor(room / b))
    return KvCapacity(where, out)
