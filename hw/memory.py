"""Off-chip DRAM/HBM and the on-chip global buffer: bandwidth, latency, energy per byte, area.

DRAM takes its numbers from a named technology (``technology``: one stack or channel of it),
each field overridable; the global buffer is a banked SRAM (the law of ``hw/sram.py``).
"""
from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from . import sram, tech
from .bounds import Bounded
from .cost import Cost

# technology: (GB/s per stack or channel, pJ per bit, source)
DRAM_TECH: dict[str, tuple[float, float, str]] = {
    "hbm2": (256.0, 3.9, "JESD235 HBM2: 1024 pins x 2 Gb/s; 3.9 pJ/bit, O'Connor et al., MICRO'17 (fine-grained DRAM) Table 1"),
    "hbm3": (819.2, 4.05, "JESD238 HBM3: 1024 pins x 6.4 Gb/s; 4.05 pJ/bit, the hwcomponents-cacti HBM3 figure"),
    "lpddr4": (25.6, 8.0, "LPDDR4-3200 x64: 25.6 GB/s; 8 pJ/bit, the hwcomponents-cacti LPDDR4 figure"),
}

# technology: GiB per stack or channel (chosen: common parts, the capacity a KV cache in DRAM may fill)
DRAM_CAPACITY_GIB: dict[str, tuple[float, str]] = {
    "hbm2": (8.0, "JESD235B HBM2: an 8-high stack of 8 Gb dies"),
    "hbm3": (16.0, "JESD238 HBM3: an 8-high stack of 16 Gb dies (the first HBM3 parts)"),
    "lpddr4": (8.0, "LPDDR4 x64: four 16 Gb dies (chosen: a common 8 GB package)"),
}


class DramParams(Bounded):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    technology: Literal["hbm2", "hbm3", "lpddr4"] = Field(
        "hbm3", description="memory technology the defaults below come from (chosen: one HBM3 stack)")
    bandwidth_gbps: float | None = Field(
        None, gt=0, le=1e6, description="GB/s (default: the technology's, per stack or channel)")
    energy_pj_per_byte: float | None = Field(
        None, ge=0, le=1e6, description="pJ/byte (default: the technology's pJ/bit x 8)")
    latency_ns: float = Field(100.0, ge=0, le=1e6, description="ns access latency (chosen, typical HBM/DDR)")
    phy_area_mm2: float = Field(
        0.0, ge=0, le=1e5, description="mm² of memory PHY/controller on the chip, per controller (chosen: 0, "
        "off-chip memory not counted in chip area unless given)")
    phy_power_mw: float = Field(
        0.0, ge=0, le=1e7, description="mW each PHY draws while powered (chosen: 0, as the area)")
    capacity_gib: float | None = Field(
        None, gt=0, le=1e6, description="GiB per stack or channel (default: the technology's DRAM_CAPACITY_GIB)")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the memory controller")
    _copies: list | None = PrivateAttr(default=None)
    channels: list[tuple[int, ...]] | None = Field(
        None, max_length=64, description="NoC routers of several memory controllers, one stack or channel of the "
        "technology each (default: one, at position); a unit's weights and spills go to the nearest")

    @model_validator(mode="after")
    def _fill(self) -> "DramParams":
        gbps, pj_bit, _ = DRAM_TECH[self.technology]
        if self.bandwidth_gbps is None:
            object.__setattr__(self, "bandwidth_gbps", gbps)
        if self.energy_pj_per_byte is None:
            object.__setattr__(self, "energy_pj_per_byte", pj_bit * 8)
        if self.capacity_gib is None:
            object.__setattr__(self, "capacity_gib", DRAM_CAPACITY_GIB[self.technology][0])
        return self

    @property
    def capacity_bytes(self) -> float:
        """Bytes of one stack or channel."""
        return self.capacity_gib * 2.0 ** 30

    @property
    def positions(self) -> list[tuple[int, ...]]:
        """Every controller's router, the first one first."""
        return [tuple(p) for p in self.channels] if self.channels else [tuple(self.position)]

    def channel(self, i: int) -> "DramParams":
        """Controller ``i`` as a memory endpoint of its own (same technology, its router)."""
        if not self.channels:
            return self
        if self._copies is None:
            self._copies = [self.model_copy(update={"position": p, "channels": None}) for p in self.positions]
        return self._copies[i]


class GlobalBufferParams(Bounded):
    """On-chip SRAM staging buffer at one NoC node: activations too large for a unit's own buffer
    pass through it (or through DRAM when they do not fit here either)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    capacity_kib: int = Field(2048, gt=0, le=16_777_216, description="KiB on-chip global buffer (chosen)")
    banks: int = Field(8, gt=0, le=65536, description="SRAM banks (chosen: 8 banks x 32 B per 1 GHz cycle)")
    bandwidth_gbps: float = Field(256.0, gt=0, le=1e6, description="GB/s (chosen: 8 banks x 32 B per 1 GHz cycle)")
    latency_ns: float = Field(2.0, ge=0, le=1e6, description="ns access latency (chosen, large banked SRAM)")
    tech_nm: float = Field(32.0, ge=tech.MIN_NM, le=tech.MAX_NM, description="CMOS node, nm (chosen: as the ReRAM periphery)")
    energy_pj_per_byte: float | None = Field(
        None, ge=0, le=1e6, description="pJ/byte (default: the SRAM law of hw/sram.py at one bank's capacity)")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the global buffer")

    @model_validator(mode="after")
    def _fill(self) -> "GlobalBufferParams":
        object.__setattr__(self, "energy_pj_per_byte",
                           sram.pj_or_law(self.energy_pj_per_byte, self.capacity_kib, self.tech_nm, self.banks))
        return self

    @property
    def capacity_bytes(self) -> float:
        return self.capacity_kib * 1024.0

    @property
    def area_um2(self) -> float:
        return sram.area_um2(self.capacity_kib, self.tech_nm)

    @property
    def leakage_mw(self) -> float:
        return sram.leakage_mw(self.capacity_kib, self.tech_nm)


Memory = DramParams | GlobalBufferParams   # or any object with these fields (reram.ArrayMemory)
ENERGY_KEY = {DramParams: "dram", GlobalBufferParams: "global_buffer"}


def mem_cost(p: Memory, nbytes: int) -> Cost:
    """Moving ``nbytes`` to or from a memory: channel occupancy bytes / bandwidth, energy per byte."""
    return Cost(mem_ps(p, nbytes), {ENERGY_KEY.get(type(p), "array_memory"): nbytes * p.energy_pj_per_byte})


def mem_ps(p: Memory, nbytes: int) -> int:
    """Channel occupancy in ps (GB/s = bytes per ns)."""
    return int(round(nbytes / p.bandwidth_gbps * 1000))


def mem_latency_ps(p: Memory) -> int:
    return int(round(p.latency_ns * 1000))
