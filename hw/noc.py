"""Network-on-chip topology (networkx), deterministic dimension-order routes, per-hop costs."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost

Node = tuple[int, ...]


class NocParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topology: Literal["mesh"] = "mesh"
    dims: tuple[int, int] = Field((4, 4), description="routers along x and y")
    link_width_bits: int = Field(256, gt=0, description="bits per flit per cycle (chosen: 32 B links)")
    clock_ghz: float = Field(1.0, gt=0, description="GHz NoC clock (chosen)")
    router_latency_cycles: int = Field(4, ge=0, description="router pipeline: RC, VA, SA, ST (BookSim-style)")
    link_latency_cycles: int = Field(1, ge=0, description="cycles per link traversal (papers.md)")
    buffer_flits: int = Field(16, gt=0, description="flits per router input buffer (BookSim: 3 VC x 10; we: one 16-flit queue)")
    packet_flits: int = Field(8, gt=0, description="flits per packet (chosen)")
    router_pj_per_bit: float = Field(
        0.615, ge=0, description="pJ/bit per router traversal; Noxim defaults (9.38 buffer + 10.3 crossbar pJ per 32-bit flit)")
    link_pj_per_bit: float = Field(0.344, ge=0, description="pJ/bit per link; Noxim default (11 pJ per 32-bit flit)")

    @property
    def cycle_ps(self) -> float:
        return 1000.0 / self.clock_ghz

    @property
    def flit_bytes(self) -> int:
        return max(1, self.link_width_bits // 8)

    @property
    def packet_bytes(self) -> int:
        return self.flit_bytes * self.packet_flits


def mesh_graph(p: NocParams) -> nx.DiGraph:
    """2D mesh: routers (x, y), a directed link each way between neighbours."""
    g = nx.grid_2d_graph(*p.dims).to_directed()
    return nx.DiGraph(g)


@lru_cache(maxsize=65536)
def xy_route(src: Node, dst: Node) -> tuple[Node, ...]:
    """Dimension-order route: along x first, then y. Includes both end routers."""
    path = [src]
    x, y = src
    while x != dst[0]:
        x += 1 if dst[0] > x else -1
        path.append((x, y))
    while y != dst[1]:
        y += 1 if dst[1] > y else -1
        path.append((x, y))
    return tuple(path)


def hops(src: Node, dst: Node) -> int:
    return len(xy_route(src, dst)) - 1


def packets(p: NocParams, nbytes: int) -> int:
    return math.ceil(nbytes / p.packet_bytes)


def transfer_energy(p: NocParams, n_hops: int, nbytes: int) -> Cost:
    """Energy of ``nbytes`` crossing ``n_hops`` links and ``n_hops + 1`` routers (time: see sim)."""
    bits = nbytes * 8
    return Cost(0, {"router": bits * (n_hops + 1) * p.router_pj_per_bit, "link": bits * n_hops * p.link_pj_per_bit})


def head_latency_ps(p: NocParams, n_hops: int) -> int:
    """Zero-load head latency: a router pipeline at each of n_hops + 1 routers, a link per hop."""
    cyc = (n_hops + 1) * p.router_latency_cycles + n_hops * p.link_latency_cycles
    return int(round(cyc * p.cycle_ps))


def flits_ps(p: NocParams, nflits: int) -> int:
    """Serialization of ``nflits`` on one link."""
    return int(round(nflits * p.cycle_ps))
