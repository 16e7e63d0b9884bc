"""Notebook 12's exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import pytest
import torch

from lessonlib import reference, volumes
from lessonlib.exercises import nb12


def test_four_exercises_registered():
    assert sorted(nb12.EX.exercises) == [1, 2, 3, 4]


def test_lung_window_answer_is_the_library_s():
    hu = torch.tensor(1074.0) * 1.0 - 1024.0
    assert float(volumes.ct_window(hu, "lung")) == pytest.approx(nb12.EX[1].solution)
    assert nb12.check_lung_window(nb12.EX[1].solution).outcome == "PASS"
    fb = nb12.check_lung_window(0.525)
    assert fb.outcome == "TRY AGAIN" and "soft-tissue window" in fb.message
    assert nb12.check_lung_window("about one").outcome == "TRY AGAIN"


def test_resampled_shape_is_what_resample_returns():
    x = torch.zeros(1, 1, 60, 512, 512)
    out = volumes.resample(x, (5.0, 0.7, 0.7), 1.5)
    assert tuple(out.shape[2:]) == tuple(nb12.EX[2].solution)
    fb = nb12.check_resampled_shape((238, 238, 200))
    assert fb.outcome == "TRY AGAIN" and "order" in fb.message and "238" not in fb.message
    assert "round down" in nb12.check_resampled_shape((200, 239, 239)).message


def test_label_transforms_are_the_spatial_functions():
    # the options the checker calls spatial are exactly those whose lessonlib function takes a label map
    takes_label = {
        "random 3-D rotation and scaling": volumes.random_affine_3d,
        "elastic deformation": volumes.random_elastic_3d,
        "left-right flip": volumes.random_flip_3d,
    }
    for name, fn in takes_label.items():
        assert name in nb12.EX[3].solution and "label" in fn.__code__.co_varnames
    for name, fn in {"bias field": volumes.bias_field, "ghosting in k-space": volumes.ghosting}.items():
        assert name not in nb12.EX[3].solution and "label" not in fn.__code__.co_varnames
    fb = nb12.check_label_transforms({"left-right flip"})
    assert fb.outcome == "TRY AGAIN" and "missing" in fb.message
    for option in nb12.EX[3].solution - {"left-right flip"}:
        assert option not in fb.message


def test_truncate_w_solution_keeps_exactly_the_central_band_along_w():
    x = torch.rand(1, 1, 4, 4, 32, generator=torch.Generator().manual_seed(0))
    shift = lambda v: torch.fft.fftshift(torch.fft.fftn(v.double(), dim=(-3, -2, -1)), dim=(-3, -2, -1))  # noqa: E731
    k_out, k_in = shift(nb12.EX[4].solution(x, 0.5)), shift(x)
    f = (torch.arange(32) - 16).abs()
    assert k_out[..., f > 8].abs().max() < 1e-6 * k_in.abs().max()  # float32 rounding only
    torch.testing.assert_close(k_out[..., f <= 8], k_in[..., f <= 8], atol=1e-4, rtol=1e-5)
    # and truncating every axis (the reference) is a recorded mistake
    assert nb12.check_truncate_w(lambda v, k: reference.volumes.gibbs(v[0], k)[None]).outcome == "TRY AGAIN"


def test_truncate_w_learner_errors_are_reported_as_theirs():
    def broken(volume, keep):
        return volume / undefined_name  # noqa: F821

    def forgot_return(volume, keep):
        volume * keep

    assert nb12.check_truncate_w(broken).outcome == "ERROR IN YOUR CODE"
    assert nb12.check_truncate_w(forgot_return).outcome == "RETURNED NONE"
    assert nb12.check_truncate_w(lambda v, k: v.numpy()).outcome == "TRY AGAIN"
