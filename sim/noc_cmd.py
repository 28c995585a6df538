"""``prismsim noc``: traffic on a network alone, on the router model (``sim.router``) — accepted
throughput and latency against offered load, one row (or JSON object) per rate, and a plot; or a
run's own transfers replayed (``--from-run``)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from prismsim.hw.errors import PrismError

from .argtypes import numbers
from .output import atomic_file, check_new, make_dirs
from .traffic import LATENCY_THRESHOLD, PATTERNS, Traffic, check_load, plot_curve, run_load


def _int_from(lowest: int):
    """An argparse type: an integer of at least ``lowest``."""
    what = "a positive integer" if lowest == 1 else "a non-negative integer"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = lowest - 1
        if v < lowest:
            raise argparse.ArgumentTypeError(f"expected {what} (got {text!r})")
        return v
    return parse


_pos_int, _nonneg_int = _int_from(1), _int_from(0)


def add_parser(sub) -> None:
    """The ``noc`` subcommand's flags."""
    nc = sub.add_parser("noc", help="synthetic or replayed traffic on the router model: latency and throughput "
                        "against offered load")
    nc.add_argument("--arch", help="load this chip's network (preset or YAML): topology, sizes, link widths, "
                    "router settings; the flags below then override it only where given")
    nc.add_argument("--from-run", help="replay a run directory's transfers (its events.csv) instead of synthetic traffic")
    nc.add_argument("--topology", choices=["mesh", "mesh3d", "chiplet", "torus", "graph"], help="default: mesh")
    nc.add_argument("--dims", help="routers, e.g. 8x8 (mesh, torus), 4x4x4 (mesh3d), per chiplet (chiplet); "
                    "default 8x8")
    nc.add_argument("--chiplets", default=None, help="chiplet grid for --topology chiplet, e.g. 2x2")
    nc.add_argument("--graph", help="edge list file for --topology graph: one 'a b' router pair per line (ids from 0)")
    nc.add_argument("--routing", choices=["dor", "west_first", "odd_even"], help="default: dor (dimension order)")
    nc.add_argument("--traffic", default="uniform", choices=PATTERNS, help="traffic pattern (default: uniform)")
    nc.add_argument("--hotspot", help="hot routers by id, optionally with weights: '27,36' or '27,36:3,1' "
                    "(default: the central router)")
    nc.add_argument("--hotspot-share", type=float, default=1.0,
                    help="share of packets sent to the hot routers, the rest uniform (default 1, BookSim's hotspot)")
    nc.add_argument("--rate", default="0.02,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5",
                    help="offered loads in flits/node/cycle, comma-separated")
    nc.add_argument("--packet-flits", type=_pos_int, help="flits per packet (default 4)")
    nc.add_argument("--packet-sizes", help="a mix of packet sizes in flits, optionally weighted: '1,4' or '1,4:3,1'")
    nc.add_argument("--injection", choices=["bernoulli", "onoff"], default="bernoulli",
                    help="injection process (default bernoulli)")
    nc.add_argument("--burst", default="0.5,0.5", help="on/off source: ALPHA,BETA, P(off->on) and P(on->off) per "
                    "cycle (default 0.5,0.5)")
    nc.add_argument("--router-latency", type=_nonneg_int, help="router pipeline cycles RC+VA+SA+ST (default 4)")
    nc.add_argument("--pipeline", help="RC,VA,SA,ST cycles, e.g. 1,1,1,1")
    nc.add_argument("--link-latency", type=_nonneg_int, help="cycles per link (default 1)")
    nc.add_argument("--buffer-flits", type=_pos_int, help="flits per input buffer per VC (default 8)")
    nc.add_argument("--vcs", type=_pos_int, help="virtual channels per port (default 2)")
    nc.add_argument("--vc-allocator", choices=["separable_input_first", "islip"], help="default separable_input_first")
    nc.add_argument("--sw-allocator", choices=["separable_input_first", "islip"], help="default separable_input_first")
    nc.add_argument("--credit-delay", type=_nonneg_int, help="cycles to process a returned credit (default 0)")
    nc.add_argument("--wait-for-tail-credit", action="store_true", help="free an output VC only when its tail's "
                    "credit is back")
    nc.add_argument("--cycles", type=_pos_int, default=10_000, help="measured cycles per load (default 10000)")
    nc.add_argument("--warmup", type=_nonneg_int, help="warm-up cycles (default: until the accepted rate and latency "
                    "settle within 5%%, in 1000-cycle periods, at most 10)")
    nc.add_argument("--latency-threshold", type=float, default=LATENCY_THRESHOLD,
                    help="abort a load point whose mean latency passes this many cycles (default 500, BookSim's)")
    nc.add_argument("--seed", type=_nonneg_int, default=0, help="injection seed (default 0)")
    nc.add_argument("--json", action="store_true", help="one JSON object per rate")
    nc.add_argument("--plot", help="PNG of latency against offered load")
    nc.set_defaults(fn=cmd_noc)


def _dims(text: str, flag: str) -> tuple[int, ...]:
    parts = text.lower().split("x")
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise PrismError(f"{flag}: expected sizes like 8x8 or 4x4x2 (got {text!r})")
    return tuple(int(p) for p in parts)


def _weighted(text: str, flag: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    items, _, weights = text.partition(":")
    return tuple(numbers(items, flag, int)), tuple(numbers(weights, flag)) if weights else ()


def _graph_edges(path: str) -> list[tuple[int, int]]:
    p = Path(path)
    if not p.is_file():
        raise PrismError(f"--graph: no file {path!r}")
    edges = []
    for i, line in enumerate(p.read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or not all(x.isdigit() for x in parts[:2]):
            raise PrismError(f"--graph: {path} line {i}: expected two router ids (got {line!r})")
        edges.append((int(parts[0]), int(parts[1])))
    if not edges:
        raise PrismError(f"--graph: {path} lists no edges")
    return edges


def noc_params(args):
    """The network the flags describe (on top of ``--arch``'s when given)."""
    from pydantic import ValidationError

    from prismsim.hw.noc import NocParams
    from prismsim.hw.spec import _format_validation, load_arch

    base: dict = {"dims": (8, 8), "packet_flits": 4, "buffer_flits": 8, "vcs": 2}
    if args.arch:
        base = load_arch(args.arch).noc.model_dump()
    fields = dict(base)
    flags = {"topology": args.topology, "packet_flits": args.packet_flits, "router_latency_cycles": args.router_latency,
             "link_latency_cycles": args.link_latency, "buffer_flits": args.buffer_flits, "vcs": args.vcs,
             "routing": args.routing, "vc_allocator": args.vc_allocator, "sw_allocator": args.sw_allocator,
             "credit_delay_cycles": args.credit_delay}
    fields.update({k: v for k, v in flags.items() if v is not None})
    if args.wait_for_tail_credit:
        fields["wait_for_tail_credit"] = True
    if args.dims:
        fields["dims"] = _dims(args.dims, "--dims")
    if args.pipeline:
        stages = numbers(args.pipeline, "--pipeline", int)
        if len(stages) != 4:
            raise PrismError(f"--pipeline: expected RC,VA,SA,ST cycles (got {args.pipeline!r})")
        fields["pipeline"] = tuple(stages)
        if args.router_latency is None:
            fields["router_latency_cycles"] = sum(stages)
    topo = fields.get("topology", "mesh")
    if args.chiplets:
        if topo != "chiplet":
            raise PrismError(f"--chiplets: only with --topology chiplet (got --topology {topo})")
        fields["chiplets"] = _dims(args.chiplets, "--chiplets")
    if topo == "graph":
        if not args.graph:
            raise PrismError("--topology graph: give the edge list with --graph FILE")
        fields["graph_edges"] = _graph_edges(args.graph)
        if not args.dims:
            fields["dims"] = (1 + max(max(e) for e in fields["graph_edges"]),)
    elif args.graph:
        raise PrismError(f"--graph: only with --topology graph (got --topology {topo})")
    try:
        return NocParams(**fields)
    except ValidationError as err:
        raise PrismError(_format_validation(err, "noc").replace("noc: field ", "--")) from None


def traffic_of(args, noc) -> Traffic:
    hot, hot_w = _weighted(args.hotspot, "--hotspot") if args.hotspot else ((), ())
    sizes, size_w = _weighted(args.packet_sizes, "--packet-sizes") if args.packet_sizes else ((), ())
    burst = numbers(args.burst, "--burst")
    if len(burst) != 2:
        raise PrismError(f"--burst: expected ALPHA,BETA (got {args.burst!r})")
    if (args.hotspot or args.hotspot_share != 1.0) and args.traffic != "hotspot":
        raise PrismError(f"--hotspot: only with --traffic hotspot (got --traffic {args.traffic})")
    return Traffic(args.traffic, hot, hot_w, args.hotspot_share, sizes, size_w, args.injection, burst[0], burst[1])


def cmd_noc(args) -> int:
    from .fabric import build

    if args.from_run and not args.arch:  # the run's own network, unless told otherwise
        if not (Path(args.from_run) / "arch.yaml").is_file():
            raise PrismError(f"--from-run: {args.from_run} is not a run directory (no arch.yaml)")
        args.arch = str(Path(args.from_run) / "arch.yaml")
    noc = noc_params(args)
    build(noc)  # topology and routing checked before anything runs
    if args.from_run:
        return _replay(args, noc)
    rates = numbers(args.rate, "--rate")
    if not rates:
        raise PrismError(f"--rate: expected comma-separated numbers (got {args.rate!r})")
    tr = traffic_of(args, noc)
    for r in rates:  # before anything is printed
        check_load(noc, tr, r)
    plot = Path(args.plot) if args.plot else None
    if plot is not None:  # checked before the runs, so a bad path costs no simulation
        if plot.suffix != ".png":
            raise PrismError(f"--plot: expected a .png file name (got {args.plot!r})")
        check_new(plot, "--plot")
        make_dirs(plot, plot.parent, what="--plot")
    points = []
    shape = "x".join(map(str, noc.grid))
    if not args.json:
        print(f"{tr.pattern} traffic on a {shape} {noc.topology} ({noc.routing}), {noc.vcs} VCs x {noc.buffer_flits} "
              f"flits, {'/'.join(map(str, tr.sizes or (noc.packet_flits,)))}-flit packets, {args.cycles} measured cycles")
        print(f"{'offered':>8} {'injected':>9} {'accepted':>9} {'pkt lat':>9} {'p50':>7} {'p99':>7} {'net lat':>9} "
              f"{'hops':>6}  saturated")
    for r in rates:
        p = run_load(noc, tr, r, args.cycles, seed=args.seed, warmup=args.warmup,
                     latency_threshold=args.latency_threshold)
        points.append(p)
        if args.json:
            print(json.dumps(p.to_dict()), flush=True)
        else:
            note = " (aborted: latency over threshold)" if p.aborted else ("" if p.converged else " (warm-up did not settle)")
            print(f"{p.rate:8.3f} {p.injected:9.4f} {p.accepted:9.4f} {p.avg_packet_latency:9.1f} {p.p50:7.0f} "
                  f"{p.p99:7.0f} {p.avg_network_latency:9.1f} {p.avg_hops:6.2f}  {'yes' if p.saturated else 'no'}{note}",
                  flush=True)
    if plot is not None:
        with atomic_file(plot) as tmp:
            plot_curve(points, f"{tr.pattern}, {shape} {noc.topology}", str(tmp))
        if not args.json:
            print(f"wrote {plot}")
    return 0


def _replay(args, noc) -> int:
    from .replay import load_run, replay

    _, rows = load_run(args.from_run)
    out = replay(noc, rows)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"replayed {out['transfers']:,} transfers of {args.from_run} as {out['packets']:,} packets on a "
              f"{'x'.join(map(str, noc.grid))} {noc.topology}")
        print(f"packet latency: mean {out['avg_packet_latency']:.1f}, p50 {out['p50']:.0f}, p95 {out['p95']:.0f}, "
              f"p99 {out['p99']:.0f}, max {out['max_latency']:.0f} cycles; network latency mean "
              f"{out['avg_network_latency']:.1f}; {out['avg_hops']:.2f} hops; last arrival at cycle "
              f"{out['last_arrival_cycle']:,}")
    return 0
