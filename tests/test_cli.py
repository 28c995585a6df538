"""The command line end to end, and every kind of bad input."""
import csv
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from prismsim.hw.spec import load_arch, parse_arch
from prismsim.sim.cli import main

MLP = ["--model", "mlp"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_writes_a_complete_run(tmp_path, capsys):
    out = tmp_path / "run"
    code, text, _ = run(capsys, "simulate", *MLP, "--out", str(out))
    assert code == 0 and "latency" in text
    assert sorted(p.name for p in out.iterdir()) == \
        ["arch.yaml", "critical_path.csv", "events.csv", "layers.csv", "links.csv", "mapping.yaml", "summary.json",
         "units.csv"]
    s = json.loads((out / "summary.json").read_text())
    for key in ("latency_ps", "energy_pj", "energy_breakdown_pj", "macs", "events", "utilization"):
        assert key in s
    assert s["macs"] == 784 * 256 * 16 + 256 * 256 * 16 + 256 * 10 * 16
    assert abs(sum(s["energy_breakdown_pj"].values()) - s["energy_pj"]) < 1e-6 * s["energy_pj"]
    with open(out / "events.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:9] == ["t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk",
                                 "bytes", "macs"]
    assert len(rows) == s["events"]
    assert sum(int(r["macs"]) for r in rows) == s["macs"]
    assert max(int(r["t_end_ps"]) for r in rows) == s["latency_ps"]
    with open(out / "critical_path.csv") as f:   # a chain of the trace's own rows, from 0 to the latency
        path = list(csv.DictReader(f))
    assert path[0]["t_start_ps"] == "0" and int(path[-1]["t_end_ps"]) == s["latency_ps"]
    traced = {tuple(r[k] for k in ("t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk")) for r in rows}
    assert all(tuple(r[k] for k in ("t_start_ps", "t_end_ps", "kind", "resource", "layer", "shard", "chunk")) in traced
               for r in path)


def test_a_failed_critical_path_walk_keeps_the_run(tmp_path, capsys, monkeypatch):
    """Should the walk find a timeline inconsistent (a bug), the run is written all the same,
    without its path, and a one-line warning says so."""
    def broken(*a, **k):
        raise AssertionError("critical path: nothing ended at 5 ps")
    monkeypatch.setattr("prismsim.sim.output.critical_path", broken)
    code, text, err = run(capsys, "simulate", *MLP, "--out", str(tmp_path / "r"))
    assert code == 0 and "latency" in text and "critical " not in text
    assert err.count("\n") == 1 and "warning: no critical path for this run (critical path: nothing ended" in err
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["critical_path_ps"] == {}
    assert (tmp_path / "r" / "events.csv").exists() and main(["report", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    monkeypatch.setattr("prismsim.sim.output.latency_parts", broken)   # compare keeps its rows too
    code, text, err = run(capsys, "compare", *MLP, "--strategies", "equal,greedy", "--out", str(tmp_path / "c"),
                          "--no-progress")
    assert code == 0 and err.count("warning: no critical path") == 2 and "critical path mostly" not in text
    assert len(pd.read_csv(tmp_path / "c" / "compare.csv").dropna(subset=["latency_ps"])) == 2


def test_same_inputs_same_bytes(tmp_path, capsys):
    for name in ("a", "b"):
        assert run(capsys, "simulate", *MLP, "--schedule", "pipelined", "--seed", "7",
                   "--out", str(tmp_path / name))[0] == 0
    for f in ("events.csv", "summary.json", "units.csv", "layers.csv", "links.csv", "critical_path.csv",
              "mapping.yaml"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_validate_ideal_noc_agrees(tmp_path, capsys):
    code, text, _ = run(capsys, "validate", "--model", "pythia-70m?seq_len=32", "--ideal-noc",
                        "--out", str(tmp_path / "v"))
    assert code == 0 and "error 0.0000%" in text
    rows = list(csv.DictReader(open(tmp_path / "v" / "validation.csv")))
    assert rows[-1]["layer"] == "TOTAL" and float(rows[-1]["rel_error"]) == 0.0
    assert len(rows) == 1 + len({r["layer"] for r in rows[:-1]})
    parts = list(csv.DictReader(open(tmp_path / "v" / "critical_path.csv")))   # the same path, part for part
    assert parts and all(r["analytical_ps"] == r["des_ps"] for r in parts)
    assert sum(int(r["des_ps"]) for r in parts) == int(rows[-1]["des_end_ps"])


def test_validate_shows_what_the_analytical_model_leaves_out(tmp_path, capsys):
    """With the real NoC, the two critical paths hold the same compute; the simulated one also
    holds the NoC contention the recurrence cannot see, and each adds up to its own latency."""
    code, text, _ = run(capsys, "validate", *MLP, "--out", str(tmp_path / "v"), "--no-progress")
    total = list(csv.DictReader(open(tmp_path / "v" / "validation.csv")))[-1]
    parts = {r["part"]: (int(r["analytical_ps"]), int(r["des_ps"]))
             for r in csv.DictReader(open(tmp_path / "v" / "critical_path.csv"))}
    des_line = next(x for x in text.splitlines() if x.strip().startswith("event-driven"))
    assert code == 0 and "critical path  analytical" in text and "noc_contention" in des_line
    assert parts["noc_contention"][0] == 0 < parts["noc_contention"][1]
    assert sum(a for a, _ in parts.values()) == int(total["analytical_end_ps"])
    assert sum(d for _, d in parts.values()) == int(total["des_end_ps"])
    assert all(a == d for k, (a, d) in parts.items() if k.startswith("compute:"))


def test_validate_names_unit_contention_when_pipelined_layers_share_units(tmp_path, capsys):
    code, text, err = run(capsys, "validate", "--model", "pythia-70m?seq_len=64", "--schedule", "pipelined",
                          "--ideal-noc", "--out", str(tmp_path / "v"), "--no-progress")
    assert code == 1 and "unit contention: jobs waited" in text and "units were contended" in err
    parts = {r["part"]: int(r["analytical_ps"]) for r in csv.DictReader(open(tmp_path / "v" / "critical_path.csv"))}
    total = list(csv.DictReader(open(tmp_path / "v" / "validation.csv")))[-1]
    assert sum(parts.values()) == int(total["analytical_end_ps"])   # with its busiest-unit bound, if it binds


def test_map_then_simulate_the_file(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    assert run(capsys, "map", "--strategy", "equal", *MLP, "--out", str(f))[0] == 0
    doc = yaml.safe_load(f.read_text())
    assert doc["strategy"] == "equal" and set(doc["layers"]) == {"fc1", "relu1", "fc2", "relu2", "fc3"}
    code, _, err = run(capsys, "simulate", *MLP, "--mapping", str(f), "--out", str(tmp_path / "r"))
    assert code == 0 and err == ""
    assert (tmp_path / "r" / "mapping.yaml").read_text() == f.read_text()
    # the same layer names on another size of the model: it runs, with a note
    code, _, err = run(capsys, "simulate", "--model", "mlp?batch=4", "--mapping", str(f), "--out", str(tmp_path / "r4"))
    assert code == 0 and err == f"prismsim: note: {f} was made for model mlp[batch=16]; this run: model mlp[batch=4]\n"


def test_list_and_arch_yaml_round_trip(tmp_path, capsys):
    code, text, _ = run(capsys, "list")
    assert code == 0 and "hybrid" in text and "pythia-70m" in text and "greedy" in text
    for preset in ("hybrid", "reram-only", "photonic-only", "digital-only"):
        code, text, _ = run(capsys, "list", "--arch", preset)
        assert code == 0
        assert parse_arch(yaml.safe_load(text), "printed") == load_arch(preset)
        f = tmp_path / f"{preset}.yaml"
        f.write_text(text)
        assert run(capsys, "simulate", *MLP, "--arch", str(f), "--out", str(tmp_path / preset))[0] == 0


def _bad_arch(tmp_path, text):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    return str(f)


@pytest.mark.parametrize("argv,needle", [
    (["simulate", "--arch", "nope"], "--arch: no preset or file named 'nope'"),
    (["simulate", "--model", "gpt-9"], "--model: no model named 'gpt-9'"),
    (["simulate", "--model", "pythia-70m?seq_len=x"], "--model: parameter 'seq_len=x'"),
    (["simulate", "--model", "mlp?depth=3"], "--model: mlp takes no parameter named depth (it takes: batch)"),
    (["simulate", "--model", "bert-base?seq_len=64&foo=1"], "bert-base takes no parameter named foo (it takes"),
    (["simulate", "--model", "resnet18", "--phase", "decode"], "--phase: resnet18 has no phases"),
    (["simulate", "--model", "vit-b16?image=8"], "layer 'patch' would be empty (n=768, d=768, m=0, batch=1)"),
    (["simulate", "--strategy", "magic"], "--strategy: unknown strategy 'magic'"),
    (["simulate", "--mapping", "missing.yaml"], "--mapping: file 'missing.yaml' does not exist"),
    (["simulate", "--chunks", "0"], "argument --chunks: must be a whole number >= 1"),
    (["simulate", "--schedule", "eager"], "argument --schedule: invalid choice"),
    (["simulate", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["simulate", "--seed", "-1"], "argument --seed"),
    (["simulate", "--model", "pythia-70m?seq_len=1&seq_len=2"], "--model: 'seq_len' is given twice"),
    (["simulate", "--strategy", "h3pimap", "-O", "gens=abc"], "--option gens: must be a whole number (got 'abc')"),
    (["simulate", "--strategy", "h3pimap", "-O", "pop=1"], "--option pop: must be >= 2 (got 1)"),
    (["simulate", "--strategy", "h3pimap", "-O", "max_drop=nan"], "--option max_drop: must be a finite number"),
    (["simulate", "--strategy", "placement", "-O", "refine=2"], "--option refine: must be in [0, 1] (got 2)"),
    (["simulate", "--strategy", "lionheart", "--model", "mnist-mlp", "-O", "kernel=fast"],
     "kernel: must be one of bit, surrogate (got 'fast')"),
    (["compare", "-O", "gens=1", "-O", "gens=2"], "--option: 'gens' is given twice"),
    (["compare", "--strategies", "greedy,h3pimap", "-O", "kind=reram"], "--option: none of greedy, h3pimap has an option 'kind'"),
    (["compare", "--strategies", ","], "--strategies: name at least one strategy"),
    (["accuracy", "--model", "mnist-mlp", "--t", "nan"], "argument --t: 'nan': seconds must be finite and >= 0"),
    (["accuracy", "--model", "mnist-mlp", "--samples", "5000"], "--samples: must be 1 to 1000"),
    (["noc", "--chiplets", "2x2"], "--chiplets: only with --topology chiplet (got --topology mesh)"),
    (["noc", "--vcs", "0"], "--vcs: expected a positive integer (got '0')"),
    (["noc", "--graph", "edges.txt"], "--graph: only with --topology graph (got --topology mesh)"),
    (["noc", "--topology", "graph"], "--topology graph: give the edge list with --graph FILE"),
    (["noc", "--hotspot", "3"], "--hotspot: only with --traffic hotspot (got --traffic uniform)"),
    (["noc", "--traffic", "hotspot", "--hotspot", "99"], "--hotspot: router 99 is not one of 0..63"),
    (["noc", "--pipeline", "1,1"], "--pipeline: expected RC,VA,SA,ST cycles (got '1,1')"),
    (["noc", "--pipeline", "1,0,1,1"], "RC must be >= 0 and VA, SA, ST >= 1 cycles"),
    (["noc", "--routing", "odd_even", "--topology", "torus"], "routing odd_even needs topology mesh (got torus)"),
    (["noc", "--packet-sizes", "1,x"], "--packet-sizes: expected comma-separated numbers (got '1,x')"),
    (["noc", "--from-run", "."], "--from-run: . is not a run directory (no arch.yaml)"),
    (["compare", "--strategies", "greedy, equal,greedy"], "--strategies: 'greedy' is listed twice"),
])
def test_bad_flags_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text,needle", [
    ("units: [}", "not valid YAML"),
    ("- 1\n- 2", "must be a YAML mapping"),
    ("units: [{name: a, kind: quantum}]", "kind must be one of photonic, reram, sram_pim, digital (got 'quantum')"),
    ("units: [{name: a, kind: reram, params: {rows: -1}}]", "field units.0.params.rows: Input should be greater than 0 (got -1)"),
    ("units: [{name: a, kind: reram, params: {rowz: 1}}]", "field units.0.params.rowz: Extra inputs are not permitted"),
    ("units: [{name: a, kind: digital, positions: [[9, 9]]}]", "positions: [9, 9] is not a router of the 4x4 mesh"),
    ("units: [{name: a, kind: digital}, {name: a, kind: digital}]", "name 'a' is used twice"),
    ("units: [{name: dram, kind: digital}]", "units: name 'dram' is taken by a memory (dram, gb)"),
    ("noc: {router_pj_per_bit: .inf}\nunits: [{name: a, kind: digital}]", "noc.router_pj_per_bit: Input should be a finite number (got inf)"),
    ("units: [{name: a, kind: digital, count: 2}, {name: a1, kind: reram}]", "'a1' and 'a' both make a unit named 'a1'"),
    ("units: [{name: a, kind: digital, count: 1, count: 2}]", "not valid YAML (line 1, column 44: key 'count' is given twice)"),
])
def test_bad_arch_files(tmp_path, capsys, text, needle):
    f = _bad_arch(tmp_path, text)
    code, _, err = run(capsys, "simulate", *MLP, "--arch", f, "--out", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", ["--arch", "--mapping", "sweep"])
def test_unreadable_input_files(tmp_path, capsys, monkeypatch, flag):
    # a directory where a file is expected, and bytes that are not UTF-8: one line each, no traceback
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.yaml").mkdir()
    (tmp_path / "bin.yaml").write_bytes(b"units: \xff\xfe")
    for name, needle in (("d.yaml", "'d.yaml' is not a file"), ("bin.yaml", "'bin.yaml' is not UTF-8 text (byte 7)")):
        argv = ["sweep", name, "--out", "s"] if flag == "sweep" else ["simulate", *MLP, flag, name, "--out", "s"]
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and f"{flag}: {needle}" in err, err
        assert "Traceback" not in err and not (tmp_path / "s").exists()


def test_out_where_nothing_can_be_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("mine")
    for argv in (["simulate", *MLP, "--out", "f/run"], ["map", *MLP, "--strategy", "equal", "--out", "f/x/m.yaml"],
                 ["validate", *MLP, "--out", "f/v"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and f"--out: cannot create {argv[-1]!r} ('f' is a file)" in err
        assert out == "" and (tmp_path / "f").read_text() == "mine"
    # other output files: refused before any simulation runs
    for argv in (["simulate", *MLP, "--out", "run", "--perfetto", "f/p.json"], ["noc", "--cycles", "50", "--plot", "f/c.png"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and f"{argv[-2]}: cannot create {argv[-1]!r} ('f' is a file)" in err
        assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_disk_failure_mid_run_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import prismsim.sim.output as output

    def full(path, *a):
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(output, "write_csv", full)
    code, _, err = run(capsys, "simulate", *MLP, "--trace", "none", "--out", str(tmp_path / "r"))
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_failure_after_the_simulation_leaves_no_perfetto_file_either(tmp_path, capsys, monkeypatch):
    import prismsim.sim.output as output

    def full(path, *a):
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(output, "write_csv", full)   # fails while writing the results, after the run
    code, _, err = run(capsys, "simulate", *MLP, "--out", str(tmp_path / "r"), "--perfetto", str(tmp_path / "p.json"))
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_mid_run_removes_the_partial_run(tmp_path):
    # a long run killed (as by a job scheduler) exits 143 and leaves no half-written directory
    import os
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "prismsim.sim.cli", "simulate", "--model", "pythia-70m?seq_len=1024",
                          "--out", "r", "--no-progress"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not any(tmp_path.glob(".r.tmp-*")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)   # well into the simulation
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 143 and err.strip() == "prismsim: terminated", err
    assert os.listdir(tmp_path) == []


def test_bad_mapping_names_layer_and_unit(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    f.write_text("layers: {fc1: {rr0: 1}, relu1: {pt0: 1}, fc2: {dg0: 1}, relu2: {dg0: 1}, fc3: {dg0: 1}}")
    code, _, err = run(capsys, "simulate", *MLP, "--mapping", str(f), "--out", str(tmp_path / "out"))
    assert code == 2 and "layer 'relu1' cannot run on unit 'pt0'" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_existing_results_are_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, _, err = run(capsys, "simulate", *MLP, "--out", str(out))
    assert code == 2 and "already exists" in err
    assert [p.name for p in out.iterdir()] == ["precious.txt"]


def test_failure_mid_run_leaves_no_directory(tmp_path, capsys, monkeypatch):
    import prismsim.sim.output as output

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "write_result", boom)
    code, _, err = run(capsys, "simulate", *MLP, "--out", str(tmp_path / "run"))
    assert code == 130 and list(tmp_path.iterdir()) == []


def test_console_script_default_run(tmp_path):
    """`prismsim simulate` with no arguments: pythia-70m on hybrid, written under runs/."""
    exe = [sys.executable, "-m", "prismsim.sim.cli"]
    p = subprocess.run(exe + ["simulate"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "pythia-70m[seq=128] on hybrid" in p.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["macs"] == 5_813_305_344


@pytest.mark.parametrize("argv,needle", [
    (["noc", "--rate", "0.1,2"], "--rate: offered load must be in (0, 1]"),
    (["noc", "--traffic", "transpose", "--dims", "3x5"], "--traffic transpose: needs a power-of-two number of routers (got 15)"),
])
def test_noc_bad_load_prints_nothing_before_its_error(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1
