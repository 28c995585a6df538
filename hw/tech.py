"""Technology-node scaling of CMOS logic, SRAM and mixed-signal circuits.

Rule (stated once, used by every component that takes ``tech_nm``): area and energy scale by the
factors of Stillmaker & Baas, "Scaling equations for the accurate prediction of CMOS device
performance from 180 nm to 7 nm", Integration 58 (2017) — area from their per-node area table,
energy from their per-node energy fit evaluated at 0.8 V — interpolated linearly in log(node)
between the tabulated nodes and extended as a power law beyond 7 nm and 130 nm (area ~ node^2,
energy ~ node^0.5, the IRDS trends they cite); delay scales linearly with the node (gate delay ~
feature size). The table is the one the CiMLoop component library (``hwcomponents``) uses, so
``benchmarks/calibrate_components.py`` can check we agree with it.
"""
from __future__ import annotations

import math

# node (nm): (area factor, energy factor), both relative to 45 nm
_TABLE: dict[float, tuple[float, float]] = {
    130: (6.4, 3.068), 90: (2.8, 1.898), 65: (1.5, 1.241), 45: (1.0, 1.0), 32: (0.46, 0.6597),
    20: (0.21, 0.2210), 16: (0.19, 0.1736), 14: (0.17, 0.1388), 10: (0.10, 0.1179), 7: (0.059, 0.0944),
}
_NODES = sorted(_TABLE)  # ascending
MIN_NM, MAX_NM = 1.0, 1000.0   # what a tech_nm field accepts


def _factor(nm: float, which: int) -> float:
    """Factor of ``nm`` relative to 45 nm (``which``: 0 area, 1 energy)."""
    lo, hi = _NODES[0], _NODES[-1]
    if nm <= lo:
        return _TABLE[lo][which] * (nm / lo) ** (2.0 if which == 0 else 0.5)
    if nm >= hi:
        return _TABLE[hi][which] * (nm / hi) ** (2.0 if which == 0 else 0.5)
    for a, b in zip(_NODES, _NODES[1:]):
        if a <= nm <= b:
            t = (math.log(nm) - math.log(a)) / (math.log(b) - math.log(a))
            fa, fb = _TABLE[a][which], _TABLE[b][which]
            return math.exp(math.log(fa) + t * (math.log(fb) - math.log(fa)))
    raise AssertionError("unreachable: nm lies between two tabulated nodes")


def area(to_nm: float, from_nm: float) -> float:
    """Area factor from a part characterised at ``from_nm`` to ``to_nm``."""
    return _factor(to_nm, 0) / _factor(from_nm, 0)


def energy(to_nm: float, from_nm: float) -> float:
    """Energy (and leakage power) factor from ``from_nm`` to ``to_nm``."""
    return _factor(to_nm, 1) / _factor(from_nm, 1)


def delay(to_nm: float, from_nm: float) -> float:
    """Delay factor from ``from_nm`` to ``to_nm`` (linear in the node)."""
    return to_nm / from_nm
