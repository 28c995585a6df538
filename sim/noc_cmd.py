"""``prismsim noc``: synthetic traffic on a network alone — accepted throughput and latency against
offered load, one row (or JSON object) per rate, and a plot."""
from __future__ import annotations

import json
from pathlib import Path

from prismsim.hw.errors import PrismError

from .output import atomic_file, check_new, make_dirs
from .traffic import check_load, plot_curve, run_load


def _dims(text: str, flag: str) -> tuple[int, ...]:
    parts = text.lower().split("x")
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise PrismError(f"{flag}: expected sizes like 8x8 or 4x4x2 (got {text!r})")
    return tuple(int(p) for p in parts)


def cmd_noc(args) -> int:
    from pydantic import ValidationError

    from prismsim.hw.noc import NocParams
    from prismsim.hw.spec import _format_validation

    try:
        rates = [float(r) for r in args.rate.split(",")]
    except ValueError:
        raise PrismError(f"--rate: expected comma-separated numbers (got {args.rate!r})") from None
    fields = {"topology": args.topology, "dims": _dims(args.dims, "--dims"),
              "packet_flits": args.packet_flits, "router_latency_cycles": args.router_latency,
              "link_latency_cycles": args.link_latency, "buffer_flits": args.buffer_flits, "vcs": args.vcs}
    if args.chiplets:
        if args.topology != "chiplet":
            raise PrismError(f"--chiplets: only with --topology chiplet (got --topology {args.topology})")
        fields["chiplets"] = _dims(args.chiplets, "--chiplets")
    try:
        noc = NocParams(**fields)
    except ValidationError as err:
        raise PrismError(_format_validation(err, "noc").replace("noc: field ", "--")) from None
    for r in rates:  # before anything is printed
        check_load(noc, args.traffic, r)
    plot = Path(args.plot) if args.plot else None
    if plot is not None:  # checked before the runs, so a bad path costs no simulation
        if plot.suffix != ".png":
            raise PrismError(f"--plot: expected a .png file name (got {args.plot!r})")
        check_new(plot, "--plot")
        make_dirs(plot, plot.parent, what="--plot")
    points = []
    shape = "x".join(map(str, noc.grid))
    if not args.json:
        print(f"{args.traffic} traffic on a {shape} {noc.topology}, {noc.packet_flits}-flit packets, "
              f"{args.cycles} cycles")
        print(f"{'offered':>8} {'injected':>9} {'accepted':>9} {'pkt lat':>9} {'p50':>7} {'p99':>7} {'net lat':>9} "
              f"{'hops':>6}  saturated")
    for r in rates:
        p = run_load(noc, args.traffic, r, args.cycles, seed=args.seed)
        points.append(p)
        if args.json:
            print(json.dumps(p.to_dict()))
        else:
            print(f"{p.rate:8.3f} {p.injected:9.4f} {p.accepted:9.4f} {p.avg_packet_latency:9.1f} {p.p50:7.0f} "
                  f"{p.p99:7.0f} {p.avg_network_latency:9.1f} {p.avg_hops:6.2f}  {'yes' if p.saturated else 'no'}",
                  flush=True)
    if plot is not None:
        with atomic_file(plot) as tmp:
            plot_curve(points, f"{args.traffic}, {shape} {noc.topology}", str(tmp))
        if not args.json:
            print(f"wrote {plot}")
    return 0
