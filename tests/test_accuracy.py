"""Accuracy of mappings on the trained MNIST models, through the units' noisy kernels."""
import json

import numpy as np
import pytest

from prismsim.hw import kernels
from prismsim.hw.errors import PrismError
from prismsim.hw.spec import load_arch, parse_arch
from prismsim.mapper.accuracy import (AccuracyConfig, MappedOps, evaluate, load_weights, sensitivity, spearman)
from prismsim.mapper.models import nets
from prismsim.mapper.models.data import split
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO
from prismsim.sim.cli import main

FAST = dict(samples=300, seeds=2, kernel="surrogate")


@pytest.mark.parametrize("model", ["mnist-mlp", "mnist-cnn", "tiny-transformer"])
def test_ideal_units_reproduce_the_float_model_exactly(model):
    """Noise and quantization off: every shard, row or column split, on any unit kind, adds up
    to exactly the float model's logits."""
    arch, wl = load_arch("hybrid"), ZOO[model]()
    m = make_mapping("equal", wl, arch)
    for lay in wl.layers[::2]:
        if lay.op.is_gemm:
            m.split[lay.name] = "cols"
    params = load_weights(model)
    _, _, x, _ = split(100)
    ref = nets.FORWARDS[model](params, x, nets.FloatOps())
    got = nets.FORWARDS[model](params, x, MappedOps(arch, wl, m, AccuracyConfig(noise=False, quantize=False), 0))
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-9) and np.array_equal(got.argmax(1), ref.argmax(1))


def test_baseline_accuracy_of_the_shipped_models():
    arch = load_arch("digital-only")
    for model, floor in (("mnist-mlp", 0.9), ("mnist-cnn", 0.94), ("tiny-transformer", 0.9)):
        wl = ZOO[model]()
        r = evaluate(model, arch, wl, make_mapping("homogeneous", wl, arch), AccuracyConfig(samples=1000, seeds=1))
        assert r.baseline_accuracy >= floor and r.accuracy_mean == r.baseline_accuracy  # digital is exact


def _reram(**params):
    doc = load_arch("reram-only").model_dump()
    for g in doc["units"]:
        if g["kind"] == "reram":
            g["params"].update(params)
    return parse_arch(doc, "test")


def test_accuracy_does_not_rise_as_noise_grows():
    wl = ZOO["mnist-mlp"]()
    accs = []
    for sigma in (0.0, 0.1, 0.3):
        arch = _reram(noise_model="reram", prog_sigma=sigma, read_sigma=sigma / 3)
        accs.append(evaluate("mnist-mlp", arch, wl, make_mapping("homogeneous", wl, arch), AccuracyConfig(**FAST)).accuracy_mean)
    assert accs[0] >= accs[1] - 0.01 and accs[1] >= accs[2] and accs[0] - accs[2] > 0.05


def test_drift_lowers_accuracy_and_compensation_recovers_part_of_it():
    arch, wl = _reram(noise_model="pcm"), ZOO["tiny-transformer"]()   # PCM drifts; ReRAM (the default) barely
    m = make_mapping("homogeneous", wl, arch)
    early = evaluate("tiny-transformer", arch, wl, m, AccuracyConfig(t_s=1.0, **FAST)).accuracy_mean
    late = evaluate("tiny-transformer", arch, wl, m, AccuracyConfig(t_s=3.15e7, **FAST)).accuracy_mean
    late_raw = evaluate("tiny-transformer", arch, wl, m, AccuracyConfig(t_s=3.15e7, compensation=False, **FAST)).accuracy_mean
    assert early > late > late_raw


def test_compensation_is_exactly_one_without_drift():
    """ReRAM without drift: the calibration read right after programming sees the same cells as
    now, so compensation changes nothing (and its second programming is skipped)."""
    arch, wl = _reram(), ZOO["mnist-mlp"]()
    m = make_mapping("homogeneous", wl, arch)
    on = evaluate("mnist-mlp", arch, wl, m, AccuracyConfig(t_s=3.15e7, **FAST))
    off = evaluate("mnist-mlp", arch, wl, m, AccuracyConfig(t_s=3.15e7, compensation=False, **FAST))
    assert on.per_seed == off.per_seed


def test_seeds_make_results_reproducible():
    arch, wl = load_arch("hybrid"), ZOO["mnist-cnn"]()
    m = make_mapping("greedy", wl, arch)
    cfg = AccuracyConfig(samples=200, seeds=3)
    a, b = evaluate("mnist-cnn", arch, wl, m, cfg), evaluate("mnist-cnn", arch, wl, m, cfg)
    assert a.per_seed == b.per_seed and len(set(a.per_seed)) > 1


def test_unsigned_inputs_run_without_offset_and_stay_exact():
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (20, 150))
    x = rng.integers(0, 256, (7, 150))
    xb = kernels.program_crossbar(w, 8, 2, "differential")
    assert kernels.input_offset(x, 8) == 0 and kernels.input_offset(x - 128, 8) == 128
    assert np.array_equal(kernels.crossbar_mvm(xb, x, adc_bits=0), x @ w.T)


def test_sensitivity_and_proxy():
    arch, wl = load_arch("reram-only"), ZOO["mnist-cnn"]()
    rows = sensitivity("mnist-cnn", arch, wl, "reram", AccuracyConfig(samples=200, seeds=1, kernel="surrogate"))
    assert [r["layer"] for r in rows] == ["conv1", "conv2", "fc"] and all(np.isfinite(r["snr_db"]) for r in rows)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_accuracy_cli_json(capsys):
    code = main(["accuracy", "--arch", "reram-only", "--model", "mnist-mlp", "--strategy", "homogeneous",
                 "--seeds", "2", "--samples", "200", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and {"accuracy_mean", "accuracy_std", "baseline_accuracy"} <= set(doc)
    assert [r["layer"] for r in doc["per_layer"]] == ["fc1", "fc2", "fc3"]
    assert main(["accuracy", "--model", "resnet18"]) == 2


def test_accuracy_settings_are_checked():
    for bad, needle in (({"t_s": float("nan")}, "finite number of seconds"), ({"t_s": -1.0}, ">= 0"),
                        ({"samples": 1001}, "must be 1 to 1000"), ({"seeds": 0}, "seeds: must be"),
                        ({"kernel": "fast"}, "kernel: must be one of bit, surrogate")):
        with pytest.raises(PrismError, match=needle):
            AccuracyConfig(**bad)


@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 1), (1, 0), (2, 0)])
def test_im2col_convolution_equals_the_direct_sum(stride, pad):
    """The trained CNN's convolution (im2col + GEMM) against the definition, window by window."""
    rng = np.random.default_rng(stride + 2 * pad)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    got = nets._conv(nets.FloatOps(), "c", x, w, b, stride=stride, pad=pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (7 + 2 * pad - 3) // stride + 1, (6 + 2 * pad - 3) // stride + 1
    want = np.empty((2, 4, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * stride:i * stride + 3, j * stride:j * stride + 3]
            want[:, :, i, j] = np.einsum("bckl,ockl->bo", win, w) + b
    assert np.allclose(got, want)
