"""The flit-level router model on its own: zero-load latency per pipeline, fairness of the
allocators, conservation, deadlock freedom and detection, routing functions, traffic patterns and
the measurement rules of ``prismsim noc``."""
import json

import numpy as np
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, route
from prismsim.sim import router_layout as layout
from prismsim.sim.router import RouterNet, zero_load_cycles
from prismsim.sim.traffic import Traffic, dest_table, run_load


def lone(noc, src, dst, flits):
    """Delivery cycle of one message of ``flits`` flits created at cycle 0 on an idle network."""
    rn = RouterNet(noc)
    idx = rn.fab.index
    rn.submit(idx[src], idx[dst], flits, 7, t=0)
    rn.advance(10_000)
    rows = [r for r in rn.take_deliveries() if r[3] == layout.DL_MESSAGE]
    assert len(rows) == 1 and rows[0][0] == 7
    return int(rows[0][2])


@pytest.mark.parametrize("pipeline,link", [((1, 1, 1, 1), 1), ((0, 1, 1, 1), 1), ((2, 1, 1, 1), 1),
                                           ((1, 2, 1, 2), 1), ((1, 1, 1, 1), 3), ((0, 1, 2, 1), 2)])
@pytest.mark.parametrize("flits", [1, 4])
def test_zero_load_latency_per_pipeline(pipeline, link, flits):
    noc = NocParams(dims=(5, 5), pipeline=pipeline, router_latency_cycles=sum(pipeline), link_latency_cycles=link,
                    packet_flits=4)
    for src, dst in (((0, 0), (0, 0)), ((0, 0), (1, 0)), ((0, 0), (4, 4)), ((3, 1), (0, 2))):
        h = len(route(noc, src, dst)) - 1
        assert lone(noc, src, dst, flits) == zero_load_cycles(noc, h, h * link, flits)


def test_zero_load_matches_booksim_figure():
    # BookSim2 8x8 mesh, default 4-stage routers and 1-cycle channels (benchmarks/compare_booksim.py):
    # a packet over h links takes 7 + 5h cycles, plus a cycle per further flit
    noc = NocParams(dims=(8, 8))
    assert [zero_load_cycles(noc, h, h, 1) for h in (0, 1, 14)] == [7, 12, 77]


def test_separable_and_islip_share_a_contended_output_fairly():
    # four sources stream into one node: each gets a quarter of its ejection port, so all four
    # long messages end within 2% of each other
    noc = NocParams(dims=(3, 3), packet_flits=4)
    for alloc in ("separable_input_first", "islip"):
        n = noc.model_copy(update={"sw_allocator": alloc, "vc_allocator": alloc})
        rn = RouterNet(n)
        idx = rn.fab.index
        for s in ((0, 1), (2, 1), (1, 0), (1, 2)):
            rn.submit(idx[s], idx[(1, 1)], 4000, idx[s], t=0)
        done = {}
        while rn.busy:
            rn.advance(rn.t + 1000)
            for tag, _, t, kind, _ in rn.take_deliveries():
                if kind == layout.DL_MESSAGE:
                    done[tag] = t
        ends = sorted(done.values())
        assert len(ends) == 4 and ends[-1] - ends[0] < 0.02 * ends[-1], (alloc, ends)


def test_conservation_every_flit_submitted_arrives_once():
    noc = NocParams(dims=(4, 4), packet_flits=5, buffer_flits=3)
    rng = np.random.default_rng(3)
    rn = RouterNet(noc, pool=64)   # a small pool that must grow
    sent = {}
    for k in range(300):
        s, d, f = int(rng.integers(16)), int(rng.integers(16)), int(rng.integers(1, 40))
        rn.submit(s, d, f, k, t=int(rng.integers(0, 200)))
        sent[k] = f
    got = {}
    while rn.busy:
        rn.advance(rn.t + 500)
        for tag, _, _, kind, f in rn.take_deliveries():
            if kind == layout.DL_MESSAGE:
                assert tag not in got
                got[tag] = f
    assert got == sent and rn.in_flight == 0 and rn.pk.shape[0] > 64


@pytest.mark.parametrize("noc", [NocParams(topology="torus", dims=(4, 4), packet_flits=8, buffer_flits=2),
                                 NocParams(dims=(4, 4), routing="west_first", packet_flits=8, buffer_flits=2),
                                 NocParams(dims=(4, 4), routing="odd_even", packet_flits=8, buffer_flits=2)],
                         ids=["torus-dateline", "west-first", "odd-even"])
def test_deadlock_free_routings_survive_overload(noc):
    # wormhole packets four buffers long at full offered load: the watchdog would raise on a deadlock
    for pattern in ("uniform", "transpose", "bitcomplement"):
        p = run_load(noc, pattern, 1.0, 1500, seed=2, latency_threshold=1e9, warmup=200)
        assert p.packets > 0 and p.saturated


def test_adaptive_routes_stay_minimal_and_spread_transpose():
    base = NocParams(dims=(8, 8), packet_flits=4)
    dor = run_load(base, "transpose", 0.05, 3000, seed=1)
    for routing in ("west_first", "odd_even"):
        p = run_load(base.model_copy(update={"routing": routing}), "transpose", 0.05, 3000, seed=1)
        assert p.avg_hops == pytest.approx(dor.avg_hops, rel=0.02)   # minimal: the same hop count
    hi = {r: run_load(base.model_copy(update={"routing": r}), "transpose", 0.2, 4000, seed=1).accepted
          for r in ("dor", "odd_even")}
    assert hi["odd_even"] > hi["dor"]   # transpose concentrates on few XY links; odd-even spreads it


def test_a_torus_graph_has_its_wrap_around_links():
    from prismsim.hw.noc import graph
    g = graph(NocParams(topology="torus", dims=(4, 3)))
    assert g.has_edge((3, 0), (0, 0)) and g.has_edge((0, 0), (0, 2)) and g.number_of_edges() == 4 * 3 * 4


def test_routing_functions_need_their_topology():
    with pytest.raises(ValueError, match="routing west_first needs topology mesh"):
        NocParams(topology="mesh3d", dims=(2, 2, 2), routing="west_first")
    with pytest.raises(ValueError, match="a torus needs at least 2 virtual channels"):
        NocParams(topology="torus", dims=(4, 4), vcs=1)


def test_a_user_graph_routes_shortest_paths():
    ring = NocParams(topology="graph", dims=(6,), graph_edges=[(i, (i + 1) % 6) for i in range(6)] + [(0, 3)])
    assert route(ring, (1,), (4,)) in (((1,), (0,), (3,), (4,)), ((1,), (2,), (3,), (4,)))
    assert len(route(ring, (0,), (3,))) == 2
    h = len(route(ring, (1,), (4,))) - 1
    assert lone(ring, (1,), (4,), 8) == zero_load_cycles(ring, h, h, 8)
    with pytest.raises(PrismError, match="not connected"):
        RouterNet(NocParams(topology="graph", dims=(4,), graph_edges=[(0, 1), (2, 3)]))


def test_wait_for_tail_credit_holds_the_vc_until_the_tail_credit_is_back():
    noc = NocParams(dims=(3, 1), vcs=1, packet_flits=4)
    plain = lone(noc, (0, 0), (2, 0), 12)
    wtc = lone(noc.model_copy(update={"wait_for_tail_credit": True}), (0, 0), (2, 0), 12)
    assert wtc > plain


def test_patterns_follow_booksims_definitions():
    noc = NocParams(dims=(8, 8))
    ids = np.arange(64)
    x, y = ids % 8, ids // 8
    assert (dest_table(noc, "transpose") == y + 8 * x).all()
    assert (dest_table(noc, "bitcomplement") == (7 - x) + 8 * (7 - y)).all()
    assert (dest_table(noc, "tornado") == (x + 3) % 8 + 8 * ((y + 3) % 8)).all()
    assert (dest_table(noc, "neighbor") == (x + 1) % 8 + 8 * ((y + 1) % 8)).all()
    assert dest_table(noc, "bitreverse")[1] == 32 and dest_table(noc, "shuffle")[33] == 3
    assert sorted(dest_table(noc, "randperm", 5)) == list(range(64))
    with pytest.raises(PrismError, match="power-of-two"):
        dest_table(NocParams(dims=(3, 3)), "bitcomplement")


@pytest.mark.parametrize("traffic", [Traffic("uniform", sizes=(1, 4), size_weights=(3, 1)),
                                     Traffic("uniform", process="onoff", burst_alpha=0.2, burst_beta=0.3),
                                     Traffic("hotspot", hot=(0, 63), hot_weights=(3, 1), hot_share=0.2)],
                         ids=["mixed-sizes", "on-off", "weighted-hotspot"])
def test_sources_offer_the_rate(traffic):
    p = run_load(NocParams(dims=(8, 8), packet_flits=4), traffic, 0.1, 6000, seed=4)
    assert p.injected == pytest.approx(0.1, rel=0.06) and p.accepted == pytest.approx(p.injected, rel=0.03)


def test_a_deeply_saturated_point_is_aborted_and_says_so():
    p = run_load(NocParams(dims=(8, 8), packet_flits=4), "uniform", 0.9, 20_000, seed=1)
    assert p.aborted and p.saturated and p.accepted < 0.5
    assert p.to_dict()["aborted"] is True


def test_load_points_carry_network_latency_statistics():
    p = run_load(NocParams(dims=(4, 4), packet_flits=4), "uniform", 0.1, 3000, seed=1)
    assert p.net_min <= p.net_p50 <= p.net_p95 <= p.net_p99 <= p.net_max
    assert p.avg_network_latency <= p.avg_packet_latency and sum(p.net_histogram.values()) == p.packets
    d = p.to_dict()
    assert {"p50", "p95", "p99", "net_p50", "net_p99", "converged", "warmup_cycles"} <= set(d)


def test_same_seed_same_point():
    a = run_load(NocParams(dims=(4, 4)), "uniform", 0.2, 2000, seed=9)
    b = run_load(NocParams(dims=(4, 4)), "uniform", 0.2, 2000, seed=9)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())


def test_noc_cli_json_rows_and_a_run_replayed(tmp_path, capsys):
    from prismsim.sim.cli import main
    assert main(["noc", "--dims", "4x4", "--rate", "0.1", "--cycles", "2000", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert {"p50", "p95", "p99", "net_p99", "aborted", "converged"} <= set(row) and row["accepted"] > 0.09
    assert main(["noc", "--topology", "torus", "--dims", "4x4", "--routing", "dor", "--traffic", "tornado",
                 "--rate", "0.1", "--cycles", "1000", "--vc-allocator", "islip", "--sw-allocator", "islip"]) == 0
    out = capsys.readouterr().out
    assert "tornado traffic on a 4x4 torus (dor)" in out
    run = tmp_path / "run"
    assert main(["simulate", "--model", "mlp", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["noc", "--from-run", str(run), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["transfers"] > 0 and rep["packets"] >= rep["transfers"] and rep["last_arrival_cycle"] > 0


def test_a_packet_level_trace_replays_its_transfers_only(tmp_path, capsys):
    from prismsim.sim.cli import main
    run = tmp_path / "run"
    assert main(["simulate", "--model", "mlp", "--trace", "packets", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["noc", "--from-run", str(run), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["transfers"] > 0 and rep["packets"] >= rep["transfers"]
