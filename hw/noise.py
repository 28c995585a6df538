"""Non-idealities of analog units, as functions of numpy arrays (for accuracy, not timing).

Conductances are normalised: g_hat = g / g_max in [0, 1]. The PCM-like model is aihwkit's, with
the formulas of LionHeart (Lammie et al., arXiv 2401.09420) and aihwkit's PCM model: programming noise, drift
G(t) = G_prog * ((t + t0) / t0)^-nu with a per-device nu, 1/f read noise growing with
sqrt(ln((t + t_r) / (2 t_r))), and global drift compensation. The ReRAM variant replaces them
with configurable Gaussian programming and read noise and a fixed drift exponent. Photonic
weights carry Gaussian encoding (phase) noise and thermal crosstalk from neighbouring shifters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

T0_S = 20.0          # s, drift reference time (aihwkit)
T_READ_S = 250e-9    # s, read duration t_r (aihwkit)


def pcm_prog_sigma(g_hat: np.ndarray, g_max_us: float = 25.0) -> np.ndarray:
    """Programming noise sigma, normalised: (0.26348 + 1.9650 g - 1.1731 g^2) uS / g_max."""
    return np.maximum(0.26348 + 1.9650 * g_hat - 1.1731 * g_hat ** 2, 0.0) / g_max_us


def pcm_drift_nu_stats(g_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of the drift exponent nu for target conductance g_hat."""
    lg = np.log(np.maximum(g_hat, 1e-6))
    mu = np.clip(-0.0155 * lg + 0.0244, 0.049, 0.1)
    sd = np.clip(-0.0125 * lg - 0.0059, 0.008, 0.045)
    return mu, sd


def pcm_read_q(g_hat: np.ndarray) -> np.ndarray:
    """1/f noise amplitude Q_s = min(0.0088 / g_hat^0.65, 0.2)."""
    return np.minimum(0.0088 / np.maximum(g_hat, 1e-3) ** 0.65, 0.2)


def read_time_factor(t_s: float) -> float:
    """sqrt(ln((t + t_r) / (2 t_r))): how far 1/f noise has grown t seconds after programming."""
    return float(np.sqrt(max(np.log((t_s + T_READ_S) / (2 * T_READ_S)), 0.0)))


def drift(g_prog: np.ndarray, nu: np.ndarray | float, t_s: float) -> np.ndarray:
    """G(t) = G_prog * ((t + t0) / t0)^-nu."""
    return g_prog * ((t_s + T0_S) / T0_S) ** (-np.asarray(nu))


@dataclass
class DeviceState:
    """Conductances as read at time t (normalised) and the std of one read of each cell."""

    g: np.ndarray
    read_sigma: np.ndarray


def program_cells(g_target: np.ndarray, t_s: float, rng: np.random.Generator, *, model: str = "pcm",
                  g_max_us: float = 25.0, prog_sigma: float = 0.03, read_sigma: float = 0.01,
                  drift_nu: float = 0.0, stuck_at_0: float = 0.0, stuck_at_1: float = 0.0,
                  noise: bool = True) -> DeviceState:
    """Program ``g_target`` (normalised), let it drift for ``t_s`` seconds; return what a read sees."""
    g_target = np.asarray(g_target, dtype=np.float64)
    if not noise:
        return DeviceState(g_target.copy(), np.zeros_like(g_target))
    if model == "pcm":
        g = g_target + rng.standard_normal(g_target.shape) * pcm_prog_sigma(g_target, g_max_us)
        g = np.maximum(g, 0.0)
        mu, sd = pcm_drift_nu_stats(g_target)
        nu = np.abs(mu + sd * rng.standard_normal(g_target.shape))
        g = drift(g, nu, t_s)
        sig = np.abs(g) * pcm_read_q(g_target) * read_time_factor(t_s)
    else:
        g = np.maximum(g_target + rng.standard_normal(g_target.shape) * prog_sigma, 0.0)
        g = drift(g, drift_nu, t_s)
        sig = np.full_like(g, read_sigma)
    if stuck_at_0 or stuck_at_1:
        u = rng.random(g.shape)
        g = np.where(u < stuck_at_0, 0.0, np.where(u < stuck_at_0 + stuck_at_1, 1.0, g))
    return DeviceState(g, sig)


def drift_compensation(g_reference: np.ndarray, g_now: np.ndarray) -> float:
    """Global drift compensation: the factor restoring the total conductance a calibration read
    with all-ones inputs saw right after programming (aihwkit's GlobalDriftCompensation)."""
    now = float(np.abs(g_now).sum())
    return float(np.abs(g_reference).sum()) / now if now > 0 else 1.0


def quantize(x: np.ndarray, bits: int, scale: float) -> np.ndarray:
    """Symmetric uniform quantizer to ``bits`` bits over [-scale, scale] (values stay in x's units)."""
    if bits <= 0 or scale <= 0:
        return np.asarray(x, dtype=np.float64)
    levels = 2 ** (bits - 1) - 1
    step = scale / levels
    return np.clip(np.round(np.asarray(x) / step), -levels, levels) * step


def thermal_crosstalk(w: np.ndarray, gamma: float) -> np.ndarray:
    """Phase shifters pick up ``gamma`` of each neighbour's setting along a row (thermal coupling)."""
    if not gamma:
        return w
    nb = np.zeros_like(w)
    nb[..., 1:] += w[..., :-1]
    nb[..., :-1] += w[..., 1:]
    return w + gamma * nb
