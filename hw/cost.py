"""The result type every cost function returns, and the energy categories devices fall into."""
from __future__ import annotations

from dataclasses import dataclass, field

# Device (energy key) -> reporting category. Categories: compute, conversion, laser_static, memory,
# noc, static (leakage while powered).
_CATEGORIES: dict[str, str] = {
    # photonic (SimPhony device names)
    "mzm_op1": "compute", "mzm_op2": "compute", "pd": "compute",
    "dac_op1": "conversion", "dac_op2": "conversion", "adc": "conversion", "tia": "conversion",
    "mrr": "laser_static", "laser": "laser_static",
    # reram / digital
    "cell": "compute", "shift_add": "compute", "dac": "conversion",
    "mac": "compute", "alu": "compute",
    "write": "memory",
    # memories and network
    "dram": "memory", "global_buffer": "memory", "array_memory": "memory", "buffer": "memory",
    "router": "noc", "link": "noc",
    "leakage": "static", "switch": "compute",
    "sample_hold": "conversion", "input_register": "memory", "output_register": "memory", "bus": "memory",
}


def category_of(device: str) -> str:
    """Reporting category of an energy key (unknown keys count as compute)."""
    return _CATEGORIES.get(device, "compute")


@dataclass(frozen=True)
class Cost:
    """Cost of one operation shard on one resource.

    time_ps: occupancy of the resource in integer picoseconds.
    energy_pj: dynamic energy in picojoules, keyed by device (see ``category_of``).
    """

    time_ps: int
    energy_pj: dict[str, float] = field(default_factory=dict)

    @property
    def total_pj(self) -> float:
        return float(sum(self.energy_pj.values()))


def ps(seconds_like_ns: float) -> int:
    """Nanoseconds (float) -> integer picoseconds, rounded to nearest."""
    return int(round(seconds_like_ns * 1000.0))


def cycles_to_ps(cycles: int, freq_ghz: float) -> int:
    """Cycles at ``freq_ghz`` -> integer picoseconds (rounded up so time never shrinks)."""
    period = 1000.0 / freq_ghz
    t = cycles * period
    ti = int(round(t))
    return ti if abs(t - ti) < 1e-6 else int(t) + 1


@dataclass(frozen=True)
class Part:
    """One kind of component in a unit: how many there are, each one's area and idle power, and
    where its law comes from. A unit's area and leakage are the sums over its parts."""

    name: str
    count: float
    area_um2: float       # each
    leakage_mw: float     # each, while powered and idle
    source: str

    @property
    def total_area_um2(self) -> float:
        return self.count * self.area_um2

    @property
    def total_leakage_mw(self) -> float:
        return self.count * self.leakage_mw
