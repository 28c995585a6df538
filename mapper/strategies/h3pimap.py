"""H3PIMAP (Yin et al., arXiv 2503.07778): two-stage mapping for hybrid electronic-photonic PIM.

Stage 1 — multi-objective search of per-layer partitions across unit kinds (``search.Options``:
one kind, or two kinds sharing the rows 1:3 / 1:1 / 3:1) for latency and energy, with pymoo's
NSGA-II seeded by greedy picks and by exact mixed-integer solutions (minimum energy under a sweep
of latency budgets) — a GA alone converges poorly. Capabilities are respected by construction
(dynamic matmuls never go to ReRAM) and weights must fit the weight-resident units (a
constraint). A point of the resulting Pareto front is picked by ``objective``: latency, energy,
edp, or a weight w in [0, 1] (w * latency + (1 - w) * energy, both normalised).

Stage 2 — accuracy-driven remapping: while accuracy after drift to ``t_eval`` is below the target
(baseline - ``max_drop``), the analog GEMM layer with the lowest output SNR moves, wholly or a
share of its rows (output channels: a quarter, half or three quarters, the options stage 1 knows),
to the cheapest option that meets the SNR target on tiers at least as precise as its noisiest
current one — never toward a noisier tier; real accuracy for the trained models, the SNR proxy on
synthetic weights otherwise, moving layers below ``snr_db`` (default 6 dB: only outliers; a higher
target trades speed for fidelity). A row split's SNR weights each tier's noise power by its share.
Stage 1's mapping stands when it already meets the target; ``meta['remapped']`` says per layer
what moved, from where, to where and why (``prismsim map`` prints it).
"""
from __future__ import annotations

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch

from ..mapping import Mapping
from ..workload import Workload
from .search import Options, build_options, mip_front

NOISY = ("reram", "photonic")
PRECISE = ("digital", "sram_pim")


def _nsga(opts: Options, seeds: list[np.ndarray], pop: int, gens: int, seed: int) -> np.ndarray:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.optimize import minimize

    n_opt = np.array([len({tuple(sorted(c.items())) for c in ch}) for ch in opts.choices])
    L = len(opts.layers)

    class Mapper(Problem):
        def __init__(self):
            super().__init__(n_var=L, n_obj=2, n_ieq_constr=1, xl=np.zeros(L), xu=n_opt - 1.0, vtype=int)

        def _evaluate(self, x, out, *args, **kwargs):
            lat, e, excess = opts.score(np.rint(x).astype(int))
            out["F"] = np.column_stack([lat, e])
            out["G"] = excess[:, None]

    rng = np.random.default_rng(seed)
    init = np.array(seeds + [rng.integers(0, n_opt) for _ in range(max(0, pop - len(seeds)))])[:pop]
    algo = NSGA2(pop_size=pop, sampling=init.astype(float), eliminate_duplicates=True,
                 crossover=SBX(prob=0.9, eta=3.0, vtype=float, repair=RoundingRepair()),
                 mutation=PM(eta=3.0, vtype=float, repair=RoundingRepair()))
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # pymoo's SBX on integer bounds
        res = minimize(Mapper(), algo, ("n_gen", gens), seed=seed, verbose=False)
    X = np.atleast_2d(res.X) if res.X is not None else init
    return np.rint(X).astype(int)


def _pick(F: np.ndarray, objective) -> int:
    lat, e = F[:, 0], F[:, 1]
    if objective == "latency":
        return int(np.lexsort((e, lat))[0])
    if objective == "energy":
        return int(np.lexsort((lat, e))[0])
    if objective == "edp":
        return int(np.argmin(lat * e))
    try:
        w = float(objective)
    except (TypeError, ValueError):
        raise PrismError(f"--option objective: latency, energy, edp or a weight in [0, 1] (got {objective!r})") from None
    if not 0 <= w <= 1:
        raise PrismError(f"--option objective: a weight must be in [0, 1] (got {w})")
    nl = (lat - lat.min()) / (np.ptp(lat) or 1)
    ne = (e - e.min()) / (np.ptp(e) or 1)
    return int(np.argmin(w * nl + (1 - w) * ne))


def h3pimap(workload: Workload, arch: Arch, objective="edp", pop: int = 80, gens: int = 60, seed: int = 0,
            max_drop: float = 0.02, t_eval: float = 86400.0, snr_db: float = 6.0, accuracy_seeds: int = 2,
            accuracy_samples: int = 500, remap: int = 1) -> Mapping:
    opts = build_options(workload, arch)
    L = len(opts.layers)
    per_energy = opts.energy + opts.leak_pj_per_ps * opts.lat
    seeds = mip_front(opts) + [np.argmin(opts.lat * per_energy, axis=1), np.argmin(opts.lat, axis=1),
                               np.argmin(per_energy, axis=1), np.zeros(L, dtype=int)]
    X = _nsga(opts, [s.astype(int) for s in seeds], int(pop), int(gens), int(seed))
    X = np.vstack([X] + [s[None] for s in seeds])
    lat, e, excess = opts.score(X)
    ok = excess <= 1e-9
    if not ok.any():
        raise PrismError(f"strategy h3pimap: no mapping of {workload.name} fits arch {arch.name}")
    X, F = X[ok], np.column_stack([lat[ok], e[ok]])
    front = _front(F)
    X, F = X[front], F[front]
    best = _pick(F, objective)
    mapping = opts.mapping(X[best])
    mapping.meta = {"pareto": [{"latency_ps": float(f[0]), "energy_pj": float(f[1]), "chosen": i == best}
                               for i, f in enumerate(F)], "objective": str(objective)}
    if remap:
        _remap(workload, arch, mapping, opts, float(max_drop), float(t_eval), float(snr_db),
               int(accuracy_seeds), int(accuracy_samples))
    return mapping


def _front(F: np.ndarray) -> np.ndarray:
    """Indices of non-dominated, distinct rows (both objectives minimised), by latency."""
    order = np.lexsort((F[:, 1], F[:, 0]))
    keep, best = [], np.inf
    for i in order:
        if F[i, 1] < best:
            keep.append(i)
            best = F[i, 1]
    return np.array(keep)


def _remap(workload: Workload, arch: Arch, mapping: Mapping, opts: Options, max_drop: float, t_eval: float,
           snr_db: float, seeds: int, samples: int) -> None:
    """Move the noisiest analog layers, one at a time, to the cheapest option (latency x energy)
    whose every unit kind meets the SNR target and whose weights fit — a more precise analog tier
    (8-bit ReRAM over 4-bit photonic), SRAM-PIM or digital — until the accuracy target holds
    (trained models) or every layer meets the SNR target (proxy)."""
    from .. import accuracy as acc

    units = arch.instances()
    model = workload.name.split("[")[0]
    trained = model in acc.TRAINED
    cfg = acc.AccuracyConfig(t_s=t_eval, seeds=seeds, samples=samples, kernel="surrogate")
    data = acc.calibration_inputs(model) if trained else acc.synthetic_inputs(workload)
    index = {name: i for i, name in enumerate(opts.layers)}
    snr_cache: dict[tuple[str, str], float] = {}

    def kind_snr(name: str, kind: str) -> float:
        if kind == "digital" or name not in data:
            return float("inf")
        key = (name, kind)
        if key not in snr_cache:
            unit = next(x for x in units.values() if x.kind == kind)
            w, x, static = data[name]
            snr_cache[key] = acc.layer_snr(unit, w, x, cfg, 0, static)
        return snr_cache[key]

    def snr_of(name: str, shards: dict) -> float:
        """The layer's output SNR with its rows split as ``shards``: each kind's noise power weighted
        by its share of the rows, so moving a share of rows to a precise tier raises the SNR by
        -10 log10(1 - share) (rows, i.e. output channels, are the granularity of stage 2)."""
        total = sum(shards.values()) or 1.0
        noise = sum(sh / total * 10 ** (-kind_snr(name, units[u].kind) / 10) for u, sh in shards.items())
        return float("inf") if noise <= 0 else -10 * float(np.log10(noise))

    def used_without(i: int) -> np.ndarray:
        g = np.array([next(j for j, c in enumerate(opts.choices[k]) if c == mapping.layers[n])
                      for k, n in enumerate(opts.layers)])
        total = opts.arrays[np.arange(len(g)), g].sum(axis=0)
        return total - opts.arrays[i, g[i]]

    def kinds_of(shards: dict) -> set[str]:
        return {units[u].kind for u in shards}

    def better(name: str, target: float) -> dict | None:
        """The cheapest option (latency x energy) that meets ``target``, else the one with the best
        SNR above the current; only options whose every unit kind is at least as precise as the
        layer's noisiest current kind (stage 2 never moves work to a noisier tier)."""
        i = index[name]
        base = used_without(i)
        cost = opts.lat[i] * (opts.energy[i] + opts.leak_pj_per_ps * opts.lat[i])
        cur = snr_of(name, mapping.layers[name])
        fits = [j for j in range(len(opts.choices[i]))
                if (not opts.capacity.size or np.all(base + opts.arrays[i, j] <= opts.capacity))
                and all(kind_snr(name, k) >= cur for k in kinds_of(opts.choices[i][j]))]
        ok = [j for j in fits if snr_of(name, opts.choices[i][j]) >= target]
        if ok:
            return dict(opts.choices[i][min(ok, key=lambda j: cost[j])])
        best = max(fits, key=lambda j: snr_of(name, opts.choices[i][j]), default=None)
        if best is None or snr_of(name, opts.choices[i][best]) <= cur:
            return None
        return dict(opts.choices[i][best])

    def entry(name: str, snr: float, new: dict, why: str) -> dict:
        """What moved (the layer and its old shares), where (its new shares) and why."""
        return {"layer": name, "from": dict(mapping.layers[name]), "to": dict(new), "snr_db": round(float(snr), 2),
                "new_snr_db": round(float(snr_of(name, new)), 2), "why": why}

    def noisy_layers() -> list[tuple[float, str]]:  # a layer that shares its weights moves with their owner
        return sorted((snr_of(n, mapping.layers[n]), n) for i, n in enumerate(opts.layers)
                      if opts.owner[i] == i and n in data and any(units[u].kind in NOISY for u in mapping.layers[n]))

    def move(name: str, new: dict) -> None:
        o = index[name]
        for i, n in enumerate(opts.layers):
            if i == o or opts.owner[i] == o:
                mapping.layers[n] = dict(new)

    log = []
    if trained:
        res = acc.evaluate(model, arch, workload, mapping, cfg)
        target = res.baseline_accuracy - max_drop
        current, goal = res.accuracy_mean, snr_db
        while current < target:
            moved = False
            for s, name in noisy_layers():
                new = better(name, max(goal, s + 3.0))
                if new is not None:
                    e = entry(name, s, new, f"accuracy {current:.4f} below the target {target:.4f}; "
                                            f"the noisiest analog layer")
                    move(name, new)
                    current = acc.evaluate(model, arch, workload, mapping, cfg).accuracy_mean
                    log.append({**e, "accuracy": round(current, 4)})
                    moved = True
                    break
            if not moved:
                break
        mapping.meta.update(accuracy=current, baseline_accuracy=res.baseline_accuracy, accuracy_target=target)
    else:
        for s, name in noisy_layers():
            if s >= snr_db:
                break
            new = better(name, snr_db)
            if new is not None:
                log.append(entry(name, s, new, f"output SNR {s:.2f} dB below the {snr_db:g} dB target"))
                move(name, new)
        mapping.meta.update(snr_target_db=snr_db)
    mapping.meta["remapped"] = log
