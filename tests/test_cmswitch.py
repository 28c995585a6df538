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
    assert m.feeds and not base.feeds                            # spare arrays as input buffers
    cnn = make_mapping("cmswitch", load_model("resnet18"), a)    # and as weight copies (many pixels)
    assert any(v == "cols" for v in cnn.split.values())


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
    # contention removed (the network, and units shared by concurrent layers: layer after layer),
    # the analytical model and the simulator still agree exactly
    from dataclasses import replace

    from prismsim.mapper.mapping import Schedule

    seq = build_plan(a, w, replace(m, schedule=Schedule()))
    assert analyze_plan(seq, ideal_noc=True).latency_ps == simulate_plan(seq, ideal_noc=True)[0].latency_ps


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


def test_operators_larger_than_the_chip_run_as_row_blocks_on_the_arrays():
    """Pythia's 50,304-word head (25.8 MB of weights) does not fit the 9.8 MB of arrays: it runs as
    row blocks, each on the dual-mode arrays in a segment of its own after the blocks before it,
    and its MACs are counted once; the mapping's YAML names the blocks and plays the same."""
    a, w = load_arch("cmswitch"), load_model("pythia-70m?seq_len=8")
    m = make_mapping("cmswitch", w, a)
    validate(m, a, w)
    k = m.blocks["lm_head"]
    assert k >= 3 and not m.meta["on_digital"]
    names = [f"lm_head.block{i}" for i in range(k)]
    units = a.instances()
    assert all(units[u].kind == "reram" for n in names for u in m.layers[n])
    segs = [m.segment_of(n) for n in names]
    assert segs == sorted(segs) and len(set(segs)) == k
    plan = build_plan(a, w, m)
    assert plan.macs == w.macs                      # each MAC once, blocks and all
    assert sum(j.macs for j in plan.jobs if j.layer in names) == w.layer("lm_head").macs
    back = Mapping.from_yaml(m.to_yaml())
    assert back.blocks == m.blocks
    assert build_plan(a, w, back).macs == w.macs
    with pytest.raises(PrismError, match="field blocks.nope"):
        validate(Mapping(dict(m.layers), blocks={**m.blocks, "nope": 2}), a, w)


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


def test_memory_mode_arrays_feed_an_operand_bound_operator():
    """The feed roofline (``hw.reram.feed_ps``): a 640 x 640 GEMM on one CMSwitch unit waits for
    its operands from the tile buffer's 32-bit port; each memory-mode array given to it as an
    input buffer adds its own port, until the arrays' reads bound it again. Played by the plan."""
    from prismsim.hw.ops import Op
    from prismsim.hw.reram import cost, feed_ps

    a = load_arch("cmswitch")
    p = a.instances()["cim0"].params
    op = Op("gemm", 640, 640, 64, static_weights=True)
    reads = op.m * p.steps * p.step_ps
    times = [cost(p, op, f).time_ps for f in (0, 1, 3, 7, 15)]
    assert times[0] == feed_ps(p, 640 * 64, 0) > reads                  # operand-bound
    assert times == sorted(times, reverse=True) and times[1] < times[0]
    assert times[-1] == max(reads, feed_ps(p, 640 * 64, 15))
    assert cost(p.model_copy(update={"feed_bits": None}), op, 0).time_ps == reads   # no feed bound

    from prismsim.mapper.workload import Builder

    b = Builder("one-gemm")
    b.gemm("fc1", 640, 640, 64)
    w = b.build()
    layers = {"fc1": {"cim0": 1.0}}
    fed = Mapping(dict(layers), modes={0: {"cim0": 4}}, feeds={"fc1": 4})
    plain = Mapping(dict(layers))
    jf = next(j for j in build_plan(a, w, fed).jobs if j.layer == "fc1")
    jp = next(j for j in build_plan(a, w, plain).jobs if j.layer == "fc1")
    assert jf.cost.time_ps < jp.cost.time_ps and jp.feed_wait_ps > jf.feed_wait_ps >= 0
    with pytest.raises(PrismError, match="feeds.fc1: unit 'cim0' feeds 5 arrays"):
        validate(Mapping(dict(layers), modes={0: {"cim0": 4}}, feeds={"fc1": 5}), a, w)
    assert Mapping.from_yaml(fed.to_yaml()).feeds == {"fc1": 4}


def test_the_mip_minimises_the_slowest_pipelined_operator():
    """Two operators, four arrays: giving A its input buffers (A 60, B 80) minimises the slowest
    stage, giving them to B (A 100, B 20) the sum. Pipelined, the MIP takes the first; run layer
    after layer (one chunk), the second."""
    from prismsim.mapper.strategies.cmswitch_alloc import Option, allocate

    opts = {"A": [Option(1, 0, 0, 100.0, 1), Option(1, 2, 0, 60.0, 3)],
            "B": [Option(1, 0, 0, 80.0, 1), Option(1, 2, 0, 20.0, 3)]}
    piped = allocate(["A", "B"], opts, budget=4, chunks=8)
    assert (piped["A"].time_ps, piped["B"].time_ps) == (60.0, 80.0)
    serial = allocate(["A", "B"], opts, budget=4, chunks=1)
    assert (serial["A"].time_ps, serial["B"].time_ps) == (100.0, 20.0)
    # the digital unit's fixed stage bounds the slowest stage from below: then the sum decides
    slow = allocate(["A", "B"], opts, budget=4, chunks=8, fixed_stage_ps=500.0)
    assert (slow["A"].time_ps, slow["B"].time_ps) == (100.0, 20.0)


def test_cuts_write_live_data_back_and_reloads_run_in_parallel(setup):
    """At a cut the arrays change modes and weights: an activation larger than a buffer crossing
    it goes through the global buffer or memory, never memory-mode arrays; each array programs
    its weights over its own write path (rows x port steps), all units at once."""
    from prismsim.hw.reram import write_cost

    a, w, m, _ = setup
    plan = build_plan(a, w, m)
    seg = {n: m.segment_of(n) for n in w.order}
    # a staging transfer is named for its consumer; its producer is the job it follows
    crossing = [t for t in plan.transfers if t.kind == "staging" and t.after
                and seg[t.layer] != seg[plan.jobs[t.after[0]].layer]]
    assert crossing and all(t.dst in ("gb", "dram") for t in crossing)
    p = a.instances()["cim0"].params
    from prismsim.hw.ops import Op
    op = Op("gemm", 320, 320, 1, static_weights=True)     # 320 8-bit cells = 320 B per row
    assert write_cost(p, op).time_ps == 320 * (320 // 4) * 1000    # a 32-bit port: 80 steps a row
    assert write_cost(p.model_copy(update={"array_port_bits": None}), op).time_ps == 320 * 1000  # a row a step
    res, tl = simulate_plan(plan, trace="none")
    writes = [j for j in plan.jobs if j.kind == "write" and seg[j.layer] == 1]
    spans = [(tl.job_start[j.id], tl.job_end[j.id]) for j in writes]
    assert len({j.unit for j in writes}) > 1
    assert any(s2 < e1 and s1 < e2 for i, (s1, e1) in enumerate(spans) for s2, e2 in spans[i + 1:])


def test_cmswitch_runs_its_segments_pipelined_unless_asked(setup):
    from prismsim.mapper.mapping import Schedule

    a, w, m, base = setup
    assert m.schedule.kind == "pipelined" and base.schedule.kind == "pipelined"
    assert make_mapping("cmswitch", w, a, layerwise=1).schedule.kind == "sequential"
    assert make_mapping("cmswitch", w, a, schedule=Schedule()).schedule.kind == "sequential"
