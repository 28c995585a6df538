"""Floret's space-filling-curve interposer (``hw/floret.py``, preset ``manycore-floret``) beside
the mesh interposer it is compared with (``benchmarks/compare_floret.py``)."""
import networkx as nx
import pytest

from prismsim.hw import floret
from prismsim.hw.noc import NocParams, check_deadlock_free, graph, nodes, route
from prismsim.hw.spec import load_arch
from prismsim.mapper.colocate import colocate
from prismsim.mapper.load import load_model
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.placement import curve_order
from prismsim.sim.engine import simulate_plan


def interposer(noc):
    X, Y = noc.dims
    return {((a[0] // X, a[1] // Y), (b[0] // X, b[1] // Y)) for a, b, d in graph(noc).edges(data=True)
            if d["kind"] == "interposer"}


@pytest.mark.parametrize("cx,cy", [(2, 2), (4, 4), (6, 4), (8, 8)])
def test_petals_cover_the_grid_and_their_links_form_a_tree_of_neighbours(cx, cy):
    ps = floret.petals(cx, cy)
    cells = [c for p in ps for c in p]
    assert sorted(cells) == sorted((x, y) for x in range(cx) for y in range(cy))
    heads = {p[0] for p in ps}
    assert heads == {(x, y) for x in (cx // 2 - 1, cx // 2) for y in (cy // 2 - 1, cy // 2)}   # from the centre
    e = floret.edges(cx, cy)
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in e)     # grid neighbours only
    g = nx.Graph(list(e))
    assert nx.is_tree(g) and g.number_of_nodes() == cx * cy
    for a in cells[::3]:
        for b in cells[::5]:
            assert floret.chip_path(cx, cy, a, b) == nx.shortest_path(g, a, b)


def test_the_floret_interposer_has_fewer_links_and_deadlock_free_routes():
    mesh, fl = load_arch("manycore-2.5d").noc, load_arch("manycore-floret").noc
    assert len(interposer(mesh)) // 2 == 24 and len(interposer(fl)) // 2 == 15
    assert interposer(fl) == set(floret.edges(4, 4))
    ns = nodes(fl)
    check_deadlock_free(fl, {(a, b) for a in ns for b in ns if a != b})
    # consecutive chiplets on a petal are one interposer hop apart; the mesh goes XY
    assert route(fl, (2, 0), (0, 0)) == ((2, 0), (0, 0))
    assert route(fl, (0, 0), (6, 0))[:3] == ((0, 0), (0, 2), (2, 2))
    # placement walks the chiplets petal by petal
    chips = []
    for n in curve_order(fl):
        c = (n[0] // 2, n[1] // 2)
        if not chips or chips[-1] != c:
            chips.append(c)
    assert chips == floret.order(4, 4)


def test_floret_needs_an_even_chiplet_grid_on_a_chiplet_topology():
    with pytest.raises(ValueError, match="even chiplet grid of at least 2x2"):
        NocParams(topology="chiplet", dims=(2, 2), chiplets=(3, 4), interposer="floret")
    with pytest.raises(ValueError, match="interposer floret: only with topology chiplet"):
        NocParams(dims=(4, 4), interposer="floret")


def test_two_cnns_run_side_by_side_on_both_interposers():
    """Each model's layers placed along the curve, both simulated; the MACs are the models'."""
    wl = colocate([load_model("mnist-cnn"), load_model("resnet18?image=32")])
    got = {}
    for name in ("manycore-2.5d", "manycore-floret"):
        arch = load_arch(name)
        plan = build_plan(arch, wl, make_mapping("placement", wl, arch))
        res, _ = simulate_plan(plan, trace="none")
        assert plan.macs == wl.macs and res.latency_ps > 0
        got[name] = res
    hops = {k: v.noc_byte_hops for k, v in got.items()}
    assert hops["manycore-floret"] != hops["manycore-2.5d"]      # the interposer changes the routes
