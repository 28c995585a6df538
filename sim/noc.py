"""Packet-level NoC timing by link reservation (virtual cut-through, credit backpressure).

Each transfer is split into packets of ``packet_flits`` flits. A packet is reserved hop by hop
along its dimension-order route when the transfer is issued:

* at every router the head pays the router pipeline (``router_latency_cycles``);
* it may cross a link when the link is free (links serialize: one flit per cycle, so a packet
  holds a link for ``flits`` cycles) and the downstream input buffer has room for the whole
  packet (``buffer_flits // packet_flits`` packets; a slot frees when a packet's tail leaves);
  a packet that cannot move waits in its buffer, so a full buffer holds back the link feeding
  it — backpressure spreads upstream;
* the link adds ``link_latency_cycles``; body flits follow the head one per cycle.

Injection (NI -> router) and ejection (router -> NI) are channels too, so transfers from or to
the same unit serialize; a memory endpoint's (DRAM, global buffer) read and write channels run at
its bandwidth and add its latency. Links are granted first come, first served in the order transfers are issued (the
simulator issues them in time order). With ``ideal=True`` links have infinite bandwidth and
never contend: a transfer takes its zero-load head latency.
"""
from __future__ import annotations

import heapq

from prismsim.hw.memory import mem_latency_ps, mem_ps
from prismsim.hw.noc import head_latency_ps, xy_route
from prismsim.hw.spec import Arch


class Network:
    def __init__(self, arch: Arch, ideal: bool = False):
        noc = arch.noc
        self.arch, self.ideal = arch, ideal
        self.cyc = noc.cycle_ps
        self.R = int(round(noc.router_latency_cycles * self.cyc))
        self.L = int(round(noc.link_latency_cycles * self.cyc))
        self.flit_bytes = noc.flit_bytes
        self.packet_flits = noc.packet_flits
        self.slots = max(1, noc.buffer_flits // noc.packet_flits)
        self.mems = arch.memories()
        self.free: dict = {}        # channel -> time it is next free
        self.busy: dict = {}        # channel -> total busy ps
        self.occupants: dict = {}   # link -> min-heap of the latest `slots` buffer departure times
        self.packets = 0
        self.bytes_sent = 0

    def _hold(self, ch, t: int, dur: int) -> int:
        dep = max(t, self.free.get(ch, 0))
        self.free[ch] = dep + dur
        self.busy[ch] = self.busy.get(ch, 0) + dur
        return dep

    def _leave(self, link, t: int) -> None:
        h = self.occupants.setdefault(link, [])
        heapq.heappush(h, t)
        if len(h) > self.slots:
            heapq.heappop(h)

    def _slot(self, link) -> int:
        h = self.occupants.get(link)
        return h[0] if h and len(h) >= self.slots else 0

    def send(self, src, dst, nbytes: int, t: int, src_mem: str | None = None, dst_mem: str | None = None) -> int:
        """Reserve a transfer issued at ``t`` (ps) from router ``src`` to router ``dst``; return the
        time its last byte is delivered. ``src_mem``/``dst_mem`` name a memory endpoint."""
        self.bytes_sent += nbytes
        route = xy_route(src, dst)
        rd = self.mems[src_mem] if src_mem else None
        wr = self.mems[dst_mem] if dst_mem else None
        lat_in = mem_latency_ps(rd) if rd else 0
        lat_out = mem_latency_ps(wr) if wr else 0
        if self.ideal:
            return t + lat_in + head_latency_ps(self.arch.noc, len(route) - 1) + lat_out
        links = [(route[i], route[i + 1]) for i in range(len(route) - 1)]
        inj = (f"{src_mem}_rd",) if rd else ("inj", src)
        ej = (f"{dst_mem}_wr",) if wr else ("ej", dst)
        t0 = t + lat_in
        pbytes = self.flit_bytes * self.packet_flits
        done = t
        left = nbytes
        while left > 0:
            b = min(pbytes, left)
            left -= b
            ser = int(round(-(-b // self.flit_bytes) * self.cyc))
            head = self._hold(inj, t0, mem_ps(rd, b) if rd else ser)
            prev = None
            for link in links:
                dep = max(head + self.R, self.free.get(link, 0), self._slot(link))
                self.free[link] = dep + ser
                self.busy[link] = self.busy.get(link, 0) + ser
                if prev is not None:
                    self._leave(prev, dep + ser)
                prev = link
                head = dep + self.L
            out = mem_ps(wr, b) if wr else ser
            dep = self._hold(ej, head + self.R, out)
            if prev is not None:
                self._leave(prev, dep + out)
            done = dep + out + lat_out
            self.packets += 1
        return done

    def link_busy(self) -> dict[str, int]:
        """Busy ps per named channel: ``x,y->x,y`` links, ``inj@x,y``, ``ej@x,y``, ``dram_rd``, ``gb_wr``, ..."""
        out = {}
        for ch, v in self.busy.items():
            if len(ch) == 2 and isinstance(ch[0], tuple) and isinstance(ch[1], tuple):
                name = f"{ch[0][0]},{ch[0][1]}->{ch[1][0]},{ch[1][1]}"
            elif len(ch) == 2:
                name = f"{ch[0]}@{ch[1][0]},{ch[1][1]}"
            else:
                name = ch[0]
            out[name] = v
        return out
