"""Operators larger than a chip, run as blocks of their output rows (CMSwitch §4: an operator whose
weights exceed the arrays is split across consecutive segments).

``split_rows(workload, {"lm_head": 3})`` replaces ``lm_head`` by ``lm_head.block0`` ..
``lm_head.block2``: each computes its share of the output features (rows of W) from the whole
input, holds that share of the weights and is a layer of its own, so the mapping can put each in a
segment of its own. Their MACs and weights add up to the operator's (each counted once); every
consumer reads each block's output as it read the operator's. Layers that shared the operator's
weights (the steps of LLM decode) share each block's.
"""
from __future__ import annotations

import dataclasses

import networkx as nx

from prismsim.hw.errors import PrismError

from .mapping import split_counts
from .workload import Workload


def block_names(name: str, blocks: int) -> list[str]:
    return [f"{name}.block{i}" for i in range(blocks)]


def split_rows(workload: Workload, blocks: dict[str, int], source: str = "mapping") -> Workload:
    """``workload`` with each named layer split into that many row blocks (unchanged when there
    is nothing to split, or when it has been split already)."""
    todo = {n: k for n, k in blocks.items() if k > 1 and n in workload.graph}
    for n, k in blocks.items():
        if n not in workload.graph and block_names(n, max(k, 1))[0] not in workload.graph:
            raise PrismError(f"{source}: field blocks.{n}: layer {n!r} is not in model {workload.name}")
    if not todo:
        return workload
    g = nx.DiGraph()
    names: dict[str, list[str]] = {}
    inputs, parts = dict(workload.input_bytes), dict(workload.parts)
    for name in workload.order:
        lay = workload.layer(name)
        if name not in todo:
            g.add_node(name, layer=lay)
            names[name] = [name]
            continue
        k = todo[name]
        if not (lay.static_weights and lay.op.is_gemm) or k > lay.op.split_size:
            raise PrismError(f"{source}: field blocks.{name}: {k} row blocks of a layer with "
                             f"{lay.op.split_size} rows{'' if lay.static_weights else ' and no static weights'}")
        names[name] = block_names(name, k)
        by_n = lay.op.split_dim == "n"
        for i, (bname, rows) in enumerate(zip(names[name], split_counts(lay.op.split_size, [1.0] * k))):
            blk = dataclasses.replace(lay, name=bname, n=rows if by_n else lay.n, batch=lay.batch if by_n else rows,
                                      bytes_out=round(lay.bytes_out * rows / lay.op.split_size),
                                      weights=f"{lay.weight_key}.block{i}", info={**lay.info, "block_of": name})
            g.add_node(bname, layer=blk)
            if name in inputs:
                inputs[bname] = inputs[name]
            if name in parts:
                parts[bname] = parts[name]
        inputs.pop(name, None)
        parts.pop(name, None)
    for u, v, d in workload.graph.edges(data=True):
        for a in names[u]:
            for b in names[v]:
                g.add_edge(a, b, **d)
    return Workload(workload.name, g, inputs, parts)
