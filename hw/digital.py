"""Digital vector/SIMD core: softmax, norms, activations, pooling, embedding, and GEMM fallback."""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost, cycles_to_ps
from .ops import Op

_HZ = "Horowitz ISSCC'14 (45 nm)"


class DigitalParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["digital"] = "digital"
    lanes: int = Field(256, gt=0, description="MACs (or vector ops) per cycle (chosen: 256-lane SIMD)")
    freq_ghz: float = Field(1.0, gt=0, description="GHz clock (chosen)")
    mac_pj: float = Field(0.23, ge=0, description=f"pJ per 8-bit MAC; {_HZ}: 0.2 mult + 0.03 add")
    ops_per_element: dict[str, int] = Field(
        default_factory=lambda: {"elementwise": 1, "softmax": 5, "norm": 5, "pool": 1, "embedding": 1},
        description="vector ops per output element by op kind (chosen: softmax = max, sub, exp, sum, div)")
    op_energy_pj: dict[str, float] = Field(
        default_factory=lambda: {"elementwise": 0.4, "softmax": 0.4, "norm": 0.4, "pool": 0.03, "embedding": 0.0},
        description=f"pJ per vector op by op kind; {_HZ}: fp16 add 0.4, 8-bit add 0.03; embedding is a copy")
    buffer_kib: int = Field(256, gt=0, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float = Field(
        1.25, ge=0, description="pJ/byte SRAM access; Horowitz ISSCC'14: 10 pJ per 64-bit read of 8 KB SRAM")
    leakage_mw: float = Field(50.0, ge=0, description="mW idle leakage (chosen)")


def cycles(p: DigitalParams, op: Op) -> tuple[int, int]:
    """(busy cycles, busy cycles) at ``lanes`` MACs or vector ops per cycle."""
    ops = op.macs if op.is_gemm else op.vector_ops * p.ops_per_element.get(op.kind, 1)
    c = math.ceil(ops / p.lanes)
    return c, c


def cost(p: DigitalParams, op: Op) -> Cost:
    """GEMMs at ``lanes`` MACs per cycle; vector ops at ``lanes`` ops per cycle."""
    in_bytes = (op.batch * op.d * op.m if op.is_gemm else op.vector_ops) * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    buf = (in_bytes + out_bytes + op.weight_bytes) * p.buffer_pj_per_byte
    if op.is_gemm:
        cyc = math.ceil(op.macs / p.lanes)
        return Cost(cycles_to_ps(cyc, p.freq_ghz), {"mac": op.macs * p.mac_pj, "buffer": buf})
    ops = op.vector_ops * p.ops_per_element.get(op.kind, 1)
    cyc = math.ceil(ops / p.lanes)
    return Cost(cycles_to_ps(cyc, p.freq_ghz), {"alu": ops * p.op_energy_pj.get(op.kind, 0.4), "buffer": buf})
