"""What a new user meets first: runs named by what ran, help that answers, errors that point."""
import argparse
import json

from prismsim.sim.cli import build_parser, main


def test_an_edited_copy_of_a_preset_runs_under_its_file_name(tmp_path, capsys):
    assert main(["list", "--arch", "hybrid"]) == 0
    f = tmp_path / "mychip.yaml"
    f.write_text(capsys.readouterr().out)
    assert main(["simulate", "--arch", str(f), "--model", "mlp", "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mlp[batch=16] on mychip (from hybrid)")
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["arch"] == "mychip (from hybrid)"


def test_every_flag_says_what_it_takes():
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    missing = [(name, a.dest) for name, sp in sub.choices.items() for a in sp._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []
    model = next(a for a in sub.choices["simulate"]._actions if a.dest == "model")
    assert all(x in model.help for x in ("hf:", "torch:", ".onnx", "default"))


def test_list_describes_every_preset_in_a_line(capsys):
    from prismsim.hw.spec import list_presets
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in list_presets():
        line = next(x for x in out.splitlines() if x.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 20


def test_a_yaml_syntax_error_names_line_and_column(tmp_path, capsys):
    f = tmp_path / "a.yaml"
    f.write_text("units:\n  - {name: a, kind: digital\nnoc: {dims: [2, 1]}\n")
    assert main(["simulate", "--arch", str(f), "--model", "mlp", "--no-progress"]) == 2
    assert "not valid YAML (line 3, column 4:" in capsys.readouterr().err


def test_the_summary_shows_the_schedule_and_waits_per_transfer(tmp_path, capsys):
    assert main(["simulate", "--model", "mlp", "--schedule", "pipelined", "--chunks", "4", "--out",
                 str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "schedule     pipelined, 4 chunks per layer" in out
    assert "a transfer waits" in out and "on average" in out and "stalls" not in out
    assert "jobs and" in out and "simulation events" in out


def test_a_huge_run_says_so_before_it_starts(capsys):
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import pythia_70m
    from prismsim.sim.engine import estimate, simulate_plan

    arch, wl = load_arch("hybrid"), pythia_70m(seq_len=128)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    events, _ = estimate(plan)
    _, tl = simulate_plan(plan, trace="none")
    assert abs(events / tl.sim_events - 1) < 0.2          # the estimate is within 20% of the run
    big = pythia_70m(seq_len=1_000_000)
    assert estimate(build_plan(arch, big, make_mapping("greedy", big, arch)))[1] > 86400   # days


def test_hf_config_aliases_are_accepted():
    import pytest
    pytest.importorskip("transformers")
    from prismsim.sim.cli import load_model
    assert len(load_model("hf:gpt2?num_hidden_layers=2").layers) == len(load_model("hf:gpt2?n_layer=2").layers)


def test_hf_vision_models_take_an_input_size():
    import pytest
    pytest.importorskip("transformers")
    from prismsim.sim.cli import load_model
    small, full = load_model("hf:resnet18?image_size=112"), load_model("hf:resnet18")
    ratio = sum(x.op.macs for x in small.layers) / sum(x.op.macs for x in full.layers)
    assert 0.24 < ratio < 0.3          # a quarter of the pixels, the classifier head aside
