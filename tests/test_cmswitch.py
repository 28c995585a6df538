"""Dual-mode arrays: segments, mode switches and reloads as events, staging into memory mode,
and the CMSwitch strategy."""
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.analytical import analyze_plan
from prismsim.mapper.mapping import Mapping, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.sim.cli import load_model
from prismsim.sim.engine import simulate_plan
from prismsim.traces import ListRecorder

LLM = "pythia-70m?seq_len=32&vocab=4096"


@pytest.fixture(scope="module")
def setup():
    a, w = load_arch("cmswitch"), load_model(LLM)
    return a, w, make_mapping("cmswitch", w, a), make_mapping("cmswitch", w, a, memory=0)


def test_cmswitch_mapping_segments_modes_and_copies(setup):
    a, w, m, base = setup
    validate(m, a, w)
    validate(base, a, w)
    segs = [m.segment_of(n) for n in w.order]
    assert segs == sorted(segs) and m.meta["segments"] == max(segs) + 1 > 1
    assert m.modes and all(n > 0 for mm in m.modes.values() for n in mm.values())
    assert not base.modes                                        # all-compute baseline
    assert any(v == "cols" for v in m.split.values())            # weight duplication with spare arrays


def test_mode_switches_and_reloads_run_as_events(setup):
    a, w, m, _ = setup
    plan = build_plan(a, w, m)
    rec = ListRecorder()
    res, _ = simulate_plan(plan, recorder=rec)
    kinds = {r[2] for r in rec.data}
    assert "switch" in kinds and "memory" in kinds
    switches = [j for j in plan.jobs if j.kind == "switch"]
    writes = [j for j in plan.jobs if j.kind == "write"]
    assert switches and writes and res.writes_per_cell and max(res.writes_per_cell.values()) > 1
    staged = [t for t in plan.transfers if t.dst.startswith("arrays:")]
    assert staged and res.energy_by_kind_pj.get("array_memory", 0) > 0
    # contention removed, the analytical model and the simulator still agree exactly
    assert analyze_plan(plan, ideal_noc=True).latency_ps == simulate_plan(plan, ideal_noc=True)[0].latency_ps


def test_memory_mode_helps_the_llm(setup):
    a, w, m, base = setup
    with_mem, _ = simulate_plan(build_plan(a, w, m), trace="none")
    all_compute, _ = simulate_plan(build_plan(a, w, base), trace="none")
    assert with_mem.latency_ps < all_compute.latency_ps


def test_segment_and_mode_validation():
    a, w = load_arch("cmswitch"), load_model("mlp")
    layers = {x: {"cim0": 1.0} if x.startswith("fc") else {"dg": 1.0} for x in w.order}
    with pytest.raises(PrismError, match="segments follow the topological order"):
        validate(Mapping(dict(layers), segments={"fc1": 1, "relu1": 0}), a, w)
    with pytest.raises(PrismError, match="modes.0: unit 'nope'"):
        validate(Mapping(dict(layers), modes={0: {"nope": 1}}), a, w)
    with pytest.raises(PrismError, match="unit 'dg' is digital, not a dual-mode"):
        validate(Mapping(dict(layers), modes={0: {"dg": 1}}), a, w)
    with pytest.raises(PrismError, match="static weights do not fit"):
        validate(Mapping(dict(layers), modes={0: {"cim0": 16}}), a, w)  # every array in memory mode
    back = Mapping.from_yaml(Mapping(dict(layers), segments={"fc3": 1}, modes={1: {"cim1": 2}}).to_yaml())
    assert back.segments == {"fc3": 1} and back.modes == {1: {"cim1": 2}}


def test_operators_larger_than_the_chip_run_on_the_digital_unit():
    a, w = load_arch("cmswitch"), load_model("pythia-70m?seq_len=8")
    m = make_mapping("cmswitch", w, a)
    validate(m, a, w)
    assert m.meta["on_digital"] == ["lm_head"] and m.layers["lm_head"] == {"dg": 1.0}


def test_layerwise_reload_baseline_reloads_every_layer():
    """``-O layerwise=1``, the PUMA/OCC-style compiler: each static GEMM a segment of its own, no
    memory mode; on a model that fits the chip CMSwitch keeps one segment and beats it (the
    reloads are the difference)."""
    a, w = load_arch("cmswitch"), load_model("mlp")
    lw = make_mapping("cmswitch", w, a, layerwise=1)
    static = [x for x in w.layers if x.static_weights and x.op.is_gemm]
    assert lw.meta["segments"] == len(static) and not lw.modes and lw.meta["layerwise"]
    assert len({lw.segment_of(x.name) for x in static}) == len(static)
    dp = make_mapping("cmswitch", w, a)
    assert dp.meta["segments"] == 1
    t_lw = simulate_plan(build_plan(a, w, lw), trace="none")[0].latency_ps
    t_dp = simulate_plan(build_plan(a, w, dp), trace="none")[0].latency_ps
    assert t_dp < t_lw


def test_critical_path_split_by_what_the_time_was_for(setup):
    """compute / weights (streams, reloads, writes) / switch / activations: the same path as
    ``breakdown``, so the same total; a segmented LLM spends some of it reloading weights."""
    from prismsim.mapper.critical import breakdown, critical_path, data_split

    a, w, m, _ = setup
    plan = build_plan(a, w, m)
    res, tl = simulate_plan(plan, trace="none")
    steps = critical_path(plan, tl.times, tl.unit_prev)
    split = data_split(plan, steps)
    assert sum(split.values()) == sum(breakdown(plan, steps).values())
    assert split["compute"] > 0 and split["weights"] > 0 and split["activations"] > 0
