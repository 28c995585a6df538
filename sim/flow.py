"""A flow-level network (``--noc flow``): transfers as fluid flows sharing bandwidth by max–min
fairness, re-solved at every flow arrival and departure (the standard fluid model).

A transfer from ``src`` to ``dst`` uses a resource per channel it crosses: its source's injection
port (or a memory's read port), every link of its route, and its destination's ejection port (or a
memory's write port). A resource carries one flit per cycle, a link narrower than a flit one per
``ceil(flit / width)`` cycles, a memory port one per flit bytes / bandwidth. Rates are max–min
fair (progressive filling: the most contended resource fixes its flows' rate, then the next). As
the router model's endpoints send their messages one after another, a source port sends its flows
first come first served: the next starts once what is left of the current one fits the input
buffers along its route (one VC's, ``buffer_flits`` per router: flits the network holds while the
destination is busy), and from then on they share the port. Without that turn-taking (every flow
of a port sharing it at once) the model was 8-11% fast on Pythia-70M and BERT-base and 14% slow
on MobileViT-S on ``hybrid``; with strict turns (the next only once the last flit has left) up to
25% slow on ResNet-50. A flow of F flits sends its F - 1 flits after the first at its rate; it
arrives the router model's zero-load head latency (``hw.noc.head_latency_ps``) after its last byte
leaves, plus the memories' latencies. Alone on an idle network it takes the router model's
zero-load time on links a flit wide (``serialization_ps``: a flit per cycle); it has no packets,
VCs or head-of-line blocking beyond its ports' turns, so under contention it is an approximation
whose error ``prismsim validate --noc flow`` measures against the router model. It interfaces like ``sim.noc.Network``.
"""
from __future__ import annotations

import math
from collections import deque
from heapq import heapify, heappop, heappush
from typing import Callable

import simpy

from prismsim.hw.memory import Memory, mem_latency_ps
from prismsim.hw.noc import NocParams, head_latency_ps, link_kind, link_props, port_cycles_per_flit, route

from .noc import notify

EPS = 1e-9


class _Flow:
    __slots__ = ("res", "left", "rate", "nbytes", "on_done", "lat_out", "tag", "head", "id", "hold", "holding",
                 "flits", "mark")

    def __init__(self, res, flits, nbytes, on_done, lat_out, tag, head, fid, hold=0.0):
        self.res, self.left, self.rate, self.nbytes = res, float(flits), 0.0, nbytes
        self.flits = float(flits)
        self.hold, self.holding = hold, False   # flits the network's buffers can take; holds its source port
        self.on_done, self.lat_out, self.tag, self.head, self.id = on_done, lat_out, tag, head, fid
        self.mark = -1   # the solve that last fixed its rate


_solves = [0]


def max_min_rates(flows: list, cap: dict, users: dict | None = None) -> None:
    """Set every flow's ``rate`` (flits per cycle) max–min fair over the resources' capacities
    ``cap`` (flits per cycle), by progressive filling: the resource whose fair share (capacity
    left over its unfixed flows) is least fixes its flows at that share, then the next. A
    resource's share only grows as flows elsewhere are fixed (each takes at most the share that
    was least), so a heap of shares with stale entries re-pushed finds each in turn (ties: the
    resource met first). ``users``: each resource's flows, if the caller keeps them (the flow
    network does, as flows come and go), else built from ``flows``."""
    if users is None:
        users = {}
        for f in flows:
            for r in f.res:
                users.setdefault(r, {})[f.id] = f
    _solves[0] += 1
    stamp = _solves[0]
    names = list(users)
    left = [cap[r] for r in names]
    count = [len(users[r]) for r in names]
    rid = {r: i for i, r in enumerate(names)}
    heap = [(left[i] / count[i], i) for i in range(len(names))]
    heapify(heap)
    while heap:
        share, i = heappop(heap)
        if count[i] <= 0:
            continue
        now = left[i] / count[i]
        if now != share:
            heappush(heap, (now, i))
            continue
        for f in users[names[i]].values():
            if f.mark == stamp:
                continue
            f.rate = share
            f.mark = stamp
            for r in f.res:
                j = rid[r]
                left[j] -= share
                count[j] -= 1


class FlowNetwork:
    """The NoC of one run as flows. ``mems``: memory endpoints by name (``Arch.memories()``)."""

    def __init__(self, env: simpy.Environment, noc: NocParams, mems: dict[str, Memory] | None = None,
                 ideal: bool = False, recorder=None, counters=None):
        self.env, self.noc, self.ideal = env, noc, ideal
        self.mems = mems or {}
        self.cyc = noc.cycle_ps
        self.cap: dict = {}
        self.flows: dict[int, _Flow] = {}
        self.users: dict = {}     # resource -> its active flows (id -> flow, in arrival order)
        self._pending: list = []  # (time ps, order, kind, flow): start after a memory's latency / arrive
        self._order = 0
        self._next_id = 0
        self._paths: dict = {}
        self._busy: dict = {}     # resource -> flit-cycles carried
        self._sending: dict = {}  # source port -> the flow it is sending (a port sends one at a time)
        self._queued: dict = {}   # source port -> flows waiting for it, first come first served
        self.t = 0.0              # the time (ps) rates were last applied
        self._end = math.inf      # _next_end, kept from the last solve
        self.clock = 0
        self._pumping = False
        self.packets = 0
        self.bytes_sent = 0
        self.bytes_delivered = 0
        self.events = 0

    def route(self, src, dst, src_mem: str | None = None, dst_mem: str | None = None) -> tuple:
        """The handle for ``send_on``: (resources, head latency ps, memory latencies ps in and out)."""
        key = (src, dst, src_mem, dst_mem)
        hit = self._paths.get(key)
        if hit is None:
            noc = self.noc
            path = route(noc, tuple(src), tuple(dst))
            res = [("rd", src_mem) if src_mem else ("inj", tuple(src))]
            self.cap.setdefault(res[0], 1.0 / port_cycles_per_flit(noc, self.mems[src_mem].bandwidth_gbps)
                                if src_mem else 1.0)
            for a, b in zip(path, path[1:]):
                k = link_kind(noc, a, b) or "interposer"
                self.cap.setdefault((a, b), 1.0 / -(-noc.flit_bytes // link_props(noc, k)[0]))
                res.append((a, b))
            end = ("wr", dst_mem) if dst_mem else ("ej", tuple(dst))
            self.cap.setdefault(end, 1.0 / port_cycles_per_flit(noc, self.mems[dst_mem].bandwidth_gbps)
                                if dst_mem else 1.0)
            res.append(end)
            hit = self._paths[key] = (tuple(res), head_latency_ps(noc, path),
                                      mem_latency_ps(self.mems[src_mem]) if src_mem else 0,
                                      mem_latency_ps(self.mems[dst_mem]) if dst_mem else 0)
        return hit

    def send(self, src, dst, nbytes: int, on_done: Callable[[int], None] | None = None,
             src_mem: str | None = None, dst_mem: str | None = None, on_packet=None) -> None:
        self.send_on(self.route(src, dst, src_mem, dst_mem), nbytes, on_done)

    def send_on(self, route_: tuple, nbytes: int, on_done: Callable | None = None, on_packet=None, tag=None) -> None:
        """Start a transfer now; ``on_done(t)`` (or ``on_done(tag, t)``) when its last byte arrives."""
        now = self.clock if self._pumping else self.env.now
        self.clock = now
        self.bytes_sent += nbytes
        res, head, lat_in, lat_out = route_
        flits = -(-nbytes // self.noc.flit_bytes)
        self.packets += -(-flits // self.noc.packet_flits)
        hold = (len(res) - 1) * self.noc.buffer_flits   # input buffers along its route
        f = _Flow(res, max(0, flits - 1), nbytes, on_done, lat_out, tag, head, self._next_id, hold)
        self._next_id += 1
        if self.ideal or nbytes <= 0:
            self._later(now + (lat_in + head + lat_out if nbytes > 0 or self.ideal else 0), 1, f)
        else:
            self._later(now + lat_in, 0, f)

    def _later(self, t: float, kind: int, f: _Flow) -> None:
        heappush(self._pending, (t, self._order, kind, f))
        self._order += 1

    # -- running --------------------------------------------------------------------------
    def _next_end(self) -> float:
        """When the first active flow sends its last flit, or has no more flits than the network's
        buffers on its route take, so its source port may start its next flow (ps): found at each
        solve (rates, and so these times, hold until the next)."""
        return self._end

    def _find_end(self) -> float:
        best = math.inf
        for f in self.flows.values():
            if f.rate > EPS:
                left = f.left - f.hold if f.holding and f.left > f.hold + 1e-6 else f.left
                best = min(best, self.t + left / f.rate * self.cyc)
        return best

    def _advance(self, t: float) -> None:
        dt = (t - self.t) / self.cyc
        if dt > 0:
            for f in self.flows.values():
                f.left = max(0.0, f.left - f.rate * dt)
        self.t = t

    def _solve(self) -> None:
        max_min_rates([], self.cap, self.users)
        self._end = self._find_end()

    def _next_ps(self) -> float:
        return min(self._pending[0][0] if self._pending else math.inf, self._next_end())

    def run(self) -> None:
        env = self.env
        while True:
            ts = env.peek()
            tn = self._next_ps()
            if tn <= ts and tn < math.inf:
                self._pump(ts)
            elif ts == math.inf:
                return
            else:
                env.step()

    def _pump(self, limit: float) -> None:
        """Play the network's events up to ``limit`` (ps). Rates are solved once per instant: a
        change is marked (``dirty``) and solved before time moves on, so flows that start and end
        at one time cost one solve (the rates of an instant that takes no time move no flit)."""
        self._pumping = True
        env = self.env
        dirty = False
        while True:
            tp = self._pending[0][0] if self._pending else math.inf
            if dirty and tp > self.t:   # time would pass: the rates must be current
                self._solve()
                dirty = False
            te = self._next_end()
            t = min(tp, te)
            if t > limit or t == math.inf:
                break
            self._advance(t)
            self.clock = int(math.ceil(t))
            if tp <= te:
                _, _, kind, f = heappop(self._pending)
                if kind == 0:  # ready to send: it starts when its source port is free
                    dirty |= self._start(f, t)
                else:
                    self._arrived(f, int(math.ceil(t)))
                    limit = min(limit, env.peek())
            else:  # flows whose last flit has left: they arrive a head latency later
                for f in [f for f in self.flows.values() if f.holding and f.left <= f.hold + 1e-6]:
                    f.holding = False   # the rest fits the buffers ahead: the port takes its next flow
                    self._next_of(f.res[0], t)
                for f in [f for f in self.flows.values() if f.left <= 1e-6]:
                    del self.flows[f.id]
                    for r in f.res:   # its channels carried its flits after the first
                        self._busy[r] = self._busy.get(r, 0.0) + f.flits / self.cap[r]
                        fs = self.users[r]
                        del fs[f.id]
                        if not fs:
                            del self.users[r]
                    self._later(t + f.head + f.lat_out, 1, f)
                dirty = True
        if dirty:
            self._solve()
        self._pumping = False
        self.clock = env.now

    def _start(self, f: _Flow, t: float) -> bool:
        """``f`` sends now if its source port is free, else it queues behind the port's flows (as
        the router model's endpoints send their messages one after another). Whether the set of
        sending flows changed."""
        if f.res[0] in self._sending:
            self._queued.setdefault(f.res[0], deque()).append(f)
            return False
        return self._send_now(f, t)

    def _send_now(self, f: _Flow, t: float) -> bool:
        """``f`` takes its free source port; it holds the port until no more of it is left than the
        buffers along its route take (then the port's next flow starts beside it)."""
        if f.left <= EPS:  # a single flit: nothing to share
            self._later(t + f.head + f.lat_out, 1, f)
            return False
        self.flows[f.id] = f
        for r in f.res:
            self.users.setdefault(r, {})[f.id] = f
        if f.left > f.hold:
            self._sending[f.res[0]] = f.id
            f.holding = True
        return True

    def _next_of(self, port, t: float) -> bool:
        """The source ``port`` is free: its queued flows start until one holds it."""
        self._sending.pop(port, None)
        q = self._queued.get(port)
        changed = False
        while q and port not in self._sending:
            changed |= self._send_now(q.popleft(), t)
        return changed

    def _arrived(self, f: _Flow, t: int) -> None:
        self.bytes_delivered += f.nbytes
        self.events += 1
        notify(f.on_done, f.tag, t)

    # -- reporting --------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return len(self.flows) + len(self._pending) + sum(len(q) for q in self._queued.values())

    def stuck(self) -> list[str]:
        return []

    def link_busy(self) -> dict[str, int]:
        """Busy ps per channel (flit-cycles carried at the channel's capacity)."""
        out = {}
        for r, cycles in self._busy.items():
            if r[0] in ("inj", "rd"):
                continue
            if r[0] == "ej":
                name = f"ej@{','.join(map(str, r[1]))}"
            elif r[0] == "wr":
                name = f"{r[1]}_wr"
            else:
                name = f"{','.join(map(str, r[0]))}->{','.join(map(str, r[1]))}"
            out[name] = int(round(cycles * self.cyc))
        return out
