"""Inputs that pass a naive check but would overflow, hang or explode: each is one short line on
stderr and exit 2, with nothing written; a run that breaks an invariant writes nothing."""
import pytest

from prismsim.sim.cli import main


def _arch(tmp_path, text):
    f = tmp_path / "a.yaml"
    f.write_text(text)
    return str(f)


def _err(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


BAD = [
    ("units: [{name: d, kind: digital, params: {ops_per_element: {softmax: -5}}}]", "ops_per_element.softmax must be >= 1"),
    ("units: [{name: d, kind: digital, params: {ops_per_element: {softmx: 5}}}]", "unknown op kind 'softmx'"),
    ("units: [{name: d, kind: digital, params: {op_energy_pj: {softmax: -100000}}}]", "op_energy_pj.softmax must be >= 0"),
    ("units: [{name: d, kind: digital, params: {freq_ghz: 1.0e-320}}]", "freq_ghz must be 0 or at least 1e-09"),
    ("units: [{name: d, kind: digital}]\nnoc: {clock_ghz: 1.0e-320}", "clock_ghz must be 0 or at least 1e-09"),
    ("units: [{name: d, kind: digital}]\ndram: {bandwidth_gbps: 1.0e-320}", "bandwidth_gbps"),
    ("units: [{name: p, kind: photonic, params: {mzm_il_db: 1.0e6}}, {name: d, kind: digital}]", "mzm_il_db"),
    ("units: [{name: p, kind: photonic, params: {pd_sensitivity_dbm: 1.0e6}}, {name: d, kind: digital}]",
     "pd_sensitivity_dbm"),
    ("units: [{name: p, kind: photonic, params: {mrr_on_path: 100}}, {name: d, kind: digital}]",
     "each laser would need"),
    ("units: [{name: d, kind: digital}]\nnoc: {dims: [20000, 20000]}", "at most 65,536"),
    ("units: [{name: d, kind: digital}]\nnoc: {route_table: {'0,0->1,0': []}}", "is empty"),
    ("units: [{name: d, kind: digital}]\nnoc: {router_latency_cycles: 2}", "greater than or equal to 3"),
    ("units: [{name: d, kind: digital}]\nnoc: {pipeline: [1, 0, 1, 1]}", "VA, SA, ST >= 1"),
    ("units: [{name: r, kind: reram, params: {cols_per_adc: 256}}, {name: d, kind: digital}]", "exceeds cols 128"),
    ("units: [{name: r, kind: reram, params: {crossbars: 1.0e30}}, {name: d, kind: digital}]", "crossbars"),
]


@pytest.mark.parametrize("text,expect", BAD)
def test_values_that_would_overflow_are_refused_in_one_line(tmp_path, capsys, text, expect):
    out = tmp_path / "run"
    code, err = _err(capsys, "simulate", "--arch", _arch(tmp_path, text), "--model", "mlp", "--out", str(out),
                     "--no-progress")
    assert code == 2 and expect in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9) if p else ', '.join(['lol'] * 9)}]\n"
               for p, c in zip([None, "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi"))


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path, capsys):
    """381 bytes of nested anchors stand for 9^9 values: refused at load, the message short."""
    f = tmp_path / "m.yaml"
    f.write_text(BOMB + "schedule: {kind: sequential}\nlayers: {fc1: *i}\n")
    code, err = _err(capsys, "simulate", "--model", "mlp", "--mapping", str(f), "--no-progress")
    assert code == 2 and "expands to more than 1,000,000 values" in err and len(err) < 400
    s = tmp_path / "s.yaml"
    s.write_text(BOMB + "base: hybrid\nmodels: *i\n")
    code, err = _err(capsys, "sweep", str(s), "--out", str(tmp_path / "o"), "--no-progress")
    assert code == 2 and len(err) < 400


def test_echoed_values_are_cut_short(tmp_path, capsys):
    s = tmp_path / "s.yaml"
    s.write_text("base: hybrid\nmodels: [" + ", ".join(str(i) for i in range(5000)) + "]\n")
    code, err = _err(capsys, "sweep", str(s), "--out", str(tmp_path / "o"), "--no-progress")
    assert code == 2 and "expected names" in err and len(err) < 300
    s.write_text("base: hybrid\nstrategies: [[greedy]]\n")
    assert _err(capsys, "sweep", str(s), "--out", str(tmp_path / "o"), "--no-progress")[0] == 2
    s.write_text("base: hybrid\nsampling: random\nsamples: 2\nseed: abc\naxes: {noc.link_width_bits: [64, 128]}\n")
    code, err = _err(capsys, "sweep", str(s), "--out", str(tmp_path / "o"), "--no-progress")
    assert code == 2 and "seed must be a whole number" in err


def test_a_broken_invariant_fails_loudly():
    from prismsim.hw.errors import PrismError
    from prismsim.mapper.result import Result
    from prismsim.sim.engine import Timeline, check_invariants

    res = Result("m", "a", "s", "des", 100, 5.0, {"compute": 5.0}, {}, 0, 0, {})
    check_invariants(res, Timeline([0, 10], [10, 20], [0], [5], [-1, -1], 0, 0, 0, 0))
    with pytest.raises(PrismError, match="job 1 ends at 5 ps, before its start at 10 ps"):
        check_invariants(res, Timeline([0, 10], [10, 5], [], [], [-1, -1], 0, 0, 0, 0))
    neg = Result("m", "a", "s", "des", 100, -5.0, {"compute": -5.0}, {}, 0, 0, {})
    with pytest.raises(PrismError, match="energy compute is -5.0 pJ"):
        check_invariants(neg, Timeline([], [], [], [], [], 0, 0, 0, 0))


def test_parallel_default_runs_do_not_collide_and_leave_nothing(tmp_path):
    """Runs started together without --out each get their own directory; no claimed name is left
    empty and no temporary folder remains; a dead process's temporary folder is cleaned up."""
    import subprocess
    import sys
    (tmp_path / "runs").mkdir()
    stale = tmp_path / "runs" / ".20260101-000000.tmp-999999999"
    stale.mkdir()
    (stale / "events.csv").write_text("half written")
    cmd = [sys.executable, "-m", "prismsim.sim.cli", "simulate", "--model", "mlp", "--no-progress"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    dirs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(dirs) == 3 and all((tmp_path / "runs" / d / "summary.json").exists() for d in dirs)
    assert not stale.exists()


def test_sighup_cleans_up_like_sigterm(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "prismsim.sim.cli", "simulate", "--model", "pythia-70m?seq_len=512", "--trace",
           "packets", "--out", str(out), "--no-progress"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(x.name.startswith(".run.tmp-") for x in tmp_path.iterdir()):
        time.sleep(0.05)
    p.send_signal(signal.SIGHUP)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []


# ---- fuzz: every numeric field of every preset ------------------------------------------------------

def _numeric_paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("positions", "position", "channels", "dims", "chiplets", "gateway", "route_table"):
                continue
            yield from _numeric_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _numeric_paths(v, prefix + (i,))
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        yield prefix


def _set(doc, path, value):
    import copy
    doc = copy.deepcopy(doc)
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return doc


PRESETS = ["hybrid", "hybrid-3d", "lionheart", "cmswitch", "isaac", "manycore-2.5d"]
NASTY = [-1, 0, -1e-320, 1e-320, 1e308, -1e308, float("nan"), float("inf"), float("-inf"), 10 ** 30, 7, 0.5, 3.7e4]


def _fuzz_cases():
    from prismsim.hw.spec import load_arch
    for preset in PRESETS:
        doc = load_arch(preset).model_dump(mode="json")
        for path in _numeric_paths(doc):
            yield preset, path


CASES = list(_fuzz_cases())


def test_fuzz_every_numeric_field_of_every_preset():
    """Each numeric field of each preset, set to a nasty value (negative, zero, denormal, huge, NaN,
    +-inf, a huge integer): either a one-line input error, or a run whose invariants hold (no
    traceback, no nonsense written). Drawn with hypothesis; seeded so CI is repeatable."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    from prismsim.hw.errors import PrismError
    from prismsim.hw.spec import load_arch, parse_arch
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO
    from prismsim.sim.engine import simulate_plan

    docs = {p: load_arch(p).model_dump(mode="json") for p in PRESETS}
    wl = ZOO["mlp"]()

    @settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(CASES), st.sampled_from(NASTY))
    def check(case, value):
        preset, path = case
        try:
            arch = parse_arch(_set(docs[preset], path, value), "fuzz")
        except PrismError as err:
            assert "\n" not in str(err) and len(str(err)) < 600
            return
        try:
            res, tl = simulate_plan(build_plan(arch, wl, make_mapping("greedy", wl, arch)), trace="none")
        except PrismError as err:   # a refusal naming the reason (no unit can run a layer, weights do not fit)
            assert "\n" not in str(err)
            return
        assert res.latency_ps >= 0 and all(v >= 0 for v in res.energy_breakdown_pj.values())
        assert all(b >= a for a, b in zip(tl.job_start, tl.job_end))

    check()


@pytest.mark.parametrize("opt", ["pop=-5", "gens=0", "seed=-1", "snr_db=nan", "max_drop=inf", "t_eval=-1",
                                 "objective=2", "pop=1e308"])
def test_strategy_options_fail_in_one_line(capsys, tmp_path, opt):
    code = main(["map", "--strategy", "h3pimap", "--model", "mlp", "-O", opt, "--out", str(tmp_path / "m.yaml"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and (code == 0 or (code == 2 and len(err.strip().splitlines()) == 1))


def test_a_full_disk_under_a_parquet_trace_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    def full(self, *a, **k):
        raise pa.ArrowInvalid("IOError: [Errno 28] No space left on device")
    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    out = tmp_path / "run"
    code = main(["simulate", "--model", "mlp", "--trace-format", "parquet", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write the Parquet trace" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_an_out_name_too_long_is_refused_before_any_work(tmp_path, capsys):
    code = main(["simulate", "--model", "mlp", "--out", str(tmp_path / ("x" * 300)), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "is 300 bytes" in err and list(tmp_path.iterdir()) == []


def test_zoo_sizes_are_bounded(capsys):
    assert main(["simulate", "--model", "pythia-70m?seq_len=100000000000000000000000", "--no-progress"]) == 2
    assert "from 1 to 10,000,000" in capsys.readouterr().err


def test_a_refused_write_names_the_users_file_with_exit_2(tmp_path, capsys, monkeypatch):
    """map --out into a folder the machine will not write (as a read-only one): exit 2, the
    user's path named, not the hidden temporary file."""
    import os as _os

    real = _os.replace

    def refuse(src, dst):
        if str(dst).endswith("m.yaml"):
            raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst)
    monkeypatch.setattr("prismsim.sim.output.os.replace", refuse)
    code = main(["map", "--model", "mlp", "--out", str(tmp_path / "m.yaml"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and repr(str(tmp_path / "m.yaml")) in err and ".tmp-" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_under_a_sweep_store_is_one_line(tmp_path, capsys, monkeypatch):
    import sqlite3 as _sqlite3

    from prismsim.sim import sweep

    def full(self, rows):
        raise _sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(sweep.Store, "add", lambda self, rows: sweep.Store._add_checked(self, rows, full))
    f = tmp_path / "s.yaml"
    f.write_text("base: hybrid\nmodels: [mlp]\naxes: {noc.link_width_bits: [256, 512]}\n")
    code = main(["sweep", str(f), "--out", str(tmp_path / "o"), "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot store results (database or disk is full)" in err and "Traceback" not in err


def test_a_termination_whose_exception_was_swallowed_still_stops_the_run(tmp_path, monkeypatch, capsys):
    """A signal handler's exception raised inside a finalizer is printed and ignored by Python;
    the handler also sets a flag, so the run is still not committed and the exit is 143."""
    from prismsim.sim import engine, output

    real = engine.simulate_plan

    def swallowed(*args, **kwargs):
        out = real(*args, **kwargs)
        output.STOP.set()            # as the handler does, its raise lost
        return out

    monkeypatch.setattr(engine, "simulate_plan", swallowed)
    out = tmp_path / "run"
    assert main(["simulate", "--model", "mlp", "--out", str(out), "--no-progress"]) == 143
    assert "terminated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert main(["simulate", "--model", "mlp", "--out", str(out), "--no-progress"]) == 0   # the flag is per run
