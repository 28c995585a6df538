"""Hardware: what each unit, memory and link costs. Pure data and functions, no SimPy."""
from .cost import Cost, category_of
from .ops import Op
from .spec import Arch, load_arch, list_presets
from .units import unit_cost, can_run

__all__ = ["Cost", "category_of", "Op", "Arch", "load_arch", "list_presets", "unit_cost", "can_run"]
