"""Flit-level model of an input-queued virtual-channel router network (BookSim's IQ router).

Each router has, per input port, ``vcs`` FIFOs of ``buffer_flits`` flits, and runs four stages
(``NocParams.stages``; cycles RC, VA, SA, ST):

* **RC** route computation for the head flit of a packet (``sim.fabric`` routing functions);
* **VA** VC allocation: the head asks for an output VC of its output port that no other packet
  holds — separable input-first round-robin (each input VC picks one free output VC, each output
  VC grants one requester), or iSLIP (requests to every free output VC, grant then accept);
* **SA** switch allocation, one flit per input port and per output port per cycle through the
  crossbar, only for a flit whose output VC has a credit — separable input-first round-robin or
  iSLIP, one iteration;
* **ST** switch traversal, then the link (``link_latency_cycles``).

Flow control is credit-based: a flit that leaves an input buffer sends a credit upstream, which
arrives after the link's latency plus ``credit_delay_cycles``. Packets larger than a buffer move
wormhole fashion; an output VC is free again once the tail has left (or, with
``wait_for_tail_credit``, once the tail's credit is back). Nodes inject one flit per cycle over a
one-cycle channel into port 0, choosing a free injection VC round-robin, and eject over a one-cycle
channel. A channel of latency L delivers what is sent at cycle c at c + L + 1, as BookSim's do, so
a head takes RC + VA + SA + ST + L cycles per hop (5 with BookSim's defaults) and a lone packet's
latency is ``zero_load_cycles`` — BookSim's figure to the cycle (``benchmarks/compare_booksim.py``).
"""
from __future__ import annotations

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams

from . import router_core as core
from .fabric import Fabric, build

ALLOCATORS = {"separable_input_first": 0, "islip": 1}
DEADLOCK_CYCLES = 20_000   # cycles without any flit moving, with flits in the network: a deadlock
HIST_BINS = 4096           # latency histogram bins (cycles); the last bin holds the rest


def zero_load_cycles(noc: NocParams, hops: float, link_cycles: float, flits: float) -> float:
    """Creation to tail ejection of a lone ``flits``-flit packet over ``hops`` router-to-router links
    whose latencies sum to ``link_cycles``. A channel of latency L delivers at L + 1 cycles (BookSim's
    channels): 2 cycles into the first router and 2 out of the last, RC + VA + SA + ST - 1 in each
    of the hops + 1 routers, L + 1 per link, and the body flits behind the head."""
    return 4 + (hops + 1) * (sum(noc.stages) - 1) + link_cycles + hops + flits - 1


class RouterNet:
    """State of one network of IQ VC routers; ``advance`` runs it cycle by cycle."""

    def __init__(self, noc: NocParams, fabric: Fabric | None = None, pool: int = 4096, deliveries: int = 4096):
        rc, va, sa, st = noc.stages
        if rc < 0 or va < 1 or sa < 1 or st < 1:
            raise PrismError(f"noc: router_latency_cycles {noc.router_latency_cycles} is too short for the router "
                             f"model: VA, SA and ST take at least a cycle each (pipeline {list(noc.stages)})")
        if noc.topology == "torus" and noc.vcs < 2:
            raise PrismError("noc: a torus needs vcs >= 2 for its dateline classes")
        self.noc = noc
        self.fab = f = fabric or build(noc)
        N, P, V, B = len(f.nodes), f.ports, noc.vcs, noc.buffer_flits
        self.N, self.P, self.V, self.B = N, P, V, B
        self.cfg = np.array([V, B, rc, va, sa, st, noc.credit_delay_cycles, int(noc.wait_for_tail_credit),
                             f.routing, ALLOCATORS[noc.vc_allocator], ALLOCATORS[noc.sw_allocator],
                             DEADLOCK_CYCLES], np.int64)
        span = sa + st + int(f.lat.max()) + int(f.ser.max()) + noc.credit_delay_cycles + 4
        self.D = 1 << int(np.ceil(np.log2(span + 1)))
        paths = [p for p in f.overrides.values()] or [(0,)]
        self.paths = np.zeros((len(paths), max(len(p) for p in paths)), np.int64)
        for i, p in enumerate(paths):
            self.paths[i, :len(p)] = p
        self.path_id = {k: i for i, k in enumerate(f.overrides)}
        z = np.zeros
        self.bpid = z((N, P, V, B), np.int64)
        self.bseq = z((N, P, V, B), np.int64)
        self.bhd = z((N, P, V), np.int64)
        self.bn = z((N, P, V), np.int64)
        self.vst = z((N, P, V), np.int64)
        self.vrd = z((N, P, V), np.int64)
        self.vout = z((N, P, V), np.int64)
        self.vovc = z((N, P, V), np.int64)
        self.vlo = z((N, P, V), np.int64)
        self.vhi = z((N, P, V), np.int64)
        self.ocr = np.where((f.nbr >= 0)[:, :, None], B, 0).astype(np.int64) * np.ones((1, 1, V), np.int64)
        self.oown = np.full((N, P, V), -1, np.int64)
        self.otl = z((N, P, V), np.int64)
        self.va_ip = np.full((N, P, V), -1, np.int64)
        self.va_op = np.full((N, P, V), -1, np.int64)
        self.sa_ip = np.full((N, P), -1, np.int64)
        self.sa_op = np.full((N, P), -1, np.int64)
        self.sa_ac = np.full((N, P), -1, np.int64)
        self.rfl = z(N, np.int64)
        self.obusy = z((N, P), np.int64)
        self.sq = z((N, 3), np.int64)
        self.nvc = np.full(N, -1, np.int64)
        self.nseq = z(N, np.int64)
        self.ncr = np.full((N, V), B, np.int64)
        self.nown = z((N, V), np.int64)
        self.nlast = np.full(N, -1, np.int64)
        self._pool(pool)
        self.ctr = z(5, np.int64)
        self.ctr[core.K_NFREE] = pool
        cap = N * P + N + 8
        self.fw = z((self.D, cap, 5), np.int64)
        self.fwn = z(self.D, np.int64)
        self.cw = z((self.D, cap, 3), np.int64)
        self.cwn = z(self.D, np.int64)
        self.dl = z((max(deliveries, 4 * N), 3), np.int64)
        self.t = 0
        self.traffic(None)

    def _pool(self, n: int) -> None:
        self.pk = np.zeros((n, core.PK_FIELDS), np.int64)
        self.free = np.arange(n - 1, -1, -1, dtype=np.int64)

    def _grow(self) -> None:
        """Double the packet pool (the free ids are the new rows, then the old free ones)."""
        old = self.pk.shape[0]
        nfree = int(self.ctr[core.K_NFREE])
        pk = np.zeros((2 * old, core.PK_FIELDS), np.int64)
        pk[:old] = self.pk
        free = np.empty(2 * old, np.int64)
        free[:nfree] = self.free[:nfree]
        free[nfree:nfree + old] = np.arange(2 * old - 1, old - 1, -1)
        self.pk, self.free = pk, free
        self.ctr[core.K_NFREE] = nfree + old

    def traffic(self, gen: dict | None) -> None:
        """Synthetic sources (``sim.traffic`` builds ``gen``), or none (packets come from ``submit``)."""
        N = self.N
        g = np.zeros(10)
        self.perm = np.zeros(N, np.int64)
        self.hot = np.zeros(1, np.int64)
        self.hotcum = np.ones(1)
        self.sizes = np.ones(1, np.int64)
        self.sizecum = np.ones(1)
        self.onstate = np.zeros(N, np.int64)
        self.stats = np.zeros(11)
        self.stats[core.S_MIN] = self.stats[core.S_NETMIN] = np.inf
        self.hist = np.zeros((2, HIST_BINS), np.int64)  # packet, network latency
        self.accnode = np.zeros(N)
        if gen is not None:
            g[core.G_ON] = 1
            g[core.G_P] = gen["p"]
            g[core.G_PATTERN] = gen["pattern"]
            g[core.G_HOTSHARE] = gen.get("hotshare", 0.0)
            g[core.G_ALPHA] = gen.get("alpha", 0.0)
            g[core.G_BETA] = gen.get("beta", 0.0)
            g[core.G_PON] = gen.get("p_on", 0.0)
            g[core.G_W0], g[core.G_W1] = gen["window"]
            g[core.G_SOURCES] = N
            self.perm = np.asarray(gen.get("perm", self.perm), np.int64)
            if "hot" in gen:
                self.hot = np.asarray(gen["hot"], np.int64)
                w = np.asarray(gen["hot_weights"], float)
                self.hotcum = np.cumsum(w / w.sum())
            self.sizes = np.asarray(gen["sizes"], np.int64)
            w = np.asarray(gen["size_weights"], float)
            self.sizecum = np.cumsum(w / w.sum())
            core.seed(int(gen["seed"]))  # numba's own generator, seeded inside compiled code
        self.gen = g

    def submit(self, src: int, dst: int, flits: int, tag: int, t: int | None = None, measure: bool = False) -> None:
        """A packet of ``flits`` flits from router id ``src`` to ``dst``, created at cycle ``t`` (now);
        with ``measure`` its latency joins the statistics."""
        if self.ctr[core.K_NFREE] < self.N + 2:
            self._grow()
        path = self.path_id.get((src, dst), -1)
        core.submit(self.pk, self.free, self.ctr, self.sq, src, dst, flits, self.t if t is None else t, tag, path,
                    int(measure))

    def advance(self, t_end: int, stop_on_delivery: bool = False) -> int:
        """Run until cycle ``t_end`` (or the first delivery with ``stop_on_delivery``); return the
        cycle reached. Deliveries are then in ``self.dl[:ndl]`` (tag, injected, delivered cycle)."""
        while self.t < t_end:
            t, code = core.run(
                self.t, t_end, self.cfg, self.fab.nbr, self.fab.nbr_in, self.fab.lat, self.fab.ser, self.obusy, self.fab.up, self.fab.up_port,
                self.fab.up_lat, self.fab.next_port, self.fab.wrap, self.fab.dim, self.fab.coord, self.paths,
                self.bpid, self.bseq, self.bhd, self.bn, self.vst, self.vrd, self.vout, self.vovc, self.vlo, self.vhi,
                self.ocr, self.oown, self.otl, self.va_ip, self.va_op, self.sa_ip, self.sa_op, self.sa_ac, self.rfl,
                self.sq, self.nvc, self.nseq, self.ncr, self.nown, self.nlast, self.pk, self.free, self.ctr,
                self.fw, self.fwn, self.cw, self.cwn, self.gen, self.perm, self.hot, self.hotcum, self.sizes,
                self.sizecum, self.onstate, self.stats, self.hist, self.accnode, self.dl, stop_on_delivery)
            self.t = int(t)
            if code == core.RETURN_POOL:
                self._grow()
            elif code == core.RETURN_DEADLOCK:
                raise PrismError(f"noc: deadlock: {self.in_flight} flits have not moved for {DEADLOCK_CYCLES:,} cycles "
                                 f"(cycle {self.t:,}); stuck at routers {', '.join(self.stuck()[:8])}")
            elif code == core.RETURN_DELIVERED:
                return self.t
        return self.t

    @property
    def in_flight(self) -> int:
        return int(self.ctr[core.K_INFLIGHT])

    @property
    def queued(self) -> int:
        """Packets waiting in source queues (the one being injected included)."""
        return int(self.sq[:, 2].sum())

    def take_deliveries(self) -> np.ndarray:
        n = int(self.ctr[core.K_NDL])
        out = self.dl[:n].copy()
        self.ctr[core.K_NDL] = 0
        return out

    def stuck(self) -> list[str]:
        """Routers holding flits, by coordinates."""
        return [",".join(map(str, self.fab.nodes[r])) for r in np.nonzero(self.rfl)[0]]

