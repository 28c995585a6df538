"""The papers' mappers: search space and scoring, H3PIMAP, LionHeart, and prismsim compare."""
import json

import numpy as np
import pandas as pd
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper.mapping import split_counts, validate
from prismsim.mapper.strategies import check_options, make_mapping
from prismsim.mapper.strategies.estimates import shard_estimate
from prismsim.mapper.strategies.search import build_options, mip_front
from prismsim.mapper.zoo import ZOO
from prismsim.sim.cli import main


@pytest.fixture(scope="module")
def pythia_opts():
    a, w = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=32)
    return a, w, build_options(w, a)


def test_vectorized_score_is_the_sum_of_per_layer_estimates(pythia_opts):
    a, w, o = pythia_opts
    g = np.random.default_rng(1).integers(0, o.lat.shape[1], len(o.layers))
    lat, energy, _ = o.score(g[None])
    want_lat = want_e = 0.0
    for name, j in zip(o.layers, g):
        lay, shards = w.layer(name), o.choices[o.layers.index(name)][j]
        counts = split_counts(lay.op.split_size, list(shards.values()))
        la, e = shard_estimate(a, lay, dict(zip(shards, counts)))
        want_lat, want_e = want_lat + la, want_e + e
    assert lat[0] == pytest.approx(want_lat) and energy[0] == pytest.approx(want_e + o.leak_pj_per_ps * want_lat)


def test_mip_points_are_feasible_and_trade_latency_for_energy(pythia_opts):
    _, _, o = pythia_opts
    pts = mip_front(o, budgets=4)
    lat, e, excess = o.score(np.array(pts))
    assert len(pts) >= 2 and np.all(excess <= 1e-9)
    order = np.argsort(lat)
    assert np.all(np.diff(e[order]) <= 1e-6 * e.max())  # more latency allowed -> no more energy


def test_h3pimap_front_choice_and_determinism():
    a, w = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=32)
    m = make_mapping("h3pimap", w, a, gens=20, pop=40)
    validate(m, a, w)
    front = m.meta["pareto"]
    lat = [p["latency_ps"] for p in front]
    en = [p["energy_pj"] for p in front]
    assert lat == sorted(lat) and all(x > y for x, y in zip(en, en[1:]))  # non-dominated
    assert sum(p["chosen"] for p in front) == 1
    again = make_mapping("h3pimap", w, a, gens=20, pop=40)
    assert again.layers == m.layers
    fast = make_mapping("h3pimap", w, a, gens=20, pop=40, objective="latency", remap=0)
    slow = make_mapping("h3pimap", w, a, gens=20, pop=40, objective="energy", remap=0)
    pick = lambda mm: next(p for p in mm.meta["pareto"] if p["chosen"])  # noqa: E731
    assert pick(fast)["latency_ps"] <= pick(slow)["latency_ps"] and pick(fast)["energy_pj"] >= pick(slow)["energy_pj"]


def test_h3pimap_stage2_moves_low_snr_layers():
    a, w = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=32)
    m = make_mapping("h3pimap", w, a, gens=10, pop=20, snr_db=30.0)
    moved = m.meta["remapped"]
    assert moved and all(r["new_snr_db"] > r["snr_db"] for r in moved)


def test_lionheart_accepts_within_threshold_and_reports():
    a, w = load_arch("lionheart"), ZOO["mnist-mlp"]()
    m = make_mapping("lionheart", w, a, seeds=2, samples=300)
    meta = m.meta
    assert meta["accuracy"] >= meta["baseline_accuracy"] - 0.02
    steps = meta["steps"]
    assert [s["layer"] for s in steps] == ["fc1", "fc2", "fc3"]  # by MACs, largest first
    assert all((s["accuracy"] >= meta["baseline_accuracy"] - 0.02) == s["accepted"] for s in steps)
    assert 0 < meta["analog_mac_fraction"] <= 1
    with pytest.raises(Exception, match="needs a trained model"):
        make_mapping("lionheart", ZOO["mlp"](), a)


def test_compare_cli(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--model", "pythia-70m?seq_len=16", "--strategies", "homogeneous,greedy,h3pimap",
                 "-O", "gens=10", "-O", "pop=20", "--out", str(out), "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0 and [x["strategy"] for x in lines] == ["homogeneous", "greedy", "h3pimap"]
    assert all({"strategy", "latency_ps", "energy_pj", "accuracy"} <= set(x) for x in lines)
    assert (out / "compare.csv").exists() and (out / "pareto.png").exists() and (out / "mapping-h3pimap.yaml").exists()
    assert main(["compare", "--strategies", "magic", "--out", str(tmp_path / "x")]) == 2


def test_compare_keeps_going_past_a_strategy_that_cannot_map(tmp_path, capsys):
    """lionheart needs a trained model: its row records why, the others still run and are
    written (it stopped the whole comparison, losing the strategies that had run)."""
    out = tmp_path / "cmp"
    assert main(["compare", "--model", "mlp", "--strategies", "greedy,lionheart,equal", "--out", str(out),
                 "--no-progress"]) == 0
    assert "lionheart    cannot run: strategy lionheart needs a trained model" in capsys.readouterr().out
    df = pd.read_csv(out / "compare.csv")
    assert list(df["strategy"]) == ["greedy", "lionheart", "equal"]
    assert df["error"].notna().tolist() == [False, True, False] and df["latency_ps"].notna().sum() == 2
    assert (out / "mapping-equal.yaml").exists() and not (out / "mapping-lionheart.yaml").exists()
    # none can run: the first reason, exit 2, nothing written
    assert main(["compare", "--model", "mlp", "--arch", "digital-only", "--strategies", "cmswitch,lionheart",
                 "--out", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "needs dual-mode (reram) units" in capsys.readouterr().err and not (tmp_path / "none").exists()


def test_strategy_options_are_checked_before_the_strategy_runs():
    assert check_options("h3pimap", {"gens": 3, "max_drop": 0, "objective": "energy"}) == \
        {"gens": 3, "max_drop": 0.0, "objective": "energy"}
    assert isinstance(check_options("h3pimap", {"max_drop": 0})["max_drop"], float)
    for bad, needle in (({"gens": 2.5}, "whole number"), ({"seed": True}, "whole number"), ({"t_eval": -1.0}, ">= 0"),
                        ({"t_eval": float("inf")}, "finite"), ({"L": 3}, "has no option 'L'")):
        with pytest.raises(PrismError, match=needle):
            check_options("h3pimap", bad)


def test_a_share_of_the_arrays_must_be_above_zero_before_placement_runs():
    assert check_options("placement", {"budget": 1}) == {"budget": 1.0}
    with pytest.raises(PrismError, match=r"--option budget: must be in \(0, 1\] \(got 0\)"):
        check_options("placement", {"budget": 0})


def test_search_leaves_out_options_whose_shards_do_not_fit_their_unit():
    # resnet18 on the lionheart chip: some layers split over all ReRAM units still need more
    # crossbars per unit than a unit has; h3pimap raised the cost function's error for them
    from prismsim.hw.units import arrays_available, arrays_needed
    from prismsim.mapper.plan import build_plan
    arch, wl = load_arch("lionheart"), ZOO["resnet18"]()
    units = arch.instances()
    opts = build_options(wl, arch)
    layers = {x.name: x for x in wl.layers}
    for name, choices in zip(opts.layers, opts.choices):
        op = layers[name].op
        for o in choices:
            counts = split_counts(op.split_size, list(o.values()))
            assert all(arrays_needed(units[u], op.rows(c)) <= arrays_available(units[u])
                       for u, c in zip(o, counts) if c and units[u].kind == "reram")
    m = make_mapping("h3pimap", wl, arch, gens=2, pop=4, remap=0)
    assert build_plan(arch, wl, m).jobs


def test_the_mip_solver_prints_nothing_on_stdout(capfd, monkeypatch):
    """HiGHS writes a stray debug line from C to file descriptor 1; it must not reach stdout
    (it broke ``--json`` output)."""
    import os

    import scipy.optimize

    from prismsim.mapper.strategies.solver import milp

    def chatty(*a, **k):   # the C library printing, then answering
        os.write(1, b"HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();\n")
        return "solved"

    monkeypatch.setattr(scipy.optimize, "milp", chatty)
    print("before")
    assert milp() == "solved"
    print("after")
    assert capfd.readouterr().out == "before\nafter\n"
