"""Synthetic traffic on the router model (``sim.router``): latency and throughput against offered load.

Every node creates packets into an unbounded source queue — Bernoulli per cycle, or an on/off
(two-state Markov) source — with destinations from a pattern and sizes from a mix; ``rate`` is
offered flits/node/cycle. A run has three phases, as BookSim's:

* **warm-up** in periods of ``period`` cycles, until a period's accepted rate and mean packet
  latency both change by under 5% from the previous one (at most ``max_warmup`` periods; if they
  never settle, ``converged`` is False);
* **measurement**: the packets created in the next ``cycles`` cycles are measured, and the flits
  delivered in those cycles give the accepted rate; a period whose measured packets average more
  than ``latency_threshold`` cycles aborts the point (``aborted``, the output says so);
* **drain**: the network runs on (sources still injecting) until every measured packet has
  arrived, for at most ``cycles`` more cycles.

Packet latency runs from creation to the tail's ejection (source queueing included); network
latency from the head leaving the source queue.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, check_deadlock_free, nodes

from . import router_layout as layout
from .router import RouterNet, zero_load_cycles

PATTERNS = ("uniform", "transpose", "bitcomplement", "bitreverse", "shuffle", "tornado", "neighbor",
            "randperm", "hotspot")
PERMUTATIONS = PATTERNS[1:8]
LATENCY_THRESHOLD = 500.0   # cycles: BookSim's latency_thres
WARMUP_CHANGE = 0.05        # BookSim's warmup_thres


@dataclass(frozen=True)
class Traffic:
    """What the sources send: pattern, hot nodes, packet sizes, injection process."""
    pattern: str = "uniform"
    hot: tuple[int, ...] = ()               # router ids of the hotspots (default: the central router)
    hot_weights: tuple[float, ...] = ()     # their relative rates (default: equal)
    hot_share: float = 1.0                  # of packets sent to a hotspot; the rest uniform (BookSim: 1)
    sizes: tuple[int, ...] = ()             # packet sizes in flits (default: the NoC's packet_flits)
    size_weights: tuple[float, ...] = ()    # their relative frequencies (default: equal)
    process: str = "bernoulli"              # or "onoff"
    burst_alpha: float = 0.5                # on/off: P(off -> on) per cycle (BookSim burst_alpha)
    burst_beta: float = 0.5                 # on/off: P(on -> off) per cycle (BookSim burst_beta)
    perm_seed: int = 0                      # randperm's permutation


@dataclass
class LoadPoint:
    rate: float                  # offered flits/node/cycle
    injected: float              # flits/node/cycle created in the measurement window
    accepted: float              # flits/node/cycle delivered in the measurement window
    avg_packet_latency: float    # cycles, creation to tail ejection
    avg_network_latency: float   # cycles, injection to tail ejection
    avg_hops: float              # router-to-router links per packet
    zero_load_latency: float     # cycles, mean over the measured packets' routes and sizes
    packets: int                 # measured packets delivered
    saturated: bool
    min_latency: float = 0.0     # packet latency of the measured packets, cycles
    max_latency: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    net_min: float = 0.0         # network latency, cycles
    net_max: float = 0.0
    net_p50: float = 0.0
    net_p95: float = 0.0
    net_p99: float = 0.0
    accepted_min: float = 0.0    # flits/cycle delivered to the least and the most served node
    accepted_max: float = 0.0
    warmup_cycles: int = 0
    converged: bool = True       # warm-up settled (see module doc)
    aborted: bool = False        # latency passed the threshold: the point was cut short
    undelivered: int = 0         # measured packets still in the network at the end
    cycles: int = 0              # cycles simulated: warm-up, measurement and drain
    events: int = 0              # flit moves simulated (injections, switch traversals, ejections)
    histogram: dict = field(default_factory=dict)   # packet latency (whole cycles) -> packets
    net_histogram: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _bits(n: int, pattern: str) -> int:
    b = n.bit_length() - 1
    if n < 2 or 1 << b != n:
        raise PrismError(f"--traffic {pattern}: needs a power-of-two number of routers (got {n})")
    return b


def dest_table(noc: NocParams, pattern: str, seed: int = 0) -> np.ndarray:
    """Destination router id of every source router for a permutation pattern (BookSim's definitions:
    router id = x + X*y (+ X*Y*z); bit patterns on the id, digit patterns on the coordinates)."""
    ns = [tuple(n) for n in nodes(noc)]
    N = len(ns)
    ids = np.arange(N)
    if pattern == "bitcomplement":
        _bits(N, pattern)
        return (~ids) & (N - 1)
    if pattern == "transpose":
        b = _bits(N, pattern)
        if b % 2:
            raise PrismError(f"--traffic transpose: needs an even power of two routers (got {N})")
        h = b // 2
        lo = (1 << h) - 1
        return ((ids >> h) & lo) | ((ids << h) & (lo << h))
    if pattern == "bitreverse":
        b = _bits(N, pattern)
        return np.array([int(format(i, f"0{b}b")[::-1], 2) for i in ids])
    if pattern == "shuffle":
        _bits(N, pattern)
        return ((ids << 1) & (N - 1)) | ((ids << 1) & N).astype(bool)
    if pattern in ("tornado", "neighbor"):
        grid = noc.grid
        if noc.topology in ("chiplet", "graph"):
            raise PrismError(f"--traffic {pattern}: needs a mesh or torus (got {noc.topology})")
        index = {n: i for i, n in enumerate(ns)}
        out = np.empty(N, np.int64)
        for i, n in enumerate(ns):
            shift = [((k + 1) // 2 - 1) if pattern == "tornado" else 1 for k in grid]
            out[i] = index[tuple((c + s) % k for c, s, k in zip(n, shift, grid))]
        return out
    if pattern == "randperm":
        return np.random.default_rng(seed).permutation(N)
    raise PrismError(f"--traffic: {pattern!r} is not a permutation")


def check_load(noc: NocParams, traffic: Traffic | str, rate: float) -> None:
    """A PrismError if ``run_load`` cannot run this load (before any work is done)."""
    tr = Traffic(traffic) if isinstance(traffic, str) else traffic
    if not 0 < rate <= 1:
        raise PrismError(f"--rate: offered load must be in (0, 1] flits/node/cycle (got {rate})")
    if tr.pattern not in PATTERNS:
        raise PrismError(f"--traffic: unknown pattern {tr.pattern!r} (choose from {', '.join(PATTERNS)})")
    if tr.pattern in PERMUTATIONS:
        dest_table(noc, tr.pattern, tr.perm_seed)
    N = len(nodes(noc))
    for h in tr.hot:
        if not 0 <= h < N:
            raise PrismError(f"--hotspot: router {h} is not one of 0..{N - 1}")
    if tr.hot_weights and len(tr.hot_weights) != len(tr.hot or (0,)):
        raise PrismError(f"--hotspot: {len(tr.hot_weights)} weights for {len(tr.hot or (0,))} hot routers")
    if any(w <= 0 for w in tr.hot_weights + tr.size_weights):
        raise PrismError("--hotspot / --packet-sizes: weights must be positive")
    if not 0 <= tr.hot_share <= 1:
        raise PrismError(f"--hotspot-share: must be in [0, 1] (got {tr.hot_share})")
    sizes = tr.sizes or (noc.packet_flits,)
    if any(s < 1 or s > 4096 for s in sizes):
        raise PrismError(f"--packet-sizes: sizes must be 1..4096 flits (got {list(sizes)})")
    if tr.size_weights and len(tr.size_weights) != len(sizes):
        raise PrismError(f"--packet-sizes: {len(tr.size_weights)} weights for {len(sizes)} sizes")
    if tr.process not in ("bernoulli", "onoff"):
        raise PrismError(f"--injection: unknown process {tr.process!r} (bernoulli, onoff)")
    if tr.process == "onoff" and not (0 < tr.burst_alpha <= 1 and 0 < tr.burst_beta <= 1):
        raise PrismError("--burst: alpha and beta must be in (0, 1]")


def possible_pairs(noc: NocParams, traffic: Traffic) -> set:
    """Every (source, destination) router pair the traffic can produce."""
    ns = [tuple(n) for n in nodes(noc)]
    if traffic.pattern in PERMUTATIONS:
        d = dest_table(noc, traffic.pattern, traffic.perm_seed)
        return {(a, ns[d[i]]) for i, a in enumerate(ns)}
    return {(a, b) for a in ns for b in ns}


def _gen(noc: NocParams, tr: Traffic, rate: float, seed: int) -> dict:
    sizes = tr.sizes or (noc.packet_flits,)
    weights = tr.size_weights or (1.0,) * len(sizes)
    mean = float(np.dot(sizes, weights) / sum(weights))
    p = rate / mean  # packets per node per cycle
    if p > 1:
        raise PrismError(f"--rate {rate}: more than one packet per node per cycle with {mean:g}-flit packets")
    g = {"p": p, "pattern": 0, "sizes": sizes, "size_weights": weights, "seed": seed, "window": (0, 0)}
    if tr.pattern in PERMUTATIONS:
        g["pattern"] = 1
        g["perm"] = dest_table(noc, tr.pattern, tr.perm_seed)
    elif tr.pattern == "hotspot":
        ns = [tuple(n) for n in nodes(noc)]
        centre = tuple(e // 2 for e in noc.grid)
        g["pattern"] = 2
        g["hot"] = tr.hot or (ns.index(centre),)
        g["hot_weights"] = tr.hot_weights or (1.0,) * len(g["hot"])
        g["hotshare"] = tr.hot_share
    if tr.process == "onoff":  # mean rate p: on a share alpha / (alpha + beta) of the time at p_on
        p_on = p * (tr.burst_alpha + tr.burst_beta) / tr.burst_alpha
        if p_on > 1:
            raise PrismError(f"--rate {rate}: the on/off source would need {p_on:.2f} packets per cycle while on")
        g.update(alpha=tr.burst_alpha, beta=tr.burst_beta, p_on=p_on)
    return g


def _quantile(hist: np.ndarray, q: float) -> float:
    cum = np.cumsum(hist)
    return float(np.searchsorted(cum, q * cum[-1])) if cum[-1] else 0.0


def run_load(noc: NocParams, traffic: Traffic | str, rate: float, cycles: int = 10_000, seed: int = 0,
             period: int = 1000, max_warmup: int = 10, latency_threshold: float = LATENCY_THRESHOLD,
             warmup: int | None = None) -> LoadPoint:
    """One offered load (see the module doc). ``warmup`` fixes the warm-up length in cycles instead
    of the convergence rule. Memory stays bounded however long the run: measures are running sums."""
    tr = Traffic(traffic) if isinstance(traffic, str) else traffic
    check_load(noc, tr, rate)
    if noc.route_table:  # user routes: prove them free of routing deadlock first
        check_deadlock_free(noc, possible_pairs(noc, tr))
    net = RouterNet(noc)
    g = _gen(noc, tr, rate, seed)
    net.traffic(g)
    N = net.N
    # warm-up: periods until the accepted rate and the latency settle
    t, prev, converged = 0, None, warmup is not None
    periods = max_warmup if warmup is None else 0
    if warmup:
        net.advance(warmup)
        t = warmup
    for _ in range(periods):
        _window(net, t, t + period)
        net.advance(t + period)
        t += period
        s = net.stats
        cur = (s[layout.S_ACC] / (N * period), s[layout.S_LAT] / s[layout.S_N] if s[layout.S_N] else 0.0)
        if prev is not None and all(abs(a - b) <= WARMUP_CHANGE * max(abs(b), 1e-12) for a, b in zip(cur, prev)):
            converged = True
            break
        prev = cur
    warm = t
    # measurement: packets created in [warm, warm + cycles)
    _window(net, warm, warm + cycles)
    aborted = False
    end = warm + cycles
    while t < end:
        step = min(period, end - t)
        net.advance(t + step)
        t += step
        s = net.stats
        if s[layout.S_N] and s[layout.S_LAT] / s[layout.S_N] > latency_threshold:
            aborted = True
            break
    if not aborted:  # drain: the measured packets still on their way
        limit = t + cycles
        while _undelivered(net) and t < limit:
            net.advance(min(t + period, limit))
            t = net.t
            s = net.stats
            if s[layout.S_N] and s[layout.S_LAT] / s[layout.S_N] > latency_threshold:
                aborted = True
                break
    p = _point(noc, net, tr, rate, warm, min(t, end) - warm, converged, aborted)
    p.cycles, p.events = net.t, int(net.ctr[layout.K_MOVES])
    return p


def _window(net: RouterNet, w0: int, w1: int) -> None:
    """Measure from now on the packets created in [w0, w1) and the flits delivered then."""
    net.gen[layout.G_W0], net.gen[layout.G_W1] = w0, w1
    net.stats[:] = 0
    net.stats[layout.S_MIN] = net.stats[layout.S_NETMIN] = np.inf
    net.hist[:] = 0
    net.accnode[:] = 0


def _undelivered(net: RouterNet) -> int:
    """Measured packets not yet delivered (created in the window, by the count of created flits)."""
    return int(np.sum(net.pk[:, layout.MEAS][_live(net)]))


def _live(net: RouterNet) -> np.ndarray:
    used = np.ones(net.pk.shape[0], bool)
    used[net.free[:int(net.ctr[layout.K_NFREE])]] = False
    return used


def _point(noc, net, tr, rate, warm, window, converged, aborted) -> LoadPoint:
    s, N = net.stats, net.N
    n = int(s[layout.S_N])
    window = max(1, window)
    injected, accepted = s[layout.S_INJ] / (N * window), s[layout.S_ACC] / (N * window)
    und = _undelivered(net)
    if not n:
        return LoadPoint(rate, injected, accepted, 0.0, 0.0, 0.0, 0.0, 0, aborted or und > 0,
                         warmup_cycles=warm, converged=converged, aborted=aborted, undelivered=und)
    hops = s[layout.S_HOPS] / n
    sizes = tr.sizes or (noc.packet_flits,)
    w = tr.size_weights or (1.0,) * len(sizes)
    mean_size = float(np.dot(sizes, w) / sum(w))
    zl = zero_load_cycles(noc, hops, hops * noc.link_latency_cycles, mean_size)
    lat, netlat = s[layout.S_LAT] / n, s[layout.S_NET] / n
    sent = s[layout.S_INJ] / mean_size
    short = sent - s[layout.S_ACC] / mean_size
    behind = short > 0.05 * sent and short > 3 * math.sqrt(max(sent, 1))
    h0, h1 = net.hist[0], net.hist[1]
    node_rate = net.accnode / window
    return LoadPoint(rate, injected, accepted, lat, netlat, hops, zl, n,
                     bool(aborted or behind or und > 0.01 * n or lat > 10 * zl),
                     float(s[layout.S_MIN]), float(s[layout.S_MAX]), _quantile(h0, .5), _quantile(h0, .95),
                     _quantile(h0, .99), float(s[layout.S_NETMIN]), float(s[layout.S_NETMAX]), _quantile(h1, .5),
                     _quantile(h1, .95), _quantile(h1, .99), float(node_rate.min()), float(node_rate.max()),
                     warm, converged, aborted, und,
                     histogram={int(k): int(h0[k]) for k in np.nonzero(h0)[0]},
                     net_histogram={int(k): int(h1[k]) for k in np.nonzero(h1)[0]})


def saturation(noc: NocParams, traffic: Traffic | str, cycles: int = 10_000, seed: int = 0, lo: float = 0.0,
               hi: float = 1.0, tol: float = 0.005, factor: float = 3.0) -> float:
    """Saturation throughput (flits/node/cycle): the highest offered load whose mean packet latency
    stays under ``factor`` x zero-load and whose accepted rate keeps up, by bisection to ``tol``."""
    def ok(rate: float) -> bool:
        p = run_load(noc, traffic, rate, cycles, seed=seed)
        return not p.aborted and p.packets > 0 and p.avg_packet_latency < factor * p.zero_load_latency \
            and p.accepted >= 0.95 * p.injected
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


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
