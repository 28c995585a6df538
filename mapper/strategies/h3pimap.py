"""H3PIMAP (Yin et al., arXiv 2503.07778): two-stage mapping for hybrid electronic-photonic PIM.

Stage 1 — multi-objective search of per-layer partitions across unit kinds (``search.Options``:
one kind, or two kinds sharing the rows 1:3 / 1:1 / 3:1) for latency and energy, with pymoo's
NSGA-II seeded by greedy picks and by exact mixed-integer solutions (minimum energy under a sweep
of latency budgets) — a GA alone converges poorly. Capabilities are respected by construction
(dynamic matmuls never go to ReRAM) and weights must fit the weight-resident units (a
constraint). A point of the resulting Pareto front is picked by ``objective``: latency, energy,
edp, or a weight w in [0, 1] (w * latency + (1 - w) * energy, both normalised).

Stage 2 — accuracy-driven row remapping (``remap.py``): while the accuracy after drift to
``t_eval`` is below the target (baseline - ``max_drop``; on synthetic weights, an output SNR of
``snr_db`` per layer, default 6 dB: only outliers), the analog GEMM layer with the lowest output
SNR hands its most noise-sensitive rows (output channels) to a tier at least as precise as its
noisiest one — the fewest rows that meet the target, or a stage-1 option, whichever is cheaper —
never toward a noisier tier. The mapping's ``row_order`` records which rows moved. Stage 1's
mapping stands when it already meets the target; ``meta['remapped']`` says per layer what moved
(rows and tiers), from where, to where and why (``prismsim map`` prints it).
"""
from __future__ import annotations

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch

from ..mapping import Mapping
from ..workload import Workload
from .parallelism import refine_counts
from .remap import remap as row_remap
from .search import Options, build_options, mip_front


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
    mapping = refine_counts(workload, arch, opts.mapping(X[best]), "h3pimap")
    mapping.meta = {"pareto": [{"latency_ps": float(f[0]), "energy_pj": float(f[1]), "chosen": i == best}
                               for i, f in enumerate(F)], "objective": str(objective)}
    if remap:
        row_remap(workload, arch, mapping, opts, float(max_drop), float(t_eval), float(snr_db),
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
