"""Request streams (issue 26): the queue's bookkeeping, its low-load limit, the KV cache, the
M/D/1 estimate, and the command."""
import json

import pytest

from prismsim.sim.cli import main
from prismsim.sim.serve import ServiceTimes, estimate, run_stream

TIMES = ServiceTimes(prefill_ps=1_000_000, step_ps={1: 100_000, 2: 150_000, 4: 200_000, 8: 300_000})


def test_littles_law_holds_on_the_simulated_queue():
    r = run_stream(TIMES, 500_000, 500, 16, 64, max_batch=8, seed=3)   # near capacity (640 k/s)
    # the time-average number in the system (integrated over the run) = throughput x mean time in it
    little = r["throughput_rps"] / 1e12 * r["mean_time_in_system_ps"]
    assert r["mean_in_system"] == pytest.approx(little, rel=1e-9)
    assert r["mean_in_system"] > 1   # a real queue, not an empty one


def test_at_low_load_a_request_sees_a_lone_requests_latency():
    r = run_stream(TIMES, 10, 20, 16, 64, arrivals="fixed")
    assert r["ttft_p50_ps"] == r["ttft_p99_ps"] == TIMES.prefill_ps
    assert r["tpot_p50_ps"] == TIMES.step(1) and r["queueing_mean_ps"] == 0


def test_tokens_are_conserved_and_batches_interpolate():
    r = run_stream(TIMES, 100_000, 300, 10, 32, max_batch=6)
    assert r["served"] + r["refused"] == 300 and r["tokens"] == 10 * r["served"]
    assert TIMES.step(3) == 175_000 and TIMES.step(6) == 250_000


def test_the_kv_cache_bounds_the_batch_and_refuses_what_never_fits():
    none = run_stream(TIMES, 1000, 10, 16, 64, kv_tokens=79)       # 64 + 16 tokens never fit
    assert none["refused"] == 10 and none["served"] == 0
    two = run_stream(TIMES, 1e9, 200, 16, 64, max_batch=8, kv_tokens=160)  # room for two at a time
    eight = run_stream(TIMES, 1e9, 200, 16, 64, max_batch=8)
    assert two["throughput_rps"] < eight["throughput_rps"]
    cap2 = 2 / (2 * TIMES.prefill_ps + 15 * TIMES.step(2)) * 1e12
    assert two["throughput_rps"] == pytest.approx(cap2, rel=0.02)


def test_fcfs_matches_the_md1_queue():
    rate = 0.5 / (TIMES.prefill_ps + 15 * TIMES.step(1)) * 1e12      # 50% load
    r = run_stream(TIMES, rate, 4000, 16, 64, scheduler="fcfs", seed=1)
    est = estimate(TIMES, rate, 16, 8, "fcfs")
    mean_ttft = r["queueing_mean_ps"] + TIMES.prefill_ps
    assert mean_ttft == pytest.approx(est["md1_ttft_mean_ps"], rel=0.1)
    saturated = run_stream(TIMES, 1e9, 300, 16, 64, scheduler="fcfs")
    assert saturated["throughput_rps"] == pytest.approx(est["capacity_rps"], rel=0.01)


def test_serve_command_prints_a_row_per_rate(capsys):
    assert main(["serve", "--model", "pythia-70m", "--rate", "100,100000", "--requests", "30", "--prompt", "16",
                 "--decode-tokens", "4", "--max-batch", "2", "--noc", "flow", "--json", "--no-progress"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["rate"] for r in rows] == [100, 100000]
    assert rows[0]["ttft_p50_ps"] < rows[1]["ttft_p50_ps"] and rows[1]["utilization"] > 0.9
    assert set(rows[0]) >= {"throughput_rps", "tokens_per_s", "ttft_p99_ps", "tpot_p50_ps", "tpot_p99_ps"}


@pytest.mark.parametrize("argv,field", [(["--rate", "0"], "--rate"), (["--rate", "x"], "--rate"),
                                        (["--rate", "10", "--model", "bert-base"], "--model"),
                                        (["--rate", "10", "--requests", "0"], "--requests")])
def test_serve_bad_input_is_one_line(argv, field, capsys):
    assert main(["serve", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_serve_finds_the_rate_for_a_ttft_target_and_plots_the_curve(tmp_path, capsys):
    png = tmp_path / "curve.png"
    assert main(["serve", "--rate", "100,100000", "--requests", "30", "--prompt", "16", "--decode-tokens", "4",
                 "--max-batch", "2", "--noc", "flow", "--ttft-p99", "1000", "--plot", str(png), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "TTFT p99 <= 1,000 us:" in out and "(rate 100)" in out
    assert png.exists() and png.stat().st_size > 1000
    assert main(["serve", "--rate", "100", "--plot", str(png), "--no-progress"]) == 2   # never overwritten


def test_per_request_tokens_and_a_one_token_request():
    r = run_stream(TIMES, 1000, 3, [1, 5, 9], 64, arrivals="fixed")
    assert r["served"] == 3 and r["tokens"] == 15
    # the one-token request is done with its prefill; the others at a step per further token
    assert r["tpot_p50_ps"] == TIMES.step(1)


def test_serve_plays_a_trace_file(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("# seconds, tokens\n0.0, 3\n0.001, 2\n0.001, 4\n")
    assert main(["serve", "--arrivals", str(trace), "--prompt", "16", "--max-batch", "2", "--noc", "flow",
                 "--json", "--no-progress"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["served"] == 3 and row["rate"] == pytest.approx(3 / 0.001)
    trace.write_text("0.002\n0.001\n")
    assert main(["serve", "--arrivals", str(trace), "--no-progress"]) == 2
    assert "must not decrease" in capsys.readouterr().err
    assert main(["serve", "--rate", "10", "--decode-tokens", "9-3", "--no-progress"]) == 2


def test_service_times_use_one_mapping_and_grow_with_the_batch():
    from prismsim.hw.spec import load_arch
    from prismsim.sim.serve import service_times
    t = service_times(load_arch("hybrid"), "pythia-70m", 16, 8, 8, noc="flow")
    steps = [t.step_ps[b] for b in sorted(t.step_ps)]
    assert sorted(t.step_ps) == [1, 2, 4, 8] and steps == sorted(steps) and t.prefill_ps > 0
    # and at the longest context a request reaches (16 + 7 cached tokens): every batch's step is longer
    assert (t.context, t.far) == (19, 23) and all(t.step_ps_far[b] > t.step_ps[b] for b in t.step_ps)


def test_a_step_runs_at_its_requests_mean_context():
    t = ServiceTimes(prefill_ps=1_000_000, step_ps={1: 100_000, 2: 150_000}, context=64, far=80,
                     step_ps_far={1: 116_000, 2: 182_000})       # 1 ns (2 ns for two) more per cached token
    assert t.step(1, 64) == 100_000 and t.step(1, 80) == 116_000 and t.step(2, 72) == 166_000
    assert t.step(1) == 100_000                                   # no context: the measured one
    r = run_stream(t, 10, 1, 17, 64)                              # one request: 16 steps at 64 ... 79 cached
    assert r["tpot_p50_ps"] == sum(100_000 + 1000 * c for c in range(16)) / 16


def test_priorities_serve_the_high_class_first_under_overload():
    prio = [1 if i % 5 == 0 else 0 for i in range(600)]            # a fifth of the requests high
    r = run_stream(TIMES, 2e6, 600, 16, 64, max_batch=4, seed=2, priorities=prio)   # 3x capacity
    hi, lo = r["by_priority"][1], r["by_priority"][0]
    assert hi["served"] == 120 and lo["served"] == 480
    assert hi["ttft_p99_ps"] * 10 < lo["ttft_p99_ps"]
    same = run_stream(TIMES, 2e6, 600, 16, 64, max_batch=4, seed=2)
    assert same["tokens"] == r["tokens"] and "by_priority" not in same


def test_eviction_makes_room_for_a_higher_class_and_conserves_tokens():
    """A KV cache for two requests, low-class requests first, then high ones: with eviction the
    high class goes in at once and the evicted requests recompute their cache later."""
    arr = [0.0, 1.0, 2_000_000.0, 2_000_001.0]
    prio = [0, 0, 1, 1]
    kw = dict(max_batch=4, arrivals=arr, kv_tokens=160, priorities=prio)
    ev = run_stream(TIMES, 1, 4, 16, 64, evict=True, **kw)
    no = run_stream(TIMES, 1, 4, 16, 64, evict=False, **kw)
    assert ev["evicted"] == 2 and no["evicted"] == 0
    assert ev["served"] == no["served"] == 4 and ev["tokens"] == no["tokens"] == 64
    assert ev["by_priority"][1]["ttft_p99_ps"] < no["by_priority"][1]["ttft_p99_ps"]
    assert ev["by_priority"][0]["ttft_p99_ps"] == no["by_priority"][0]["ttft_p99_ps"]   # made before eviction
    # eviction costs the recomputation: the server works longer in all
    assert ev["utilization"] * (ev["tokens"] / ev["tokens_per_s"]) > no["utilization"] * (no["tokens"] / no["tokens_per_s"])


def test_the_timeline_adds_up_to_the_utilization():
    r = run_stream(TIMES, 300_000, 300, 16, 64, max_batch=4, kv_tokens=240, seed=5, bins=40)
    tl = r["timeline"]
    assert len(tl["utilization"]) == 40 and all(0 <= u <= 1 + 1e-9 for u in tl["utilization"])
    assert sum(tl["utilization"]) / 40 == pytest.approx(r["utilization"], rel=1e-3)
    assert max(tl["batch"]) <= 4 and max(tl["kv_tokens"]) <= 240 and tl["t_ps"] == sorted(tl["t_ps"])


def test_serve_command_priorities_eviction_and_a_trace_with_classes(tmp_path, capsys):
    base = ["serve", "--prompt", "16", "--decode-tokens", "4", "--max-batch", "2", "--noc", "flow", "--no-progress"]
    assert main([*base, "--rate", "100000", "--requests", "40", "--priority-share", "0.25", "--kv-tokens", "40",
                 "--evict", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert set(row["by_priority"]) == {"0", "1"} and row["evicted"] >= 0
    assert row["by_priority"]["1"]["ttft_p99_ps"] < row["by_priority"]["0"]["ttft_p99_ps"]
    assert len(row["timeline"]["utilization"]) == 50
    trace = tmp_path / "t.csv"
    trace.write_text("0.0,3,0\n0.0,3,0\n0.00008,3,1\n")   # the high one while both low ones decode
    assert main([*base, "--arrivals", str(trace), "--kv-tokens", "38", "--evict", "--max-batch", "4"]) == 0
    out = capsys.readouterr().out
    assert "class 1: 1 served" in out and "evictions" in out
    trace.write_text("0.0,3,0\n0.0,3\n")
    assert main([*base, "--arrivals", str(trace)]) == 2
    assert "priority classes on every line or on none" in capsys.readouterr().err
    assert main([*base, "--rate", "10", "--kv-cache", "nvme"]) == 2
    assert "--kv-cache" in capsys.readouterr().err
    assert main([*base, "--rate", "10", "--priority-share", "1.5"]) == 2


def test_prompts_of_different_lengths_take_their_own_prefill():
    """Prefill measured at a few lengths, linear between them; a request's KV cache and its TTFT
    at low load follow its own prompt."""
    from prismsim.sim.serve import prompt_lengths
    assert prompt_lengths(32, 256) == [32, 64, 128, 256] and prompt_lengths(100, 100) == [100]
    t = ServiceTimes(0, TIMES.step_ps, prompt=64, prefill_at={32: 500_000, 64: 800_000, 128: 1_600_000})
    assert t.prefill(48) == 650_000 and t.prefill(256) == 3_200_000   # between, and beyond along the last two
    r = run_stream(t, 10, 3, 4, [32, 64, 128], arrivals="fixed")
    assert r["ttft_p50_ps"] == 800_000 and r["ttft_p99_ps"] == pytest.approx(1_600_000, rel=0.02)
    kv = run_stream(t, 1e9, 2, 4, [32, 128], kv_tokens=132, max_batch=2)   # 36 + 132 > 132: one at a time
    assert kv["served"] == 2 and kv["refused"] == 0


def test_serve_command_takes_a_prompt_range(capsys):
    assert main(["serve", "--rate", "100", "--requests", "20", "--prompt", "16-64", "--decode-tokens", "4",
                 "--max-batch", "2", "--noc", "flow", "--no-progress"]) == 0
    assert "prefill of 16 tokens" in capsys.readouterr().out
    assert main(["serve", "--rate", "100", "--prompt", "64-16", "--no-progress"]) == 2
    assert "--prompt: expected N or LO-HI" in capsys.readouterr().err


# ---- where the KV cache lives (mapper.kv_cache) ---------------------------------------------------

def _step(arch, where, batch=4, context=96):
    from prismsim.mapper.kv_cache import place_kv
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO
    wl = place_kv(ZOO["pythia-70m"](seq_len=context, phase="decode", decode_tokens=1, batch=batch), where)
    return wl, make_mapping("greedy", wl, arch)


def test_each_kv_place_has_the_capacity_of_its_memory_and_is_read_from_there():
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.kv_cache import kv_capacity, kv_layers
    from prismsim.mapper.plan import build_plan
    arch = load_arch("hybrid")
    per_token = 6 * 2 * 512          # Pythia-70M: K and V of 512 bytes in each of 6 layers
    for where in ("dram", "gb", "units"):
        wl, m = _step(arch, where)
        cap = kv_capacity(arch, wl, m, 96, 4)
        kv = set(kv_layers(wl))
        reads = [t for t in build_plan(arch, wl, m).transfers if t.layer in kv and t.kind == "input"]
        if where == "dram":
            weights = sum(wl.layer(n).op.weight_bytes for n in set(wl.weight_owner.values()) if wl.layer(n).static_weights)
            assert cap.tokens == (4 * 16 * 2 ** 30 - weights) // per_token      # four HBM3 stacks less the weights
            assert reads and all(t.src.startswith("dram") for t in reads)
        elif where == "gb":
            assert cap.tokens == 2048 * 1024 // per_token and reads and {t.src for t in reads} == {"gb"}
        else:   # each digital unit keeps half of every layer's cache in its 256 KiB buffer, read in place
            assert cap.per_memory == {u: (256 * 1024, per_token / 2, 256 * 1024 * 2 // per_token) for u in ("dg0", "dg1")}
            assert not reads


def test_kv_capacity_knobs_move_their_capacity():
    import yaml
    from prismsim.hw.spec import load_arch, parse_arch, preset_text
    from prismsim.mapper.kv_cache import kv_capacity
    arch = load_arch("hybrid")
    doc = yaml.safe_load(preset_text("hybrid"))
    doc["global_buffer"] = {**doc.get("global_buffer", {}), "capacity_kib": 4096}
    doc["dram"]["capacity_gib"] = 32.0
    for u in doc["units"]:
        if u["kind"] == "digital":
            u.setdefault("params", {})["buffer_kib"] = 512
    bigger = parse_arch(doc, "test")
    base = {w: kv_capacity(arch, *_step(arch, w), 96, 4).tokens for w in ("dram", "gb", "units")}
    grown = {w: kv_capacity(bigger, *_step(bigger, w), 96, 4).tokens for w in ("dram", "gb", "units")}
    assert grown["gb"] == 2 * base["gb"] and grown["units"] == 2 * base["units"]
    assert grown["dram"] > 1.99 * base["dram"]


def test_an_on_chip_kv_cache_caps_the_batch_as_the_estimate_says(capsys):
    # 85 tokens in the digital units' buffers hold one 32 + 16-token request: throughput falls to one
    # request at a time, which the estimate's capacity predicts
    argv = ["serve", "--rate", "1000000", "--requests", "60", "--prompt", "32", "--decode-tokens", "16",
            "--noc", "flow", "--json", "--no-progress"]
    assert main(argv + ["--kv-cache", "units"]) == 0
    units = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    dram = json.loads(capsys.readouterr().out)
    assert units["kv_capacity_tokens"] == 85 and dram["kv_capacity_tokens"] > 10 ** 6
    assert units["throughput_rps"] == pytest.approx(units["estimate"]["capacity_rps"], rel=0.02)
    assert units["throughput_rps"] < 0.5 * dram["throughput_rps"]
    assert main(argv + ["--kv-cache", "units", "--kv-tokens", "40"]) == 0   # a request of 48 never fits
    assert json.loads(capsys.readouterr().out)["refused"] == 60


def test_serve_runs_a_hugging_face_causal_lm():
    pytest.importorskip("transformers")
    from prismsim.hw.spec import load_arch
    from prismsim.sim.serve import service_times
    t = service_times(load_arch("hybrid"), "hf:gpt2?n_layer=2&n_embd=128&n_head=4&vocab_size=1000", 16, 4, 4,
                      noc="flow", kv_cache="units")
    assert t.step(1) < t.step(2) < t.step(4) and t.prefill_ps > 0
    room, per_token, _ = t.kv.per_memory[t.kv.binding]
    assert sum(b for _, b, _ in t.kv.per_memory.values()) == 2 * 2 * 128   # K and V of 128 bytes, 2 layers


def test_energy_per_request_counts_the_idle_chips_leakage():
    t = ServiceTimes(prefill_ps=1_000_000, step_ps={1: 100_000}, prefill_pj=100.0, step_pj={1: 10.0}, prompt=64,
                     idle_mw=2.0)
    r = run_stream(t, 10, 5, 4, 64, arrivals="fixed")            # a request every 100 ms, 1.3 us of work each
    busy = 5 * (1_000_000 + 3 * 100_000)
    span = 4 * 1e11 + 1_300_000
    idle = 2.0 * (span - busy) * 1e-3
    assert r["idle_energy_pj"] == pytest.approx(idle)
    assert r["energy_per_request_pj"] == pytest.approx((5 * 130.0 + idle) / 5)
    busier = run_stream(t, 1e5, 5, 4, 64, arrivals="fixed")      # less idle time, less energy per request
    assert busier["energy_per_request_pj"] < r["energy_per_request_pj"]
