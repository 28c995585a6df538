"""The balanced default chip (several memory controllers, wide links), H3PIMAP's stage 2 toward
precision, and the equal-area homogeneous baselines."""
import pytest

from prismsim.hw.chip import chip_area_mm2
from prismsim.hw.spec import load_arch, parse_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO, pythia_70m
from prismsim.sim.engine import simulate_plan
from prismsim.sim.output import critical_parts


def test_weights_stream_from_the_nearest_memory_controller():
    arch = load_arch("hybrid")
    assert list(arch.dram_channels()) == ["dram", "dram1", "dram2", "dram3"]
    assert set(arch.memories()) == {"dram", "dram1", "dram2", "dram3", "gb"}
    wl = ZOO["mlp"]()
    plan = build_plan(arch, wl, make_mapping("homogeneous", wl, arch, kind="photonic"))
    units = arch.instances()
    weights = [t for t in plan.transfers if t.kind == "weight"]
    assert weights and {t.src for t in weights} > {"dram"}            # more than one controller serves
    for t in weights:
        assert t.src == arch.nearest_dram(units[t.dst].pos) and t.hops == 1   # each photonic core: one hop
    res, _ = simulate_plan(plan, trace="none")
    assert res.dram_bytes == sum(t.nbytes for t in plan.transfers if t.src.startswith("dram") or t.dst.startswith("dram"))


def test_one_controller_stays_the_default_and_channels_are_checked():
    one = parse_arch({"units": [{"name": "d", "kind": "digital"}], "noc": {"dims": [2, 1]}}, "t")
    assert list(one.dram_channels()) == ["dram"] and one.nearest_dram((1, 0)) == "dram"
    with pytest.raises(Exception, match=r"dram.channels.1: \[5, 5\] is not a router"):
        parse_arch({"units": [{"name": "d", "kind": "digital"}], "noc": {"dims": [2, 1]},
                    "dram": {"channels": [[0, 0], [5, 5]]}}, "t")


def test_the_default_run_is_not_held_by_one_link():
    """Pythia-70M on hybrid: compute is the largest part of the critical path, not NoC contention
    (with one 256-bit 1 GHz corner port it was 69% contention, 5% compute)."""
    arch, wl = load_arch("hybrid"), pythia_70m()
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    res, tl = simulate_plan(plan, trace="none")
    parts = critical_parts(plan, tl.times, res.latency_ps, tl.unit_prev)
    compute = sum(v for k, v in parts.items() if k.startswith("compute:"))
    assert compute > parts.get("noc_contention", 0) and compute > parts.get("transfer", 0)
    assert compute / res.latency_ps > 0.4
    assert max(res.link_utilization.values()) < 0.9


def test_homogeneous_baselines_have_hybrids_area():
    h = chip_area_mm2(load_arch("hybrid"))
    assert chip_area_mm2(load_arch("photonic-only")) == pytest.approx(h, rel=0.01)
    assert chip_area_mm2(load_arch("reram-only")) == pytest.approx(h, rel=0.03)


def test_stage_two_never_moves_work_to_a_noisier_tier():
    """Every remap's new shares have an SNR above the old, and each tier it adds is at least as
    precise as the layer's noisiest former tier (here forced by a 12 dB target on Pythia-70M)."""
    arch, wl = load_arch("hybrid"), pythia_70m(seq_len=16)
    m = make_mapping("h3pimap", wl, arch, pop=16, gens=4, snr_db=12.0)
    moved = m.meta["remapped"]
    assert moved
    rank = {"photonic": 0, "reram": 0, "sram_pim": 1, "digital": 2}
    units = arch.instances()
    for r in moved:
        assert r["new_snr_db"] > r["snr_db"] and r["why"]
        old = min(rank[units[u].kind] for u in r["from"])
        assert all(rank[units[u].kind] >= old for u in r["to"])
        assert m.layers[r["layer"]] == r["to"] or any(x["layer"] == r["layer"] for x in moved[moved.index(r) + 1:])
    # a target stage 1 already meets moves nothing
    assert make_mapping("h3pimap", wl, arch, pop=16, gens=4, snr_db=3.0).meta["remapped"] == []


def _run(arch, wl, m):
    res, _ = simulate_plan(build_plan(arch, wl, m), trace="none")
    kinds: dict[str, int] = {}
    for v in res.per_unit.values():
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + v["macs"]
    return res.latency_ps, res.energy_pj, {k: v / res.macs for k, v in kinds.items()}


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_h3pimap_beats_the_papers_baselines_through_tier_choice(phase):
    """On hybrid, H3PIMAP beats the equal-area homogeneous chips (each mapped greedily) and the
    naive equal split on latency and energy — prefill on the photonic tier (weights streamed,
    throughput), decode on the ReRAM tier (weights resident: a decode step is memory-bound) —
    but for decode against the ReRAM-only chip and prefill against the photonic-only one (9
    photonic cores to the hybrid's 4, greedy choosing how many each layer uses), where it wins on
    energy and is held to within 1% / 3% on latency: the photonic-only chip is slightly slower
    here (64.3 vs 63.3 us at 64 tokens) but 3% faster at 128 (benchmarks/results_papers.json)."""
    wl = pythia_70m(seq_len=64) if phase == "prefill" else pythia_70m(seq_len=64, phase="decode", decode_tokens=2)
    hybrid = load_arch("hybrid")
    lat, en, share = _run(hybrid, wl, make_mapping("h3pimap", wl, hybrid))
    for arch, strategy in ((load_arch("photonic-only"), "greedy"), (load_arch("reram-only"), "greedy"),
                           (hybrid, "equal")):
        bl, be, _ = _run(arch, wl, make_mapping(strategy, wl, arch))
        if phase == "decode" and arch.name == "reram-only":
            # decode is ReRAM-compute-bound on both chips (83% of the critical path): on the router
            # model the latencies tie (48.17 vs 48.12 us); the hybrid's gain is energy (-9%)
            assert lat < 1.01 * bl and en < 0.95 * be
            continue
        if phase == "prefill" and arch.name == "photonic-only":
            assert lat < 1.03 * bl and en < be
            continue
        assert lat < bl and en < be, (arch.name, strategy)
    tier = "photonic" if phase == "prefill" else "reram"
    assert share.get(tier, 0) > 0.9
