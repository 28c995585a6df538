"""Off-chip DRAM/HBM and the on-chip global buffer: bandwidth, latency, energy per byte."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost


class DramParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    bandwidth_gbps: float = Field(1000.0, gt=0, description="GB/s per channel; HBM in SimPhony (papers.md s.1)")
    energy_pj_per_byte: float = Field(62.4, ge=0, description="pJ/byte; HBM in SimPhony (papers.md s.1)")
    latency_ns: float = Field(100.0, ge=0, description="ns access latency (chosen, typical HBM)")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the memory controller")


    @property
    def capacity_bytes(self) -> float:
        return float("inf")


class GlobalBufferParams(BaseModel):
    """On-chip SRAM staging buffer at one NoC node: activations too large for a unit's own buffer
    pass through it (or through DRAM when they do not fit here either)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    capacity_kib: int = Field(2048, gt=0, description="KiB on-chip global buffer (chosen)")
    bandwidth_gbps: float = Field(256.0, gt=0, description="GB/s (chosen: 8 banks x 32 B per 1 GHz cycle)")
    latency_ns: float = Field(2.0, ge=0, description="ns access latency (chosen, large banked SRAM)")
    energy_pj_per_byte: float = Field(
        2.5, ge=0, description="pJ/byte; Horowitz ISSCC'14 large-SRAM access, ~2x the 8 KB figure")
    position: tuple[int, ...] = Field((0, 0), description="NoC router of the global buffer")

    @property
    def capacity_bytes(self) -> float:
        return self.capacity_kib * 1024.0


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
