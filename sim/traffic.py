"""Synthetic traffic on the packet model: latency and throughput against offered load.

Every router injects packets of ``packet_flits`` flits by a Bernoulli process (probability
rate / packet_flits per cycle, so ``rate`` is offered flits/node/cycle) into an unbounded source
queue; destinations follow the pattern. Packets created during the first ``warmup`` cycles warm
the network up and are not measured. Packet latency runs from creation to the tail's ejection
(source queueing included); network latency from the head leaving the source queue.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import simpy

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, check_deadlock_free, flits_ps, head_latency_ps, nodes, route

from .noc import Network

PATTERNS = ("uniform", "transpose", "bitcomplement", "hotspot")
HOTSPOT_SHARE = 0.25  # of packets sent to the hotspot (the central router); the rest uniform


@dataclass
class LoadPoint:
    rate: float                  # offered flits/node/cycle
    accepted: float              # delivered flits/node/cycle in the measurement window
    avg_packet_latency: float    # cycles, creation to tail ejection
    avg_network_latency: float   # cycles, injection to tail ejection
    avg_hops: float
    zero_load_latency: float     # cycles, mean over the measured packets' routes
    packets: int
    saturated: bool

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def destinations(pattern: str, src: np.ndarray, grid: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Destination coordinates (rows) for source coordinates ``src`` (rows)."""
    extent = np.array(grid)
    if pattern == "uniform":
        return rng.integers(0, extent, size=src.shape)
    if pattern == "bitcomplement":
        return extent - 1 - src
    if pattern == "transpose":
        if grid[0] != grid[1]:
            raise PrismError(f"--traffic transpose needs a square x-y grid (got {'x'.join(map(str, grid))})")
        out = src.copy()
        out[:, 0], out[:, 1] = src[:, 1], src[:, 0]
        return out
    if pattern == "hotspot":
        out = rng.integers(0, extent, size=src.shape)
        hot = rng.random(len(src)) < HOTSPOT_SHARE
        out[hot] = extent // 2
        return out
    raise PrismError(f"--traffic: unknown pattern {pattern!r} (choose from {', '.join(PATTERNS)})")


def run_load(noc: NocParams, pattern: str, rate: float, cycles: int, seed: int = 0,
             warmup: int | None = None) -> LoadPoint:
    """One offered load: simulate ``cycles`` cycles of traffic and measure it."""
    if not 0 < rate <= 1:
        raise PrismError(f"--rate: offered load must be in (0, 1] flits/node/cycle (got {rate})")
    warmup = cycles // 10 if warmup is None else warmup
    rng = np.random.default_rng(seed)
    ns = np.array(nodes(noc))
    inject = rng.random((cycles, len(ns))) < rate / noc.packet_flits
    t_idx, n_idx = np.nonzero(inject)          # by cycle, then node
    src = ns[n_idx]
    dst = destinations(pattern, src, noc.grid, rng)
    if noc.route_table:  # user routes: prove them free of routing deadlock first
        check_deadlock_free(noc, set(zip(map(tuple, src.tolist()), map(tuple, dst.tolist()))))
    env = simpy.Environment()
    net = Network(env, noc)
    cyc = noc.cycle_ps
    pbytes = noc.packet_bytes
    measured: list[tuple[int, int, int, tuple, tuple]] = []   # created, injected, delivered, src, dst
    delivered_flits = [0]
    end_ps = cycles * cyc

    def record(created: int, s, d, measure: bool):
        def on_packet(t_inj: int, t_done: int) -> None:
            if warmup * cyc <= t_done <= end_ps:
                delivered_flits[0] += noc.packet_flits
            if measure:
                measured.append((created, t_inj, t_done, s, d))
        return on_packet

    def source():
        for t, s, d in zip(t_idx.tolist(), map(tuple, src.tolist()), map(tuple, dst.tolist())):
            created = int(t * cyc)
            if created > env.now:
                yield env.timeout(created - env.now)
            net.send(s, d, pbytes, on_packet=record(created, s, d, t >= warmup))

    env.process(source())
    net.run()
    if net.in_flight:
        raise PrismError(f"noc: deadlock: {net.in_flight} packets never delivered; stuck at channels "
                         f"{', '.join(net.stuck()[:8])}")
    n = len(measured)
    if not n:
        return LoadPoint(rate, 0.0, 0.0, 0.0, 0.0, 0.0, 0, False)
    lat = sum(m[2] - m[0] for m in measured) / n / cyc
    netlat = sum(m[2] - m[1] for m in measured) / n / cyc
    paths = [route(noc, m[3], m[4]) for m in measured]
    hops = sum(len(p) - 1 for p in paths) / n
    zl = sum(head_latency_ps(noc, p) + flits_ps(noc, noc.packet_flits) for p in paths) / n / cyc
    accepted = delivered_flits[0] / (len(ns) * max(1, cycles - warmup))
    return LoadPoint(rate, accepted, lat, netlat, hops, zl, n, bool(accepted < 0.95 * rate or lat > 10 * zl))


def plot_curve(points: list[LoadPoint], title: str, path: str) -> None:
    """Average packet latency against offered load, saturated points marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    xs = [p.rate for p in points]
    ax.plot(xs, [p.avg_packet_latency for p in points], "o-", label="packet latency")
    ax.plot(xs, [p.avg_network_latency for p in points], "s--", label="network latency")
    sat = [p for p in points if p.saturated]
    if sat:
        ax.axvline(sat[0].rate, color="grey", ls=":", label=f"saturated at {sat[0].rate:g}")
    ax.set_xlabel("offered load (flits/node/cycle)")
    ax.set_ylabel("latency (cycles)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
