"""SRAM processing-in-memory (digital CIM) unit: weights in SRAM macros, bit-serial inputs,
digital adder trees — exact arithmetic, fast writes.

A macro of ``rows`` x ``cols`` bitcells holds ``rows`` x (``cols`` / weight_bits) weights (the
reduction dimension D along rows). Every cycle each macro takes one input bit of one vector and
sums over its rows, so a vector costs ``input_bits`` cycles on all used macros in parallel.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field

from . import sram, tech
from .bounds import Bounded
from .cost import Cost, Part, cycles_to_ps
from .errors import PrismError
from .ops import Op

_CHIH = "Chih et al., ISSCC'21 (TSMC 22 nm digital CIM, 89 TOPS/W at 4b x 4b)"


class SramPimParams(Bounded):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["sram_pim"] = "sram_pim"
    rows: int = Field(256, gt=0, le=4096, description=f"bitcell rows per macro; {_CHIH}: 64 Kb macros (chosen 256x64)")
    cols: int = Field(64, gt=0, le=4096, description="bitcell columns per macro (chosen)")
    macros: int = Field(4096, gt=0, le=10_000_000, description="macros per unit (chosen: 8 MiB of weights at 8 bit)")
    tech_nm: float = Field(22.0, ge=tech.MIN_NM, le=tech.MAX_NM, description=f"CMOS node, nm; {_CHIH}")
    macro_area_factor: float = Field(
        4.0, gt=0, le=1e3, description="macro area / 6T SRAM area of its bitcells (chosen: adder trees and "
        "drivers take about three times the array in published digital-CIM macros)")
    weight_bits: int = Field(8, gt=0, le=16, description="bits per weight (chosen: 8-bit models)")
    input_bits: int = Field(8, gt=0, le=16, description="bits per input, applied one per cycle")
    freq_ghz: float = Field(0.5, gt=0, le=100, description="GHz macro clock (chosen, ISSCC digital-CIM range)")
    mac_pj: float = Field(0.18, ge=0, le=1e6, description=f"pJ per 8b x 8b MAC at 22 nm; {_CHIH}: 0.045 pJ at 4b, x4 for 8b")
    write_pj_per_byte: float | None = Field(
        None, ge=0, description="pJ/byte to write weights (default: the SRAM law at one macro's capacity)")
    buffer_kib: int = Field(256, gt=0, le=1_048_576, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float | None = Field(
        None, ge=0, description="pJ/byte buffer access (default: the SRAM law of hw/sram.py at buffer_kib)")

    @property
    def buffer_pj(self) -> float:
        return sram.pj_or_law(self.buffer_pj_per_byte, self.buffer_kib, self.tech_nm)

    @property
    def macro_kib(self) -> float:
        return self.rows * self.cols / 8192

    @property
    def write_pj(self) -> float:
        return sram.pj_or_law(self.write_pj_per_byte, self.macro_kib, self.tech_nm)

    @property
    def arrays(self) -> int:
        return self.macros

    @property
    def weights_per_row(self) -> int:
        return max(1, self.cols // self.weight_bits)


def parts(p: SramPimParams) -> list[Part]:
    """Macros (bitcells, adder trees) and the local buffer; idle power is the SRAM leakage."""
    return [Part("mac", p.macros, sram.area_um2(p.macro_kib, p.tech_nm) * p.macro_area_factor,
                 sram.leakage_mw(p.macro_kib, p.tech_nm), f"6T bitcells x {p.macro_area_factor:g}"),
            sram.part("buffer", 1, p.buffer_kib, p.tech_nm)]


def tiling(p: SramPimParams, op: Op) -> tuple[int, int, int]:
    """(row tiles, column tiles, macros) holding a shard's static weights."""
    rt = math.ceil(op.d / p.rows)
    ct = math.ceil(op.n / p.weights_per_row)
    return rt, ct, op.batch * rt * ct


def write_cost(p: SramPimParams, op: Op) -> Cost:
    """Writing a shard's weights: one row per macro per cycle, macros in parallel."""
    return Cost(cycles_to_ps(min(op.d, p.rows), p.freq_ghz), {"write": op.weight_bytes * p.write_pj})


def cycles(p: SramPimParams, op: Op) -> tuple[int, int]:
    c = op.m * p.input_bits
    return c, c


def cost(p: SramPimParams, op: Op) -> Cost:
    _, _, macros = tiling(p, op)
    if macros > p.macros:
        raise PrismError(f"shard needs {macros} macros but the unit has {p.macros}")
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    c, _ = cycles(p, op)
    return Cost(cycles_to_ps(c, p.freq_ghz), {"mac": op.macs * p.mac_pj * tech.energy(p.tech_nm, 22),
                                              "buffer": (in_bytes + out_bytes) * p.buffer_pj})
