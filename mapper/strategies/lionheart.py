"""LionHeart (Lammie et al., arXiv 2401.09420): accuracy-constrained analog/digital mapping.

Start all-digital; visit the GEMM layers by MACs, largest first; tentatively move each (with the
layers already accepted) onto the analog units (``kind``, all of them: a matrix-vector layer's rows
split equally; a convolution's output pixels split equally, each unit holding the whole kernel —
one 100 ns MVM per pixel, so copies are what make a tile fast on convolutions; rows when copies do
not fit);
keep it if the accuracy after drift to ``t_eval`` (mean over ``seeds`` noisy evaluations) stays
within ``threshold`` of the all-digital accuracy, else put it back. With ``retrain`` (the authors'
flow) each candidate is first fine-tuned for ``epochs`` with the analog layers' noise injected
(``models/retrain.py``), and its accuracy checked with the retrained weights, which the mapping
carries (``Mapping.weights``; ``prismsim map`` writes them beside the YAML). Needs a trained model.
"""
from __future__ import annotations

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import can_run

from ..mapping import Mapping, validate
from ..workload import Workload


def lionheart(workload: Workload, arch: Arch, kind: str = "reram", threshold: float = 0.02,
              t_eval: float = 86400.0, seeds: int = 5, samples: int = 1000, kernel: str = "surrogate",
              retrain: int = 1, epochs: int = 5, seed: int = 0) -> Mapping:
    from .. import accuracy as acc
    from ..models import retrain as rt

    model = workload.name.split("[")[0]
    if model not in acc.TRAINED:
        raise PrismError(f"strategy lionheart needs a trained model ({', '.join(acc.TRAINED)}), not {model!r}")
    units = arch.instances()
    analog = [u for u, x in units.items() if x.kind == kind]
    digital = [u for u, x in units.items() if x.kind == "digital"]
    if not analog or not digital:
        raise PrismError(f"strategy lionheart: arch {arch.name} needs {kind} and digital units")
    skipped = bool(retrain) and model not in rt.RETRAINABLE   # no torch twin to fine-tune: said in meta
    retrain = int(retrain) and not skipped
    m = Mapping({lay.name: {u: 1.0 / len(digital) for u in digital} for lay in workload.layers})
    cfg = acc.AccuracyConfig(t_s=float(t_eval), seeds=int(seeds), samples=int(samples), kernel=kernel)
    params = acc.load_weights(model)
    base = acc.evaluate(model, arch, workload, m, cfg, params).baseline_accuracy
    cal = acc.calibration_inputs(model) if retrain else {}
    sigma: dict[str, float] = {}          # equivalent output noise of each accepted analog layer
    log, current = [], base
    for lay in sorted((x for x in workload.layers if x.op.is_gemm), key=lambda x: -x.macs):
        if can_run(units[analog[0]], lay.op) is not None:
            continue
        before = m.layers[lay.name]
        m.layers[lay.name] = {u: 1.0 / len(analog) for u in analog}
        if lay.op.m > 1:   # a convolution: each analog unit holds the kernel, computes a share of the pixels
            m.split[lay.name] = "cols"
        try:
            validate(m, arch, workload)
        except PrismError:  # weights do not fit next to those accepted already (or copied to every unit)
            m.split.pop(lay.name, None)
            try:
                validate(m, arch, workload)
            except PrismError:
                m.layers[lay.name] = before
                continue
        step = {"layer": lay.name, "macs": lay.macs}
        cand = params
        if retrain:
            w, x, _ = cal[lay.name]
            noise = {**sigma, lay.name: rt.output_noise(units[analog[0]], w, x, cfg, int(seed))}
            step["accuracy_before_retraining"] = round(acc.evaluate(model, arch, workload, m, cfg, params).accuracy_mean, 4)
            cand = rt.finetune(model, params, noise, int(epochs), int(seed))
            step["output_noise"] = round(noise[lay.name], 4)
        a = acc.evaluate(model, arch, workload, m, cfg, cand).accuracy_mean
        keep = a >= base - float(threshold)
        log.append({**step, "accuracy": round(a, 4), "accepted": keep})
        if keep:
            current, params = a, cand
            if retrain:
                sigma = noise
        else:
            m.layers[lay.name] = before
            m.split.pop(lay.name, None)
    total = sum(x.macs for x in workload.layers)
    on_analog = sum(x.macs for x in workload.layers if any(u in analog for u in m.layers[x.name]))
    m.meta = {"baseline_accuracy": base, "accuracy": current, "analog_mac_fraction": on_analog / total,
              "threshold": float(threshold), "t_eval": float(t_eval), "retrained": bool(retrain and sigma),
              "steps": log}
    if skipped:
        m.meta["retraining"] = f"not available for {model} (retraining supports {', '.join(rt.RETRAINABLE)})"
    if retrain and sigma:
        m.weights = params
    return m
