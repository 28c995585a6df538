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
from . import router_layout as layout
from . import router_sources as sources
from .fabric import Fabric, build

ALLOCATORS = {"separable_input_first": 0, "islip": 1}
DEADLOCK_CYCLES = 20_000   # cycles without any flit moving, with flits in the network: a deadlock
HIST_BINS = 4096           # latency histogram bins (cycles); the last bin holds the rest


def zero_load_cycles(noc: NocParams, hops: float, link_cycles: float, flits: float) -> float:
    """Creation to tail ejection of a lone ``flits``-flit packet over ``hops`` router-to-router links
    whose latencies sum to ``link_cycles``. A channel of latency L delivers at L + 1 cycles (BookSim's
    channels): 2 cycles into the first router and 2 out of the last, RC + VA + SA + ST - 1 in each
    of the hops + 1 routers, L + 1 per link, and the body flits behind the head, one per SA cycles."""
    return 4 + (hops + 1) * (sum(noc.stages) - 1) + link_cycles + hops + (flits - 1) * noc.stages[2]


class RouterNet:
    """State of one network of IQ VC routers; ``advance`` runs it cycle by cycle.

    ``extra``: routers that get one more endpoint each (memory ports); ``per_flit``: cycles an
    endpoint takes to send or take a flit when more than one (slow memories), by endpoint id."""

    def __init__(self, noc: NocParams, fabric: Fabric | None = None, extra: list[int] | None = None,
                 per_flit: dict[int, float] | None = None, pool: int = 4096, deliveries: int = 4096,
                 per_packet: bool = False):
        rc, va, sa, st = noc.stages
        if rc < 0 or va < 1 or sa < 1 or st < 1:
            raise PrismError(f"noc: router_latency_cycles {noc.router_latency_cycles} is too short for the router "
                             f"model: VA, SA and ST take at least a cycle each (pipeline {list(noc.stages)})")
        self.noc = noc
        self.fab = f = fabric or build(noc, extra)
        N, P, V, B = len(f.nodes), f.ports, noc.vcs, noc.buffer_flits
        E = len(f.ep_r)
        self.N, self.P, self.V, self.B, self.E = N, P, V, B, E
        self.cfg = np.array([V, B, rc, va, sa, st, noc.credit_delay_cycles, int(noc.wait_for_tail_credit),
                             f.routing, ALLOCATORS[noc.vc_allocator], ALLOCATORS[noc.sw_allocator],
                             DEADLOCK_CYCLES, int(per_packet)], np.int64)
        ser = f.ser.astype(np.float64)
        ep_per = np.ones(E)
        for e, per in (per_flit or {}).items():  # a slow endpoint sends and takes a flit every per cycles
            ep_per[e] = per
            ser[f.ep_r[e], f.ep_p[e]] = per
        span = sa + st + int(f.lat.max()) + int(np.ceil(ser.max())) + noc.credit_delay_cycles + 4
        D = 1 << int(np.ceil(np.log2(span + 1)))
        paths = list(f.overrides.values()) or [(0,)]
        pt = np.zeros((len(paths), max(len(p) for p in paths)), np.int64)
        for i, p in enumerate(paths):
            pt[i, :len(p)] = p
        self.path_id = {k: i for i, k in enumerate(f.overrides)}
        i64 = lambda a: np.ascontiguousarray(a, np.int64)  # noqa: E731
        self.topo = (i64(f.nbr), i64(f.nbr_in), i64(f.lat), ser, i64(f.up), i64(f.up_port), i64(f.up_lat),
                     i64(f.next_port), i64(f.wrap), i64(f.dim), i64(f.coord), pt, i64(f.loc), i64(f.ep_r),
                     i64(f.ep_p), ep_per)
        z = np.zeros
        ocr = np.where((f.nbr >= 0)[:, :, None], B, 0).astype(np.int64) * np.ones((1, 1, V), np.int64)
        # router state: buffers (packet, flit index, head, count), VC state, ready cycle, route,
        # output VC and range; output credits, owners, tail-credit wait; arbiter pointers; flits
        # per router; cycle each output port is free again; cycle each router next has work; heads
        # in RC or VA per router
        self.rs = (z((N, P, V, B), np.int64), z((N, P, V, B), np.int64), z((N, P, V), np.int64),
                   z((N, P, V), np.int64), z((N, P, V), np.int64), z((N, P, V), np.int64), z((N, P, V), np.int64),
                   z((N, P, V), np.int64), z((N, P, V), np.int64), z((N, P, V), np.int64), ocr,
                   np.full((N, P, V), -1, np.int64), z((N, P, V), np.int64), np.full((N, P, V), -1, np.int64),
                   np.full((N, P, V), -1, np.int64), np.full((N, P), -1, np.int64), np.full((N, P), -1, np.int64),
                   np.full((N, P), -1, np.int64), z(N, np.int64), z((N, P)), z(N, np.int64), z(N, np.int64))
        # endpoint state: source queues, packet being sent, its VC and next flit, credits and
        # owners of the router's local input VCs, last VC, next free cycle, on/off state
        self.es = (z((E, 3), np.int64), np.full(E, -1, np.int64), np.full(E, -1, np.int64), z(E, np.int64),
                   np.full((E, V), B, np.int64), z((E, V), np.int64), np.full(E, -1, np.int64), z(E), z(E, np.int64))
        self.pk = np.zeros((pool, layout.PK_FIELDS), np.int64)
        self.free = np.arange(pool - 1, -1, -1, dtype=np.int64)
        self.ctr = z(layout.CTR, np.int64)
        self.ctr[layout.K_NFREE] = pool
        cap = N * P + E + 8
        self.fw, self.fwn = z((D, cap, 5), np.int64), z(D, np.int64)
        self.cw, self.cwn = z((D, cap, 5), np.int64), z(D, np.int64)
        self.dl = z((max(deliveries, 8 * E), 5), np.int64)
        self.lbusy = z((N, P))
        self.t = 0
        self.traffic(None)

    def _grow(self) -> None:
        """Double the pool (the free ids are the new rows, then the old free ones)."""
        old = self.pk.shape[0]
        nfree = int(self.ctr[layout.K_NFREE])
        pk = np.zeros((2 * old, layout.PK_FIELDS), np.int64)
        pk[:old] = self.pk
        free = np.empty(2 * old, np.int64)
        free[:nfree] = self.free[:nfree]
        free[nfree:nfree + old] = np.arange(2 * old - 1, old - 1, -1)
        self.pk, self.free = pk, free
        self.ctr[layout.K_NFREE] = nfree + old

    def traffic(self, gen: dict | None) -> None:
        """Synthetic sources on the routers' port-0 endpoints (``sim.traffic`` builds ``gen``), or
        none (messages come from ``submit``)."""
        N = self.N
        g = np.zeros(10)
        self.perm = np.zeros(N, np.int64)
        self.hot = np.zeros(1, np.int64)
        self.hotcum = np.ones(1)
        self.sizes = np.ones(1, np.int64)
        self.sizecum = np.ones(1)
        self.stats = np.zeros(layout.STATS)
        self.stats[layout.S_MIN] = self.stats[layout.S_NETMIN] = np.inf
        self.hist = np.zeros((2, HIST_BINS), np.int64)  # packet, network latency
        self.accnode = np.zeros(self.E)
        if gen is not None:
            g[layout.G_ON] = 1
            g[layout.G_P] = gen["p"]
            g[layout.G_PATTERN] = gen["pattern"]
            g[layout.G_HOTSHARE] = gen.get("hotshare", 0.0)
            g[layout.G_ALPHA] = gen.get("alpha", 0.0)
            g[layout.G_BETA] = gen.get("beta", 0.0)
            g[layout.G_PON] = gen.get("p_on", 0.0)
            g[layout.G_W0], g[layout.G_W1] = gen["window"]
            g[layout.G_SOURCES] = N
            self.perm = np.asarray(gen.get("perm", self.perm), np.int64)
            if "hot" in gen:
                self.hot = np.asarray(gen["hot"], np.int64)
                w = np.asarray(gen["hot_weights"], float)
                self.hotcum = np.cumsum(w / w.sum())
            self.sizes = np.asarray(gen["sizes"], np.int64)
            w = np.asarray(gen["size_weights"], float)
            self.sizecum = np.cumsum(w / w.sum())
            sources.seed(int(gen["seed"]))  # numba's own generator, seeded inside compiled code
        self.gen = g

    def submit(self, src: int, dst: int, flits: int, tag: int, t: int | None = None, measure: bool = False,
               cut: int | None = None) -> None:
        """A message of ``flits`` flits from endpoint ``src`` to ``dst``, created at cycle ``t`` (now),
        injected as packets of ``cut`` flits (default ``packet_flits``); with ``measure`` its
        packets join the latency statistics."""
        if self.ctr[layout.K_NFREE] < 2 * self.E + 4:
            self._grow()
        t = self.t if t is None else t
        if t > self.t and not self.busy:  # an idle network's clock may jump
            self.t = t
        path = self.path_id.get((int(self.fab.ep_r[src]), int(self.fab.ep_r[dst])), -1) if self.path_id else -1
        sources.submit(self.pk, self.free, self.ctr, self.es[0], src, dst, flits, cut or self.noc.packet_flits,
                    max(t, self.t), tag, path, int(measure))

    def advance(self, t_end: int, stop_on_delivery: bool = False) -> int:
        """Run until cycle ``t_end`` (or the first cycle with a delivery, with ``stop_on_delivery``,
        or when the delivery buffer is nearly full); return the cycle reached. Deliveries are then
        in ``take_deliveries()``."""
        while self.t < t_end:
            t, code = core.run(self.t, t_end, self.cfg, self.topo, self.rs, self.es, self.pk, self.free, self.ctr,
                               self.fw, self.fwn, self.cw, self.cwn, self.gen, self.perm, self.hot, self.hotcum,
                               self.sizes, self.sizecum, self.stats, self.hist, self.accnode, self.lbusy, self.dl,
                               stop_on_delivery)
            self.t = int(t)
            if code == layout.RETURN_POOL:
                self._grow()
            elif code == layout.RETURN_DEADLOCK:
                raise PrismError(f"noc: deadlock: {self.in_flight} flits have not moved for {DEADLOCK_CYCLES:,} cycles "
                                 f"(cycle {self.t:,}); stuck at routers {', '.join(self.stuck()[:8])}")
            elif code == layout.RETURN_DELIVERED:
                return self.t
        return self.t

    @property
    def in_flight(self) -> int:
        """Flits in the network."""
        return int(self.ctr[layout.K_INFLIGHT])

    @property
    def queued(self) -> int:
        """Messages not yet wholly injected."""
        return int(self.ctr[layout.K_QUEUED])

    @property
    def busy(self) -> bool:
        """Anything in flight, queued, or still on a channel (flits or credits)."""
        return bool(self.ctr[layout.K_INFLIGHT] or self.ctr[layout.K_QUEUED] or self.ctr[layout.K_WHEEL])

    def take_deliveries(self) -> np.ndarray:
        """Rows (tag, first injection cycle, delivery cycle, kind, flits) since the last call."""
        n = int(self.ctr[layout.K_NDL])
        out = self.dl[:n].copy()
        self.ctr[layout.K_NDL] = 0
        return out

    def stuck(self) -> list[str]:
        """Routers holding flits, by coordinates."""
        return [",".join(map(str, self.fab.nodes[r])) for r in np.nonzero(self.buffered)[0]]

    @property
    def buffered(self) -> np.ndarray:
        """Flits held in each router's input buffers."""
        return self.rs[18]
