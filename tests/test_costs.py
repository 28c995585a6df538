"""Every cost formula against values computed by hand in the test."""
import math

import pytest

from prismsim.hw import photonic, reram, digital
from prismsim.hw.memory import DramParams, GlobalBufferParams, mem_cost
from prismsim.hw.noc import NocParams, head_latency_ps, hops, transfer_energy, xy_route
from prismsim.hw.ops import Op


def test_photonic_lt_cycles_and_counts():
    p = photonic.PhotonicParams()
    op = Op("gemm", n=512, d=512, m=128)
    # iter_N = ceil(512/(12*4)) = 11, iter_D = ceil(512/12) = 43, iter_M = ceil(128/(12*2)) = 6
    assert photonic.cycles(p, op) == (11 * 43 * 6, 11 * 43 * 6 + 11 * 6)
    counts = photonic.device_counts(p)
    # SimPhony DPTC v1 + DODE v1 (its LT area log lists these counts): two PDs per node
    assert counts == {"mzm_op1": 1152, "dac_op1": 1152, "mzm_op2": 288, "dac_op2": 288, "adc": 576,
                      "tia": 1152, "pd": 2304, "mrr": 4608, "laser": 6, "micro_comb": 6, "laser_splitter": 176,
                      "phase_shifter": 1152, "coupler": 2304, "y_branch": 1152}
    c = photonic.cost(p, op)
    assert c.time_ps == 2904 * 200  # 5 GHz -> 200 ps per cycle, latency = static cycles / f


def test_photonic_dataflows():
    op = Op("gemm", n=100, d=30, m=50)
    it_n, it_d, it_m = 3, 3, 3  # ceil(100/48), ceil(30/12), ceil(50/24)
    for flow, extra in (("output_stationary", it_n * it_m), ("weight_stationary", it_n * it_d),
                        ("input_stationary", it_d * it_m)):
        p = photonic.PhotonicParams(dataflow=flow)
        assert photonic.cycles(p, op) == (27, 27 + extra)


def test_photonic_powers_and_energy_by_hand():
    p = photonic.PhotonicParams()
    dac4 = 50.0 * (2 ** 4 / 5) / (2 ** 8 / 9) * 5.0 / 14.0
    assert photonic.dac_power_mw(p, 4) == pytest.approx(dac4)
    assert photonic.adc_power_mw(p) == pytest.approx(14.8 * 0.5 * 0.5)
    assert photonic.mzm_power_mw(p) == pytest.approx(450 * 5 * 1e-3 * 1)  # fJ/bit * GHz * testing bit
    il = 2.0 + 4 * 0.1 + 2 * 0.93 + 1.2 + 0.76 + 0.11  # laser, 4 splitter stages, 2 MRRs, MZM, node, waveguide
    laser = 10 ** ((il - 25 + 10 * math.log10(144)) / 10) / 0.2 * 16 / (1 - 10 ** -1)
    assert photonic.laser_power_mw(p) == pytest.approx(laser)
    op = Op("gemm", n=48, d=12, m=24, static_weights=True)  # one switching cycle, 2 static cycles
    e = photonic.cost(p, op).energy_pj
    assert e["dac_op1"] == pytest.approx(1152 * dac4 / 5.0 * 1)
    assert e["adc"] == pytest.approx(576 * 3.7 / 5.0 * 1 / 3)
    assert e["tia"] == pytest.approx(1152 * 3.0 / 5.0 / 3)
    assert e["mrr"] == pytest.approx(4608 * 0.275 / 5.0 * 2)
    assert e["laser"] == pytest.approx(6 * laser / 5.0 * 2)
    assert e["pd"] == pytest.approx(2304 * 1.1 / 5.0 * 1)
    # buffer: 12*24 inputs + 48*24 outputs, a byte each, + 48*12 4-bit weights (half a byte each);
    # 256 KiB SRAM at 14 nm: 1.25 pJ/B x sqrt(256/8) x the 45 -> 14 nm energy factor 0.1388
    assert e["buffer"] == pytest.approx((288 + 1152 + 576 / 2) * 1.25 * math.sqrt(32) * 0.1388)


def test_photonic_flash_adc_and_laser_distribution():
    p = photonic.PhotonicParams(adc_type="flash", out_bits=6)
    assert photonic.adc_power_mw(p) == pytest.approx(14.8 * 0.5 * 63 / 255)
    q = photonic.PhotonicParams(laser_distribution_factor=12)
    assert photonic.laser_power_mw(q) == pytest.approx(photonic.laser_power_mw(photonic.PhotonicParams()) / 12)


def test_photonic_dim_map_and_stationary_reuse():
    op = Op("gemm", n=96, d=24, m=48)
    p = photonic.PhotonicParams(dim_map={"N": "width", "D": "wavelength", "M": "height"})
    assert photonic.iterations(p, op) == (4, 2, 1)  # N over W*C = 24, D over 12, M over H*R = 48
    ws = photonic.PhotonicParams(dataflow="weight_stationary")
    os_ = photonic.PhotonicParams()
    e_ws, e_os = photonic.cost(ws, op).energy_pj, photonic.cost(os_, op).energy_pj
    it_m = 2  # 48 / (12*2)
    assert e_ws["dac_op1"] == pytest.approx(e_os["dac_op1"] / it_m) and e_ws["dac_op2"] == e_os["dac_op2"]
    is_ = photonic.PhotonicParams(dataflow="input_stationary")
    assert photonic.cost(is_, op).energy_pj["mzm_op2"] == pytest.approx(e_os["mzm_op2"] / 2)  # iter_N = 2
    with pytest.raises(ValueError, match="dim_map"):
        photonic.PhotonicParams(dim_map={"N": "height", "D": "height", "M": "width"})
    with pytest.raises(ValueError, match="MZM symbol rate"):
        photonic.PhotonicParams(freq_ghz=30)


def test_reram_worked_example():
    p = reram.ReramParams()
    op = Op("gemm", n=64, d=200, m=3, static_weights=True)
    # 8-bit weights / 2 bits per cell = 4 slices, x2 differential -> 512 physical columns
    assert reram.tiling(p, op) == (2, 4, 8)
    c = reram.cost(p, op)
    reads = 3 * 8  # 3 vectors x 8 one-bit input steps
    read_ns = 100 + 0.38 * 1.0 * 0.0128e-6 * (128 ** 2 + 128 ** 2)   # sensing + word/bit line RC
    assert c.time_ps == reads * 100_000  # max(100 ns read, 128 cols / 1.28 GS/s = 100 ns)
    assert c.energy_pj["cell"] == pytest.approx(reads * 200 * 512 * 18.3 * read_ns * 1e-6)
    # 9-bit SAR at 1.28 GS/s, 32 nm: overhead + Walden 2^9 + thermal 4^9 x 1.28^0.871
    e_adc = 0.9265 + 0.001905 * 512 + 8.06e-6 * 4 ** 9 * 1.28 ** 0.871
    assert c.energy_pj["adc"] == pytest.approx(reads * 2 * 512 * e_adc)
    assert c.energy_pj["dac"] == pytest.approx(reads * 200 * 4 * 0.39)      # 1-bit DACs: 2/2 = 1 x 0.39 pJ
    assert c.energy_pj["sample_hold"] == pytest.approx(reads * 2 * 512 * 0.00098)
    assert c.energy_pj["shift_add"] == pytest.approx(reads * 2 * 512 * 0.0195)
    e64 = 1.25 * math.sqrt(64 / 8) * 0.6597   # 64 KiB SRAM at 32 nm
    assert c.energy_pj["buffer"] == pytest.approx((600 + 192) * e64)
    assert c.energy_pj["bus"] == pytest.approx((600 + 192) * 0.43)
    w = reram.write_cost(p, op)
    assert w.time_ps == 128 * 1_000_000 and w.energy_pj["write"] == pytest.approx(200 * 512 * 10.0)


def test_reram_adc_bound_step_and_offset_encoding():
    p = reram.ReramParams(cols=256, cols_per_adc=256, encoding="offset", read_latency_ns=50)
    assert p.step_ps == 200_000  # 256 conversions at 1.28 GS/s = 200 ns > 50 ns read (+ 1.6 ps wire RC)
    assert reram.tiling(p, Op("gemm", n=64, d=128, m=1, static_weights=True)) == (1, 1, 1)  # 256 columns
    with pytest.raises(ValueError, match="cols_per_adc 256 exceeds cols 128"):
        reram.ReramParams(cols_per_adc=256)
    with pytest.raises(ValueError, match="dac_bits 4 exceeds input_bits 2"):
        reram.ReramParams(dac_bits=4, input_bits=2)


def test_reram_overflow_is_an_error():
    p = reram.ReramParams(crossbars=2)
    with pytest.raises(Exception, match="crossbars"):
        reram.cost(p, Op("gemm", n=64, d=300, m=1, static_weights=True))


def test_digital_by_hand():
    p = digital.DigitalParams()
    c = digital.cost(p, Op("gemm", n=10, d=20, m=30))
    assert c.time_ps == 24_000 and c.energy_pj["mac"] == pytest.approx(6000 * 0.23)
    s = digital.cost(p, Op("softmax", n=10, d=1, m=100))
    assert s.time_ps == math.ceil(1000 * 5 / 256) * 1000 and s.energy_pj["alu"] == pytest.approx(5000 * 0.4)


def test_noc_and_dram_by_hand():
    noc = NocParams()
    assert xy_route((0, 0), (2, 1)) == ((0, 0), (1, 0), (2, 0), (2, 1))
    assert hops((3, 3), (0, 0)) == 6
    path = xy_route((0, 0), (2, 1))
    # router model at zero load: 2 cycles in, 4 routers x (4 - 1), 3 links x (1 + 1), 2 cycles out
    assert head_latency_ps(noc, path) == (2 + 4 * 3 + 3 * 2 + 2) * 1000
    e = transfer_energy(noc, path, 100).energy_pj
    assert e["router"] == pytest.approx(800 * 4 * 0.615) and e["link"] == pytest.approx(800 * 3 * 0.344)
    d = mem_cost(DramParams(), 8192)   # HBM3: 819.2 GB/s, 4.05 pJ/bit
    assert d.time_ps == 10_000 and d.energy_pj["dram"] == pytest.approx(8192 * 8 * 4.05)
    d2 = mem_cost(DramParams(technology="hbm2"), 256)   # 256 GB/s, 3.9 pJ/bit
    assert d2.time_ps == 1000 and d2.energy_pj["dram"] == pytest.approx(256 * 8 * 3.9)
    g = mem_cost(GlobalBufferParams(), 512)   # 8 banks of 256 KiB at 32 nm
    assert g.time_ps == 2000 and g.energy_pj["global_buffer"] == pytest.approx(512 * 1.25 * math.sqrt(32) * 0.6597)


def test_op_shards_keep_every_other_field():
    from dataclasses import fields, replace

    # every field away from its default, whatever fields Op grows
    vals = {f.name: ("conv" if f.type == "str" else True if f.type == "bool" else 3 + i) for i, f in enumerate(fields(Op))}
    op = Op(**vals)
    assert op.cols(2) == replace(op, m=2)
    assert op.rows(2) == replace(op, batch=2)   # batch > 1: shards split the batch
    single = replace(op, batch=1)
    assert single.rows(2) == replace(single, n=2)


def test_simphony_lt_cnn_case_device_by_device():
    """SimPhony's own LT run (its repository's log/test_energy.txt: a CNN of conv1, conv2 and a
    linear layer on the DPTC v1 core) device by device: every device's energy equals the log's;
    the laser too once SimPhony's effective settings are given (its code reads no distribution
    factor, so 1, and it has no waveguide on the path)."""
    p = photonic.PhotonicParams()
    ops = [Op("conv", 8, 27, 1800), Op("conv", 8, 72, 1568), Op("gemm", 10, 200, 2)]
    assert [photonic.iterations(p, op) for op in ops] == [(1, 3, 75), (1, 6, 66), (1, 17, 1)]  # the log's partition
    simphony = {"mzm_op1": 330739.2, "dac_op1": 295302.85714285716, "adc": 90647.04, "mrr": 197683.20000000004,
                "tia": 146995.2, "mzm_op2": 82684.8, "dac_op2": 73825.71428571429,
                "pd": 2 * 161694.72000000003}   # two photodetectors per node
    tot: dict[str, float] = {}
    for op in ops:
        for k, v in photonic.cost(p, op).energy_pj.items():
            tot[k] = tot.get(k, 0.0) + v
    for dev, e in simphony.items():
        assert tot[dev] == pytest.approx(e, rel=1e-12), dev
    as_run = photonic.PhotonicParams(laser_distribution_factor=1, waveguide_cm=0)
    assert photonic.insertion_loss_db(as_run) == pytest.approx(6.22)       # the log's core path
    assert photonic.laser_power_mw(as_run) == pytest.approx(1.1771924757285903, rel=1e-12)
    laser = sum(photonic.cost(as_run, op).energy_pj["laser"] for op in ops)
    assert laser == pytest.approx(1101.8521572819607, rel=1e-12)


def test_simphony_lt_area_equals_its_chip_area_sum():
    """SimPhony's LT area log: devices outside the nodes plus 1152 node bounding boxes = 47,729,492
    µm² (its 'Chip Area' sections; its 'Total Area' line counts the nodes and their devices again)."""
    from prismsim.hw.cost import Part
    parts: list[Part] = photonic.parts(photonic.PhotonicParams())
    devices = sum(x.total_area_um2 for x in parts if x.name != "buffer")
    assert devices == pytest.approx(47_729_492.16, rel=1e-9)
