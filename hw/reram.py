"""ReRAM crossbar unit: bit-sliced, bit-serial analog MVM in ISAAC / PUMA / NeuroSim conventions.

A unit is a group of ``crossbars`` arrays of rows x cols cells. A static weight matrix W[N x D]
is stored transposed: D along crossbar rows, each weight's ``slices`` = ceil(weight_bits /
bits_per_cell) cells (x2 for differential encoding) along columns. Inputs are streamed
bit-serially ``dac_bits`` at a time; every step reads all used crossbars in parallel and
converts each used column with a shared ADC (``cols_per_adc`` columns per ADC).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .cost import Cost
from .errors import PrismError
from .ops import Op

_ISAAC = "ISAAC (Shafiee et al., ISCA'16) Table 6"


class ReramParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["reram"] = "reram"
    rows: int = Field(128, gt=0, description=f"crossbar rows; {_ISAAC}")
    cols: int = Field(128, gt=0, description=f"crossbar columns; {_ISAAC}")
    crossbars: int = Field(3072, gt=0, description="crossbars per unit (chosen: 32 ISAAC tiles of 96)")
    bits_per_cell: int = Field(2, gt=0, le=8, description=f"bits per cell; {_ISAAC}")
    weight_bits: int = Field(8, gt=0, le=32, description="bits per weight (chosen: 8-bit models)")
    input_bits: int = Field(8, gt=0, le=32, description="bits per input activation (chosen: 8-bit)")
    dac_bits: int = Field(1, gt=0, le=8, description=f"input bits applied per step (1-bit DACs); {_ISAAC}")
    adc_bits: int = Field(8, gt=0, le=16, description=f"ADC resolution; {_ISAAC}")
    cols_per_adc: int = Field(128, gt=0, description=f"columns sharing one ADC; {_ISAAC}")
    adc_gsps: float = Field(1.28, gt=0, description=f"GS/s per ADC; {_ISAAC}")
    encoding: Literal["differential", "offset"] = Field(
        "differential", description="signed weights: two arrays (differential) or one plus offset")
    read_latency_ns: float = Field(100.0, gt=0, description=f"ns per crossbar read step; {_ISAAC}")
    cell_read_pj: float = Field(
        0.00234, ge=0, description="pJ per cell per read; PUMA (ASPLOS'19): 0.3 mW per 128x128 read of 128 ns")
    adc_pj: float = Field(1.5625, ge=0, description=f"pJ per conversion; {_ISAAC}: 2 mW at 1.28 GS/s")
    dac_pj: float = Field(0.39, ge=0, description=f"pJ per 1-bit DAC drive; {_ISAAC}: 4 mW per 1024 DACs, 100 ns")
    shift_add_pj: float = Field(0.039, ge=0, description=f"pJ per shift-and-add; {_ISAAC}: 0.05 mW at 1.28 GHz")
    write_latency_ns: float = Field(
        1000.0, gt=0, description="ns to program one row (program-and-verify; chosen, NeuroSim order)")
    write_pj_per_cell: float = Field(10.0, ge=0, description="pJ to program one cell (chosen, NeuroSim order)")
    endurance_writes: float = Field(1e6, gt=0, description="writes a cell survives; papers.md: 1e6-1e9")
    mem_read_pj_per_byte: float = Field(
        1.0, ge=0, description="pJ/byte read in memory mode (sense amplifiers, no ADC; chosen)")
    mode_switch_ns: float = Field(1.0, ge=0, description="ns to flip an array between compute and memory mode (CMSwitch: 1 cycle at 1 GHz)")
    noise_model: Literal["pcm", "reram"] = Field(
        "pcm", description="non-idealities: PCM-like (aihwkit; papers.md s.2) or ReRAM with the variations below")
    g_max_us: float = Field(25.0, gt=0, description="uS maximum conductance (aihwkit PCM model, papers.md s.2)")
    prog_sigma: float = Field(0.03, ge=0, description="ReRAM variant: programming sigma, fraction of g_max (chosen)")
    read_sigma: float = Field(0.01, ge=0, description="ReRAM variant: read-noise sigma, fraction of g_max (chosen)")
    drift_nu: float = Field(0.0, ge=0, description="ReRAM variant: drift exponent (chosen: ReRAM barely drifts)")
    stuck_at_0: float = Field(0.0, ge=0, le=1, description="fraction of cells stuck at g = 0 (chosen: none)")
    stuck_at_1: float = Field(0.0, ge=0, le=1, description="fraction of cells stuck at g_max (chosen: none)")
    periphery_lanes: int = Field(
        32, gt=0, description="ops per cycle of the tile's digital periphery for activations and pooling "
        "(chosen; ISAAC sigmoid/max-pool units, PUMA vector functional unit)")
    periphery_ghz: float = Field(1.0, gt=0, description="GHz periphery clock (chosen)")
    periphery_pj_per_op: float = Field(0.03, ge=0, description="pJ per periphery op; Horowitz ISSCC'14 8-bit add")
    buffer_kib: int = Field(64, gt=0, description=f"KiB tile eDRAM/SRAM buffer; {_ISAAC} (64 KB eDRAM)")
    buffer_pj_per_byte: float = Field(
        1.25, ge=0, description="pJ/byte SRAM access; Horowitz ISSCC'14: 10 pJ per 64-bit read of 8 KB SRAM")
    leakage_mw: float = Field(20.0, ge=0, description="mW idle peripheral leakage (chosen)")

    @property
    def arrays(self) -> int:
        """Weight-holding arrays (the capacity static weights are checked against)."""
        return self.crossbars

    @property
    def slices(self) -> int:
        return math.ceil(self.weight_bits / self.bits_per_cell)

    @property
    def polarity(self) -> int:
        return 2 if self.encoding == "differential" else 1

    @property
    def steps(self) -> int:
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def step_ps(self) -> int:
        """One bit-serial step: the crossbar read or the ADC sweep over its columns, whichever is longer."""
        adc_ns = self.cols_per_adc / self.adc_gsps
        return int(round(max(self.read_latency_ns, adc_ns) * 1000))


def tiling(p: ReramParams, op: Op) -> tuple[int, int, int]:
    """(row tiles, column tiles, crossbars) to hold a shard's static weights."""
    phys_cols = op.n * p.slices * p.polarity
    rt = math.ceil(op.d / p.rows)
    ct = math.ceil(phys_cols / p.cols)
    return rt, ct, op.batch * rt * ct


PERIPHERY_KINDS = frozenset({"elementwise", "pool"})


def cycles(p: ReramParams, op: Op) -> tuple[int, int]:
    """(read steps, read steps): every used crossbar reads in parallel, M vectors x input steps;
    for activations and pooling, periphery cycles."""
    if not op.is_gemm:
        c = math.ceil(op.vector_ops / p.periphery_lanes)
        return c, c
    return op.m * p.steps, op.m * p.steps


def periphery_cost(p: ReramParams, op: Op) -> Cost:
    """Activations and pooling in the tile's digital periphery, reading and writing its buffer."""
    c = math.ceil(op.vector_ops / p.periphery_lanes)
    nbytes = (op.vector_ops + op.out_elements) * op.act_bits // 8
    return Cost(int(round(c * 1000 / p.periphery_ghz)),
                {"alu": op.vector_ops * p.periphery_pj_per_op, "buffer": nbytes * p.buffer_pj_per_byte})


def cost(p: ReramParams, op: Op) -> Cost:
    """Time and energy of M input vectors through a shard's crossbars (weights already written),
    or of an activation/pooling op in the periphery."""
    if not op.is_gemm:
        return periphery_cost(p, op)
    rt, ct, xb = tiling(p, op)
    if xb > p.crossbars:
        raise PrismError(f"shard needs {xb} crossbars but the unit has {p.crossbars}")
    phys_cols = op.n * p.slices * p.polarity
    reads = op.m * p.steps                       # crossbar read steps, all crossbars in parallel
    cells = op.batch * op.d * phys_cols
    convs = op.batch * rt * phys_cols
    dacs = op.batch * op.d * ct
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    energy = {
        "cell": reads * cells * p.cell_read_pj,
        "adc": reads * convs * p.adc_pj,
        "dac": reads * dacs * p.dac_pj,
        "shift_add": reads * convs * p.shift_add_pj,
        "buffer": (in_bytes + out_bytes) * p.buffer_pj_per_byte,
    }
    return Cost(reads * p.step_ps, energy)


def write_cost(p: ReramParams, op: Op) -> Cost:
    """Programming a shard's weights: all crossbars in parallel, one row at a time, program-and-verify."""
    rows_per_xbar = min(op.d, p.rows)
    return Cost(int(round(rows_per_xbar * p.write_latency_ns * 1000)), {"write": cells_written(p, op) * p.write_pj_per_cell})


def cells_written(p: ReramParams, op: Op) -> int:
    return op.batch * op.d * op.n * p.slices * p.polarity


# --- dual mode (CMSwitch): an array in memory mode is a buffer of rows x cols x bits_per_cell ---

def memory_capacity_bytes(p: ReramParams, arrays: int) -> int:
    """Bytes ``arrays`` crossbars hold in memory mode."""
    return arrays * p.rows * p.cols * p.bits_per_cell // 8


def memory_read_cost(p: ReramParams, nbytes: int, arrays: int) -> Cost:
    """Reading ``nbytes`` spread over ``arrays`` memory-mode crossbars: one row (cols x bits/cell)
    per array per read step, arrays in parallel."""
    row_bytes = p.cols * p.bits_per_cell / 8
    steps = math.ceil(nbytes / (row_bytes * max(1, arrays)))
    return Cost(int(round(steps * p.read_latency_ns * 1000)), {"cell": nbytes * p.mem_read_pj_per_byte})


def memory_write_cost(p: ReramParams, nbytes: int, arrays: int) -> Cost:
    """Writing ``nbytes`` into memory-mode crossbars: program-and-verify one row per array at a time."""
    row_bytes = p.cols * p.bits_per_cell / 8
    steps = math.ceil(nbytes / (row_bytes * max(1, arrays)))
    cells = math.ceil(nbytes * 8 / p.bits_per_cell)
    return Cost(int(round(steps * p.write_latency_ns * 1000)), {"write": cells * p.write_pj_per_cell})


@dataclass(frozen=True)
class ArrayMemory:
    """A unit's crossbars in memory mode, as a memory endpoint of transfers (same fields as the
    DRAM and global-buffer parameters): rows are written and read at the arrays' own speed."""

    position: tuple
    bandwidth_gbps: float
    latency_ns: float
    energy_pj_per_byte: float
    capacity_bytes: float


def array_memory(p: ReramParams, arrays: int, position: tuple) -> ArrayMemory:
    """``arrays`` crossbars in memory mode: capacity rows x cols x bits/cell each; a row per array
    per (slower of read and write) step; a staged byte is written once and read once, so each
    end of a transfer carries half of write + read energy."""
    row_bytes = p.cols * p.bits_per_cell / 8
    step = max(p.read_latency_ns, p.write_latency_ns)
    write_pj_per_byte = 8 / p.bits_per_cell * p.write_pj_per_cell
    return ArrayMemory(tuple(position), arrays * row_bytes / step, p.read_latency_ns,
                       (write_pj_per_byte + p.mem_read_pj_per_byte) / 2, float(memory_capacity_bytes(p, arrays)))


def mode_switch_cost(p: ReramParams, arrays: int) -> Cost:
    """Flipping ``arrays`` crossbars between compute and memory mode (all at once)."""
    return Cost(int(round(p.mode_switch_ns * 1000)) if arrays else 0, {})
