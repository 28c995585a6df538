"""Per-layer mapping options and their analytical costs: the search space of the mappers.

Each layer gets a menu of options — all units of one capable kind, or two kinds sharing its
rows 1:3, 1:1 or 3:1, less those with a shard larger than its unit's arrays — each costed once
with the same ``hw`` functions the plan uses (``estimates.shard_estimate``). A mapping is then
one option per layer, and its analytical score is a sum over layers: latency (sequential
schedule) and energy (plus leakage over that latency), with the arrays each option writes into
weight-resident units as a capacity constraint. Layers that share a weight matrix
(``Layer.weights``: the steps of LLM decode) take the option of the first of them (``owner``),
whose arrays hold it for all. Scoring a population is a few numpy gathers: far beyond 1,000
mappings/s.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.hw.units import RESIDENT, arrays_available, arrays_needed, can_run, leakage_mw

from ..mapping import Mapping, split_counts
from ..workload import Workload
from .estimates import shard_estimate

RATIOS = (0.25, 0.5, 0.75)


@dataclass
class Options:
    layers: list[str]
    choices: list[list[dict[str, float]]]   # per layer: option -> {unit: share}
    lat: np.ndarray                         # [layers, max options] ps (inf where no option)
    energy: np.ndarray                      # [layers, max options] pJ
    arrays: np.ndarray                      # [layers, max options, resident units] arrays used
    capacity: np.ndarray                    # [resident units]
    leak_pj_per_ps: float
    owner: np.ndarray                       # [layers] the layer whose option this one takes (itself,
                                            # or the first that shares its weights; arrays counted there)

    def __post_init__(self):
        self.tied = bool((self.owner != np.arange(len(self.owner))).any())

    def score(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(latency ps, energy pJ, capacity excess >= 0 is infeasible) of each genome row."""
        idx = np.arange(len(self.layers))
        if self.tied:
            genomes = np.asarray(genomes)[:, self.owner]
        lat = self.lat[idx, genomes].sum(axis=1)
        energy = self.energy[idx, genomes].sum(axis=1) + self.leak_pj_per_ps * lat
        if self.capacity.size:
            used = self.arrays[idx, genomes].sum(axis=1)
            excess = (used / self.capacity - 1.0).max(axis=1)
        else:
            excess = np.full(len(genomes), -1.0)
        return lat, energy, excess

    def mapping(self, genome) -> Mapping:
        genome = np.asarray(genome)[self.owner]
        return Mapping({name: dict(self.choices[i][int(g)]) for i, (name, g) in enumerate(zip(self.layers, genome))})


def build_options(workload: Workload, arch: Arch, kinds: list[str] | None = None) -> Options:
    units = arch.instances()
    by_kind: dict[str, list[str]] = {}
    for u, x in units.items():
        by_kind.setdefault(x.kind, []).append(u)
    kinds = kinds or list(by_kind)
    resident = [u for u, x in units.items() if x.kind in RESIDENT]
    rpos = {u: i for i, u in enumerate(resident)}
    layers, choices, costs, owner = [], [], [], []
    index: dict[str, int] = {}
    for layer in workload.layers:
        capable = [k for k in kinds if k in by_kind and can_run(units[by_kind[k][0]], layer.op) is None]
        if not capable:
            raise PrismError(f"no unit of arch {arch.name} can run layer {layer.name!r}")
        opts: list[dict[str, float]] = [{u: 1.0 / len(by_kind[k]) for u in by_kind[k]} for k in capable]
        if layer.op.is_gemm:
            for k1, k2 in combinations(capable, 2):
                for r in RATIOS:
                    o = {u: r / len(by_kind[k1]) for u in by_kind[k1]}
                    o.update({u: (1 - r) / len(by_kind[k2]) for u in by_kind[k2]})
                    opts.append(o)
        row, feasible = [], []
        for o in opts:
            names = list(o)
            counts = split_counts(layer.op.split_size, [o[u] for u in names])
            need = {u: arrays_needed(units[u], layer.op.rows(c)) for u, c in zip(names, counts) if c}
            if any(n > arrays_available(units[u]) for u, n in need.items() if u in rpos):
                continue  # a shard larger than its unit's arrays: not an option
            lat, e = shard_estimate(arch, layer, dict(zip(names, counts)))
            use = np.zeros(len(resident))
            for u, n in need.items():
                if u in rpos:
                    use[rpos[u]] += n
            row.append((lat, e, use))
            feasible.append(o)
        if not feasible:
            raise PrismError(f"layer {layer.name!r} of {workload.name} has no option on arch {arch.name}: split over "
                             f"all units of a kind, its weight shards still exceed a unit's arrays")
        first = workload.weight_owner[layer.name]
        o = index[first] if first != layer.name and choices[index[first]] == feasible else len(layers)
        if o != len(layers):   # its weights are held where the owner's are
            row = [(lat, e, np.zeros(len(resident))) for lat, e, _ in row]
        owner.append(o)
        index[layer.name] = len(layers)
        layers.append(layer.name)
        choices.append(feasible)
        costs.append(row)
    width = max(len(c) for c in choices)
    lat = np.full((len(layers), width), np.inf)
    energy = np.full((len(layers), width), np.inf)
    arrays = np.zeros((len(layers), width, len(resident)))
    for i, row in enumerate(costs):
        for j, (la, e, use) in enumerate(row):
            lat[i, j], energy[i, j], arrays[i, j] = la, e, use
        for j in range(len(row), width):  # pad with the first option so any index stays valid
            lat[i, j], energy[i, j], arrays[i, j] = lat[i, 0], energy[i, 0], arrays[i, 0]
            choices[i].append(choices[i][0])
    cap = np.array([arrays_available(units[u]) for u in resident], dtype=float)
    leak = sum(leakage_mw(x) for x in units.values()) * 1e-3  # mW * ps = 1e-3 pJ
    return Options(layers, choices, lat, energy, arrays, cap, leak, np.array(owner, dtype=int))


def mip_front(opts: Options, budgets: int = 6) -> list[np.ndarray]:
    """Exact points of the latency-energy front by mixed-integer programming (scipy milp /
    HiGHS): minimum energy under a sweep of latency budgets, capacity respected."""
    from scipy.optimize import Bounds, LinearConstraint
    from scipy.sparse import csr_array

    from .solver import milp

    L, O = opts.lat.shape
    n = L * O
    lat = opts.lat.reshape(-1)
    e = (opts.energy + opts.leak_pj_per_ps * opts.lat).reshape(-1)
    finite = np.isfinite(lat)
    lat_f, e_f = np.where(finite, lat, 0), np.where(finite, e, 0)
    one = np.zeros((L, n))
    for i in range(L):
        one[i, i * O:(i + 1) * O] = 1
    cons = [LinearConstraint(one, 1, 1)]
    member = np.flatnonzero(opts.owner != np.arange(L))
    if member.size:  # a layer sharing weights takes its owner's option: x[i, j] - x[owner, j] = 0
        a = (member[:, None] * O + np.arange(O)).ravel()
        b = (opts.owner[member][:, None] * O + np.arange(O)).ravel()
        rows = np.arange(a.size)
        same = csr_array((np.r_[np.ones(a.size), -np.ones(a.size)], (np.r_[rows, rows], np.r_[a, b])),
                         shape=(a.size, n))
        cons.append(LinearConstraint(same, 0, 0))
    if opts.capacity.size:
        cap_rows = opts.arrays.reshape(n, -1).T
        cons.append(LinearConstraint(cap_rows, -np.inf, opts.capacity))
    ub = finite.astype(float)
    fast = opts.lat.min(axis=1).sum()
    sol0 = milp(e_f, constraints=cons, integrality=np.ones(n), bounds=Bounds(0, ub))
    slow = float(lat_f @ np.rint(sol0.x)) if sol0.success else fast * 4
    out = []
    for b in np.linspace(fast, max(slow, fast), budgets):
        res = milp(e_f, constraints=cons + [LinearConstraint(lat_f[None, :], -np.inf, b * 1.0000001)],
                   integrality=np.ones(n), bounds=Bounds(0, ub), options={"time_limit": 10})
        if res.success and res.x is not None:
            out.append(np.rint(res.x).reshape(L, O).argmax(axis=1))
    return out
