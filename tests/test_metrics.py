"""metrics: ECE against a reference loop, per-class accuracy against scikit-learn, NLL, consistency, edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import recall_score

from lessonlib import metrics, models
from lessonlib.utils import make_generator


def _reference_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """ECE written out one sample at a time (Guo et al. 2017, eq. 3), bins (b/M, (b+1)/M]."""
    n = len(labels)
    conf = probs.max(1)
    pred = probs.argmax(1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i in range(n) if (lo < conf[i] <= hi) or (b == 0 and conf[i] <= lo)]
        if members:
            acc = np.mean([pred[i] == labels[i] for i in members])
            avg = np.mean([conf[i] for i in members])
            total += len(members) / n * abs(acc - avg)
    return total


def _probs(n, k, seed, scale=3.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, k, generator=g, dtype=torch.float64)
    return logits.softmax(1).to(dtype), torch.randint(0, k, (n,), generator=g)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), k=st.integers(2, 6), seed=st.integers(0, 10_000), n_bins=st.integers(1, 20))
def test_ece_equals_a_reference_loop(n, k, seed, n_bins):
    p, y = _probs(n, k, seed)
    p0 = p.clone()
    got = metrics.expected_calibration_error(p, y, n_bins)
    assert got == pytest.approx(_reference_ece(p.numpy(), y.numpy(), n_bins), abs=1e-12)
    assert 0.0 <= got <= 1.0 and torch.equal(p, p0)
    bins = metrics.reliability_bins(p, y, n_bins)
    assert bins.count.sum() == n and bins.edges.size == n_bins + 1


def test_ece_known_values_and_dtypes():
    p = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = torch.tensor([0, 1, 0, 1])
    # bins of width 0.5: (0.5, 1] holds all four; accuracy 3/4, mean confidence 0.775
    assert metrics.expected_calibration_error(p, y, 2) == pytest.approx(0.025)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        assert metrics.expected_calibration_error(p.to(dtype), y, 2) == pytest.approx(0.025, abs=2e-3)


def test_ece_edges_name_the_parameter():
    p, y = _probs(10, 3, 0)
    with pytest.raises(TypeError, match="n_bins"):
        metrics.expected_calibration_error(p, y, n_bins=True)
    with pytest.raises(ValueError, match="n_bins"):
        metrics.expected_calibration_error(p, y, n_bins=0)
    with pytest.raises(ValueError, match="empty"):
        metrics.expected_calibration_error(p[:0], y[:0])
    with pytest.raises(ValueError, match="labels must hold labels in 0..2"):
        metrics.expected_calibration_error(p, y + 3)
    with pytest.raises(TypeError, match="labels"):
        metrics.expected_calibration_error(p, y.float())
    with pytest.raises(ValueError, match="softmax"):
        metrics.expected_calibration_error(p * 2, y)
    with pytest.raises(ValueError, match="probs"):
        metrics.expected_calibration_error(torch.full((2, 2), math.nan), y[:2])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 120), k=st.integers(1, 6), seed=st.integers(0, 10_000), logits=st.booleans())
def test_per_class_accuracy_equals_sklearn_recall(n, k, seed, logits):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    scores = torch.randn(n, k, generator=g)
    pred = scores if logits else scores.argmax(1)
    got = metrics.per_class_accuracy(pred, y, k).numpy()
    ref = recall_score(y.numpy(), scores.argmax(1).numpy(), labels=list(range(k)), average=None, zero_division=0)
    present = np.bincount(y.numpy(), minlength=k) > 0
    np.testing.assert_allclose(got[present], ref[present], rtol=0, atol=1e-15)
    assert np.isnan(got[~present]).all()  # the documented difference: NaN, not 0, for an absent class


def test_per_class_accuracy_edges():
    y = torch.tensor([0, 1, 1])
    with pytest.raises(TypeError, match="num_classes"):
        metrics.per_class_accuracy(y, y, True)
    with pytest.raises(ValueError, match="y must hold labels"):
        metrics.per_class_accuracy(y, y, 1)
    with pytest.raises(TypeError, match="pred"):
        metrics.per_class_accuracy(y.float(), y, 2)


def test_negative_log_likelihood_matches_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (50,), generator=g)
    ce = float(torch.nn.functional.cross_entropy(logits, y))
    assert metrics.negative_log_likelihood(logits.softmax(1), y) == pytest.approx(ce, rel=1e-12)
    hard = torch.eye(2, dtype=torch.float64)[[1, 0]]  # confidently wrong on both
    assert math.isfinite(metrics.negative_log_likelihood(hard, torch.tensor([0, 1])))


def test_prediction_consistency_edges_and_invariance():
    model = models.make_model("cnn2d", 0, width=4)
    x = torch.rand(16, 1, 8, 8, generator=make_generator(0))
    assert metrics.prediction_consistency(model, x, lambda b: b.clone()) == 1.0
    with pytest.raises(TypeError, match="generator"):
        metrics.prediction_consistency(model, x, lambda b, generator=None: b, generator=3)
    with pytest.raises(ValueError, match="x is empty"):
        metrics.prediction_consistency(model, x[:0], lambda b: b)
    with pytest.raises(TypeError, match="repeats"):
        metrics.prediction_consistency(model, x, lambda b: b, repeats=1.0)
