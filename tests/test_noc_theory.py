"""The NoC against theory: zero-load closed forms on every topology, M/D/1 queueing, bisection
bound, deadlock freedom of dimension-order routes and the deadlock watchdog."""
import numpy as np
import pytest
import simpy

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, check_deadlock_free, graph, link_kind, nodes, route
from prismsim.sim.noc import Network
from prismsim.sim.traffic import run_load

C = 1000


def one_packet(noc, src, dst, nbytes):
    env = simpy.Environment()
    net = Network(env, noc)
    out = []
    net.send(src, dst, nbytes, on_done=out.append)
    net.run()
    return out[0]


def test_zero_load_mesh3d_closed_form():
    noc = NocParams(topology="mesh3d", dims=(4, 4, 4), tsv_latency_cycles=2)
    path = route(noc, (0, 0, 0), (1, 2, 3))
    assert path[1] == (1, 0, 0) and path[3] == (1, 2, 0) and path[-1] == (1, 2, 3)  # X, then Y, then Z
    assert [link_kind(noc, a, b) for a, b in zip(path, path[1:])] == ["mesh"] * 3 + ["tsv"] * 3
    # 2 cycles in, 7 routers x 3, 3 mesh links x (1 + 1), 3 TSVs x (2 + 1), 2 cycles out, then the
    # 7 flits behind the head
    assert one_packet(noc, (0, 0, 0), (1, 2, 3), 256) == (2 + 7 * 3 + 3 * 2 + 3 * 3 + 2 + 7) * C


def test_zero_load_chiplets_via_gateways_and_interposer():
    noc = NocParams(topology="chiplet", dims=(3, 3), chiplets=(2, 2), gateway=(1, 1),
                    interposer_width_bits=128, interposer_latency_cycles=5)
    path = route(noc, (0, 0), (5, 4))
    # to the gateway (1,1) of chiplet (0,0), interposer to (4,1) then (4,4), then to (5,4)
    assert path == ((0, 0), (1, 0), (1, 1), (4, 1), (4, 4), (5, 4))
    kinds = [link_kind(noc, a, b) for a, b in zip(path, path[1:])]
    assert kinds == ["mesh", "mesh", "interposer", "interposer", "mesh"]
    # head: 2 in + 6 routers x 3 + 3 mesh links x 2 + 2 interposer links x (5 + 1), a flit of 32 B
    # occupying each 16 B interposer link 2 cycles (+ 1 each), 2 out = 42 cycles; the 4 flits
    # leave the last interposer link 2 cycles apart, but a body flit skips RC and VA in the two
    # routers after it and catches up: the tail is 3 cycles behind the head
    assert one_packet(noc, (0, 0), (5, 4), 128) == 45 * C
    g = graph(noc)
    assert g.number_of_nodes() == 36 and sum(1 for *_, d in g.edges(data=True) if d["kind"] == "interposer") == 8


def test_md1_mean_wait_matches_pollaczek_khinchine():
    noc = NocParams(dims=(2, 1), packet_flits=4, buffer_flits=64)
    S = 4 * C                        # service: 4 flits at one per cycle
    rho = 0.6
    rng = np.random.default_rng(7)
    arrivals = np.cumsum(rng.exponential(S / rho, 60_000)).astype(np.int64)
    env = simpy.Environment()
    net = Network(env, noc)
    waits = []

    def source():
        for t in arrivals.tolist():
            yield env.timeout(t - env.now)
            net.send((0, 0), (1, 0), 128, on_packet=lambda ti, td, t=t: waits.append(ti - int(np.ceil(t / C)) * C))

    env.process(source())
    net.run()
    measured = np.mean(waits[5000:])
    theory = rho * S / (2 * (1 - rho))
    assert abs(measured / theory - 1) < 0.03


def test_uniform_8x8_follows_offered_load_and_saturates_below_bisection_bound():
    noc = NocParams(dims=(8, 8), packet_flits=4, buffer_flits=8)
    for rate in (0.05, 0.1, 0.2):
        p = run_load(noc, "uniform", rate, 3000, seed=1)
        # the draws offer the rate (within 4 standard deviations of ~2,000-9,000 Bernoulli packets);
        # the network delivers what was injected (packets in flight at the window's edges aside)
        assert abs(p.injected / rate - 1) < 4 / (rate / 4 * 64 * 3000) ** 0.5
        assert abs(p.accepted / p.injected - 1) < 0.015 and not p.saturated and p.converged
    hi = run_load(noc, "uniform", 0.7, 3000, seed=1)
    assert hi.saturated and hi.accepted < 4 / 8 and hi.accepted < 0.9 * hi.injected


def test_a_short_run_on_a_small_network_is_not_called_saturated_by_counting_noise():
    # 4 routers, 450 measured cycles: ~45 packets, so the edges of the window move accepted by ~10%
    noc = NocParams(topology="chiplet", dims=(2, 2), chiplets=(1, 1))
    for seed in range(8):
        p = run_load(noc, "uniform", 0.1, 500, seed=seed)
        assert p.avg_packet_latency < 2 * p.zero_load_latency and not p.saturated


@pytest.mark.parametrize("noc", [NocParams(dims=(6, 6)), NocParams(topology="mesh3d", dims=(3, 3, 3)),
                                 NocParams(topology="chiplet", dims=(3, 3), chiplets=(2, 2), gateway=(1, 1))],
                         ids=["mesh", "mesh3d", "chiplet"])
def test_dimension_order_routes_cannot_deadlock(noc):
    ns = nodes(noc)
    check_deadlock_free(noc, [(a, b) for a in ns for b in ns])
    small = noc.model_copy(update={"buffer_flits": 2, "packet_flits": 8, "vcs": 1})
    # heavy load, wormhole packets four buffers long: no deadlock (the watchdog would raise)
    p = run_load(small, "uniform", 0.9, 800, seed=3, latency_threshold=1e9)
    assert p.saturated and p.packets > 0


RING = {"0,0->1,1": [[0, 0], [1, 0], [1, 1]], "1,0->0,1": [[1, 0], [1, 1], [0, 1]],
        "1,1->0,0": [[1, 1], [0, 1], [0, 0]], "0,1->1,0": [[0, 1], [0, 0], [1, 0]]}


def test_cyclic_route_table_is_named_and_the_watchdog_reports_a_real_deadlock():
    noc = NocParams(dims=(2, 2), route_table=RING, packet_flits=16, buffer_flits=4, vcs=1)
    pairs = [((0, 0), (1, 1)), ((1, 0), (0, 1)), ((1, 1), (0, 0)), ((0, 1), (1, 0))]
    with pytest.raises(PrismError, match=r"channel dependency cycle through links .*0,0>1,0"):
        check_deadlock_free(noc, pairs)
    env = simpy.Environment()
    net = Network(env, noc)
    for s, d in pairs:
        net.send(s, d, 40 * 512)
    # wormhole packets longer than the buffers hold every link of the ring: nothing moves again
    with pytest.raises(PrismError, match=r"noc: deadlock: \d+ flits have not moved for 20,000 cycles .*stuck at "
                                         r"routers 0,0, 1,0"):
        net.run()


def test_route_table_is_validated():
    with pytest.raises(ValueError, match="is not a link"):
        NocParams(dims=(3, 3), route_table={"0,0->2,0": [[0, 0], [2, 0]]})
    with pytest.raises(ValueError, match="must start at"):
        NocParams(dims=(3, 3), route_table={"0,0->1,0": [[0, 1], [1, 0]]})


def test_cyclic_route_tables_are_refused_before_simulating():
    noc = NocParams(dims=(2, 2), route_table=RING, packet_flits=4, buffer_flits=4)
    with pytest.raises(PrismError, match="channel dependency cycle"):
        run_load(noc, "uniform", 0.5, 200, seed=0)


def test_load_points_carry_latency_percentiles_a_histogram_and_per_node_rates():
    from prismsim.hw.noc import NocParams
    from prismsim.sim.traffic import run_load
    p = run_load(NocParams(dims=(4, 4), packet_flits=4, buffer_flits=8), "uniform", 0.1, 3000, seed=1)
    assert p.min_latency <= p.p50 <= p.p95 <= p.p99 <= p.max_latency
    assert sum(p.histogram.values()) == p.packets and p.min_latency <= p.avg_packet_latency <= p.max_latency + 1
    assert p.accepted_min <= p.accepted <= p.accepted_max
    d = p.to_dict()
    assert {"p50", "p95", "p99", "histogram"} <= set(d)


@pytest.mark.parametrize("noc,src,dst", [
    (NocParams(topology="mesh3d", dims=(3, 3, 3), tsv_width_bits=64, tsv_latency_cycles=2), (0, 0, 0), (2, 1, 2)),
    (NocParams(topology="chiplet", dims=(3, 3), chiplets=(2, 2), gateway=(1, 1), interposer_width_bits=64),
     (0, 0), (5, 4)),
    (NocParams(topology="torus", dims=(5, 4)), (0, 0), (4, 3)),
    (NocParams(dims=(4, 4), vcs=1), (3, 0), (0, 3)),
], ids=["mesh3d-narrow-tsv", "chiplet-narrow-interposer", "torus-wrap", "mesh-1vc"])
@pytest.mark.parametrize("nbytes", [32, 256, 2000, 20_480])
def test_the_analytical_zero_load_is_the_router_models_on_every_topology(noc, src, dst, nbytes):
    # (exact but when the last packet is one flit behind a link narrower than a flit: see serialization_ps)
    from prismsim.hw.noc import head_latency_ps, serialization_ps
    path = route(noc, src, dst)
    assert one_packet(noc, src, dst, nbytes) == head_latency_ps(noc, path) + serialization_ps(noc, path, nbytes)
