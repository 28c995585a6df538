"""H3PIMAP on its own chip (``h3pimap``: the paper's four-tier 3D stack) against the paper's
baselines: equal-area homogeneous stacks (``h3pimap-photonic``, ``h3pimap-pim``) and the naive
equal split, with the tier usage that explains each gain."""
import pytest

from prismsim.hw.chip import chip_area_mm2
from prismsim.hw.spec import load_arch
from prismsim.mapper.mapping import gemm_macs_by_kind
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import pythia_70m
from prismsim.sim.engine import simulate_plan

PIM = ("reram", "sram_pim")


def test_the_stack_has_the_papers_tiers_and_its_baselines_its_area():
    arch = load_arch("h3pimap")
    tiers = {u.kind: {p[2] for p in (x.pos for x in arch.instances().values() if x.kind == u.kind)}
             for u in arch.instances().values()}
    assert tiers == {"reram": {0}, "sram_pim": {1}, "photonic": {2}, "digital": {3}}
    assert arch.noc.topology == "mesh3d" and len(arch.dram_channels()) == 4
    area = chip_area_mm2(arch)
    for name in ("h3pimap-photonic", "h3pimap-pim"):
        assert chip_area_mm2(load_arch(name)) == pytest.approx(area, rel=0.03)


def _run(arch, wl, m):
    res, _ = simulate_plan(build_plan(arch, wl, m), trace="none")
    return res.latency_ps, res.energy_pj


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_h3pimap_on_its_chip_beats_the_papers_baselines(phase):
    """Decode (memory-bound: one token per weight read) keeps static weights resident on the PIM
    tiers and sends the dynamic matmuls to photonic; prefill (compute-bound) streams 4-bit weights
    to the photonic tier. H3PIMAP beats the PIM stack and the equal split on latency and energy,
    and the photonic stack on energy and energy-delay. On prefill the photonic stack, with 9
    photonic cores to H3PIMAP's 4 and greedy choosing how many each layer uses, is held to within
    3% on latency: it is 1% slower here (59.5 vs 58.7 us at 64 tokens, 17% more energy) and 3%
    faster at 128 tokens (benchmarks/results_papers.json)."""
    wl = pythia_70m(seq_len=64) if phase == "prefill" else pythia_70m(seq_len=64, phase="decode", decode_tokens=2)
    arch = load_arch("h3pimap")
    m = make_mapping("h3pimap", wl, arch)
    tiers = gemm_macs_by_kind(m, arch, wl)
    if phase == "decode":
        assert sum(tiers["static"].get(k, 0) for k in PIM) > 0.95
        assert tiers["dynamic"].get("photonic", 0) > 0.8
    else:
        assert tiers["static"].get("photonic", 0) > 0.8 and tiers["dynamic"].get("photonic", 0) > 0.99
    lat, en = _run(arch, wl, m)
    for base, strategy in (("h3pimap-photonic", "greedy"), ("h3pimap-pim", "greedy"), ("h3pimap", "equal")):
        b = load_arch(base)
        bl, be = _run(b, wl, make_mapping(strategy, wl, b))
        slack = 1.03 if (phase, base) == ("prefill", "h3pimap-photonic") else 1.0
        assert lat < slack * bl and en < be and lat * en < bl * be, (base, strategy, lat, bl, en, be)
