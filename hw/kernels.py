"""Functional MVM kernels of the analog units, with their non-idealities (accuracy, not timing).

* ``crossbar_mvm``: bit-accurate bit-sliced, bit-serial ReRAM/PCM crossbar. Weights are signed
  integers stored as ``bits_per_cell`` slices, differential (a positive and a negative array) or
  offset-encoded; inputs are offset to unsigned and applied ``dac_bits`` at a time; each crossbar
  (``rows`` rows) turns every column's current into a code with an ``adc_bits`` ADC; codes are
  shifted and added digitally. Per read step one BLAS GEMM gives every column current (and the
  summed read-noise variance of its active cells); a fused numba kernel (``cache=True``) adds
  read noise — per column and read, one Gaussian with that variance, the same distribution as
  independent per-cell noise — drawn inline from a unit-variance quantile table with xorshift
  indices, quantizes and shift-adds.
* ``photonic_mvm``: a DPTC: inputs through ``in_bits`` DACs, weights quantized with crosstalk,
  fresh Gaussian phase noise on every encoding, partial sums over ``group`` elements (wavelengths x
  integration cycles) through an ``out_bits`` ADC.
* ``crossbar_surrogate``: float matmul with the effective (programmed, drifted) weights plus
  Gaussian noise of the same variance as the bit-serial read noise and the ADC quantization.
* ``crossbar_mvm_reference``: a plain numpy loop that the tests compare ``crossbar_mvm`` against.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from .noise import DeviceState


# ---------------------------------------------------------------- weight encoding ------------

@dataclass
class Crossbar:
    """A weight matrix W[N x D] (signed integers) as conductance planes.

    g: (P, D, N) conductance in level units (0 .. 2^bits_per_cell - 1, noisy after programming);
    read_var: (P, D, N) variance of one read of each cell, level units squared;
    scale: (P,) digital weight of each plane (+-2^(slice * bits_per_cell)).
    """

    g: np.ndarray
    read_var: np.ndarray
    scale: np.ndarray
    w_int: np.ndarray
    weight_bits: int
    bits_per_cell: int
    encoding: str

    @property
    def levels(self) -> int:
        return 2 ** self.bits_per_cell - 1


def encode_levels(w_int: np.ndarray, weight_bits: int, bits_per_cell: int, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Ideal cell levels (P, D, N) and plane scales of integer weights W[N x D]."""
    w_int = np.asarray(w_int, dtype=np.int64)
    slices = math.ceil(weight_bits / bits_per_cell)
    mask = 2 ** bits_per_cell - 1
    planes, scales = [], []
    if encoding == "differential":
        for sign, mag in ((1, np.maximum(w_int, 0)), (-1, np.maximum(-w_int, 0))):
            for s in range(slices):
                planes.append((mag >> (s * bits_per_cell)) & mask)
                scales.append(sign * 2.0 ** (s * bits_per_cell))
    else:
        u = w_int + 2 ** (weight_bits - 1)
        for s in range(slices):
            planes.append((u >> (s * bits_per_cell)) & mask)
            scales.append(2.0 ** (s * bits_per_cell))
    return np.stack([p.T for p in planes]).astype(np.float64), np.array(scales)


def program_crossbar(w_int: np.ndarray, weight_bits: int, bits_per_cell: int, encoding: str,
                     cells: "callable | None" = None) -> Crossbar:
    """Encode W and pass the ideal normalised conductances through ``cells`` (g_hat -> DeviceState,
    e.g. a partial of ``noise.program_cells``); ideal cells when ``cells`` is None."""
    lv, scale = encode_levels(w_int, weight_bits, bits_per_cell, encoding)
    L = 2 ** bits_per_cell - 1
    if cells is None:
        g, var = lv, np.zeros_like(lv)
    else:
        st: DeviceState = cells(lv / L)
        g, var = st.g * L, (st.read_sigma * L) ** 2
    return Crossbar(g, var, scale, np.asarray(w_int, dtype=np.int64), weight_bits, bits_per_cell, encoding)


# ---------------------------------------------------------------- inline RNG -----------------

@numba.njit(cache=True, inline="always")
def _xorshift(s: np.uint64) -> np.uint64:
    s ^= s << np.uint64(13)
    s ^= s >> np.uint64(7)
    s ^= s << np.uint64(17)
    return s


@numba.njit(cache=True, inline="always")
def _seed(seed: np.uint64, a: np.uint64) -> np.uint64:
    """splitmix64 of (seed, a): independent streams per call site."""
    z = seed + (a + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return z if z != np.uint64(0) else np.uint64(0x1234567)


_TABLE_BITS = 16
_NORMALS: np.ndarray | None = None


def normal_table() -> np.ndarray:
    """2^16 standard-normal quantiles at the bin midpoints, rescaled to unit variance: a 16-bit
    random index draws from it (4 draws per 64-bit xorshift step), far cheaper than Box-Muller."""
    global _NORMALS
    if _NORMALS is None:
        from statistics import NormalDist

        n = 2 ** _TABLE_BITS
        inv = NormalDist().inv_cdf
        t = np.array([inv((i + 0.5) / n) for i in range(n)])
        _NORMALS = (t / t.std()).astype(np.float32)
    return _NORMALS


# ---------------------------------------------------------------- fused ADC + noise ----------

@numba.njit(cache=True, fastmath=True)
def _adc_accumulate(y, cv, P, N, scale, w_step, fs, adc_levels, table, seed, b_offset, stream):
    """y[b, n] += sum_p w_step * scale[p] * ADC(cur[b, p, n] + sqrt(var[b, p, n]) * N(0, 1)).

    ``cv``: (B, P*N) column currents of one read step of one crossbar row tile, followed, when it
    is (B, 2*P*N), by the read-noise variances (summed over the active cells). ADC: unipolar,
    ``adc_levels`` codes over [0, fs] (<= 0: ideal), branch-free so it vectorizes. Normals come
    from ``table`` by 16-bit xorshift indices, one stream per (vector, step, tile). Serial on
    purpose: BLAS owns the threads (two OpenMP pools spin-waiting against each other on 2 cores
    cost 3x in our measurements)."""
    B = cv.shape[0]
    PN = P * N
    noisy = cv.shape[1] > PN
    quant = adc_levels > 0
    step = fs / adc_levels if quant else 1.0
    inv = 1.0 / step
    top = float(adc_levels)
    mask16 = np.uint64(0xFFFF)
    z = np.zeros(N, dtype=np.float32)   # one row's normals, drawn first so the row loop vectorizes
    for b in range(B):
        s = _seed(seed, np.uint64(stream * 1_000_003 + b_offset + b))
        bits = np.uint64(0)
        left = 0
        for p in range(P):
            wp = w_step * scale[p]
            base = p * N
            if noisy:
                for k in range(N):
                    if left == 0:
                        s = _xorshift(s)
                        bits = s
                        left = 4
                    z[k] = table[bits & mask16]
                    bits >>= np.uint64(16)
                    left -= 1
            for n in range(N):
                val = float(cv[b, base + n])
                if noisy:
                    val += math.sqrt(max(float(cv[b, PN + base + n]), 0.0)) * float(z[n])
                if quant:
                    val = min(max(math.floor(val * inv + 0.5), 0.0), top) * step
                y[b, n] += wp * val


def _digits(x_u: np.ndarray, in_bits: int, dac_bits: int) -> list[np.ndarray]:
    """Unsigned inputs as base-2^dac_bits digits, least significant first."""
    steps = math.ceil(in_bits / dac_bits)
    mask = 2 ** dac_bits - 1
    return [(x_u >> (s * dac_bits)) & mask for s in range(steps)]


@functools.cache
def _digit_squares(in_bits: int, dac_bits: int) -> np.ndarray:
    """For every unsigned input value v < 2^(steps x dac_bits): sum over its input steps s of
    4^(s x dac_bits) x digit_s(v)^2, what a bit-serial read's noise variance scales with. Exact
    integers in float64 (a lookup replaces one pass per digit over the inputs); read-only. For
    up to 16 bits of digits."""
    v = np.arange(2 ** (math.ceil(in_bits / dac_bits) * dac_bits), dtype=np.int64)
    table = sum((4.0 ** (s * dac_bits)) * d.astype(np.float64) ** 2 for s, d in enumerate(_digits(v, in_bits, dac_bits)))
    table.setflags(write=False)
    return table


def input_offset(x_int: np.ndarray, in_bits: int) -> int:
    """0 for non-negative inputs (applied as unsigned bit-serial values, e.g. after ReLU), else
    2^(in_bits-1): signed inputs run as x + offset and the offset is removed afterwards."""
    return 0 if x_int.size == 0 or int(x_int.min()) >= 0 else 2 ** (in_bits - 1)


def _correct(xb: Crossbar, x_int: np.ndarray, offset: int, analog: np.ndarray) -> np.ndarray:
    """Remove the input offset (inputs ran as x + offset) and, under offset encoding, the weight
    offset. Both are calibrated through the array itself, as hardware does: the input offset uses
    the programmed conductances' column sums (they drift with the weights), the weight offset the
    array's mean conductance ratio. Ideal cells give the exact integers."""
    y = analog
    if offset:
        cols = np.einsum("p,pdn->n", xb.scale, xb.g)           # sum over rows of the analog weights
        y = analog - float(offset) * cols[None, :]
    if xb.encoding == "offset":
        ideal = encode_levels(xb.w_int, xb.weight_bits, xb.bits_per_cell, xb.encoding)[0]
        rho = float(np.einsum("p,pdn->", xb.scale, xb.g) / max(np.einsum("p,pdn->", xb.scale, ideal), 1e-30))
        y -= 2.0 ** (xb.weight_bits - 1) * rho * x_int.sum(axis=1, keepdims=True)
    return y


BLOCK = 512  # vectors per GEMM: big enough for BLAS, small enough to stay near cache


def crossbar_mvm(xb: Crossbar, x_int: np.ndarray, *, in_bits: int = 8, dac_bits: int = 1, rows: int = 128,
                 adc_bits: int = 8, seed: int = 0, read_noise: bool = True) -> np.ndarray:
    """Y[B x N] ~= X[B x D] . W^T through the crossbars, in integer units (exact when the cells
    are ideal, ``read_noise`` is off and ``adc_bits`` is 0 or large enough).

    x_int: integers in [0, 2^in_bits - 1] (unsigned) or [-(2^(in_bits-1) - 1), 2^(in_bits-1) - 1]
    (signed, run with an offset; see ``input_offset``). Per input step and crossbar row tile one
    GEMM gives every column current (and, with read noise, the summed variance of the active
    cells); ``_adc_accumulate`` does the rest."""
    x_int = np.asarray(x_int, dtype=np.int64)
    off = input_offset(x_int, in_bits)
    x_u = x_int + off
    B, D = x_u.shape
    P, _, N = xb.g.shape
    gv = np.ascontiguousarray(xb.g.transpose(1, 0, 2), dtype=np.float32).reshape(D, P * N)
    if read_noise and bool(np.any(xb.read_var)):
        v = np.ascontiguousarray(xb.read_var.transpose(1, 0, 2), dtype=np.float32).reshape(D, P * N)
        gv = np.ascontiguousarray(np.concatenate([gv, v], axis=1))
    levels = 2 ** adc_bits - 1 if adc_bits > 0 else 0
    dmax = 2 ** dac_bits - 1
    scale = xb.scale.astype(np.float64)
    table = normal_table()
    y = np.zeros((B, N))
    for b0 in range(0, B, BLOCK):
        b1 = min(B, b0 + BLOCK)
        for st, dig in enumerate(_digits(x_u[b0:b1], in_bits, dac_bits)):
            d = dig.astype(np.float32)
            for t, r0 in enumerate(range(0, D, rows)):
                r1 = min(D, r0 + rows)
                dt = d[:, r0:r1]
                cv = dt @ gv[r0:r1]
                if gv.shape[1] > P * N and dmax > 1:  # multi-level DACs: variance scales with digit^2
                    cv[:, P * N:] = (dt * dt) @ gv[r0:r1, P * N:]
                fs = float((r1 - r0) * xb.levels * dmax)
                _adc_accumulate(y[b0:b1], cv, P, N, scale, 2.0 ** (st * dac_bits), fs, levels, table,
                                np.uint64(seed), b0, st * 65_537 + t)
    return _correct(xb, x_int, off, y)


def crossbar_mvm_reference(xb: Crossbar, x_int: np.ndarray, *, in_bits: int = 8, dac_bits: int = 1,
                           rows: int = 128, adc_bits: int = 8, normals=None) -> np.ndarray:
    """The same arithmetic written as plain loops (no noise unless ``normals(shape)`` supplies
    standard normals): the specification ``crossbar_mvm`` is tested against."""
    x_int = np.asarray(x_int, dtype=np.int64)
    off = input_offset(x_int, in_bits)
    x_u = x_int + off
    B, D = x_u.shape
    P, _, N = xb.g.shape
    levels = 2 ** adc_bits - 1
    dmax = 2 ** dac_bits - 1
    y = np.zeros((B, N))
    for b in range(B):
        for st in range(math.ceil(in_bits / dac_bits)):
            digit = (x_u[b] >> (st * dac_bits)) & dmax
            for r0 in range(0, D, rows):
                r1 = min(D, r0 + rows)
                fs = (r1 - r0) * xb.levels * dmax
                for p in range(P):
                    cur = digit[r0:r1].astype(np.float64) @ xb.g[p, r0:r1]
                    if normals is not None:
                        cur = cur + np.sqrt((digit[r0:r1] ** 2).astype(np.float64) @ xb.read_var[p, r0:r1]) * normals(cur.shape)
                    if adc_bits > 0:
                        step = fs / levels
                        cur = np.clip(np.floor(cur / step + 0.5), 0, levels) * step
                    y[b] += xb.scale[p] * 2.0 ** (st * dac_bits) * cur
    return _correct(xb, x_int, off, y)


def crossbar_surrogate(xb: Crossbar, x_int: np.ndarray, *, in_bits: int = 8, dac_bits: int = 1, rows: int = 128,
                       adc_bits: int = 8, seed: int = 0, read_noise: bool = True) -> np.ndarray:
    """Fast stand-in for ``crossbar_mvm``: one float matmul with the effective weights
    sum_p scale_p g_p, plus Gaussian noise with the variance of the bit-serial read noise and of
    uniform ADC quantization error (step^2 / 12 per conversion)."""
    x_int = np.asarray(x_int, dtype=np.int64)
    off = input_offset(x_int, in_bits)
    x_u = x_int + off if off else x_int
    x_f = x_u.astype(np.float64)
    B, D = x_u.shape
    y = x_f @ np.einsum("p,pdn->dn", xb.scale, xb.g)
    steps = math.ceil(in_bits / dac_bits)
    if read_noise and np.any(xb.read_var):
        top = 2 ** (steps * dac_bits) - 1
        if steps == 1 and (not off or x_u.min() >= 0) and x_u.max() <= top:  # one step: the digit is the input
            x_sq = np.square(x_f, out=x_f)
        elif steps * dac_bits <= 16:     # a table of at most 64 Ki values
            x_sq = _digit_squares(in_bits, dac_bits)[x_u & top]
        else:
            x_sq = sum((4.0 ** (s * dac_bits)) * d.astype(np.float64) ** 2
                       for s, d in enumerate(_digits(x_u, in_bits, dac_bits)))
        var = x_sq @ np.einsum("p,pdn->dn", xb.scale ** 2, xb.read_var)
    else:
        var = np.zeros_like(y)
    if adc_bits > 0:
        dmax = 2 ** dac_bits - 1
        tiles = [min(D, r0 + rows) - r0 for r0 in range(0, D, rows)]
        step2 = sum(((t * xb.levels * dmax) / (2 ** adc_bits - 1)) ** 2 / 12 for t in tiles)
        var += step2 * float(np.sum(xb.scale ** 2)) * sum(4.0 ** (s * dac_bits) for s in range(steps))
    noise = np.random.default_rng(seed).standard_normal(y.shape)
    noise *= np.sqrt(var, out=var)
    y += noise
    return _correct(xb, x_int, off, y)


# ---------------------------------------------------------------- photonic --------------------

@numba.njit(cache=True, fastmath=True)
def _photonic_group(y, part, xsq, sigma_fs, fs, shot, levels, table, seed, stream):
    """y[b, n] += ADC(part[b, n] + sqrt(sigma_fs^2 xsq[b] + shot |part[b, n]|) * N(0, 1)): phase
    noise of the encoded weights and shot noise of the detected power (``shot`` = fs / electrons
    at full scale); bipolar ADC over [-fs, fs]."""
    B, N = part.shape
    step = fs / levels if levels > 0 else 1.0
    mask = np.uint64(0xFFFF)
    for b in range(B):
        s = _seed(seed, np.uint64(stream * 1_000_003 + b))
        var = sigma_fs * sigma_fs * xsq[b]
        bits = np.uint64(0)
        left = 0
        for n in range(N):
            v = part[b, n]
            if var > 0.0 or shot > 0.0:
                if left == 0:
                    s = _xorshift(s)
                    bits = s
                    left = 4
                v += math.sqrt(var + shot * abs(v)) * table[bits & mask]
                bits >>= np.uint64(16)
                left -= 1
            if levels > 0:
                q = math.floor(v / step + 0.5)
                if q < -levels:
                    q = -float(levels)
                elif q > levels:
                    q = float(levels)
                v = q * step
            y[b, n] += v


def photonic_mvm(w: np.ndarray, x: np.ndarray, *, in_bits: int = 4, weight_bits: int = 4, out_bits: int = 4,
                 group: int = 36, sigma: float = 0.0, crosstalk: float = 0.0, seed: int = 0,
                 adc_range: str = "calibrated", electrons: float = math.inf) -> np.ndarray:
    """Y[B x N] ~= X[B x D] . W[N x D]^T on a DPTC (float units). ``group``: elements summed in the
    optical/analog domain per ADC conversion (wavelengths x integration cycles). ``adc_range``:
    ``calibrated`` sets the receiver gain so the largest noiseless partial sum of this batch is
    full scale (what a calibrated TIA/ADC does); ``max`` uses the theoretical maximum.
    ``electrons``: photoelectrons a detector counts at full scale (``photonic.shot_electrons``);
    shot noise adds variance |v| fs / electrons to a reading v."""
    from .noise import quantize, thermal_crosstalk

    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    wfs = float(np.abs(w).max()) or 1.0
    xfs = float(np.abs(x).max()) or 1.0
    wq = thermal_crosstalk(quantize(w, weight_bits, wfs), crosstalk)
    xq = quantize(x, in_bits, xfs)
    B, D = xq.shape
    y = np.zeros((B, w.shape[0]))
    levels = 2 ** (out_bits - 1) - 1 if out_bits > 0 else 0
    for gi, k0 in enumerate(range(0, D, group)):
        k1 = min(D, k0 + group)
        part = np.ascontiguousarray(xq[:, k0:k1] @ wq[:, k0:k1].T)
        xsq = np.ascontiguousarray((xq[:, k0:k1] ** 2).sum(axis=1))
        fs = (k1 - k0) * wfs * xfs if adc_range == "max" else (float(np.abs(part).max()) or 1.0)
        shot = fs / electrons if electrons > 0 else 0.0
        _photonic_group(y, part, xsq, sigma * wfs, fs, shot, levels, normal_table(), np.uint64(seed), gi)
    return y


def warm_up() -> None:
    """Compile (or load from the numba cache) every kernel once."""
    rng = np.random.default_rng(0)
    xb = program_crossbar(rng.integers(-127, 128, (4, 8)), 8, 2, "differential")
    xb.read_var[:] = 0.01
    crossbar_mvm(xb, rng.integers(-127, 128, (2, 8)), rows=4)
    photonic_mvm(rng.standard_normal((4, 8)), rng.standard_normal((2, 8)), sigma=0.01, group=4)
