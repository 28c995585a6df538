"""Dataflow-aware placement: curves, packing, duplication, co-location and refinement."""
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.noc import NocParams, nodes
from prismsim.hw.spec import load_arch
from prismsim.mapper.analytical import analyze
from prismsim.mapper.mapping import validate
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.placement import curve_order, hilbert
from prismsim.mapper.zoo import resnet18


def _walk(order):
    return all(sum(abs(a - b) for a, b in zip(p, q)) == 1 for p, q in zip(order, order[1:]))


@pytest.mark.parametrize("noc", [NocParams(dims=(8, 8)), NocParams(dims=(5, 3)),
                                 NocParams(topology="mesh3d", dims=(4, 4, 3))])
def test_curves_visit_every_router_once_by_unit_steps(noc):
    order = curve_order(noc)
    assert sorted(order) == sorted(nodes(noc)) and _walk(order)


def test_hilbert_and_chiplet_curves():
    assert _walk(hilbert(16)) and len(set(hilbert(16))) == 256
    noc = NocParams(topology="chiplet", dims=(2, 2), chiplets=(4, 4))
    order = curve_order(noc)
    chips = [(x // 2, y // 2) for x, y in order]
    # each chiplet's routers come together: the walk enters every chiplet exactly once
    assert sum(1 for a, b in zip(chips, chips[1:]) if a != b) == 15


@pytest.fixture(scope="module")
def r18():
    return resnet18()


@pytest.mark.parametrize("preset", ["manycore-3d", "manycore-2.5d"])
def test_placement_is_valid_duplicates_and_colocates(preset, r18):
    a = load_arch(preset)
    m = make_mapping("placement", r18, a)
    validate(m, a, r18)
    assert m.split and all(v == "cols" for v in m.split.values())  # copies split pixels
    assert max(len(m.layers[n]) for n in m.split) > 4
    # a ReLU runs on the units of the conv feeding it, split the same way: its data stays local
    assert m.layers["layer1.0.relu1"] == m.layers["layer1.0.conv1"]
    assert m.split.get("layer1.0.relu1") == m.split.get("layer1.0.conv1")


@pytest.mark.parametrize("preset", ["manycore-3d", "manycore-2.5d"])
def test_refinement_never_raises_noc_energy_and_beats_naive_orders(preset, r18):
    a = load_arch(preset)
    noc = {}
    for label, opts in {"refined": {}, "curve": {"refine": 0}, "rowmajor": {"order": "rowmajor", "refine": 0},
                        "random": {"order": "random", "refine": 0}}.items():
        res = analyze(a, r18, make_mapping("placement", r18, a, **opts))
        noc[label] = res.energy_breakdown_pj["noc"]
    assert noc["refined"] <= noc["curve"]
    assert noc["refined"] < noc["rowmajor"] and noc["refined"] < noc["random"]


def test_placement_options_are_checked(r18):
    a = load_arch("manycore-3d")
    with pytest.raises(PrismError, match="order: must be one of"):
        make_mapping("placement", r18, a, order="zigzag")
    with pytest.raises(PrismError, match="has no option 'colour'"):
        make_mapping("placement", r18, a, colour=1)


def test_refinement_moves_contents_only_between_identical_pes():
    """hybrid-3d mixes ReRAM and SRAM-PIM PEs: swapping a ReRAM PE's contents (a GELU run in its
    periphery) onto an SRAM-PIM PE made an invalid mapping (it ran no elementwise ops)."""
    from prismsim.mapper.zoo import pythia_70m
    a = load_arch("hybrid-3d")
    units = a.instances()
    w = pythia_70m(seq_len=8)
    plain = make_mapping("placement", w, a, refine=0)
    m = make_mapping("placement", w, a)
    validate(m, a, w)
    on_pes = [n for n in w.order if any(units[u].kind in ("reram", "sram_pim") for u in plain.layers[n])]
    assert {units[u].kind for n in on_pes for u in plain.layers[n]} == {"reram", "sram_pim"}
    for n in on_pes:   # every layer stays on PEs of the kind it was packed on
        assert {units[u].kind for u in m.layers[n]} == {units[u].kind for u in plain.layers[n]}, n


def test_placement_on_pes_of_different_kinds_and_sizes():
    """Copies and packing take each PE's own array count: with an SRAM-PIM PE larger than the
    ReRAM PEs, a layer that fit 'one PE' by the largest was costed on a smaller ReRAM PE and the
    strategy failed ('shard needs 1152 crossbars but the unit has 1024')."""
    from prismsim.hw.spec import parse_arch
    a = parse_arch({"name": "mixed", "noc": {"dims": [5, 1]}, "dram": {"position": [1, 0]},
                    "global_buffer": {"position": [2, 0]},
                    "units": [{"name": "re", "kind": "reram", "count": 4, "params": {"crossbars": 1024}},
                              {"name": "dg", "kind": "digital", "count": 2},
                              {"name": "sp", "kind": "sram_pim", "count": 1}]}, "test")
    w = resnet18(image=32)
    m = make_mapping("placement", w, a)
    validate(m, a, w)
