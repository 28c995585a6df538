"""The one cost contract: ``unit_cost(unit, op) -> Cost``, used by the analytical model and the simulator."""
from __future__ import annotations

from . import digital, photonic, reram, sram_pim
from .cost import Cost
from .ops import GEMM_KINDS, Op
from .spec import Unit

_COST = {"photonic": photonic.cost, "reram": reram.cost, "sram_pim": sram_pim.cost, "digital": digital.cost}
_CYCLES = {"photonic": photonic.cycles, "reram": reram.cycles, "sram_pim": sram_pim.cycles, "digital": digital.cycles}
_TILING = {"reram": reram.tiling, "sram_pim": sram_pim.tiling}
_WRITE = {"reram": reram.write_cost, "sram_pim": sram_pim.write_cost}
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


def unit_cost(unit: Unit, op: Op) -> Cost:
    """Time and dynamic energy of ``op`` on ``unit`` (the unit's own buffer traffic included)."""
    return _COST[unit.kind](unit.params, op)


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


def leakage_mw(unit: Unit) -> float:
    return unit.params.leakage_mw
