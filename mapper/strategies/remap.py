"""H3PIMAP stage 2: accuracy-driven row remapping (Yin et al., arXiv 2503.07778, "Row Remap").

While the mapping misses its accuracy target, the analog GEMM layer with the lowest output SNR
gives its most noise-sensitive rows (output channels) to a tier at least as precise as its
noisiest one — never a noisier tier. A row's sensitivity is its error power on the layer's
noisiest current tier, measured on calibration inputs (``accuracy.row_errors``); the rows with
the largest error move first, and the mapping's ``row_order`` records which rows each unit holds.

Per layer the candidates are stage 1's options (the whole layer on one tier, or two tiers sharing
its rows 1:3, 1:1, 3:1), each with its rows dealt by sensitivity, and the fewest rows that meet
the SNR target moved to each more precise tier. The cheapest candidate (latency x energy, the
``hw`` costs of ``estimates.shard_estimate``) that meets the target and fits the weight-resident
arrays wins; else the one with the best SNR above the current. The target is the accuracy
(baseline - ``max_drop``, after drift to ``t_eval``) on the trained models, and an output SNR of
``snr_db`` per layer on synthetic weights (where rows are statistically alike, so the choice of
rows matters little and the count matters). A layer whose calibration weights are a sample of its
rows (synthetic weights are capped at ``SYNTHETIC_ROWS``) moves shares of rows, its SNR each tier's
noise power weighted by its share. Stage 1's mapping stands when it already meets the target.
"""
from __future__ import annotations

import zlib

import numpy as np

from prismsim.hw.spec import Arch
from prismsim.hw.units import RESIDENT, arrays_needed, can_run

from .. import accuracy as acc
from ..mapping import Mapping, split_counts
from ..workload import Workload
from .estimates import shard_estimate
from .search import Options

NOISY = ("reram", "photonic")
SYNTHETIC_ROWS = 2048      # rows of a synthetic weight matrix (chosen: pythia-70m's widest layer)
SYNTHETIC_VECTORS = 64     # calibration inputs per layer (chosen)


class RowNoise:
    """Per GEMM layer and unit kind: each row's signal and error power on calibration inputs —
    the trained model's own data, or W ~ N(0, 1/D), X ~ N(0, 1) drawn per layer (seeded by name)."""

    def __init__(self, workload: Workload, arch: Arch, cfg: acc.AccuracyConfig):
        self.wl, self.cfg = workload, cfg
        self.model = workload.name.split("[")[0]
        self.trained = self.model in acc.TRAINED
        self.data = acc.calibration_inputs(self.model) if self.trained else None
        self.unit_of = {}
        for u in arch.instances().values():
            self.unit_of.setdefault(u.kind, u)
        self._rows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._full: dict[str, bool] = {}

    def has(self, name: str) -> bool:
        return name in self.data if self.trained else self.wl.layer(name).op.is_gemm

    def _inputs(self, name: str):
        if self.trained:
            return self.data[name]
        lay = self.wl.layer(name)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        n, d = min(lay.n, SYNTHETIC_ROWS), lay.d
        return (rng.standard_normal((n, d)) / np.sqrt(d), rng.standard_normal((SYNTHETIC_VECTORS, d)),
                lay.static_weights)

    def rows(self, name: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(signal, error) power per row of ``name`` on ``kind`` (no error on digital units)."""
        key = (name, kind)
        if key not in self._rows:
            w, x, static = self._inputs(name)
            lay = self.wl.layer(name)
            self._full[name] = bool(static and lay.static_weights and w.shape[0] == lay.op.split_size)
            if kind == "digital":
                sig = (x @ w.T) ** 2
                self._rows[key] = (sig.sum(axis=0), np.zeros(w.shape[0]))
            else:
                self._rows[key] = acc.row_errors(self.unit_of[kind], w, x, self.cfg, 0, static)
        return self._rows[key]

    def snr(self, name: str, kind: str) -> float:
        sig, err = self.rows(name, kind)
        return acc.snr_db(float(sig.sum()), float(err.sum()))

    def row_level(self, name: str) -> bool:
        """Whether the calibration weights hold every row of the layer (so rows can be chosen)."""
        self.rows(name, "digital")
        return self._full[name]


def deal(noise: RowNoise, name: str, shards: dict[str, float], kind_of: dict[str, str]
         ) -> tuple[list[int] | None, float]:
    """(row order, output SNR dB) of ``name`` with its rows split as ``shards``: the most
    sensitive rows (largest error on the noisiest tier among the shards) go to the most precise
    tier. Without row-level data (or on one tier) the order is None and each tier's noise power
    counts by its share of the rows (``accuracy.assigned_error``)."""
    units = list(shards)
    kinds = list(dict.fromkeys(kind_of[u] for u in units))
    errors = {k: noise.rows(name, k)[1] for k in kinds}
    sig = noise.rows(name, kinds[0])[0]
    n = len(sig)
    counts = split_counts(n, [shards[u] for u in units])
    dealt = list(zip(units, counts))
    if len(kinds) == 1 or not noise.row_level(name):
        return None, acc.snr_db(float(sig.sum()), acc.assigned_error(dealt, kind_of, errors))
    snrs = {k: noise.snr(name, k) for k in kinds}
    per_kind = {k: sum(c for u, c in dealt if kind_of[u] == k) for k in kinds}
    ranked = np.argsort(-errors[min(kinds, key=lambda k: snrs[k])], kind="stable")
    pools, pos = {}, 0
    for k in sorted(kinds, key=lambda k: -snrs[k]):        # most precise tier first
        pools[k], pos = [int(r) for r in np.sort(ranked[pos:pos + per_kind[k]])], pos + per_kind[k]
    order: list[int] = []
    taken = dict.fromkeys(kinds, 0)
    for u, c in dealt:
        k = kind_of[u]
        order += pools[k][taken[k]:taken[k] + c]
        taken[k] += c
    return order, acc.snr_db(float(sig.sum()), acc.assigned_error(dealt, kind_of, errors, order))


def rows_per_kind(n: int, shards: dict[str, float], kind_of: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for u, c in zip(shards, split_counts(n, list(shards.values()))):
        out[kind_of[u]] = out.get(kind_of[u], 0) + c
    return out


def fewest_rows(noise: RowNoise, name: str, shards: dict[str, float], to: list[str], kind_of: dict[str, str],
                target: float) -> dict[str, float] | None:
    """The shards that move the fewest of the layer's most sensitive rows from its noisiest tier
    to the units ``to`` (one more precise tier) so that its SNR meets ``target``; None when even
    all but one do not (moving the whole layer is a stage-1 option) or rows cannot be chosen."""
    if not noise.row_level(name):
        return None
    worst = min({kind_of[u] for u in shards}, key=lambda k: noise.snr(name, k))
    sig, err_w = noise.rows(name, worst)
    err_p = noise.rows(name, kind_of[to[0]])[1]
    n = len(sig)
    counts = dict(zip(shards, split_counts(n, list(shards.values()))))
    stay = [u for u in shards if kind_of[u] == worst]
    on_worst = sum(counts[u] for u in stay)
    _, now = deal(noise, name, shards, kind_of)
    if on_worst <= 1 or now >= target:
        return None
    # the worst tier holds the least sensitive rows (``deal``); moving its most sensitive k of
    # them to ``to`` lowers the error by the sum of their error differences
    held = np.argsort(-err_w, kind="stable")[n - on_worst:]
    gain = np.cumsum(err_w[held] - err_p[held])
    k = int(np.searchsorted(gain, sig.sum() / 10 ** (now / 10) - sig.sum() / 10 ** (target / 10))) + 1
    while k < on_worst:                     # the dealt SNR is exact; the estimate above is close
        new = {u: counts[u] / n for u in shards if u not in stay and counts[u]}
        new.update({u: (on_worst - k) / n / len(stay) for u in stay})
        for u in to:
            new[u] = new.get(u, 0.0) + k / n / len(to)
        if deal(noise, name, new, kind_of)[1] >= target:
            return new
        k += max(1, k // 8)
    return None


def arrays_used(workload: Workload, mapping: Mapping, units: dict, opts: Options, resident: list[str],
                skip: int) -> np.ndarray:
    """Arrays each weight-resident unit holds for the mapping's owner layers other than ``skip``."""
    pos = {u: i for i, u in enumerate(resident)}
    used = np.zeros(len(resident))
    for i, name in enumerate(opts.layers):
        if opts.owner[i] != i or i == skip:
            continue
        used += shard_arrays(workload, name, mapping.layers[name], units, pos)
    return used


def shard_arrays(workload: Workload, name: str, shards: dict[str, float], units: dict, pos: dict) -> np.ndarray:
    layer = workload.layer(name)
    out = np.zeros(len(pos))
    names = list(shards)
    for u, c in zip(names, split_counts(layer.op.split_size, [shards[x] for x in names])):
        if c and u in pos:
            out[pos[u]] += arrays_needed(units[u], layer.op.rows(c))
    return out


def remap(workload: Workload, arch: Arch, mapping: Mapping, opts: Options, max_drop: float, t_eval: float,
          snr_db: float, seeds: int, samples: int) -> None:
    """Stage 2 on ``mapping`` in place; ``meta['remapped']`` says per layer what moved (rows and
    tiers), from where, to where and why."""
    units = arch.instances()
    kind_of = {u: x.kind for u, x in units.items()}
    by_kind: dict[str, list[str]] = {}
    for u, x in units.items():
        by_kind.setdefault(x.kind, []).append(u)
    resident = [u for u, x in units.items() if x.kind in RESIDENT]
    pos = {u: i for i, u in enumerate(resident)}
    cfg = acc.AccuracyConfig(t_s=t_eval, seeds=seeds, samples=samples, kernel="surrogate")
    noise = RowNoise(workload, arch, cfg)
    index = {name: i for i, name in enumerate(opts.layers)}

    def candidates(name: str, target: float) -> list[dict[str, float]]:
        i = index[name]
        cur = mapping.layers[name]
        floor = min(noise.snr(name, kind_of[u]) for u in cur)
        out = [dict(c) for c in {tuple(c.items()): c for c in opts.choices[i]}.values()]
        layer = workload.layer(name)
        for k, us in by_kind.items():
            if k not in {kind_of[u] for u in cur} and noise.snr(name, k) > floor \
                    and can_run(units[us[0]], layer.op) is None:
                few = fewest_rows(noise, name, cur, us, kind_of, target)
                if few is not None:
                    out.append(few)
        return [c for c in out if all(noise.snr(name, kind_of[u]) >= floor for u in c)]

    def better(name: str, target: float) -> tuple[dict, list[int] | None, float] | None:
        """The cheapest candidate (latency x energy) that meets ``target`` and fits, else the one
        with the best SNR above the current; with its row order and SNR."""
        i = index[name]
        base = arrays_used(workload, mapping, units, opts, resident, i)
        cap = opts.capacity
        _, cur = deal(noise, name, mapping.layers[name], kind_of)
        layer = workload.layer(name)
        scored = []
        for c in candidates(name, target):
            if cap.size and np.any(base + shard_arrays(workload, name, c, units, pos) > cap):
                continue
            order, snr = deal(noise, name, c, kind_of)
            names = list(c)
            lat, e = shard_estimate(arch, layer, dict(zip(names, split_counts(layer.op.split_size,
                                                                               [c[u] for u in names]))))
            scored.append((lat * (e + opts.leak_pj_per_ps * lat), snr, c, order))
        ok = [s for s in scored if s[1] >= target]
        if ok:
            _, snr, c, order = min(ok, key=lambda s: s[0])
            return c, order, snr
        best = max(scored, key=lambda s: s[1], default=None)
        if best is None or best[1] <= cur:
            return None
        return best[2], best[3], best[1]

    def move(name: str, new: dict, order: list[int] | None, snr: float, why: str) -> dict:
        old = mapping.layers[name]
        _, before = deal(noise, name, old, kind_of)
        n = workload.layer(name).op.split_size
        was, now = rows_per_kind(n, old, kind_of), rows_per_kind(n, new, kind_of)
        o = index[name]
        for i, m in enumerate(opts.layers):      # layers sharing its weights move with their owner
            if i == o or opts.owner[i] == o:
                mapping.layers[m] = dict(new)
                if order is None:
                    mapping.row_order.pop(m, None)
                else:
                    mapping.row_order[m] = list(order)
        return {"layer": name, "from": dict(old), "to": dict(new), "rows": n,
                "rows_moved": sum(max(0, c - was.get(k, 0)) for k, c in now.items()),
                "rows_chosen": "by sensitivity" if order is not None else "by share",
                "snr_db": round(float(before), 2), "new_snr_db": round(float(snr), 2), "why": why}

    def noisy_layers() -> list[tuple[float, str]]:
        return sorted((deal(noise, n, mapping.layers[n], kind_of)[1], n) for i, n in enumerate(opts.layers)
                      if opts.owner[i] == i and noise.has(n) and any(kind_of[u] in NOISY for u in mapping.layers[n]))

    log = []
    if noise.trained:
        res = acc.evaluate(noise.model, arch, workload, mapping, cfg)
        target = res.baseline_accuracy - max_drop
        current = res.accuracy_mean
        while current < target:
            for s, name in noisy_layers():
                got = better(name, max(snr_db, s + 3.0))
                if got is not None:
                    e = move(name, *got, f"accuracy {current:.4f} below the target {target:.4f}; "
                                         f"the noisiest analog layer")
                    current = acc.evaluate(noise.model, arch, workload, mapping, cfg).accuracy_mean
                    log.append({**e, "accuracy": round(current, 4)})
                    break
            else:
                break
        mapping.meta.update(accuracy=current, baseline_accuracy=res.baseline_accuracy, accuracy_target=target)
    else:
        for s, name in noisy_layers():
            if s >= snr_db:
                break
            got = better(name, snr_db)
            if got is not None:
                log.append(move(name, *got, f"output SNR {s:.2f} dB below the {snr_db:g} dB target"))
        mapping.meta.update(snr_target_db=snr_db)
    mapping.meta["remapped"] = log
    if log:   # the final mapping's analytical score, as stage 1 scored its front
        lat = energy = 0.0
        for name in opts.layers:
            layer, shards = workload.layer(name), mapping.layers[name]
            t, e = shard_estimate(arch, layer, dict(zip(shards, split_counts(layer.op.split_size,
                                                                               list(shards.values())))))
            lat, energy = lat + t, energy + e
        mapping.meta["rescored"] = {"latency_ps": float(lat), "energy_pj": float(energy + opts.leak_pj_per_ps * lat)}
