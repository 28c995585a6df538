"""An LLM's decode step by step (``prismsim decode``, ``sim/llm_steps.py``; issue 28's decode
target): sampled steps against every step, steps against the whole decode as one plan."""
import json

import pandas as pd
import pytest

from prismsim.hw.spec import load_arch
from prismsim.mapper.load import load_model
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.sim.cli import main
from prismsim.sim.engine import simulate_plan
from prismsim.sim.llm_steps import decode, sampled

ARCH = load_arch("hybrid")


def test_sampled_steps_keep_the_first_and_last():
    assert sampled(10, 4) == [0, 4, 8, 9] and sampled(5, 1) == [0, 1, 2, 3, 4] and sampled(1, 8) == [0]


def test_sampled_steps_are_the_simulated_ones_and_the_rest_lie_between():
    every = decode(ARCH, "pythia-70m", 16, 9, stride=1)
    some = decode(ARCH, "pythia-70m", 16, 9, stride=4)
    assert [s["simulated"] for s in some.steps] == [t in (0, 4, 8) for t in range(9)]
    for a, b in zip(every.steps, some.steps):
        if b["simulated"]:
            assert a == b                                # the same step, simulated alike
        assert b["macs"] == a["macs"]                    # attention's MACs grow linearly with the context
        assert b["latency_ps"] == pytest.approx(a["latency_ps"], rel=0.02)
    assert some.latency_ps == pytest.approx(every.latency_ps, rel=0.005)
    lat = [s["latency_ps"] for s in every.steps]
    assert lat[-1] > lat[0]                              # a longer context, a longer step


def test_steps_one_at_a_time_agree_with_the_whole_decode_as_one_plan():
    steps = decode(ARCH, "pythia-70m", 16, 6)
    wl = load_model("pythia-70m?seq_len=16&phase=decode&decode_tokens=6")
    whole, _ = simulate_plan(build_plan(ARCH, wl, make_mapping("greedy", wl, ARCH)), trace="none", noc="flow")
    assert steps.macs == whole.macs
    # each step alone reads its token from DRAM and writes its logits back; chained, they pass on chip
    assert steps.latency_ps == pytest.approx(whole.latency_ps, rel=0.03)


def test_decode_command_writes_its_steps(tmp_path, capsys):
    out = tmp_path / "steps.csv"
    assert main(["decode", "--prompt", "16", "--tokens", "5", "--stride", "2", "--out", str(out), "--json",
                 "--plot", str(tmp_path / "steps.png"), "--no-progress"]) == 0
    assert (tmp_path / "steps.png").stat().st_size > 0
    doc = json.loads(capsys.readouterr().out)
    df = pd.read_csv(out)
    assert list(df.t) == list(range(5)) and list(df.simulated) == [1, 0, 1, 0, 1]
    assert doc["latency_ps"] == df.latency_ps.sum() and doc["steps_simulated"] == 3
    assert doc["tokens_per_s"] == pytest.approx(5 / doc["latency_ps"] * 1e12)
    assert doc["kv_tokens_held"] == 21 and doc["kv_capacity_tokens"] > 10 ** 6   # DRAM holds it
    assert main(["decode", "--prompt", "16", "--tokens", "5", "--kv-cache", "units", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["kv_capacity_tokens"] == 85          # two 256 KiB buffers


@pytest.mark.parametrize("argv,field", [(["--model", "resnet18"], "--model"),
                                        (["--model", "pythia-70m?seq_len=8"], "--model"),
                                        (["--out", "x.txt"], "--out"), (["--stride", "0"], "--stride"),
                                        (["--model", "nosuch", "--out", "sub/steps.csv"], "--model"),
                                        (["--plot", "steps.jpg"], "--plot"),
                                        (["--batch", "5000"], "--batch")])
def test_decode_bad_input_is_one_line(argv, field, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["decode", "--tokens", "2", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
