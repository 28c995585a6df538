"""Chip-level totals from the unit, network and memory models: area by component, unit and chip,
and peak throughput, power and efficiency (GOPS/mm², GOPS/W) — what ``prismsim cost`` and
``prismsim list --arch`` print and published chips are compared on (the ``isaac`` preset)."""
from __future__ import annotations

from dataclasses import dataclass

from .cost import Cost
from .ops import Op
from .spec import Arch, Unit
from .units import area_um2, leakage_mw, parts, unit_cost


def peak_op(unit: Unit) -> Op:
    """A GEMM that keeps every compute element of ``unit`` busy in steady state; for weight-resident
    units one full array per independent GEMM (``batch``), each with inputs of its own, as a
    layer-pipelined chip runs (ISAAC's peak assumes every IMA busy on its own inputs)."""
    p = unit.params
    if unit.kind == "reram":
        n = max(1, p.cols // (p.slices * p.polarity))
        return Op("gemm", n, p.rows, 64, batch=p.crossbars, static_weights=True, act_bits=p.input_bits,
                  weight_bits=p.weight_bits)
    if unit.kind == "sram_pim":
        return Op("gemm", p.weights_per_row, p.rows, 64, batch=p.macros, static_weights=True)
    if unit.kind == "photonic":
        size = {"height": p.core_height * p.tiles, "wavelength": p.wavelengths, "width": p.core_width * p.cores_per_tile}
        n, d, m = size[p.dim_map["N"]], size[p.dim_map["D"]], size[p.dim_map["M"]]
        return Op("gemm", n, d * 256, m, static_weights=True)   # 256 switching cycles per static loop
    return Op("gemm", p.lanes, 64, 64)


@dataclass(frozen=True)
class Peak:
    """A unit's steady-state full-rate operation: ops/s (2 per MAC), power and area."""

    gops: float
    power_mw: float
    area_mm2: float

    @property
    def gops_per_w(self) -> float:
        return self.gops / (self.power_mw * 1e-3) if self.power_mw else float("inf")

    @property
    def gops_per_mm2(self) -> float:
        return self.gops / self.area_mm2 if self.area_mm2 else float("inf")


def unit_peak(unit: Unit) -> Peak:
    """Throughput and power of ``unit`` running ``peak_op`` back to back (dynamic energy over its
    time, plus the idle power of its components), and its area."""
    op = peak_op(unit)
    c: Cost = unit_cost(unit, op)
    gops = 2 * op.macs / c.time_ps * 1e3          # ops per ps -> GOPS
    return Peak(gops, c.total_pj / c.time_ps * 1e3 + leakage_mw(unit), area_um2(unit) * 1e-6)


def area_breakdown_mm2(arch: Arch) -> dict[str, float]:
    """Chip area in mm² by component kind (``reram.adc``, ``photonic.mzm_op1``, …, ``noc.router``,
    ``global_buffer``, ``dram.phy``); the values add up to ``chip_area_mm2``."""
    out: dict[str, float] = {}
    for u in arch.instances().values():
        for x in parts(u):
            key = f"{u.kind}.{x.name}"
            out[key] = out.get(key, 0.0) + x.total_area_um2 * 1e-6
    out["noc.router"] = arch.noc.routers * arch.noc.router_um2 * 1e-6
    out["global_buffer"] = arch.global_buffer.area_um2 * 1e-6
    out["dram.phy"] = arch.dram.phy_area_mm2 * len(arch.dram.positions)
    return out


def chip_area_mm2(arch: Arch) -> float:
    return sum(area_breakdown_mm2(arch).values())


def chip_peak(arch: Arch) -> Peak:
    """Every unit at full rate, every router forwarding one flit per cycle, the memory PHY and the
    global buffer's leakage: the chip's peak GOPS, power and area."""
    gops, mw = 0.0, 0.0
    for u in arch.instances().values():
        pk = unit_peak(u)
        gops, mw = gops + pk.gops, mw + pk.power_mw
    noc = arch.noc
    mw += noc.routers * (noc.router_pj_per_bit + noc.link_pj_per_bit) * noc.link_width_bits * noc.clock_ghz
    mw += arch.dram.phy_power_mw * len(arch.dram.positions) + arch.global_buffer.leakage_mw
    return Peak(gops, mw, chip_area_mm2(arch))
