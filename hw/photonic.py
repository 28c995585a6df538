"""Dynamic photonic tensor core (DPTC) — the SimPhony / Lightening-Transformer model.

GEMM Y[N x M] = W[N x D] . X[D x M] mapped N -> height (H*R), D -> wavelengths (N_lambda),
M -> width (W*C) by default. Cycles, device counts, power scaling and energies follow SimPhony
(Yin et al., DAC'25, arXiv 2411.13715) as summarised in shared/papers.md section 1. Latency is
cycles / f (SimPhony's own code multiplies by an extra 10; we do not).
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost, cycles_to_ps
from .ops import Op

_SRC = "SimPhony LT v1 device table (shared/papers.md s.1)"


class PhotonicParams(BaseModel):
    """One photonic unit = R tiles x C cores of H x W dot-product nodes over N_lambda wavelengths."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["photonic"] = "photonic"
    core_height: int = Field(12, gt=0, description="H, dot-product nodes per core column; SimPhony LT")
    core_width: int = Field(12, gt=0, description="W, dot-product nodes per core row; SimPhony LT")
    wavelengths: int = Field(12, gt=0, description="N_lambda, WDM wavelengths; SimPhony LT")
    tiles: int = Field(4, gt=0, description="R, tiles per unit; SimPhony LT")
    cores_per_tile: int = Field(2, gt=0, description="C, cores per tile; SimPhony LT")
    freq_ghz: float = Field(5.0, gt=0, description="GHz core clock; SimPhony LT")
    in_bits: int = Field(4, gt=0, le=16, description="bits of operand 2 (inputs); SimPhony LT")
    weight_bits: int = Field(4, gt=0, le=16, description="bits of operand 1 (weights); SimPhony LT")
    out_bits: int = Field(4, gt=0, le=16, description="ADC output bits; SimPhony LT")
    dataflow: Literal["output_stationary", "weight_stationary", "input_stationary"] = Field(
        "output_stationary", description="SimPhony LT is output-stationary")
    dac_ref_mw: float = Field(50.0, gt=0, description=f"mW of the reference DAC (8 b, 14 GS/s); {_SRC}")
    dac_ref_bits: int = Field(8, gt=0, description=f"bits of the reference DAC; {_SRC}")
    dac_ref_gsps: float = Field(14.0, gt=0, description=f"GS/s of the reference DAC; {_SRC}")
    adc_ref_mw: float = Field(14.8, gt=0, description=f"mW of the reference SAR ADC (8 b, 10 GS/s); {_SRC}")
    adc_ref_bits: int = Field(8, gt=0, description=f"bits of the reference ADC; {_SRC}")
    adc_ref_gsps: float = Field(10.0, gt=0, description=f"GS/s of the reference ADC; {_SRC}")
    tia_mw: float = Field(3.0, ge=0, description=f"mW per TIA; {_SRC}")
    pd_mw: float = Field(1.1, ge=0, description=f"mW per photodetector; {_SRC}")
    mzm_fj_per_bit: float = Field(450.0, ge=0, description=f"fJ/bit per MZM; {_SRC}")
    mzm_il_db: float = Field(1.2, ge=0, description=f"dB insertion loss of an MZM; {_SRC}")
    mzm_extinction_db: float = Field(10.0, gt=0, description=f"dB extinction ratio of an MZM; {_SRC}")
    mrr_mw: float = Field(0.275, ge=0, description=f"mW static per MRR rerouter; {_SRC}")
    mrr_il_db: float = Field(0.93, ge=0, description=f"dB insertion loss per MRR; {_SRC}")
    mrr_on_path: int = Field(2, ge=0, description="MRRs a light path crosses (chosen: in and out rerouter)")
    waveguide_db_per_cm: float = Field(0.11, ge=0, description=f"dB/cm waveguide loss; {_SRC}")
    waveguide_cm: float = Field(1.0, ge=0, description="cm of waveguide on a path (chosen)")
    pd_sensitivity_dbm: float = Field(-25.0, description=f"dBm photodetector sensitivity; {_SRC}")
    laser_wpe: float = Field(0.2, gt=0, le=1, description=f"laser wall-plug efficiency; {_SRC}")
    integration_cycles: int = Field(3, gt=0, description="cycles ADC/TIA integrate over (SimPhony: 3)")
    buffer_kib: int = Field(256, gt=0, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float = Field(
        1.25, ge=0, description="pJ/byte SRAM access; Horowitz ISSCC'14: 10 pJ per 64-bit read of 8 KB SRAM")
    leakage_mw: float = Field(10.0, ge=0, description="mW idle electronic leakage (chosen)")


def device_counts(p: PhotonicParams) -> dict[str, int]:
    """Device counts of one unit (SimPhony LT formulas)."""
    H, W, L, R, C = p.core_height, p.core_width, p.wavelengths, p.tiles, p.cores_per_tile
    return {
        "mzm_op1": H * R * L * C, "dac_op1": H * R * L * C,
        "mzm_op2": W * C * L, "dac_op2": W * C * L,
        "adc": H * W * R, "tia": H * W * R * C, "pd": H * W * R * C,
        "mrr": 2 * (H + W) * L * C * R, "laser": R + C,
    }


def dac_power_mw(p: PhotonicParams, bits: int) -> float:
    """DAC power scaled by resolution and rate: P_ref * (2^b/(b+1)) / (2^B/(B+1)) * f / f_s."""
    ref = 2 ** p.dac_ref_bits / (p.dac_ref_bits + 1)
    return p.dac_ref_mw * (2 ** bits / (bits + 1)) / ref * p.freq_ghz / p.dac_ref_gsps


def adc_power_mw(p: PhotonicParams) -> float:
    """SAR ADC power scaled linearly in rate and bits: P_ref * (f / f_s) * (b / B)."""
    return p.adc_ref_mw * (p.freq_ghz / p.adc_ref_gsps) * (p.out_bits / p.adc_ref_bits)


def mzm_power_mw(p: PhotonicParams, bits: int) -> float:
    """MZM power: energy per bit * bit rate (bits per symbol * f)."""
    return p.mzm_fj_per_bit * p.freq_ghz * 1e-3 * bits


def laser_power_mw(p: PhotonicParams) -> float:
    """Laser power for the insertion-loss path to reach PD sensitivity across H*W nodes."""
    il = p.mzm_il_db + p.mrr_il_db * p.mrr_on_path + p.waveguide_db_per_cm * p.waveguide_cm
    dbm = il + p.pd_sensitivity_dbm + 10 * math.log10(p.core_height * p.core_width)
    return 10 ** (dbm / 10) / p.laser_wpe * 2 ** p.in_bits / (1 - 10 ** (-p.mzm_extinction_db / 10))


def device_powers_mw(p: PhotonicParams) -> dict[str, float]:
    """Per-device power in mW at the unit's clock and bit widths."""
    return {
        "mzm_op1": mzm_power_mw(p, p.weight_bits), "dac_op1": dac_power_mw(p, p.weight_bits),
        "mzm_op2": mzm_power_mw(p, p.in_bits), "dac_op2": dac_power_mw(p, p.in_bits),
        "adc": adc_power_mw(p), "tia": p.tia_mw, "pd": p.pd_mw,
        "mrr": p.mrr_mw, "laser": laser_power_mw(p),
    }


_STATIC = ("mrr", "laser")          # powered for every static cycle
_INTEGRATING = ("adc", "tia")       # fire once per integration window


def cycles(p: PhotonicParams, op: Op) -> tuple[int, int]:
    """(switching cycles, static cycles) of a GEMM shard on one unit."""
    it_n = math.ceil(op.n / (p.core_height * p.tiles))
    it_d = math.ceil(op.d / p.wavelengths)
    it_m = math.ceil(op.m / (p.core_width * p.cores_per_tile))
    switching = it_n * it_d * it_m
    extra = {"output_stationary": it_n * it_m, "weight_stationary": it_n * it_d,
             "input_stationary": it_d * it_m}[p.dataflow]
    return op.batch * switching, op.batch * (switching + extra)


def cost(p: PhotonicParams, op: Op) -> Cost:
    """Time (static cycles / f) and per-device energy of a GEMM shard, plus buffer traffic."""
    sw, st = cycles(p, op)
    counts, powers = device_counts(p), device_powers_mw(p)
    energy: dict[str, float] = {}
    for dev, cnt in counts.items():
        per_cycle_pj = cnt * powers[dev] / p.freq_ghz  # mW / GHz = pJ
        if dev in _STATIC:
            energy[dev] = per_cycle_pj * st
        elif dev in _INTEGRATING:
            energy[dev] = per_cycle_pj * sw / p.integration_cycles
        else:
            energy[dev] = per_cycle_pj * sw
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    energy["buffer"] = (in_bytes + out_bytes + op.weight_bytes) * p.buffer_pj_per_byte
    return Cost(cycles_to_ps(st, p.freq_ghz), energy)
