"""The endpoints of the router model: the message pool, source queues, synthetic sources, and the
one-flit-per-cycle injection and ejection channels between an endpoint and its router."""
from __future__ import annotations

import numba as nb
import numpy as np

from .router_layout import (CT, CUT, DL_MESSAGE, DL_PACKET, DST, G_ALPHA, G_BETA, G_HOTSHARE, G_P,
                            G_PATTERN, G_PON, G_SOURCES, G_W0, G_W1, HOPS, IT, K_INFLIGHT, K_LASTMOVE,
                            K_MOVES, K_NDL, K_NFREE, K_QUEUED, K_WHEEL, LEFT, MEAS, MSG, NEXT, PATH, PLEFT,
                            S_ACC, S_HOPS, S_INJ, S_LAT, S_MAX, S_MIN, S_N, S_NET, S_NETMAX, S_NETMIN,
                            SIZE, SRC, TAG, C_CD, C_PERPKT, CLS, DIM)


@nb.njit(cache=True)
def seed(s):
    """Seed numba's random generator (the synthetic sources draw from it)."""
    np.random.seed(s)



@nb.njit(cache=True, inline="always")
def push(wheel, wn, t, a, b, c, d, e, ctr):
    """Schedule an arrival at cycle t on a timing wheel (flits: a router, b port, c VC, d packet,
    e flit index; credits: a router, b port, c VC; b = -1: endpoint a)."""
    ctr[K_WHEEL] += 1
    s = t & (wn.shape[0] - 1)
    k = wn[s]
    wheel[s, k, 0] = a
    wheel[s, k, 1] = b
    wheel[s, k, 2] = c
    wheel[s, k, 3] = d
    wheel[s, k, 4] = e
    wn[s] = k + 1



@nb.njit(cache=True)
def new_row(pk, free, ctr, src, dst, size, t, meas, tag, path):
    """A pool row: a message of ``size`` flits sent whole (CUT = SIZE), or a packet."""
    ctr[K_NFREE] -= 1
    pid = free[ctr[K_NFREE]]
    pk[pid, SRC] = src
    pk[pid, DST] = dst
    pk[pid, SIZE] = size
    pk[pid, CT] = t
    pk[pid, IT] = -1
    pk[pid, NEXT] = -1
    pk[pid, DIM] = -1
    pk[pid, CLS] = 0
    pk[pid, HOPS] = 0
    pk[pid, MEAS] = meas
    pk[pid, TAG] = tag
    pk[pid, PATH] = path
    pk[pid, MSG] = -1
    pk[pid, LEFT] = size
    pk[pid, PLEFT] = 1
    pk[pid, CUT] = size
    return pid


@nb.njit(cache=True)
def enqueue(pk, sq, pid, n, ctr):
    """Append message ``pid`` to endpoint ``n``'s source queue (sq[n] = head, tail, length)."""
    ctr[K_QUEUED] += 1
    if sq[n, 2] == 0:
        sq[n, 0] = pid
    else:
        pk[sq[n, 1], NEXT] = pid
    sq[n, 1] = pid
    sq[n, 2] += 1


@nb.njit(cache=True)
def submit(pk, free, ctr, sq, src, dst, size, cut, t, tag, path, meas):
    """A message of ``size`` flits from endpoint ``src`` to ``dst`` created at cycle ``t``, injected
    as packets of ``cut`` flits (the last one shorter)."""
    pid = new_row(pk, free, ctr, src, dst, size, t, meas, tag, path)
    pk[pid, CUT] = cut
    pk[pid, PLEFT] = (size + cut - 1) // cut
    enqueue(pk, sq, pid, src, ctr)
    return pid



@nb.njit(cache=True)
def generate(t, E, gen, perm, hot, hotcum, sizes, sizecum, onstate, pk, free, ctr, sq, stats):
    """Synthetic sources: each of the first ``gen[G_SOURCES]`` endpoints may create a message (one packet)."""
    for n in range(min(E, int(gen[G_SOURCES]))):
        p_inj = gen[G_P]
        if gen[G_ALPHA] > 0:  # on/off: a two-state Markov source, rate p_on while on
            if onstate[n] == 1:
                if np.random.random() < gen[G_BETA]:
                    onstate[n] = 0
            elif np.random.random() < gen[G_ALPHA]:
                onstate[n] = 1
            p_inj = gen[G_PON] if onstate[n] == 1 else 0.0
        if np.random.random() >= p_inj:
            continue
        pat = int(gen[G_PATTERN])
        nsrc = int(gen[G_SOURCES])
        if pat == 0:
            dst = np.random.randint(0, nsrc)
        elif pat == 1:
            dst = perm[n]
        elif np.random.random() < gen[G_HOTSHARE]:  # hotspot: a hot endpoint by weight
            u = np.random.random()
            j = 0
            while j < hot.shape[0] - 1 and u >= hotcum[j]:
                j += 1
            dst = hot[j]
        else:
            dst = np.random.randint(0, nsrc)
        size = sizes[0]
        if sizes.shape[0] > 1:
            u = np.random.random()
            j = 0
            while j < sizes.shape[0] - 1 and u >= sizecum[j]:
                j += 1
            size = sizes[j]
        meas = 1 if gen[G_W0] <= t < gen[G_W1] else 0
        if meas == 1:
            stats[S_INJ] += size
        enqueue(pk, sq, new_row(pk, free, ctr, n, dst, size, t, meas, 0, -1), n, ctr)



@nb.njit(cache=True)
def inject(t, E, V, topo, sq, ncur, nvc, nseq, ncr, nown, nlast, ep_next, pk, free, ctr, fw, fwn):
    """Every endpoint sends at most one flit over its one-cycle channel into its router."""
    nbr, nbr_in, lat, ser, up, up_port, up_lat, nxt, wrap, dim, coord, paths, loc, ep_r, ep_p, ep_per = topo
    for e in range(E):
        if ep_next[e] > t:
            continue
        if nvc[e] < 0:
            if sq[e, 2] == 0:
                continue
            msg = sq[e, 0]
            if pk[msg, CT] > t:  # created later (submitted ahead of the clock)
                continue
            for i in range(1, V + 1):  # a free injection VC, round robin (BookSim's source)
                v = (nlast[e] + i) % V
                if nown[e, v] == 0 and ncr[e, v] > 0:
                    size = min(pk[msg, CUT], pk[msg, LEFT])
                    pid = new_row(pk, free, ctr, pk[msg, SRC], pk[msg, DST], size, pk[msg, CT], pk[msg, MEAS],
                                   pk[msg, TAG], pk[msg, PATH])
                    pk[pid, MSG] = msg
                    pk[pid, IT] = t
                    if pk[msg, IT] < 0:
                        pk[msg, IT] = t
                    pk[msg, LEFT] -= size
                    if pk[msg, LEFT] == 0:  # the message's last packet: it leaves the queue
                        sq[e, 0] = pk[msg, NEXT]
                        sq[e, 2] -= 1
                    ncur[e] = pid
                    nvc[e] = v
                    nown[e, v] = 1
                    nlast[e] = v
                    nseq[e] = 0
                    break
        v = nvc[e]
        if v < 0 or ncr[e, v] <= 0:
            continue
        pid = ncur[e]
        push(fw, fwn, t + 2, ep_r[e], ep_p[e], v, pid, nseq[e], ctr)
        ncr[e, v] -= 1
        # a slow port keeps its fractional credit: a flit every 1.25 cycles on average, not every 2
        ep_next[e] = (ep_next[e] if ep_next[e] > t - 1 else t) + ep_per[e]
        ctr[K_INFLIGHT] += 1
        ctr[K_MOVES] += 1
        ctr[K_LASTMOVE] = t
        nseq[e] += 1
        if nseq[e] == pk[pid, SIZE]:
            nown[e, v] = 0
            nvc[e] = -1
            if pk[pk[pid, MSG], LEFT] == 0:
                ctr[K_QUEUED] -= 1



@nb.njit(cache=True)
def eject(t, e, v, pid, seq, topo, cfg, pk, free, ctr, cw, cwn, stats, hist, accnode, dl, w0, w1, synth):
    """A flit reaches endpoint ``e``: its credit goes back; a tail completes its packet (and maybe its message)."""
    ep_r, ep_p = topo[13], topo[14]
    push(cw, cwn, t + 2 + cfg[C_CD], ep_r[e], ep_p[e], v, 0, 0, ctr)
    ctr[K_MOVES] += 1
    ctr[K_LASTMOVE] = t
    ctr[K_INFLIGHT] -= 1
    if w0 <= t < w1:
        stats[S_ACC] += 1
        accnode[e] += 1
    if seq != pk[pid, SIZE] - 1:
        return
    H = hist.shape[1]
    if pk[pid, MEAS] == 1:
        lat_ = t - pk[pid, CT]
        net = t - pk[pid, IT]
        stats[S_N] += 1
        stats[S_LAT] += lat_
        stats[S_NET] += net
        stats[S_HOPS] += pk[pid, HOPS]
        stats[S_MIN] = min(stats[S_MIN], lat_)
        stats[S_MAX] = max(stats[S_MAX], lat_)
        stats[S_NETMIN] = min(stats[S_NETMIN], net)
        stats[S_NETMAX] = max(stats[S_NETMAX], net)
        hist[0, min(lat_, H - 1)] += 1
        hist[1, min(net, H - 1)] += 1
    msg = pk[pid, MSG]
    nd = ctr[K_NDL]
    if not synth and cfg[C_PERPKT] == 1:
        dl[nd, 0], dl[nd, 1], dl[nd, 2], dl[nd, 3], dl[nd, 4] = pk[pid, TAG], pk[pid, IT], t, DL_PACKET, pk[pid, SIZE]
        nd += 1
    pk[msg, PLEFT] -= 1
    if pk[msg, PLEFT] == 0:
        if not synth:
            dl[nd, 0], dl[nd, 1], dl[nd, 2], dl[nd, 3], dl[nd, 4] = pk[msg, TAG], pk[msg, IT], t, DL_MESSAGE, pk[msg, SIZE]
            nd += 1
        free[ctr[K_NFREE]] = msg
        ctr[K_NFREE] += 1
    ctr[K_NDL] = nd
    free[ctr[K_NFREE]] = pid
    ctr[K_NFREE] += 1

