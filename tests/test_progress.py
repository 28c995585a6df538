"""The progress bar of long runs: drawn from a watcher thread, it changes no result."""
import time

from prismsim.hw.spec import load_arch
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.engine import simulate_plan
from prismsim.sim.progress import Stage, Watcher


def test_watcher_draws_bytes_and_jobs(capsys):
    state = [0, 0]
    with Watcher(lambda: tuple(state), 4096, 3, delay=0.0, interval=0.01):
        for i in range(1, 4):
            time.sleep(0.05)
            state[:] = [1024 * i, i]
        time.sleep(0.05)
    err = capsys.readouterr().err
    assert "simulate" in err and "jobs 3/3" in err


def test_short_runs_show_nothing_and_results_do_not_change(capsys):
    arch, wl = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=4)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    assert simulate_plan(plan, trace="none", progress=True) == simulate_plan(plan, trace="none")
    assert capsys.readouterr().err == ""


def test_stage_shows_its_name_and_elapsed_time(capsys):
    with Stage("tracing hf:gpt2", delay=0.0, interval=0.01):
        time.sleep(0.05)
    assert "tracing hf:gpt2: 00:00" in capsys.readouterr().err


def test_short_or_disabled_stages_show_nothing(capsys):
    with Stage("mapping", delay=2.0, interval=0.01):
        time.sleep(0.05)
    with Stage("mapping", enabled=False, delay=0.0, interval=0.01):
        time.sleep(0.05)
    assert capsys.readouterr().err == ""
