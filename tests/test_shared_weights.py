"""Layers that share one weight matrix (``Layer.weights``: the steps of LLM decode) are held once
by a weight-resident unit: in the capacity check, in the plan's weight writes and in the mappers."""
import dataclasses

import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.analytical import analyze_plan
from prismsim.mapper.mapping import Mapping, Schedule, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.search import build_options, mip_front
from prismsim.mapper.workload import Builder, Workload
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan


def _twice(shared: bool, n: int = 512):
    """Two n x n GEMMs in a row (n = 512: 128 arrays, all of a test ReRAM unit), one matrix if ``shared``."""
    b = Builder(f"twice[{shared}]")
    x = b.gemm("a", n, n, 4, weights="W" if shared else "")
    b.gemm("b", n, n, 4, [x], weights="W" if shared else "")
    return b.build()


def test_shared_weights_fit_once(arch):
    m = Mapping({"a": {"rr0": 1.0}, "b": {"rr0": 1.0}})
    validate(m, arch, _twice(True))
    with pytest.raises(PrismError, match="layer 'b' on unit 'rr0': static weights do not fit"):
        validate(m, arch, _twice(False))
    # split differently, the units hold different slices of the matrix: twice the arrays
    with pytest.raises(PrismError, match="do not fit"):
        validate(Mapping({"a": {"rr0": 1.0}, "b": {"rr0": 0.5, "rr1": 0.5}}), arch, _twice(True))


def test_shared_weights_are_written_once(arch):
    m = Mapping({"a": {"rr0": 0.5, "rr1": 0.5}, "b": {"rr0": 0.5, "rr1": 0.5}},
                schedule=Schedule("sequential", 1, program_weights=True))
    plan = build_plan(arch, _twice(True), m)
    writes = [j for j in plan.jobs if j.kind == "write"]
    assert [(j.layer, j.unit) for j in writes] == [("a", "rr0"), ("a", "rr1")]
    for j in plan.jobs:   # b's jobs wait for the writes of the slices they use
        if j.layer == "b" and j.kind == "compute":
            assert any(d in j.deps for d in (w.id for w in writes if w.unit == j.unit))
    assert sum(t.nbytes for t in plan.transfers if t.kind == "weight") == 512 * 512
    _, tl = simulate_plan(plan, trace="none")   # played out: b computes after the one write of its slice
    assert tl.bytes_sent == tl.bytes_delivered
    for j in plan.jobs:
        if j.layer == "b":
            assert all(tl.job_start[j.id] >= tl.job_end[w.id] for w in writes if w.unit == j.unit)
    unshared = build_plan(arch, _twice(False, 256), Mapping(m.layers, schedule=m.schedule))
    assert len([j for j in unshared.jobs if j.kind == "write"]) == 4


def test_layers_sharing_weights_share_a_shape():
    b = Builder("transposed")
    x = b.gemm("a", 64, 32, 1, weights="W")
    b.gemm("b", 32, 64, 1, [x], weights="W")   # the same parameter transposed: a matrix of its own
    w = b.build()
    assert w.layer("a").weight_key == "W" != w.layer("b").weight_key
    g = w.graph.copy()   # a graph built by hand must keep the rule
    g.nodes["b"]["layer"] = dataclasses.replace(w.layer("b"), weights="W")
    with pytest.raises(PrismError, match="layers 'a' and 'b' share weights 'W' but not their shape"):
        Workload("bad", g, w.input_bytes)


def _per_step_ps(strategy: str, steps: int, **opts) -> float:
    arch = load_arch("hybrid")
    wl = ZOO["pythia-70m"](seq_len=8, phase="decode", decode_tokens=steps)
    return analyze_plan(build_plan(arch, wl, make_mapping(strategy, wl, arch, **opts))).latency_ps / steps


@pytest.mark.parametrize("strategy,opts", [("greedy", {}), ("homogeneous", {"kind": "reram"}), ("cmswitch", {}),
                                           ("placement", {}), ("h3pimap", {"remap": 0, "gens": 5, "pop": 12})])
def test_decode_steps_keep_their_weights_on_reram(strategy, opts):
    """A decode step costs about what one step alone does: the weights written into ReRAM for
    the first step serve every step (before, each step needed its own copy, the chip ran out
    and later steps streamed their weights from DRAM to the digital units, ~25x slower)."""
    one, four = _per_step_ps(strategy, 1, **opts), _per_step_ps(strategy, 4, **opts)
    assert four < 1.2 * one


def test_search_options_tie_shared_layers():
    arch = load_arch("hybrid")
    wl = ZOO["pythia-70m"](seq_len=8, phase="decode", decode_tokens=3)
    opts = build_options(wl, arch)
    i0, i2 = opts.layers.index("t0.l0.fc1"), opts.layers.index("t2.l0.fc1")
    assert opts.owner[i2] == i0 and opts.owner[i0] == i0 and not opts.arrays[i2].any()
    for genome in mip_front(opts, budgets=2):
        assert genome[i2] == genome[i0]
    genome = [0] * len(opts.layers)
    genome[i2] = 1   # a tied layer's own gene is not used: it takes its owner's option
    assert opts.mapping(genome).layers["t2.l0.fc1"] == opts.choices[i0][0]
