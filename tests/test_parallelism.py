"""Chosen parallelism (issue 28): how many units a layer uses is priced, not assumed."""
import sys
from pathlib import Path

import numpy as np
import pytest

from prismsim.hw.noc import route
from prismsim.hw.spec import load_arch, parse_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.parallelism import (counts_to_try, pick_count, receive, row_shards,
                                                    split_cost)
from prismsim.mapper.workload import Builder
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan
from prismsim.sim.fabric import build

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_sim  # noqa: E402


def _mesh(k: int, links_bits: int = 256):
    return parse_arch({"name": f"m{k}", "noc": {"dims": [k, 1], "link_width_bits": links_bits},
                       "units": [{"name": "d", "kind": "digital", "count": k, "params": {}}]}, "test")


def _gemm(n=256, d=256, m=64):
    b = Builder("g")
    b.add("a", "gemm", n, d, m, static=True)
    b.add("b", "gemm", n, n, m, static=True, inputs=["a"])
    return b.build()


def test_counts_tried_are_powers_of_two_and_all():
    assert counts_to_try(1) == [1]
    assert counts_to_try(12) == [1, 2, 4, 8, 12]
    assert counts_to_try(16) == [1, 2, 4, 8, 16]


def test_an_all_gather_sends_each_shard_the_others_outputs():
    """Two producer shards on units 0 and 1, two consumer shards of a GEMM (each reads every input
    channel) on the same units: each consumer receives the other's half, nothing else moves."""
    arch = _mesh(2)
    wl = _gemm()
    units = arch.instances()
    prod = row_shards(arch, units, wl.layer("a"), ["d0", "d1"])
    cons = row_shards(arch, units, wl.layer("b"), ["d0", "d1"])
    half = wl.layer("a").op.out_elements / 2      # 8-bit activations: a byte each
    assert prod.out_bytes.tolist() == [half, half]
    t, e = receive(arch, wl.layer("b"), cons, [(prod, 1.0)], np.full(2, 1e12))
    flits = half / arch.noc.flit_bytes
    # one hop each way: ports and the link carry `half` bytes each, then the head latency
    head = t - flits * arch.noc.cycle_ps
    assert 0 < head < 20 * arch.noc.cycle_ps
    assert e == pytest.approx(8 * 2 * half * (arch.noc.router_pj_per_bit + arch.noc.link_pj_per_bit)
                              + 8 * 2 * half * arch.noc.router_pj_per_bit)


def test_a_broadcast_is_bound_by_the_senders_port():
    """One producer shard feeding n GEMM shards sends its whole output n times over its one port."""
    arch = _mesh(9)
    wl = _gemm()
    units = arch.instances()
    prod = row_shards(arch, units, wl.layer("a"), ["d0"])
    times = []
    for n in (2, 4, 8):
        names = [f"d{i}" for i in range(1, n + 1)]   # none on the producer's unit
        cons = row_shards(arch, units, wl.layer("b"), names)
        t, _ = receive(arch, wl.layer("b"), cons, [(prod, 1.0)], np.full(n, 1e12))
        times.append(t)
    per = wl.layer("a").op.out_elements / arch.noc.flit_bytes * arch.noc.cycle_ps
    assert times[1] - times[0] == pytest.approx(2 * per, rel=0.02)
    assert times[2] - times[1] == pytest.approx(4 * per, rel=0.02)


def test_a_token_split_reads_only_its_tokens():
    """Row-split elementwise layers read only their own channels: aligned shards move nothing."""
    arch = _mesh(4)
    b = Builder("v")
    b.add("a", "gemm", 64, 64, 32, static=True)
    b.eltwise("r", 64, 32, inputs=["a"])
    wl = b.build()
    units = arch.instances()
    names = ["d0", "d1", "d2", "d3"]
    prod = row_shards(arch, units, wl.layer("a"), names)
    cons = row_shards(arch, units, wl.layer("r"), names)
    assert receive(arch, wl.layer("r"), cons, [(prod, 1.0)], np.full(4, 1e12)) == (0, 0.0)


def test_the_fastest_count_wins_and_near_ties_go_to_fewer_units():
    assert pick_count([(100, 1.0, ["a"]), (50, 2.0, ["a", "b"])])[2] == ["a", "b"]
    assert pick_count([(100, 1.0, ["a"]), (99.5, 2.0, ["a", "b"])])[2] == ["a"]
    assert pick_count([]) is None


def test_compute_bound_layers_spread_and_traffic_bound_ones_do_not():
    """A large GEMM after a DRAM input spreads over every unit; a tiny one whose input must be
    broadcast stays on few."""
    arch = _mesh(8, links_bits=32)
    units = arch.instances()
    names = [f"d{i}" for i in range(8)]
    big, small = _gemm(n=4096, d=4096, m=256), _gemm(n=64, d=64, m=8)
    for wl, spread in ((big, True), (small, False)):
        prod = row_shards(arch, units, wl.layer("a"), names)
        costs = [(*split_cost(arch, units, wl.layer("b"), names[:n], [(prod, 1.0)]), names[:n])
                 for n in counts_to_try(8)]
        assert (len(pick_count(costs)[2]) == 8) is spread


def test_greedy_on_a_larger_chip_is_never_slower():
    """ResNet-18 under greedy on 4x4, 8x8 and 16x16 meshes of ReRAM PEs (4 digital units each),
    simulated event by event: each larger chip at least as fast, and its plan growing at most
    linearly with the PEs (16x16 had 337,412 transfers when every layer took every PE)."""
    wl = ZOO["resnet18"]()
    lat, size = [], []
    for k in (4, 8, 16):
        arch = bench_sim.mesh_arch(k)
        plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
        res, _ = simulate_plan(plan, trace="none")
        lat.append(res.latency_ps)
        size.append(len(plan.jobs) + len(plan.transfers))
    assert lat[1] <= lat[0] and lat[2] <= lat[1], lat
    # plan size at most linear in the PEs (16, 64, 256): measured 1.7 k, 6.4 k, 9.4 k
    assert size[1] <= 4 * size[0] and size[2] <= 16 * size[0] and size[2] < 20_000, size


def test_greedy_keeps_shared_weights_on_one_set_of_units():
    """Decode steps share their weight matrices: each step takes its owner's units."""
    from prismsim.mapper.zoo import pythia_70m
    wl = pythia_70m(seq_len=16, phase="decode", decode_tokens=3)
    m = make_mapping("greedy", wl, load_arch("hybrid"))
    for lname in wl.order:
        owner = wl.weight_owner[lname]
        if owner != lname:
            assert m.layers[lname] == m.layers[owner]


@pytest.mark.parametrize("dims,topology", [([4, 3], "mesh"), ([3, 2, 2], "mesh3d")])
def test_first_hops_from_coordinates_match_the_routes(dims, topology):
    """The router model's next-hop table, now computed from coordinates, agrees with ``route``."""
    origin = [0] * len(dims)
    arch = parse_arch({"name": "t", "noc": {"topology": topology, "dims": dims}, "dram": {"position": origin},
                       "global_buffer": {"position": origin},
                       "units": [{"name": "d", "kind": "digital", "count": 1, "params": {}}]}, "test")
    fab = build(arch.noc)
    for i, a in enumerate(fab.nodes):
        for j, b in enumerate(fab.nodes):
            if i != j:
                nxt = route(arch.noc, a, b)[1]
                assert fab.nbr[i, fab.next_port[i, j]] == fab.index[nxt]
