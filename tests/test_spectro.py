"""Tests for lessonlib.spectro: SpecAugment fast == reference on the same draws (Hypothesis), torchaudio's
documented rule checked by hand (no torchaudio wheel exists for the course's torch), the per-batch mode,
the spectrogram against numpy's FFT, properties and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import spectro
from lessonlib.reference import spectro as ref
from lessonlib.utils import make_generator, uniform

seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=40, deadline=None)
@given(
    seed=seeds,
    b=st.integers(1, 5),
    f=st.integers(1, 12),
    t=st.integers(1, 15),
    n_freq=st.integers(0, 3),
    n_time=st.integers(0, 3),
    iid=st.booleans(),
    data=st.data(),
)
def test_spec_augment_equals_reference_on_the_same_draws(seed, b, f, t, n_freq, n_time, iid, data):
    fp, tp = data.draw(st.integers(0, f)), data.draw(st.integers(0, t))
    spec = torch.randn(b, f, t, generator=make_generator(seed + 1), dtype=torch.float64) + 5.0
    fast = spectro.spec_augment(
        spec,
        freq_mask_param=fp,
        time_mask_param=tp,
        n_freq_masks=n_freq,
        n_time_masks=n_time,
        iid_masks=iid,
        generator=make_generator(seed),
    )
    u = uniform((n_freq + n_time, 2, b if iid else 1), generator=make_generator(seed)).expand(-1, -1, b)
    torch.testing.assert_close(fast, ref.spec_augment(spec, u, fp, tp, n_freq, n_time), atol=0, rtol=0)


def test_torchaudio_rule_by_hand():
    """torchaudio's mask_along_axis_iid: value = u·param, min = u'·(size − value), rows [⌊min⌋, ⌊min⌋ + ⌊value⌋)."""
    spec = torch.ones(1, 17, 5)
    out = ref.mask_along_axis(spec, torch.tensor([0.9]), torch.tensor([0.5]), 4, axis=1)
    masked = torch.nonzero(out[0, :, 0] == 0).flatten().tolist()
    assert masked == [6, 7, 8]  # w = 3.6, start = ⌊0.5 · 13.4⌋ = 6, ⌊w⌋ = 3 bins (exercise 14.1's answer)
    out_t = ref.mask_along_axis(torch.ones(2, 3, 10), torch.tensor([0.0, 0.99]), torch.tensor([0.3, 0.0]), 5, axis=2)
    assert torch.equal(out_t[0], torch.ones(3, 10))  # width ⌊0⌋ = 0: nothing masked
    assert out_t[1, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]  # ⌊4.95⌋ = 4 frames from 0


def test_per_batch_mode_masks_every_spectrogram_alike_and_iid_does_not():
    spec = torch.ones(16, 12, 20)
    one = spectro.spec_augment(spec, freq_mask_param=6, time_mask_param=8, iid_masks=False, generator=make_generator(0))
    assert all(torch.equal(one[0], one[i]) for i in range(16))
    iid = spectro.spec_augment(spec, freq_mask_param=6, time_mask_param=8, generator=make_generator(0))
    assert len({tuple(m.flatten().tolist()) for m in (iid == 0)}) > 4


def test_masks_stay_inside_and_below_their_width():
    spec = torch.ones(200, 10, 30)
    out = spectro.spec_augment(spec, freq_mask_param=4, time_mask_param=7, generator=make_generator(3))
    rows_masked = (out == 0).all(2).sum(1)  # full frequency rows zeroed
    cols_masked = (out == 0).all(1).sum(1)
    assert int(rows_masked.max()) <= 3 and int(cols_masked.max()) <= 6
    assert int(rows_masked.max()) == 3 and int(cols_masked.max()) == 6  # widths up to ⌊param⌋ − 1 are reached


def test_spec_augment_keeps_input_dtype_device_and_values():
    spec = torch.randn(3, 8, 9, dtype=torch.float64)
    spec0 = spec.clone()
    out = spectro.spec_augment(spec, freq_mask_param=3, time_mask_param=3, mask_value=-1.5, generator=make_generator(0))
    assert torch.equal(spec, spec0) and out.dtype == torch.float64
    changed = out != spec
    assert bool((out[changed] == -1.5).all())
    same = spectro.spec_augment(
        spec, freq_mask_param=3, time_mask_param=3, mask_value=-1.5, generator=make_generator(0)
    )
    assert torch.equal(out, same)


def test_log_spectrogram_matches_numpy_fft():
    x = torch.randn(2, 64, generator=make_generator(0), dtype=torch.float64)
    s = spectro.log_spectrogram(x, n_fft=16, hop=4)
    assert s.shape == (2, 9, 64 // 4 + 1)
    padded = np.pad(x.numpy(), ((0, 0), (8, 8)), mode="reflect")
    frame = padded[:, 4 * 3 : 4 * 3 + 16] * np.hanning(17)[:-1]  # periodic Hann window, frame 3
    want = np.log(np.abs(np.fft.rfft(frame, axis=1)) ** 2 + 1e-6)
    np.testing.assert_allclose(s[:, :, 3].numpy(), want, atol=1e-9)
    assert spectro.log_spectrogram(x[:, None]).shape == spectro.log_spectrogram(x).shape


def test_bad_inputs_name_the_parameter():
    spec = torch.zeros(2, 5, 6)
    with pytest.raises(ValueError, match=r"freq_mask_param must be <= 5"):
        spectro.spec_augment(spec, freq_mask_param=6, time_mask_param=1)
    with pytest.raises(ValueError, match=r"time_mask_param must be >= 0"):
        spectro.spec_augment(spec, freq_mask_param=1, time_mask_param=-1)
    with pytest.raises(ValueError, match=r"spec must have 3 dimensions, got shape \(5, 6\)"):
        spectro.spec_augment(spec[0], freq_mask_param=1, time_mask_param=1)
    with pytest.raises(ValueError, match=r"spec is empty"):
        spectro.spec_augment(spec[:0], freq_mask_param=1, time_mask_param=1)
    with pytest.raises(ValueError, match=r"spec contains NaN"):
        spectro.spec_augment(spec.index_fill(1, torch.tensor([2]), float("nan")), freq_mask_param=1, time_mask_param=1)
    with pytest.raises(TypeError, match=r"spec must be a floating-point tensor"):
        spectro.spec_augment(torch.zeros(2, 5, 6, dtype=torch.long), freq_mask_param=1, time_mask_param=1)
    with pytest.raises(TypeError, match=r"iid_masks must be"):
        spectro.spec_augment(torch.zeros(2, 5, 6), freq_mask_param=1, time_mask_param=1, iid_masks="yes")
    with pytest.raises(ValueError, match=r"x must be \[B, L\] or \[B, 1, L\] \(one channel\)"):
        spectro.log_spectrogram(torch.zeros(2, 3, 50))
    with pytest.raises(ValueError, match=r"x has 10 samples; reflect padding needs more than n_fft // 2 = 16"):
        spectro.log_spectrogram(torch.zeros(2, 10))


# ---------------------------------------------------------------------------------------------
# Time warp
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=seeds, b=st.integers(1, 5), f=st.integers(1, 6), t=st.integers(3, 24), iid=st.booleans(), data=st.data())
def test_time_warp_equals_reference_on_the_same_draws(seed, b, f, t, iid, data):
    w = data.draw(st.integers(0, (t - 3) // 2))
    spec = torch.randn(b, f, t, generator=make_generator(seed + 1), dtype=torch.float64)
    fast = spectro.time_warp(spec, time_warp_param=w, iid=iid, generator=make_generator(seed))
    u = uniform((2, b if iid else 1), generator=make_generator(seed)).expand(-1, b)
    want = ref.time_warp(spec, u[0], u[1], w) if w else spec
    torch.testing.assert_close(fast, want, atol=1e-12, rtol=0)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, b=st.integers(1, 4), t=st.integers(9, 20), data=st.data())
def test_spec_augment_with_warp_is_reference_warp_then_masks(seed, b, t, data):
    """Park et al.'s order: warp first, then frequency masks, then time masks; the warp's draws come first."""
    w, fp, tp = data.draw(st.integers(1, (t - 3) // 2)), data.draw(st.integers(0, 5)), data.draw(st.integers(0, t))
    spec = torch.randn(b, 5, t, generator=make_generator(seed + 1), dtype=torch.float64)
    fast = spectro.spec_augment(
        spec, freq_mask_param=fp, time_mask_param=tp, time_warp_param=w, generator=make_generator(seed)
    )
    g = make_generator(seed)
    u_warp, u_masks = uniform((2, b), generator=g), uniform((2, 2, b), generator=g)
    want = ref.spec_augment(ref.time_warp(spec, u_warp[0], u_warp[1], w), u_masks, fp, tp, 1, 1)
    torch.testing.assert_close(fast, want, atol=1e-12, rtol=0)


def test_time_warp_keeps_the_ends_moves_the_centre_and_stays_in_range():
    t = 20
    ramp = torch.arange(t, dtype=torch.float64).expand(64, 3, t)  # value = input time
    out = spectro.time_warp(ramp, time_warp_param=4, generator=make_generator(0))
    assert torch.equal(out[..., 0], ramp[..., 0]) and torch.equal(out[..., -1], ramp[..., -1])
    assert bool((out.diff(dim=2) > 0).all())  # a monotone map: frames keep their order
    assert float(out.min()) >= 0 and float(out.max()) <= t - 1
    shift = (out[:, 0] - ramp[:, 0]).abs().amax(1)  # how far each spectrogram's time map moved a frame
    assert float(shift.max()) <= 4 + 1e-9 and float(shift.min()) < float(shift.max())  # per-sample warps
    same = spectro.time_warp(ramp, time_warp_param=4, iid=False, generator=make_generator(0))
    assert all(torch.equal(same[0], same[i]) for i in range(64))  # ESPnet's equal-length batch: one warp


def test_time_warp_zero_is_an_untouched_copy_and_draws_nothing():
    spec = torch.randn(2, 4, 9)
    g = make_generator(5)
    out = spectro.time_warp(spec, time_warp_param=0, generator=g)
    assert torch.equal(out, spec) and out.data_ptr() != spec.data_ptr()
    assert torch.equal(g.get_state(), make_generator(5).get_state())
    masks_only = spectro.spec_augment(spec, freq_mask_param=2, time_mask_param=2, generator=make_generator(1))
    explicit = spectro.spec_augment(
        spec, freq_mask_param=2, time_mask_param=2, time_warp_param=0, generator=make_generator(1)
    )
    assert torch.equal(masks_only, explicit)


def test_time_warp_keeps_dtype_device_and_input():
    spec = torch.randn(3, 4, 12, dtype=torch.float32)
    spec0 = spec.clone()
    out = spectro.time_warp(spec, time_warp_param=3, generator=make_generator(0))
    assert torch.equal(spec, spec0) and out.dtype == torch.float32 and out.device == spec.device
    again = spectro.time_warp(spec, time_warp_param=3, generator=make_generator(0))
    assert torch.equal(out, again)


def test_time_warp_bad_inputs_name_the_parameter():
    spec = torch.zeros(2, 5, 10)
    with pytest.raises(ValueError, match=r"time_warp_param must be <= \(T - 3\) // 2 = 3 for spectrograms of T = 10"):
        spectro.time_warp(spec, time_warp_param=4)
    with pytest.raises(ValueError, match=r"time_warp_param must be <= \(T - 3\) // 2 = 3"):
        spectro.spec_augment(spec, freq_mask_param=1, time_mask_param=1, time_warp_param=4)
    with pytest.raises(ValueError, match=r"time_warp_param must be >= 0"):
        spectro.time_warp(spec, time_warp_param=-1)
    with pytest.raises(TypeError, match=r"time_warp_param"):
        spectro.time_warp(spec, time_warp_param=1.5)
    with pytest.raises(TypeError, match=r"iid must be"):
        spectro.time_warp(spec, time_warp_param=1, iid="no")
    with pytest.raises(ValueError, match=r"spec contains NaN"):
        spectro.time_warp(spec.index_fill(2, torch.tensor([3]), float("nan")), time_warp_param=1)
    with pytest.raises(TypeError, match=r"spec must be a floating-point tensor"):
        spectro.time_warp(torch.zeros(2, 5, 10, dtype=torch.long), time_warp_param=1)
