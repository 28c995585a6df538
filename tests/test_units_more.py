"""Weight programming and endurance, dual-mode arrays, SRAM-PIM, and `prismsim cost`."""
import json

import pytest

from conftest import small_arch
from prismsim.hw import reram, sram_pim
from prismsim.hw.errors import PrismError
from prismsim.hw.ops import Op
from prismsim.hw.spec import parse_arch
from prismsim.mapper.analytical import analyze_plan
from prismsim.mapper.mapping import Mapping, Schedule, validate
from prismsim.mapper.plan import build_plan
from prismsim.mapper.zoo import mlp
from prismsim.sim.cli import main
from prismsim.sim.engine import simulate_plan

MLP_MAP = {"fc1": {"rr0": 1.0}, "relu1": {"dg": 1.0}, "fc2": {"rr1": 1.0}, "relu2": {"dg": 1.0}, "fc3": {"pt0": 1.0}}


def test_program_weights_writes_before_computing():
    a = small_arch()
    m = Mapping(dict(MLP_MAP), Schedule(program_weights=True))
    plan = build_plan(a, mlp(), m)
    writes = [j for j in plan.jobs if j.kind == "write"]
    assert sorted(j.unit for j in writes) == ["rr0", "rr1"]
    p = a.instances()["rr0"].params
    assert writes[0].cost == reram.write_cost(p, mlp().layer("fc1").op)  # 784 rows -> 128 per crossbar
    assert writes[0].cost.time_ps == 128 * 1_000_000
    des, tl = simulate_plan(plan)
    first_fc1 = next(j for j in plan.jobs if j.layer == "fc1" and j.kind == "compute")
    assert tl.job_start[first_fc1.id] >= tl.job_end[writes[0].id]
    plain, _ = simulate_plan(build_plan(a, mlp(), Mapping(dict(MLP_MAP))))
    assert des.latency_ps > plain.latency_ps
    assert des.energy_breakdown_pj["memory"] - plain.energy_breakdown_pj["memory"] >= \
        sum(j.cost.energy_pj["write"] for j in writes)
    assert des.writes_per_cell == {"rr0": 1, "rr1": 1}
    assert analyze_plan(plan, ideal_noc=True).latency_ps == simulate_plan(plan, ideal_noc=True)[0].latency_ps


def test_endurance_exceeded_is_an_error():
    a = small_arch()
    doc = a.model_dump()
    doc["units"][1]["params"]["endurance_writes"] = 0.5
    worn = parse_arch(doc, "worn")
    with pytest.raises(PrismError, match="unit 'rr0': 1 writes per cell in this run exceed its endurance of 0.5"):
        build_plan(worn, mlp(), Mapping(dict(MLP_MAP), Schedule(program_weights=True)))
    build_plan(worn, mlp(), Mapping(dict(MLP_MAP)))  # weights already written: no wear in this run


def test_dual_mode_costs_by_hand():
    p = reram.ReramParams()
    assert reram.memory_capacity_bytes(p, 3) == 3 * 128 * 128 * 2 // 8
    r = reram.memory_read_cost(p, 1000, 4)  # a row is 32 B; 4 arrays give 128 B per 100 ns step
    assert r.time_ps == 8 * 100_000 and r.energy_pj["cell"] == pytest.approx(1000 * 1.0)
    w = reram.memory_write_cost(p, 1000, 4)
    assert w.time_ps == 8 * 1_000_000 and w.energy_pj["write"] == pytest.approx(4000 * 10.0)
    assert reram.mode_switch_cost(p, 96).time_ps == 1000 and reram.mode_switch_cost(p, 0).time_ps == 0


def test_sram_pim_by_hand_and_capacity():
    p = sram_pim.SramPimParams(macros=10)
    op = Op("gemm", n=20, d=300, m=5, static_weights=True)
    assert sram_pim.tiling(p, op) == (2, 3, 6)  # 300/256 rows, 20 weights / 8 per row
    c = sram_pim.cost(p, op)
    assert c.time_ps == 5 * 8 * 2000 and c.energy_pj["mac"] == pytest.approx(20 * 300 * 5 * 0.18)
    with pytest.raises(PrismError, match="macros"):
        sram_pim.cost(p, Op("gemm", n=100, d=300, m=1, static_weights=True))
    a = parse_arch({"name": "s", "noc": {"dims": [2, 1]}, "units": [
        {"name": "sp", "kind": "sram_pim", "params": {"macros": 6}}, {"name": "dg", "kind": "digital"}]}, "s")
    m = Mapping({"fc1": {"sp": 1.0}, "relu1": {"dg": 1.0}, "fc2": {"dg": 1.0}, "relu2": {"dg": 1.0}, "fc3": {"dg": 1.0}})
    with pytest.raises(PrismError, match="layer 'fc1' on unit 'sp': static weights do not fit"):
        validate(m, a, mlp())


def test_cost_json_matches_the_published_lt_cycle_counts(capsys):
    assert main(["cost", "--arch", "simphony-lt", "--gemm", "512,512,128", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["cycles"], doc["static_cycles"], doc["time_ps"]) == (2838, 2904, 580800)
    assert {"mzm_op1", "dac_op1", "mzm_op2", "dac_op2", "adc", "tia", "pd", "mrr", "laser"} <= set(doc["energy_pj"])
    # dac_op1: 1152 DACs at 50 mW * (16/5)/(256/9) * 5/14 GHz, for 2838 switching cycles at 5 GHz
    assert doc["energy_pj"]["dac_op1"] == pytest.approx(1152 * 50 * (16 / 5) / (256 / 9) * 5 / 14 / 5 * 2838)
    assert main(["cost", "--unit", "dg0", "--gemm", "16,16,16"]) == 0
    assert "digital unit dg0" in capsys.readouterr().out
    assert main(["cost", "--unit", "rr0", "--gemm", "100000,100000,1"]) == 2
    assert "crossbars" in capsys.readouterr().err
