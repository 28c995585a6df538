"""Dynamic photonic tensor core (DPTC) — the SimPhony / Lightening-Transformer model.

GEMM Y[N x M] = W[N x D] . X[D x M] mapped N -> height (H*R), D -> wavelengths (N_lambda),
M -> width (W*C) by default (``dim_map`` permutes this). Cycles, device counts, power scaling and
energies follow SimPhony (Yin et al., DAC'25, arXiv 2411.13715) and its public configs (DPTC v1
core, DODE v1 node, LT device library):

* switching cycles = iter_N * iter_D * iter_M; static cycles add the stationary loop
  (output-stationary: iter_N * iter_M; weight-: iter_N * iter_D; input-: iter_D * iter_M);
* dynamic energy = count * P / f * switching cycles, divided by the integration window for
  temporally accumulating devices (ADC, TIA) and by the reuse of the stationary operand for its
  modulators and DACs (weight-stationary: operand 1 switches once per iter_M; input-stationary:
  operand 2 once per iter_N); static energy (MRR, laser) = count * P / f * static cycles;
* latency = static cycles / f (SimPhony's own code multiplies by an extra 10; we do not);
* area = every device's count x footprint, nodes as SimPhony's bounding box (``parts``);
* weights stream in at the core's ``weight_bits`` (``streamed_weight_bytes``).

The laser must reach every one of the ``laser_distribution_factor`` (default H*W) detectors it
feeds: SimPhony's config asks for H*W too (``laser_power_distribution: H*W``), but its code reads
another key (``laser_power_distribution_factor``) and so uses 1 — its log's 1.18 mW laser is
144x below what its own config describes (``benchmarks/calibrate_components.py``).
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from . import sram, tech
from .bounds import Bounded
from .cost import Cost, Part, cycles_to_ps
from .ops import Op

_SRC = "SimPhony LT v1 device library (configs/devices, ScopeX-ASU/SimPhony)"
AXES = ("height", "wavelength", "width")
MAX_LASER_DBM = 60


class PhotonicParams(Bounded):
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
    mzm_gbps: float = Field(25.0, gt=0, description=f"Gb/s MZM modulation speed (bounds freq_ghz; no cost of its own); {_SRC}")
    mzm_il_db: float = Field(1.2, ge=0, le=100, description=f"dB insertion loss of an MZM; {_SRC}")
    mzm_extinction_db: float = Field(10.0, gt=0, le=100, description=f"dB extinction ratio of an MZM; {_SRC}")
    mrr_mw: float = Field(0.275, ge=0, description=f"mW static per MRR rerouter; {_SRC}")
    mrr_il_db: float = Field(0.93, ge=0, le=100, description=f"dB insertion loss per MRR; {_SRC}")
    mrr_on_path: int = Field(2, ge=0, le=1000, description="MRRs a light path crosses; SimPhony DPTC netlist (replication 2)")
    laser_il_db: float = Field(2.0, ge=0, le=100, description=f"dB coupling loss of the on-chip laser; {_SRC}")
    splitter_il_db: float = Field(
        0.1, ge=0, le=100, description=f"dB per laser-splitter stage (ceil(log2(max(H, W))) stages on a path); {_SRC}")
    node_il_db: float = Field(
        0.76, ge=0, le=100, description=f"dB through a DODE node (Y-branch 0.1 + MEMS phase shifter 0.33 + coupler 0.33); {_SRC}")
    waveguide_db_per_cm: float = Field(0.11, ge=0, le=100, description=f"dB/cm waveguide loss; {_SRC}")
    waveguide_cm: float = Field(1.0, ge=0, le=100, description="cm of waveguide on a path (chosen)")
    pd_sensitivity_dbm: float = Field(-25.0, ge=-100, le=30, description=f"dBm photodetector sensitivity; {_SRC}")
    laser_wpe: float = Field(0.2, gt=0, le=1, description=f"laser wall-plug efficiency; {_SRC}")
    laser_distribution_factor: int | None = Field(
        None, gt=0, description="ways one laser's power is split (default: H*W nodes, SimPhony dptc.yml laser_power_distribution)")
    integration_cycles: int = Field(3, gt=0, description="cycles ADC/TIA integrate over (SimPhony: 3)")
    weight_noise_sigma: float = Field(
        0.01, ge=0, description="std of encoded weights from phase noise, fraction of full scale (chosen; TeMPO-style) [functional only: accuracy]")
    pd_responsivity_a_per_w: float = Field(
        1.0, gt=0, le=2, description="A/W photodetector responsivity (chosen: Ge-on-Si at 1550 nm is 0.8-1.1 A/W) "
        "[functional only: shot noise]")
    shot_noise: bool = Field(True, description="Poisson shot noise at the photodetectors [functional only: accuracy]")
    crosstalk: float = Field(
        0.005, ge=0, description="thermal crosstalk: share of a neighbour's phase a shifter picks up (chosen) [functional only: accuracy]")
    buffer_kib: int = Field(256, gt=0, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float | None = Field(
        None, ge=0, description="pJ/byte buffer access (default: the SRAM law of hw/sram.py at buffer_kib)")
    buffer_tech_nm: float = Field(
        14.0, ge=tech.MIN_NM, le=tech.MAX_NM, description="CMOS node of the buffer, nm (chosen: the node of "
        "SimPhony's converters, 14-16 nm)")
    mzm_um2: float = Field(5200.0, ge=0, description=f"µm² per MZM (LT_MZM 260 x 20 um); {_SRC}")
    dac_um2: float = Field(11000.0, ge=0, description=f"µm² per DAC (DAC_2, 16 nm); {_SRC}")
    adc_um2: float = Field(2850.0, ge=0, description=f"µm² per ADC (ADC_SAR_1, 14 nm); {_SRC}")
    tia_um2: float = Field(50.0, ge=0, description=f"µm² per TIA (TIA_1); {_SRC}")
    mrr_um2: float = Field(23.04, ge=0, description=f"µm² per MRR rerouter (4.8 x 4.8 um); {_SRC}")
    laser_um2: float = Field(120000.0, ge=0, description=f"µm² per on-chip laser (400 x 300 um); {_SRC}")
    micro_comb_um2: float = Field(1401856.0, ge=0, description=f"µm² per micro-comb (1184 x 1184 um); {_SRC}")
    splitter_um2: float = Field(2.34, ge=0, description=f"µm² per laser splitter (1.3 x 1.8 um); {_SRC}")
    node_um2: float = Field(
        11688.0, ge=0, description="µm² per DODE node: SimPhony's bounding box of its phase shifter, 2 couplers, "
        "2 photodetectors and Y-branch with 5 um spacing (120 x 97.4 um, its LT log)")

    @property
    def buffer_pj(self) -> float:
        return sram.pj_or_law(self.buffer_pj_per_byte, self.buffer_kib, self.buffer_tech_nm)


    @model_validator(mode="after")
    def _check(self) -> "PhotonicParams":
        if sorted(self.dim_map) != ["D", "M", "N"] or sorted(self.dim_map.values()) != sorted(AXES):
            raise ValueError(f"dim_map must map N, D, M one-to-one onto {', '.join(AXES)} (got {self.dim_map})")
        if self.mzm_gbps / self.mzm_testing_bits < self.freq_ghz:
            raise ValueError(f"freq_ghz {self.freq_ghz} exceeds the MZM symbol rate "
                             f"{self.mzm_gbps / self.mzm_testing_bits} GBd")
        k = self.laser_distribution_factor or self.core_height * self.core_width
        dbm = insertion_loss_db(self) + self.pd_sensitivity_dbm + 10 * math.log10(k) + 3.0103 * self.in_bits
        if dbm > MAX_LASER_DBM:   # derived: the laser power the losses call for
            raise ValueError(f"the light path loses {insertion_loss_db(self):.1f} dB: each laser would need "
                             f"{dbm:.0f} dBm of light, above {MAX_LASER_DBM} dBm (1 kW)")
        return self


def device_counts(p: PhotonicParams) -> dict[str, int]:
    """Every device of one unit as SimPhony's DPTC v1 (``configs/design/cores/dptc.yml``) and the
    DODE v1 node it instantiates (``configs/design/nodes/dode.yml``) count them: per core the
    operand encoders, converters, MRR rerouters, lasers, micro-combs and splitter tree; per node
    (H*W*R*C of them) a phase shifter, two couplers, two photodetectors and a Y-branch."""
    H, W, L, R, C = p.core_height, p.core_width, p.wavelengths, p.tiles, p.cores_per_tile
    nodes = H * W * R * C
    return {
        "mzm_op1": H * R * L * C, "dac_op1": H * R * L * C,
        "mzm_op2": W * C * L, "dac_op2": W * C * L,
        "adc": H * W * R, "tia": nodes, "pd": 2 * nodes,
        "mrr": 2 * (H + W) * L * C * R, "laser": R + C, "micro_comb": R + C,
        "laser_splitter": ((math.ceil(H / 2) * 2 - 1) + (math.ceil(W / 2) * 2 - 1)) * R * C,
        "phase_shifter": nodes, "coupler": 2 * nodes, "y_branch": nodes,
    }


_IN_NODE = ("pd", "phase_shifter", "coupler", "y_branch")   # inside the node's bounding box


def parts(p: PhotonicParams) -> list[Part]:
    """Devices with their footprints (inside-node devices are covered by the node's bounding box,
    as SimPhony's chip-area sum counts them) and the local buffer. Idle power: the buffer's leakage
    (lasers and MRRs are charged per static cycle while the unit computes)."""
    counts = device_counts(p)
    area = {"mzm_op1": p.mzm_um2, "mzm_op2": p.mzm_um2, "dac_op1": p.dac_um2, "dac_op2": p.dac_um2,
            "adc": p.adc_um2, "tia": p.tia_um2, "mrr": p.mrr_um2, "laser": p.laser_um2,
            "micro_comb": p.micro_comb_um2, "laser_splitter": p.splitter_um2}
    out = [Part(dev, n, area.get(dev, 0.0), 0.0, _SRC) for dev, n in counts.items()]
    nodes = p.core_height * p.core_width * p.tiles * p.cores_per_tile
    out.append(Part("node", nodes, p.node_um2, 0.0, _SRC))
    out.append(sram.part("buffer", 1, p.buffer_kib, p.buffer_tech_nm))
    return out


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
    """Loss on the longest light path of SimPhony's DPTC netlist: laser coupling, the splitter
    tree (ceil(log2(max(H, W))) stages), ``mrr_on_path`` MRR rerouters, one MZM, the node, plus
    the waveguide."""
    stages = math.ceil(math.log2(max(p.core_height, p.core_width))) if max(p.core_height, p.core_width) > 1 else 0
    return (p.laser_il_db + p.splitter_il_db * stages + p.mrr_il_db * p.mrr_on_path + p.mzm_il_db + p.node_il_db
            + p.waveguide_db_per_cm * p.waveguide_cm)


def detector_power_mw(p: PhotonicParams) -> float:
    """Optical power a photodetector receives at full scale, what the laser is sized for: PD
    sensitivity times 2^in_bits levels, over the MZM's extinction (SimPhony's link budget)."""
    return 10 ** (p.pd_sensitivity_dbm / 10) * 2 ** p.in_bits / (1 - 10 ** (-p.mzm_extinction_db / 10))


def laser_power_mw(p: PhotonicParams) -> float:
    """Laser power so every one of the ``distribution`` ways receives ``detector_power_mw`` after
    the path loss: detector power x 10^((IL + 10 log10 k) / 10) / wpe."""
    k = p.laser_distribution_factor or p.core_height * p.core_width
    return detector_power_mw(p) * 10 ** ((insertion_loss_db(p) + 10 * math.log10(k)) / 10) / p.laser_wpe


ELECTRON_C = 1.602176634e-19


def shot_electrons(p: PhotonicParams) -> float:
    """Photoelectrons a detector counts at full scale over its integration window,
    N = R P tau / q (R responsivity, P ``detector_power_mw``, tau = integration_cycles / f). Shot
    noise is Poisson: a reading v (full scale fs) has variance |v| fs / N, i.e. an SNR of N at
    full scale (the standard photodetector shot-noise limit, sigma^2 = 2 q I B with B = 1 / 2 tau)."""
    tau_s = p.integration_cycles / (p.freq_ghz * 1e9)
    return p.pd_responsivity_a_per_w * detector_power_mw(p) * 1e-3 * tau_s / ELECTRON_C


def device_powers_mw(p: PhotonicParams) -> dict[str, float]:
    """Per-device power in mW at the unit's clock and bit widths."""
    return {
        "mzm_op1": mzm_power_mw(p), "dac_op1": dac_power_mw(p, p.weight_bits),
        "mzm_op2": mzm_power_mw(p), "dac_op2": dac_power_mw(p, p.in_bits),
        "adc": adc_power_mw(p), "tia": p.tia_mw, "pd": p.pd_mw,
        "mrr": p.mrr_mw, "laser": laser_power_mw(p),
        "micro_comb": 0.0, "laser_splitter": 0.0, "phase_shifter": 0.0, "coupler": 0.0, "y_branch": 0.0,
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
        if not powers[dev]:
            continue   # passive devices: area and loss, no energy
        per_cycle_pj = cnt * powers[dev] / p.freq_ghz  # mW / GHz = pJ
        if dev in _STATIC:
            energy[dev] = per_cycle_pj * st
        elif dev in _INTEGRATING:
            energy[dev] = per_cycle_pj * sw / p.integration_cycles
        else:
            energy[dev] = per_cycle_pj * sw * reuse.get(dev, 1.0)
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    energy["buffer"] = (in_bytes + out_bytes + streamed_weight_bytes(p, op)) * p.buffer_pj
    return Cost(cycles_to_ps(st, p.freq_ghz), energy)


def busy_ps(p: PhotonicParams, op: Op) -> dict[str, int]:
    """How long each powered device works during ``cost(p, op)``: encoders and detectors for the
    switching cycles (less the stationary operand's reuse), lasers and MRRs for every static
    cycle, the buffer throughout."""
    sw, st = cycles(p, op)
    reuse = duty(p, op)
    out = {}
    for dev, w in device_powers_mw(p).items():
        if w:
            n = st if dev in _STATIC else sw * reuse.get(dev, 1.0)
            out[dev] = cycles_to_ps(math.ceil(n), p.freq_ghz)
    out["buffer"] = cycles_to_ps(st, p.freq_ghz)
    return out


def streamed_weight_bytes(p: PhotonicParams, op: Op) -> int:
    """Bytes of a shard's static weights at the core's weight precision (a 4-bit core's weights
    are half a byte each), never more than the layer's own precision."""
    return op.weight_bytes_at(min(p.weight_bits, op.weight_bits))
