"""The README's "How to extend": its examples run as written and do what they say; the recipe for
a unit kind names every place a kind must be registered."""
import re
import typing
from pathlib import Path

from prismsim.hw import spec, units
from prismsim.mapper.mapping import validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import STRATEGIES, make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> list[str]:
    part = README.read_text().split("## How to extend\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", part, re.S)


def test_the_examples_run_and_register():
    for code in _examples():
        exec(compile(code, "README", "exec"), {})
    try:
        from prismsim.mapper.load import load_model
        wl = load_model("tiny-cnn?batch=4")
        arch = spec.load_arch("hybrid")
        m = make_mapping("first-capable", wl, arch)
        validate(m, arch, wl)
        res, _ = simulate_plan(build_plan(arch, wl, m), trace="none")
        assert res.macs == sum(x.op.macs for x in wl.layers) > 0
    finally:
        ZOO.pop("tiny-cnn", None)
        STRATEGIES.pop("first-capable", None)


def test_every_unit_kind_is_registered_where_the_recipe_says():
    kinds = set(spec.KINDS)
    params = {typing.get_args(p.model_fields["kind"].annotation)[0] for p in spec.PARAMS}
    assert kinds == params == set(units._COST) == set(units._CYCLES) == set(units._PARTS)
    assert set(units._TILING) == set(units._WRITE) == units.RESIDENT <= kinds
    text = README.read_text()
    for name in ("UnitParams", "KINDS", "PARAMS", "_COST", "_CYCLES", "_PARTS", "_TILING", "_WRITE", "can_run"):
        assert f"`{name}`" in text
