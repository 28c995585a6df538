"""Off-chip DRAM/HBM and the on-chip global buffer: bandwidth, latency, energy per byte."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost


class DramParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bandwidth_gbps: float = Field(1000.0, gt=0, description="GB/s per channel; HBM in SimPhony (papers.md s.1)")
    energy_pj_per_byte: float = Field(62.4, ge=0, description="pJ/byte; HBM in SimPhony (papers.md s.1)")
    latency_ns: float = Field(100.0, ge=0, description="ns access latency (chosen, typical HBM)")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the memory controller")


class GlobalBufferParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capacity_kib: int = Field(2048, gt=0, description="KiB on-chip global buffer (chosen)")
    energy_pj_per_byte: float = Field(
        2.5, ge=0, description="pJ/byte; Horowitz ISSCC'14 large-SRAM access, ~2x the 8 KB figure")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the global buffer")


def dram_cost(p: DramParams, nbytes: int) -> Cost:
    """Energy of moving ``nbytes`` to or from DRAM; time is the channel occupancy bytes / bandwidth."""
    return Cost(dram_ps(p, nbytes), {"dram": nbytes * p.energy_pj_per_byte})


def dram_ps(p: DramParams, nbytes: int) -> int:
    """Channel occupancy in ps (GB/s = bytes per ns)."""
    return int(round(nbytes / p.bandwidth_gbps * 1000))
