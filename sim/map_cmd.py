"""``prismsim map`` (a strategy's mapping as YAML, what it put where) and ``prismsim list``."""
from __future__ import annotations

import sys
from pathlib import Path

from prismsim.hw.spec import arch_yaml, list_presets, load_arch
from prismsim.mapper.mapping import Mapping, gemm_macs_by_kind
from prismsim.mapper.strategies import STRATEGIES
from prismsim.mapper.zoo import ZOO

from .cost_cmd import area_comment
from .output import atomic_write, check_new
from .selection import select


def _write_front(mapping: Mapping, stem: Path) -> list[Path]:
    """A search strategy's Pareto front as ``<stem>.pareto.csv`` and ``.png``."""
    front = mapping.meta.get("pareto")
    if not front:
        return []
    import pandas as pd

    from prismsim.traces import plots

    df = pd.DataFrame(front).assign(point=range(len(front)))
    csv_path, png_path = stem.with_name(stem.name + ".pareto.csv"), stem.with_name(stem.name + ".pareto.png")
    df.to_csv(csv_path, index=False)
    plots.pareto(df, "latency_ps", "energy_pj", "point", df[df["chosen"]], png_path)
    return [csv_path, png_path]


def cmd_map(args) -> int:
    arch, wl, mapping = select(args)
    out = Path(args.out)
    stem = out.with_suffix("")
    for p in [out] + ([stem.with_name(stem.name + x) for x in (".pareto.csv", ".pareto.png")]
                      if mapping.meta.get("pareto") else []) \
            + ([stem.with_name(stem.name + ".weights.npz")] if mapping.weights is not None else []):
        check_new(p, "--out")
    extra = _write_front(mapping, stem)
    weights = mapping.save_weights(out)     # retrained weights, named in the YAML
    extra += [weights] if weights else []
    atomic_write(out, mapping.to_yaml())
    print(f"wrote {out} ({len(mapping.layers)} layers, strategy {mapping.strategy})"
          + "".join(f", {p}" for p in extra))
    for what, kinds in gemm_macs_by_kind(mapping, arch, wl).items():
        print(f"  {what} GEMMs' MACs: " + ", ".join(f"{k} {v:.1%}" for k, v in kinds.items() if v >= 5e-4))
    for k, v in mapping.meta.items():
        if k == "rescored":
            print(f"  re-scored after stage 2: {v['latency_ps'] / 1e6:,.3f} us, {v['energy_pj'] / 1e6:,.3f} uJ "
                  "(analytical, layers in sequence)")
        elif k not in ("pareto", "steps", "remapped"):
            print(f"  {k}: {v}")
    for r in mapping.meta.get("steps", []):   # LionHeart's visits, largest layer first
        tuned = f", retrained (output noise sigma {r['output_noise']:.3g})" if "output_noise" in r else ""
        print(f"    {r['layer']}: accuracy {100 * r['accuracy']:.2f}%{tuned} -> "
              f"{'analog' if r['accepted'] else 'stays digital'}")
    if "remapped" in mapping.meta:
        moved = mapping.meta["remapped"]
        print(f"  stage 2 moved {len(moved)} layer(s)" + (":" if moved else " (stage 1's mapping meets the target)"))
        for r in moved:
            to = ", ".join(f"{u} {s:g}" for u, s in r["to"].items())
            print(f"    {r['layer']}: {r['rows_moved']} of {r['rows']} rows ({r['rows_chosen']}) "
                  f"{', '.join(r['from'])} -> {to}  ({r['snr_db']} -> {r['new_snr_db']} dB; {r['why']})")
    return 0


def cmd_list(args) -> int:
    if args.arch:
        arch = load_arch(args.arch)
        sys.stdout.write(arch_yaml(arch) + area_comment(arch))
        return 0
    print("presets:")
    names = list_presets()
    width = max(map(len, names))
    for name in names:
        print(f"  {name:<{width}} {load_arch(name).description}")
    print("models:     " + ", ".join(ZOO))
    print("strategies: " + ", ".join(STRATEGIES))
    print("print a preset as YAML: prismsim list --arch NAME")
    return 0
