"""Synthetic traffic on the packet model: latency and throughput against offered load.

Every router injects packets of ``packet_flits`` flits by a Bernoulli process (probability
rate / packet_flits per cycle, so ``rate`` is offered flits/node/cycle) into an unbounded source
queue; destinations follow the pattern. Packets created during the first ``warmup`` cycles warm
the network up and are not measured. Packet latency runs from creation to the tail's ejection
(source queueing included); network latency from the head leaving the source queue.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

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
    injected: float              # flits/node/cycle the Bernoulli draws created in the measurement window
    accepted: float              # delivered flits/node/cycle in the measurement window
    avg_packet_latency: float    # cycles, creation to tail ejection
    avg_network_latency: float   # cycles, injection to tail ejection
    avg_hops: float
    zero_load_latency: float     # cycles, mean over the measured packets' routes
    packets: int
    saturated: bool
    min_latency: float = 0.0     # cycles, packet latency (creation to tail ejection) of the measured packets
    max_latency: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    accepted_min: float = 0.0    # flits/cycle delivered to the least and the most served node
    accepted_max: float = 0.0
    histogram: dict = field(default_factory=dict)   # packet latency (whole cycles) -> packets

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def destinations(pattern: str, src: np.ndarray, grid: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Destination coordinates (rows) for source coordinates ``src`` (rows)."""
    extent = np.array(grid)
    if pattern == "uniform":
        return rng.integers(0, extent, size=src.shape)
    if pattern == "bitcomplement":
        return extent - 1 - src
    if pattern == "transpose":  # a square x-y grid (check_load)
        out = src.copy()
        out[:, 0], out[:, 1] = src[:, 1], src[:, 0]
        return out
    if pattern == "hotspot":
        out = rng.integers(0, extent, size=src.shape)
        hot = rng.random(len(src)) < HOTSPOT_SHARE
        out[hot] = extent // 2
        return out
    raise PrismError(f"--traffic: unknown pattern {pattern!r} (choose from {', '.join(PATTERNS)})")


CHUNK_CYCLES = 4096  # injections are drawn this many cycles at a time: memory stays bounded however long the run


def possible_pairs(pattern: str, noc: NocParams) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every (source, destination) the pattern can produce on ``noc``'s routers."""
    ns = [tuple(n) for n in nodes(noc)]
    if pattern in ("uniform", "hotspot"):
        return {(a, b) for a in ns for b in ns}
    dst = destinations(pattern, np.array(ns), noc.grid, np.random.default_rng(0))
    return set(zip(ns, map(tuple, dst.tolist())))


def check_load(noc: NocParams, pattern: str, rate: float) -> None:
    """A PrismError if ``run_load`` cannot run this load (before any work is done)."""
    if not 0 < rate <= 1:
        raise PrismError(f"--rate: offered load must be in (0, 1] flits/node/cycle (got {rate})")
    if pattern not in PATTERNS:
        raise PrismError(f"--traffic: unknown pattern {pattern!r} (choose from {', '.join(PATTERNS)})")
    if pattern == "transpose" and noc.grid[0] != noc.grid[1]:
        raise PrismError(f"--traffic transpose needs a square x-y grid (got {'x'.join(map(str, noc.grid))})")


def run_load(noc: NocParams, pattern: str, rate: float, cycles: int, seed: int = 0,
             warmup: int | None = None) -> LoadPoint:
    """One offered load: simulate ``cycles`` cycles of traffic and measure it. Injections are
    drawn as the run goes and the measures are running sums, so memory does not grow with ``cycles``."""
    check_load(noc, pattern, rate)
    warmup = cycles // 10 if warmup is None else warmup
    if noc.route_table:  # user routes: prove them free of routing deadlock first
        check_deadlock_free(noc, possible_pairs(pattern, noc))
    inject_rng, dest_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    ns = np.array(nodes(noc))
    env = simpy.Environment()
    net = Network(env, noc)
    cyc = noc.cycle_ps
    pbytes = noc.packet_bytes
    end_ps = cycles * cyc
    # measured packets: count and sums of latency (ps), network latency (ps), hops, zero-load (ps)
    acc = {"n": 0, "lat": 0, "net": 0, "hops": 0, "zl": 0, "flits": 0, "injected": 0}
    hist: dict[int, int] = {}                    # packet latency in whole cycles -> packets (bounded)
    per_node = np.zeros(len(nodes(noc)))         # flits delivered to each node in the window
    index = {n: i for i, n in enumerate(nodes(noc))}
    paths: dict[tuple, tuple[int, int]] = {}   # (src, dst) -> (hops, zero-load ps)

    def record(created: int, s, d, measure: bool):
        def on_packet(t_inj: int, t_done: int) -> None:
            if warmup * cyc <= t_done <= end_ps:
                acc["flits"] += noc.packet_flits
                per_node[index[d]] += noc.packet_flits
            if measure:
                if (s, d) not in paths:
                    r = route(noc, s, d)
                    paths[s, d] = len(r) - 1, head_latency_ps(noc, r) + flits_ps(noc, noc.packet_flits)
                hops, zl = paths[s, d]
                acc["n"] += 1
                acc["lat"] += t_done - created
                k = int((t_done - created) // cyc)
                hist[k] = hist.get(k, 0) + 1
                acc["net"] += t_done - t_inj
                acc["hops"] += hops
                acc["zl"] += zl
        return on_packet

    def source():
        p_inject = rate / noc.packet_flits
        for c0 in range(0, cycles, CHUNK_CYCLES):
            t_idx, n_idx = np.nonzero(inject_rng.random((min(CHUNK_CYCLES, cycles - c0), len(ns))) < p_inject)
            src = ns[n_idx]
            dst = destinations(pattern, src, noc.grid, dest_rng)
            for t, s, d in zip((t_idx + c0).tolist(), map(tuple, src.tolist()), map(tuple, dst.tolist())):
                created = int(t * cyc)
                if created > env.now:
                    yield env.timeout(created - env.now)
                acc["injected"] += noc.packet_flits if t >= warmup else 0
                net.send(s, d, pbytes, on_packet=record(created, s, d, t >= warmup))

    env.process(source())
    net.run()
    if net.in_flight:
        raise PrismError(f"noc: deadlock: {net.in_flight} packets never delivered; stuck at channels "
                         f"{', '.join(net.stuck()[:8])}")
    n, window = acc["n"], len(ns) * max(1, cycles - warmup)
    injected, accepted = acc["injected"] / window, acc["flits"] / window
    if not n:
        return LoadPoint(rate, injected, accepted, 0.0, 0.0, 0.0, 0.0, 0, False)
    lat, netlat = acc["lat"] / n / cyc, acc["net"] / n / cyc
    zl = acc["zl"] / n / cyc
    # saturated: the network delivers less than was injected, by more than 5% and more than the
    # counting noise of a short or small run (3 sqrt(n) packets), or latency runs away
    sent = acc["injected"] / noc.packet_flits          # packets injected in the window
    short = sent - acc["flits"] / noc.packet_flits     # of which not delivered in it
    behind = short > 0.05 * sent and short > 3 * math.sqrt(sent)
    keys = sorted(hist)
    cum = np.cumsum([hist[k] for k in keys])
    pct = {q: float(keys[int(np.searchsorted(cum, q / 100 * n))]) for q in (50, 95, 99)}
    node_rate = per_node / max(1, cycles - warmup)
    return LoadPoint(rate, injected, accepted, lat, netlat, acc["hops"] / n, zl, n, bool(behind or lat > 10 * zl),
                     float(keys[0]), float(keys[-1]), pct[50], pct[95], pct[99], float(node_rate.min()),
                     float(node_rate.max()), {k: hist[k] for k in keys})


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
