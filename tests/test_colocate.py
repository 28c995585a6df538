"""Co-located models (issue 26, first part): several models in one run, side by side."""
import json

import pandas as pd
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.colocate import colocate, per_model
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.cli import main
from prismsim.sim.engine import simulate_plan


def _run(arch, wl):
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    res, tl = simulate_plan(plan, trace="none")
    return plan, res, tl


def test_colocated_models_run_side_by_side_and_count_their_macs_once():
    arch = load_arch("hybrid")
    a, b = ZOO["mnist-cnn"](), ZOO["tiny-transformer"]()
    alone = [_run(arch, w)[1].latency_ps for w in (a, b)]
    wl = colocate([a, b])
    plan, res, tl = _run(arch, wl)
    assert wl.macs == plan.macs == res.macs == a.macs + b.macs
    models = per_model(wl, res.per_layer)
    assert models["mnist-cnn"]["macs"] == a.macs and models["tiny-transformer"]["macs"] == b.macs
    # side by side: the second model does not wait for the first, so the run is shorter than both
    # alone in turn, and no shorter than the longer of them
    first_b = min(tl.job_start[j.id] for j in plan.jobs if j.layer.startswith("tiny-transformer/"))
    assert first_b < alone[0]
    assert max(alone) <= res.latency_ps < sum(alone)


def test_the_same_model_twice_gets_its_own_names():
    wl = colocate([ZOO["mlp"](), ZOO["mlp"]()])
    assert {wl.parts[n] for n in wl.order} == {"mlp", "mlp#2"}
    with pytest.raises(PrismError, match="at least two"):
        colocate([ZOO["mlp"]()])


def test_simulate_with_two_models_reports_each(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["simulate", "--model", "mlp", "--model", "mnist-mlp", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "model        mlp:" in printed and "model        mnist-mlp:" in printed
    models = json.loads((out / "summary.json").read_text())["models"]
    assert set(models) == {"mlp", "mnist-mlp"} and all(m["macs"] > 0 for m in models.values())
    # a trace per model: the whole run's rows, each in its model's file once
    whole = pd.read_csv(out / "events.csv")
    each = {m: pd.read_csv(out / "models" / f"{m}.events.csv") for m in models}
    assert all(df.layer.str.startswith(f"{m}/").all() and len(df) for m, df in each.items())
    assert sum(map(len, each.values())) == len(whole[whole.layer.fillna("").str.contains("/")])
    assert each["mlp"].macs.sum() == models["mlp"]["macs"]
    # the report has a table of the models
    assert main(["report", str(out)]) == 0
    report = (out / "report" / "report.md").read_text()
    assert "## Models" in report and "| mnist-mlp |" in report
    # the run's mapping names the co-located layers and plays again
    again = tmp_path / "again"
    assert main(["simulate", "--model", "mlp", "--model", "mnist-mlp", "--mapping", str(out / "mapping.yaml"),
                 "--out", str(again), "--no-progress"]) == 0


def test_a_bad_second_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["simulate", "--model", "mlp", "--model", "nosuch", "--out", str(tmp_path / "r"),
                 "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "nosuch" in err and "Traceback" not in err and not (tmp_path / "r").exists()


def test_the_api_takes_a_list_of_models():
    from prismsim.sim.api import simulate
    run = simulate("hybrid", ["mlp", "mnist-mlp"], trace="none")
    assert set(run.layers["layer"].str.split("/").str[0]) == {"mlp", "mnist-mlp"}


def test_simulate_without_model_runs_the_default(tmp_path):
    assert main(["simulate", "--model", "mlp", "--out", str(tmp_path / "one"), "--no-progress"]) == 0
    from prismsim.sim.cli import build_parser
    from prismsim.sim.selection import load_models
    args = build_parser().parse_args(["simulate", "--no-progress"])
    assert load_models(args).name.startswith("pythia-70m")


def test_map_and_validate_take_several_models_too(tmp_path, capsys):
    m = tmp_path / "m.yaml"
    assert main(["map", "--model", "mlp", "--model", "mnist-mlp", "--out", str(m), "--no-progress"]) == 0
    assert "mlp/" in m.read_text() and "mnist-mlp/" in m.read_text()
    # analytical against event-driven: co-located models contend for the units they share, which
    # only the event-driven run sees, so the two are compared but not required to agree
    assert main(["validate", "--model", "mlp", "--model", "mnist-mlp", "--mapping", str(m),
                 "--out", str(tmp_path / "v"), "--no-progress"]) == 0
    assert (tmp_path / "v" / "validation.csv").exists()


def test_a_partition_gives_each_model_its_own_units_and_strategy():
    """Per kind, units in proportion to the shares (at least one each), consecutive along the
    curve; a kind with fewer units than models is shared; each model mapped alone on its part."""
    from prismsim.mapper.colocate import partitioned, split_units
    from prismsim.mapper.mapping import validate

    arch = load_arch("hybrid")
    units = arch.instances()
    parts = split_units(arch, [1.0, 3.0])
    kinds = lambda names, k: [n for n in names if units[n].kind == k]   # noqa: E731
    assert [len(kinds(p, "reram")) for p in parts] == [2, 6]      # 8 ReRAM, 1 : 3
    assert [len(kinds(p, "photonic")) for p in parts] == [1, 3]
    assert [len(kinds(p, "digital")) for p in parts] == [1, 1]    # 2 digital: 0.5 : 1.5, at least one each
    assert set(kinds(parts[0], "reram")).isdisjoint(kinds(parts[1], "reram"))
    three = split_units(arch, [1.0, 1.0, 1.0])
    assert all(set(kinds(p, "digital")) == {"dg0", "dg1"} for p in three)   # 2 digital units, 3 models: shared
    a, b = ZOO["mnist-cnn"](), ZOO["tiny-transformer"]()
    m = partitioned([a, b], arch, ["greedy", "homogeneous"], [1.0, 3.0], [{}, {"kind": "photonic"}])
    wl = colocate([a, b])
    validate(m, arch, wl)
    used = {t: {u for n, sh in m.layers.items() if n.startswith(t + "/") for u in sh} for t in ("mnist-cnn", "tiny-transformer")}
    assert used["mnist-cnn"] <= set(parts[0]) and used["tiny-transformer"] <= set(parts[1])
    assert m.meta["partition"]["tiny-transformer"]["strategy"] == "homogeneous"
    res, _ = simulate_plan(build_plan(arch, wl, m), trace="none")
    assert res.macs == wl.macs
    with pytest.raises(PrismError, match="2 strategies for 3 models"):
        partitioned([a, b, a], arch, ["greedy", "greedy"])


def test_partition_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", "--model", "mnist-cnn", "--model", "mlp", "--partition", "1,1",
                 "--strategy", "greedy,equal", "--out", str(out), "--no-progress"]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert set(doc["models"]) == {"mnist-cnn", "mlp"}
    assert "mnist-cnn/conv1" in (out / "mapping.yaml").read_text()
    for argv, msg in ((["--partition", "1,0"], "--partition: expected 2 shares > 0"),
                      (["--strategy", "greedy,nope"], "unknown strategy 'nope'")):
        assert main(["simulate", "--model", "mnist-cnn", "--model", "mlp", *argv, "--out", str(tmp_path / "x"),
                     "--no-progress"]) == 2
        assert msg in capsys.readouterr().err
    assert main(["simulate", "--model", "mlp", "--partition", "--out", str(tmp_path / "y"), "--no-progress"]) == 2
    assert "need several --model" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_the_api_takes_a_strategy_per_model_and_a_partition():
    from prismsim.sim.api import simulate
    r = simulate("hybrid", ["mnist-cnn", "mlp"], strategy=["greedy", "equal"], partition=[1, 1], trace="none")
    assert r.mapping.meta["partition"]["mlp"]["strategy"] == "equal"
    assert r.summary["latency_ps"] > 0


def test_a_workload_file_runs_what_the_flags_would(tmp_path, capsys):
    spec = tmp_path / "run.yaml"
    spec.write_text("models:\n  - {model: mlp, strategy: greedy, share: 1}\n  - {model: mnist-mlp, strategy: equal, share: 3}\n"
                    "partition: true\n")
    assert main(["simulate", "--model", str(spec), "--out", str(tmp_path / "a"), "--trace", "none", "--no-progress"]) == 0
    assert main(["simulate", "--model", "mlp", "--model", "mnist-mlp", "--strategy", "greedy,equal", "--partition", "1,3",
                 "--out", str(tmp_path / "b"), "--trace", "none", "--no-progress"]) == 0
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    assert a["models"] == b["models"] and a["latency_ps"] == b["latency_ps"]


@pytest.mark.parametrize("text,field", [
    ("models: []\n", "field models must be a list"),
    ("models: [mlp, {model: mnist-mlp, share: 2}]\npartition: true\n", "give every model a share"),
    ("models: [mlp, {model: mnist-mlp, share: -1}]\npartition: true\n", "models.1.share"),
    ("models: [{model: mlp, share: 1}, {model: mnist-mlp, share: 2}]\n", "shares need partition: true"),
    ("models: [mlp]\ncolour: 1\n", "'colour' is not a workload field"),
    ("models: [{model: mlp, strategy: 'a,b'}]\n", "models.0.strategy"),
    ("models: [nosuch, mlp]\n", "nosuch"),
])
def test_a_bad_workload_file_is_one_line(tmp_path, capsys, text, field):
    spec = tmp_path / "run.yaml"
    spec.write_text(text)
    assert main(["simulate", "--model", str(spec), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert field in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
