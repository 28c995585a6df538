"""The benchmark scripts still run against the package's API: their pieces on tiny inputs. Their
timings are not checked here (targets live in benchmarks/ and are run by hand)."""
import pathlib
import sys

import pytest

from prismsim.hw.spec import load_arch
from prismsim.mapper.zoo import ZOO

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_noc  # noqa: E402  (a script folder, not a package)
import bench_sim  # noqa: E402


def test_bench_sim_run_reports_what_the_table_needs():
    arch, wl = load_arch("hybrid"), ZOO["mnist-mlp"]()
    r = bench_sim.run(arch, wl)
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    assert r["jobs"] == len(build_plan(arch, wl, make_mapping("greedy", wl, arch)).jobs) and r["runs"] == 1
    assert r["events"] > r["packets"] > 0 and r["latency_ps"] > 0
    assert r["us_per_event"] == pytest.approx(r["sim_s"] / r["events"] * 1e6, rel=0.05, abs=1e-3)
    m = bench_sim.run(bench_sim.mesh_arch(2), ZOO["mnist-mlp"](), "placement", refine=0)
    assert m["arch"] == "reram-mesh-2x2" and m["events"] > 0
    assert bench_sim.bare_simpy(1000) > 0


def test_bench_sim_trace_memory_streams_exactly_the_rows_asked_for():
    out = bench_sim.trace_memory(2500, lambda *a: None)
    assert out["rows"] == 2500 and out["last_csv_mb"] > 0


def test_bench_noc_runs_and_reports_its_long_run(monkeypatch, capsys):
    import json

    monkeypatch.setattr(sys, "argv", ["bench_noc.py", "--json", "--long-cycles", "400"])
    bench_noc.main()
    doc = json.loads(capsys.readouterr().out)
    assert doc["long_run"]["measured_cycles"] == 400 and doc["long_run"]["packets"] > 0 and doc["long_run"]["peak_rss_mb"] > 0
    assert doc["events"] > doc["cycles"] > 6000 and doc["events_per_s"] > 0
    assert 0.19 < doc["accepted"] < 0.21


def test_the_scale_flow_and_serve_benchmarks_run_on_tiny_inputs():
    import bench_scale
    import bench_serve
    import compare_flow
    r = bench_scale.one({"k": 2, "model": "mnist-mlp", "noc": "flow"})
    assert r["units"] == 8 and r["jobs"] > 0 and r["latency_us"] > 0 and r["peak_rss_mb"] > 0
    d = bench_scale.one({"arch": "hybrid", "model": "pythia-70m", "prompt": 8, "tokens": 3, "stride": 2, "noc": "flow"})
    assert d["steps_simulated"] == 2 and d["latency_us"] > 0 and d["wall_s"] > 0
    c = compare_flow.compare("hybrid", "mlp")
    assert abs(c["error"]) < 0.05 and c["router_us"] > 0
    s = bench_serve.measure(20, rates=(100,), prompt=8, tokens=4, max_batch=2)
    assert s["rows"][0]["throughput_rps"] > 0 and set(s["step_ps"]) == {1, 2}


def test_the_floret_comparison_runs_and_plots(tmp_path):
    import compare_floret
    from prismsim.mapper.mapping import Schedule
    r = compare_floret.run(load_arch("manycore-floret"), ("mnist-cnn", "mnist-mlp"), Schedule())
    assert r["latency_us"] > 0 and set(r["model_latency_us"]) == {"mnist-cnn", "mnist-mlp"}
    assert compare_floret.interposer_links(load_arch("manycore-2.5d")) == 24
    doc = {"ratios": [{"models": ["resnet18", "resnet50"], "schedule": "pipelined", "latency": 0.99,
                       "energy": 1.0, "edp": 0.99}]}
    compare_floret.plot(doc, str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 0
