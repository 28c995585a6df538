"""Analog-to-digital converters: energy, area and leakage from resolution, sample rate and node.

Law (a survey envelope in three terms, Murmann's ADC performance survey as the CiMLoop ADC model
fits it — Andrulis et al., ISPASS'24, arXiv 2404.06553):

    E_conv(b, f, t) = s_E(t) * [ E_o + E_w * 2^b + E_t * 4^b * (f / 1 GS/s)^gamma ]

an overhead term (clocking, logic), a Walden term (comparator and capacitive-DAC switching grow
with the 2^b levels) and a thermal-noise term (4x per bit) that rises with the sample rate.
The four constants are a least-squares fit (log space) of that model over 4-12 bits and
10 MS/s-10 GS/s at 32 nm, made by ``benchmarks/calibrate_components.py --fit-adc``; s_E is
``tech.energy`` (Stillmaker & Baas). Area: A = A_0 * E_conv^0.291 * (f / 1 GS/s)^0.182 *
s_A(t) / s_A(32) µm², the same fit. Each conversion is charged E_conv (the survey's power over
rate); an idle converter draws 1% of its full-rate power (chosen: a SAR ADC is a dynamic circuit,
clock-gated when idle, what stays on is its reference and bias; CiMLoop books 20% of the
full-rate power as leakage for arrays that are always busy, which would bill a mostly idle chip
for conversions it does not make). A flash ADC has 2^b - 1 comparators: its Walden term counts comparators instead
(same constants); SAR is the default.

An explicit energy per conversion (``adc_pj`` on a unit) replaces the law for a published part.
"""
from __future__ import annotations

from . import tech

REF_NM = 32.0
E_O_PJ = 0.9265        # overhead, pJ per conversion at 32 nm
E_W_PJ = 0.001905      # per level (2^b), pJ
E_T_PJ = 8.06e-06      # per 4^b at 1 GS/s, pJ
GAMMA = 0.871          # rate exponent of the thermal term
A_0_UM2 = 5150.0       # area coefficient, µm² at 32 nm
A_E_EXP, A_F_EXP = 0.291, 0.182
IDLE_SHARE = 0.01
SOURCE = "survey law fitted to the CiMLoop ADC model (Andrulis et al., ISPASS'24)"


def energy_pj(bits: int, gsps: float, tech_nm: float, kind: str = "sar") -> float:
    """Total energy per conversion (dynamic + the leakage share at full rate), pJ."""
    levels = 2 ** bits if kind == "sar" else 2 * (2 ** bits - 1)   # flash: one comparator per level
    e = E_O_PJ + E_W_PJ * levels + E_T_PJ * 4.0 ** bits * gsps ** GAMMA
    return e * tech.energy(tech_nm, REF_NM)


def area_um2(bits: int, gsps: float, tech_nm: float, kind: str = "sar", e_pj: float | None = None) -> float:
    """Area of one converter, µm²."""
    e = energy_pj(bits, gsps, REF_NM, kind) if e_pj is None else e_pj * tech.energy(REF_NM, tech_nm)
    return A_0_UM2 * e ** A_E_EXP * gsps ** A_F_EXP * tech.area(tech_nm, REF_NM)


def leakage_mw(e_total_pj: float, gsps: float) -> float:
    """Idle power: a share of the full-rate power (pJ x GS/s = mW)."""
    return IDLE_SHARE * e_total_pj * gsps


def needed_bits(rows: int, bits_per_cell: int, dac_bits: int) -> int:
    """Resolution that loses nothing of a column sum: ceil(log2(rows x (2^cell - 1) x (2^dac - 1) + 1))."""
    full = rows * (2 ** bits_per_cell - 1) * (2 ** dac_bits - 1)
    return max(1, full.bit_length())
