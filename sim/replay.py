"""Trace-driven NoC traffic: a run's own transfers (``events.csv`` of a run directory) replayed on
the router model. Every transfer row becomes packets of ``packet_flits`` flits (the last one
shorter) created at the transfer's start, from its source's router to its destination's (units by
their positions in the run's ``arch.yaml``, memories at their controllers and the global buffer).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams
from prismsim.hw.spec import Arch, load_arch

from . import router_layout as layout
from .router import RouterNet

MAX_PACKETS = 5_000_000  # a replay past this many packets is refused (memory stays bounded)


def endpoints(arch: Arch) -> dict[str, tuple[int, ...]]:
    """Router of every transfer endpoint name of a run on ``arch``."""
    out = {name: tuple(u.pos) for name, u in arch.instances().items()}
    for i, pos in enumerate(arch.dram.positions):
        out["dram" if i == 0 else f"dram{i}"] = tuple(pos)
    out["gb"] = tuple(arch.global_buffer.position)
    return out


def transfers(run_dir: Path, arch: Arch) -> list[tuple[int, tuple, tuple, int]]:
    """(start ps, source router, destination router, bytes) of the run's transfers, by start time."""
    ev = run_dir / "events.csv"
    if not ev.exists():
        raise PrismError(f"--from-run: {run_dir} has no events.csv (simulate with --trace events or packets)")
    where = endpoints(arch)
    out = []
    with ev.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("kind") != "transfer" or not row.get("layer"):
                continue  # (a packet's row, trace level packets: its transfer has a row of its own)
            src, _, dst = row["resource"].partition("->")
            if src not in where or dst not in where:
                raise PrismError(f"--from-run: transfer {row['resource']!r} names an endpoint not in {run_dir}/arch.yaml")
            nbytes = int(row["bytes"])
            if nbytes > 0:
                out.append((int(row["t_start_ps"]), where[src], where[dst], nbytes))
    out.sort(key=lambda r: r[0])
    return out


def load_run(run_dir: str | Path) -> tuple[Arch, list]:
    d = Path(run_dir)
    if not (d / "arch.yaml").exists():
        raise PrismError(f"--from-run: {run_dir} is not a run directory (no arch.yaml)")
    arch = load_arch(d / "arch.yaml")
    return arch, transfers(d, arch)


def replay(noc: NocParams, rows: list) -> dict:
    """Replay transfers on ``noc``: packet latency statistics (cycles) and the cycle the last one arrived."""
    net = RouterNet(noc)
    net.gen[layout.G_W0], net.gen[layout.G_W1] = 0, np.inf  # every packet measured
    idx = net.fab.index
    fb, pf = noc.flit_bytes, noc.packet_flits
    total = sum(-(-flits // pf) for flits in (-(-n // fb) for *_, n in rows))
    if total > MAX_PACKETS:
        raise PrismError(f"--from-run: the run's transfers make {total:,} packets; at most {MAX_PACKETS:,} "
                         f"(raise --packet-flits)")
    last = 0
    for t_ps, s, d, nbytes in rows:
        t = int(t_ps // noc.cycle_ps)
        if t > net.t:
            last = max(last, _advance(net, t))
        flits = -(-nbytes // fb)
        while flits > 0:
            f = min(pf, flits)
            net.submit(idx[s], idx[d], f, 0, t, measure=True)
            flits -= f
    while net.in_flight or net.queued:
        last = max(last, _advance(net, net.t + 10_000))
    s = net.stats
    n = int(s[layout.S_N])
    h = net.hist[0]
    cum = np.cumsum(h)
    q = {k: float(np.searchsorted(cum, k / 100 * cum[-1])) if n else 0.0 for k in (50, 95, 99)}
    return {"transfers": len(rows), "packets": n, "avg_packet_latency": s[layout.S_LAT] / n if n else 0.0,
            "avg_network_latency": s[layout.S_NET] / n if n else 0.0, "min_latency": float(s[layout.S_MIN]) if n else 0.0,
            "max_latency": float(s[layout.S_MAX]) if n else 0.0, "p50": q[50], "p95": q[95], "p99": q[99],
            "avg_hops": s[layout.S_HOPS] / n if n else 0.0, "last_arrival_cycle": last}


def _advance(net: RouterNet, t: int) -> int:
    """Run to cycle ``t``; the last delivery's cycle (0 if none)."""
    last = 0
    while net.t < t:
        net.advance(t)
        d = net.take_deliveries()
        if len(d):
            last = max(last, int(d[:, 2].max()))
    return last
