"""Dynamic photonic tensor core (DPTC) — the SimPhony / Lightening-Transformer model.

GEMM Y[N x M] = W[N x D] . X[D x M] mapped N -> height (H*R), D -> wavelengths (N_lambda),
M -> width (W*C) by default (``dim_map`` permutes this). Cycles, device counts, power scaling and
energies follow SimPhony (Yin et al., DAC'25, arXiv 2411.13715) as summarised in shared/papers.md
section 1:

* switching cycles = iter_N * iter_D * iter_M; static cycles add the stationary loop
  (output-stationary: iter_N * iter_M; weight-: iter_N * iter_D; input-: iter_D * iter_M);
* dynamic energy = count * P / f * switching cycles, divided by the integration window for
  temporally accumulating devices (ADC, TIA) and by the reuse of the stationary operand for its
  modulators and DACs (weight-stationary: operand 1 switches once per iter_M; input-stationary:
  operand 2 once per iter_N); static energy (MRR, laser) = count * P / f * static cycles;
* latency = static cycles / f (SimPhony's own code multiplies by an extra 10; we do not).
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .cost import Cost, cycles_to_ps
from .ops import Op

_SRC = "SimPhony LT v1 device table (shared/papers.md s.1)"
AXES = ("height", "wavelength", "width")


class PhotonicParams(BaseModel):
    """One photonic unit = R tiles x C cores of H x W dot-product nodes over N_lambda wavelengths."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
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
    dim_map: dict[str, str] = Field(
        default_factory=lambda: {"N": "height", "D": "wavelength", "M": "width"},
        description="GEMM dimension -> core axis (height = H*R, wavelength = N_lambda, width = W*C); SimPhony default")
    dac_ref_mw: float = Field(50.0, gt=0, description=f"mW of the reference DAC (8 b, 14 GS/s); {_SRC}")
    dac_ref_bits: int = Field(8, gt=0, description=f"bits of the reference DAC; {_SRC}")
    dac_ref_gsps: float = Field(14.0, gt=0, description=f"GS/s of the reference DAC; {_SRC}")
    adc_ref_mw: float = Field(14.8, gt=0, description=f"mW of the reference SAR ADC (8 b, 10 GS/s); {_SRC}")
    adc_ref_bits: int = Field(8, gt=0, description=f"bits of the reference ADC; {_SRC}")
    adc_ref_gsps: float = Field(10.0, gt=0, description=f"GS/s of the reference ADC; {_SRC}")
    adc_type: Literal["sar", "flash"] = Field(
        "sar", description="ADC architecture: SAR power ~ bits, flash power ~ 2^bits - 1 (SimPhony)")
    tia_mw: float = Field(3.0, ge=0, description=f"mW per TIA; {_SRC}")
    pd_mw: float = Field(1.1, ge=0, description=f"mW per photodetector; {_SRC}")
    mzm_fj_per_bit: float = Field(450.0, ge=0, description=f"fJ/bit per MZM; {_SRC}")
    mzm_testing_bits: int = Field(1, gt=0, description="bits per symbol the MZM efficiency was measured at (SimPhony: testing_bit)")
    mzm_gbps: float = Field(25.0, gt=0, description=f"Gb/s MZM modulation speed; {_SRC}")
    mzm_il_db: float = Field(1.2, ge=0, description=f"dB insertion loss of an MZM; {_SRC}")
    mzm_extinction_db: float = Field(10.0, gt=0, description=f"dB extinction ratio of an MZM; {_SRC}")
    mrr_mw: float = Field(0.275, ge=0, description=f"mW static per MRR rerouter; {_SRC}")
    mrr_il_db: float = Field(0.93, ge=0, description=f"dB insertion loss per MRR; {_SRC}")
    mrr_on_path: int = Field(2, ge=0, description="MRRs a light path crosses (chosen: in and out rerouter)")
    waveguide_db_per_cm: float = Field(0.11, ge=0, description=f"dB/cm waveguide loss; {_SRC}")
    waveguide_cm: float = Field(1.0, ge=0, description="cm of waveguide on a path (chosen)")
    pd_sensitivity_dbm: float = Field(-25.0, description=f"dBm photodetector sensitivity; {_SRC}")
    laser_wpe: float = Field(0.2, gt=0, le=1, description=f"laser wall-plug efficiency; {_SRC}")
    laser_distribution_factor: int | None = Field(
        None, gt=0, description="ways one laser's power is split (default: H*W nodes, papers.md s.1)")
    integration_cycles: int = Field(3, gt=0, description="cycles ADC/TIA integrate over (SimPhony: 3)")
    weight_noise_sigma: float = Field(
        0.01, ge=0, description="std of encoded weights from phase noise, fraction of full scale (chosen; TeMPO-style)")
    crosstalk: float = Field(
        0.005, ge=0, description="thermal crosstalk: share of a neighbour's phase a shifter picks up (chosen)")
    buffer_kib: int = Field(256, gt=0, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float = Field(
        1.25, ge=0, description="pJ/byte SRAM access; Horowitz ISSCC'14: 10 pJ per 64-bit read of 8 KB SRAM")
    leakage_mw: float = Field(10.0, ge=0, description="mW idle electronic leakage (chosen)")


    @model_validator(mode="after")
    def _check(self) -> "PhotonicParams":
        if sorted(self.dim_map) != ["D", "M", "N"] or sorted(self.dim_map.values()) != sorted(AXES):
            raise ValueError(f"dim_map must map N, D, M one-to-one onto {', '.join(AXES)} (got {self.dim_map})")
        if self.mzm_gbps / self.mzm_testing_bits < self.freq_ghz:
            raise ValueError(f"freq_ghz {self.freq_ghz} exceeds the MZM symbol rate "
                             f"{self.mzm_gbps / self.mzm_testing_bits} GBd")
        return self


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
    """ADC power scaled linearly in rate; in bits linearly (SAR, b / B) or as comparators
    (flash, (2^b - 1) / (2^B - 1))."""
    rate = p.adc_ref_mw * (p.freq_ghz / p.adc_ref_gsps)
    if p.adc_type == "flash":
        return rate * (2 ** p.out_bits - 1) / (2 ** p.adc_ref_bits - 1)
    return rate * (p.out_bits / p.adc_ref_bits)


def mzm_power_mw(p: PhotonicParams) -> float:
    """MZM power: energy per bit * symbol rate * bits per symbol it was characterised at."""
    return p.mzm_fj_per_bit * p.freq_ghz * 1e-3 * p.mzm_testing_bits


def insertion_loss_db(p: PhotonicParams) -> float:
    """Loss on a light path: one MZM, ``mrr_on_path`` MRR rerouters, the waveguide."""
    return p.mzm_il_db + p.mrr_il_db * p.mrr_on_path + p.waveguide_db_per_cm * p.waveguide_cm


def laser_power_mw(p: PhotonicParams) -> float:
    """Laser power so every one of the ``distribution`` ways reaches PD sensitivity after the path
    loss, times 2^in_bits levels, over the MZM's extinction: 10^((IL + S + 10 log10 k) / 10) / wpe."""
    k = p.laser_distribution_factor or p.core_height * p.core_width
    dbm = insertion_loss_db(p) + p.pd_sensitivity_dbm + 10 * math.log10(k)
    return 10 ** (dbm / 10) / p.laser_wpe * 2 ** p.in_bits / (1 - 10 ** (-p.mzm_extinction_db / 10))


def device_powers_mw(p: PhotonicParams) -> dict[str, float]:
    """Per-device power in mW at the unit's clock and bit widths."""
    return {
        "mzm_op1": mzm_power_mw(p), "dac_op1": dac_power_mw(p, p.weight_bits),
        "mzm_op2": mzm_power_mw(p), "dac_op2": dac_power_mw(p, p.in_bits),
        "adc": adc_power_mw(p), "tia": p.tia_mw, "pd": p.pd_mw,
        "mrr": p.mrr_mw, "laser": laser_power_mw(p),
    }


_STATIC = ("mrr", "laser")          # powered for every static cycle
_INTEGRATING = ("adc", "tia")       # fire once per integration window
_OPERAND_1 = ("mzm_op1", "dac_op1")
_OPERAND_2 = ("mzm_op2", "dac_op2")


def iterations(p: PhotonicParams, op: Op) -> tuple[int, int, int]:
    """(iter_N, iter_D, iter_M): tiles of each GEMM dimension over the core axis it maps to."""
    size = {"height": p.core_height * p.tiles, "wavelength": p.wavelengths, "width": p.core_width * p.cores_per_tile}
    return (math.ceil(op.n / size[p.dim_map["N"]]), math.ceil(op.d / size[p.dim_map["D"]]),
            math.ceil(op.m / size[p.dim_map["M"]]))


def cycles(p: PhotonicParams, op: Op) -> tuple[int, int]:
    """(switching cycles, static cycles) of a GEMM shard on one unit."""
    it_n, it_d, it_m = iterations(p, op)
    switching = it_n * it_d * it_m
    extra = {"output_stationary": it_n * it_m, "weight_stationary": it_n * it_d,
             "input_stationary": it_d * it_m}[p.dataflow]
    return op.batch * switching, op.batch * (switching + extra)


def duty(p: PhotonicParams, op: Op) -> dict[str, float]:
    """Fraction of switching cycles each operand's encoders actually switch (stationary reuse)."""
    it_n, _, it_m = iterations(p, op)
    if p.dataflow == "weight_stationary":
        return {d: 1 / it_m for d in _OPERAND_1}
    if p.dataflow == "input_stationary":
        return {d: 1 / it_n for d in _OPERAND_2}
    return {}


def cost(p: PhotonicParams, op: Op) -> Cost:
    """Time (static cycles / f) and per-device energy of a GEMM shard, plus buffer traffic."""
    sw, st = cycles(p, op)
    counts, powers, reuse = device_counts(p), device_powers_mw(p), duty(p, op)
    energy: dict[str, float] = {}
    for dev, cnt in counts.items():
        per_cycle_pj = cnt * powers[dev] / p.freq_ghz  # mW / GHz = pJ
        if dev in _STATIC:
            energy[dev] = per_cycle_pj * st
        elif dev in _INTEGRATING:
            energy[dev] = per_cycle_pj * sw / p.integration_cycles
        else:
            energy[dev] = per_cycle_pj * sw * reuse.get(dev, 1.0)
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    energy["buffer"] = (in_bytes + out_bytes + op.weight_bytes) * p.buffer_pj_per_byte
    return Cost(cycles_to_ps(st, p.freq_ghz), energy)
