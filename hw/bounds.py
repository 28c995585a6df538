"""Bounds every numeric field of a hardware model must respect, so that a value that passes
validation can never overflow a cost (a clock of 1e-320 GHz, a loss of 1e6 dB, a count of 1e30)."""
from __future__ import annotations

import math

from pydantic import BaseModel, model_validator

LARGEST = 1e12    # no count, size, energy or rate of a chip component is larger
SMALLEST = 1e-9   # no non-zero magnitude is smaller (rates, clocks and energies alike)
WIDER = {"endurance_writes": 1e18}   # cell endurance may be given as "practically unlimited"


class Bounded(BaseModel):
    """A hardware model whose numeric fields (and the numbers in its dict fields) are finite, at
    most ``LARGEST`` in magnitude, and zero or at least ``SMALLEST``."""

    @model_validator(mode="after")
    def _bounded(self):
        for name in type(self).model_fields:
            value = getattr(self, name)
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, v in items:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue
                where = f"{name}.{key}" if key is not None else name
                top = WIDER.get(name, LARGEST)
                if not math.isfinite(v) or abs(v) > top:
                    raise ValueError(f"{where} must be at most {top:g} in magnitude (got {v!r})")
                if v and abs(v) < SMALLEST:
                    raise ValueError(f"{where} must be 0 or at least {SMALLEST:g} in magnitude (got {v!r})")
        return self
