"""prismsim — event-driven simulation and mapping of heterogeneous photonic + ReRAM accelerators.

This file is the top-level ``prismsim`` package (mapped in pyproject.toml); the subpackages live
in the top-level folders ``hw/``, ``mapper/``, ``sim/`` and ``traces/``. For notebooks::

    from prismsim import simulate, load_run
    r = simulate(arch="hybrid", model="pythia-70m", strategy="greedy")
    r.summary, r.events, r.units, r.layers
"""
from __future__ import annotations

__all__ = ["simulate", "load_run", "Run"]


def __getattr__(name: str):
    if name in __all__:
        from prismsim.sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'prismsim' has no attribute {name!r}")
