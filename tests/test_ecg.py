"""Tests for lessonlib.ecg: shapes/dtypes/devices, physics (spectra, SNR, Einthoven), batches, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessonlib import ecg, reference
from lessonlib.data import load_ecg_12lead
from lessonlib.utils import make_generator, uniform

FS = (250.0, 500.0, 1000.0)


def _signal(shape, seed=0, dtype=torch.float32):
    return torch.randn(shape, generator=make_generator(seed), dtype=dtype) * 0.5 + 0.1


# every public transform as fn(x, fs, generator) -> tensor of x's shape
SAME_SHAPE = {
    "baseline_wander": lambda x, fs, g: ecg.baseline_wander(x, fs, generator=g),
    "gaussian_noise": lambda x, fs, g: ecg.gaussian_noise(x, generator=g),
    "powerline_interference": lambda x, fs, g: ecg.powerline_interference(x, fs, generator=g),
    "amplitude_scale": lambda x, fs, g: ecg.amplitude_scale(x, generator=g),
    "time_scale": lambda x, fs, g: ecg.time_scale(x, generator=g),
    "augment_ecg": lambda x, fs, g: ecg.augment_ecg(x, fs, p=1.0, generator=g, stretch=True),
}


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
@pytest.mark.parametrize("fs", FS)
@pytest.mark.parametrize("lead_shape", [(), (1,), (12,), (3, 12)])
@pytest.mark.parametrize("seconds", [0.2, 10.0])
def test_shape_dtype_preserved_input_untouched(name, fs, lead_shape, seconds):
    t = int(seconds * fs)
    x = _signal((*lead_shape, t))
    before = x.clone()
    y = SAME_SHAPE[name](x, fs, make_generator(0))
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert torch.equal(x, before), "input was modified in place"
    assert not torch.equal(y, x), "the transform did nothing at p=1"
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_float64_and_reproducible_with_generator(name):
    x = _signal((2, 12, 500), dtype=torch.float64)
    a = SAME_SHAPE[name](x, 500.0, make_generator(3))
    b = SAME_SHAPE[name](x, 500.0, make_generator(3))
    c = SAME_SHAPE[name](x, 500.0, make_generator(4))
    assert a.dtype == torch.float64
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_cuda_device_kept_and_cpu_generator_matches_cpu(name):
    x = _signal((2, 12, 500))
    y_gpu = SAME_SHAPE[name](x.cuda(), 500.0, make_generator(0))
    y_cpu = SAME_SHAPE[name](x, 500.0, make_generator(0))
    assert y_gpu.device.type == "cuda"
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("fs", FS)
@pytest.mark.parametrize("leads", ecg.LEAD_MODES)
def test_wander_power_in_requested_band(fs, leads):
    n = int(10 * fs)
    x = torch.zeros(4, 12, n)
    w = ecg.baseline_wander(x, fs, freq_hz=(0.2, 0.5), amplitude_mv=0.3, leads=leads, generator=make_generator(1))
    spec = torch.fft.rfft(w, dim=-1).abs().square()
    f = torch.fft.rfftfreq(n, d=1 / fs)
    frac_below_1hz = spec[..., f <= 1.0].sum(-1) / spec.sum(-1)
    if leads in ("derived", "auto"):  # the same wander on I and II leaves III = II - I untouched
        assert torch.equal(w[:, 2], x[:, 2])
        frac_below_1hz = frac_below_1hz[:, [i for i in range(12) if i != 2]]
    assert frac_below_1hz.min() > 0.95
    peak = f[spec.sum((0, 1)).argmax()]
    assert 0.1 <= float(peak) <= 0.6, f"peak at {float(peak)} Hz, expected within the 0.2-0.5 Hz band"
    if leads == "common":
        assert w.abs().amax(-1).max() <= 0.3 + 1e-5


@pytest.mark.parametrize("fs", FS)
def test_wander_frequency_is_in_hz_not_cycles_per_record(fs):
    n = int(4 * fs)  # 4-s record, 0.5 Hz -> exactly 2 cycles whatever fs is
    w = ecg.baseline_wander(torch.zeros(n), fs, freq_hz=0.5, amplitude_mv=1.0, generator=make_generator(0))
    f = torch.fft.rfftfreq(n, d=1 / fs)
    assert float(f[torch.fft.rfft(w).abs().argmax()]) == pytest.approx(0.5)


@pytest.mark.parametrize("fs,mains", [(250.0, 50.0), (500.0, 60.0), (1000.0, 50.0)])
def test_powerline_is_a_line_at_mains(fs, mains):
    n = int(2 * fs)
    y = ecg.powerline_interference(torch.zeros(2, 1, n), fs, mains_hz=mains, generator=make_generator(0))
    spec = torch.fft.rfft(y, dim=-1).abs().square()
    f = torch.fft.rfftfreq(n, d=1 / fs)
    near = (f - mains).abs() <= 1.0
    assert (spec[..., near].sum(-1) / spec.sum(-1)).min() > 0.99
    assert y.abs().max() <= 0.1 + 1e-6


@pytest.mark.parametrize("shape", [(96,), (1, 96), (12, 2500), (8, 1, 96), (4, 12, 5000)])
@pytest.mark.parametrize("target", [0.0, 12.0, 30.0])
def test_achieved_snr_within_1db(shape, target):
    x = _signal(shape, seed=5)
    y = ecg.gaussian_noise(x, snr_db=target, generator=make_generator(0))
    got = ecg.snr_db(x, y)
    assert (got - target).abs().max() < 1.0
    assert (got - target).abs().max() < 1e-2  # the noise is rescaled to the exact power


def test_augment_ecg_noise_snr_matches_request_when_only_noise():
    x = _signal((16, 12, 1000))
    y = ecg.augment_ecg(x, 500.0, p=1.0, scale=False, wander=False, powerline=False, snr_db=15.0)
    assert (ecg.snr_db(x, y) - 15.0).abs().max() < 0.05


def test_batch_draws_independent_parameters_per_record():
    x = torch.zeros(64, 1, 1000)
    w = ecg.baseline_wander(x, 250.0, generator=make_generator(0))
    assert torch.unique(w.amax(-1).round(decimals=5)).numel() == 64
    s = ecg.amplitude_scale(torch.ones(64, 2, 10), generator=make_generator(0))
    assert torch.unique(s[:, 0, 0]).numel() == 64
    assert torch.equal(s[:, 0], s[:, 1]), "one scale per record, shared by its leads"
    xr = _signal((64, 3, 200))
    y = ecg.augment_ecg(xr, 250.0, p=0.5, generator=make_generator(0))
    changed = (y != xr).flatten(1).any(1)
    assert 0 < int(changed.sum()) <= 64
    # a record identical to the input is possible only when no sub-transform fired (prob 1/16)
    assert int((~changed).sum()) < 20


def test_batch_equals_records_in_distribution_not_in_draws():
    # the batched call and the per-record call are the same transform: check the scale range empirically
    g = make_generator(0)
    s = ecg.amplitude_scale(torch.ones(2000, 1, 4), scale=(0.8, 1.2), generator=g)[:, 0, 0]
    assert 0.8 <= float(s.min()) and float(s.max()) < 1.2
    assert abs(float(s.mean()) - 1.0) < 0.02


def test_p_zero_is_identity_and_switches_work():
    x = _signal((4, 12, 500))
    assert torch.equal(ecg.augment_ecg(x, 500.0, p=0.0, generator=make_generator(0)), x)
    off = dict(scale=False, wander=False, powerline=False, noise=False, stretch=False)
    assert torch.equal(ecg.augment_ecg(x, 500.0, p=1.0, **off), x)
    only_scale = ecg.augment_ecg(x, 500.0, p=1.0, **{**off, "scale": True}, generator=make_generator(0))
    ratio = only_scale / x
    assert torch.allclose(ratio, ratio[:, :1, :1].expand_as(ratio), rtol=1e-5)


def test_augment_ecg_equals_composition_of_parts_for_scale_and_wander():
    x = _signal((3, 2, 300))
    y = ecg.augment_ecg(x, 100.0, p=1.0, powerline=False, noise=False, generator=make_generator(7))
    # same draws, same order: scale, amp, freq, phase (p = 1 draws no firing variable)
    g = make_generator(7)
    s = 0.9 + 0.2 * torch.rand((3, 1, 1), generator=g)
    amp = 0.05 + 0.25 * torch.rand((3, 1, 1), generator=g)
    f = 0.05 + 0.45 * torch.rand((3, 1, 1), generator=g)
    ph = 2 * math.pi * torch.rand((3, 1, 1), generator=g)
    t = torch.arange(300) / 100.0
    expected = x * s + amp * torch.sin(2 * math.pi * f * t + ph)
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)


def test_einthoven_common_breaks_electrodes_keeps():
    rec = load_ecg_12lead()
    x = rec.signal
    assert rec.leads == ecg.STANDARD_LEADS
    assert ecg.einthoven_residual(x).abs().max() < 0.01  # the file itself obeys I + III = II
    kw = dict(p=1.0, noise=False, scale=False, generator=make_generator(0))
    common = ecg.augment_ecg(x, rec.fs, leads="common", **kw)
    electrodes = ecg.augment_ecg(x, rec.fs, leads="electrodes", **kw)
    res_c = ecg.einthoven_residual(common) - ecg.einthoven_residual(x)
    res_e = ecg.einthoven_residual(electrodes) - ecg.einthoven_residual(x)
    # common mode adds w to each lead: residual = w, i.e. exactly the added wander on lead I
    torch.testing.assert_close(res_c, common[0] - x[0], atol=1e-5, rtol=0)
    assert res_c.abs().max() > 0.02
    assert res_e.abs().max() < 1e-5
    # Goldberger: aVR + aVL + aVF = 0 also survives electrode-level artefacts
    idx = [ecg.STANDARD_LEADS.index(k) for k in ("aVR", "aVL", "aVF")]
    gold = electrodes[idx].sum(0) - x[idx].sum(0)
    assert gold.abs().max() < 1e-5


def test_random_crop_window_and_errors():
    x = torch.arange(2 * 3 * 50, dtype=torch.float32).reshape(2, 3, 50)
    y = ecg.random_crop(x, 20, generator=make_generator(0))
    assert y.shape == (2, 3, 20)
    for b in range(2):
        start = int(y[b, 0, 0] - x[b, 0, 0])
        assert torch.equal(y[b], x[b, :, start : start + 20]), "same window on every lead, contiguous"
    assert ecg.random_crop(torch.zeros(100), 100).shape == (100,)
    with pytest.raises(ValueError, match="longer than the record"):
        ecg.random_crop(torch.zeros(1, 99), 100)
    with pytest.raises(ValueError, match="length"):
        ecg.random_crop(torch.zeros(1, 99), 0)


def test_random_crop_covers_all_starts():
    x = torch.arange(10, dtype=torch.float32).expand(500, 1, 10)
    y = ecg.random_crop(x, 7, generator=make_generator(0))
    assert set(y[:, 0, 0].tolist()) == {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.15])
def test_time_scale_changes_heart_rate_by_factor(factor):
    rec = load_ecg_12lead()
    lead_ii = rec.signal[1]
    hr0 = ecg.heart_rate_bpm(lead_ii, rec.fs)
    assert 40 < hr0 < 120
    hr1 = ecg.heart_rate_bpm(ecg.time_scale(lead_ii, factor=factor), rec.fs)
    assert hr1 == pytest.approx(hr0 / factor, rel=0.02)


def test_time_scale_identity_and_sine_frequency():
    x = _signal((2, 100))
    torch.testing.assert_close(ecg.time_scale(x, factor=1.0), x)
    fs, n = 200.0, 2000
    t = torch.arange(n) / fs
    y = ecg.time_scale(torch.sin(2 * math.pi * 5.0 * t), factor=1.25)
    f = torch.fft.rfftfreq(n, d=1 / fs)
    assert float(f[torch.fft.rfft(y[: int(0.8 * n)], n=n).abs().argmax()]) == pytest.approx(4.0, abs=0.15)


BAD_X = [
    (torch.zeros(10, dtype=torch.int16), TypeError, r"x must be a floating-point tensor in millivolts.*mV floats"),
    (torch.zeros(2, 3, 4, 5), ValueError, r"x must have 1 or 2 or 3 dimensions, got shape \(2, 3, 4, 5\)"),
    (torch.zeros(()), ValueError, r"x must have 1 or 2 or 3 dimensions, got shape \(\)"),
    (torch.tensor([0.0, float("nan"), 1.0]), ValueError, r"x contains NaN or infinite values"),
    (torch.tensor([0.0, float("inf"), 1.0]), ValueError, r"x contains NaN or infinite values"),
    ([0.0, 1.0], TypeError, r"x must be a torch.Tensor, got list"),
    (torch.zeros(2, 0), ValueError, r"x is empty \(shape \(2, 0\)\); expected at least one element"),
    (torch.zeros(0, 12, 100), ValueError, r"x is empty \(shape \(0, 12, 100\)\); expected at least one element"),
]


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
@pytest.mark.parametrize("bad,exc,msg", BAD_X)
def test_bad_signals_rejected(name, bad, exc, msg):
    with pytest.raises(exc, match=msg):
        SAME_SHAPE[name](bad, 500.0, None)


@pytest.mark.parametrize("fs", [0.0, -1.0, float("nan"), float("inf"), True, "500"])
def test_bad_fs_rejected(fs):
    x = torch.zeros(1, 100)
    for fn in (ecg.baseline_wander, ecg.powerline_interference, ecg.augment_ecg):
        with pytest.raises((TypeError, ValueError), match=r"fs must be (a real number|a number|a finite number > 0)"):
            fn(x, fs)


def test_bad_parameters_rejected():
    x = torch.zeros(1, 1000)
    with pytest.raises(ValueError, match=r"freq_hz must stay below the Nyquist frequency fs/2 = 0.25 Hz"):
        ecg.baseline_wander(x, 0.5)
    with pytest.raises(ValueError, match=r"mains_hz must stay below the Nyquist frequency fs/2 = 50 Hz"):
        ecg.powerline_interference(x, 100.0, mains_hz=50.0)
    with pytest.raises(ValueError, match=r"amplitude_mv must have min <= max"):
        ecg.baseline_wander(x, 500.0, amplitude_mv=(0.3, 0.1))
    with pytest.raises(ValueError, match=r"scale\[0\] must be > 0.0, got 0.0"):
        ecg.amplitude_scale(x, scale=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"factor\[0\] must be > 0.0, got -1.0"):
        ecg.time_scale(x, factor=-1.0)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        ecg.augment_ecg(x, 500.0, p=1.5)
    with pytest.raises(ValueError, match=r"leads='electrodes' needs the 12 standard leads .*got 1 leads"):
        ecg.augment_ecg(x, 500.0, leads="electrodes")
    with pytest.raises(ValueError, match=r"leads must be one of .*got 'some'"):
        ecg.baseline_wander(x, 500.0, leads="some")
    with pytest.raises(TypeError, match=r"noise must be"):
        ecg.augment_ecg(x, 500.0, noise="yes")
    with pytest.raises(ValueError, match=r"mains_hz must stay below the Nyquist frequency fs/2 = 40 Hz"):
        ecg.augment_ecg(x, 80.0)  # 50 Hz mains above Nyquist of 40 Hz
    assert ecg.augment_ecg(x, 80.0, powerline=False).shape == x.shape


def test_augment_ecg_rejects_nan_even_with_noise_off():
    x = torch.zeros(3, 2, 50)
    x[1, 1, 7] = float("nan")
    for noise in (True, False):
        with pytest.raises(ValueError, match="NaN"):
            ecg.augment_ecg(x, 100.0, noise=noise, powerline=False)


def test_heart_rate_needs_two_beats():
    with pytest.raises(ValueError, match="R peaks"):
        ecg.heart_rate_bpm(torch.zeros(1000), 500.0)


# ---------------------------------------------------------------------------------------------
# Hypothesis fuzzing
# ---------------------------------------------------------------------------------------------

shapes = st.one_of(
    st.tuples(st.integers(1, 300)),
    st.tuples(st.integers(1, 4), st.integers(1, 300)),
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 300)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=shapes,
    fs=st.sampled_from([100.0, 250.0, 500.0, 1000.0]),
    p=st.floats(0, 1),
    seed=st.integers(0, 2**31),
    name=st.sampled_from(sorted(SAME_SHAPE)),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    offset=st.floats(-5, 5),
)
def test_fuzz_every_transform(shape, fs, p, seed, name, dtype, offset):
    x = _signal(shape, seed=seed % 1000, dtype=dtype) + offset
    before = x.clone()
    # mains must sit below Nyquist: 50 Hz is *correctly* refused at fs = 100 Hz, so fuzz with fs / 4
    if name == "augment_ecg":
        y = ecg.augment_ecg(x, fs, p=p, generator=make_generator(seed), mains_hz=fs / 4)
    elif name == "powerline_interference":
        y = ecg.powerline_interference(x, fs, mains_hz=fs / 4, generator=make_generator(seed))
    else:
        y = SAME_SHAPE[name](x, fs, make_generator(seed))
    assert y.shape == x.shape and y.dtype == dtype
    assert torch.isfinite(y).all()
    assert torch.equal(x, before)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, length=st.integers(-3, 320), seed=st.integers(0, 1000))
def test_fuzz_random_crop(shape, length, seed):
    x = _signal(shape, seed=seed)
    if length < 1:
        with pytest.raises(ValueError, match="length"):
            ecg.random_crop(x, length)
    elif length > shape[-1]:
        with pytest.raises(ValueError, match="longer"):
            ecg.random_crop(x, length)
    else:
        y = ecg.random_crop(x, length, generator=make_generator(seed))
        assert y.shape == (*shape[:-1], length)


@settings(max_examples=40, deadline=None)
@given(
    snr=st.floats(-10, 60),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(8, 200)),
    seed=st.integers(0, 1000),
)
def test_fuzz_snr_achieved(snr, shape, seed):
    x = _signal(shape, seed=seed)
    y = ecg.gaussian_noise(x, snr_db=snr, generator=make_generator(seed))
    assert (ecg.snr_db(x, y) - snr).abs().max() < 1.0


@settings(max_examples=40, deadline=None)
@given(
    bad=st.one_of(
        st.sampled_from([torch.int16, torch.int32, torch.uint8, torch.int64]).map(lambda d: torch.zeros(5, dtype=d)),
        st.integers(4, 6).map(lambda k: torch.zeros((2,) * k)),
        st.sampled_from([float("nan"), float("inf"), -float("inf")]).map(lambda v: torch.tensor([[0.0, v]])),
    ),
    name=st.sampled_from(sorted(SAME_SHAPE)),
)
def test_fuzz_bad_inputs_raise_clear_errors(bad, name):
    with pytest.raises((TypeError, ValueError), match="x "):
        SAME_SHAPE[name](bad, 500.0, None)


# ---------------------------------------------------------------------------------------------
# Measurements: spectra, R peaks, axis
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", FS)
def test_power_spectrum_and_band_fraction_locate_a_sine(fs):
    n = int(10 * fs)
    t = torch.arange(n) / fs
    x = torch.stack([torch.sin(2 * math.pi * 0.3 * t), torch.sin(2 * math.pi * 50.0 * t)])
    f, p = ecg.power_spectrum(x, fs)
    assert p.shape == (2, n // 2 + 1) and f.shape == (n // 2 + 1,)
    assert float(f[p[0].argmax()]) == pytest.approx(0.3, abs=fs / n)
    assert float(f[p[1].argmax()]) == pytest.approx(50.0, abs=fs / n)
    frac = ecg.band_power_fraction(x, fs, 0.0, 1.0)
    assert float(frac[0]) > 0.99 and float(frac[1]) < 0.01
    # Parseval: bins sum to the variance; a sine of amplitude 1 shows 1/2 in its bin
    torch.testing.assert_close(p.sum(-1), x.double().var(-1, correction=0))
    assert float(p[0].max()) == pytest.approx(0.5, rel=1e-3)
    n_odd = ecg.power_spectrum(x[..., :-1], fs)[1]
    torch.testing.assert_close(n_odd.sum(-1), x[..., :-1].double().var(-1, correction=0))
    # the full band [0, fs/2] holds all the power
    assert torch.allclose(ecg.band_power_fraction(x, fs, 0.0, fs / 2), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="low_hz"):
        ecg.band_power_fraction(x, fs, 2.0, 1.0)


def test_r_peaks_and_axis_on_the_real_record():
    rec = load_ecg_12lead()
    peaks = ecg.r_peaks(rec.signal[1], rec.fs)
    assert peaks.dtype == torch.int64 and 8 <= peaks.numel() <= 14  # about 61 bpm over 10 s
    axis = ecg.frontal_axis_deg(rec.signal, rec.fs)
    assert -30 <= axis <= 90, "the reference record has a normal axis"
    # right-arm/left-arm reversal: I -> -I, II <-> III, aVR <-> aVL; Einthoven still holds, the axis does not
    names = list(rec.leads)
    order = ["I", "III", "II", "aVL", "aVR", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    swapped = rec.signal[[names.index(k) for k in order]].clone()
    swapped[0] = -swapped[0]
    assert ecg.einthoven_residual(swapped).abs().max() < 0.01
    assert ecg.frontal_axis_deg(swapped, rec.fs) > 90
    with pytest.raises(ValueError, match="lead_names"):
        ecg.frontal_axis_deg(rec.signal[:3], rec.fs)
    with pytest.raises(ValueError, match="one record"):
        ecg.frontal_axis_deg(rec.signal[None], rec.fs)


def test_electrode_noise_keeps_lead_relations_and_snr():
    rec = load_ecg_12lead()
    x = rec.signal.expand(3, -1, -1)
    idx = [ecg.STANDARD_LEADS.index(k) for k in ("aVR", "aVL", "aVF")]
    y = ecg.gaussian_noise(x, snr_db=10.0, leads="electrodes", generator=make_generator(0))
    assert (ecg.snr_db(x, y) - 10.0).abs().max() < 1e-2
    assert (ecg.einthoven_residual(y) - ecg.einthoven_residual(x)).abs().max() < 1e-4
    assert (y[:, idx].sum(1) - x[:, idx].sum(1)).abs().max() < 1e-4
    indep = ecg.gaussian_noise(x, snr_db=10.0, generator=make_generator(0))
    assert (ecg.einthoven_residual(indep) - ecg.einthoven_residual(x)).abs().max() > 0.05
    full = ecg.augment_ecg(x, rec.fs, p=1.0, leads="electrodes", generator=make_generator(1))
    assert (ecg.einthoven_residual(full) - ecg.einthoven_residual(x)).abs().max() < 1e-4
    with pytest.raises(ValueError, match="leads"):
        ecg.gaussian_noise(x, leads="common")
    with pytest.raises(ValueError, match="leads"):
        ecg.gaussian_noise(x[:, :3], leads="electrodes")


MEASURES = {
    "power_spectrum": lambda x: ecg.power_spectrum(x, 500.0),
    "band_power_fraction": lambda x: ecg.band_power_fraction(x, 500.0, 0.0, 1.0),
    "snr_db": lambda x: ecg.snr_db(x, x),
    "random_crop": lambda x: ecg.random_crop(x, 1),
    "einthoven_residual": lambda x: ecg.einthoven_residual(x, ("I", "II", "III")),
    "r_peaks": lambda x: ecg.r_peaks(x, 500.0),
}


@settings(max_examples=40, deadline=None)
@given(
    bad=st.one_of(
        st.sampled_from([torch.int16, torch.int32, torch.uint8]).map(lambda d: torch.zeros(3, 5, dtype=d)),
        st.integers(4, 5).map(lambda k: torch.zeros((2,) * k)),
        st.just([[0.0, 1.0]]),
    ),
    name=st.sampled_from(sorted(MEASURES)),
)
def test_fuzz_measurements_reject_bad_inputs(bad, name):
    with pytest.raises((TypeError, ValueError), match="must"):
        MEASURES[name](bad)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, fs=st.sampled_from([100.0, 250.0, 1000.0]), seed=st.integers(0, 1000))
def test_fuzz_power_spectrum_parseval(shape, fs, seed):
    x = _signal(shape, seed=seed, dtype=torch.float64)
    f, p = ecg.power_spectrum(x, fs)
    assert p.shape == (*shape[:-1], shape[-1] // 2 + 1) and (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), x.var(-1, correction=0))
    assert float(f[-1]) <= fs / 2 + 1e-9


def test_nb03_checkers_accept_the_physics_and_reject_the_usual_bugs():
    from lessonlib.exercises import ExerciseFailed, nb03

    def hz(x, fs):
        return x + 0.2 * torch.sin(2 * math.pi * 0.3 * torch.arange(x.shape[-1]) / fs)

    def per_record(x, fs):  # 3 cycles per record: right for one length only
        return x + 0.2 * torch.sin(2 * math.pi * 3.0 * torch.arange(x.shape[-1]) / x.shape[-1])

    def in_place(x, fs):
        x += 0.2 * torch.sin(2 * math.pi * 0.3 * torch.arange(x.shape[-1]) / fs)
        return x

    assert nb03.check_wander(hz, must_pass=True).passed
    assert nb03.check_wander(per_record).passed is False
    assert nb03.check_wander(in_place).passed is False
    assert nb03.check_wander(...).passed is None
    assert nb03.check_time_scale_labels((62.5, 480.0)).passed
    assert nb03.check_time_scale_labels((90.0, 333.0)).passed is False
    la = [1.0, 0.0, -1.0, -0.5, 1.0, -0.5] + [-1 / 3] * 6
    assert nb03.check_left_arm_artefact(la).passed
    assert nb03.check_left_arm_artefact(la[:6] + [0.0] * 6).passed is False
    assert nb03.check_noise_features({"age (years)", "BMI (kg/m^2)", "serum cholesterol (mg/dL)"}).passed
    with pytest.raises(ExerciseFailed):
        nb03.check_noise_features({"sex (coded 1/2)"}, must_pass=True)


# ---------------------------------------------------------------------------------------------
# Issue 16 (lead relations under the default), issue 17 (dtype, long records, edges), issue 18
# (classes, oracle tests)
# ---------------------------------------------------------------------------------------------

GOLDBERGER = [ecg.STANDARD_LEADS.index(k) for k in ("aVR", "aVL", "aVF")]


def _consistent_12_lead(dtype=torch.float64):
    """The real record with III, aVR, aVL, aVF recomputed from I and II: the relations hold exactly."""
    x = load_ecg_12lead().signal.to(dtype).clone()
    i, ii = x[0].clone(), x[1].clone()
    x[2], x[3], x[4], x[5] = ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2
    return x


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_default_augment_ecg_keeps_einthoven_and_goldberger_on_12_leads(p):
    x = _consistent_12_lead().expand(8, -1, -1)
    y = ecg.augment_ecg(x, 500.0, p=p, generator=make_generator(0))
    assert not torch.equal(y, x)
    assert ecg.einthoven_residual(y).abs().max() < 1e-12
    assert y[:, GOLDBERGER].sum(1).abs().max() < 1e-12
    # the measured leads get today's wander and mains: the same as leads="common" there, in the same
    # draws (the noise differs in its scale only: the SNR counts the noise on the derived leads too)
    auto, common = (
        ecg.augment_ecg(x, 500.0, p=p, noise=False, leads=m, generator=make_generator(0)) for m in ("auto", "common")
    )
    measured = [0, 1, *range(6, 12)]
    torch.testing.assert_close(auto[:, measured], common[:, measured], rtol=1e-12, atol=1e-12)
    # on the float32 file (rounded to 1 µV) the residual is only scaled with the record, never grown
    rec = load_ecg_12lead()
    y32 = ecg.augment_ecg(rec.signal.expand(8, -1, -1), rec.fs, p=p, generator=make_generator(1))
    before = ecg.einthoven_residual(rec.signal).abs().max()
    assert ecg.einthoven_residual(y32).abs().max() <= 1.1 * before + 1e-5


def test_default_augment_ecg_on_other_lead_sets_is_unchanged():
    for shape in [(4, 1, 300), (4, 3, 300), (2, 8, 300), (300,)]:
        x = _signal(shape)
        auto = ecg.augment_ecg(x, 100.0, p=0.7, mains_hz=20.0, generator=make_generator(5))
        common = ecg.augment_ecg(x, 100.0, p=0.7, mains_hz=20.0, leads="common", generator=make_generator(5))
        assert torch.equal(auto, common)


def test_derived_noise_and_sinusoids_keep_the_relations_and_the_snr():
    x = _consistent_12_lead().expand(3, -1, -1)
    for fn in (
        lambda v, g: ecg.gaussian_noise(v, snr_db=10.0, leads="derived", generator=g),
        lambda v, g: ecg.baseline_wander(v, 500.0, leads="derived", generator=g),
        lambda v, g: ecg.powerline_interference(v, 500.0, leads="auto", generator=g),
    ):
        y = fn(x, make_generator(2))
        assert ecg.einthoven_residual(y).abs().max() < 1e-12
        assert y[:, GOLDBERGER].sum(1).abs().max() < 1e-12
    y = ecg.gaussian_noise(x, snr_db=10.0, leads="derived", generator=make_generator(2))
    assert (ecg.snr_db(x, y) - 10.0).abs().max() < 1e-6
    with pytest.raises(ValueError, match="leads"):
        ecg.augment_ecg(x[:, :3], 500.0, leads="derived")


def test_float64_is_computed_in_float64():
    x = _consistent_12_lead().expand(4, -1, -1)
    y = ecg.augment_ecg(x, 500.0, p=1.0, leads="electrodes", generator=make_generator(0))
    assert ecg.einthoven_residual(y).abs().max() < 1e-12  # float32 arithmetic left 3e-8 mV
    assert y[:, GOLDBERGER].sum(1).abs().max() < 1e-12
    assert (ecg.snr_db(x, ecg.gaussian_noise(x, snr_db=17.0, generator=make_generator(0))) - 17.0).abs().max() < 1e-9


def test_mains_phase_is_exact_on_a_one_hour_record():
    fs, n = 500.0, 3600 * 500  # 50 Hz at 500 Hz repeats every 10 samples, exactly
    y = ecg.powerline_interference(torch.zeros(n), fs, amplitude_mv=1.0, generator=make_generator(0))
    period = y[:10].repeat(n // 10)
    assert (y - period).abs().max() < 1e-5  # a float32 time axis gave a 2.7% rms phase jitter
    w = ecg.baseline_wander(torch.zeros(n), fs, amplitude_mv=1.0, freq_hz=0.25, generator=make_generator(0))
    assert (w[:2000] - w[-2000:]).abs().max() < 1e-5  # 0.25 Hz: a whole number of cycles in one hour


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_half_precision_is_computed_in_float32_and_returned_in_half(name, dtype):
    x = _signal((2, 12, 500))
    y = SAME_SHAPE[name](x.to(dtype), 500.0, make_generator(3))
    ref = SAME_SHAPE[name](x.to(dtype).float(), 500.0, make_generator(3))
    assert y.dtype == dtype and torch.isfinite(y).all()
    torch.testing.assert_close(y, ref.to(dtype))


def test_stretch_refuses_a_nan_in_the_stretched_away_tail():
    x = _signal((2, 1, 200))
    x[1, 0, -1] = float("nan")  # stretching by > 1 never reads the last sample
    with pytest.raises(ValueError, match="NaN"):
        ecg.augment_ecg(x, 100.0, p=1.0, stretch=True, stretch_factor=1.05, powerline=False)
    with pytest.raises(ValueError, match="NaN"):
        ecg.time_scale(x, factor=1.05)


NAN = float("nan")
BAD_PARAMS = [
    ("baseline_wander", "amplitude_mv", (NAN, 0.3)),
    ("baseline_wander", "amplitude_mv", ("a", 1)),
    ("baseline_wander", "amplitude_mv", None),
    ("baseline_wander", "freq_hz", (NAN, 0.3)),
    ("baseline_wander", "freq_hz", float("inf")),
    ("powerline_interference", "amplitude_mv", (0.1, NAN)),
    ("powerline_interference", "mains_hz", NAN),
    ("powerline_interference", "mains_hz", "50"),
    ("gaussian_noise", "snr_db", (NAN, 20.0)),
    ("gaussian_noise", "snr_db", None),
    ("amplitude_scale", "scale", (NAN, 1.0)),
    ("amplitude_scale", "scale", (1.0, float("inf"))),
    ("time_scale", "factor", (NAN, 1.1)),
    ("time_scale", "factor", "fast"),
    ("augment_ecg", "scale_range", (NAN, 1.0)),
    ("augment_ecg", "wander_amplitude_mv", (NAN, 0.3)),
    ("augment_ecg", "wander_freq_hz", (0.1, NAN)),
    ("augment_ecg", "mains_amplitude_mv", ("a", 1)),
    ("augment_ecg", "stretch_factor", (NAN, 1.0)),
    ("augment_ecg", "snr_db", (20.0, float("inf"))),
    ("augment_ecg", "p", NAN),
    ("augment_ecg", "leads", "both"),
    ("gaussian_noise", "leads", "common"),  # the same noise on every lead is not noise a recorder makes
    ("baseline_wander", "leads", "both"),
    ("random_crop", "length", 2.5),
    ("random_crop", "length", True),
]
FN_WITH_FS = {"baseline_wander", "powerline_interference", "augment_ecg"}


@pytest.mark.parametrize("fn,param,bad", BAD_PARAMS)
def test_bad_parameters_raise_errors_naming_the_parameter(fn, param, bad):
    x = _signal((2, 12, 100))
    args = (x, 250.0) if fn in FN_WITH_FS else (x, 10) if fn == "random_crop" else (x,)
    kwargs = {} if fn == "random_crop" else {param: bad}
    if fn == "random_crop":
        args = (x, bad)
    with pytest.raises((TypeError, ValueError), match=rf"{param}(\[[01]\])? must (be|have)"):
        getattr(ecg, fn)(*args, **kwargs)


@pytest.mark.parametrize("name", sorted(SAME_SHAPE))
def test_generator_is_type_checked(name):
    with pytest.raises(TypeError, match="generator"):
        SAME_SHAPE[name](_signal((1, 100)), 500.0, 3)
    with pytest.raises(TypeError, match="generator"):
        ecg.random_crop(_signal((1, 100)), 10, generator=3)


def test_measurement_edges():
    rec = load_ecg_12lead()
    lead = rec.signal[1]
    with pytest.raises(ValueError, match=r"min_rr_s must be shorter than the record .*1e-296 s"):
        ecg.r_peaks(lead, 1e300)  # a refractory period longer than the record: refused, no overflow
    for low, high in [(NAN, 1.0), (0.0, NAN), ("a", 1.0), (2.0, 1.0), (-1.0, 1.0)]:
        with pytest.raises((TypeError, ValueError), match="low_hz|high_hz"):
            ecg.band_power_fraction(lead, rec.fs, low, high)
    for bad in (NAN, 0.0, "0.3", True):
        with pytest.raises((TypeError, ValueError), match=r"min_rr_s must be (a real number|a number|a finite)"):
            ecg.r_peaks(lead, rec.fs, min_rr_s=bad)
        with pytest.raises((TypeError, ValueError), match=r"qrs_half_width_s must be (a real number|a number|a fin)"):
            ecg.frontal_axis_deg(rec.signal, rec.fs, qrs_half_width_s=bad)


def test_detector_refuses_windows_no_beat_can_fit():
    """Issue #35: a refractory period or a QRS window that no beat can fit is refused, naming the limit."""
    rec = load_ecg_12lead()  # 10 s at 1000 Hz
    lead = rec.signal[1]
    for bad in (10.0, 25.0):  # as long as the record, longer: at most one beat could be found
        with pytest.raises(ValueError, match=r"min_rr_s must be shorter than the record \(10000 samples .* = 10 s\)"):
            ecg.r_peaks(lead, rec.fs, min_rr_s=bad)
        with pytest.raises(ValueError, match=r"min_rr_s must be shorter than the record"):
            ecg.heart_rate_bpm(lead, rec.fs, min_rr_s=bad)
    assert ecg.r_peaks(lead, rec.fs, min_rr_s=9.9).numel() == 1  # just inside the limit: still answers
    for bad in (0.15, 0.4, 30.0):  # a window of ±0.15 s or more reaches the next beat at 200 bpm
        with pytest.raises(ValueError, match=r"qrs_half_width_s must be below half the shortest RR .*\(0.15 s\)"):
            ecg.frontal_axis_deg(rec.signal, rec.fs, qrs_half_width_s=bad)
    assert -180 < ecg.frontal_axis_deg(rec.signal, rec.fs, qrs_half_width_s=0.149) <= 180


@settings(max_examples=30, deadline=None)
@given(shape=shapes, fs=st.sampled_from([100.0, 250.0, 1000.0]), seed=st.integers(0, 1000))
def test_power_spectrum_equals_scipy_periodogram(shape, fs, seed):
    from scipy.signal import periodogram

    x = _signal(shape, seed=seed, dtype=torch.float64)
    f, p = ecg.power_spectrum(x, fs)
    f_ref, p_ref = periodogram(x.numpy(), fs=fs, detrend="constant", scaling="spectrum", axis=-1)
    torch.testing.assert_close(f, torch.from_numpy(f_ref))
    torch.testing.assert_close(p, torch.from_numpy(p_ref), rtol=1e-9, atol=1e-15)


def test_augment_ecg_is_one_pass_of_the_functions_in_order():
    x = _signal((3, 12, 400), dtype=torch.float64)
    fused = ecg.augment_ecg(
        x,
        500.0,
        p=1.0,
        stretch=True,
        noise=False,
        stretch_factor=0.9,
        scale_range=(0.8, 1.2),
        mains_hz=60.0,
        leads="independent",
        generator=make_generator(4),
    )
    g = make_generator(4)  # the composition draws step by step, as these calls do one after another
    seq = ecg.time_scale(x, factor=0.9, generator=g)
    seq = ecg.amplitude_scale(seq, scale=(0.8, 1.2), generator=g)
    seq = ecg.baseline_wander(seq, 500.0, leads="independent", generator=g)
    seq = ecg.powerline_interference(seq, 500.0, mains_hz=60.0, leads="independent", generator=g)
    torch.testing.assert_close(fused, seq, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["scale_range", "wander_amplitude_mv", "wander_freq_hz", "mains_amplitude_mv", "snr_db"]),
    bad=st.one_of(
        st.sampled_from([NAN, float("inf"), -float("inf")]).map(lambda v: (v, 1.0)),
        st.sampled_from([NAN, float("inf")]).map(lambda v: (0.1, v)),
        st.sampled_from([None, "x", [1.0], (1.0, 2.0, 3.0), {1.0: 2.0}]),
        st.tuples(st.floats(0.2, 0.4), st.floats(0.01, 0.1)),  # min > max
    ),
)
def test_fuzz_augment_ecg_ranges_fail_naming_the_parameter(name, bad):
    with pytest.raises((TypeError, ValueError), match=name):
        ecg.augment_ecg(_signal((2, 1, 100)), 250.0, **{name: bad})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.tuples(st.integers(1, 3), st.sampled_from([1, 2, 12]), st.integers(2, 200)),
    p=st.floats(0, 1),
    seed=st.integers(0, 2**31),
    leads=st.sampled_from(["auto", "common", "independent"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_fuzz_augment_ecg_contract(shape, p, seed, leads, dtype):
    x = _signal(shape, seed=seed % 997, dtype=dtype)
    before = x.clone()
    a = ecg.augment_ecg(x, 250.0, p=p, leads=leads, stretch=True, generator=make_generator(seed))
    b = ecg.augment_ecg(x, 250.0, p=p, leads=leads, stretch=True, generator=make_generator(seed))
    assert torch.equal(a, b) and torch.equal(x, before)
    assert a.shape == x.shape and a.dtype == dtype and torch.isfinite(a).all()
    if p == 0:
        assert torch.equal(a, x)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 1000),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
    batch=st.sampled_from([(), (2,)]),
)
def test_fuzz_measurements_leave_inputs_alone_and_are_deterministic(seed, dtype, batch):
    rec = load_ecg_12lead()
    x = (rec.signal[:, :2500] + 0.01 * _signal((12, 2500), seed=seed)).to(dtype).expand(*batch, -1, -1)
    before = x.clone()
    res = ecg.einthoven_residual(x)
    assert res.dtype == dtype and res.shape == (*batch, 2500)
    f, p = ecg.power_spectrum(x, rec.fs)
    assert p.dtype == torch.float64 and p.shape == (*batch, 12, 1251) and torch.isfinite(p).all()
    frac = ecg.band_power_fraction(x, rec.fs, 0.5, 40.0)
    assert ((frac >= 0) & (frac <= 1 + 1e-12)).all()
    noisy = ecg.gaussian_noise(x, snr_db=12.0, generator=make_generator(seed))
    tol = 1e-3 if dtype in (torch.float32, torch.float64) else 0.3
    assert (ecg.snr_db(x, noisy) - 12.0).abs().max() < tol
    one = x if not batch else x[0]
    assert torch.equal(ecg.r_peaks(one[1], rec.fs), ecg.r_peaks(one[1], rec.fs))
    assert ecg.heart_rate_bpm(one[1], rec.fs) == pytest.approx(
        ecg.heart_rate_bpm(rec.signal[1, :2500], rec.fs), rel=0.05
    )
    assert -180 < ecg.frontal_axis_deg(one, rec.fs) <= 180
    assert torch.equal(x, before)


# ---------------------------------------------------------------------------------------------
# Fast == reference (lessonlib.reference.ecg), on random records and the same random draws
# ---------------------------------------------------------------------------------------------
# The fast functions draw per record with lessonlib.utils.uniform, in this documented order: wander and
# mains: amplitude, frequency (float64; mains: the range [mains_hz, mains_hz]), phase in [0, 2π)
# (float64); noise: the SNR, then the white noise (normal_ on a [B, L, T] buffer in the compute dtype);
# amplitude_scale: the factor; time_scale: the factor (float64); augment_ecg: step by step, each step's
# firing draw (float32, when p < 1) before its parameters, the white noise last. The tests redraw them
# from a generator with the same seed and hand them to the reference.
# Tolerance, float64 records: 1e-9 mV (the fast sinusoid takes 2π·frac(n·f/fs) + φ, the reference
# 2π·f·n/fs + φ; the fast record power is E[x²] − E[x]², the reference's a variance), 1e-12 for the
# scalings and the time warp (one rounding apart: lerp against (1 − w)·x0 + w·x1).

records = st.tuples(st.integers(1, 4), st.sampled_from([1, 3, 12]), st.integers(2, 400))
ranges = st.tuples(st.floats(0.0, 0.5), st.floats(0.0, 0.5)).map(lambda r: tuple(sorted(r)))
TWO_PI = 2 * math.pi


def _u(g, b, low, high, dtype=torch.float64):
    """Per-record uniform draws as the fast code makes them, flattened to ``[B]``."""
    return uniform((b, 1, 1), low=low, high=high, generator=g, dtype=dtype).flatten()


def _fires(g, b, p):
    """The firing draw of one step with probability ``p`` (none when p = 1), as bools ``[B]``."""
    return torch.ones(b, dtype=torch.bool) if p >= 1 else _u(g, b, 0.0, 1.0, torch.float32) < p


def _derived(w):
    """A waveform on I, II and V1..V6 as a 12-lead recorder writes it: III, aVR, aVL, aVF from I and II."""
    w = w.clone()
    i, ii = w[:, 0].clone(), w[:, 1].clone()
    w[:, 2], w[:, 3], w[:, 4], w[:, 5] = ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2
    return w


@settings(max_examples=30, deadline=None)
@given(shape=records, fs=st.sampled_from([100.0, 250.0, 500.0]), amp=ranges, seed=st.integers(0, 2**31))
def test_property_baseline_wander_equals_reference(shape, fs, amp, seed):
    x = _signal(shape, seed=seed % 997, dtype=torch.float64)
    b = shape[0]
    fast = ecg.baseline_wander(x, fs, amplitude_mv=amp, freq_hz=(0.05, 2.0), generator=make_generator(seed))
    g = make_generator(seed)
    a, f, phase = _u(g, b, *amp), _u(g, b, 0.05, 2.0), _u(g, b, 0.0, TWO_PI)
    want = reference.ecg.baseline_wander(x, fs, a, f, phase)
    torch.testing.assert_close(fast, want, rtol=0, atol=1e-9)
    if shape[1] == 12:  # "derived": the reference's wander on I, II, V1..V6; the device formulas elsewhere
        fast = ecg.baseline_wander(
            x, fs, amplitude_mv=amp, freq_hz=(0.05, 2.0), leads="derived", generator=make_generator(seed)
        )
        g = make_generator(seed)
        want = reference.ecg.baseline_wander(x, fs, _u(g, b, *amp), _u(g, b, 0.05, 2.0), _u(g, b, 0.0, TWO_PI))
        torch.testing.assert_close(fast - x, _derived(want - x), rtol=0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(shape=records, fs=st.sampled_from([250.0, 500.0, 1000.0]), amp=ranges, seed=st.integers(0, 2**31))
def test_property_powerline_interference_equals_reference(shape, fs, amp, seed):
    x = _signal(shape, seed=seed % 997, dtype=torch.float64)
    b, mains = shape[0], 60.0
    fast = ecg.powerline_interference(x, fs, mains_hz=mains, amplitude_mv=amp, generator=make_generator(seed))
    g = make_generator(seed)
    a, _, phase = _u(g, b, *amp), _u(g, b, mains, mains), _u(g, b, 0.0, TWO_PI)
    want = reference.ecg.powerline_interference(x, fs, mains, a, phase)
    torch.testing.assert_close(fast, want, rtol=0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(shape=records, snr=st.tuples(st.floats(-5, 40), st.floats(-5, 40)).map(sorted), seed=st.integers(0, 2**31))
def test_property_gaussian_noise_equals_reference(shape, snr, seed):
    x = _signal(shape, seed=seed % 997, dtype=torch.float64)
    leads = "derived" if shape[1] == 12 else "independent"
    fast = ecg.gaussian_noise(x, snr_db=tuple(snr), leads=leads, generator=make_generator(seed))
    g = make_generator(seed)
    s = _u(g, shape[0], *snr)
    noise = torch.empty(shape, dtype=torch.float64).normal_(generator=g)
    if leads == "derived":  # the recorder's noise: drawn on I, II, V1..V6, derived on III, aVR, aVL, aVF
        noise = _derived(noise)
    want = reference.ecg.gaussian_noise(x, s, noise)
    torch.testing.assert_close(fast, want, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    shape=records,
    scale=st.tuples(st.floats(0.5, 2.0), st.floats(0.5, 2.0)).map(sorted),
    factor=st.tuples(st.floats(0.5, 2.0), st.floats(0.5, 2.0)).map(sorted),
    seed=st.integers(0, 2**31),
)
def test_property_amplitude_and_time_scale_equal_reference(shape, scale, factor, seed):
    x = _signal(shape, seed=seed % 997, dtype=torch.float64)
    fast = ecg.amplitude_scale(x, scale=tuple(scale), generator=make_generator(seed))
    want = reference.ecg.amplitude_scale(x, _u(make_generator(seed), shape[0], *scale))
    torch.testing.assert_close(fast, want, rtol=1e-12, atol=1e-12)
    fast = ecg.time_scale(x, factor=tuple(factor), generator=make_generator(seed))
    want = reference.ecg.time_scale(x, _u(make_generator(seed), shape[0], *factor))
    torch.testing.assert_close(fast, want, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.sampled_from([1, 3]), st.integers(2, 300)),
    p=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    seed=st.integers(0, 2**31),
)
def test_property_augment_ecg_equals_the_reference_steps(shape, p, seed):
    """augment_ecg = time_scale → amplitude_scale → gaussian_noise (SNR of the scaled record) →
    baseline_wander → powerline_interference, each on the records it fires on (neutral elsewhere)."""
    x = _signal(shape, seed=seed % 997, dtype=torch.float64)
    b, fs = shape[0], 250.0
    fast = ecg.augment_ecg(x, fs, p=p, stretch=True, generator=make_generator(seed))
    g = make_generator(seed)
    on = _fires(g, b, p)
    factor = torch.where(on, _u(g, b, 0.95, 1.05), 1.0)
    on = _fires(g, b, p)
    gain = torch.where(on, _u(g, b, 0.9, 1.1), 1.0)
    on = _fires(g, b, p)
    wander = (torch.where(on, _u(g, b, 0.05, 0.3), 0.0), _u(g, b, 0.05, 0.5), _u(g, b, 0.0, TWO_PI))
    on = _fires(g, b, p)
    mains = (torch.where(on, _u(g, b, 0.01, 0.1), 0.0), _u(g, b, 50.0, 50.0), _u(g, b, 0.0, TWO_PI))
    on = _fires(g, b, p)
    snr = torch.where(on, _u(g, b, 20.0, 30.0), math.inf)  # an infinite SNR adds no noise
    noise = torch.empty(shape, dtype=torch.float64).normal_(generator=g)
    want = reference.ecg.amplitude_scale(reference.ecg.time_scale(x, factor), gain)
    want = reference.ecg.gaussian_noise(want, snr, noise)
    want = reference.ecg.baseline_wander(want, fs, *wander)
    want = reference.ecg.powerline_interference(want, fs, 50.0, mains[0], mains[2])
    torch.testing.assert_close(fast, want, rtol=1e-9, atol=1e-9)


def test_nb03_model_solutions_agree_with_the_reference_and_the_electrode_projection():
    """Exercise 03.2's model wander is ``reference.ecg.baseline_wander`` at A = 0.2 mV, f = 0.3 Hz, φ = 0;
    03.4's left-arm answer is the LA column of the projection the fast "electrodes" mode uses."""
    from lessonlib._kernels.ecg import ELECTRODE_TO_LEAD
    from lessonlib.exercises import nb03

    for fs, shape in ((250.0, (2, 2500)), (500.0, (12, 5000))):
        x = _signal(shape, dtype=torch.float64)
        one = torch.ones(1, dtype=torch.float64)
        want = reference.ecg.baseline_wander(x[None], fs, 0.2 * one, 0.3 * one, 0 * one)[0]
        torch.testing.assert_close(nb03._solution_wander(x, fs), want, rtol=0, atol=1e-9)
    torch.testing.assert_close(torch.tensor(nb03._LEFT_ARM, dtype=torch.float64), ELECTRODE_TO_LEAD[:, 1])
