"""The event-driven engine: equal to the analytical model without contention, and invariants."""
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from conftest import small_arch
from prismsim.hw.errors import PrismError
from prismsim.hw.spec import parse_arch
from prismsim.hw.units import can_run
from prismsim.mapper.analytical import analytical_times, analyze_plan
from prismsim.mapper.critical import breakdown, critical_path
from prismsim.mapper.mapping import Mapping, Schedule, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.workload import Builder
from prismsim.sim.engine import simulate_plan

ARCH = small_arch()
UNITS = ARCH.instances()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class ListRecorder:
    def __init__(self):
        self.rows = []

    def row(self, *r):
        self.rows.append(r)

    def close(self):
        pass


@st.composite
def workloads(draw, max_layers=6):
    b = Builder("random")
    names: list[str] = []
    for i in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(["gemm", "elementwise", "matmul"]))
        m = draw(st.integers(1, 40))
        k = draw(st.integers(1, 3)) if names else 0
        ins = sorted(set(draw(st.lists(st.sampled_from(names), min_size=k, max_size=k)))) if names else []
        if kind == "gemm":
            names.append(b.gemm(f"g{i}", draw(st.integers(1, 64)), draw(st.integers(1, 64)), m, ins))
        elif kind == "elementwise":
            names.append(b.eltwise(f"e{i}", draw(st.integers(1, 64)), m, ins))
        else:
            names.append(b.add(f"mm{i}", "matmul", draw(st.integers(1, 16)), draw(st.integers(1, 16)), m,
                               batch=draw(st.integers(1, 4)), inputs=[(x, 0.5, False) for x in ins]))
    return b.build()


@st.composite
def mapped(draw, schedule=st.just(Schedule())):
    w = draw(workloads())
    layers, split = {}, {}
    for lay in w.layers:
        ok = [u for u, x in UNITS.items() if can_run(x, lay.op) is None]
        chosen = draw(st.lists(st.sampled_from(ok), min_size=1, max_size=len(ok), unique=True))
        weights = [draw(st.integers(1, 4)) for _ in chosen]
        layers[lay.name] = {u: wgt / sum(weights) for u, wgt in zip(chosen, weights)}
        if draw(st.booleans()):
            split[lay.name] = "cols"
    m = Mapping(layers, draw(schedule), split=split)
    try:
        validate(m, ARCH, w)
    except PrismError:
        assume(False)
    return w, m


@SETTINGS
@given(mapped())
def test_des_equals_analytical_with_ideal_noc_sequential(wm):
    w, m = wm
    plan = build_plan(ARCH, w, m)
    an = analyze_plan(plan, ideal_noc=True)
    des, _ = simulate_plan(plan, ideal_noc=True)
    assert des.latency_ps == an.latency_ps
    assert des.energy_pj == an.energy_pj
    assert {k: (v["start_ps"], v["end_ps"]) for k, v in des.per_layer.items()} == \
           {k: (v["start_ps"], v["end_ps"]) for k, v in an.per_layer.items()}


PIPE_ARCH = parse_arch({
    "name": "pipe", "noc": {"dims": [4, 2]}, "dram": {"position": [0, 0]}, "global_buffer": {"position": [0, 0]},
    "units": [{"name": "pt", "kind": "photonic", "count": 2, "params": {"tiles": 1}},
              {"name": "dg", "kind": "digital", "count": 5, "params": {"lanes": 8}}]}, "pipe")


@SETTINGS
@given(workloads(max_layers=7), st.integers(1, 5), st.randoms(use_true_random=False))
def test_des_equals_analytical_pipelined_when_layers_do_not_share_units(w, chunks, rnd):
    units = list(PIPE_ARCH.instances())
    rnd.shuffle(units)
    m = Mapping({lay.name: {units[i]: 1.0} for i, lay in enumerate(w.layers)}, Schedule("pipelined", chunks))
    try:
        validate(m, PIPE_ARCH, w)
    except PrismError:
        assume(False)
    plan = build_plan(PIPE_ARCH, w, m)
    an = analyze_plan(plan, ideal_noc=True)
    des, _ = simulate_plan(plan, ideal_noc=True)
    assert des.latency_ps == an.latency_ps and des.energy_pj == an.energy_pj


@SETTINGS
@given(mapped(schedule=st.builds(Schedule, st.sampled_from(["sequential", "pipelined"]), st.integers(1, 4))))
def test_invariants_under_contention(wm):
    w, m = wm
    plan = build_plan(ARCH, w, m)
    rec = ListRecorder()
    res, tl = simulate_plan(plan, recorder=rec)
    # every MAC runs exactly once
    assert sum(r[8] for r in rec.rows if r[2] == "compute") == w.macs == res.macs
    # bytes sent = bytes received
    assert tl.bytes_sent == tl.bytes_delivered == sum(t.nbytes for t in plan.transfers)
    assert sum(r[7] for r in rec.rows if r[2] == "transfer") == tl.bytes_sent
    # energy total = sum of its breakdowns; the trace holds all dynamic energy
    assert abs(sum(res.energy_breakdown_pj.values()) - res.energy_pj) <= 1e-9 * res.energy_pj
    assert abs(sum(res.energy_by_kind_pj.values()) - res.energy_pj) <= 1e-9 * res.energy_pj
    traced = sum(r[9] for r in rec.rows)
    assert abs(traced + res.energy_breakdown_pj["static"] - res.energy_pj) <= 1e-9 * res.energy_pj
    # utilization in [0, 1]
    assert all(0.0 <= u <= 1.0 for u in res.utilization.values())
    assert all(0.0 <= u <= 1.0 for u in res.link_utilization.values())
    # nothing runs before its inputs, and a unit runs one job at a time
    for j in plan.jobs:
        assert all(tl.job_start[j.id] >= tl.job_end[d] for d in j.deps)
        assert all(tl.job_start[j.id] >= tl.tr_end[t] for t in j.inputs)
        assert tl.job_end[j.id] - tl.job_start[j.id] == j.cost.time_ps
    for t in plan.transfers:
        assert tl.tr_issue[t.id] >= max((tl.job_end[a] for a in t.after), default=0)
    by_unit: dict[str, list] = {}
    for j in plan.jobs:
        by_unit.setdefault(j.unit, []).append((tl.job_start[j.id], tl.job_end[j.id]))
    for spans in by_unit.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def _check_path(plan, steps, times, unit_prev, latency):
    """A critical path runs from 0 to the latency without gaps, each step after the one it waited
    for: a dependency or input of it ("data"), or the job before it on its unit ("unit")."""
    job_start, job_end, tr_issue, tr_end = times
    assert steps[0].start_ps == 0 and steps[0].after == "" and steps[-1].end_ps == latency
    assert all(a.end_ps == b.start_ps for a, b in zip(steps, steps[1:]))
    assert all(s.after in ("data", "unit") for s in steps[1:])
    for a, b in zip(steps, steps[1:]):
        if b.transfer:
            t = plan.transfers[b.id]
            assert (a.id in t.after_tr) if a.transfer else (a.id in t.after)
            assert b.start_ps == tr_issue[b.id] and b.end_ps == tr_end[b.id]
        else:
            j = plan.jobs[b.id]
            assert b.start_ps == job_start[b.id] and b.end_ps == job_end[b.id]
            if b.after == "unit":
                assert not a.transfer and a.id == unit_prev[b.id] and plan.jobs[a.id].unit == j.unit
            else:
                assert (a.id in j.inputs) if a.transfer else (a.id in j.deps)


@SETTINGS
@given(mapped(schedule=st.builds(Schedule, st.sampled_from(["sequential", "pipelined"]), st.integers(1, 4))),
       st.booleans())
def test_the_critical_path_is_a_chain_that_adds_up_to_the_latency(wm, ideal):
    w, m = wm
    plan = build_plan(ARCH, w, m)
    res, tl = simulate_plan(plan, trace="none", ideal_noc=ideal)
    times = tl.times
    steps = critical_path(plan, times, tl.unit_prev, ideal_noc=ideal)
    _check_path(plan, steps, times, tl.unit_prev, res.latency_ps)
    parts = breakdown(plan, steps)
    assert sum(parts.values()) == res.latency_ps
    if ideal:
        assert "noc_contention" not in parts
    assert {s.id for s in steps if not s.transfer and s.after == "unit"} <= \
        {j for j, p in enumerate(tl.unit_prev) if p >= 0}
    # where the two evaluators agree (sequential, ideal NoC: no queues), so do their critical paths
    if ideal and m.schedule.kind == "sequential":
        an = analytical_times(plan, ideal_noc=True)
        assert critical_path(plan, an, ideal_noc=True) == steps


def test_the_critical_path_goes_through_a_busy_unit_and_a_contended_link():
    """Two producers on one ReRAM unit feed a consumer there: the second queued behind the first,
    so the path runs input -> a1 -> (its unit) a2 -> c -> output. On the default chip the
    photonic layers' weights stream over a contended NoC, and the path holds that contention."""
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.critical import path_rows
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO

    b = Builder("two")
    a1 = b.gemm("a1", 64, 64, 8, [])
    a2 = b.gemm("a2", 64, 64, 8, [])
    b.gemm("c", 64, 128, 8, [a1, a2])
    w = b.build()
    m = Mapping({"a1": {"rr0": 1.0}, "a2": {"rr0": 1.0}, "c": {"rr0": 1.0}}, Schedule("pipelined", 1))
    plan = build_plan(ARCH, w, m)
    res, tl = simulate_plan(plan, trace="none")
    steps = critical_path(plan, tl.times, tl.unit_prev)
    assert [(r[2], r[3], r[4], r[9]) for r in path_rows(plan, steps)] == [
        ("transfer", "dram->rr0", "a1", ""), ("compute", "rr0", "a1", "data"), ("compute", "rr0", "a2", "unit"),
        ("compute", "rr0", "c", "data"), ("transfer", "rr0->dram", "c", "data")]
    arch = load_arch("hybrid")
    wl = ZOO["pythia-70m"](seq_len=4)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    res, tl = simulate_plan(plan, trace="none")
    parts = breakdown(plan, critical_path(plan, tl.times, tl.unit_prev))
    assert parts["noc_contention"] > 0 and parts["compute:reram"] > 0 and sum(parts.values()) == res.latency_ps


def test_contention_only_delays():
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import pythia_70m
    a, w = load_arch("hybrid"), pythia_70m(seq_len=32)
    plan = build_plan(a, w, make_mapping("equal", w, a))
    ideal, _ = simulate_plan(plan, ideal_noc=True)
    real, _ = simulate_plan(plan)
    assert real.latency_ps > ideal.latency_ps and real.stall_ps["noc_contention"] > 0


def test_activations_too_big_for_the_consumer_buffer_are_staged():
    from prismsim.mapper.plan import GB, DRAM
    a = parse_arch({
        "name": "tiny-buffers", "noc": {"dims": [3, 1]}, "dram": {"position": [0, 0]},
        "global_buffer": {"position": [1, 0], "capacity_kib": 4},
        "units": [{"name": "p", "kind": "digital", "positions": [[0, 0]]},
                  {"name": "c", "kind": "digital", "positions": [[2, 0]], "params": {"buffer_kib": 1}}]}, "t")
    b = Builder("stage")
    x = b.gemm("small", 64, 8, 32)            # 2 KiB p -> c: over c's 1 KiB, via the 4 KiB global buffer
    y = b.gemm("mid", 64, 64, 32, [x])        # 2 KiB c -> p: fits p's buffer, direct
    b.gemm("big", 8, 256, 32, [b.gemm("huge", 256, 64, 32, [y])])  # 8 KiB p -> c: via DRAM
    w = b.build()
    m = Mapping({"small": {"p": 1.0}, "mid": {"c": 1.0}, "huge": {"p": 1.0}, "big": {"c": 1.0}})
    plan = build_plan(a, w, m)
    kinds = [(t.layer, t.src, t.dst, t.kind) for t in plan.transfers if t.kind in ("activation", "staging")]
    assert ("mid", "p", GB, "staging") in kinds and ("mid", GB, "c", "staging") in kinds
    assert ("huge", "c", "p", "activation") in kinds
    assert ("big", "p", DRAM, "staging") in kinds and ("big", DRAM, "c", "staging") in kinds
    an = analyze_plan(plan, ideal_noc=True)
    des, tl = simulate_plan(plan, ideal_noc=True)
    assert des.latency_ps == an.latency_ps and des.energy_by_kind_pj["global_buffer"] > 0
    assert des.gb_bytes == 2 * 2048 == 2 * sum(t.nbytes for t in plan.transfers if t.dst == GB)
    second = [t for t in plan.transfers if t.after_tr]
    assert second and all(tl.tr_issue[t.id] >= tl.tr_end[t.after_tr[0]] for t in second)
    real, _ = simulate_plan(plan)
    assert real.latency_ps >= an.latency_ps


def test_aligned_splits_stay_local_and_row_split_gemms_get_everything():
    b = Builder("align")
    x = b.gemm("g", 64, 32, 40)
    y = b.eltwise("relu", 64, 40, [x])
    b.gemm("h", 16, 64, 40, [y])
    w = b.build()
    a = PIPE_ARCH
    # g and relu split their 40 tokens identically over the same two units: nothing crosses
    m = Mapping({"g": {"pt0": 0.5, "pt1": 0.5}, "relu": {"dg0": 0.5, "dg1": 0.5}, "h": {"dg2": 0.5, "dg3": 0.5}},
                split={"g": "cols", "relu": "cols"})
    plan = build_plan(a, w, m)
    moved = {(t.src, t.dst): t.nbytes for t in plan.transfers if t.kind == "activation"}
    assert moved[("pt0", "dg0")] == moved[("pt1", "dg1")] == 64 * 20  # each token half to its twin only
    assert ("pt0", "dg1") not in moved and ("pt1", "dg0") not in moved
    # h splits output rows: each of its shards reads every channel of every token
    assert moved[("dg0", "dg2")] == moved[("dg1", "dg2")] == moved[("dg0", "dg3")] == 64 * 20
    same = Mapping({"g": {"dg0": 0.5, "dg1": 0.5}, "relu": {"dg0": 0.5, "dg1": 0.5}, "h": {"dg2": 1.0}},
                   Schedule("pipelined", 1), split={"g": "cols", "relu": "cols"})
    plan2 = build_plan(a, w, same)
    assert not [t for t in plan2.transfers if t.layer == "relu" and t.kind == "activation"]
    relu_jobs = [j for j in plan2.jobs if j.layer == "relu"]
    g_jobs = {j.unit: j.id for j in plan2.jobs if j.layer == "g"}
    assert all(j.deps == [g_jobs[j.unit]] for j in relu_jobs)  # waits only for its own half
    an, des = analyze_plan(plan2, ideal_noc=True), simulate_plan(plan2, ideal_noc=True)[0]
    assert an.latency_ps == des.latency_ps


def test_weight_writes_hold_no_unit_so_a_model_load_agrees_exactly():
    """With ``--program-weights`` a unit holding several layers writes them all at once, each array
    over its own write path: the simulator and the recurrence agree to the picosecond, and the
    writes are not the unit's busy time."""
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.load import load_model

    a, w = load_arch("hybrid"), load_model("mlp")
    m = Mapping({x: {"rr0": 1.0} if x.startswith("fc") else {"dg0": 1.0} for x in w.order},
                Schedule("sequential", 1, program_weights=True))       # every GEMM on one unit
    plan = build_plan(a, w, m)
    writes = [j for j in plan.jobs if j.kind == "write"]
    by_unit = {}
    for j in writes:
        by_unit.setdefault(j.unit, []).append(j)
    assert any(len(v) > 1 for v in by_unit.values())            # a unit programs several layers
    res, tl = simulate_plan(plan, ideal_noc=True, trace="none")
    assert analyze_plan(plan, ideal_noc=True).latency_ps == res.latency_ps
    busy = max(by_unit, key=lambda u: len(by_unit[u]))
    spans = [(tl.job_start[j.id], tl.job_end[j.id]) for j in by_unit[busy]]
    assert len({s for s, _ in spans}) < len(spans)               # written side by side, not in turn
    assert all(0 <= u <= 1 for u in res.utilization.values())
