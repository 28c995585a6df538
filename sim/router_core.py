"""The cycle loop of the flit-level router model, compiled with numba (see ``sim.router`` for the
model and its state). One call advances the network from cycle ``t`` until ``t_end``, or until the
delivery buffer fills, the packet pool runs low, or nothing has moved for ``deadlock_cycles``.

Per cycle, in BookSim's order: credits and flits whose channel delay ends now arrive; sources
create packets and send one flit each; every router with flits runs its stages — route (RC),
VC allocation (VA), switch allocation (SA) — and the flits granted the switch leave their input
buffers, cross the switch (ST) and their link, and return a credit upstream.
"""
from __future__ import annotations

import numba as nb
import numpy as np

# VC states
IDLE, ROUTING, VA, ACTIVE = 0, 1, 2, 3
# packet fields (columns of pk)
SRC, DST, SIZE, CT, IT, NEXT, DIM, CLS, HOPS, MEAS, TAG, PATH = range(12)
PK_FIELDS = 12
# cfg entries
C_V, C_B, C_RD, C_VAD, C_SAD, C_STD, C_CD, C_WTC, C_ROUTING, C_VAALG, C_SAALG, C_DEADLOCK = range(12)
# gen entries (synthetic traffic; float64)
G_ON, G_P, G_PATTERN, G_HOTSHARE, G_ALPHA, G_BETA, G_PON, G_W0, G_W1, G_SOURCES = range(10)
# stats entries (float64)
S_N, S_LAT, S_NET, S_HOPS, S_MIN, S_MAX, S_ACC, S_INJ, S_NETMIN, S_NETMAX, S_PKTS = range(11)
# ctr entries (int64)
K_NFREE, K_INFLIGHT, K_LASTMOVE, K_NDL, K_MOVES = range(5)

RETURN_END, RETURN_DELIVERED, RETURN_POOL, RETURN_DEADLOCK = 0, 1, 2, 3


@nb.njit(cache=True)
def seed(s):
    """Seed numba's random generator (the synthetic sources draw from it)."""
    np.random.seed(s)


@nb.njit(cache=True)
def _route(r, pid, p_in, nbr, nxt, wrap, dim, coord, pk, paths, cfg, ocr, oown):
    """Output port and VC range [lo, hi) for the head of packet ``pid`` at router ``r``."""
    V = cfg[C_V]
    dst = pk[pid, DST]
    if dst == r:
        return 0, 0, V
    if pk[pid, PATH] >= 0:
        return paths[pk[pid, PATH], pk[pid, HOPS]], 0, V
    alg = cfg[C_ROUTING]
    if alg == 0:
        return nxt[r, dst], 0, V
    if alg == 3:  # torus, dateline classes
        op = nxt[r, dst]
        d = dim[r, op]
        crossed = pk[pid, CLS] if pk[pid, DIM] == d else 0
        half = V // 2
        if crossed == 1 or wrap[r, op] == 1:
            return op, half, V
        return op, 0, half
    # adaptive on a 2D mesh: ports 1 +x, 2 -x, 3 +y, 4 -y
    dx = coord[dst, 0] - coord[r, 0]
    dy = coord[dst, 1] - coord[r, 1]
    cand = np.zeros(3, np.int64)
    nc = 0
    if alg == 1:  # west-first
        if dx < 0:
            return 2, 0, V
        if dx > 0:
            cand[nc] = 1
            nc += 1
        if dy > 0:
            cand[nc] = 3
            nc += 1
        elif dy < 0:
            cand[nc] = 4
            nc += 1
    else:  # odd-even (Chiu 2000), minimal
        cx = coord[r, 0]
        sx = coord[pk[pid, SRC], 0]
        if dx == 0:
            cand[nc] = 3 if dy > 0 else 4
            nc += 1
        elif dx > 0:
            if dy == 0:
                cand[nc] = 1
                nc += 1
            else:
                if cx % 2 == 1 or cx == sx:
                    cand[nc] = 3 if dy > 0 else 4
                    nc += 1
                if coord[dst, 0] % 2 == 1 or dx != 1:
                    cand[nc] = 1
                    nc += 1
        else:
            cand[nc] = 2
            nc += 1
            if cx % 2 == 0 and dy != 0:
                cand[nc] = 3 if dy > 0 else 4
                nc += 1
    best = cand[0]
    bestc = -1
    for k in range(nc):
        op = cand[k]
        c = 0
        for v in range(V):
            if oown[r, op, v] < 0:
                c += ocr[r, op, v]
        if c > bestc:
            best, bestc = op, c
    return best, 0, V


@nb.njit(cache=True)
def _push_flit(fw, fwn, D, t, r, p, v, pid, seq):
    s = t & (D - 1)
    k = fwn[s]
    fw[s, k, 0] = r
    fw[s, k, 1] = p
    fw[s, k, 2] = v
    fw[s, k, 3] = pid
    fw[s, k, 4] = seq
    fwn[s] = k + 1


@nb.njit(cache=True)
def _push_credit(cw, cwn, D, t, r, p, v):
    s = t & (D - 1)
    k = cwn[s]
    cw[s, k, 0] = r
    cw[s, k, 1] = p
    cw[s, k, 2] = v
    cwn[s] = k + 1


@nb.njit(cache=True)
def _new_packet(pk, free, ctr, src, dst, size, t, meas, tag, path):
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
    return pid


@nb.njit(cache=True)
def enqueue(pk, sq, pid, n):
    """Append packet ``pid`` to node ``n``'s source queue (sq[n] = head, tail, length)."""
    if sq[n, 2] == 0:
        sq[n, 0] = pid
    else:
        pk[sq[n, 1], NEXT] = pid
    sq[n, 1] = pid
    sq[n, 2] += 1


@nb.njit(cache=True)
def submit(pk, free, ctr, sq, src, dst, size, t, tag, path, meas):
    """A packet of ``size`` flits from router ``src`` to ``dst`` created at cycle ``t`` (external traffic)."""
    pid = _new_packet(pk, free, ctr, src, dst, size, t, meas, tag, path)
    enqueue(pk, sq, pid, src)
    return pid


@nb.njit(cache=True)
def run(t, t_end, cfg, nbr, nbr_in, lat, ser, obusy, up, up_port, up_lat, nxt, wrap, dim, coord, paths,
        bpid, bseq, bhd, bn, vst, vrd, vout, vovc, vlo, vhi, ocr, oown, otl, va_ip, va_op, sa_ip, sa_op, sa_ac, rfl,
        sq, nvc, nseq, ncr, nown, nlast, pk, free, ctr, fw, fwn, cw, cwn,
        gen, perm, hot, hotcum, sizes, sizecum, onstate, stats, hist, accnode, dl, stop_on_delivery):
    N, P = nbr.shape
    V = cfg[C_V]
    B = cfg[C_B]
    RD = cfg[C_RD]
    VAD = cfg[C_VAD]
    SAD = cfg[C_SAD]
    STD = cfg[C_STD]
    CD = cfg[C_CD]
    WTC = cfg[C_WTC]
    D = fwn.shape[0]
    synth = gen[G_ON] > 0
    w0 = gen[G_W0]
    w1 = gen[G_W1]
    H = hist.shape[1]
    PV = P * V
    # scratch for allocation
    req_op = np.empty(PV, np.int64)
    req_ovc = np.empty(PV, np.int64)
    best_in = np.empty(PV, np.int64)
    best_d = np.empty(PV, np.int64)
    sa_req = np.empty(P, np.int64)
    sa_out = np.full(P, -1, np.int64)
    grant_in = np.empty(P, np.int64)
    grant_d = np.empty(P, np.int64)
    ngen = int(gen[G_SOURCES])
    while t < t_end:
        if ctr[K_NFREE] < N + 1:
            return t, RETURN_POOL
        slot = t & (D - 1)
        # -- credits arrive
        for k in range(cwn[slot]):
            r = cw[slot, k, 0]
            p = cw[slot, k, 1]
            v = cw[slot, k, 2]
            if p < 0:
                ncr[r, v] += 1
            else:
                ocr[r, p, v] += 1
                if WTC == 1 and otl[r, p, v] == 1 and ocr[r, p, v] == B:
                    otl[r, p, v] = 0
                    oown[r, p, v] = -1
        cwn[slot] = 0
        # -- flits arrive
        for k in range(fwn[slot]):
            r = fw[slot, k, 0]
            p = fw[slot, k, 1]
            v = fw[slot, k, 2]
            pid = fw[slot, k, 3]
            seq = fw[slot, k, 4]
            if p < 0:  # ejected at node r: the credit goes back over the one-cycle ejection channel
                _push_credit(cw, cwn, D, t + 2 + CD, r, 0, v)
                ctr[K_MOVES] += 1
                ctr[K_LASTMOVE] = t
                ctr[K_INFLIGHT] -= 1
                if w0 <= t < w1:
                    stats[S_ACC] += 1
                    accnode[r] += 1
                if seq == pk[pid, SIZE] - 1:
                    if pk[pid, MEAS] == 1:
                        lat_ = t - pk[pid, CT]
                        net = t - pk[pid, IT]
                        stats[S_N] += 1
                        stats[S_LAT] += lat_
                        stats[S_NET] += net
                        stats[S_HOPS] += pk[pid, HOPS]
                        if lat_ < stats[S_MIN]:
                            stats[S_MIN] = lat_
                        if lat_ > stats[S_MAX]:
                            stats[S_MAX] = lat_
                        if net < stats[S_NETMIN]:
                            stats[S_NETMIN] = net
                        if net > stats[S_NETMAX]:
                            stats[S_NETMAX] = net
                        hist[0, min(lat_, H - 1)] += 1
                        hist[1, min(net, H - 1)] += 1
                    stats[S_PKTS] += 1
                    if not synth:
                        nd = ctr[K_NDL]
                        dl[nd, 0] = pk[pid, TAG]
                        dl[nd, 1] = pk[pid, IT]
                        dl[nd, 2] = t
                        ctr[K_NDL] = nd + 1
                    free[ctr[K_NFREE]] = pid
                    ctr[K_NFREE] += 1
                continue
            i = (bhd[r, p, v] + bn[r, p, v]) % B
            bpid[r, p, v, i] = pid
            bseq[r, p, v, i] = seq
            bn[r, p, v] += 1
            rfl[r] += 1
            if vst[r, p, v] == IDLE:
                vst[r, p, v] = ROUTING
                vrd[r, p, v] = t
        fwn[slot] = 0
        # -- sources create packets (synthetic traffic: Bernoulli or on/off, per node per cycle)
        if synth and ngen > 0:
            for n in range(N):
                if n >= ngen:
                    break
                p_inj = gen[G_P]
                if gen[G_ALPHA] > 0:  # on/off: a two-state Markov source, rate p_on while on
                    if onstate[n] == 1:
                        if np.random.random() < gen[G_BETA]:
                            onstate[n] = 0
                    elif np.random.random() < gen[G_ALPHA]:
                        onstate[n] = 1
                    p_inj = gen[G_PON] if onstate[n] == 1 else 0.0
                if np.random.random() < p_inj:
                    pat = int(gen[G_PATTERN])
                    if pat == 0:
                        dst = np.random.randint(0, N)
                    elif pat == 1:
                        dst = perm[n]
                    else:  # hotspot: a chosen node with probability hotshare (by weight), else uniform
                        if np.random.random() < gen[G_HOTSHARE]:
                            u = np.random.random()
                            j = 0
                            while j < hot.shape[0] - 1 and u >= hotcum[j]:
                                j += 1
                            dst = hot[j]
                        else:
                            dst = np.random.randint(0, N)
                    size = sizes[0]
                    if sizes.shape[0] > 1:
                        u = np.random.random()
                        j = 0
                        while j < sizes.shape[0] - 1 and u >= sizecum[j]:
                            j += 1
                        size = sizes[j]
                    meas = 1 if w0 <= t < w1 else 0
                    if meas == 1:
                        stats[S_INJ] += size
                    pid = _new_packet(pk, free, ctr, n, dst, size, t, meas, 0, -1)
                    enqueue(pk, sq, pid, n)
        # -- nodes send one flit each into their router's port 0
        for n in range(N):
            if sq[n, 2] == 0:
                continue
            pid = sq[n, 0]
            if nvc[n] < 0:
                for i in range(1, V + 1):
                    v = (nlast[n] + i) % V
                    if nown[n, v] == 0 and ncr[n, v] > 0:
                        nvc[n] = v
                        nown[n, v] = 1
                        nlast[n] = v
                        nseq[n] = 0
                        pk[pid, IT] = t
                        break
            v = nvc[n]
            if v >= 0 and ncr[n, v] > 0:
                _push_flit(fw, fwn, D, t + 2, n, 0, v, pid, nseq[n])
                ncr[n, v] -= 1
                ctr[K_INFLIGHT] += 1
                ctr[K_MOVES] += 1
                ctr[K_LASTMOVE] = t
                nseq[n] += 1
                if nseq[n] == pk[pid, SIZE]:
                    nown[n, v] = 0
                    nvc[n] = -1
                    sq[n, 0] = pk[pid, NEXT]
                    sq[n, 2] -= 1
        # -- routers
        for r in range(N):
            if rfl[r] == 0:
                continue
            # RC: heads whose route stage ends now go to VC allocation
            for p in range(P):
                for v in range(V):
                    if vst[r, p, v] == ROUTING and t >= vrd[r, p, v] + RD:
                        pid = bpid[r, p, v, bhd[r, p, v]]
                        op, lo, hi = _route(r, pid, p, nbr, nxt, wrap, dim, coord, pk, paths, cfg, ocr, oown)
                        vout[r, p, v] = op
                        vlo[r, p, v] = lo
                        vhi[r, p, v] = hi
                        vst[r, p, v] = VA
                        vrd[r, p, v] = t
            # VA
            nreq = 0
            for x in range(PV):
                best_in[x] = -1
                best_d[x] = PV + 1
            for p in range(P):
                for v in range(V):
                    if vst[r, p, v] != VA or vrd[r, p, v] > t:
                        continue
                    op = vout[r, p, v]
                    lo = vlo[r, p, v]
                    span = vhi[r, p, v] - lo
                    me = p * V + v
                    if cfg[C_VAALG] == 0:  # separable input-first: the input VC picks one free output VC
                        pick = -1
                        for i in range(1, span + 1):
                            ov = lo + (va_ip[r, p, v] - lo + i) % span
                            if oown[r, op, ov] < 0:
                                pick = ov
                                break
                        if pick < 0:
                            continue
                        o = op * V + pick
                        d = (me - va_op[r, op, pick] - 1) % PV
                        if d < best_d[o]:
                            best_d[o] = d
                            best_in[o] = me
                        nreq += 1
                    else:  # iSLIP: request every free output VC; outputs grant, inputs accept below
                        for ov in range(lo, lo + span):
                            if oown[r, op, ov] < 0:
                                o = op * V + ov
                                d = (me - va_op[r, op, ov] - 1) % PV
                                if d < best_d[o]:
                                    best_d[o] = d
                                    best_in[o] = me
                                nreq += 1
            if nreq > 0:
                if cfg[C_VAALG] == 0:
                    for o in range(PV):
                        me = best_in[o]
                        if me < 0:
                            continue
                        p = me // V
                        v = me % V
                        op = o // V
                        ov = o % V
                        oown[r, op, ov] = me
                        va_op[r, op, ov] = me
                        va_ip[r, p, v] = ov
                        _granted_vc(r, p, v, op, ov, t, VAD, vst, vrd, vovc, bpid, bhd, pk, dim)
                else:
                    # each input VC accepts, among the output VCs that granted it, the nearest after its pointer
                    for x in range(PV):
                        req_op[x] = -1
                        req_ovc[x] = PV + 1
                    for o in range(PV):
                        me = best_in[o]
                        if me < 0:
                            continue
                        p = me // V
                        v = me % V
                        ov = o % V
                        lo = vlo[r, p, v]
                        span = vhi[r, p, v] - lo
                        d = (ov - va_ip[r, p, v] - 1) % span
                        if d < req_ovc[me]:
                            req_ovc[me] = d
                            req_op[me] = o
                    for me in range(PV):
                        o = req_op[me]
                        if o < 0:
                            continue
                        p = me // V
                        v = me % V
                        op = o // V
                        ov = o % V
                        oown[r, op, ov] = me
                        va_op[r, op, ov] = me
                        va_ip[r, p, v] = ov
                        _granted_vc(r, p, v, op, ov, t, VAD, vst, vrd, vovc, bpid, bhd, pk, dim)
            # SA
            any_req = False
            for p in range(P):
                sa_req[p] = -1
                sa_out[p] = -1
                grant_in[p] = -1
                grant_d[p] = P + 1
            for p in range(P):
                if cfg[C_SAALG] == 0:
                    for i in range(1, V + 1):
                        v = (sa_ip[r, p] + i) % V
                        if vst[r, p, v] == ACTIVE and bn[r, p, v] > 0 and vrd[r, p, v] <= t \
                                and ocr[r, vout[r, p, v], vovc[r, p, v]] > 0 and obusy[r, vout[r, p, v]] <= t:
                            sa_req[p] = v
                            op = vout[r, p, v]
                            d = (p - sa_op[r, op] - 1) % P
                            if d < grant_d[op]:
                                grant_d[op] = d
                                grant_in[op] = p
                            any_req = True
                            break
                else:  # iSLIP: every eligible VC's output is requested
                    for v in range(V):
                        if vst[r, p, v] == ACTIVE and bn[r, p, v] > 0 and vrd[r, p, v] <= t \
                                and ocr[r, vout[r, p, v], vovc[r, p, v]] > 0 and obusy[r, vout[r, p, v]] <= t:
                            op = vout[r, p, v]
                            d = (p - sa_op[r, op] - 1) % P
                            if d < grant_d[op]:
                                grant_d[op] = d
                                grant_in[op] = p
                            any_req = True
            if not any_req:
                continue
            if cfg[C_SAALG] == 1:  # inputs accept the granting output nearest after their accept pointer
                for op in range(P):
                    p = grant_in[op]
                    if p < 0:
                        continue
                    cur = sa_out[p]
                    ptr = sa_ac[r, p]
                    if cur < 0 or (op - ptr - 1) % P < (cur - ptr - 1) % P:
                        sa_out[p] = op
                for p in range(P):
                    op = sa_out[p]
                    if op < 0:
                        continue
                    v = -1  # the input's VC for that output, round robin over its VCs
                    for i in range(1, V + 1):
                        u = (sa_ip[r, p] + i) % V
                        if vst[r, p, u] == ACTIVE and bn[r, p, u] > 0 and vrd[r, p, u] <= t \
                                and vout[r, p, u] == op and ocr[r, op, vovc[r, p, u]] > 0 and obusy[r, op] <= t:
                            v = u
                            break
                    sa_op[r, op] = p
                    sa_ac[r, p] = op
                    sa_ip[r, p] = v
                    _traverse(r, p, v, op, t, V, B, SAD, STD, CD, WTC, D, nbr, nbr_in, lat, ser, obusy, up, up_port, up_lat,
                              bpid, bseq, bhd, bn, vst, vrd, vout, vovc, ocr, oown, otl, rfl, pk, fw, fwn, cw, cwn, ctr)
            else:
                for op in range(P):
                    p = grant_in[op]
                    if p < 0:
                        continue
                    v = sa_req[p]
                    sa_op[r, op] = p
                    sa_ip[r, p] = v
                    _traverse(r, p, v, op, t, V, B, SAD, STD, CD, WTC, D, nbr, nbr_in, lat, ser, obusy, up, up_port, up_lat,
                              bpid, bseq, bhd, bn, vst, vrd, vout, vovc, ocr, oown, otl, rfl, pk, fw, fwn, cw, cwn, ctr)
        t += 1
        if ctr[K_INFLIGHT] > 0 and t - ctr[K_LASTMOVE] > cfg[C_DEADLOCK]:
            return t, RETURN_DEADLOCK
        if stop_on_delivery and ctr[K_NDL] > 0:
            return t, RETURN_DELIVERED
        if ctr[K_NDL] > dl.shape[0] - 2 * N:
            return t, RETURN_DELIVERED
    return t, RETURN_END


@nb.njit(cache=True)
def _granted_vc(r, p, v, op, ov, t, VAD, vst, vrd, vovc, bpid, bhd, pk, dim):
    """Input VC (p, v) of router r now owns output VC ov of port op."""
    vovc[r, p, v] = ov
    vst[r, p, v] = ACTIVE
    vrd[r, p, v] = t + VAD
    if op > 0 and dim[r, op] >= 0:  # the head commits its dimension and dateline class (torus)
        pid = bpid[r, p, v, bhd[r, p, v]]
        pk[pid, DIM] = dim[r, op]
        pk[pid, CLS] = 1 if ov >= vovc.shape[2] // 2 and vovc.shape[2] > 1 else 0


@nb.njit(cache=True)
def _traverse(r, p, v, op, t, V, B, SAD, STD, CD, WTC, D, nbr, nbr_in, lat, ser, obusy, up, up_port, up_lat,
              bpid, bseq, bhd, bn, vst, vrd, vout, vovc, ocr, oown, otl, rfl, pk, fw, fwn, cw, cwn, ctr):
    """The head of input VC (p, v) won output op at cycle t: it leaves its buffer, crosses the
    switch and the link; a credit goes back upstream."""
    h = bhd[r, p, v]
    pid = bpid[r, p, v, h]
    seq = bseq[r, p, v, h]
    bhd[r, p, v] = (h + 1) % B
    bn[r, p, v] -= 1
    rfl[r] -= 1
    ov = vovc[r, p, v]
    ocr[r, op, ov] -= 1
    leave = t + SAD - 1          # the buffer slot is free once SA completes
    depart = leave + STD         # the flit is sent on its channel after switch traversal;
    # a channel of latency L delivers what is sent at cycle c at c + L + 1 (BookSim's channels);
    # a link narrower than a flit takes ser cycles per flit, and the port is busy meanwhile
    obusy[r, op] = t + ser[r, op]
    depart += ser[r, op] - 1
    ctr[K_MOVES] += 1
    ctr[K_LASTMOVE] = t
    # credit upstream (or to the node, whose channel takes one cycle)
    if p == 0:
        _push_credit(cw, cwn, D, leave + 2, r, -1, v)
    else:
        _push_credit(cw, cwn, D, leave + up_lat[r, p] + 1 + CD, up[r, p], up_port[r, p], v)
    if op == 0:
        _push_flit(fw, fwn, D, depart + lat[r, 0] + 1, r, -1, ov, pid, seq)
    else:
        _push_flit(fw, fwn, D, depart + lat[r, op] + 1, nbr[r, op], nbr_in[r, op], ov, pid, seq)
        if seq == 0:
            pk[pid, HOPS] += 1
    if seq == pk[pid, SIZE] - 1:  # tail
        if WTC == 1:
            otl[r, op, ov] = 1
        else:
            oown[r, op, ov] = -1
        if bn[r, p, v] > 0:
            vst[r, p, v] = ROUTING
            vrd[r, p, v] = t + 1
        else:
            vst[r, p, v] = IDLE
    else:
        vrd[r, p, v] = t + SAD
