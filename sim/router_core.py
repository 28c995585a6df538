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

IDLE, ROUTING, VA, ACTIVE = 0, 1, 2, 3  # input VC states
# Pool rows are messages (SIZE flits from endpoint SRC to DST, cut into packets of CUT flits as
# they are injected; LEFT flits not yet cut, PLEFT packets not yet delivered) and packets (MSG:
# their message). Columns:
SRC, DST, SIZE, CT, IT, NEXT, DIM, CLS, HOPS, MEAS, TAG, PATH, MSG, LEFT, PLEFT, CUT = range(16)
PK_FIELDS = 16
# cfg entries (int64)
C_V, C_B, C_RD, C_VAD, C_SAD, C_STD, C_CD, C_WTC, C_ROUTING, C_VAALG, C_SAALG, C_DEADLOCK, C_PERPKT = range(13)
CFG = 13
# gen entries (synthetic traffic; float64)
G_ON, G_P, G_PATTERN, G_HOTSHARE, G_ALPHA, G_BETA, G_PON, G_W0, G_W1, G_SOURCES = range(10)
# stats entries (float64), over measured packets
S_N, S_LAT, S_NET, S_HOPS, S_MIN, S_MAX, S_ACC, S_INJ, S_NETMIN, S_NETMAX, S_PKTS = range(11)
# ctr entries (int64)
K_NFREE, K_INFLIGHT, K_LASTMOVE, K_NDL, K_MOVES, K_WHEEL, K_QUEUED = range(7)
CTR = 7
# delivery rows: tag, first injection cycle, delivery cycle, kind (0 message, 1 packet), flits
DL_MESSAGE, DL_PACKET = 0, 1

RETURN_END, RETURN_DELIVERED, RETURN_POOL, RETURN_DEADLOCK = 0, 1, 2, 3


@nb.njit(cache=True)
def seed(s):
    """Seed numba's random generator (the synthetic sources draw from it)."""
    np.random.seed(s)


@nb.njit(cache=True)
def _route(r, pid, topo, pk, cfg, ocr, oown):
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


@nb.njit(cache=True, inline="always")
def _push(wheel, wn, t, a, b, c, d, e, ctr):
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
def _new_row(pk, free, ctr, src, dst, size, t, meas, tag, path):
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
def _enqueue(pk, sq, pid, n, ctr):
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
    pid = _new_row(pk, free, ctr, src, dst, size, t, meas, tag, path)
    pk[pid, CUT] = cut
    pk[pid, PLEFT] = (size + cut - 1) // cut
    _enqueue(pk, sq, pid, src, ctr)
    return pid


@nb.njit(cache=True)
def _generate(t, E, gen, perm, hot, hotcum, sizes, sizecum, onstate, pk, free, ctr, sq, stats):
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
        _enqueue(pk, sq, _new_row(pk, free, ctr, n, dst, size, t, meas, 0, -1), n, ctr)


@nb.njit(cache=True)
def _inject(t, E, V, topo, sq, ncur, nvc, nseq, ncr, nown, nlast, ep_next, pk, free, ctr, fw, fwn):
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
                    pid = _new_row(pk, free, ctr, pk[msg, SRC], pk[msg, DST], size, pk[msg, CT], pk[msg, MEAS],
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
        _push(fw, fwn, t + 2, ep_r[e], ep_p[e], v, pid, nseq[e], ctr)
        ncr[e, v] -= 1
        ep_next[e] = max(ep_next[e], t) + ep_per[e]
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
def _eject(t, e, v, pid, seq, topo, cfg, pk, free, ctr, cw, cwn, stats, hist, accnode, dl, w0, w1, synth):
    """A flit reaches endpoint ``e``: its credit goes back; a tail completes its packet (and maybe its message)."""
    ep_r, ep_p = topo[13], topo[14]
    _push(cw, cwn, t + 2 + cfg[C_CD], ep_r[e], ep_p[e], v, 0, 0, ctr)
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
    stats[S_PKTS] += 1
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
                _eject(t, r, v, pid, seq, topo, cfg, pk, free, ctr, cw, cwn, stats, hist, accnode, dl, w0, w1, synth)
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
            _generate(t, E, gen, perm, hot, hotcum, sizes, sizecum, onstate, pk, free, ctr, sq, stats)
        _inject(t, E, V, topo, sq, ncur, nvc, nseq, ncr, nown, nlast, ep_next, pk, free, ctr, fw, fwn)
        for r in range(N):
            if rfl[r] == 0 or wake[r] > t:  # a router with nothing that can change sleeps
                continue
            acted = False
            if npend[r] > 0:  # heads in RC or VA
                for p in range(P):  # RC: heads whose route stage ends now go to VC allocation
                    for v in range(V):
                        if vst[r, p, v] == ROUTING and t >= vrd[r, p, v] + RD:
                            op, lo, hi = _route(r, bpid[r, p, v, bhd[r, p, v]], topo, pk, cfg, ocr, oown)
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
    obusy[r, op] = max(obusy[r, op], t) + s
    lbusy[r, op] += s
    depart = leave + cfg[C_STD] + int(np.ceil(s)) - 1
    if loc[r, p] >= 0:
        _push(cw, cwn, leave + 2, loc[r, p], -1, v, 0, 0, ctr)
    else:
        _push(cw, cwn, leave + up_lat[r, p] + 1 + cfg[C_CD], up[r, p], up_port[r, p], v, 0, 0, ctr)
    if loc[r, op] >= 0:
        _push(fw, fwn, depart + lat[r, op] + 1, loc[r, op], -1, ov, pid, seq, ctr)
    else:
        _push(fw, fwn, depart + lat[r, op] + 1, nbr[r, op], nbr_in[r, op], ov, pid, seq, ctr)
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
