"""Reference temperature scaling (see ``lessonlib.reference``): one scalar, found by a plain 1-D search.
The oracle for ``lessonlib.calibration`` (``tests/test_calibration.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["nll", "fit_temperature", "apply_temperature"]


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` under ``softmax(logits / T)`` (Guo et al., 2017,
    *On calibration of modern neural networks*): ``NLL(T) = −(1/N) Σ_n log softmax(z_n / T)[y_n]``.

    ``logits``: ``[N, K]``; ``labels``: ``[N]`` integers in ``0..K−1``; ``temperature`` T > 0. In float64.
    """
    assert logits.ndim == 2 and len(logits) == len(labels) > 0 and temperature > 0
    return float(F.cross_entropy(logits.double() / temperature, labels.long()))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, low: float = -5.0, high: float = 5.0) -> float:
    """Temperature scaling (Guo et al., 2017, *On calibration of modern neural networks*): the T > 0 that
    minimises ``NLL(T)`` (``nll``) on validation logits, ``T* = argmin_T −(1/N) Σ_n log softmax(z_n/T)[y_n]``.

    ``NLL`` is convex in 1/T (a log-sum-exp of linear functions of 1/T), so it has one minimum along
    ``s = log T``: a golden-section search on ``s ∈ [low, high]`` finds it; 120 steps shrink the
    interval by 0.618^120 ≈ 1e-25. Returns T as a float in ``[e^low, e^high]``.
    """
    assert logits.ndim == 2 and len(logits) == len(labels) > 0 and low < high
    golden = (math.sqrt(5) - 1) / 2
    a, b = low, high
    for _ in range(120):
        c, d = b - golden * (b - a), a + golden * (b - a)
        if nll(logits, labels, math.exp(c)) <= nll(logits, labels, math.exp(d)):
            b = d  # the minimum is not right of d
        else:
            a = c  # the minimum is not left of c
    return math.exp((a + b) / 2)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Scaled logits ``z / T`` (Guo et al., 2017, *On calibration of modern neural networks*); the
    calibrated probabilities are ``softmax(z / T)``. Dividing a row by one T > 0 keeps its arg-max, so
    accuracy is unchanged. ``logits``: ``[..., K]`` floating; returns a new tensor of the same shape.
    """
    assert logits.is_floating_point() and temperature > 0
    return logits / temperature
