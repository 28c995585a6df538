"""H3PIMAP stage 2 at row granularity: a mapping's row order, rows dealt by noise sensitivity,
and the fewest rows moved to meet the target."""
import numpy as np
import pytest

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch
from prismsim.mapper import accuracy as acc
from prismsim.mapper.mapping import Mapping, format_order, parse_order, split_counts, validate
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.strategies.remap import RowNoise, deal
from prismsim.mapper.zoo import ZOO


def test_row_order_round_trips_as_runs_and_is_validated():
    order = list(range(100, 200)) + [7] + list(range(7)) + list(range(8, 100)) + list(range(200, 256))
    assert format_order(order) == "100-199,7,0-6,8-99,200-255"
    assert parse_order(format_order(order), "x") == order
    lh, wl = load_arch("lionheart"), ZOO["mnist-mlp"]()
    m = make_mapping("homogeneous", wl, lh, kind="digital")
    m.row_order["fc1"] = order
    again = Mapping.from_yaml(m.to_yaml())
    assert again.row_order == {"fc1": order}
    validate(again, lh, wl)
    for bad, msg in ((order[:-1], "each of the layer's 256 rows once"), (order[:-1] + [0], "255 distinct")):
        m.row_order["fc1"] = bad
        with pytest.raises(PrismError, match=msg):
            validate(m, lh, wl)
    m.row_order["fc1"] = order
    m.split["fc1"] = "cols"
    with pytest.raises(PrismError, match="row_order.fc1: the layer splits its columns"):
        validate(m, lh, wl)
    doc = {"layers": dict(m.layers), "row_order": {"fc1": "9-3"}}
    with pytest.raises(PrismError, match=r"row_order.fc1: '9-3' is not"):
        Mapping.from_dict(doc)
    doc["row_order"]["fc1"] = "0-99999999999"          # a tiny file must not allocate a huge list
    with pytest.raises(PrismError, match=r"row_order.fc1: more than 16,777,216 rows"):
        Mapping.from_dict(doc)


def test_row_order_routes_each_row_to_its_unit():
    """With fc1's rows split 1:1 between the analog unit and the digital one, the rows the order
    deals to the digital unit come out exact and the others do not."""
    lh, wl = load_arch("lionheart"), ZOO["mnist-mlp"]()
    m = make_mapping("homogeneous", wl, lh, kind="digital")
    analog = [u for u, x in lh.instances().items() if x.kind == "reram"][0]
    digital = [u for u, x in lh.instances().items() if x.kind == "digital"][0]
    m.layers["fc1"] = {analog: 0.5, digital: 0.5}
    order = list(np.random.default_rng(0).permutation(256))
    m.row_order["fc1"] = order
    w, x, _ = acc.calibration_inputs("mnist-mlp")["fc1"]
    ops = acc.MappedOps(lh, wl, m, acc.AccuracyConfig(kernel="surrogate"), 0)
    y = ops.gemm("fc1", w, x, x.shape[0])
    exact = x @ w.T
    on_digital, on_analog = order[128:], order[:128]
    assert np.allclose(y[:, on_digital], exact[:, on_digital])
    assert not np.allclose(y[:, on_analog], exact[:, on_analog])


def test_the_most_sensitive_rows_go_to_the_precise_tier():
    """``deal`` gives the digital half of a layer the rows with the largest analog error, which
    beats any other half (here: the first half, and the least sensitive half)."""
    lh, wl = load_arch("lionheart"), ZOO["mnist-mlp"]()
    units = lh.instances()
    kind_of = {u: x.kind for u, x in units.items()}
    analog = [u for u in units if kind_of[u] == "reram"][0]
    digital = [u for u in units if kind_of[u] == "digital"][0]
    noise = RowNoise(wl, lh, acc.AccuracyConfig(kernel="surrogate"))
    order, snr = deal(noise, "fc1", {analog: 0.5, digital: 0.5}, kind_of)
    sig, err = noise.rows("fc1", "reram")
    kept = np.array(order[:128])
    assert err[np.array(order[128:])].min() >= err[kept].max()
    first_half = acc.snr_db(sig.sum(), err[128:].sum())
    least = acc.snr_db(sig.sum(), np.sort(err)[128:].sum())
    assert snr > first_half and snr > least
    assert snr == pytest.approx(acc.snr_db(sig.sum(), err[kept].sum()))
    # what `prismsim accuracy` prints for the layer: each row's error on the tier that holds it
    m = make_mapping("homogeneous", wl, lh, kind="digital")
    m.layers["fc1"], m.row_order["fc1"] = {analog: 0.5, digital: 0.5}, order
    w, x, _ = acc.calibration_inputs("mnist-mlp")["fc1"]
    cfg = acc.AccuracyConfig(kernel="surrogate")
    assert acc.mapped_snr(lh, m, wl.layer("fc1"), w, x, cfg) == pytest.approx(snr)
    m.layers["fc1"] = {analog: 1.0}
    assert acc.mapped_snr(lh, m, wl.layer("fc1"), w, x, cfg) == acc.layer_snr(units[analog], w, x, cfg)


def test_stage_two_moves_the_fewest_sensitive_rows():
    """On Pythia-70M (synthetic weights) with a 12 dB target, layers give up some of their rows,
    not a stage-1 share, the moved rows are the most sensitive on the tier they left, and each
    moved layer meets the target."""
    arch, wl = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=16)
    m = make_mapping("h3pimap", wl, arch, pop=16, gens=4, snr_db=12.0)
    rows = [r for r in m.meta["remapped"] if r["rows_chosen"] == "by sensitivity"]
    assert rows and all(r["new_snr_db"] >= 12.0 for r in rows)
    assert any(r["rows_moved"] / r["rows"] not in (0.25, 0.5, 0.75, 1.0) for r in rows)
    units = arch.instances()
    noise = RowNoise(wl, arch, acc.AccuracyConfig(t_s=86400.0, seeds=2, samples=500, kernel="surrogate"))
    for r in rows[:3]:
        name, order = r["layer"], m.row_order[r["layer"]]
        shards = m.layers[name]
        kinds = [units[u].kind for u in shards]
        counts = dict(zip(shards, split_counts(r["rows"], list(shards.values()))))
        noisy = min(set(kinds), key=lambda k: noise.snr(name, k))
        err = noise.rows(name, noisy)[1]
        n_noisy = sum(c for u, c in counts.items() if units[u].kind == noisy)
        assert err[np.array(order[n_noisy:])].min() >= err[np.array(order[:n_noisy])].max()


def test_a_remapped_mapping_is_rescored_and_stage_one_stands_when_it_meets_the_target():
    arch, wl = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=16)
    strict = make_mapping("h3pimap", wl, arch, pop=16, gens=4, snr_db=12.0)
    chosen = next(p for p in strict.meta["pareto"] if p["chosen"])
    assert strict.meta["rescored"]["latency_ps"] != chosen["latency_ps"]
    loose = make_mapping("h3pimap", wl, arch, pop=16, gens=4, snr_db=3.0)
    assert loose.meta["remapped"] == [] and "rescored" not in loose.meta and not loose.row_order
