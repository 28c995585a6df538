"""Every knob moves the costs its law says it moves: per knob, the direction and the factor; every
numeric field of every unit kind changes some cost, or is listed as functional-only (noise) with
what it does instead; breakdowns add up to their totals."""
import math

import numpy as np
import pytest

from prismsim.hw import adc, chip, digital, photonic, reram, sram, sram_pim, tech
from prismsim.hw.memory import DramParams, mem_cost
from prismsim.hw.noc import NocParams
from prismsim.hw.ops import Op
from prismsim.hw.spec import Unit, load_arch
from prismsim.hw.units import (area_um2, arrays_needed, busy_ps, can_run, leakage_mw, parts, resolution_warnings,
                               streamed_weight_bytes, unit_cost, write_cost, writes_per_cell_limit)

GEMM = Op("gemm", 96, 512, 40, static_weights=True)


def rr(**kw) -> Unit:
    return Unit("rr", "reram", reram.ReramParams(**kw), (0, 0))


def e(u: Unit, key: str, op: Op = GEMM) -> float:
    return unit_cost(u, op).energy_pj[key]


def part(u: Unit, name: str):
    return next(x for x in parts(u) if x.name == name)


# ---- ReRAM, knob by knob -----------------------------------------------------------------------

def test_adc_bits_move_adc_energy_and_area_by_the_survey_law():
    lo, hi = rr(adc_bits=4), rr(adc_bits=9)
    assert e(lo, "adc") / e(hi, "adc") == pytest.approx(adc.energy_pj(4, 1.28, 32) / adc.energy_pj(9, 1.28, 32))
    assert e(lo, "adc") < e(hi, "adc") / 3                      # 4 bits: overhead-bound, 9 bits: thermal term
    assert part(lo, "adc").area_um2 < part(hi, "adc").area_um2
    assert unit_cost(lo, GEMM).time_ps == unit_cost(hi, GEMM).time_ps   # the sample rate sets the step
    flash = rr(adc_bits=6, adc_type="flash")
    assert e(flash, "adc") > e(rr(adc_bits=6), "adc")            # 2(2^b - 1) comparator levels vs 2^b


def test_cols_per_adc_time_multiplexes_conversions():
    fast_read = dict(read_latency_ns=10.0)
    a, b = rr(cols_per_adc=128, **fast_read), rr(cols_per_adc=32, **fast_read)
    assert unit_cost(a, GEMM).time_ps == pytest.approx(4 * unit_cost(b, GEMM).time_ps, rel=1e-3)  # 100 vs 25 ns sweeps
    assert part(b, "adc").count == 4 * part(a, "adc").count                                      # 4x the converters
    assert e(a, "adc") == pytest.approx(e(b, "adc"))                                              # same conversions
    slow = rr(cols_per_adc=32)                       # read-bound (100 ns): more ADCs buy no time
    assert unit_cost(slow, GEMM).time_ps == unit_cost(rr(), GEMM).time_ps


def test_rows_halve_conversions_and_raise_the_resolution_needed():
    a, b = rr(rows=128), rr(rows=256)
    assert reram.tiling(a.params, GEMM)[0] == 4 and reram.tiling(b.params, GEMM)[0] == 2
    assert e(b, "adc") == pytest.approx(e(a, "adc") / 2)          # half the row tiles, half the conversions
    assert b.params.adc_needed_bits == a.params.adc_needed_bits + 1 == 10
    assert part(b, "cell").area_um2 == pytest.approx(2 * part(a, "cell").area_um2)
    assert b.params.read_ns > a.params.read_ns                   # a longer bit line's RC


def test_cols_set_adcs_per_crossbar_and_array_area():
    a, b = rr(cols=128, cols_per_adc=128), rr(cols=256, cols_per_adc=128)
    assert part(b, "adc").count == 2 * part(a, "adc").count
    one = rr(cols=256)                      # default: one ADC per crossbar sweeps all 256 columns
    assert part(one, "adc").count == part(a, "adc").count and one.params.step_ps == 2 * a.params.step_ps
    assert part(b, "cell").area_um2 == pytest.approx(2 * part(a, "cell").area_um2)
    assert reram.tiling(b.params, GEMM)[2] == reram.tiling(a.params, GEMM)[2] / 2


def test_dac_bits_trade_steps_for_dac_energy():
    a, b = rr(dac_bits=1), rr(dac_bits=2)
    assert unit_cost(b, GEMM).time_ps == unit_cost(a, GEMM).time_ps // 2      # 8 steps -> 4
    # energy per drive x (2^2/3) / (2^1/2) = 4/3, half the drives
    assert e(b, "dac") == pytest.approx(e(a, "dac") * 4 / 3 / 2)
    assert b.params.adc_needed_bits == 11                                       # 128 x 3 x 3 = 1152 levels


def test_tech_node_scales_logic_energy_area_and_converters():
    a, b = rr(tech_nm=32), rr(tech_nm=16)
    assert e(b, "dac") == pytest.approx(e(a, "dac") * tech.energy(16, 32))
    assert e(b, "shift_add") == pytest.approx(e(a, "shift_add") * tech.energy(16, 32))
    assert e(b, "adc") == pytest.approx(e(a, "adc") * tech.energy(16, 32))
    assert part(b, "sample_hold").area_um2 == pytest.approx(part(a, "sample_hold").area_um2 * tech.area(16, 32))
    assert part(b, "cell").area_um2 == pytest.approx(part(a, "cell").area_um2 / 4)   # F^2 cells
    assert area_um2(b) < area_um2(a) / 2


def test_adc_rate_sets_an_adc_bound_step():
    a, b = rr(adc_gsps=1.28), rr(adc_gsps=0.32)
    assert unit_cost(b, GEMM).time_ps == 4 * unit_cost(a, GEMM).time_ps        # 128 columns at 0.32 GS/s: 400 ns
    assert e(b, "adc") < e(a, "adc")                                            # the thermal term falls with rate


def test_crossbars_bits_and_buffer():
    a, b = rr(crossbars=100), rr(crossbars=200)
    assert part(b, "dac").total_area_um2 == pytest.approx(2 * part(a, "dac").total_area_um2)
    assert leakage_mw(b) > leakage_mw(a)
    assert reram.tiling(rr(bits_per_cell=4).params, GEMM)[1] == reram.tiling(rr().params, GEMM)[1] / 2
    assert unit_cost(rr(input_bits=16), GEMM).time_ps == 2 * unit_cost(rr(), GEMM).time_ps
    small, big = rr(buffer_kib=64), rr(buffer_kib=256)
    assert big.params.buffer_pj == pytest.approx(2 * small.params.buffer_pj)        # sqrt(capacity)
    assert part(big, "buffer").area_um2 == pytest.approx(4 * part(small, "buffer").area_um2)
    assert e(rr(cell_read_nw=36.6), "cell") == pytest.approx(2 * e(rr(), "cell"))


def test_write_knobs():
    a = write_cost(rr(), GEMM)
    b = write_cost(rr(write_latency_ns=500.0, write_pj_per_cell=20.0), GEMM)
    assert b.time_ps == a.time_ps // 2 and b.total_pj == pytest.approx(2 * a.total_pj)
    assert writes_per_cell_limit(rr(endurance_writes=1e9)) == 1e9


def test_array_port_and_feed_knobs():
    """``feed_bits``: the tile buffer's feed into its compute arrays bounds a shard (a roofline);
    wider is faster until the arrays' reads bound it, None is no bound. ``array_port_bits``: what
    an array moves per step outside compute — its weight writes, its memory-mode bandwidth, and
    what it adds to an operand feed as an input buffer."""
    big = Op("gemm", 256, 1024, 512, static_weights=True)
    reads = reram.cost(reram.ReramParams(), big).time_ps
    narrow, wide = reram.ReramParams(feed_bits=32), reram.ReramParams(feed_bits=256)
    assert reram.cost(narrow, big).time_ps > reram.cost(wide, big).time_ps >= reads
    assert reram.cost(narrow, big).time_ps == reram.feed_ps(narrow, 1024 * 512, 0) > reads
    assert reram.cost(reram.ReramParams(feed_bits=1 << 16), big).time_ps == reads
    p8, p64 = reram.ReramParams(feed_bits=32, array_port_bits=8), reram.ReramParams(feed_bits=32, array_port_bits=64)
    assert reram.cost(p8, big, 4).time_ps > reram.cost(p64, big, 4).time_ps      # input buffers' ports
    assert reram.cost(p8, big, 0).time_ps == reram.cost(p64, big, 0).time_ps     # none given: the buffer's
    assert reram.write_cost(reram.ReramParams(array_port_bits=8), GEMM).time_ps > reram.write_cost(reram.ReramParams(array_port_bits=64), GEMM).time_ps
    assert reram.write_cost(reram.ReramParams(array_port_bits=1 << 12), GEMM).time_ps == reram.write_cost(reram.ReramParams(), GEMM).time_ps
    assert reram.array_memory(reram.ReramParams(array_port_bits=64), 4, (0, 0)).bandwidth_gbps == \
        pytest.approx(2 * reram.array_memory(reram.ReramParams(array_port_bits=32), 4, (0, 0)).bandwidth_gbps)


def test_under_resolved_adc_is_warned_and_costs_accuracy():
    import numpy as np
    from prismsim.hw import kernels
    assert resolution_warnings({"rr": rr(adc_bits=8)}) == [
        "unit rr: adc_bits 8 < the 9 bits 128 rows x 2-bit cells x 1-bit DACs need: 1 bit(s) lost to quantization"]
    assert resolution_warnings({"rr": rr()}) == []
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(16, 128))
    x = rng.integers(0, 256, size=(32, 128))
    xb = kernels.program_crossbar(w, 8, 2, "differential")
    exact = x @ w.T
    err = {b: np.abs(kernels.crossbar_mvm(xb, x, rows=128, adc_bits=b, read_noise=False) - exact).mean()
           for b in (5, 7, 9)}
    assert err[5] > err[7] > err[9]


# ---- photonic, SRAM-PIM, digital, memory, network -------------------------------------------------

def test_photonic_knobs():
    base = photonic.PhotonicParams()
    u = Unit("pt", "photonic", base, (0, 0))
    w8 = Unit("pt", "photonic", photonic.PhotonicParams(weight_bits=8), (0, 0))
    assert streamed_weight_bytes(u, GEMM) == GEMM.weight_bytes // 2          # 4-bit weights: half a byte each
    assert streamed_weight_bytes(w8, GEMM) == GEMM.weight_bytes
    more = photonic.PhotonicParams(wavelengths=24)
    assert photonic.device_counts(more)["mrr"] == 2 * photonic.device_counts(base)["mrr"]
    assert sum(x.total_area_um2 for x in photonic.parts(more)) > sum(x.total_area_um2 for x in photonic.parts(base))
    assert photonic.laser_power_mw(photonic.PhotonicParams(in_bits=5)) == pytest.approx(2 * photonic.laser_power_mw(base))
    assert photonic.laser_power_mw(photonic.PhotonicParams(mrr_il_db=1.93)) == pytest.approx(
        photonic.laser_power_mw(base) * 10 ** (2 / 10))                     # 2 MRRs on the path, 1 dB more each


def test_sram_pim_and_digital_knobs():
    sp = lambda **kw: Unit("sp", "sram_pim", sram_pim.SramPimParams(**kw), (0, 0))
    assert e(sp(tech_nm=7.0), "mac") == pytest.approx(e(sp(), "mac") * tech.energy(7, 22))
    assert area_um2(sp(macros=2048)) < area_um2(sp())
    dg = lambda **kw: Unit("dg", "digital", digital.DigitalParams(**kw), (0, 0))
    assert unit_cost(dg(lanes=512), GEMM).time_ps == unit_cost(dg(), GEMM).time_ps // 2
    assert part(dg(lanes=512), "mac").total_area_um2 == pytest.approx(2 * part(dg(), "mac").total_area_um2)
    assert e(dg(tech_nm=22.0), "mac") == pytest.approx(e(dg(), "mac") * tech.energy(22, 45))
    with pytest.raises(ValueError, match="unknown op kind 'softmx'"):
        digital.DigitalParams(ops_per_element={"softmx": 5})
    with pytest.raises(ValueError, match="op_energy_pj.softmax must be >= 0"):
        digital.DigitalParams(op_energy_pj={"softmax": -100000})


def test_memory_and_network_knobs():
    h2, h3 = DramParams(technology="hbm2"), DramParams(technology="hbm3")
    assert mem_cost(h2, 1 << 20).time_ps > 3 * mem_cost(h3, 1 << 20).time_ps   # 256 vs 819 GB/s
    assert mem_cost(h2, 1000).total_pj == pytest.approx(1000 * 8 * 3.9)
    assert DramParams(technology="hbm2", bandwidth_gbps=100.0).bandwidth_gbps == 100.0   # a given number wins
    assert NocParams(link_width_bits=512).router_um2 == pytest.approx(4 * NocParams().router_um2)
    assert sram.pj_per_byte(32, 45) == pytest.approx(2 * sram.pj_per_byte(8, 45))


# ---- every numeric field moves some cost, or says what it does instead ---------------------------

# fields whose effect is functional only (accuracy kernels and noise models), not time/energy/area
FUNCTIONAL_ONLY = {
    "reram": {"g_max_us", "prog_sigma", "read_sigma", "drift_nu", "stuck_at_0", "stuck_at_1"},
    "photonic": {"weight_noise_sigma", "crosstalk", "pd_responsivity_a_per_w"},
    "sram_pim": set(), "digital": set(),
}
# fields that only bound others (checked when the arch is loaded)
LIMIT_ONLY = {"photonic": {"mzm_gbps"}}
PARAMS = {"reram": reram.ReramParams, "photonic": photonic.PhotonicParams,
          "sram_pim": sram_pim.SramPimParams, "digital": digital.DigitalParams}
OPS = [GEMM, Op("matmul", 64, 48, 64, batch=2), Op("softmax", 16, 1, 16), Op("pool", 8, 4, 8),
       Op("elementwise", 32, 1, 32)]


def signature(kind: str, params) -> tuple:
    """Everything a unit's knobs can move: time, energy, busy time, write cost, capacity, lifetime,
    parts (count, area, idle power), the memory-mode costs, the peak."""
    u = Unit("u", kind, params, (0, 0))
    sig: list = []
    for op in OPS:
        if can_run(u, op) is None:
            c = unit_cost(u, op)
            sig += [c.time_ps, tuple(sorted(c.energy_pj.items())), tuple(sorted(busy_ps(u, op).items()))]
    if kind in ("reram", "sram_pim"):
        w = write_cost(u, GEMM)
        sig += [w.time_ps, w.total_pj, arrays_needed(u, GEMM), writes_per_cell_limit(u)]
    if kind == "reram":
        sig += [reram.array_memory(params, 4, (0, 0)), reram.memory_read_cost(params, 4096, 2),
                reram.mode_switch_cost(params, 2), params.adc_needed_bits]
    sig += [(x.name, x.count, x.area_um2, x.leakage_mw) for x in parts(u)]
    sig.append(streamed_weight_bytes(u, GEMM))
    return tuple(sig)


def nudge(field, value):
    """Another valid value of a numeric field."""
    if value is None:
        return 12 if field.annotation in (int | None,) else 1.7
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        le = next((m.le for m in field.metadata if hasattr(m, "le") and m.le is not None), None)
        return value + 1 if le is None or value + 1 <= le else value - 1
    if value < 0:
        return value + 3.0
    if value == 0:
        return 0.1
    le = next((m.le for m in field.metadata if hasattr(m, "le") and m.le is not None), None)
    return value * 0.6 if value == 0 or (le is not None and value * 1.5 > le) else value * 1.5 if value else 0.5


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_every_numeric_field_changes_a_cost_or_is_functional_only(kind):
    cls = PARAMS[kind]
    base = cls()
    ref = signature(kind, base)
    moved, still = set(), set()
    for name, field in cls.model_fields.items():
        value = getattr(base, name)
        if name == "kind" or isinstance(value, (str, dict)):
            continue
        new = nudge(field, value)
        if name == "freq_ghz" and kind == "photonic":
            new = 2.5                                     # within the MZM's 25 GBd symbol rate
        if name == "cols_per_adc":
            new = 64                                      # at most cols
        if name == "value" or new == value:
            continue
        try:
            p = cls(**{name: new})
        except ValueError:
            p = cls(**{name: value * 0.5 if isinstance(value, float) else max(1, value - 1)})
        (moved if signature(kind, p) != ref else still).add(name)
    assert still == FUNCTIONAL_ONLY[kind] | LIMIT_ONLY.get(kind, set()), f"{kind}: fields that move no cost: {sorted(still)}"
    assert moved                                          # and the list above is not everything


# ---- breakdowns add up ------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["hybrid", "isaac", "simphony-lt", "hybrid-3d", "cmswitch", "h3pimap"])
def test_area_breakdowns_add_up(preset):
    a = load_arch(preset)
    by = chip.area_breakdown_mm2(a)
    assert chip.chip_area_mm2(a) == pytest.approx(sum(by.values()))
    units = sum(area_um2(u) for u in a.instances().values()) * 1e-6
    assert units == pytest.approx(sum(v for k, v in by.items() if k.split(".")[0] in PARAMS))
    for u in a.instances().values():
        assert area_um2(u) == pytest.approx(sum(x.count * x.area_um2 for x in parts(u)))
        c = unit_cost(u, chip.peak_op(u))
        assert c.total_pj == pytest.approx(sum(c.energy_pj.values()))


def test_isaac_reproduces_the_papers_peak_efficiencies():
    """ISAAC-CE (ISCA'16): 479 GOPS/s/mm² (Sec. VIII-B) and 479 x 85.4 mm² / 65.8 W = 622 GOPS/W,
    within 15% — from the component models, not entered as totals."""
    pk = chip.chip_peak(load_arch("isaac"))
    assert pk.gops == pytest.approx(168 * 96 * 128 * 16 * 2 / 1600, rel=1e-9)   # ops per ns: 16 steps of 100 ns
    assert pk.gops_per_mm2 == pytest.approx(479, rel=0.15)
    assert pk.gops_per_w == pytest.approx(479 * 85.4 / 65.8, rel=0.15)
    assert math.isclose(pk.area_mm2, 85.4, rel_tol=0.15) and math.isclose(pk.power_mw / 1e3, 65.8, rel_tol=0.15)


def test_photonic_functional_knobs_move_the_output_snr():
    """Phase noise, crosstalk and shot noise (through responsivity and the switch) each move a
    layer's SNR on the photonic core the way their physics says."""
    from prismsim.mapper.accuracy import AccuracyConfig, layer_snr

    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((64, 256)) / 16, rng.standard_normal((32, 256))
    cfg = AccuracyConfig(kernel="surrogate")

    def snr(**kw):
        p = photonic.PhotonicParams(in_bits=8, weight_bits=8, out_bits=8, **kw)
        return layer_snr(Unit("pt", "photonic", p, (0, 0)), w, x, cfg)

    base = snr(weight_noise_sigma=0.0, crosstalk=0.0)
    assert snr(weight_noise_sigma=0.0, crosstalk=0.0, pd_responsivity_a_per_w=1e-3) < base - 3
    quiet = snr(weight_noise_sigma=0.0, crosstalk=0.0, shot_noise=False)
    assert snr(weight_noise_sigma=0.0, crosstalk=0.0, pd_responsivity_a_per_w=1e-3, shot_noise=False) == quiet
    assert snr(weight_noise_sigma=0.05, crosstalk=0.0) < base - 3
    assert snr(weight_noise_sigma=0.0, crosstalk=0.05) < base - 3
