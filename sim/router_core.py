"""The cycle loop of the flit-level router model, compiled with numba (see ``sim.router`` for the
model; ``RouterNet`` owns the arrays). One call of ``run`` advances the network from cycle ``t``
to ``t_end``, or until a delivery (when asked), the delivery buffer fills, the pool runs low, or
nothing has moved for ``cfg[C_DEADLOCK]`` cycles with flits in the network. When nothing is in
flight or queued the clock jumps to ``t_end`` (external traffic only).

Per cycle, in BookSim's order: credits and flits whose channel delay ends now arrive; sources
create messages; every endpoint sends at most one flit (cutting its message into packets); every
router with flits runs its stages — route (RC), VC allocation (VA), switch allocation (SA) — and
the flits granted the switch leave their input buffers, cross the switch (ST) and their link,
and send a credit upstream.

Endpoints are where traffic enters and leaves: endpoint ``e`` sits on local port ``ep_p[e]`` of
router ``ep_r[e]`` (endpoint r is port 0 of router r; memories get ports of their own).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .router_layout import (ACTIVE, C_B, C_CD, C_DEADLOCK, C_RD, C_SAALG, C_SAD, C_STD, C_V, C_VAALG, C_VAD,
                            C_WTC, CLS, DIM, G_ON, G_W0, G_W1, HOPS, IDLE, K_INFLIGHT, K_LASTMOVE, K_MOVES, K_NDL,
                            K_NFREE, K_QUEUED, K_WHEEL, RETURN_DEADLOCK, RETURN_DELIVERED, RETURN_END, RETURN_POOL,
                            ROUTING, SIZE, VA)
from .router_routing import route_head
from .router_sources import eject, generate, inject, push


@nb.njit(cache=True)
def run(t, t_end, cfg, topo, rs, es, pk, free, ctr, fw, fwn, cw, cwn, gen, perm, hot, hotcum, sizes, sizecum,
        stats, hist, accnode, lbusy, dl, stop_on_delivery):
    nbr, nbr_in, lat, ser, up, up_port, up_lat, nxt, wrap, dim, coord, paths, loc, ep_r, ep_p, ep_per = topo
    bpid, bseq, bhd, bn, vst, vrd, vout, vovc, vlo, vhi, ocr, oown, otl, va_ip, va_op, sa_ip, sa_op, sa_ac, \
        rfl, obusy, wake, npend = rs
    sq, ncur, nvc, nseq, ncr, nown, nlast, ep_next, onstate = es
    N, P = nbr.shape
    E = ep_r.shape[0]
    V, B, RD, WTC = cfg[C_V], cfg[C_B], cfg[C_RD], cfg[C_WTC]
    synth = gen[G_ON] > 0
    w0, w1 = gen[G_W0], gen[G_W1]
    PV = P * V
    scratch = np.empty((4, PV), np.int64)   # allocation scratch, per router per cycle
    sw = np.empty((4, P), np.int64)
    while t < t_end:
        if not synth and ctr[K_INFLIGHT] == 0 and ctr[K_WHEEL] == 0 and ctr[K_QUEUED] == 0:
            return t_end, RETURN_END  # nothing moves until someone submits: jump
        if ctr[K_NFREE] < 2 * E + 2:
            return t, RETURN_POOL
        slot = t & (fwn.shape[0] - 1)
        for k in range(cwn[slot]):  # credits arrive
            r, p, v = cw[slot, k, 0], cw[slot, k, 1], cw[slot, k, 2]
            if p < 0:
                ncr[r, v] += 1
            else:
                ocr[r, p, v] += 1
                wake[r] = t
                if WTC == 1 and otl[r, p, v] == 1 and ocr[r, p, v] == B:
                    otl[r, p, v] = 0
                    oown[r, p, v] = -1
        ctr[K_WHEEL] -= cwn[slot]
        cwn[slot] = 0
        for k in range(fwn[slot]):  # flits arrive
            r, p, v, pid, seq = fw[slot, k, 0], fw[slot, k, 1], fw[slot, k, 2], fw[slot, k, 3], fw[slot, k, 4]
            if p < 0:
                eject(t, r, v, pid, seq, topo, cfg, pk, free, ctr, cw, cwn, stats, hist, accnode, dl, w0, w1, synth)
                continue
            bpid[r, p, v, (bhd[r, p, v] + bn[r, p, v]) % B] = pid
            bseq[r, p, v, (bhd[r, p, v] + bn[r, p, v]) % B] = seq
            bn[r, p, v] += 1
            rfl[r] += 1
            wake[r] = t
            if vst[r, p, v] == IDLE:
                vst[r, p, v] = ROUTING
                vrd[r, p, v] = t
                npend[r] += 1
        ctr[K_WHEEL] -= fwn[slot]
        fwn[slot] = 0
        if synth:
            generate(t, E, gen, perm, hot, hotcum, sizes, sizecum, onstate, pk, free, ctr, sq, stats)
        inject(t, E, V, topo, sq, ncur, nvc, nseq, ncr, nown, nlast, ep_next, pk, free, ctr, fw, fwn)
        for r in range(N):
            if rfl[r] == 0 or wake[r] > t:  # a router with nothing that can change sleeps
                continue
            acted = False
            if npend[r] > 0:  # heads in RC or VA
                for p in range(P):  # RC: heads whose route stage ends now go to VC allocation
                    for v in range(V):
                        if vst[r, p, v] == ROUTING and t >= vrd[r, p, v] + RD:
                            op, lo, hi = route_head(r, bpid[r, p, v, bhd[r, p, v]], topo, pk, cfg, ocr, oown)
                            vout[r, p, v], vlo[r, p, v], vhi[r, p, v] = op, lo, hi
                            vst[r, p, v] = VA
                            vrd[r, p, v] = t
                            acted = True
                acted |= _allocate_vcs(r, t, P, V, cfg, topo, rs, pk, scratch)
            acted |= _allocate_switch(r, t, P, V, cfg, topo, rs, pk, ctr, fw, fwn, cw, cwn, lbusy, sw)
            wake[r] = t + 1 if acted else _next_wake(r, t, P, V, RD, rs)
        t += 1
        if ctr[K_INFLIGHT] > 0 and t - ctr[K_LASTMOVE] > cfg[C_DEADLOCK]:
            return t, RETURN_DEADLOCK
        if ctr[K_NDL] > 0 and (stop_on_delivery or ctr[K_NDL] > dl.shape[0] - 4 * E):
            return t, RETURN_DELIVERED
    return t, RETURN_END


@nb.njit(cache=True)
def _next_wake(r, t, P, V, RD, rs):
    """The first cycle router r, which did nothing at cycle t, can act again by itself (a stage
    ends, a VC becomes ready, an output port frees); arriving flits and credits wake it too."""
    bn, vst, vrd, vout, vovc, ocr, obusy = rs[3], rs[4], rs[5], rs[6], rs[7], rs[10], rs[19]
    nxt = np.int64(1) << 62
    for p in range(P):
        for v in range(V):
            st = vst[r, p, v]
            if st == ROUTING:
                nxt = min(nxt, vrd[r, p, v] + RD)
            elif st == VA:
                if vrd[r, p, v] > t:
                    nxt = min(nxt, vrd[r, p, v])
            elif st == ACTIVE and bn[r, p, v] > 0:
                if vrd[r, p, v] > t:
                    nxt = min(nxt, vrd[r, p, v])
                elif ocr[r, vout[r, p, v], vovc[r, p, v]] > 0:
                    nxt = min(nxt, np.int64(np.ceil(obusy[r, vout[r, p, v]])))
    return max(nxt, t + 1)


@nb.njit(cache=True)
def _allocate_vcs(r, t, P, V, cfg, topo, rs, pk, scratch):
    """VA at router r: separable input-first round robin, or iSLIP (grant then accept), one iteration."""
    bpid, bseq, bhd, bn, vst, vrd, vout, vovc, vlo, vhi, ocr, oown, otl, va_ip, va_op, sa_ip, sa_op, sa_ac, \
        rfl, obusy, wake, npend = rs
    dim = topo[9]
    PV = P * V
    islip = cfg[C_VAALG] == 1
    nreq = 0
    for p in range(P):
        for v in range(V):
            if vst[r, p, v] != VA or vrd[r, p, v] > t:
                continue
            if nreq == 0:
                best_in, best_d = scratch[0], scratch[1]  # per output VC: the requester nearest its pointer
                best_in[:] = -1
                best_d[:] = PV + 1
            op, lo = vout[r, p, v], vlo[r, p, v]
            span = vhi[r, p, v] - lo
            me = p * V + v
            for i in range(1, span + 1):  # input-first: one free output VC; iSLIP: all of them
                ov = lo + (va_ip[r, p, v] - lo + i) % span
                if oown[r, op, ov] >= 0:
                    continue
                o = op * V + ov
                d = (me - va_op[r, op, ov] - 1) % PV
                if d < best_d[o]:
                    best_d[o] = d
                    best_in[o] = me
                nreq += 1
                if not islip:
                    break
    if nreq == 0:
        return False
    best_in, best_d = scratch[0], scratch[1]
    accept = scratch[2]    # per input VC: the output VC it takes
    accept[:] = -1
    if islip:  # each input VC accepts, among the output VCs granting it, the nearest after its pointer
        acc_d = scratch[3]
        acc_d[:] = PV + 1
        for o in range(PV):
            me = best_in[o]
            if me >= 0:
                p, v = me // V, me % V
                d = (o % V - va_ip[r, p, v] - 1) % (vhi[r, p, v] - vlo[r, p, v])
                if d < acc_d[me]:
                    acc_d[me] = d
                    accept[me] = o
    else:
        for o in range(PV):
            if best_in[o] >= 0:
                accept[best_in[o]] = o
    for me in range(PV):
        o = accept[me]
        if o < 0:
            continue
        p, v, op, ov = me // V, me % V, o // V, o % V
        oown[r, op, ov] = me
        va_op[r, op, ov] = me
        va_ip[r, p, v] = ov
        vovc[r, p, v] = ov
        vst[r, p, v] = ACTIVE
        npend[r] -= 1
        vrd[r, p, v] = t + cfg[C_VAD]
        if dim[r, op] >= 0:  # the head commits its dimension and dateline class (torus)
            pid = bpid[r, p, v, bhd[r, p, v]]
            pk[pid, DIM] = dim[r, op]
            pk[pid, CLS] = 1 if V > 1 and ov >= V // 2 else 0
    return True


@nb.njit(cache=True, inline="always")
def _eligible(r, p, v, t, rs):
    """Input VC (p, v) has a flit ready for the switch, a credit downstream and a free output port."""
    bn, vst, vrd, vout, vovc, ocr, obusy = rs[3], rs[4], rs[5], rs[6], rs[7], rs[10], rs[19]
    return vst[r, p, v] == ACTIVE and bn[r, p, v] > 0 and vrd[r, p, v] <= t \
        and ocr[r, vout[r, p, v], vovc[r, p, v]] > 0 and obusy[r, vout[r, p, v]] <= t


@nb.njit(cache=True)
def _allocate_switch(r, t, P, V, cfg, topo, rs, pk, ctr, fw, fwn, cw, cwn, lbusy, sw):
    """SA at router r: one flit per input and per output port; separable input-first round robin,
    or iSLIP (outputs grant, inputs accept, pointers move on accept)."""
    vout, sa_ip, sa_op, sa_ac = rs[6], rs[15], rs[16], rs[17]
    islip = cfg[C_SAALG] == 1
    sa_req, grant_in, grant_d = sw[0], sw[1], sw[2]  # the VC each input put forward; per output the
    sa_req[:] = -1                                   # input it grants, at which round-robin distance
    grant_in[:] = -1
    grant_d[:] = P + 1
    anyreq = False
    for p in range(P):
        for i in range(1, V + 1):
            v = (sa_ip[r, p] + i) % V
            if not _eligible(r, p, v, t, rs):
                continue
            op = vout[r, p, v]
            d = (p - sa_op[r, op] - 1) % P
            if d < grant_d[op]:
                grant_d[op] = d
                grant_in[op] = p
            anyreq = True
            if not islip:
                sa_req[p] = v
                break
    if not anyreq:
        return False
    if not islip:
        for op in range(P):
            p = grant_in[op]
            if p >= 0:
                sa_op[r, op] = p
                sa_ip[r, p] = sa_req[p]
                _traverse(r, p, sa_req[p], op, t, cfg, topo, rs, pk, ctr, fw, fwn, cw, cwn, lbusy)
        return True
    take = sw[3]       # iSLIP: the granting output each input accepts
    take[:] = -1
    for op in range(P):
        p = grant_in[op]
        if p >= 0 and (take[p] < 0 or (op - sa_ac[r, p] - 1) % P < (take[p] - sa_ac[r, p] - 1) % P):
            take[p] = op
    for p in range(P):
        op = take[p]
        if op < 0:
            continue
        for i in range(1, V + 1):  # the input's VC for that output, round robin
            v = (sa_ip[r, p] + i) % V
            if vout[r, p, v] == op and _eligible(r, p, v, t, rs):
                sa_op[r, op] = p
                sa_ac[r, p] = op
                sa_ip[r, p] = v
                _traverse(r, p, v, op, t, cfg, topo, rs, pk, ctr, fw, fwn, cw, cwn, lbusy)
                break
    return True


@nb.njit(cache=True)
def _traverse(r, p, v, op, t, cfg, topo, rs, pk, ctr, fw, fwn, cw, cwn, lbusy):
    """The front flit of input VC (p, v) won output ``op`` at cycle t: it leaves its buffer, crosses
    the switch and the link; a credit goes back upstream."""
    nbr, nbr_in, lat, ser, up, up_port, up_lat, nxt, wrap, dim, coord, paths, loc, ep_r, ep_p, ep_per = topo
    bpid, bseq, bhd, bn, vst, vrd, vout, vovc, vlo, vhi, ocr, oown, otl, va_ip, va_op, sa_ip, sa_op, sa_ac, \
        rfl, obusy, wake, npend = rs
    B = cfg[C_B]
    h = bhd[r, p, v]
    pid, seq = bpid[r, p, v, h], bseq[r, p, v, h]
    bhd[r, p, v] = (h + 1) % B
    bn[r, p, v] -= 1
    rfl[r] -= 1
    ov = vovc[r, p, v]
    ocr[r, op, ov] -= 1
    ctr[K_MOVES] += 1
    ctr[K_LASTMOVE] = t
    leave = t + cfg[C_SAD] - 1   # the buffer slot is free once SA completes
    # the flit is sent on its channel after ST; a channel of latency L delivers at L + 1 cycles
    # (BookSim's channels); a link narrower than a flit (or a memory port) is busy ser cycles
    s = ser[r, op]
    obusy[r, op] = (obusy[r, op] if obusy[r, op] > t - 1 else t) + s   # fractional credit kept
    lbusy[r, op] += s
    depart = leave + cfg[C_STD] + int(np.ceil(s)) - 1
    if loc[r, p] >= 0:
        push(cw, cwn, leave + 2, loc[r, p], -1, v, 0, 0, ctr)
    else:
        push(cw, cwn, leave + up_lat[r, p] + 1 + cfg[C_CD], up[r, p], up_port[r, p], v, 0, 0, ctr)
    if loc[r, op] >= 0:
        push(fw, fwn, depart + lat[r, op] + 1, loc[r, op], -1, ov, pid, seq, ctr)
    else:
        push(fw, fwn, depart + lat[r, op] + 1, nbr[r, op], nbr_in[r, op], ov, pid, seq, ctr)
        if seq == 0:
            pk[pid, HOPS] += 1
    if seq == pk[pid, SIZE] - 1:  # tail: the output VC frees (or waits for its credit), the input VC too
        if cfg[C_WTC] == 1:
            otl[r, op, ov] = 1
        else:
            oown[r, op, ov] = -1
        if bn[r, p, v] > 0:
            vst[r, p, v] = ROUTING
            vrd[r, p, v] = t + 1
            npend[r] += 1
        else:
            vst[r, p, v] = IDLE
    else:
        vrd[r, p, v] = t + cfg[C_SAD]

