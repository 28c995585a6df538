"""Design-space sweeps: validation, worker-count independence, crash and resume, Dask."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from prismsim.hw.errors import PrismError
from prismsim.sim.cli import main
from prismsim.sim.sweep import load_sweep, run_sweep, summarize

SWEEP = """
base: hybrid
models: ["pythia-70m?seq_len=8", mlp]
strategies: [greedy, equal]
axes:
  noc.link_width_bits: [128, 256]
  units.1.params.adc_bits: [6, 8]
"""


def _file(tmp_path, text, name="s.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def _rows(df):
    return df.drop(columns=["wall_s"]).sort_values("point_id").reset_index(drop=True)


@pytest.mark.parametrize("text,needle", [
    ("base: hybrid\naxes: {noc.nope: [1]}", "axes: 'noc.nope' is not a field of arch hybrid"),
    ("base: hybrid\naxes: {noc.link_width_bits: [0]}", "noc.link_width_bits = 0"),
    ("base: hybrid\naxes: {noc.link_width_bits: 256}", "expected a non-empty list"),
    ("base: hybrid\nstrategies: [magic]", "unknown strategy 'magic'"),
    ("base: hybrid\nmodels: [gpt-9]", "field models: no model named 'gpt-9'"),
    ("base: hybrid\nsampling: random", "field samples must be a whole number"),
    ("base: hybrid\ncolour: red", "field 'colour' is not a sweep setting"),
    ("base: [", "not valid YAML"),
    ("base: hybrid\nmodels: []", "field models: expected a non-empty list (got [])"),
    ("base: hybrid\nstrategies: greedy", "field strategies: expected a non-empty list (got 'greedy')"),
    ("base: hybrid\nmodels: [mlp]\nmodels: [resnet18]", "not valid YAML (line 3, column 1: key 'models' is given twice)"),
    ("base: hybrid\nmodels: [mlp]\nserve: {rate: 10}", "a serving sweep runs an LLM with batched decode steps, pythia-70m or hf:TYPE (got 'mlp')"),
    ("base: hybrid\nserve: {requests: 10}", "field serve: give a rate"),
    ("base: hybrid\nserve: {rate: -1}", "field serve: rate must be a finite number > 0"),
    ("base: hybrid\nserve: {rate: 10, scheduler: lifo}", "scheduler must be one of fcfs, continuous"),
    ("base: hybrid\nserve: {rate: 10, colour: 1}", "'colour' is not a serving setting"),
    ("base: hybrid\nserve: {rate: 10, kv_cache: nvme}", "kv_cache must be one of dram, gb, units"),
    ("base: hybrid\nserve: {requests: 10}\naxes: {serve.rate: [10, 0]}", "axes.serve.rate: rate must be"),
])
def test_bad_sweep_files_fail_before_any_work(tmp_path, capsys, text, needle):
    f = _file(tmp_path, text)
    code = main(["sweep", str(f), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_points_are_hashed_and_sampling_is_seeded(tmp_path):
    spec = load_sweep(_file(tmp_path, SWEEP))
    assert len(spec["points"]) == 16 and len({p["point_id"] for p in spec["points"]}) == 16
    rnd = SWEEP + "sampling: random\nsamples: 5\nseed: 3\n"
    a, b = load_sweep(_file(tmp_path, rnd, "r.yaml")), load_sweep(_file(tmp_path, rnd, "r2.yaml"))
    assert [p["point_id"] for p in a["points"]] == [p["point_id"] for p in b["points"]] and len(a["points"]) == 5


def test_random_sample_of_a_grid_too_big_to_list(tmp_path):
    # 10^12 combinations: the sample draws indices, never the grid
    axes = "".join(f"  noc.{k}: [{', '.join(map(str, range(1, 11)))}]\n" for k in
                   ("vcs", "packet_flits", "link_latency_cycles"))
    axes += "  noc.router_latency_cycles: [" + ", ".join(str(i) for i in range(3, 13)) + "]\n"
    axes += "  noc.buffer_flits: [" + ", ".join(str(i) for i in range(10, 20)) + "]\n"   # a packet fits
    axes += "  noc.link_width_bits: [" + ", ".join(str(32 * i) for i in range(1, 11)) + "]\n"
    axes += "  noc.clock_ghz: [" + ", ".join(str(0.5 * i) for i in range(1, 11)) + "]\n"
    axes += "  units.1.params.adc_bits: [" + ", ".join(str(i) for i in range(3, 13)) + "]\n"
    axes += "  units.0.params.tiles: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  units.1.params.rows: [" + \
        ", ".join(str(32 * i) for i in range(1, 11)) + "]\n  units.1.params.cols: [" + \
        ", ".join(str(32 * i) for i in range(1, 11)) + "]\n  units.2.params.lanes: [" + \
        ", ".join(str(8 * i) for i in range(1, 11)) + "]\n"
    spec = load_sweep(_file(tmp_path, f"base: hybrid\nmodels: [mlp]\nsampling: random\nsamples: 7\nseed: 1\naxes:\n{axes}"))
    pts = spec["points"]
    assert len(pts) == 7 and len({p["point_id"] for p in pts}) == 7 and all(len(p["axes"]) == 12 for p in pts)


def test_point_ids_and_arch_copies():
    # ids are the sha256 of the point's whole JSON (so sweeps written before still resume), and a
    # point's arch is a copy: the base is never changed
    import copy
    import hashlib
    import json

    from prismsim.sim.sweep import _point_id, _with

    base = {"noc": {"dims": [4, 4], "vcs": 1}, "units": [{"count": 2}, {"count": 3}]}
    keep = copy.deepcopy(base)
    values = {"noc.vcs": 2, "units.1.count": 5, "units.0.count": 1}
    new = _with(base, values)
    assert base == keep and new == {"noc": {"dims": [4, 4], "vcs": 2}, "units": [{"count": 1}, {"count": 5}]}
    key = {"base": base, "axes": values, "model": "mlp", "strategy": "greedy", "evaluator": "des"}
    assert _point_id(json.dumps(base, sort_keys=True), values, "mlp", "greedy", "des") == \
        hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def test_one_and_two_workers_give_identical_results(tmp_path, monkeypatch):
    monkeypatch.setattr("prismsim.sim.sweep.BATCH", 3)
    spec = load_sweep(_file(tmp_path, SWEEP))
    one = run_sweep(spec, tmp_path / "one", 1, progress=False)
    two = run_sweep(spec, tmp_path / "two", 2, progress=False)
    pd.testing.assert_frame_equal(_rows(one), _rows(two))
    assert len(one) == 16 and (one["error"] == "").all() and one["latency_ps"].notna().all()
    assert (tmp_path / "one" / "results.csv").exists()


@pytest.mark.parametrize("evaluator", ["analytical", "des"])
def test_every_point_says_what_filled_its_critical_path(tmp_path, evaluator):
    """critical:PART columns (ps): whole numbers adding up to each point's latency; empty on a
    failed point; the report names each point's largest part."""
    spec = load_sweep(_file(tmp_path, "base: reram-only\nmodels: [mlp, \"pythia-70m?seq_len=4\"]\n"
                                      "strategies: [placement]\nevaluator: " + evaluator + "\n"
                                      "axes: {units.0.params.crossbars: [1, 3072], noc.link_width_bits: [64, 512]}\n"))
    df = run_sweep(spec, tmp_path / "s", 1, progress=False)
    crit = [c for c in df.columns if c.startswith("critical:")]
    ok, bad = df[df["error"] == ""], df[df["error"] != ""]
    assert len(ok) and len(bad) and "critical:compute:reram" in crit and "critical:transfer" in crit
    assert (ok[crit].sum(axis=1) == ok["latency_ps"]).all() and bad[crit].isna().all().all()
    assert list(df.columns[-len(crit):]) == sorted(crit)
    back = pd.read_csv(tmp_path / "s" / "results.csv", dtype=str, keep_default_na=False)
    assert back.loc[back["error"] == "", crit].map(str.isdigit).all().all()   # whole ps in the file, not 1.5e+06
    assert (back.loc[back["error"] != "", crit] == "").all().all()
    assert main(["report", str(tmp_path / "s")]) == 0
    md = (tmp_path / "s" / "report" / "report.md").read_text()
    assert "| critical path mostly |" in md and "compute:reram " in md


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = load_sweep(_file(tmp_path, "base: reram-only\nmodels: [mlp]\nstrategies: [placement]\n"
                                      "axes: {units.0.params.crossbars: [1, 3072]}\n"))
    df = run_sweep(spec, tmp_path / "s", 1, progress=False)
    bad = df[df["error"] != ""]
    assert len(df) == 2 and len(bad) == 1 and "do not fit" in bad["error"].iloc[0]
    s = summarize(df)
    assert s["failed"] == 1 and s["top_error"]["points"] == 1 and "do not fit" in s["top_error"]["error"]


def test_values_that_clash_together_fail_their_points_only(tmp_path):
    # each name is valid alone; both units named x is not: that point fails, the other three run
    axes = "axes: {units.0.name: [pt, x], units.1.name: [rr, x]}\n"
    spec = load_sweep(_file(tmp_path, "base: hybrid\nmodels: [mlp]\nstrategies: [equal]\n" + axes))
    df = run_sweep(spec, tmp_path / "s", 1, progress=False)
    bad = df[df["error"] != ""]
    assert len(df) == 4 and len(bad) == 1 and "name 'x' is used twice" in bad["error"].iloc[0]
    assert bad["axis:units.0.name"].iloc[0] == bad["axis:units.1.name"].iloc[0] == "x"
    # every combination clashing: nothing would run, so the sweep is refused before any work
    f = _file(tmp_path, "base: hybrid\nmodels: [mlp]\naxes: {units.0.name: [x], units.1.name: [x]}\n", "all.yaml")
    with pytest.raises(PrismError, match="no point makes a valid arch"):
        load_sweep(f)


def test_kill_9_mid_sweep_then_resume_without_duplicates(tmp_path):
    text = ("base: hybrid\nmodels: [\"pythia-70m?seq_len=8\"]\nstrategies: [greedy, equal]\nevaluator: des\n"
            "axes:\n  noc.link_width_bits: [64, 128, 256, 512]\n  units.1.params.adc_bits: [6, 8]\n")
    f = _file(tmp_path, text)
    out = tmp_path / "sweep"
    env = dict(os.environ, PRISMSIM_SWEEP_BATCH="2")
    cmd = [sys.executable, "-m", "prismsim.sim.cli", "sweep", str(f), "--out", str(out), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "results.sqlite"
    deadline = time.time() + 60
    n = 0
    while time.time() < deadline and n < 2:
        time.sleep(0.05)
        if db.exists():
            try:
                n = sqlite3.connect(str(db)).execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                n = 0
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= n < 16, "the sweep must have been killed mid-way"
    before = dict(sqlite3.connect(str(db)).execute("SELECT point_id, row FROM results").fetchall())
    assert main(["sweep", str(f), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    after = dict(sqlite3.connect(str(db)).execute("SELECT point_id, row FROM results").fetchall())
    assert len(after) == 16 and all(after[k] == v for k, v in before.items())  # finished rows untouched
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 16 and df["point_id"].is_unique


def test_dask_local_cluster_gives_the_same_results(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr("prismsim.sim.sweep.BATCH", 4)
    spec = load_sweep(_file(tmp_path, SWEEP))
    local = run_sweep(spec, tmp_path / "local", 1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = run_sweep(spec, tmp_path / "dask", 1, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(_rows(local), _rows(remote))


def test_report_of_a_sweep(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("prismsim.sim.sweep.BATCH", 8)
    f = _file(tmp_path, SWEEP)
    assert main(["sweep", str(f), "--out", str(tmp_path / "s"), "--workers", "1", "--no-progress"]) == 0
    assert main(["report", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "report" / "pareto.png").exists()
    assert main(["sweep", str(f), "--out", str(tmp_path / "s" / "report"), "--no-progress"]) == 2  # not a sweep dir


KILL_SWEEP = ("base: hybrid\nmodels: [\"pythia-70m?seq_len=64\"]\nstrategies: [greedy, equal]\nevaluator: des\n"
              "axes:\n  noc.link_width_bits: [1024, 2048, 4096, 8192]\n  units.1.params.adc_bits: [6, 7, 8]\n")


def _start(tmp_path, text):
    f = _file(tmp_path, text)
    out = tmp_path / "sweep"
    env = dict(os.environ, PRISMSIM_SWEEP_BATCH="2")
    cmd = [sys.executable, "-m", "prismsim.sim.cli", "sweep", str(f), "--out", str(out), "--workers", "2", "--no-progress"]
    # Ctrl-C as a terminal sends it: a shell's background job inherits SIGINT ignored, which Python keeps
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    db, deadline, n = out / "results.sqlite", time.time() + 120, 0
    while time.time() < deadline and n < 2:
        time.sleep(0.05)
        try:
            n = sqlite3.connect(str(db)).execute("SELECT COUNT(*) FROM results").fetchone()[0] if db.exists() else 0
        except sqlite3.Error:
            n = 0
    return proc, out


def _workers(pid: int) -> list[int]:
    psutil = pytest.importorskip("psutil")
    return [c.pid for c in psutil.Process(pid).children(recursive=True)
            if "resource_tracker" not in " ".join(c.cmdline())]


def test_a_worker_killed_mid_sweep_costs_no_point(tmp_path):
    """kill -9 of one worker (as the OOM killer does): the batches in flight run again on fresh
    workers, the sweep finishes every point, nothing failed."""
    proc, out = _start(tmp_path, KILL_SWEEP)
    kids = _workers(proc.pid)
    assert kids, "the sweep must still be running"
    os.kill(kids[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "a sweep worker died" in err and "Traceback" not in err
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 24 and df["point_id"].is_unique and df["error"].isna().all()


def test_workers_exit_when_the_sweep_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    proc, _ = _start(tmp_path, KILL_SWEEP)
    kids = _workers(proc.pid)
    assert kids
    os.kill(proc.pid, signal.SIGKILL)          # the parent only, as a kill -9 of prismsim
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(psutil.pid_exists(k) and psutil.Process(k).status() != "zombie" for k in kids):
        time.sleep(0.1)
    assert not any(psutil.pid_exists(k) and psutil.Process(k).status() != "zombie" for k in kids)


def test_small_sweeps_use_every_worker():
    from prismsim.sim.sweep import batches_of
    pts = [{"point_id": str(i)} for i in range(20)]
    assert len(batches_of(pts, 2)) >= 2 * 2 and sum(len(b) for b in batches_of(pts, 2)) == 20   # several per worker


def test_ctrl_c_keeps_what_finished_and_prints_no_traceback(tmp_path):
    proc, out = _start(tmp_path, KILL_SWEEP)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err
    n = sqlite3.connect(str(out / "results.sqlite")).execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert n >= 2   # what had finished is stored; re-running resumes from there
    assert main(["sweep", str(tmp_path / "s.yaml"), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    assert len(pd.read_csv(out / "results.csv")) == 24


def test_a_second_sweep_on_the_same_directory_waits(tmp_path):
    proc, out = _start(tmp_path, KILL_SWEEP)
    second = subprocess.run([sys.executable, "-m", "prismsim.sim.cli", "sweep", str(tmp_path / "s.yaml"), "--out",
                             str(out), "--workers", "1", "--no-progress"], capture_output=True, text=True, timeout=300)
    proc.communicate(timeout=300)
    assert proc.returncode == 0 and second.returncode == 0
    assert "another sweep is writing to" in second.stderr
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 24 and df["point_id"].is_unique and df["error"].isna().all()


def test_axes_name_unit_groups_and_sweep_their_count(tmp_path):
    f = _file(tmp_path, "base: hybrid\nmodels: [mlp]\naxes:\n  units.rr.params.rows: [128, 256]\n"
                        "  units.pt.count: [2, 4]\n")
    spec = load_sweep(f)
    assert len(spec["points"]) == 4
    df = run_sweep(spec, tmp_path / "o", 1, progress=False)
    assert df["error"].isna().all() or (df["error"] == "").all()
    assert df["area_mm2"].nunique() == 4        # each value moved the chip
    with pytest.raises(PrismError, match="'units.nope.params.rows' is not a field"):
        load_sweep(_file(tmp_path, "base: hybrid\nmodels: [mlp]\naxes: {units.nope.params.rows: [1]}\n", "b.yaml"))


SERVE = """
base: hybrid
models: ["pythia-70m"]
serve: {requests: 40, prompt: 16, decode_tokens: 4, noc: flow}
axes:
  serve.rate: [1000, 100000]
  serve.max_batch: [1, 4]
"""


def test_a_serving_sweep_runs_request_streams_as_points(tmp_path):
    """Each point a request stream: TTFT p99 as its latency, energy per request as its energy;
    the points are resumable like any sweep's."""
    spec = load_sweep(_file(tmp_path, SERVE))
    assert len(spec["points"]) == 4 and all(p["serve"]["requests"] == 40 for p in spec["points"])
    df = run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    assert (df["error"].fillna("") == "").all()
    assert (df["latency_ps"] == df["serve:ttft_p99_ps"]).all() and (df["energy_pj"] > 0).all()
    slow = df[df["axis:serve.rate"] == 100000].set_index("axis:serve.max_batch")
    assert slow.loc[4, "serve:throughput_rps"] > slow.loc[1, "serve:throughput_rps"]   # batching serves more
    again = run_sweep(load_sweep(_file(tmp_path, SERVE)), tmp_path / "out", workers=1, progress=False)
    assert _rows(again).equals(_rows(df))
    other = load_sweep(_file(tmp_path, SERVE.replace("requests: 40", "requests: 50"), "t.yaml"))
    assert {p["point_id"] for p in other["points"]}.isdisjoint({p["point_id"] for p in spec["points"]})
