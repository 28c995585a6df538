"""ReRAM crossbar unit: bit-sliced, bit-serial analog MVM in ISAAC / PUMA / NeuroSim conventions.

A unit is a group of ``crossbars`` arrays of rows x cols cells. A static weight matrix W[N x D]
is stored transposed: D along crossbar rows, each weight's ``slices`` = ceil(weight_bits /
bits_per_cell) cells (x2 for differential encoding) along columns. Inputs are streamed
bit-serially ``dac_bits`` at a time; every step reads all used crossbars in parallel and
converts each used column with a shared ADC (``cols_per_adc`` columns per ADC).

Costs are the sum over named components (``parts`` for count, area and idle power,
``action_pj`` for the energy of one action of each), each with its scaling rule:

* cell array: P_cell x t_read per cell per step; area rows x cols x cell_area_f2 x F^2;
* read time: the drive/settle/sample time plus the word- and bit-line RC (rows^2 + cols^2);
  a step is the longer of the read and the ADC sweep over ``cols_per_adc`` columns;
* DACs (one per row): energy x 2^b / (b + 1), area x 2^(b-1) in their bits b;
* sample-and-hold (one per column), shift-and-add (one per conversion), input/output registers
  (SRAM law at their capacity), the buffer-to-array bus and the tile buffer (SRAM law or given);
* ADCs (``cols / cols_per_adc`` per crossbar): the survey law of ``hw/adc.py`` in bits, rate and
  node, or a published part's energy;
* every CMOS part scales with ``tech_nm`` by ``hw/tech.py`` from the node its source was at.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from . import adc, sram, tech
from .bounds import Bounded
from .cost import Cost, Part
from .errors import PrismError
from .ops import Op

_ISAAC = "ISAAC (Shafiee et al., ISCA'16) Table I"


class ReramParams(Bounded):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["reram"] = "reram"
    rows: int = Field(128, gt=0, le=4096, description=f"crossbar rows; {_ISAAC}")
    cols: int = Field(128, gt=0, le=4096, description=f"crossbar columns; {_ISAAC}")
    crossbars: int = Field(3072, gt=0, le=10_000_000, description="crossbars per unit (chosen: 32 ISAAC tiles of 96)")
    bits_per_cell: int = Field(2, gt=0, le=8, description=f"bits per cell; {_ISAAC}")
    weight_bits: int = Field(8, gt=0, le=32, description="bits per weight (chosen: 8-bit models)")
    input_bits: int = Field(8, gt=0, le=32, description="bits per input activation (chosen: 8-bit)")
    dac_bits: int = Field(1, gt=0, le=8, description=f"input bits applied per step (1-bit DACs); {_ISAAC}")
    adc_bits: int = Field(
        9, gt=0, le=16, description="ADC resolution (chosen: the 9 bits 128 rows x 2-bit cells x 1-bit DACs need; "
        "ISAAC's 8 rely on its weight-flip encoding, not modelled)")
    adc_type: Literal["sar", "flash"] = Field("sar", description="ADC architecture (ISAAC: SAR)")
    cols_per_adc: int | None = Field(
        None, gt=0, description=f"columns sharing one ADC, time-multiplexed (default: all of a crossbar's, one ADC per "
        f"crossbar); {_ISAAC}")
    adc_gsps: float = Field(1.28, gt=0, le=100, description=f"GS/s per ADC; {_ISAAC}")
    adc_pj: float | None = Field(
        None, gt=0, description="pJ per conversion of a published ADC (default: the survey law of hw/adc.py)")
    adc_um2: float | None = Field(None, gt=0, description="µm² per ADC of a published part (default: the survey law)")
    tech_nm: float = Field(32.0, ge=tech.MIN_NM, le=tech.MAX_NM, description=f"CMOS node of the periphery, nm; {_ISAAC}")
    encoding: Literal["differential", "offset"] = Field(
        "differential", description="signed weights: two arrays (differential) or one plus offset")
    read_latency_ns: float = Field(
        100.0, gt=0, le=1e6, description=f"ns to drive, settle and sample a crossbar read (before wire RC); {_ISAAC}")
    wire_ohm_per_cell: float = Field(
        1.0, ge=0, le=1e6, description="ohm of word/bit line per cell pitch (chosen: Cu at 32 nm, 2F pitch)")
    wire_ff_per_cell: float = Field(
        0.0128, ge=0, le=1e3, description="fF of word/bit line per cell pitch (chosen: 0.2 fF/um, 2F pitch)")
    cell_read_nw: float = Field(
        18.3, ge=0, le=1e6, description=f"nW per cell while a read is driven; {_ISAAC}: 2.4 mW per 8 arrays of 128x128")
    cell_area_f2: float = Field(4.0, gt=0, le=1e4, description="cell area in F^2 (4F^2 crossbar cell; ISAAC, NeuroSim)")
    dac_pj: float = Field(
        0.39, ge=0, le=1e6, description=f"pJ per 1-bit DAC drive per step at 32 nm; {_ISAAC}: 4 mW per 1024 DACs, 100 ns")
    dac_um2: float = Field(0.166, ge=0, le=1e6, description=f"µm² per 1-bit DAC at 32 nm; {_ISAAC}: 0.00017 mm² per 1024")
    sample_hold_pj: float = Field(
        0.00098, ge=0, le=1e6, description=f"pJ per sample at 32 nm; {_ISAAC}: 10 uW per 1024 S+H, 100 ns")
    sample_hold_um2: float = Field(0.039, ge=0, le=1e6, description=f"µm² per S+H at 32 nm; {_ISAAC}: 0.00004 mm² per 1024")
    shift_add_pj: float = Field(
        0.0195, ge=0, le=1e6, description=f"pJ per shift-and-add of one conversion at 32 nm; {_ISAAC}: 0.2 mW per IMA of 8 ADCs")
    shift_add_um2: float = Field(60.0, ge=0, le=1e7, description=f"µm² per shift-and-add unit (one per 2 ADCs); {_ISAAC}")
    bus_pj_per_byte: float = Field(
        0.43, ge=0, le=1e6, description=f"pJ per byte between the buffer and the arrays at 32 nm; {_ISAAC}: 7 mW bus")
    bus_um2_per_crossbar: float = Field(
        937.5, ge=0, le=1e8, description=f"µm² of buffer-to-array bus per crossbar at 32 nm; {_ISAAC}: 0.09 mm² per 96")
    write_latency_ns: float = Field(
        1000.0, gt=0, le=1e9, description="ns to program one row (program-and-verify; chosen, NeuroSim order)")
    write_pj_per_cell: float = Field(10.0, ge=0, le=1e9, description="pJ to program one cell (chosen, NeuroSim order)")
    endurance_writes: float = Field(1e6, gt=0, description="writes a cell survives (ReRAM: 1e6-1e9, chosen low end)")
    mem_read_pj_per_byte: float = Field(
        1.0, ge=0, description="pJ/byte read in memory mode (sense amplifiers, no ADC; chosen)")
    mode_switch_ns: float = Field(1.0, ge=0, description="ns to flip an array between compute and memory mode (CMSwitch: 1 cycle at 1 GHz)")
    array_port_bits: int | None = Field(
        None, gt=0, le=65_536, description="bits an array moves per read or write step when it is not computing "
        "(memory-mode reads and writes, programming its weights); default: a whole row, cols x bits_per_cell "
        "(chosen: an SRAM-like wide port)")
    feed_bits: int | None = Field(
        None, gt=0, le=1_048_576, description="bits per read step the tile buffer delivers to the compute arrays' "
        "input registers (the operand-feed roofline); default: not a bound (chosen: ISAAC sizes its bus to its reads)")
    noise_model: Literal["pcm", "reram"] = Field(
        "reram", description="non-idealities: ReRAM with the variations below (the default: these are ReRAM "
        "crossbars) or PCM-like (aihwkit, Nandakumar et al.: drift; for PCM units, e.g. LionHeart's)")
    g_max_us: float = Field(25.0, gt=0, description="uS maximum conductance (aihwkit PCM model) [functional only: accuracy]")
    prog_sigma: float = Field(0.03, ge=0, description="ReRAM variant: programming sigma, fraction of g_max (chosen) [functional only: accuracy]")
    read_sigma: float = Field(0.01, ge=0, description="ReRAM variant: read-noise sigma, fraction of g_max (chosen) [functional only: accuracy]")
    drift_nu: float = Field(0.0, ge=0, description="ReRAM variant: drift exponent (chosen: ReRAM barely drifts) [functional only: accuracy]")
    stuck_at_0: float = Field(0.0, ge=0, le=1, description="fraction of cells stuck at g = 0 (chosen: none) [functional only: accuracy]")
    stuck_at_1: float = Field(0.0, ge=0, le=1, description="fraction of cells stuck at g_max (chosen: none) [functional only: accuracy]")
    periphery_lanes: int = Field(
        32, gt=0, le=1_000_000, description="ops per cycle of the tile's digital periphery for activations and pooling "
        "(chosen; ISAAC sigmoid/max-pool units, PUMA vector functional unit)")
    periphery_ghz: float = Field(1.0, gt=0, le=100, description="GHz periphery clock (chosen)")
    periphery_pj_per_op: float = Field(0.03, ge=0, description="pJ per periphery op at 45 nm; Horowitz ISSCC'14 8-bit add")
    buffer_kib: int = Field(64, gt=0, le=1_048_576, description=f"KiB tile eDRAM/SRAM buffer; {_ISAAC} (64 KB eDRAM)")
    buffer_pj_per_byte: float | None = Field(
        None, ge=0, description="pJ/byte buffer access (default: the SRAM law of hw/sram.py at buffer_kib)")

    @model_validator(mode="after")
    def _limits(self) -> "ReramParams":
        if self.cols_per_adc is not None and self.cols_per_adc > self.cols:
            raise ValueError(f"cols_per_adc {self.cols_per_adc} exceeds cols {self.cols} (an ADC serves columns of one crossbar)")
        if self.dac_bits > self.input_bits:
            raise ValueError(f"dac_bits {self.dac_bits} exceeds input_bits {self.input_bits}")
        return self

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
    def read_ns(self) -> float:
        """A crossbar read: drive, settle and sample, plus the distributed RC of a bit line (rows
        cells) and a word line (cols cells), Elmore 0.38 RC each."""
        rc_ns = 0.38 * self.wire_ohm_per_cell * self.wire_ff_per_cell * 1e-6 * (self.rows ** 2 + self.cols ** 2)
        return self.read_latency_ns + rc_ns

    @property
    def step_ps(self) -> int:
        """One bit-serial step: the crossbar read or the ADC sweep over its columns, whichever is longer."""
        adc_ns = self.adc_cols / self.adc_gsps
        return int(round(max(self.read_ns, adc_ns) * 1000))

    @property
    def adcs_per_crossbar(self) -> int:
        return math.ceil(self.cols / self.adc_cols)

    @property
    def adc_cols(self) -> int:
        """Columns one ADC converts in turn each step."""
        return self.cols_per_adc if self.cols_per_adc is not None else self.cols

    @property
    def adc_total_pj(self) -> float:
        """Energy of one conversion at the ADC's full rate (dynamic + idle share)."""
        return self.adc_pj if self.adc_pj is not None else adc.energy_pj(self.adc_bits, self.adc_gsps, self.tech_nm, self.adc_type)

    @property
    def adc_needed_bits(self) -> int:
        return adc.needed_bits(self.rows, self.bits_per_cell, self.dac_bits)

    @property
    def port_bytes(self) -> float:
        """Bytes one array reads or writes per step outside compute (its port, or a whole row)."""
        return (self.array_port_bits if self.array_port_bits is not None else self.cols * self.bits_per_cell) / 8

    @property
    def buffer_pj(self) -> float:
        return sram.pj_or_law(self.buffer_pj_per_byte, self.buffer_kib, self.tech_nm)

    @property
    def register_pj(self) -> tuple[float, float]:
        """pJ/byte of the input and output registers (SRAM law at their per-crossbar capacity)."""
        return sram.pj_per_byte(self.input_register_kib, self.tech_nm), sram.pj_per_byte(self.output_register_kib, self.tech_nm)

    @property
    def input_register_kib(self) -> float:
        """One input vector per crossbar: rows x input_bits."""
        return self.rows * self.input_bits / 8 / 1024

    @property
    def output_register_kib(self) -> float:
        """One 16-bit partial sum per weight column group of a crossbar (ISAAC's 256 B per IMA)."""
        return max(1, self.cols // (self.slices * self.polarity)) * 2 / 1024


def parts(p: ReramParams) -> list[Part]:
    """Every component of the unit with its count, area and idle power."""
    t = p.tech_nm
    a32 = tech.area(t, 32)
    n_adc = p.crossbars * p.adcs_per_crossbar
    e_adc = p.adc_total_pj
    adc_area = p.adc_um2 * a32 if p.adc_um2 is not None else adc.area_um2(p.adc_bits, p.adc_gsps, t, p.adc_type, e_adc)
    f_um = t * 1e-3
    return [
        Part("cell", p.crossbars, p.rows * p.cols * p.cell_area_f2 * f_um * f_um, 0.0, f"{p.cell_area_f2:g} F^2 cells"),
        Part("dac", p.crossbars * p.rows, p.dac_um2 * 2 ** (p.dac_bits - 1) * a32, 0.0, _ISAAC),
        Part("sample_hold", p.crossbars * p.cols, p.sample_hold_um2 * a32, 0.0, _ISAAC),
        Part("adc", n_adc, adc_area, adc.leakage_mw(e_adc, p.adc_gsps), adc.SOURCE if p.adc_pj is None else "given"),
        Part("shift_add", math.ceil(n_adc / 2), p.shift_add_um2 * a32, 0.0, _ISAAC),
        sram.part("input_register", p.crossbars, p.input_register_kib, t),
        sram.part("output_register", p.crossbars, p.output_register_kib, t),
        Part("bus", p.crossbars, p.bus_um2_per_crossbar * a32, 0.0, _ISAAC),
        sram.part("buffer", 1, p.buffer_kib, t),
        Part("alu", p.periphery_lanes, 36.0 * tech.area(t, 45), 0.0, "Horowitz ISSCC'14 8-bit adder (36 um² at 45 nm)"),
    ]


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
                {"alu": op.vector_ops * p.periphery_pj_per_op * tech.energy(p.tech_nm, 45),
                 "buffer": nbytes * p.buffer_pj})


def action_pj(p: ReramParams) -> dict[str, float]:
    """Energy of one action of each component: a cell read (one step), a DAC drive, a sample, a
    conversion, a shift-and-add, a register or bus byte."""
    e32 = tech.energy(p.tech_nm, 32)
    ir, orr = p.register_pj
    return {
        "cell": p.cell_read_nw * p.read_ns * 1e-6,              # nW x ns = 1e-6 pJ
        "dac": p.dac_pj * 2 ** p.dac_bits / (p.dac_bits + 1) * e32,   # levels / (bits + 1), 1 at 1 bit
        "sample_hold": p.sample_hold_pj * e32,
        "adc": p.adc_total_pj,                                   # the survey's energy per conversion
        "shift_add": p.shift_add_pj * e32,
        "input_register": ir, "output_register": orr,
        "bus": p.bus_pj_per_byte * e32,
        "buffer": p.buffer_pj,
    }


def feed_ps(p: ReramParams, in_bytes: int, arrays: int = 0) -> int:
    """Time to feed ``in_bytes`` of operands to the compute arrays' input registers: from the tile
    buffer (``feed_bits`` per read step) and from ``arrays`` memory-mode arrays holding them (a
    port each, ``port_bytes`` per step) in parallel; 0 when the buffer's feed is not a bound."""
    if p.feed_bits is None or not in_bytes:
        return 0
    per_step = p.feed_bits / 8 + max(0, arrays) * p.port_bytes
    return int(round(math.ceil(in_bytes / per_step) * p.read_latency_ns * 1000))


def cost(p: ReramParams, op: Op, feed_arrays: int = 0) -> Cost:
    """Time and energy of M input vectors through a shard's crossbars (weights already written),
    or of an activation/pooling op in the periphery. Per read step every used crossbar reads its
    cells, its rows are driven (DACs, reading dac_bits of the input register each), each used
    column is sampled, converted, and shift-added into the output register. The time is the
    larger of the reads and the operand feed (``feed_ps``: a roofline; ``feed_arrays``
    memory-mode arrays feeding this shard widen it)."""
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
    outs = op.batch * rt * op.n                  # partial sums accumulated per step
    in_bytes = op.batch * op.d * op.m * op.act_bits // 8
    out_bytes = op.out_elements * op.act_bits // 8
    e = action_pj(p)
    energy = {
        "cell": reads * cells * e["cell"],
        "dac": reads * dacs * e["dac"],
        "input_register": reads * dacs * p.dac_bits / 8 * e["input_register"],
        "sample_hold": reads * convs * e["sample_hold"],
        "adc": reads * convs * e["adc"],
        "shift_add": reads * convs * e["shift_add"],
        "output_register": reads * outs * 2 * e["output_register"],
        "bus": (in_bytes + out_bytes) * e["bus"],
        "buffer": (in_bytes + out_bytes) * e["buffer"],
    }
    return Cost(max(reads * p.step_ps, feed_ps(p, in_bytes, feed_arrays)), energy)


def feed_wait_ps(p: ReramParams, op: Op, feed_arrays: int = 0) -> int:
    """What of ``cost(p, op, feed_arrays)``'s time the arrays wait for operands beyond their reads
    (0 when they are not feed-bound)."""
    if not op.is_gemm:
        return 0
    return max(0, cost(p, op, feed_arrays).time_ps - op.m * p.steps * p.step_ps)


def busy_ps(p: ReramParams, op: Op, feed_arrays: int = 0) -> dict[str, int]:
    """How long each component is busy during ``cost(p, op)``: the array side (cells, DACs,
    sample-and-hold, input register) for each read, the conversion side (ADC, shift-and-add,
    output register) for each sweep of ``cols_per_adc`` columns, the rest throughout."""
    total = cost(p, op, feed_arrays).time_ps
    if not op.is_gemm:
        return {"alu": total, "buffer": total}
    reads = op.m * p.steps
    read, sweep = int(round(reads * p.read_ns * 1000)), int(round(reads * p.adc_cols / p.adc_gsps * 1000))
    return {"cell": read, "dac": read, "input_register": read, "sample_hold": read, "adc": sweep,
            "shift_add": sweep, "output_register": sweep, "bus": total, "buffer": total}


def write_cost(p: ReramParams, op: Op) -> Cost:
    """Programming a shard's weights: all crossbars in parallel, each over its own write path, one
    row at a time (program-and-verify), a row taking as many write steps as its port needs to
    bring its bytes in (one with the default whole-row port)."""
    rows_per_xbar = min(op.d, p.rows)
    xb = tiling(p, op)[2]
    row_bytes = min(op.n * p.slices * p.polarity, p.cols) * p.bits_per_cell / 8 if xb else 0
    steps = rows_per_xbar * max(1, math.ceil(row_bytes / p.port_bytes))
    return Cost(int(round(steps * p.write_latency_ns * 1000)), {"write": cells_written(p, op) * p.write_pj_per_cell})


def cells_written(p: ReramParams, op: Op) -> int:
    return op.batch * op.d * op.n * p.slices * p.polarity


# --- dual mode (CMSwitch): an array in memory mode is a buffer of rows x cols x bits_per_cell ---

def memory_capacity_bytes(p: ReramParams, arrays: int) -> int:
    """Bytes ``arrays`` crossbars hold in memory mode."""
    return arrays * p.rows * p.cols * p.bits_per_cell // 8


def memory_read_cost(p: ReramParams, nbytes: int, arrays: int) -> Cost:
    """Reading ``nbytes`` spread over ``arrays`` memory-mode crossbars: a port's worth
    (``port_bytes``) per array per read step, arrays in parallel."""
    steps = math.ceil(nbytes / (p.port_bytes * max(1, arrays)))
    return Cost(int(round(steps * p.read_latency_ns * 1000)), {"cell": nbytes * p.mem_read_pj_per_byte})


def memory_write_cost(p: ReramParams, nbytes: int, arrays: int) -> Cost:
    """Writing ``nbytes`` into memory-mode crossbars: program-and-verify a port's worth per array at a time."""
    steps = math.ceil(nbytes / (p.port_bytes * max(1, arrays)))
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
    """``arrays`` crossbars in memory mode: capacity rows x cols x bits/cell each; a port's worth
    (``port_bytes``) per array per (slower of read and write) step; a staged byte is written once
    and read once, so each end of a transfer carries half of write + read energy."""
    row_bytes = p.port_bytes
    step = max(p.read_latency_ns, p.write_latency_ns)
    write_pj_per_byte = 8 / p.bits_per_cell * p.write_pj_per_cell
    return ArrayMemory(tuple(position), arrays * row_bytes / step, p.read_latency_ns,
                       (write_pj_per_byte + p.mem_read_pj_per_byte) / 2, float(memory_capacity_bytes(p, arrays)))


def mode_switch_cost(p: ReramParams, arrays: int) -> Cost:
    """Flipping ``arrays`` crossbars between compute and memory mode (all at once)."""
    return Cost(int(round(p.mode_switch_ns * 1000)) if arrays else 0, {})
