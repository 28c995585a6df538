"""Network-on-chip topologies (networkx), deterministic dimension-order routes, per-link costs.

Topologies (``NocParams.topology``):

* ``mesh``: X x Y routers, nodes (x, y), XY routing.
* ``mesh3d``: X x Y x Z routers (stacked tiers), nodes (x, y, z); links within a tier are mesh
  links, links between tiers vertical TSV links with their own width, latency and energy; XYZ
  routing.
* ``torus``: X x Y (or X x Y x Z) routers with wrap-around links; dimension order, the shorter way
  round; dateline VC classes in the router model (``vcs`` >= 2).
* ``graph``: ``dims`` = (routers,) and ``graph_edges`` (undirected router pairs); shortest paths.
* ``chiplet`` (2.5D): a grid of ``chiplets`` (CX x CY), each an X x Y mesh; nodes are global
  (x, y) on the (CX*X) x (CY*Y) grid. Chiplets meet only through their ``gateway`` routers, joined
  by interposer links between neighbouring chiplets (``interposer: mesh``), or only between
  chiplets that follow each other on Floret's space-filling curves (``interposer: floret``,
  ``hw/floret.py``). Route: XY to the source chiplet's gateway, XY over the chiplet grid on the
  interposer (Floret: the one path of its tree), XY from the destination gateway.

A ``route_table`` may override routes for given (src, dst) pairs; ``check_deadlock_free`` proves a
set of routes free of routing deadlock (acyclic channel dependency graph, Dally & Seitz) or names
the links of a cycle.
"""
from __future__ import annotations

import math
from typing import Literal

import networkx as nx
from pydantic import ConfigDict, Field, model_validator

from . import floret, tech
from .bounds import Bounded
from .cost import Cost
from .errors import PrismError

Node = tuple[int, ...]
MAX_ROUTERS = 65_536


class NocParams(Bounded):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    topology: Literal["mesh", "mesh3d", "chiplet", "torus", "graph"] = "mesh"
    dims: tuple[int, ...] = Field((4, 4), description="routers along x, y (and z for mesh3d); per chiplet for chiplet")
    chiplets: tuple[int, int] = Field((1, 1), description="chiplet grid (topology chiplet)")
    gateway: tuple[int, int] = Field((0, 0), description="router of each chiplet on the interposer (chiplet-local x, y)")
    interposer: Literal["mesh", "floret"] = Field(
        "mesh", description="links between chiplet gateways: a mesh over the chiplet grid, or Floret's links along "
        "a space-filling curve (hw/floret.py)")
    link_width_bits: int = Field(256, gt=0, description="bits per flit per cycle (chosen: 32 B links)")
    clock_ghz: float = Field(1.0, gt=0, description="GHz NoC clock (chosen)")
    router_latency_cycles: int = Field(4, ge=3, le=64, description="router pipeline cycles, RC + VA + SA + ST "
                                       "(BookSim's defaults, 1 each); a head crosses a router and its link in "
                                       "router_latency_cycles - 1 + link_latency_cycles cycles")
    pipeline: tuple[int, int, int, int] | None = Field(
        None, description="cycles of the route (RC, >= 0), VC allocation (VA), switch allocation (SA) and switch "
        "traversal (ST) stages (each >= 1); default: RC takes what VA + SA + ST = 3 leave of router_latency_cycles")
    routing: Literal["dor", "west_first", "odd_even"] = Field(
        "dor", description="dimension order, or minimal adaptive by the west-first / odd-even turn models (2D mesh)")
    vc_allocator: Literal["separable_input_first", "islip"] = Field(
        "separable_input_first", description="VC allocator: separable input-first round-robin, or iSLIP (1 iteration)")
    sw_allocator: Literal["separable_input_first", "islip"] = Field(
        "separable_input_first", description="switch allocator: separable input-first round-robin, or iSLIP (1 iteration)")
    credit_delay_cycles: int = Field(0, ge=0, le=64, description="cycles to process a returned credit (BookSim credit_delay, default 0)")
    wait_for_tail_credit: bool = Field(False, description="free an output VC only when its tail's credit is back (BookSim option)")
    graph_edges: list[tuple[int, int]] = Field(default_factory=list, description="topology graph: undirected router pairs")
    link_latency_cycles: int = Field(1, ge=0, description="cycles per link traversal (BookSim default)")
    buffer_flits: int = Field(16, gt=0, le=4096, description="flits per input buffer per VC (chosen: 16, two 8-flit "
                              "packets; more than the 5-cycle credit round trip of 1-cycle links)")
    vcs: int = Field(2, gt=0, le=64, description="virtual channels per input port (chosen: 2, so a stream's next packet "
                     "allocates its VC while the previous one drains; with 1, RC + VA cycles separate packets)")
    packet_flits: int = Field(8, gt=0, description="flits per packet (chosen)")
    router_pj_per_bit: float = Field(
        0.615, ge=0, description="pJ/bit per router traversal; Noxim defaults (9.38 buffer + 10.3 crossbar pJ per 32-bit flit)")
    link_pj_per_bit: float = Field(0.344, ge=0, description="pJ/bit per link; Noxim default (11 pJ per 32-bit flit)")
    router_area_um2: float = Field(
        150000.0, ge=0, le=1e9, description="µm² per router at 256-bit links, 32 nm; ISAAC (Shafiee et al., ISCA'16) "
        "Table I: 0.151 mm²; scales with (link_width_bits / 256)^2 (crossbar-dominated) and the node")
    tech_nm: float = Field(32.0, ge=tech.MIN_NM, le=tech.MAX_NM, description="CMOS node of the routers, nm (ISAAC's router)")
    interposer_width_bits: int = Field(128, gt=0, description="bits per cycle on an interposer link (chosen)")
    interposer_latency_cycles: int = Field(4, ge=0, description="cycles per interposer hop (chosen: mm-scale wire + PHY)")
    interposer_pj_per_bit: float = Field(0.5, ge=0, description="pJ/bit per interposer hop (chosen: UCIe-class die-to-die 0.25-0.5)")
    tsv_width_bits: int = Field(256, gt=0, description="bits per cycle on a vertical link (chosen)")
    tsv_latency_cycles: int = Field(1, ge=0, description="cycles per TSV hop (chosen: tens of um)")
    tsv_pj_per_bit: float = Field(0.05, ge=0, description="pJ/bit per TSV hop (chosen: TSVs are short, ~tens of fJ/bit)")
    route_table: dict[str, list[tuple[int, ...]]] = Field(
        default_factory=dict, description="routes overriding dimension order: 'x,y->x,y': [[x,y], ...]")

    @model_validator(mode="after")
    def _check(self) -> "NocParams":
        want = {"mesh3d": (3,), "torus": (2, 3), "graph": (1,)}.get(self.topology, (2,))
        if len(self.dims) not in want or min(self.dims) < 1:
            raise ValueError(f"dims must be {' or '.join(map(str, want))} positive integers for topology "
                             f"{self.topology} (got {list(self.dims)})")
        if self.topology == "graph":
            for a, b in self.graph_edges:
                if not (0 <= a < self.dims[0] and 0 <= b < self.dims[0]) or a == b:
                    raise ValueError(f"graph_edges: [{a}, {b}] must join two different routers of 0..{self.dims[0] - 1}")
        elif self.graph_edges:
            raise ValueError("graph_edges: only with topology graph")
        if self.topology == "torus" and self.vcs < 2:
            raise ValueError(f"vcs {self.vcs}: a torus needs at least 2 virtual channels (dateline classes)")
        if self.routing != "dor" and (self.topology != "mesh"):
            raise ValueError(f"routing {self.routing} needs topology mesh (got {self.topology})")
        if self.pipeline is not None and (self.pipeline[0] < 0 or min(self.pipeline[1:]) < 1):
            raise ValueError(f"pipeline {list(self.pipeline)}: RC must be >= 0 and VA, SA, ST >= 1 cycles")
        if self.pipeline is not None and sum(self.pipeline) != self.router_latency_cycles:
            raise ValueError(f"pipeline {list(self.pipeline)} sums to {sum(self.pipeline)}, not router_latency_cycles "
                             f"{self.router_latency_cycles}")
        routers = math.prod(self.dims) * (math.prod(self.chiplets) if self.topology == "chiplet" else 1)
        if routers > MAX_ROUTERS:
            raise ValueError(f"the network would have {routers:,} routers; at most {MAX_ROUTERS:,} (a 256 x 256 mesh)")
        if self.topology == "chiplet":
            if min(self.chiplets) < 1:
                raise ValueError(f"chiplets must be 2 positive integers (got {list(self.chiplets)})")
            if not (0 <= self.gateway[0] < self.dims[0] and 0 <= self.gateway[1] < self.dims[1]):
                raise ValueError(f"gateway {list(self.gateway)} must lie inside a {self.dims[0]}x{self.dims[1]} chiplet")
            if self.interposer == "floret":
                floret.check(*self.chiplets)
        elif self.interposer != "mesh":
            raise ValueError(f"interposer {self.interposer}: only with topology chiplet")
        for key, path in self.route_table.items():
            src, dst = parse_pair(key)
            if not path:
                raise ValueError(f"route_table[{key!r}] is empty (a route lists its routers, ends included)")
            if tuple(path[0]) != src or tuple(path[-1]) != dst:
                raise ValueError(f"route_table[{key!r}] must start at {list(src)} and end at {list(dst)}")
            for a, b in zip(path, path[1:]):
                if link_kind(self, tuple(a), tuple(b)) is None:
                    raise ValueError(f"route_table[{key!r}]: {list(a)} -> {list(b)} is not a link")
        return self

    @property
    def cycle_ps(self) -> float:
        return 1000.0 / self.clock_ghz

    @property
    def stages(self) -> tuple[int, int, int, int]:
        """Cycles of RC, VA, SA, ST (``pipeline``, or RC filling ``router_latency_cycles`` past 3)."""
        if self.pipeline is not None:
            return tuple(self.pipeline)
        return (self.router_latency_cycles - 3, 1, 1, 1)

    @property
    def flit_bytes(self) -> int:
        return max(1, self.link_width_bits // 8)

    @property
    def packet_bytes(self) -> int:
        return self.flit_bytes * self.packet_flits

    @property
    def router_um2(self) -> float:
        """Area of one router: ISAAC's, scaled by width squared and the node."""
        return self.router_area_um2 * (self.link_width_bits / 256) ** 2 * tech.area(self.tech_nm, 32)

    @property
    def routers(self) -> int:
        return math.prod(self.grid)

    @property
    def grid(self) -> tuple[int, ...]:
        """Extent of node coordinates along each axis."""
        if self.topology == "chiplet":
            return (self.dims[0] * self.chiplets[0], self.dims[1] * self.chiplets[1])
        return tuple(self.dims)



def parse_pair(key: str) -> tuple[Node, Node]:
    try:
        a, b = key.split("->")
        return tuple(int(v) for v in a.split(",")), tuple(int(v) for v in b.split(","))
    except ValueError:
        raise ValueError(f"route_table key {key!r} must look like 'x,y->x,y'") from None


def nodes(p: NocParams) -> list[Node]:
    """Every router, x fastest."""
    g = p.grid
    if len(g) == 1:
        return [(i,) for i in range(g[0])]
    if len(g) == 3:
        return [(x, y, z) for z in range(g[2]) for y in range(g[1]) for x in range(g[0])]
    return [(x, y) for y in range(g[1]) for x in range(g[0])]


def _chip(p: NocParams, a: Node) -> tuple[int, int]:
    return a[0] // p.dims[0], a[1] // p.dims[1]


def _gw(p: NocParams, chip: tuple[int, int]) -> Node:
    return chip[0] * p.dims[0] + p.gateway[0], chip[1] * p.dims[1] + p.gateway[1]


def link_kind(p: NocParams, a: Node, b: Node) -> str | None:
    """``mesh``, ``tsv`` or ``interposer`` if a -> b is a link, else None."""
    if len(a) != len(b) or a == b:
        return None
    diff = [abs(u - v) for u, v in zip(a, b)]
    if any(not (0 <= c < e) for c, e in zip(a + b, p.grid + p.grid)):
        return None
    if p.topology == "torus":
        diff = [min(d, e - d) for d, e in zip(diff, p.grid)]
        if sum(diff) != 1:
            return None
        return "mesh"
    if p.topology == "graph":
        return "mesh" if (a[0], b[0]) in _edges(p) else None
    if p.topology == "mesh3d":
        if sum(diff) != 1:
            return None
        return "tsv" if diff[2] else "mesh"
    if p.topology == "chiplet":
        ca, cb = _chip(p, a), _chip(p, b)
        if ca == cb:
            return "mesh" if sum(diff) == 1 else None
        if a == _gw(p, ca) and b == _gw(p, cb) and _chip_link(p, ca, cb):
            return "interposer"
        return None
    return "mesh" if sum(diff) == 1 else None


def _chip_link(p: NocParams, ca: tuple[int, int], cb: tuple[int, int]) -> bool:
    """Whether the interposer joins chiplets ``ca`` and ``cb`` (grid neighbours, or Floret's curve)."""
    if p.interposer == "floret":
        return (ca, cb) in floret.edges(*p.chiplets)
    return abs(ca[0] - cb[0]) + abs(ca[1] - cb[1]) == 1


def _edges(p: NocParams) -> set:
    """The graph topology's directed links as router-id pairs."""
    memo = _memo(p)
    e = memo.get("edges")
    if e is None:
        e = memo["edges"] = {(a, b) for a, b in p.graph_edges} | {(b, a) for a, b in p.graph_edges}
    return e


def graph(p: NocParams) -> nx.DiGraph:
    """Routers and directed links, each link with its ``kind``."""
    g = nx.DiGraph()
    ns = nodes(p)
    g.add_nodes_from(ns)
    if p.topology == "graph":
        g.add_edges_from((((a,), (b,)) for a, b in _edges(p)), kind="mesh")
        return g
    for a in ns:
        for axis in range(len(a)):
            for step in (-1, 1):
                b = tuple(v + (step if i == axis else 0) for i, v in enumerate(a))
                if p.topology == "torus":  # wrap-around links
                    b = tuple(v % e for v, e in zip(b, p.grid))
                k = link_kind(p, a, b)
                if k:
                    g.add_edge(a, b, kind=k)
    if p.topology == "chiplet":
        cx, cy = p.chiplets
        for x in range(cx):
            for y in range(cy):
                for nx_, ny_ in ((x + 1, y), (x, y + 1), (x - 1, y), (x, y - 1)):
                    if 0 <= nx_ < cx and 0 <= ny_ < cy and _chip_link(p, (x, y), (nx_, ny_)):
                        g.add_edge(_gw(p, (x, y)), _gw(p, (nx_, ny_)), kind="interposer")
    return g


def _dor(src: Node, dst: Node) -> list[Node]:
    """Dimension order: x first, then y, then z."""
    path, cur = [src], list(src)
    for axis in range(len(src)):
        while cur[axis] != dst[axis]:
            cur[axis] += 1 if dst[axis] > cur[axis] else -1
            path.append(tuple(cur))
    return path


def _route(p: NocParams, src: Node, dst: Node) -> tuple[Node, ...]:
    key = f"{','.join(map(str, src))}->{','.join(map(str, dst))}"
    if key in p.route_table:
        return tuple(tuple(n) for n in p.route_table[key])
    if p.topology == "torus":
        return tuple(_torus_walk(src, dst, p.grid))
    if p.topology == "graph":
        return _graph_path(p, src, dst)
    if p.topology != "chiplet" or _chip(p, src) == _chip(p, dst):
        return tuple(_dor(src, dst))
    cs, cd = _chip(p, src), _chip(p, dst)
    path = _dor(src, _gw(p, cs))
    hops = floret.chip_path(*p.chiplets, cs, cd) if p.interposer == "floret" else _dor(cs, cd)
    for chip in hops[1:]:
        path.append(_gw(p, chip))
    path += _dor(_gw(p, cd), dst)[1:]
    return tuple(path)


def _torus_walk(src: Node, dst: Node, grid: tuple[int, ...]) -> list[Node]:
    """Dimension order on a torus, the shorter way round (ties: the positive way)."""
    path, cur = [src], list(src)
    for axis, k in enumerate(grid):
        fwd = (dst[axis] - cur[axis]) % k
        step = 1 if fwd <= k - fwd else -1
        while cur[axis] != dst[axis]:
            cur[axis] = (cur[axis] + step) % k
            path.append(tuple(cur))
    return path


def _graph_path(p: NocParams, src: Node, dst: Node) -> tuple[Node, ...]:
    """Shortest path on the graph topology, at each step the lowest-numbered neighbour one hop
    closer (the router model's next-hop rule)."""
    memo = _memo(p)
    key = ("dist", dst)
    dist = memo.get(key)
    if dist is None:
        g = nx.Graph(list(p.graph_edges))
        g.add_nodes_from(range(p.dims[0]))
        dist = memo[key] = nx.single_source_shortest_path_length(g, dst[0])
    if src[0] not in dist:
        raise PrismError(f"noc: graph router {src[0]} cannot reach router {dst[0]} (the graph is not connected)")
    path, cur = [src], src[0]
    adj = {}
    for a, b in _edges(p):
        adj.setdefault(a, []).append(b)
    while cur != dst[0]:
        cur = min(b for b in adj[cur] if dist.get(b, -1) == dist[cur] - 1)
        path.append((cur,))
    return tuple(path)


_CACHE: dict[int, tuple[NocParams, dict]] = {}


def _memo(p: NocParams) -> dict:
    """A memo for one NocParams object (frozen; keyed by identity and kept alive with it)."""
    ent = _CACHE.get(id(p))
    if ent is None or ent[0] is not p:
        if len(_CACHE) > 64:
            _CACHE.clear()
        ent = _CACHE[id(p)] = (p, {})
    return ent[1]


def route(p: NocParams, src: Node, dst: Node, cache: bool = True) -> tuple[Node, ...]:
    """The deterministic route from ``src`` to ``dst``, both end routers included (memoized per
    NocParams object unless ``cache`` is False: for sweeps over every pair of a large NoC)."""
    if not cache:
        return _route(p, tuple(src), tuple(dst))
    memo = _memo(p)
    key = (src, dst)
    r = memo.get(key)
    if r is None:
        r = memo[key] = _route(p, tuple(src), tuple(dst))
    return r


def route_links(p: NocParams, src: Node, dst: Node) -> tuple[int, tuple[tuple[Node, Node, int, int], ...]]:
    """Zero-load head latency (ps) of the route and its links as (a, b, width bytes, latency
    cycles), memoized per NocParams object."""
    memo = _memo(p)
    key = ("links", src, dst)
    r = memo.get(key)
    if r is None:
        path = route(p, src, dst)
        links = tuple((a, b, *link_props(p, k)[:2]) for (a, b), k in zip(zip(path, path[1:]), _kinds(p, path)))
        r = memo[key] = (head_latency_ps(p, path), links)
    return r


def xy_route(src: Node, dst: Node) -> tuple[Node, ...]:
    """Dimension-order route on a plain mesh (or 3D mesh)."""
    return tuple(_dor(tuple(src), tuple(dst)))


def hops(src: Node, dst: Node) -> int:
    """Hops of the dimension-order route on a plain mesh."""
    return sum(abs(a - b) for a, b in zip(src, dst))


def link_props(p: NocParams, kind: str) -> tuple[int, int, float]:
    """(width bytes, latency cycles, pJ per bit) of a link kind."""
    if kind == "interposer":
        return max(1, p.interposer_width_bits // 8), p.interposer_latency_cycles, p.interposer_pj_per_bit
    if kind == "tsv":
        return max(1, p.tsv_width_bits // 8), p.tsv_latency_cycles, p.tsv_pj_per_bit
    return p.flit_bytes, p.link_latency_cycles, p.link_pj_per_bit


def _kinds(p: NocParams, path: tuple[Node, ...]) -> tuple[str, ...]:
    memo = _memo(p)
    key = ("kinds", path)
    r = memo.get(key)
    if r is None:
        r = memo[key] = tuple(link_kind(p, a, b) or "interposer" for a, b in zip(path, path[1:]))
    return r


def _path_sums(p: NocParams, path: tuple[Node, ...]) -> tuple[int, float, int]:
    """(link latency cycles, link pJ per bit, narrowest link width bytes) summed or taken over
    ``path``'s links, memoized per NocParams object (plans ask for the same routes many times)."""
    memo = _memo(p)
    key = ("sums", path)
    r = memo.get(key)
    if r is None:
        props = [link_props(p, k) for k in _kinds(p, path)]
        r = memo[key] = (sum(x[1] for x in props), sum(x[2] for x in props),
                         min([p.flit_bytes] + [x[0] for x in props]))
    return r


def transfer_energy(p: NocParams, path: tuple[Node, ...], nbytes: int) -> Cost:
    """Energy of ``nbytes`` along ``path``: every router it passes and every link by kind (time: see sim)."""
    bits = nbytes * 8
    return Cost(0, {"router": bits * len(path) * p.router_pj_per_bit, "link": bits * _path_sums(p, path)[1]})


def mesh_energy_pj(p: NocParams, nbytes: float, hops: float) -> float:
    """``transfer_energy`` of ``nbytes`` over ``hops`` mesh links (``hops`` + 1 routers), for
    estimates that know a route's length but not its links; ``hops`` may be a byte-weighted mean
    over several transfers."""
    bits = nbytes * 8
    return bits * (hops + 1) * p.router_pj_per_bit + bits * hops * p.link_pj_per_bit


def head_latency_ps(p: NocParams, path: tuple[Node, ...]) -> int:
    """Zero-load latency of a transfer's first flit in the router model (``sim.router``), from
    the cycle it is sent to the cycle it arrives: channels deliver at latency + 1 cycles (BookSim's),
    so 2 cycles into the first router and 2 out of the last, RC + VA + SA + ST - 1 in each router,
    and link latency + 1 per link (+ ceil(flit / width) - 1 on a link narrower than a flit)."""
    hops = len(path) - 1
    narrow = sum(-(-p.flit_bytes // link_props(p, k)[0]) - 1 for k in _kinds(p, path))  # a flit crosses in ceil(flit / width)
    cyc = 4 + len(path) * (sum(p.stages) - 1) + _path_sums(p, path)[0] + hops + narrow
    return int(round(cyc * p.cycle_ps))


def port_cycles_per_flit(p: NocParams, bandwidth_gbps: float | None = None) -> float:
    """Cycles a memory port (or, with None, a node's port) takes per flit: at most a flit a cycle."""
    if bandwidth_gbps is None:
        return 1.0
    return max(1.0, p.flit_bytes / (bandwidth_gbps * p.cycle_ps / 1000))


def serialization_ps(p: NocParams, path: tuple[Node, ...], nbytes: int, src_per: float = 1.0,
                     dst_per: float = 1.0) -> int:
    """Time the last flit of ``nbytes`` arrives after the first at zero load in the router model.
    Flits follow the head a cycle apart (SA cycles apart when SA takes more), or ``s`` cycles apart behind a link narrower than a flit
    (``s = ceil(flit / width)``) or a slow memory port (``src_per`` sending, ``dst_per`` taking);
    a body flit skips RC and VA, so past such a link it gains RC + VA cycles per router on the
    head: the tail arrives max(F - 1, max over links j of (F - 1) s_j - (RC + VA) x routers after j)
    cycles after the head. With one VC (per dateline class on a torus), every packet after the first also waits RC + VA cycles for
    its VC (wormhole: the VC frees when the tail leaves). Exact (tests/test_noc_theory.py) but when
    the last packet is a single flit behind a narrow link: a head does not catch up, and the
    closed form is then a few cycles short; with 1 VC it is exact on links a flit wide only."""
    flits = -(-nbytes // p.flit_bytes)
    if flits <= 1:
        return 0
    save = p.stages[0] + p.stages[1]
    routers = len(path)
    pers = [(src_per, routers)]
    for j, k in enumerate(_kinds(p, path)):
        pers.append((-(-p.flit_bytes // link_props(p, k)[0]), routers - 1 - j))
    pers.append((dst_per, 0))
    sa = p.stages[2]  # a VC sends a flit per SA cycles (the allocator is not pipelined, as BookSim's)
    cyc = max([(flits - 1.0) * sa] + [(flits - 1) * s - save * after for s, after in pers if s > sa])
    packets = -(-flits // p.packet_flits)
    if (p.vcs // 2 if p.topology == "torus" else p.vcs) == 1:  # a torus packet uses its dateline class's half
        cyc += (packets - 1) * save
    return int(round(cyc * p.cycle_ps))


def flits_ps(p: NocParams, nflits: int) -> int:
    """Serialization of ``nflits`` on one link."""
    return int(round(nflits * p.cycle_ps))


def check_deadlock_free(p: NocParams, pairs) -> None:
    """Raise PrismError naming the links of a cycle if the routes of ``pairs`` can deadlock:
    a routing function is deadlock-free iff its channel dependency graph is acyclic."""
    cdg = nx.DiGraph()
    for s, d in pairs:
        path = route(p, s, d)
        links = list(zip(path, path[1:]))
        cdg.add_edges_from(zip(links, links[1:]))
    try:
        cycle = nx.find_cycle(cdg)
    except nx.NetworkXNoCycle:
        return
    names = " -> ".join(f"{','.join(map(str, a))}>{','.join(map(str, b))}" for (a, b), _ in cycle)
    raise PrismError(f"noc: routes can deadlock: channel dependency cycle through links {names}")
