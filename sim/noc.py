"""The NoC of a run: transfers on the flit-level router model (``sim.router``), driven together
with SimPy.

A transfer becomes a message from its source's endpoint to its destination's: port 0 of the
unit's router, or a memory's own port beside it (reads leave a memory, writes enter it, at most at
the memory's bandwidth; its latency is added before the first flit and after the last). The
source cuts the message into packets of ``packet_flits`` flits as it injects them, so memory
stays bounded however big the transfer. ``on_done(t)`` runs when the last flit arrives.

``Network.run`` drives SimPy's environment and the network together (use it instead of
``env.run()``): SimPy's events one at a time, and while the network has cycles that start before
SimPy's next event, it runs those — ahead of SimPy's clock (nothing else can act before SimPy's
next event, so causality holds), deliveries included: callbacks get their time as an argument and
must use it rather than ``env.now`` (``send`` from a callback starts at that time; a SimPy event it
schedules is placed relative to it, and the network then stops short of that event). A send at
time T enters the network in the first cycle starting at or after T.

With ``ideal=True`` links have infinite bandwidth and never contend: a transfer takes its
zero-load head latency (``hw.noc.head_latency_ps``) plus the memories' latencies — what the
analytical model charges, exactly.
"""
from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import Callable

import numpy as np
import simpy

from prismsim.hw.memory import Memory, mem_latency_ps
from prismsim.hw.noc import NocParams, nodes, port_cycles_per_flit, route_links

from . import router_layout as layout
from .fabric import build
from .router import RouterNet


class _Transfer:
    __slots__ = ("nbytes", "on_done", "on_packet", "lat_out", "tag", "route")

    def __init__(self, nbytes, on_done, on_packet, lat_out, tag, route):
        self.nbytes, self.on_done, self.on_packet, self.lat_out, self.tag = nbytes, on_done, on_packet, lat_out, tag
        self.route = route


class Network:
    """The NoC of one run. ``mems``: memory endpoints by name (``Arch.memories()``)."""

    lookahead = True   # run ahead of SimPy's clock (False: stop at every network time; for tests)

    def __init__(self, env: simpy.Environment, noc: NocParams, mems: dict[str, Memory] | None = None,
                 ideal: bool = False, recorder=None, counters=None):
        self.env, self.noc, self.ideal = env, noc, ideal
        self.rec = recorder        # a row per packet (trace level "packets") when set
        self.counters = counters   # receives per-router buffer occupancy counters when set
        self.mems = mems or {}
        self.cyc = noc.cycle_ps
        self.index = {tuple(n): i for i, n in enumerate(nodes(noc))}   # router ids, as sim.fabric numbers them
        names = list(self.mems)
        extra = [self.index[tuple(self.mems[m].position)] for m in names]
        N = len(self.index)
        self.mem_ep = {m: N + i for i, m in enumerate(names)}
        # a memory's port moves a flit per flit bytes / bandwidth (at least a cycle)
        per = {N + i: port_cycles_per_flit(noc, self.mems[m].bandwidth_gbps) for i, m in enumerate(names)}
        self.rn = None if ideal else RouterNet(noc, build(noc, extra), per_flit=per, per_packet=recorder is not None)
        self._tr: dict[int, _Transfer] = {}
        self._next_tag = 0
        self._pending: list = []   # (time ps, order, kind, transfer id): memory latencies, ideal deliveries
        self._order = 0
        self._paths: dict = {}
        self.clock = 0             # the network's time (ps): SimPy's, or ahead of it
        self._pumping = False
        self.packets = 0
        self.bytes_sent = 0
        self.bytes_delivered = 0
        self._delivered = 0        # deliveries processed
        self._buffered = None      # flits per router at the last counter sample

    # -- routes and transfers -------------------------------------------------------------
    def route(self, src, dst, src_mem: str | None = None, dst_mem: str | None = None) -> tuple:
        """The handle for ``send_on``: (source endpoint, destination endpoint, zero-load head
        latency ps, memory latencies ps in and out, names)."""
        key = (src, dst, src_mem, dst_mem)
        hit = self._paths.get(key)
        if hit is None:
            head, _ = route_links(self.noc, tuple(src), tuple(dst))
            s = self.mem_ep[src_mem] if src_mem else self.index[tuple(src)]
            d = self.mem_ep[dst_mem] if dst_mem else self.index[tuple(dst)]
            hit = self._paths[key] = (s, d, head, mem_latency_ps(self.mems[src_mem]) if src_mem else 0,
                                      mem_latency_ps(self.mems[dst_mem]) if dst_mem else 0,
                                      f"{src_mem or _fmt(src)}->{dst_mem or _fmt(dst)}")
        return hit

    def send(self, src, dst, nbytes: int, on_done: Callable[[int], None] | None = None,
             src_mem: str | None = None, dst_mem: str | None = None,
             on_packet: Callable[[int, int], None] | None = None) -> None:
        """Start a transfer now (``env.now``, or the time of the network callback that calls it);
        ``on_done(t)`` when its last byte arrives."""
        self.send_on(self.route(src, dst, src_mem, dst_mem), nbytes, on_done, on_packet)

    def send_on(self, route: tuple, nbytes: int, on_done: Callable | None = None,
                on_packet: Callable[[int, int], None] | None = None, tag=None) -> None:
        """``send`` along a handle from ``route``; with a ``tag``, ``on_done(tag, t)`` rather than
        ``on_done(t)``. ``on_packet(t_injected, t_delivered)`` per packet."""
        now = self.clock if self._pumping else self.env.now
        self.clock = now
        self.bytes_sent += nbytes
        s, d, head, lat_in, lat_out, _ = route
        tid = self._next_tag
        self._next_tag += 1
        if on_packet is not None and self.rn is not None:
            self.rn.cfg[layout.C_PERPKT] = 1  # deliveries per packet from now on
        self._tr[tid] = _Transfer(nbytes, on_done, on_packet, lat_out, tag, route)
        if self.ideal or nbytes <= 0:
            self._later(now + (lat_in + head + lat_out if nbytes > 0 or self.ideal else 0), 1, tid)
        elif lat_in:
            self._later(now + lat_in, 0, tid)
        else:
            self._submit(tid, now)

    def _later(self, t: int, kind: int, tid: int) -> None:
        heappush(self._pending, (t, self._order, kind, tid))
        self._order += 1

    def _submit(self, tid: int, t: int) -> None:
        tr = self._tr[tid]
        flits = -(-tr.nbytes // self.noc.flit_bytes)
        self.packets += -(-flits // self.noc.packet_flits)
        self.rn.submit(tr.route[0], tr.route[1], flits, tid, t=math.ceil(t / self.cyc))

    # -- running ---------------------------------------------------------------------------
    def _next_ps(self) -> float:
        """When the network next has something to do (ps)."""
        t = self._pending[0][0] if self._pending else math.inf
        if self.rn is not None and self.rn.busy:
            t = min(t, self.rn.t * self.cyc)
        return t

    def run(self) -> None:
        """Run SimPy's environment and the network together until neither has anything left."""
        env = self.env
        while True:
            ts = env.peek()
            tn = self._next_ps()
            if tn < ts or (tn == ts and self._pending and self._pending[0][0] == ts):
                self._pump(ts if self.lookahead else min(ts, tn + self.cyc))
            elif ts == math.inf:
                return
            else:
                env.step()

    def _pump(self, limit: float) -> None:
        """Run the network up to ``limit`` (ps): its memory-latency events at or before it, and its
        cycles that start before it. Callbacks may schedule SimPy events: the limit then shrinks."""
        self._pumping = True
        env, rn, cyc = self.env, self.rn, self.cyc
        while True:
            tp = self._pending[0][0] if self._pending else math.inf
            busy = rn is not None and rn.busy
            tk = rn.t * cyc if busy else math.inf
            if self._pending and tp <= limit and tp <= tk:
                t, _, kind, tid = heappop(self._pending)
                self.clock = t
                if kind == 0:
                    self._submit(tid, t)
                else:
                    self._arrived(tid, t)
                    limit = min(limit, env.peek())
                continue
            if busy and tk < limit:
                x = min(limit, tp)
                target = math.ceil(x / cyc) if x < math.inf else rn.t + 1_000_000
                if target <= rn.t:
                    target = rn.t + 1
                rn.advance(target, stop_on_delivery=True)
                if self.counters is not None:
                    self._sample(int(rn.t * cyc))
                called = self._deliveries(rn.take_deliveries())
                if called:
                    limit = min(limit, env.peek())
                continue
            break
        self._pumping = False
        self.clock = env.now

    def _deliveries(self, rows: np.ndarray) -> bool:
        """Handle what the routers delivered; whether a callback ran."""
        called = False
        cyc = self.cyc
        for tag, t_inj, t_done, kind, flits in rows.tolist():
            t = int(t_done * cyc)
            tr = self._tr[tag]
            if kind == layout.DL_PACKET:
                if self.rec is not None:
                    self.rec.row(int(t_inj * cyc), t, "transfer", tr.route[5], "", -1, -1,
                                 min(flits * self.noc.flit_bytes, tr.nbytes), 0, 0.0)
                if tr.on_packet is not None:
                    tr.on_packet(int(t_inj * cyc), t + tr.lat_out)
                    called = True
                continue
            self._delivered += 1
            self.clock = t
            if tr.lat_out:
                self._later(t + tr.lat_out, 1, tag)
            else:
                self._arrived(tag, t)
                called = True
        return called

    def _arrived(self, tid: int, t: int) -> None:
        """Tell the sender that transfer ``tid`` has arrived at ``t`` (ps)."""
        tr = self._tr.pop(tid)
        self.bytes_delivered += tr.nbytes
        self._delivered += 1
        notify(tr.on_done, tr.tag, t)

    def _sample(self, t: int) -> None:
        """Buffer occupancy counters (flits held per router) where they changed."""
        now = self.rn.buffered
        if self._buffered is None:
            self._buffered = np.zeros_like(now)
        for r in np.nonzero(now != self._buffered)[0]:
            self.counters.counter(t, f"buffer {_fmt(self.rn.fab.nodes[r])}", int(now[r]))
        self._buffered = now.copy()

    # -- reporting --------------------------------------------------------------------------
    @property
    def events(self) -> int:
        """Network events processed: flit moves (injections, switch traversals, ejections) and deliveries."""
        return (int(self.rn.ctr[layout.K_MOVES]) if self.rn is not None else 0) + self._delivered

    @property
    def in_flight(self) -> int:
        """Transfers sent and not yet arrived."""
        return len(self._tr)

    def stuck(self) -> list[str]:
        """Routers holding flits (after the run ended with transfers undelivered)."""
        return self.rn.stuck() if self.rn is not None and self.rn.in_flight else []

    def link_busy(self) -> dict[str, int]:
        """Busy ps per channel: ``x,y->x,y`` links, ``ej@x,y`` ejection ports, ``dram_wr``, ... (a
        flit per cycle, longer on a link narrower than a flit or a memory's port)."""
        if self.rn is None:
            return {}
        f, out = self.rn.fab, {}
        mem_of = {e: m for m, e in self.mem_ep.items()}
        for r, p in zip(*np.nonzero(self.rn.lbusy)):
            busy = int(round(self.rn.lbusy[r, p] * self.cyc))
            e = f.loc[r, p]
            if e < 0:
                name = f"{_fmt(f.nodes[r])}->{_fmt(f.nodes[f.nbr[r, p]])}"
            elif e in mem_of:
                name = f"{mem_of[e]}_wr"
            else:
                name = f"ej@{_fmt(f.nodes[r])}"
            out[name] = busy
        return out


def notify(on_done, tag, t: int) -> None:
    """Tell a sender its transfer arrived at ``t``: ``on_done(t)``, or ``on_done(tag, t)`` with a tag."""
    if on_done is not None:
        if tag is None:
            on_done(t)
        else:
            on_done(tag, t)


def _fmt(n) -> str:
    return ",".join(map(str, n))
