"""The routing function of the router model: a head flit's output port and VC range at a router
(``sim.fabric`` builds the tables it reads)."""
from __future__ import annotations

import numba as nb
import numpy as np

from .router_layout import C_ROUTING, C_V, CLS, DIM, DST, HOPS, PATH, SRC


@nb.njit(cache=True)
def route_head(r, pid, topo, pk, cfg, ocr, oown):
    """Output port and VC range [lo, hi) for the head of packet ``pid`` at router ``r``."""
    nbr, nbr_in, lat, ser, up, up_port, up_lat, nxt, wrap, dim, coord, paths, loc, ep_r, ep_p, ep_per = topo
    V = cfg[C_V]
    dst_ep = pk[pid, DST]
    dst = ep_r[dst_ep]
    if dst == r:
        return ep_p[dst_ep], 0, V
    if pk[pid, PATH] >= 0:
        return paths[pk[pid, PATH], pk[pid, HOPS]], 0, V
    alg = cfg[C_ROUTING]
    if alg == 0:
        return nxt[r, dst], 0, V
    if alg == 3:  # torus: dateline classes, the upper half of the VCs from the wrap-around link on
        op = nxt[r, dst]
        crossed = pk[pid, CLS] if pk[pid, DIM] == dim[r, op] else 0
        half = V // 2
        if crossed == 1 or wrap[r, op] == 1:
            return op, half, V
        return op, 0, half
    # adaptive on a 2D mesh: ports 1 +x, 2 -x, 3 +y, 4 -y
    dx = coord[dst, 0] - coord[r, 0]
    dy = coord[dst, 1] - coord[r, 1]
    ydir = 3 if dy > 0 else 4
    cand = np.zeros(3, np.int64)
    nc = 0
    if alg == 1:  # west-first: west only first, then adaptively among the productive ports
        if dx < 0:
            return 2, 0, V
        if dx > 0:
            cand[nc] = 1
            nc += 1
        if dy != 0:
            cand[nc] = ydir
            nc += 1
    else:  # odd-even turn model (Chiu 2000), minimal
        cx = coord[r, 0]
        sx = coord[ep_r[pk[pid, SRC]], 0]
        if dx == 0:
            cand[nc] = ydir
            nc += 1
        elif dx > 0:
            if dy == 0:
                cand[nc] = 1
                nc += 1
            else:
                if cx % 2 == 1 or cx == sx:
                    cand[nc] = ydir
                    nc += 1
                if coord[dst, 0] % 2 == 1 or dx != 1:
                    cand[nc] = 1
                    nc += 1
        else:
            cand[nc] = 2
            nc += 1
            if cx % 2 == 0 and dy != 0:
                cand[nc] = ydir
                nc += 1
    best, bestc = cand[0], -1
    for k in range(nc):  # the port whose free output VCs have the most credits
        op = cand[k]
        c = 0
        for v in range(V):
            if oown[r, op, v] < 0:
                c += ocr[r, op, v]
        if c > bestc:
            best, bestc = op, c
    return best, 0, V

