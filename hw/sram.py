"""On-chip SRAM (buffers, registers, global buffer): energy per byte, area and leakage by capacity.

Laws (CACTI-style square arrays):

* energy per byte accessed = 1.25 pJ * sqrt(bank KiB / 8) at 45 nm, scaled by ``tech.energy`` —
  Horowitz, ISSCC'14 "Computing's energy problem": a 64-bit read costs 10 pJ from 8 KB, 20 pJ from
  32 KB and 100 pJ from 1 MB, i.e. word-line and bit-line lengths grow as the square root of the
  capacity (the three points lie within 12% of the law);
* area = bits x 146 F^2 / 0.7 (6T cell of 146 F^2, ITRS; 70% array efficiency; F = the node);
* leakage = 4.1e-5 mW per KiB at 32 nm, scaled by ``tech.energy`` (CACTI 7, its default
  low-standby-power cells, gives 0.084 mW for 2 MiB at 32 nm).

``benchmarks/calibrate_components.py`` compares all three with CACTI 7 (``hwcomponents-cacti``).
"""
from __future__ import annotations

import math

from . import tech
from .cost import Part

PJ_PER_BYTE_8KIB_45NM = 1.25
CELL_F2, ARRAY_EFFICIENCY = 146.0, 0.7
LEAK_MW_PER_KIB_32NM = 4.1e-5
SOURCE = "Horowitz ISSCC'14 (sqrt-capacity law), 6T 146 F^2 cells, CACTI 7 leakage"


def pj_per_byte(kib: float, tech_nm: float, banks: int = 1) -> float:
    """Energy of one byte read or written from a ``kib`` KiB SRAM of ``banks`` banks."""
    return PJ_PER_BYTE_8KIB_45NM * math.sqrt(max(kib / banks, 1 / 8) / 8) * tech.energy(tech_nm, 45)


def area_um2(kib: float, tech_nm: float) -> float:
    """Area of a ``kib`` KiB SRAM, µm²."""
    f_um = tech_nm * 1e-3
    return kib * 8192 * CELL_F2 * f_um * f_um / ARRAY_EFFICIENCY


def leakage_mw(kib: float, tech_nm: float) -> float:
    return kib * LEAK_MW_PER_KIB_32NM * tech.energy(tech_nm, 32)


def pj_or_law(given: float | None, kib: float, tech_nm: float, banks: int = 1) -> float:
    """An SRAM's pJ per byte: the published figure where a unit gives one, else the law."""
    return given if given is not None else pj_per_byte(kib, tech_nm, banks)


def part(name: str, count: float, kib: float, tech_nm: float) -> Part:
    """``count`` SRAMs of ``kib`` KiB as a unit's component: area and leakage by the laws above."""
    return Part(name, count, area_um2(kib, tech_nm), leakage_mw(kib, tech_nm), SOURCE)
