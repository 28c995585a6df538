"""Non-idealities and functional kernels: exact without noise, statistically right with it."""
from functools import partial

import numpy as np
import pytest

from prismsim.hw import kernels as K
from prismsim.hw import noise as N

RNG = np.random.default_rng(42)


def test_pcm_programming_sigma_and_drift_statistics():
    g = np.full(200_000, 0.5)
    st = N.program_cells(g, t_s=0.0, rng=np.random.default_rng(1))
    sigma = (0.26348 + 1.9650 * 0.5 - 1.1731 * 0.25) / 25.0
    # at t = 0 there is no drift yet; read noise factor is 0 for t < 2 t_r
    assert abs(st.g.mean() - 0.5) < 1e-3 and abs(st.g.std() / sigma - 1) < 0.02
    assert np.all(st.read_sigma == 0)
    # drift: G(t)/G(0) = ((t + t0)/t0)^-nu with nu ~ |N(mu, sd)|, mu(0.5) = 0.049 (clipped), sd = 0.008 (clipped)
    rng = np.random.default_rng(2)
    g0 = N.program_cells(g, 0.0, rng=np.random.default_rng(3), noise=True).g
    g1 = N.program_cells(g, 86400.0, rng=np.random.default_rng(3), noise=True).g
    nu = -np.log(g1 / g0) / np.log((86400 + 20) / 20)
    mu, sd = N.pcm_drift_nu_stats(np.array([0.5]))
    assert abs(nu.mean() - mu[0]) < 0.001 and abs(nu.std() / sd[0] - 1) < 0.05
    del rng


def test_pcm_read_noise_grows_with_time():
    g = np.full(1000, 0.8)
    q = N.pcm_read_q(g)[0]
    for t in (1.0, 3600.0, 86400.0, 3.15e7):
        st = N.program_cells(g, t, rng=np.random.default_rng(0))
        expect = np.abs(st.g) * q * np.sqrt(np.log((t + 250e-9) / 500e-9))
        np.testing.assert_allclose(st.read_sigma, expect)
    assert N.read_time_factor(86400) > N.read_time_factor(1.0) > 0


def test_reram_variant_stuck_at_and_compensation():
    g = np.full(100_000, 0.6)
    st = N.program_cells(g, 10.0, np.random.default_rng(0), model="reram", prog_sigma=0.05, read_sigma=0.02,
                         drift_nu=0.0, stuck_at_0=0.1, stuck_at_1=0.05)
    assert abs((st.g == 0).mean() - 0.1) < 0.005 and abs((st.g == 1).mean() - 0.05) < 0.005
    ok = (st.g > 0) & (st.g < 1)
    assert abs(st.g[ok].std() - 0.05) < 0.002 and np.all(st.read_sigma == 0.02)
    prog = N.program_cells(g, 0.0, np.random.default_rng(1)).g
    drifted = N.program_cells(g, 3.15e7, np.random.default_rng(1)).g
    a = N.drift_compensation(prog, drifted)
    assert a > 1 and abs((a * drifted).sum() / prog.sum() - 1) < 1e-12


def test_quantize():
    x = np.linspace(-1, 1, 101)
    q = N.quantize(x, 4, 1.0)
    assert len(np.unique(q)) == 15 and np.max(np.abs(q - x)) <= 1 / 7 / 2 + 1e-12
    assert np.array_equal(N.quantize(x, 0, 1.0), x)


@pytest.mark.parametrize("encoding", ["differential", "offset"])
@pytest.mark.parametrize("dac_bits", [1, 2])
def test_crossbar_exact_without_noise(encoding, dac_bits):
    w = RNG.integers(-127, 128, (37, 300))
    x = RNG.integers(-127, 128, (9, 300))
    xb = K.program_crossbar(w, 8, 2, encoding)
    assert np.array_equal(K.crossbar_mvm(xb, x, dac_bits=dac_bits, adc_bits=0), x @ w.T)
    ref = K.crossbar_mvm_reference(xb, x, dac_bits=dac_bits, adc_bits=6)
    np.testing.assert_allclose(K.crossbar_mvm(xb, x, dac_bits=dac_bits, adc_bits=6), ref, rtol=1e-12, atol=1e-6)
    assert not np.array_equal(ref, x @ w.T)  # a 6-bit ADC over 128 rows does lose precision


def test_crossbar_read_noise_statistics_match_the_reference_model():
    w = RNG.integers(-127, 128, (4, 64))
    x = np.repeat(RNG.integers(-127, 128, (1, 64)), 4000, axis=0)  # 4000 independent reads of one vector
    xb = K.program_crossbar(w, 8, 2, "differential")
    xb.read_var[:] = 0.05 ** 2
    y = K.crossbar_mvm(xb, x, adc_bits=0, seed=3)
    # predicted variance: sum over steps, planes and active rows of (2^step * scale)^2 * var
    xu = x[0] + 128
    var = sum(((xu >> s) & 1).sum() * 4.0 ** s for s in range(8)) * float((xb.scale ** 2).sum()) * 0.05 ** 2
    assert np.allclose(y.mean(axis=0), x[0] @ w.T, atol=4 * np.sqrt(var / 4000))
    assert np.all(np.abs(y.std(axis=0) / np.sqrt(var) - 1) < 0.06)
    sur = K.crossbar_surrogate(xb, x, adc_bits=0, seed=3)
    assert np.all(np.abs(sur.std(axis=0) / np.sqrt(var) - 1) < 0.06)
    assert np.array_equal(K.crossbar_mvm(xb, x[:10], seed=7), K.crossbar_mvm(xb, x[:10], seed=7))
    assert not np.array_equal(K.crossbar_mvm(xb, x[:10], seed=7), K.crossbar_mvm(xb, x[:10], seed=8))


@pytest.mark.parametrize("in_bits,dac_bits", [(8, 1), (8, 2), (8, 8), (20, 1)])
@pytest.mark.parametrize("lo,hi", [(0, 1), (-0.5, 0.5), (-1.2, 2.7)])   # unsigned, signed, out of range (x 2^in_bits)
def test_surrogate_is_its_definition_to_the_bit(in_bits, dac_bits, lo, hi):
    """The surrogate's noise variance, written out digit by digit: sum over input steps s of
    4^(s dac_bits) digit_s^2 against the read variances, plus the ADC's step^2 / 12 per
    conversion; its fast paths (a lookup, the input itself as its only digit) give the same bits."""
    w = RNG.integers(-127, 128, (12, 300))
    x = RNG.integers(int(lo * 2 ** in_bits) + (lo < 0), int(hi * 2 ** in_bits), (50, 300))
    xb = K.program_crossbar(w, 8, 2, "differential")
    xb.read_var[:] = RNG.uniform(0, 0.01, xb.read_var.shape)
    off = K.input_offset(x, in_bits)
    xu = x + off
    steps = -(-in_bits // dac_bits)
    digits = [(xu >> (s * dac_bits)) & (2 ** dac_bits - 1) for s in range(steps)]
    x_sq = sum(4.0 ** (s * dac_bits) * d.astype(np.float64) ** 2 for s, d in enumerate(digits))
    var = x_sq @ np.einsum("p,pdn->dn", xb.scale ** 2, xb.read_var)
    tiles = [128, 128, 44]
    var += sum((t * xb.levels * (2 ** dac_bits - 1) / 127) ** 2 / 12 for t in tiles) * float(np.sum(xb.scale ** 2)) \
        * sum(4.0 ** (s * dac_bits) for s in range(steps))
    y = xu.astype(np.float64) @ np.einsum("p,pdn->dn", xb.scale, xb.g)
    y = y + np.sqrt(var) * np.random.default_rng(5).standard_normal(y.shape)
    expect = K._correct(xb, x, off, y)
    assert np.array_equal(K.crossbar_surrogate(xb, x, in_bits=in_bits, dac_bits=dac_bits, adc_bits=7, seed=5), expect)


def test_surrogate_adc_noise_matches_the_bit_accurate_kernel():
    w = RNG.integers(-127, 128, (16, 128))
    x = RNG.integers(-127, 128, (3000, 128))
    xb = K.program_crossbar(w, 8, 2, "differential")
    exact = x @ w.T
    err_bit = (K.crossbar_mvm(xb, x, adc_bits=7) - exact).std()
    err_sur = (K.crossbar_surrogate(xb, x, adc_bits=7) - exact).std()
    assert 0.7 < err_sur / err_bit < 1.3


def test_noisy_devices_through_the_kernel():
    w = RNG.integers(-127, 128, (32, 128))
    x = RNG.integers(-127, 128, (200, 128))
    errs = []
    for t in (1.0, 86400.0, 3.15e7):
        xb = K.program_crossbar(w, 8, 2, "differential", partial(N.program_cells, t_s=t, rng=np.random.default_rng(0)))
        errs.append(np.abs(K.crossbar_mvm(xb, x, adc_bits=0) - x @ w.T).mean())
    assert errs[0] < errs[1] < errs[2]  # drift and read noise grow with time


def test_photonic_mvm():
    w = RNG.standard_normal((20, 90))
    x = RNG.standard_normal((50, 90))
    exact = x @ w.T
    hi = K.photonic_mvm(w, x, in_bits=16, weight_bits=16, out_bits=0)
    assert np.abs(hi - exact).max() < 1e-3 * np.abs(exact).max()
    lo = K.photonic_mvm(w, x, in_bits=4, weight_bits=4, out_bits=8)
    assert np.abs(lo - exact).mean() > np.abs(hi - exact).mean()
    # phase noise: per ADC group a Gaussian of sigma * |w|max * sqrt(sum x^2) over the group
    xs = np.repeat(x[:1], 3000, axis=0)
    noisy = K.photonic_mvm(w, xs, in_bits=16, weight_bits=16, out_bits=0, sigma=0.02, group=30)
    clean = K.photonic_mvm(w, xs[:1], in_bits=16, weight_bits=16, out_bits=0)
    xq = N.quantize(xs[0], 16, np.abs(xs).max())
    expect = 0.02 * np.abs(w).max() * np.sqrt((xq ** 2).sum())
    assert np.all(np.abs(noisy.std(axis=0) / expect - 1) < 0.06)
    assert np.allclose(noisy.mean(axis=0), clean[0], atol=4 * expect / np.sqrt(3000))
    xt = K.photonic_mvm(w, x, in_bits=16, weight_bits=16, out_bits=0, crosstalk=0.05)
    assert np.abs(xt - exact).mean() > np.abs(hi - exact).mean()


def test_photonic_shot_noise_is_poisson_in_the_detected_power():
    """A reading v of full scale fs carries shot-noise variance |v| fs / N (N photoelectrons at
    full scale): one ADC group, so fs is the largest |partial sum| of the batch."""
    w = RNG.standard_normal((6, 40))
    xs = np.repeat(RNG.standard_normal((1, 40)), 4000, axis=0)
    clean = K.photonic_mvm(w, xs[:1], in_bits=16, weight_bits=16, out_bits=0, group=40)[0]
    fs = np.abs(clean).max()
    for n_e in (50.0, 5000.0):
        y = K.photonic_mvm(w, xs, in_bits=16, weight_bits=16, out_bits=0, group=40, electrons=n_e)
        assert np.allclose(y.std(axis=0), np.sqrt(np.abs(clean) * fs / n_e), rtol=0.06)
    assert np.array_equal(K.photonic_mvm(w, xs[:3], group=40, electrons=np.inf), K.photonic_mvm(w, xs[:3], group=40))


def test_shot_electrons_follow_the_link_budget():
    """Less light at the detector (a more sensitive PD sizes a weaker laser), a lower responsivity
    or a faster clock (shorter integration) leave fewer photoelectrons; ~2e5 at SimPhony LT."""
    from prismsim.hw.photonic import PhotonicParams, laser_power_mw, shot_electrons

    base = PhotonicParams()
    assert 1e5 < shot_electrons(base) < 5e5
    dim = PhotonicParams(pd_sensitivity_dbm=-35.0)
    assert shot_electrons(dim) == pytest.approx(shot_electrons(base) / 10)
    assert laser_power_mw(dim) == pytest.approx(laser_power_mw(base) / 10)
    assert shot_electrons(PhotonicParams(pd_responsivity_a_per_w=0.5)) == pytest.approx(shot_electrons(base) / 2)
    assert shot_electrons(PhotonicParams(freq_ghz=2.5, mzm_gbps=25)) == pytest.approx(shot_electrons(base) * 2)
