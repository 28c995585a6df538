"""Digital vector/SIMD core: softmax, norms, activations, pooling, embedding, and GEMM fallback.

Components: ``lanes`` 8-bit MAC lanes (each also a vector ALU) and a local SRAM buffer. Energy per
MAC and per vector op, MAC area, from Horowitz ISSCC'14 at 45 nm, scaled to ``tech_nm`` by
``hw/tech.py``; the buffer by the SRAM law of ``hw/sram.py``; idle power: the buffer's leakage
plus 10% of the lanes' full-rate power (chosen: logic leakage share of a 45 nm HP process).
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from . import sram, tech
from .bounds import Bounded
from .cost import Cost, Part, cycles_to_ps
from .ops import Op, VECTOR_KINDS

_HZ = "Horowitz ISSCC'14 (45 nm)"
LOGIC_LEAK_SHARE = 0.1


class DigitalParams(Bounded):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["digital"] = "digital"
    lanes: int = Field(256, gt=0, le=10_000_000, description="MACs (or vector ops) per cycle (chosen: 256-lane SIMD)")
    freq_ghz: float = Field(1.0, gt=0, le=100, description="GHz clock (chosen)")
    tech_nm: float = Field(45.0, ge=tech.MIN_NM, le=tech.MAX_NM, description=f"CMOS node, nm; {_HZ}")
    mac_pj: float = Field(0.23, ge=0, le=1e6, description=f"pJ per 8-bit MAC at 45 nm; {_HZ}: 0.2 mult + 0.03 add")
    mac_um2: float = Field(318.0, gt=0, le=1e8, description=f"µm² per 8-bit MAC lane at 45 nm; {_HZ}: 282 mult + 36 add")
    ops_per_element: dict[str, int] = Field(
        default_factory=lambda: {"elementwise": 1, "softmax": 5, "norm": 5, "pool": 1, "embedding": 1},
        description="vector ops per output element by op kind (chosen: softmax = max, sub, exp, sum, div)")
    op_energy_pj: dict[str, float] = Field(
        default_factory=lambda: {"elementwise": 0.4, "softmax": 0.4, "norm": 0.4, "pool": 0.03, "embedding": 0.0},
        description=f"pJ per vector op by op kind at 45 nm; {_HZ}: fp16 add 0.4, 8-bit add 0.03; embedding is a copy")
    buffer_kib: int = Field(256, gt=0, le=1_048_576, description="KiB local SRAM buffer (chosen)")
    buffer_pj_per_byte: float | None = Field(
        None, ge=0, description="pJ/byte buffer access (default: the SRAM law of hw/sram.py at buffer_kib)")
    weight_kib: int = Field(
        0, ge=0, le=1_048_576, description="KiB of local memory keeping static weights, like a core's L2 (chosen "
        "default 0: every layer's weights stream from DRAM); the shards that fit, first come, stay local")

    @field_validator("ops_per_element", "op_energy_pj")
    @classmethod
    def _by_kind(cls, v: dict, info):
        bad = sorted(set(v) - VECTOR_KINDS)
        if bad:
            raise ValueError(f"{info.field_name}: unknown op kind {bad[0]!r} (kinds: {', '.join(sorted(VECTOR_KINDS))})")
        for k, x in v.items():
            low_ok = x >= 0 if info.field_name == "op_energy_pj" else x >= 1
            if not (low_ok and x <= 1e6):
                raise ValueError(f"{info.field_name}.{k} must be {'>= 0' if info.field_name == 'op_energy_pj' else '>= 1'} "
                                 f"and <= 1e6 (got {x!r})")
        return v

    @property
    def buffer_pj(self) -> float:
        return sram.pj_or_law(self.buffer_pj_per_byte, self.buffer_kib, self.tech_nm)


def parts(p: DigitalParams) -> list[Part]:
    e45 = tech.energy(p.tech_nm, 45)
    lane_mw = p.mac_pj * e45 * p.freq_ghz          # pJ x GHz = mW at full rate
    out = [Part("mac", p.lanes, p.mac_um2 * tech.area(p.tech_nm, 45), LOGIC_LEAK_SHARE * lane_mw, _HZ),
           sram.part("buffer", 1, p.buffer_kib, p.tech_nm)]
    if p.weight_kib:   # reads are charged at the buffer's pJ/byte (every GEMM reads its weights there)
        out.append(sram.part("weight_memory", 1, p.weight_kib, p.tech_nm))
    return out


def cycles(p: DigitalParams, op: Op) -> tuple[int, int]:
    """(busy cycles, busy cycles) at ``lanes`` MACs or vector ops per cycle."""
    ops = op.macs if op.is_gemm else op.vector_ops * p.ops_per_element.get(op.kind, 1)
    c = math.ceil(ops / p.lanes)
    return c, c


def cost(p: DigitalParams, op: Op) -> Cost:
    """GEMMs at ``lanes`` MACs per cycle; vector ops at ``lanes`` ops per cycle."""
    in_bytes = (op.batch * op.d * op.m if op.is_gemm else op.vector_ops) * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    buf = (in_bytes + out_bytes + op.weight_bytes) * p.buffer_pj
    e45 = tech.energy(p.tech_nm, 45)
    if op.is_gemm:
        cyc = math.ceil(op.macs / p.lanes)
        return Cost(cycles_to_ps(cyc, p.freq_ghz), {"mac": op.macs * p.mac_pj * e45, "buffer": buf})
    ops = op.vector_ops * p.ops_per_element.get(op.kind, 1)
    cyc = math.ceil(ops / p.lanes)
    return Cost(cycles_to_ps(cyc, p.freq_ghz), {"alu": ops * p.op_energy_pj.get(op.kind, 0.4) * e45, "buffer": buf})
