"""LionHeart (Lammie et al., arXiv 2401.09420): accuracy-constrained analog/digital mapping.

Start all-digital; visit the GEMM layers by MACs, largest first; tentatively move each (with the
layers already accepted) onto the analog units (``kind``, all of them, rows split equally);
keep it if the accuracy after drift to ``t_eval`` (mean over ``seeds`` noisy evaluations) stays
within ``threshold`` of the all-digital accuracy, else put it back. Needs a trained model.
"""
from __future__ import annotations

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import can_run

from ..mapping import Mapping, validate
from ..workload import Workload


def lionheart(workload: Workload, arch: Arch, kind: str = "reram", threshold: float = 0.02,
              t_eval: float = 86400.0, seeds: int = 5, samples: int = 1000, kernel: str = "surrogate") -> Mapping:
    from .. import accuracy as acc

    model = workload.name.split("[")[0]
    if model not in acc.TRAINED:
        raise PrismError(f"strategy lionheart needs a trained model ({', '.join(acc.TRAINED)}), not {model!r}")
    units = arch.instances()
    analog = [u for u, x in units.items() if x.kind == kind]
    digital = [u for u, x in units.items() if x.kind == "digital"]
    if not analog or not digital:
        raise PrismError(f"strategy lionheart: arch {arch.name} needs {kind} and digital units")
    m = Mapping({lay.name: {u: 1.0 / len(digital) for u in digital} for lay in workload.layers})
    cfg = acc.AccuracyConfig(t_s=float(t_eval), seeds=int(seeds), samples=int(samples), kernel=kernel)
    base = acc.evaluate(model, arch, workload, m, cfg).baseline_accuracy
    log, current = [], base
    for lay in sorted((x for x in workload.layers if x.op.is_gemm), key=lambda x: -x.macs):
        if can_run(units[analog[0]], lay.op) is not None:
            continue
        before = m.layers[lay.name]
        m.layers[lay.name] = {u: 1.0 / len(analog) for u in analog}
        try:
            validate(m, arch, workload)
        except PrismError:  # weights do not fit next to those accepted already
            m.layers[lay.name] = before
            continue
        a = acc.evaluate(model, arch, workload, m, cfg).accuracy_mean
        keep = a >= base - float(threshold)
        log.append({"layer": lay.name, "macs": lay.macs, "accuracy": round(a, 4), "accepted": keep})
        if keep:
            current = a
        else:
            m.layers[lay.name] = before
    total = sum(x.macs for x in workload.layers)
    on_analog = sum(x.macs for x in workload.layers if any(u in analog for u in m.layers[x.name]))
    m.meta = {"baseline_accuracy": base, "accuracy": current, "analog_mac_fraction": on_analog / total,
              "threshold": float(threshold), "t_eval": float(t_eval), "steps": log}
    return m
