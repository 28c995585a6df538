"""Accuracy of a mapping under analog non-idealities, on real trained models.

Every GEMM of the model's forward pass goes, shard by shard, through the functional kernel of
the unit kind the mapping puts it on, with that unit's declared non-idealities (``hw/noise.py``,
``hw/kernels.py``):

* ``reram``: weights and inputs quantized to the unit's bits, weights programmed into bit-sliced
  crossbars (PCM-like or ReRAM noise model, drift to ``t_s`` seconds after programming, stuck-at
  faults), bit-serial read with read noise and the unit's ADC; global drift compensation rescales
  outputs by the conductance a calibration read lost;
* ``photonic``: DAC/weight quantization, thermal crosstalk, phase noise per encoding, ADC per
  accumulation group;
* ``sram_pim``: exact integer arithmetic at its bits; ``digital``: exact float.

Accuracy is the mean (and std) over ``seeds`` noise realisations of the test-set accuracy.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources

import numpy as np

from prismsim.hw import kernels, noise, photonic
from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch, Unit

from .mapping import Mapping, resolve
from .models import nets
from .models.data import N_TEST, split
from .workload import Workload

TRAINED = tuple(nets.FORWARDS)


KERNELS = ("bit", "surrogate")


@dataclass(frozen=True)
class AccuracyConfig:
    t_s: float = 86400.0          # time since programming (s)
    seeds: int = 5
    samples: int = 1000           # test digits
    kernel: str = "bit"           # bit (bit-accurate crossbar) | surrogate (float + equivalent noise)
    compensation: bool = True     # global drift compensation
    noise: bool = True            # device noise on (quantization stays)
    quantize: bool = True         # off (with noise off): analog units compute exact floats

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise PrismError(f"kernel: must be one of {', '.join(KERNELS)} (got {self.kernel!r})")
        if not (isinstance(self.t_s, (int, float)) and math.isfinite(self.t_s) and self.t_s >= 0):
            raise PrismError(f"t: time since programming must be a finite number of seconds >= 0 (got {self.t_s!r})")
        if not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise PrismError(f"seeds: must be a whole number >= 1 (got {self.seeds!r})")
        if not (isinstance(self.samples, int) and 1 <= self.samples <= N_TEST):
            raise PrismError(f"samples: must be 1 to {N_TEST}, the test digits that ship (got {self.samples!r})")


def load_weights(model: str) -> dict[str, np.ndarray]:
    if model not in TRAINED:
        raise PrismError(f"--model: no trained weights for {model!r} (trained models: {', '.join(TRAINED)})")
    with resources.files("prismsim.mapper.models").joinpath("weights", f"{model}.npz").open("rb") as f:
        data = np.load(f)
        return {k: data[k].astype(np.float64) for k in data.files}


def _q(x: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Integer quantization of a tensor: unsigned over [0, 2^bits - 1] when it has no negative
    values (activations after ReLU), symmetric signed otherwise. Returns (integers, scale)."""
    if x.size and x.min() >= 0:
        top = 2 ** bits - 1
        s = float(x.max()) / top or 1.0
        return np.clip(np.rint(x / s), 0, top).astype(np.int64), s
    top = 2 ** (bits - 1) - 1
    s = float(np.abs(x).max()) / top or 1.0
    return np.clip(np.rint(x / s), -top, top).astype(np.int64), s


def _q_rows(w: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights quantized with one scale per output row (applied digitally after the ADC)."""
    top = 2 ** (bits - 1) - 1
    s = np.abs(w).max(axis=1) / top
    s[s == 0] = 1.0
    return np.clip(np.rint(w / s[:, None]), -top, top).astype(np.int64), s


class MappedOps:
    """The forward pass's GEMMs, computed shard by shard on the mapped units' kernels."""

    def __init__(self, arch: Arch, workload: Workload, mapping: Mapping, cfg: AccuracyConfig, seed: int):
        self.units = arch.instances()
        self.wl, self.mapping, self.cfg, self.seed = workload, mapping, cfg, seed
        self._xbars: dict = {}
        self.calls = 0

    # -- routing ------------------------------------------------------------------------------
    def gemm(self, name: str, w: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
        layer = self.wl.layer(name)
        y = np.empty((x.shape[0], w.shape[0]))
        a = 0
        if self.mapping.split_of(name) == "cols":
            pos = np.arange(x.shape[0]) % m
            for unit, count in resolve(self.mapping, layer):
                sel = (pos >= a) & (pos < a + count)
                if sel.any():
                    y[sel] = self.kernel(self.units[unit], (name, "all"), w, x[sel], static=True)
                a += count
            return y
        # consecutive row shards on units of one kind with identical parameters run as one call:
        # their cells and columns are independent, so this only saves per-call overhead
        groups: list[list] = []
        for unit, count in resolve(self.mapping, layer):
            u = self.units[unit]
            if groups and groups[-1][0].kind == u.kind and groups[-1][0].params == u.params:
                groups[-1][2] += count
            else:
                groups.append([u, a, count])
            a += count
        order = self.mapping.row_order.get(name)
        if order is not None:   # rows dealt in this order (stage 2 moved the sensitive ones)
            order = np.asarray(order)
            w = w[order]
        for u, start, count in groups:
            y[:, start:start + count] = self.kernel(u, (name, start), w[start:start + count], x, static=True)
        if order is not None:
            out = np.empty_like(y)
            out[:, order] = y
            return out
        return y

    def dyn(self, name: str, head: int, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        layer = self.wl.layer(name)
        shards = resolve(self.mapping, layer)
        if self.mapping.split_of(name) == "cols":
            y = np.empty((x.shape[0], w.shape[0]))
            a = 0
            for unit, count in shards:
                if a < x.shape[0]:
                    y[a:a + count] = self.kernel(self.units[unit], (name, head, a), w, x[a:a + count], static=False)
                a += count
            return y
        h, a = head % layer.op.split_size, 0
        for unit, count in shards:
            if a <= h < a + count:
                return self.kernel(self.units[unit], (name, head), w, x, static=False)
            a += count
        raise AssertionError("unreachable: shards cover every head")

    # -- kernels ------------------------------------------------------------------------------
    def kernel(self, unit: Unit, key, w: np.ndarray, x: np.ndarray, static: bool) -> np.ndarray:
        self.calls += 1
        cfg, p = self.cfg, unit.params
        if unit.kind == "digital" or not cfg.quantize:
            return x @ w.T
        if unit.kind == "sram_pim":
            wq, sw = _q_rows(w, p.weight_bits)
            xq, sx = _q(x, p.input_bits)
            return (xq @ wq.T) * (sw[None, :] * sx)
        if unit.kind == "photonic":
            rng_seed = zlib.crc32(repr((self.seed, key, self.calls)).encode())
            return kernels.photonic_mvm(
                w, x, in_bits=p.in_bits, weight_bits=p.weight_bits, out_bits=p.out_bits,
                group=p.wavelengths * p.integration_cycles, sigma=p.weight_noise_sigma if cfg.noise else 0.0,
                crosstalk=p.crosstalk if cfg.noise else 0.0, seed=rng_seed,
                electrons=photonic.shot_electrons(p) if cfg.noise and p.shot_noise else math.inf)
        # reram: program once per (layer shard, seed), read many times
        xb, sw, alpha = self._crossbar(unit, key, w)
        xq, sx = _q(x, p.input_bits)
        run = kernels.crossbar_mvm if cfg.kernel == "bit" else kernels.crossbar_surrogate
        y = run(xb, xq, in_bits=p.input_bits, dac_bits=p.dac_bits, rows=p.rows, adc_bits=p.adc_bits,
                seed=zlib.crc32(repr((self.seed, key, self.calls)).encode()), read_noise=cfg.noise)
        return y * (sw[None, :] * (sx * alpha))

    def _crossbar(self, unit: Unit, key, w: np.ndarray):
        hit = self._xbars.get((unit.name, key))
        if hit is None:
            p, cfg = unit.params, self.cfg
            wq, sw = _q_rows(w, p.weight_bits)
            cells = None
            alpha = 1.0
            if cfg.noise:
                dev = dict(model=p.noise_model, g_max_us=p.g_max_us, prog_sigma=p.prog_sigma, read_sigma=p.read_sigma,
                           drift_nu=p.drift_nu, stuck_at_0=p.stuck_at_0, stuck_at_1=p.stuck_at_1)
                seed = [self.seed, zlib.crc32(repr((unit.name, key)).encode())]
                cells = partial(noise.program_cells, t_s=cfg.t_s, rng=np.random.default_rng(seed), **dev)
            # calibration read right after programming vs now; without drift the two are the same
            # cells (same draws), so the factor is exactly 1 and the second programming is skipped
            compensate = cfg.noise and cfg.compensation and (p.noise_model == "pcm" or p.drift_nu > 0)
            if compensate:
                g0 = kernels.program_crossbar(wq, p.weight_bits, p.bits_per_cell, p.encoding, partial(
                    noise.program_cells, t_s=0.0, rng=np.random.default_rng(seed), **dev)).g
            xb = kernels.program_crossbar(wq, p.weight_bits, p.bits_per_cell, p.encoding, cells)
            if compensate:
                alpha = noise.drift_compensation(g0, xb.g)
            hit = self._xbars[(unit.name, key)] = (xb, sw, alpha)
        return hit


@dataclass
class AccuracyResult:
    model: str
    accuracy_mean: float
    accuracy_std: float
    baseline_accuracy: float
    per_seed: list[float]
    t_s: float
    seeds: int
    samples: int


def evaluate(model: str, arch: Arch, workload: Workload, mapping: Mapping,
             cfg: AccuracyConfig = AccuracyConfig(), params: dict[str, np.ndarray] | None = None) -> AccuracyResult:
    """Test accuracy of ``model`` run as ``mapping`` on ``arch`` (mean, std over seeds), and of
    the exact float model. Weights: ``params``, else the mapping's own (retrained), else the
    shipped ones."""
    shipped = load_weights(model)
    params = params if params is not None else mapping.weights if mapping.weights is not None else shipped
    bad = sorted(k for k in shipped if k not in params or np.shape(params[k]) != shipped[k].shape)
    if bad:
        raise PrismError(f"weights: {bad[0]!r} is missing or not of shape {shipped[bad[0]].shape} "
                         f"(the mapping's weights are not {model}'s)")
    _, _, x, y = split(cfg.samples)
    fwd = nets.FORWARDS[model]
    base = float_accuracy(model, cfg.samples)
    accs = [float((fwd(params, x, MappedOps(arch, workload, mapping, cfg, s)).argmax(1) == y).mean())
            for s in range(cfg.seeds)]
    return AccuracyResult(model, float(np.mean(accs)), float(np.std(accs)), base, accs, cfg.t_s, cfg.seeds, len(y))


@lru_cache(maxsize=None)
def float_accuracy(model: str, samples: int) -> float:
    """Test accuracy of the exact float model on the first ``samples`` test digits (a mapper
    evaluates many mappings against it)."""
    _, _, x, y = split(samples)
    return float((nets.FORWARDS[model](load_weights(model), x, nets.FloatOps()).argmax(1) == y).mean())


class _Capture:
    """Float forward pass that keeps each GEMM's input and weights (first call per layer)."""

    def __init__(self):
        self.seen: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}

    def gemm(self, name, w, x, m):
        self.seen.setdefault(name, (w, x, True))
        return x @ w.T

    def dyn(self, name, head, w, x):
        self.seen.setdefault(name, (w, x, False))
        return x @ w.T


def row_errors(unit: Unit, w: np.ndarray, x: np.ndarray, cfg: AccuracyConfig, seed: int = 0,
               static: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per output row of one layer on ``unit``: signal power sum_b y^2 and error power
    sum_b (y - y_unit)^2 over the inputs ``x`` — which rows suffer most there."""
    ops = MappedOps.__new__(MappedOps)
    ops.units, ops.cfg, ops.seed, ops._xbars, ops.calls = {}, cfg, seed, {}, 0
    exact = x @ w.T
    got = ops.kernel(unit, ("snr",), w, x, static)
    return (exact ** 2).sum(axis=0), ((exact - got) ** 2).sum(axis=0)


def snr_db(signal: float, error: float) -> float:
    """10 log10(signal / error), infinite without error."""
    return 10 * float(np.log10(signal / error)) if error > 0 else float("inf")


def layer_snr(unit: Unit, w: np.ndarray, x: np.ndarray, cfg: AccuracyConfig, seed: int = 0, static: bool = True) -> float:
    """Output SNR (dB) of one layer on ``unit``: sum y^2 / sum (y - y_unit)^2 — the cheap proxy
    for how much the layer suffers there."""
    sig, err = row_errors(unit, w, x, cfg, seed, static)
    return snr_db(float(sig.sum()), float(err.sum()))


def assigned_error(shards: list[tuple[str, int]], kind_of: dict[str, str], errors: dict[str, np.ndarray],
                   order=None) -> float:
    """Error power of a layer dealt to ``shards`` ((unit, rows or columns) in mapping order), given
    each kind's error power per row (``row_errors``): with ``order`` each row's error on the kind
    of the unit holding it, rows dealt in that order; without, each kind's total error weighted by
    its share (a column split, or errors measured on a sample of the rows)."""
    total = sum(c for _, c in shards) or 1
    if order is None:
        return sum(c / total * float(errors[kind_of[u]].sum()) for u, c in shards)
    order, err, start = np.asarray(order), 0.0, 0
    for u, c in shards:
        err += float(errors[kind_of[u]][order[start:start + c]].sum())
        start += c
    return err


def mapped_snr(arch: Arch, mapping: Mapping, layer, w: np.ndarray, x: np.ndarray, cfg: AccuracyConfig,
               static: bool = True) -> float:
    """Output SNR (dB) of ``layer`` as ``mapping`` places it (``assigned_error``: rows dealt in
    ``row_order`` when its rows are split and ``w`` holds all of them, else by share)."""
    units = arch.instances()
    shards = resolve(mapping, layer)
    kind_of = {u: units[u].kind for u, _ in shards}
    rows = {k: row_errors(units[u], w, x, cfg, 0, static) for u, k in kind_of.items()}
    total = sum(c for _, c in shards)
    by_row = mapping.split_of(layer.name) == "rows" and w.shape[0] == total
    order = mapping.row_order.get(layer.name, range(total)) if by_row else None
    sig = next(iter(rows.values()))[0]
    return snr_db(float(sig.sum()), assigned_error(shards, kind_of, {k: e for k, (_, e) in rows.items()}, order))


def calibration_inputs(model: str, n: int = 64) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
    """Every GEMM layer's weights and inputs on ``n`` training digits (calibration data)."""
    params = load_weights(model)
    x, _, _, _ = split()
    cap = _Capture()
    nets.FORWARDS[model](params, x[:n], cap)
    return cap.seen


def spearman(a, b) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def rank(v):
        v = np.asarray(v, dtype=float)
        order = v.argsort()
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for u in np.unique(v):
            idx = v == u
            r[idx] = r[idx].mean()
        return r
    ra, rb = rank(a), rank(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def sensitivity(model: str, arch: Arch, workload: Workload, kind: str, cfg: AccuracyConfig) -> list[dict]:
    """Per GEMM layer: accuracy drop when only that layer runs on ``kind`` (equal split over its
    units, everything else digital), and the output-SNR proxy on calibration inputs."""
    units = arch.instances()
    on_kind = [u for u, x in units.items() if x.kind == kind]
    digital = [u for u, x in units.items() if x.kind == "digital"]
    if not on_kind or not digital:
        raise PrismError(f"--sensitivity: arch {arch.name} needs {kind} and digital units")
    cal = calibration_inputs(model)
    base_map = {lay.name: {digital[0]: 1.0} for lay in workload.layers}
    params = load_weights(model)
    _, _, x, y = split(cfg.samples)
    fwd = nets.FORWARDS[model]
    rows = []
    from prismsim.hw.units import can_run
    for lay in workload.layers:
        if not lay.op.is_gemm or can_run(units[on_kind[0]], lay.op) is not None:
            continue
        m = Mapping(dict(base_map))
        m.layers[lay.name] = {u: 1.0 / len(on_kind) for u in on_kind}
        accs = [float((fwd(params, x, MappedOps(arch, workload, m, cfg, s)).argmax(1) == y).mean())
                for s in range(cfg.seeds)]
        w, xin, static = cal[lay.name]
        snr = float(np.mean([layer_snr(units[on_kind[0]], w, xin, cfg, s, static) for s in range(cfg.seeds)]))
        rows.append({"layer": lay.name, "accuracy": float(np.mean(accs)), "snr_db": snr})
    return rows
