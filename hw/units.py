"""The one cost contract: ``unit_cost(unit, op) -> Cost``, used by the analytical model and the simulator."""
from __future__ import annotations

from . import digital, photonic, reram
from .cost import Cost
from .ops import GEMM_KINDS, Op
from .spec import Unit

_COST = {"photonic": photonic.cost, "reram": reram.cost, "digital": digital.cost}


def can_run(unit: Unit, op: Op) -> str | None:
    """None if ``unit`` can run ``op``, else the reason it cannot."""
    if unit.kind == "digital":
        return None
    if op.kind not in GEMM_KINDS:
        return f"a {unit.kind} unit runs only gemm/conv/matmul, not {op.kind}"
    if unit.kind == "reram" and not op.static_weights:
        return "a reram unit cannot run a dynamic matmul (both operands are activations; weights must be written)"
    return None


def unit_cost(unit: Unit, op: Op) -> Cost:
    """Time and dynamic energy of ``op`` on ``unit`` (the unit's own buffer traffic included)."""
    return _COST[unit.kind](unit.params, op)


def crossbars_needed(unit: Unit, op: Op) -> int:
    """Crossbars a static-weight shard occupies on a ReRAM unit (0 elsewhere)."""
    return reram.crossbars_needed(unit.params, op) if unit.kind == "reram" else 0  # type: ignore[arg-type]


def leakage_mw(unit: Unit) -> float:
    return unit.params.leakage_mw
