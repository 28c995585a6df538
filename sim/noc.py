"""Event-driven packet model of the NoC (virtual cut-through, credit backpressure), on SimPy.

A transfer is split into packets of ``packet_flits`` flits that enter the source's injection
channel queue. Every channel (injection, each link of the route from ``hw.noc.route``, ejection)
serves the heads waiting for it first come, first served:

* a head may take a channel when the channel is idle and the input buffer at its far end has a
  free slot (credits: ``vcs`` x ``buffer_flits // packet_flits`` whole packets; the injection
  channel feeds the source router's injection buffer; ejection always has room);
* the channel is then held for the packet's serialization, ceil(bytes / width) cycles (mesh,
  interposer and TSV links have their own widths; a memory endpoint's channel runs at the
  memory's bandwidth and adds its latency);
* the packet leaves the buffer it sat in when its tail has left, returning that buffer's credit
  — a full buffer thus holds packets upstream, and backpressure spreads;
* the head reaches the next router after the link's latency and requests its next channel after
  the router pipeline (``router_latency_cycles``).

Zero-load latency of one packet is (hops + 1) x router + sum of link latencies + serialization.
Packet hops are events on the network's own queue: a heap of the distinct times, each with its
events in the order they were scheduled (many events share a time, as holds are whole cycles, so the
heap orders times rather than events). ``Network.run`` drives SimPy's environment and the network
together (use it instead of ``env.run()``): SimPy's events one at a time, and whenever the network's
next event is due no later than SimPy's next one, the network's events up to that time — it runs
ahead of SimPy's clock (nothing else can act before SimPy's next event, so causality holds),
deliveries included: callbacks get their time as an argument and must use it rather than ``env.now``
(``send`` from a callback starts at that time; a SimPy event it schedules is placed relative to it,
and the network then stops short of that event).
Network events at a time run before the simulator's events at the same time.
Waiting heads queue per output channel (no head-of-line blocking between outputs). Routes that
can form a cyclic wait may deadlock; the simulator then reports the channels whose packets never
moved. With ``ideal=True`` links have infinite bandwidth and never contend: a transfer takes its
zero-load head latency.
"""
from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import Callable

import simpy

from prismsim.hw.memory import Memory, mem_latency_ps, mem_ps
from prismsim.hw.noc import NocParams, flits_ps, route_links


class _Channel:
    __slots__ = ("name", "width", "lat", "credits", "queue", "busy", "busy_ps", "rate", "times")

    def __init__(self, name, width: int, lat: int, credits: float, rate=None):
        self.name, self.width, self.lat, self.credits = name, width, lat, credits
        self.queue: deque = deque()
        self.busy = False
        self.busy_ps = 0
        self.rate = rate  # memory endpoint: hold = mem_ps(rate, bytes)
        self.times: dict[int, tuple[int, int]] = {}  # packet bytes -> (hold, flit) ps, once known


class _Transfer:
    __slots__ = ("path", "nbytes", "left", "unmade", "on_done", "on_packet", "lat_out", "tag")

    def __init__(self, path, nbytes: int, left: int, on_done, on_packet, lat_out: int, tag):
        self.path, self.nbytes, self.left = path, nbytes, left  # left: packets not yet delivered
        self.unmade = nbytes   # bytes not yet cut into packets (see _inject)
        self.on_done, self.on_packet, self.lat_out, self.tag = on_done, on_packet, lat_out, tag


class _Packet:
    __slots__ = ("path", "i", "nbytes", "tr", "injected", "prev", "tail")

    def __init__(self, tr: _Transfer, nbytes: int):
        self.path, self.i, self.nbytes, self.tr = tr.path, 0, nbytes, tr
        self.injected = -1
        self.prev: _Channel | None = None
        self.tail = 0  # when the tail flit is ready (past the router pipeline) to cross the next channel


class Network:
    """The NoC of one run. ``mems``: memory endpoints by name (``Arch.memories()``)."""

    lookahead = True   # run ahead of SimPy's clock (False: stop at every network event time; for tests)

    def __init__(self, env: simpy.Environment, noc: NocParams, mems: dict[str, Memory] | None = None,
                 ideal: bool = False, recorder=None, counters=None):
        self.env, self.noc, self.ideal = env, noc, ideal
        self.rec = recorder        # records every channel hold (trace level "packets") when set
        self.counters = counters   # receives input-buffer occupancy counters when set
        self.mems = mems or {}
        self.cyc = noc.cycle_ps
        self.R = int(round(noc.router_latency_cycles * self.cyc))
        self.slots = noc.vcs * max(1, noc.buffer_flits // noc.packet_flits)
        self.flit_bytes = noc.flit_bytes
        self.pbytes = noc.packet_bytes
        self.channels: dict = {}
        self._paths: dict = {}
        self.clock = 0                  # the network's time: SimPy's, or ahead of it (see _pump)
        self.packets = 0
        self.in_flight = 0
        self.bytes_sent = 0
        self.bytes_delivered = 0
        self.events = 0                 # network events processed
        self._times: list[int] = []     # heap of the distinct times that have events due
        self._due: dict[int, list] = {}  # time -> its events (kind, a, b), in the order scheduled
        self._pumping = False

    # -- the network's own event queue --------------------------------------------------------
    # event kinds; _OUT (a packet's tail is out) and _DONE (transfer a has arrived) may call out
    # of the network
    _RELEASE, _OUT, _REQUEST, _DONE, _INJECT = 0, 1, 2, 3, 4

    def _at(self, t: int, kind: int, a=None, b=None) -> None:
        due = self._due.get(t)
        if due is None:  # many events share a time (whole cycles): the heap orders times, not events
            due = self._due[t] = []
            heappush(self._times, t)
        due.append((kind, a, b))

    def run(self) -> None:
        """Run SimPy's environment and the network together until neither has anything left:
        SimPy's events one by one; whenever the network's next event comes no later than
        SimPy's next one, the network runs up to that time (its events at a time first)."""
        env, times, pump = self.env, self._times, self._pump
        peek, step = env.peek, env.step
        inf = float("inf")
        while True:
            ts = peek()
            if times and times[0] <= ts:
                pump(ts if self.lookahead else times[0])
            elif ts == inf:
                return
            else:
                step()

    def _pump(self, limit: int) -> None:
        """Process the network's events up to ``limit`` (ps): nobody outside the network acts before then."""
        env = self.env
        now = env.now
        times, dues = self._times, self._due
        self._pumping = True
        while times:
            t = times[0]
            if t > limit:
                break
            self.clock = t
            due = dues[t]
            called = False   # whether a callback ran (it may have scheduled a SimPy event)
            for kind, a, b in due:  # events scheduled at t meanwhile join the end of due, in order
                if kind == 2:
                    self._request(a, b)
                elif kind == 0:
                    a.busy = False
                    if b is not None:  # the tail left the buffer before channel a
                        b.credits += 1
                        if self.counters is not None and b.name[0] == "link":
                            self.counters.counter(t, f"buffer {_name(b.name)}", self.slots - b.credits)
                        self._arbitrate(b)
                    self._arbitrate(a)
                elif kind == 1:
                    self.in_flight -= 1
                    self.bytes_delivered += a.nbytes
                    tr = a.tr
                    if tr.on_packet is not None:
                        tr.on_packet(a.injected, t + tr.lat_out)
                        called = True
                    tr.left -= 1
                    if tr.left == 0 and tr.on_done is not None:
                        if tr.lat_out:
                            self._at(t + tr.lat_out, self._DONE, tr)
                        else:
                            _arrived(tr, t)
                            called = True
                elif kind == 3:
                    if b is not None:  # an ideal transfer: b = (delay, lat_in)
                        self.bytes_delivered += a.nbytes
                        if a.on_packet is not None:
                            a.on_packet(t - b[0] + b[1], t)
                    if a.on_done is not None:
                        _arrived(a, t)
                    called = True
                else:
                    self._inject(a)
            heappop(times)
            del dues[t]
            self.events += len(due)
            if called:  # a SimPy event it scheduled is at t or later
                limit = min(limit, env.peek())
        self._pumping = False
        self.clock = now

    # -- topology ---------------------------------------------------------------------------
    def _channel(self, key, width: int | None = None, lat_cycles: int = 0) -> _Channel:
        ch = self.channels.get(key)
        if ch is None:
            kind = key[0]
            if kind == "link":
                ch = _Channel(key, width, int(round(lat_cycles * self.cyc)), self.slots)
            elif kind == "inj":  # into the source router's injection buffer
                ch = _Channel(key, self.flit_bytes, 0, self.slots)
            elif kind == "ej":
                ch = _Channel(key, self.flit_bytes, 0, float("inf"))
            else:  # memory read/write port: ("mem_rd" | "mem_wr", name)
                credits = self.slots if kind == "mem_rd" else float("inf")
                ch = _Channel(key, self.flit_bytes, 0, credits, rate=self.mems[key[1]])
            self.channels[key] = ch
        return ch

    def route(self, src, dst, src_mem: str | None = None, dst_mem: str | None = None
              ) -> tuple[list[_Channel], int, int, int]:
        """The route handle for ``send_on``: channels, zero-load head latency and the memories'
        latencies (ps) from ``src`` (or memory ``src_mem`` there) to ``dst`` (or ``dst_mem``)."""
        key = (src, dst, src_mem, dst_mem)
        hit = self._paths.get(key)
        if hit is None:
            head, links = route_links(self.noc, src, dst)
            chans = [self._channel(("mem_rd", src_mem) if src_mem else ("inj", src))]
            chans += [self._channel(("link", a, b), width, lat) for a, b, width, lat in links]
            chans.append(self._channel(("mem_wr", dst_mem) if dst_mem else ("ej", dst)))
            hit = self._paths[key] = (chans, head,
                                      mem_latency_ps(self.mems[src_mem]) if src_mem else 0,
                                      mem_latency_ps(self.mems[dst_mem]) if dst_mem else 0)
        return hit

    # -- traffic ----------------------------------------------------------------------------
    def send(self, src, dst, nbytes: int, on_done: Callable[[int], None] | None = None,
             src_mem: str | None = None, dst_mem: str | None = None,
             on_packet: Callable[[int, int], None] | None = None) -> None:
        """Start a transfer now (``env.now``, or the time of the network callback that calls it);
        ``on_done(t)`` when its last byte arrives, ``on_packet(t_injected, t_delivered)`` for every
        packet. Callbacks may run ahead of ``env.now``: they must use the times they are given."""
        self.send_on(self.route(src, dst, src_mem, dst_mem), nbytes, on_done, on_packet)

    def send_on(self, route: tuple[list[_Channel], int, int, int], nbytes: int,
                on_done: Callable | None = None, on_packet: Callable[[int, int], None] | None = None,
                tag=None) -> None:
        """``send`` along a handle from ``route`` (for callers that send the same way often);
        with a ``tag``, ``on_done(tag, t)`` rather than ``on_done(t)``."""
        now = self.clock if self._pumping else self.env.now
        self.clock = now
        self.bytes_sent += nbytes
        chans, head, lat_in, lat_out = route
        if self.ideal or nbytes <= 0:
            delay = lat_in + head + lat_out if nbytes > 0 or self.ideal else 0
            tr = _Transfer(chans, nbytes, 1, on_done, on_packet, lat_out, tag)
            self._at(now + delay, self._DONE, tr, (delay, lat_in))
            return
        tr = _Transfer(chans, nbytes, -(-nbytes // self.pbytes), on_done, on_packet, lat_out, tag)
        if lat_in:
            self._at(now + lat_in, self._INJECT, tr)
            return
        self._inject(tr)

    def _inject(self, tr: _Transfer) -> None:
        """Queue the transfer for its first channel. Its packets are cut one at a time: the next
        one takes the head of the queue when the one before it is granted (``_grant``), so the
        order is that of queueing them all at once, and memory stays bounded however big the transfer."""
        self.packets += tr.left
        self.in_flight += tr.left
        self._request(self._cut(tr), tr.path[0])

    def _cut(self, tr: _Transfer) -> _Packet:
        """The transfer's next packet (a full one, or what is left)."""
        b = self.pbytes if tr.unmade > self.pbytes else tr.unmade
        tr.unmade -= b
        return _Packet(tr, b)

    def _request(self, pk: _Packet, ch: _Channel) -> None:
        """A head asks for its next channel: it takes it if no one waits and it is free, else queues."""
        if ch.queue or ch.busy or ch.credits <= 0:
            ch.queue.append(pk)
        else:
            self._grant(ch, pk)

    def _arbitrate(self, ch: _Channel) -> None:
        """Grant ``ch`` to its first waiting head if it is idle and has a credit."""
        if ch.busy or not ch.queue or ch.credits <= 0:
            return
        self._grant(ch, ch.queue.popleft())

    def _grant(self, ch: _Channel, pk: _Packet) -> None:
        """``pk`` takes ``ch`` (idle, with a credit) now: schedule the release and its next request or arrival."""
        ch.busy = True
        ch.credits -= 1
        now = self.clock
        if self.counters is not None and ch.name[0] == "link":
            self.counters.counter(now, f"buffer {_name(ch.name)}", self.slots - ch.credits)
        nb = pk.nbytes
        known = ch.times.get(nb)
        if known is not None:
            hold, flit = known
        else:
            if ch.rate is not None:
                hold = mem_ps(ch.rate, nb)
                flit = mem_ps(ch.rate, min(nb, self.flit_bytes))
            else:
                hold = flits_ps(self.noc, -(-nb // ch.width))
                flit = flits_ps(self.noc, -(-min(nb, self.flit_bytes) // ch.width))
            if len(ch.times) < 64:  # full packets and the common tails
                ch.times[nb] = hold, flit
        # cut-through: a channel cannot finish before the tail flit is ready and has crossed it,
        # which matters after a narrower (or slower) channel upstream
        if pk.tail + flit - now > hold:
            hold = pk.tail + flit - now
        pk.tail = now + hold - flit + ch.lat + self.R
        ch.busy_ps += hold
        if self.rec is not None:
            self.rec.row(now, now + hold, "transfer", _name(ch.name), "", -1, -1, pk.nbytes, 0, 0.0)
        if pk.i == 0:
            pk.injected = now
            if pk.tr.unmade:  # the transfer's next packet waits first in line for this channel
                ch.queue.appendleft(self._cut(pk.tr))
        prev, pk.prev = pk.prev, ch
        # self._at, inlined (7-10% faster than three calls; RELEASE and OUT share a time's list)
        dues, end = self._due, now + hold
        due = dues.get(end)
        if due is None:
            due = dues[end] = []
            heappush(self._times, end)
        due.append((0, ch, prev))                 # _RELEASE
        pk.i += 1
        if pk.i == len(pk.path):  # ejected: the tail is out when the hold ends
            due.append((1, pk, None))             # _OUT
            return
        nxt = now + ch.lat + self.R
        due = dues.get(nxt)
        if due is None:
            due = dues[nxt] = []
            heappush(self._times, nxt)
        due.append((2, pk, pk.path[pk.i]))        # _REQUEST

    # -- reporting --------------------------------------------------------------------------
    def stuck(self) -> list[str]:
        """Channels with heads that never got through (after the event queue ran dry)."""
        return sorted(_name(ch.name) for ch in self.channels.values() if ch.queue)

    def link_busy(self) -> dict[str, int]:
        """Busy ps per channel: ``x,y->x,y`` links, ``inj@x,y``, ``ej@x,y``, ``dram_rd``, ``gb_wr``, ..."""
        return {_name(ch.name): ch.busy_ps for ch in self.channels.values() if ch.busy_ps}


def _arrived(tr: _Transfer, t: int) -> None:
    """Tell the sender that transfer ``tr`` has arrived at ``t`` (ps)."""
    if tr.tag is None:
        tr.on_done(t)
    else:
        tr.on_done(tr.tag, t)


def _fmt(n) -> str:
    return ",".join(map(str, n))


def _name(key) -> str:
    if key[0] == "link":
        return f"{_fmt(key[1])}->{_fmt(key[2])}"
    if key[0] in ("inj", "ej"):
        return f"{key[0]}@{_fmt(key[1])}"
    return f"{key[1]}_{'rd' if key[0] == 'mem_rd' else 'wr'}"
