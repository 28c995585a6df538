"""``prismsim accuracy``: a mapping's test accuracy under its units' non-idealities, at one time
after programming (with each layer's output SNR) or at several (accuracy over time, plotted)."""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from prismsim.hw.errors import PrismError

from .output import check_new
from .selection import duration, select


def parse_times(text: str) -> list[float]:
    """``--t``: seconds since programming, one or a comma list, each finite and >= 0."""
    out = []
    for part in text.split(","):
        try:
            t = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a number of seconds") from None
        if not math.isfinite(t) or t < 0:
            raise argparse.ArgumentTypeError(f"{part.strip()!r}: seconds must be finite and >= 0")
        out.append(t)
    return out


def cmd_accuracy(args) -> int:
    from prismsim.mapper.accuracy import AccuracyConfig, calibration_inputs, evaluate, mapped_snr, sensitivity, spearman
    from prismsim.mapper.mapping import resolve

    times = args.t
    if args.plot:
        if len(times) < 2:
            raise PrismError("--plot: needs several --t values (accuracy over time)")
        check_new(Path(args.plot), "--plot")
    arch, wl, mapping = select(args)
    try:
        cfgs = [AccuracyConfig(t_s=t, seeds=args.seeds, samples=args.samples, kernel=args.kernel,
                               compensation=not args.no_compensation) for t in times]
    except PrismError as err:
        raise PrismError(f"--{err}") from None   # the flags are named as the fields: --t, --seeds, --samples
    model = args.model.partition("?")[0]
    t0 = time.perf_counter()
    results = [evaluate(model, arch, wl, mapping, cfg) for cfg in cfgs]
    res, cfg = results[0], cfgs[0]
    doc = {"model": model, "arch": arch.label, "strategy": mapping.strategy, "seeds": args.seeds,
           "samples": res.samples, "baseline_accuracy": res.baseline_accuracy, "compensation": cfg.compensation,
           "kernel": cfg.kernel, "retrained_weights": mapping.weights is not None}
    if len(times) > 1:
        doc["over_time"] = [{"t_s": r.t_s, "accuracy_mean": r.accuracy_mean, "accuracy_std": r.accuracy_std}
                            for r in results]
    else:
        # per-layer breakdown: where each GEMM runs and its output SNR there on calibration digits
        # (each row on the tier that holds it)
        cal = calibration_inputs(model)
        units = arch.instances()
        per_layer = []
        for lay in wl.layers:
            if lay.name not in cal:
                continue
            w, x, static = cal[lay.name]
            kinds = sorted({units[u].kind for u, _ in resolve(mapping, lay)})
            per_layer.append({"layer": lay.name, "units": ",".join(mapping.layers[lay.name]), "kinds": ",".join(kinds),
                              "snr_db": round(mapped_snr(arch, mapping, lay, w, x, cfg, static), 2)})
        doc.update(t_s=times[0], accuracy_mean=res.accuracy_mean, accuracy_std=res.accuracy_std, per_layer=per_layer)
    if args.sensitivity:
        rows = sensitivity(model, arch, wl, args.sensitivity, cfg)
        drops = [res.baseline_accuracy - r["accuracy"] for r in rows]
        doc["sensitivity"] = {"kind": args.sensitivity, "layers": rows,
                              "proxy_rank_correlation": spearman([-r["snr_db"] for r in rows], drops)}
    if args.plot:
        _plot(results, res.baseline_accuracy, f"{model} on {arch.label} ({mapping.strategy})", Path(args.plot))
    if args.json:
        print(json.dumps(doc))
        return 0
    weights = ", retrained weights" if mapping.weights is not None else ""
    if len(times) > 1:
        print(f"{model} on {arch.label} ({mapping.strategy}{weights}), {args.seeds} seeds x {res.samples} test digits; "
              f"exact float: {100 * res.baseline_accuracy:.2f}%")
        print(f"  {'after programming':>18}  {'accuracy':>8}  {'std':>5}  {'drop':>6}")
        for r in results:
            print(f"  {duration(r.t_s):>18}  {100 * r.accuracy_mean:7.2f}%  {100 * r.accuracy_std:5.2f}  "
                  f"{100 * (res.baseline_accuracy - r.accuracy_mean):+5.2f}")
    else:
        print(f"{model} on {arch.label} ({mapping.strategy}{weights}), t = {times[0]:g} s, {args.seeds} seeds x "
              f"{res.samples} test digits")
        print(f"  accuracy   {100 * res.accuracy_mean:.2f}% +- {100 * res.accuracy_std:.2f}   "
              f"(exact float: {100 * res.baseline_accuracy:.2f}%)")
        print(f"  {'layer':<16} {'units':<28} {'kind':<18} {'output SNR (dB)':>15}")
        for r in doc["per_layer"]:
            print(f"  {r['layer']:<16} {r['units'][:28]:<28} {r['kinds']:<18} {r['snr_db']:>15.1f}")
    if args.sensitivity:
        sens = doc["sensitivity"]
        print(f"  sensitivity: only one layer on {sens['kind']}, the rest digital")
        for r in sens["layers"]:
            print(f"    {r['layer']:<16} accuracy {100 * r['accuracy']:.2f}%  SNR {r['snr_db']:.1f} dB")
        print(f"  rank correlation of the SNR proxy with the real drop: {sens['proxy_rank_correlation']:.2f}")
    if args.plot:
        print(f"  wrote {args.plot}")
    print(f"  ({time.perf_counter() - t0:.1f} s)")
    return 0


def _plot(results, baseline: float, title: str, path: Path) -> Path:
    from prismsim.traces import plots

    return plots.over_time([max(r.t_s, 1e-3) for r in results], [100 * r.accuracy_mean for r in results],
                           [100 * r.accuracy_std for r in results], 100 * baseline, title, path)
