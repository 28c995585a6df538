"""Co-located models (issue 26, first part): several models in one run, side by side."""
import json

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
