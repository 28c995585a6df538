"""A network as arrays for the flit-level router model (``sim.router``): routers, their ports,
the links between ports, and the routing function.

Every router has port 0 for its node (injection in, ejection out) and one port per neighbour. On
the mesh-like topologies the ports have fixed directions (1 +x, 2 -x, 3 +y, 4 -y, 5 +z, 6 -z), which
the turn-model adaptive routings need; on a user graph they follow the neighbours' order.

Routing (``NocParams.routing``):

* ``dor``: dimension order (the deterministic routes of ``hw.noc.route``, route_table overrides
  included) as a next-hop table; on a torus the shorter way round, with dateline virtual-channel
  classes (the lower half of the VCs before a packet crosses a dimension's wrap-around link, the
  upper half from that link on), which breaks the ring's cyclic dependency (Dally & Seitz).
* ``west_first`` and ``odd_even``: minimal adaptive routing on a 2D mesh by the turn model (Glass &
  Ni 1992) and the odd-even turn model (Chiu 2000); among the allowed ports the one whose
  downstream VCs have the most free credits, dimension order breaking ties.
* on a ``graph`` topology: shortest paths (networkx BFS), a next-hop table per destination. Such
  routes can deadlock; the simulator then says so.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, link_props, nodes, parse_pair, route

ROUTING_CODES = {"dor": 0, "west_first": 1, "odd_even": 2}
TORUS = 3  # routing code: dimension order on a torus with dateline VC classes


@dataclass
class Fabric:
    """The network's wiring (all arrays indexed by router, then port)."""
    nodes: list                 # router coordinates, index = router id
    index: dict                 # coordinates -> router id
    ports: int                  # ports per router, port 0 the node's
    nbr: np.ndarray             # [N, P] router the output port leads to (-1: none; port 0: the node)
    nbr_in: np.ndarray          # [N, P] input port it enters there
    lat: np.ndarray             # [N, P] link latency, cycles
    ser: np.ndarray             # [N, P] cycles a flit occupies the link (flit bytes / link width, rounded up)
    up: np.ndarray              # [N, P] router feeding this input port (-1: none)
    up_port: np.ndarray         # [N, P] its output port
    up_lat: np.ndarray          # [N, P] that link's latency
    next_port: np.ndarray       # [N, N] output port from router a toward router b (dor / graph)
    wrap: np.ndarray            # [N, P] 1 if the link wraps around (torus)
    dim: np.ndarray             # [N, P] dimension of the link (-1: node port)
    coord: np.ndarray           # [N, 3] coordinates (zero-padded)
    routing: int                # routing code (ROUTING_CODES, TORUS)
    link_kind: dict             # (router, port) -> "mesh" | "tsv" | "interposer" | "graph"
    overrides: dict             # (src id, dst id) -> tuple of output ports (route_table)
    loc: np.ndarray = None      # [N, P] endpoint on a local port (-1: a link port)
    ep_r: np.ndarray = None     # [E] router of each endpoint (endpoint r < N: port 0 of router r)
    ep_p: np.ndarray = None     # [E] its local port

    def with_endpoints(self, extra: list[int]) -> "Fabric":
        """Endpoints: port 0 of every router, then one more local port per entry of ``extra``
        (router ids; memories get ports of their own beside the unit's)."""
        N, P0 = self.nbr.shape
        per = np.bincount(np.asarray(extra, np.int64), minlength=N) if extra else np.zeros(N, np.int64)
        P = P0 + int(per.max(initial=0))
        def widen(a, fill):
            out = np.full((N, P), fill, a.dtype)
            out[:, :P0] = a
            return out
        nbr, nbr_in, lat, ser = widen(self.nbr, -1), widen(self.nbr_in, -1), widen(self.lat, 1), widen(self.ser, 1.0)
        up, up_port, up_lat = widen(self.up, -1), widen(self.up_port, 0), widen(self.up_lat, 1)
        wrap, dim = widen(self.wrap, 0), widen(self.dim, -1)
        loc = np.full((N, P), -1, np.int64)
        loc[:, 0] = np.arange(N)
        ep_r, ep_p = list(range(N)), [0] * N
        used = np.zeros(N, np.int64)
        for r in extra:
            port = P0 + used[r]
            used[r] += 1
            loc[r, port] = len(ep_r)
            nbr[r, port] = r
            ep_r.append(r)
            ep_p.append(port)
        return replace(self, ports=P, nbr=nbr, nbr_in=nbr_in, lat=lat, ser=ser, up=up, up_port=up_port,
                       up_lat=up_lat, wrap=wrap, dim=dim, loc=loc, ep_r=np.array(ep_r, np.int64),
                       ep_p=np.array(ep_p, np.int64))


def _direction(a: tuple, b: tuple) -> int:
    """Port of the link a -> b on the mesh-like topologies: 1 +x, 2 -x, 3 +y, 4 -y, 5 +z, 6 -z."""
    for axis, (u, v) in enumerate(zip(a, b)):
        if u != v:
            return 1 + 2 * axis + (0 if v > u else 1)
    raise ValueError("a link joins two routers")


def build(noc: NocParams, extra: list[int] | None = None) -> Fabric:
    """The arrays of ``noc``'s network, with an endpoint on port 0 of every router and one more
    local port per router id in ``extra``."""
    return (_build_graph(noc) if noc.topology == "graph" else _build_grid(noc)).with_endpoints(extra or [])


def _build_grid(noc: NocParams) -> Fabric:
    ns = [tuple(n) for n in nodes(noc)]
    idx = {n: i for i, n in enumerate(ns)}
    N = len(ns)
    torus = noc.topology == "torus"
    P = 1 + 2 * len(noc.grid) + (4 if noc.topology == "chiplet" else 0)
    nbr = np.full((N, P), -1, np.int32)
    nbr_in = np.full((N, P), -1, np.int32)
    lat = np.zeros((N, P), np.int32)
    ser = np.ones((N, P), np.float64)
    wrap = np.zeros((N, P), np.int8)
    dim = np.full((N, P), -1, np.int8)
    kinds = {}
    nbr[:, 0] = np.arange(N)
    nbr_in[:, 0] = 0
    lat[:, 0] = 1  # the node's channels: one cycle (BookSim's injection and ejection channels)
    links = []
    if torus:
        for a in ns:
            for axis in range(len(a)):
                k = noc.grid[axis]
                if k < 2:
                    continue
                for step in (1, -1):
                    b = list(a)
                    b[axis] = (a[axis] + step) % k
                    b = tuple(b)
                    if b == a or (k == 2 and step == -1):
                        continue  # a ring of two routers has one link each way
                    port = 1 + 2 * axis + (0 if step > 0 else 1)
                    w = (a[axis] + step) != b[axis]
                    links.append((a, b, port, "mesh", int(w), axis))
    else:
        from prismsim.hw.noc import graph
        g = graph(noc)
        for a, b, data in g.edges(data=True):
            kind = data["kind"]
            if kind == "interposer":
                port = _interposer_port(a, b, noc)
            else:
                port = _direction(a, b)
            axis = 2 if kind == "tsv" else (0 if a[0] != b[0] else 1)
            links.append((a, b, port, kind, 0, axis))
    for a, b, port, kind, w, axis in links:
        i, j = idx[a], idx[b]
        if nbr[i, port] != -1:
            raise PrismError(f"noc: router {list(a)} has two links on port {port}")
        back = _opposite(port)
        nbr[i, port], nbr_in[i, port] = j, back
        width, lat[i, port] = link_props(noc, kind)[:2]
        ser[i, port] = -(-noc.flit_bytes // width)
        wrap[i, port], dim[i, port] = w, axis
        kinds[i, port] = kind
    up, up_port, up_lat = _reverse(nbr, nbr_in, lat)
    up[:, 0], up_port[:, 0], up_lat[:, 0] = -1, 0, 1
    nxt = np.zeros((N, N), np.int8)
    overrides = {}
    if torus:
        for i, a in enumerate(ns):
            for j, b in enumerate(ns):
                nxt[i, j] = _torus_port(a, b, noc.grid)
    elif noc.topology in ("mesh", "mesh3d"):
        nxt = _dor_ports(np.array(ns, np.int32))
        for key in noc.route_table:
            s, d = parse_pair(key)
            nxt[idx[s], idx[d]] = _port_of(nbr, idx[s], idx[tuple(route(noc, s, d)[1])])
    else:  # chiplets: the first hop of each route (not memoized: N^2 routes would hold gigabytes)
        for i, a in enumerate(ns):
            for j, b in enumerate(ns):
                if i != j:
                    nxt[i, j] = _port_of(nbr, i, idx[tuple(route(noc, a, b, cache=False)[1])])
    if not torus:
        for key, path in noc.route_table.items():
            s, d = parse_pair(key)
            ids = [idx[tuple(n)] for n in path]
            overrides[idx[s], idx[d]] = tuple(_port_of(nbr, u, v) for u, v in zip(ids, ids[1:]))
    coord = np.zeros((N, 3), np.int32)
    for i, n in enumerate(ns):
        coord[i, :len(n)] = n
    code = TORUS if torus else ROUTING_CODES[noc.routing]
    if code in (1, 2) and (noc.topology != "mesh" or len(noc.grid) != 2):
        raise PrismError(f"noc: routing {noc.routing} needs a 2D mesh (got topology {noc.topology})")
    return Fabric(ns, idx, P, nbr, nbr_in, lat, ser, up, up_port, up_lat, nxt, wrap, dim, coord, code, kinds, overrides)


def _dor_ports(coord: np.ndarray) -> np.ndarray:
    """First-hop port from every router to every other under dimension order (x, then y, then z:
    ``hw.noc``'s routes), from the coordinates alone: port 1 + 2 axis, + 1 going down the axis."""
    n = len(coord)
    nxt = np.zeros((n, n), np.int8)
    done = np.zeros((n, n), bool)
    for axis in range(coord.shape[1]):
        dv = coord[None, :, axis] - coord[:, None, axis]
        move = ~done & (dv != 0)
        nxt[move] = np.where(dv > 0, 1 + 2 * axis, 2 + 2 * axis)[move]
        done |= dv != 0
    return nxt


def _opposite(port: int) -> int:
    return port + 1 if port % 2 == 1 else port - 1


def _interposer_port(a, b, noc) -> int:
    """A gateway's interposer ports (5 +x, 6 -x, 7 +y, 8 -y on the chiplet grid) come after its mesh ports."""
    ca = (a[0] // noc.dims[0], a[1] // noc.dims[1])
    cb = (b[0] // noc.dims[0], b[1] // noc.dims[1])
    return 4 + _direction(ca, cb)


def _reverse(nbr, nbr_in, lat):
    N, P = nbr.shape
    up = np.full((N, P), -1, np.int32)
    up_port = np.zeros((N, P), np.int32)
    up_lat = np.zeros((N, P), np.int32)
    for i in range(N):
        for p in range(1, P):
            j = nbr[i, p]
            if j >= 0:
                q = nbr_in[i, p]
                up[j, q], up_port[j, q], up_lat[j, q] = i, p, lat[i, p]
    return up, up_port, up_lat


def _port_of(nbr, i: int, j: int) -> int:
    for p in range(1, nbr.shape[1]):
        if nbr[i, p] == j:
            return p
    raise PrismError(f"noc: no link from router {i} to router {j}")


def _torus_port(a: tuple, b: tuple, grid: tuple) -> int:
    """Dimension order on a torus, the shorter way round (ties: the positive way)."""
    for axis, (u, v) in enumerate(zip(a, b)):
        if u != v:
            k = grid[axis]
            fwd = (v - u) % k
            return 1 + 2 * axis + (0 if fwd <= k - fwd else 1)
    return 0


def _build_graph(noc: NocParams) -> Fabric:
    g = nx.Graph()
    g.add_nodes_from(range(noc.dims[0]))
    g.add_edges_from((int(a), int(b)) for a, b in noc.graph_edges)
    N = noc.dims[0]
    deg = max((d for _, d in g.degree()), default=0)
    P = 1 + deg
    nbr = np.full((N, P), -1, np.int32)
    nbr_in = np.full((N, P), -1, np.int32)
    lat = np.zeros((N, P), np.int32)
    nbr[:, 0], nbr_in[:, 0], lat[:, 0] = np.arange(N), 0, 1
    kinds = {}
    port_to = {}
    for i in range(N):
        for k, j in enumerate(sorted(g.neighbors(i))):
            nbr[i, 1 + k] = j
            lat[i, 1 + k] = noc.link_latency_cycles
            port_to[i, j] = 1 + k
            kinds[i, 1 + k] = "graph"
    for i in range(N):
        for p in range(1, P):
            j = nbr[i, p]
            if j >= 0:
                nbr_in[i, p] = port_to[j, i]
    up, up_port, up_lat = _reverse(nbr, nbr_in, lat)
    up[:, 0], up_port[:, 0], up_lat[:, 0] = -1, 0, 1
    nxt = np.zeros((N, N), np.int8)
    for j in range(N):
        dist = nx.single_source_shortest_path_length(g, j)
        for i in range(N):
            if i == j:
                continue
            if i not in dist:
                raise PrismError(f"noc: graph router {i} cannot reach router {j} (the graph is not connected)")
            # the lowest-numbered neighbour one step closer: deterministic shortest paths
            nxt[i, j] = min(port_to[i, k] for k in g.neighbors(i) if dist.get(k, -1) == dist[i] - 1)
    coord = np.zeros((N, 3), np.int32)
    coord[:, 0] = np.arange(N)
    return Fabric([(i,) for i in range(N)], {(i,): i for i in range(N)}, P, nbr, nbr_in, lat, np.ones((N, P), np.float64), up, up_port,
                  up_lat, nxt, np.zeros((N, P), np.int8), np.full((N, P), -1, np.int8), coord, 0, kinds, {})
