"""Input noise as regularisation: Gaussian input noise in least squares equals ridge regression.

For a design ``X`` ``[n, d]``, targets ``y`` ``[n]`` and noise ``E`` with i.i.d. N(0, σ²) entries,

    E_E ‖y − (X + E) w‖² = ‖y − X w‖² + n σ² ‖w‖²,

because the cross term has mean zero and E‖E w‖² = Σ_i E (e_iᵀ w)² = n σ² ‖w‖². The minimiser of the
expected noisy loss is therefore the ridge solution with penalty λ = n σ² (no intercept, penalty on
every coefficient). ``ridge`` computes it in closed form; ``noisy_least_squares`` fits ordinary least
squares to many noisy copies of the data, whose solution converges to ``ridge(X, y, n σ²)`` as the
number of copies grows (the gap shrinks like 1/√copies).
"""

from __future__ import annotations

import torch

from lessonlib.utils import check_positive, check_tensor, normal

__all__ = ["ridge", "noisy_least_squares", "noise_ridge_penalty", "standardise"]


def _check_xy(x: torch.Tensor, y: torch.Tensor) -> None:
    check_tensor(x, "x", ndim=2, floating=True, finite=True)
    check_tensor(y, "y", ndim=1, floating=True, finite=True)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; they must match")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one row and one column, got shape {tuple(x.shape)}")


def noise_ridge_penalty(n: int, sigma: float) -> float:
    """The ridge penalty λ = n·σ² equivalent (in expectation) to N(0, σ²) noise on every input entry.

    Args:
        n: number of training rows (the loss is a *sum* over rows; for a mean loss the penalty is σ²).
        sigma: noise standard deviation, in the units of the (standardised) inputs, >= 0.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (number of rows), got {n!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0.0 <= float(sigma) < float("inf"):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    return float(n) * float(sigma) ** 2


def ridge(x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """Closed-form ridge coefficients ``w`` ``[d]`` minimising ``‖y − x w‖² + lam ‖w‖²`` (no intercept).

    Args:
        x: design ``[n, d]``, floating point (centre the columns yourself if you want an intercept).
        y: targets ``[n]``.
        lam: penalty >= 0 (0 gives ordinary least squares, which needs ``x`` of full column rank).

    Returns:
        ``w`` with the dtype and device of ``x``, solving ``(xᵀx + lam·I) w = xᵀy``.
    """
    _check_xy(x, y)
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 <= float(lam) < float("inf"):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    d = x.shape[1]
    gram = x.T @ x + float(lam) * torch.eye(d, dtype=x.dtype, device=x.device)
    return torch.linalg.solve(gram, x.T @ y.to(x.dtype))


def noisy_least_squares(
    x: torch.Tensor,
    y: torch.Tensor,
    sigma: float,
    *,
    copies: int = 200,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Ordinary least squares on ``copies`` noisy copies of ``x`` (i.i.d. N(0, σ²) on every entry).

    The loss is averaged over copies, ``(1/copies) Σ_c ‖y − (x + E_c) w‖²``, so its expectation is
    exactly the ridge objective with λ = n σ² and the result approaches ``ridge(x, y, n σ²)`` as
    ``copies`` grows. Computed from accumulated normal equations (vectorised over copies, memory
    ``copies · n · d`` numbers).

    Args:
        x: design ``[n, d]``; y: targets ``[n]``. Neither is modified.
        sigma: noise standard deviation > 0.
        copies: number of noisy copies (>= 1).
        generator: source of the noise.

    Returns:
        ``w`` ``[d]`` with the dtype and device of ``x``.
    """
    _check_xy(x, y)
    check_positive(sigma, "sigma")
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies must be a positive int, got {copies!r}")
    n, d = x.shape
    noise = float(sigma) * normal((copies, n, d), generator=generator, device=x.device, dtype=x.dtype)
    xn = x.unsqueeze(0) + noise  # [copies, n, d]
    gram = torch.einsum("cni,cnj->ij", xn, xn)
    rhs = torch.einsum("cni,n->i", xn, y.to(x.dtype))
    return torch.linalg.solve(gram, rhs)


def standardise(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns of ``x`` ``[n, d]`` to mean 0 and standard deviation 1, and ``y`` ``[n]`` centred.

    After this, a no-intercept linear model is appropriate and one noise level σ means the same
    thing for every feature. Returns new tensors (same dtype and device).
    """
    _check_xy(x, y)
    sd = x.std(0, unbiased=False)
    if bool((sd == 0).any()):
        raise ValueError("x has a constant column; it cannot be standardised")
    return (x - x.mean(0)) / sd, y - y.mean()
