"""Temperature scaling: optimal against a brute-force grid, argmax-preserving, input-safe, validated."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import calibration


def _logits(seed: int, n: int = 400, k: int = 5, scale: float = 3.0, noise: float = 0.3):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g) * scale
    # make the labels only partly predictable, so the optimum T is interior
    flip = torch.rand(n, generator=g) < noise
    labels = torch.where(flip, labels, logits.argmax(1))
    return logits, labels


def _grid_optimum(logits: torch.Tensor, labels: torch.Tensor) -> float:
    grid = np.exp(np.linspace(-4, 4, 8001))
    z = logits.to(torch.float64)
    losses = [float(F.cross_entropy(z / t, labels)) for t in grid]
    return float(grid[int(np.argmin(losses))])


@pytest.mark.parametrize(("scale", "noise"), [(3.0, 0.3), (8.0, 0.2), (0.3, 0.05), (1.0, 0.5)])
def test_matches_brute_force_grid(scale, noise):
    logits, labels = _logits(0, scale=scale, noise=noise)
    t = calibration.fit_temperature(logits, labels)
    t_grid = _grid_optimum(logits, labels)
    # the grid step in log T is 0.001, so the two agree to about 0.1%
    assert math.isclose(t, t_grid, rel_tol=2e-3)
    # and the fitted T is at least as good as the grid's best
    assert calibration.nll(logits, labels, t) <= calibration.nll(logits, labels, t_grid) + 1e-9


def test_over_confident_logits_get_t_above_one_and_under_confident_below():
    logits, labels = _logits(1, scale=3.0, noise=0.3)
    t = calibration.fit_temperature(logits, labels)
    assert calibration.fit_temperature(logits * 4, labels) == pytest.approx(4 * t, rel=1e-4)
    assert calibration.fit_temperature(logits / 4, labels) == pytest.approx(t / 4, rel=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.floats(0.05, 20.0))
def test_argmax_invariant(seed, t):
    logits, _ = _logits(seed, n=50)
    scaled = calibration.apply_temperature(logits, t)
    assert torch.equal(scaled.argmax(1), logits.argmax(1))
    assert scaled.shape == logits.shape and scaled.dtype == logits.dtype


def test_fitting_lowers_nll_and_keeps_accuracy_and_inputs():
    logits, labels = _logits(2, scale=6.0, noise=0.3)
    before = logits.clone()
    t, scaled = calibration.temperature_scale(logits, labels, logits)
    assert torch.equal(logits, before)  # not modified in place
    assert torch.equal(scaled.argmax(1), logits.argmax(1))
    assert calibration.nll(scaled, labels) < calibration.nll(logits, labels)
    assert float(F.cross_entropy(scaled.double(), labels)) == pytest.approx(calibration.nll(logits, labels, t))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_dtype_kept(dtype):
    logits, labels = _logits(3)
    t = calibration.fit_temperature(logits.to(dtype), labels)
    assert isinstance(t, float) and t > 0
    assert calibration.apply_temperature(logits.to(dtype), t).dtype == dtype


def test_bad_inputs_name_the_parameter():
    logits, labels = _logits(4, n=20)
    with pytest.raises(TypeError, match="logits"):
        calibration.fit_temperature(logits.long(), labels)
    with pytest.raises(TypeError, match="labels"):
        calibration.fit_temperature(logits, labels.float())
    with pytest.raises(ValueError, match="rows"):
        calibration.fit_temperature(logits, labels[:-1])
    with pytest.raises(ValueError, match="labels"):
        calibration.fit_temperature(logits, labels + 10)
    with pytest.raises(ValueError, match="logits"):
        calibration.fit_temperature(logits.masked_fill(logits > 2, float("nan")), labels)
    with pytest.raises(ValueError, match="temperature"):
        calibration.apply_temperature(logits, 0.0)
    with pytest.raises(TypeError, match="temperature"):
        calibration.apply_temperature(logits, True)
    with pytest.raises(ValueError, match="max_iter"):
        calibration.fit_temperature(logits, labels, max_iter=0)
    with pytest.raises(ValueError, match="classes"):
        calibration.temperature_scale(logits, labels, logits[:, :3])


def test_inference_tensors_and_inference_mode_are_fine():
    logits, labels = _logits(5)
    expected = calibration.fit_temperature(logits, labels)
    with torch.inference_mode():
        frozen = logits.double() * 1.0  # an inference tensor, float64 (no dtype copy to hide behind)
        inside = calibration.fit_temperature(frozen, labels)
    assert calibration.fit_temperature(frozen, labels) == pytest.approx(expected, rel=1e-6)
    assert inside == pytest.approx(expected, rel=1e-6)
