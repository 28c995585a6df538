"""The one cost contract: ``unit_cost(unit, op) -> Cost``, used by the analytical model and the simulator."""
from __future__ import annotations

from . import digital, photonic, reram, sram_pim
from .cost import Cost, Part
from .ops import GEMM_KINDS, Op
from .spec import Unit

_COST = {"photonic": photonic.cost, "reram": reram.cost, "sram_pim": sram_pim.cost, "digital": digital.cost}
_CYCLES = {"photonic": photonic.cycles, "reram": reram.cycles, "sram_pim": sram_pim.cycles, "digital": digital.cycles}
_TILING = {"reram": reram.tiling, "sram_pim": sram_pim.tiling}
_WRITE = {"reram": reram.write_cost, "sram_pim": sram_pim.write_cost}
_PARTS = {"photonic": photonic.parts, "reram": reram.parts, "sram_pim": sram_pim.parts, "digital": digital.parts}
RESIDENT = frozenset(_TILING)  # unit kinds that hold static weights in their arrays for the whole run


def can_run(unit: Unit, op: Op) -> str | None:
    """None if ``unit`` can run ``op``, else the reason it cannot."""
    if unit.kind == "digital":
        return None
    if unit.kind == "reram" and op.kind in reram.PERIPHERY_KINDS:
        return None  # the tile's digital periphery
    if op.kind not in GEMM_KINDS:
        allowed = "gemm/conv/matmul, elementwise, pool" if unit.kind == "reram" else "gemm/conv/matmul"
        return f"a {unit.kind} unit runs only {allowed}, not {op.kind}"
    if unit.kind in RESIDENT and not op.static_weights:
        return f"a {unit.kind} unit cannot run a dynamic matmul (both operands are activations; weights must be written)"
    return None


def unit_cost(unit: Unit, op: Op, feed_arrays: int = 0) -> Cost:
    """Time and dynamic energy of ``op`` on ``unit`` (the unit's own buffer traffic included);
    ``feed_arrays``: memory-mode arrays of a dual-mode (ReRAM) unit feeding its operands."""
    if feed_arrays and unit.kind == "reram":
        return reram.cost(unit.params, op, feed_arrays)  # type: ignore[arg-type]
    return _COST[unit.kind](unit.params, op)


def feed_wait_ps(unit: Unit, op: Op, feed_arrays: int = 0) -> int:
    """What of ``unit_cost``'s time a unit waits for operands (a dual-mode unit's feed roofline)."""
    return reram.feed_wait_ps(unit.params, op, feed_arrays) if unit.kind == "reram" else 0  # type: ignore[arg-type]


def unit_cycles(unit: Unit, op: Op) -> tuple[int, int]:
    """(switching / busy cycles, static cycles) of ``op`` on ``unit`` in the unit's own clock."""
    return _CYCLES[unit.kind](unit.params, op)


def arrays_needed(unit: Unit, op: Op) -> int:
    """Arrays (ReRAM crossbars, SRAM-PIM macros) a static-weight shard occupies (0 on other kinds
    and for ops without static weights)."""
    if unit.kind not in RESIDENT or not op.weight_bytes:
        return 0
    return _TILING[unit.kind](unit.params, op)[2]  # type: ignore[arg-type]


def write_cost(unit: Unit, op: Op) -> Cost:
    """Writing a static-weight shard into a weight-resident unit's arrays."""
    return _WRITE[unit.kind](unit.params, op)


def writes_per_cell_limit(unit: Unit) -> float:
    """Writes a cell survives (ReRAM endurance; SRAM: unlimited)."""
    return unit.params.endurance_writes if unit.kind == "reram" else float("inf")  # type: ignore[union-attr]


def arrays_available(unit: Unit) -> int:
    return unit.params.arrays if unit.kind in RESIDENT else 0  # type: ignore[union-attr]


def busy_ps(unit: Unit, op: Op, feed_arrays: int = 0) -> dict[str, int]:
    """How long each component of ``unit`` is busy running ``op`` (at most the op's time)."""
    if unit.kind == "reram":
        return reram.busy_ps(unit.params, op, feed_arrays)  # type: ignore[arg-type]
    if unit.kind == "photonic":
        return photonic.busy_ps(unit.params, op)  # type: ignore[arg-type]
    c = unit_cost(unit, op)
    return {k: c.time_ps for k in c.energy_pj}


def parts(unit: Unit) -> list[Part]:
    """The unit's components: count, area and idle power of each."""
    return _PARTS[unit.kind](unit.params)


def area_um2(unit: Unit) -> float:
    """The unit's area: the sum over its components, µm²."""
    return sum(x.total_area_um2 for x in parts(unit))


def leakage_mw(unit: Unit) -> float:
    """The unit's idle power: the sum over its components, mW."""
    return sum(x.total_leakage_mw for x in parts(unit))


def streamed_weight_bytes(unit: Unit, op: Op) -> int:
    """Bytes of a shard's static weights moved to ``unit`` (from DRAM, or to be written): at the
    unit's own weight precision where it has one (a 4-bit photonic core's weights are half a byte
    each; a ReRAM or SRAM-PIM unit stores weight_bits per weight), else the layer's."""
    if unit.kind == "photonic":
        return photonic.streamed_weight_bytes(unit.params, op)  # type: ignore[arg-type]
    return op.weight_bytes_at(getattr(unit.params, "weight_bits", op.weight_bits))


def local_weight_bytes(unit: Unit) -> int:
    """Bytes of static weights a unit without weight arrays keeps locally (a digital core's
    ``weight_kib``); 0: its weights stream from DRAM for every layer."""
    return getattr(unit.params, "weight_kib", 0) * 1024 if unit.kind not in RESIDENT else 0


def resolution_warnings(units: dict[str, Unit]) -> list[str]:
    """One line per ReRAM unit group whose ADC cannot resolve a full column sum, naming the bits
    lost (the functional kernels quantize with that coarser step: the loss is never free)."""
    seen, out = set(), []
    for u in units.values():
        if u.kind != "reram" or id(u.params) in seen:
            continue
        seen.add(id(u.params))
        p = u.params
        need = p.adc_needed_bits  # type: ignore[union-attr]
        if p.adc_bits < need:  # type: ignore[union-attr]
            out.append(f"unit {u.name}: adc_bits {p.adc_bits} < the {need} bits {p.rows} rows x {p.bits_per_cell}-bit "  # type: ignore[union-attr]
                       f"cells x {p.dac_bits}-bit DACs need: {need - p.adc_bits} bit(s) lost to quantization")  # type: ignore[union-attr]
    return out
