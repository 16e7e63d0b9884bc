"""Reference tabular augmentation (see ``lessonlib.reference``): noise under per-column constraints.

A table ``x`` is ``[rows, features]`` in each feature's own unit, NaN where a value is missing. The
constraints of a column are a noise level ``sigma[f]`` (0: never noised, as for binary and categorical
codes), bounds ``low[f] <= value <= high[f]`` (±inf: unbounded) and whether it holds integers. Every
random draw is an argument, so ``lessonlib.tabular.augment_tabular`` can be run on the same draws and
compared (``tests/test_tabular.py``).
"""

from __future__ import annotations

import torch

__all__ = ["constrained_noise", "feature_dropout"]


def constrained_noise(
    x: torch.Tensor, sigma: torch.Tensor, low: torch.Tensor, high: torch.Tensor, integer: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """Gaussian noise on each column, truncated to its bounds (inverse-CDF sampling, no rejection):

        x̃ = x + σ_f · Φ⁻¹(Φ(a) + u · (Φ(b) − Φ(a))),   a = (low_f − x) / σ_f,   b = (high_f − x) / σ_f,

    with ``u ~ U(0, 1)`` drawn by the caller (``[rows, features]``), so ``x̃`` is N(x, σ_f²) conditioned
    on ``low_f <= x̃ <= high_f``: no atom of values on the bound, as clamping would make. ``σ_f =
    noise_scale · std_f`` with ``std_f`` from the training rows; columns with ``σ_f = 0`` (binary,
    categorical) keep their exact values; integer columns are rounded, inside the bounds; NaN (missing)
    stays NaN. Small input noise is a regulariser: Bishop (1995), *Training with noise is equivalent to
    Tikhonov regularization*.
    """
    assert x.ndim == 2 and u.shape == x.shape and sigma.shape == low.shape == high.shape == integer.shape
    out = x.clone()
    for f in range(x.shape[1]):
        s, lo, hi = float(sigma[f]), float(low[f]), float(high[f])
        if s == 0:
            continue  # never noised
        col = x[:, f].double()
        a = torch.special.ndtr((lo - col) / s)
        b = torch.special.ndtr((hi - col) / s)
        new = (col + s * torch.special.ndtri(a + u[:, f].double() * (b - a))).clamp(lo, hi)
        if bool(integer[f]):  # round, staying inside the bounds
            new = new.round().clamp(low[f].ceil().item(), high[f].floor().item())
        out[:, f] = new.to(x.dtype)
    return out


def feature_dropout(x: torch.Tensor, drop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature dropout to *missing*: ``x̃ = NaN where drop, else x``; returns ``(x̃, missing)`` with
    ``missing = isnan(x) | drop``. Missing is not zero (0 is a real value, and an impossible age or BMI):
    the model sees the gap and an imputer with missing-indicator features handles it (Little & Rubin,
    2019, *Statistical Analysis with Missing Data*). ``drop``: bool, the shape of ``x``.
    """
    assert drop.shape == x.shape and drop.dtype == torch.bool
    missing = torch.isnan(x) | drop
    return x.masked_fill(missing, float("nan")), missing
