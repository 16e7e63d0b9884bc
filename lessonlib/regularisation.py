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

from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_positive,
    check_tensor,
    compute_dtype,
    normal,
)

__all__ = ["ridge", "noisy_least_squares", "noise_ridge_penalty", "standardise"]


def _check_design(x: torch.Tensor, y: torch.Tensor) -> None:
    """A regression design ``x`` ``[n, d]`` (n, d >= 1) and real targets ``y`` ``[n]``, both finite."""
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
    n = check_int(n, "n", low=1)  # number of rows
    sigma = check_number(sigma, "sigma", low=0.0)
    return float(n) * sigma**2


def ridge(x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """Closed-form ridge coefficients ``w`` ``[d]`` minimising ``‖y − x w‖² + lam ‖w‖²`` (no intercept).

    Args:
        x: design ``[n, d]``, floating point (centre the columns yourself if you want an intercept).
        y: targets ``[n]``.
        lam: penalty >= 0 (0 gives ordinary least squares, which needs ``x`` of full column rank).

    Returns:
        ``w`` with the dtype and device of ``x``, solving ``(xᵀx + lam·I) w = xᵀy``. float16/bfloat16
        inputs are solved in float32 and the result cast back (CPU solvers do not exist in half).
        Equal to scikit-learn's ``Ridge(alpha=lam, fit_intercept=False)`` (tested).

    Raises:
        ValueError: ``lam = 0`` with a rank-deficient ``x`` (fewer rows than columns, or collinear
            columns): least squares then has infinitely many solutions; use ``lam > 0``.
    """
    _check_design(x, y)
    lam = check_number(lam, "lam", low=0.0)
    n, d = x.shape
    dt = compute_dtype(x.dtype)
    xc, yc = x.to(dt), y.to(dt)
    if lam == 0.0:
        rank = int(torch.linalg.matrix_rank(xc))
        if rank < d:
            why = f"it has {n} rows for {d} columns" if n < d else "its columns are linearly dependent"
            raise ValueError(
                f"lam=0 (ordinary least squares) needs x of full column rank, but x has rank {rank} < {d} "
                f"({why}); use lam > 0 or drop redundant columns"
            )
    gram = xc.T @ xc + lam * torch.eye(d, dtype=dt, device=x.device)
    return torch.linalg.solve(gram, xc.T @ yc).to(x.dtype)


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
        ``w`` ``[d]`` with the dtype and device of ``x`` (float16/bfloat16: computed in float32).
    """
    _check_design(x, y)
    sigma = check_positive(sigma, "sigma")
    copies = check_int(copies, "copies", low=1)
    check_generator(generator)
    n, d = x.shape
    if copies * n < d:
        raise ValueError(f"copies * n = {copies * n} noisy rows cannot determine {d} coefficients; use more copies")
    dt = compute_dtype(x.dtype)
    noise = sigma * normal((copies, n, d), generator=generator, device=x.device, dtype=dt)
    xn = x.to(dt).unsqueeze(0) + noise  # [copies, n, d]
    gram = torch.einsum("cni,cnj->ij", xn, xn)
    rhs = torch.einsum("cni,n->i", xn, y.to(dt))
    return torch.linalg.solve(gram, rhs).to(x.dtype)


def standardise(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns of ``x`` ``[n, d]`` to mean 0 and standard deviation 1, and ``y`` ``[n]`` centred.

    After this, a no-intercept linear model is appropriate and one noise level σ means the same
    thing for every feature. Returns new tensors (same dtype and device).
    """
    _check_design(x, y)
    sd = x.std(0, unbiased=False)
    if bool((sd == 0).any()):
        raise ValueError("x has a constant column; it cannot be standardised")
    return (x - x.mean(0)) / sd, y - y.mean()
