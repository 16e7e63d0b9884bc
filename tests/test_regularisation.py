"""Tests for lessonlib.regularisation: the noise = ridge identity, with sklearn as the ridge oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from lessonlib import data, regularisation
from lessonlib.utils import make_generator


def _problem(seed: int, n: int = 60, d: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = make_generator(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.randn(d, generator=g, dtype=torch.float64) + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.0, 500.0), n=st.integers(5, 40), d=st.integers(1, 5))
def test_ridge_matches_sklearn(seed, lam, n, d):
    x, y = _problem(seed, n=max(n, d + 1), d=d)
    ours = regularisation.ridge(x, y, lam)
    ref = Ridge(alpha=lam if lam > 0 else 1e-12, fit_intercept=False, solver="cholesky").fit(x.numpy(), y.numpy())
    np.testing.assert_allclose(ours.numpy(), ref.coef_, rtol=1e-6, atol=1e-8)


def test_noise_ridge_penalty_value_and_bad_inputs():
    assert regularisation.noise_ridge_penalty(250, 0.4) == pytest.approx(40.0)
    assert regularisation.noise_ridge_penalty(10, 0) == 0.0
    with pytest.raises(ValueError, match="n must be"):
        regularisation.noise_ridge_penalty(0, 0.1)
    with pytest.raises(ValueError, match="sigma must be"):
        regularisation.noise_ridge_penalty(10, -0.1)


def test_noisy_least_squares_converges_to_ridge_with_n_sigma_squared():
    """The identity as a unit test: many noisy copies give the ridge solution with λ = nσ² (1% tolerance)."""
    x, y = _problem(0, n=80, d=5)
    sigma = 0.7
    w_ridge = regularisation.ridge(x, y, regularisation.noise_ridge_penalty(80, sigma))
    w_noisy = regularisation.noisy_least_squares(x, y, sigma, copies=4000, generator=make_generator(1))
    assert float((w_noisy - w_ridge).norm() / w_ridge.norm()) < 0.01
    # ...and not a different penalty: λ = σ² (mean loss) or λ = nσ (forgot the square) are far off
    for wrong in (sigma**2, 80 * sigma):
        w_wrong = regularisation.ridge(x, y, wrong)
        assert float((w_noisy - w_wrong).norm() / w_ridge.norm()) > 0.05


def test_more_copies_reduce_the_monte_carlo_error_on_real_data():
    t = data.load_diabetes()
    x, y = regularisation.standardise(t.x, t.y)
    w_ridge = regularisation.ridge(x, y, regularisation.noise_ridge_penalty(x.shape[0], 0.5))

    def err(copies: int) -> float:
        errs = []
        for s in range(3):
            w = regularisation.noisy_least_squares(x, y, 0.5, copies=copies, generator=make_generator(s))
            errs.append(float((w - w_ridge).norm() / w_ridge.norm()))
        return float(np.mean(errs))

    assert err(1000) < err(20)
    assert err(1000) < 0.02


def test_noisy_least_squares_is_reproducible_and_leaves_inputs_alone():
    x, y = _problem(3)
    x0, y0 = x.clone(), y.clone()
    a = regularisation.noisy_least_squares(x, y, 0.5, copies=50, generator=make_generator(9))
    b = regularisation.noisy_least_squares(x, y, 0.5, copies=50, generator=make_generator(9))
    assert torch.equal(a, b)
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert a.dtype == x.dtype and a.shape == (x.shape[1],)


def test_float32_inputs_keep_dtype():
    x, y = _problem(4)
    w = regularisation.ridge(x.float(), y.float(), 1.0)
    assert w.dtype == torch.float32
    np.testing.assert_allclose(w.numpy(), regularisation.ridge(x, y, 1.0).numpy(), rtol=1e-4, atol=1e-5)


def test_standardise():
    t = data.load_diabetes()
    xs, yc = regularisation.standardise(t.x, t.y)
    np.testing.assert_allclose(xs.mean(0).numpy(), 0, atol=1e-10)
    np.testing.assert_allclose(xs.std(0, unbiased=False).numpy(), 1, atol=1e-10)
    assert abs(float(yc.mean())) < 1e-9
    with pytest.raises(ValueError, match="constant column"):
        regularisation.standardise(torch.ones(5, 2, dtype=torch.float64), torch.zeros(5, dtype=torch.float64))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x, y: regularisation.ridge(x[:, 0], y, 1.0), "x must have 2 dimensions"),
        (lambda x, y: regularisation.ridge(x, y[:-1], 1.0), "rows but y has"),
        (lambda x, y: regularisation.ridge(x, y, -1.0), "lam must be"),
        (lambda x, y: regularisation.ridge(x.long(), y, 1.0), "floating-point"),
        (lambda x, y: regularisation.noisy_least_squares(x, y, 0.0), "sigma must be"),
        (lambda x, y: regularisation.noisy_least_squares(x, y, 0.1, copies=0), "copies must be"),
        (lambda x, y: regularisation.ridge(x * float("nan"), y, 1.0), "NaN"),
    ],
)
def test_bad_inputs_are_named(call, match):
    x, y = _problem(5)
    with pytest.raises((ValueError, TypeError), match=match):
        call(x, y)


# ----------------------------------------------------------------------------------------------
# Issue 17 items 10 and 13: half precision and rank-deficient designs.
# ----------------------------------------------------------------------------------------------


def test_ridge_lam0_refuses_rank_deficient_designs():
    x, y = _problem(0, n=20, d=3)
    collinear = torch.cat([x, x[:, :1] * 2], 1)
    with pytest.raises(ValueError, match="lam=0.*linearly dependent"):
        regularisation.ridge(collinear, y, 0.0)
    with pytest.raises(ValueError, match="lam=0.*2 rows for 3 columns"):
        regularisation.ridge(x[:2], y[:2], 0)
    # with a penalty both are well posed, and equal scikit-learn's answer
    w = regularisation.ridge(collinear, y, 1.0)
    ref = Ridge(alpha=1.0, fit_intercept=False, solver="cholesky").fit(collinear.numpy(), y.numpy())
    np.testing.assert_allclose(w.numpy(), ref.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_wider_and_returned_in_the_callers_dtype(dtype):
    x, y = _problem(1, n=50, d=3)
    xh, yh = x.to(dtype), y.to(dtype)
    w = regularisation.ridge(xh, yh, 2.0)
    ref = regularisation.ridge(xh.double(), yh.double(), 2.0)
    assert w.dtype == dtype
    torch.testing.assert_close(w.double(), ref, rtol=2e-2, atol=2e-2)
    wn = regularisation.noisy_least_squares(xh, yh, 0.2, copies=20, generator=make_generator(0))
    assert wn.dtype == dtype and bool(torch.isfinite(wn).all())


def test_bad_arguments_name_the_parameter():
    x, y = _problem(2, n=10, d=3)
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="lam"):
            regularisation.ridge(x, y, bad)
    with pytest.raises(TypeError, match="lam"):
        regularisation.ridge(x, y, "1")
    with pytest.raises(TypeError, match="generator"):
        regularisation.noisy_least_squares(x, y, 0.1, generator=3)
    with pytest.raises(TypeError, match="copies"):
        regularisation.noisy_least_squares(x, y, 0.1, copies=2.0)
    with pytest.raises(ValueError, match="copies"):
        regularisation.noisy_least_squares(x[:1], y[:1], 0.1, copies=2)
    with pytest.raises(TypeError, match="sigma"):
        regularisation.noise_ridge_penalty(3, True)
