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
Waiting heads queue per output channel (no head-of-line blocking between outputs). Routes that
can form a cyclic wait may deadlock; the simulator then reports the channels whose packets never
moved. With ``ideal=True`` links have infinite bandwidth and never contend: a transfer takes its
zero-load head latency.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import simpy

from prismsim.hw.memory import Memory, mem_latency_ps, mem_ps
from prismsim.hw.noc import NocParams, head_latency_ps, link_kind, link_props, route


class _Channel:
    __slots__ = ("name", "width", "lat", "credits", "queue", "busy", "busy_ps", "rate")

    def __init__(self, name, width: int, lat: int, credits: float, rate=None):
        self.name, self.width, self.lat, self.credits = name, width, lat, credits
        self.queue: deque = deque()
        self.busy = False
        self.busy_ps = 0
        self.rate = rate  # memory endpoint: hold = mem_ps(rate, bytes)


class _Packet:
    __slots__ = ("path", "i", "nbytes", "done", "injected", "prev", "tail")

    def __init__(self, path, nbytes: int, done):
        self.path, self.i, self.nbytes, self.done = path, 0, nbytes, done
        self.injected = -1
        self.prev: _Channel | None = None
        self.tail = 0  # when the tail flit is ready (past the router pipeline) to cross the next channel


class Network:
    """The NoC of one run. ``mems``: memory endpoints by name (``Arch.memories()``)."""

    def __init__(self, env: simpy.Environment, noc: NocParams, mems: dict[str, Memory] | None = None,
                 ideal: bool = False):
        self.env, self.noc, self.ideal = env, noc, ideal
        self.mems = mems or {}
        self.cyc = noc.cycle_ps
        self.R = int(round(noc.router_latency_cycles * self.cyc))
        self.slots = noc.vcs * max(1, noc.buffer_flits // noc.packet_flits)
        self.flit_bytes = noc.flit_bytes
        self.pbytes = noc.packet_bytes
        self.channels: dict = {}
        self._paths: dict = {}
        self.packets = 0
        self.in_flight = 0
        self.bytes_sent = 0
        self.bytes_delivered = 0

    # -- topology ---------------------------------------------------------------------------
    def _channel(self, key) -> _Channel:
        ch = self.channels.get(key)
        if ch is None:
            kind = key[0]
            if kind == "link":
                a, b = key[1], key[2]
                width, lat, _ = link_props(self.noc, link_kind(self.noc, a, b) or "interposer")
                ch = _Channel(key, width, int(round(lat * self.cyc)), self.slots)
            elif kind == "inj":  # into the source router's injection buffer
                ch = _Channel(key, self.flit_bytes, 0, self.slots)
            elif kind == "ej":
                ch = _Channel(key, self.flit_bytes, 0, float("inf"))
            else:  # memory read/write port: ("mem_rd" | "mem_wr", name)
                credits = self.slots if kind == "mem_rd" else float("inf")
                ch = _Channel(key, self.flit_bytes, 0, credits, rate=self.mems[key[1]])
            self.channels[key] = ch
        return ch

    def _path(self, src, dst, src_mem, dst_mem) -> tuple[list[_Channel], int]:
        key = (src, dst, src_mem, dst_mem)
        hit = self._paths.get(key)
        if hit is None:
            nodes = route(self.noc, src, dst)
            chans = [self._channel(("mem_rd", src_mem) if src_mem else ("inj", src))]
            chans += [self._channel(("link", a, b)) for a, b in zip(nodes, nodes[1:])]
            chans.append(self._channel(("mem_wr", dst_mem) if dst_mem else ("ej", dst)))
            hit = self._paths[key] = (chans, head_latency_ps(self.noc, nodes))
        return hit

    # -- traffic ----------------------------------------------------------------------------
    def send(self, src, dst, nbytes: int, on_done: Callable[[int], None] | None = None,
             src_mem: str | None = None, dst_mem: str | None = None,
             on_packet: Callable[[int, int], None] | None = None) -> None:
        """Start a transfer at ``env.now``; ``on_done(t)`` when its last byte arrives,
        ``on_packet(t_injected, t_delivered)`` for every packet."""
        env = self.env
        self.bytes_sent += nbytes
        chans, head = self._path(src, dst, src_mem, dst_mem)
        lat_in = mem_latency_ps(self.mems[src_mem]) if src_mem else 0
        lat_out = mem_latency_ps(self.mems[dst_mem]) if dst_mem else 0
        if self.ideal or nbytes <= 0:
            delay = lat_in + head + lat_out if nbytes > 0 or self.ideal else 0

            def fin(_e, n=nbytes):
                self.bytes_delivered += n
                if on_packet:
                    on_packet(env.now - delay + lat_in, env.now)
                if on_done:
                    on_done(env.now)
            env.timeout(delay).callbacks.append(fin)
            return
        n = -(-nbytes // self.pbytes)
        state = {"left": n}

        def delivered(pk: _Packet) -> None:
            self.bytes_delivered += pk.nbytes
            if on_packet:
                on_packet(pk.injected, env.now + lat_out)
            state["left"] -= 1
            if state["left"] == 0 and on_done:
                if lat_out:
                    env.timeout(lat_out).callbacks.append(lambda _e: on_done(env.now))
                else:
                    on_done(env.now)

        def start(_e=None) -> None:
            left = nbytes
            while left > 0:
                b = min(self.pbytes, left)
                left -= b
                self.packets += 1
                self.in_flight += 1
                self._request(_Packet(chans, b, delivered), chans[0])

        if lat_in:
            env.timeout(lat_in).callbacks.append(start)
        else:
            start()

    def _request(self, pk: _Packet, ch: _Channel) -> None:
        ch.queue.append(pk)
        if len(ch.queue) == 1:
            self._arbitrate(ch)

    def _arbitrate(self, ch: _Channel) -> None:
        """Grant ``ch`` to its first waiting head if it is idle and has a credit."""
        if ch.busy or not ch.queue or ch.credits <= 0:
            return
        pk = ch.queue.popleft()
        ch.busy = True
        ch.credits -= 1
        now = self.env.now
        if ch.rate is not None:
            hold = mem_ps(ch.rate, pk.nbytes)
            flit = mem_ps(ch.rate, min(pk.nbytes, self.flit_bytes))
        else:
            hold = int(round(-(-pk.nbytes // ch.width) * self.cyc))
            flit = int(round(-(-min(pk.nbytes, self.flit_bytes) // ch.width) * self.cyc))
        # cut-through: a channel cannot finish before the tail flit is ready and has crossed it,
        # which matters after a narrower (or slower) channel upstream
        hold = max(hold, pk.tail + flit - now)
        pk.tail = now + hold - flit + ch.lat + self.R
        ch.busy_ps += hold
        if pk.i == 0:
            pk.injected = now
        prev, pk.prev = pk.prev, ch
        env = self.env

        def released(_e, ch=ch, prev=prev) -> None:
            ch.busy = False
            if prev is not None:  # tail left the buffer before this channel
                prev.credits += 1
                self._arbitrate(prev)
            self._arbitrate(ch)

        env.timeout(hold).callbacks.append(released)
        pk.i += 1
        if pk.i == len(pk.path):  # ejected: the tail is out when the hold ends
            def out(_e, pk=pk) -> None:
                self.in_flight -= 1
                pk.done(pk)
            env.timeout(hold).callbacks.append(out)
            return
        nxt = pk.path[pk.i]
        env.timeout(ch.lat + self.R).callbacks.append(lambda _e, pk=pk, nxt=nxt: self._request(pk, nxt))

    # -- reporting --------------------------------------------------------------------------
    def stuck(self) -> list[str]:
        """Channels with heads that never got through (after the event queue ran dry)."""
        return sorted(_name(ch.name) for ch in self.channels.values() if ch.queue)

    def link_busy(self) -> dict[str, int]:
        """Busy ps per channel: ``x,y->x,y`` links, ``inj@x,y``, ``ej@x,y``, ``dram_rd``, ``gb_wr``, ..."""
        return {_name(ch.name): ch.busy_ps for ch in self.channels.values() if ch.busy_ps}


def _fmt(n) -> str:
    return ",".join(map(str, n))


def _name(key) -> str:
    if key[0] == "link":
        return f"{_fmt(key[1])}->{_fmt(key[2])}"
    if key[0] in ("inj", "ej"):
        return f"{key[0]}@{_fmt(key[1])}"
    return f"{key[1]}_{'rd' if key[0] == 'mem_rd' else 'wr'}"
