"""Post-hoc calibration: temperature scaling (Guo et al., 2017).

A trained classifier's logits ``z`` are divided by one scalar ``T > 0`` fitted on a *validation*
split to minimise the negative log-likelihood. ``T > 1`` softens over-confident predictions,
``T < 1`` sharpens under-confident ones. Dividing every logit of a row by the same positive number
never changes which class is largest, so accuracy is unchanged by construction; only the confidences
move.

* ``fit_temperature(logits, labels)`` → ``T`` (a float), by L-BFGS on ``log T`` (so ``T`` stays
  positive), in float64.
* ``apply_temperature(logits, T)`` → ``logits / T`` (a new tensor, same dtype and device).
* ``temperature_scale(val_logits, val_labels, test_logits)`` → ``(T, scaled test logits)``: the
  usual "fit on validation, apply to test" in one call.

Fit ``T`` on data the model was not trained on and that is not the test set: fitted on the training
set it learns the training set's (over-)confidence, fitted on the test set it leaks the answer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.utils import check_int, check_positive, check_tensor

__all__ = ["fit_temperature", "apply_temperature", "temperature_scale", "nll"]

# log T is kept in this box during the fit: T between about 0.007 and 150 covers every sensible
# model; a model whose optimum is outside is degenerate (constant logits, or perfectly separated).
_LOG_T_BOUND = 5.0


def _check_logits_labels(logits: torch.Tensor, labels: torch.Tensor) -> None:
    check_tensor(logits, "logits", ndim=2, floating=True, finite=True)
    check_tensor(labels, "labels", ndim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integer class indices, got dtype {labels.dtype}")
    if logits.shape[0] != labels.shape[0]:
        raise ValueError(f"logits has {logits.shape[0]} rows but labels has {labels.shape[0]}; they must match")
    if logits.shape[0] == 0:
        raise ValueError("logits is empty; a temperature needs at least one validation example")
    if logits.shape[1] < 2:
        raise ValueError(f"logits must have at least 2 classes (columns), got {logits.shape[1]}")
    if bool((labels < 0).any()) or bool((labels >= logits.shape[1]).any()):
        raise ValueError(f"labels must lie in 0..{logits.shape[1] - 1} (one per logit column)")


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` ``[N]`` under ``softmax(logits / temperature)``.

    ``logits``: ``[N, K]`` floating; computed in float64. ``temperature`` > 0.
    """
    _check_logits_labels(logits, labels)
    t = check_positive(temperature, "temperature")
    z = logits.detach().to(torch.float64) / t
    return float(F.cross_entropy(z, labels.to(z.device)))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, *, max_iter: int = 100) -> float:
    """The temperature ``T > 0`` that minimises the mean NLL of ``labels`` under ``softmax(logits / T)``.

    Args:
        logits: ``[N, K]`` validation logits (K >= 2), floating, finite. Not modified; detached.
        labels: ``[N]`` integer labels in ``0..K-1``.
        max_iter: L-BFGS iterations (>= 1); the problem is one-dimensional and smooth, so a few
            dozen are plenty.

    Returns:
        ``T`` as a Python float, within ``[e^-5, e^5]`` (the search box on ``log T``). The NLL is a
        smooth function of ``log T`` with a single minimum for non-degenerate logits, so this is the
        global optimum up to about 1e-6 relative (``tests/test_calibration.py`` checks it against a
        brute-force grid).

    Fitting is done in float64 on the logits' device, with L-BFGS (strong-Wolfe line search) on
    ``log T``, which keeps ``T`` positive without a constraint.
    """
    _check_logits_labels(logits, labels)
    max_iter = check_int(max_iter, "max_iter", low=1)
    # Logits from ``predict_logits`` are inference tensors, which autograd may not save: work on a
    # clone made with inference mode and grad mode switched on, whatever the caller's context.
    with torch.inference_mode(False), torch.enable_grad():
        z = logits.detach().to(torch.float64).clone()
        y = labels.to(z.device).clone()
        log_t = torch.zeros((), dtype=torch.float64, device=z.device, requires_grad=True)
        opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(z * torch.exp(-log_t.clamp(-_LOG_T_BOUND, _LOG_T_BOUND)), y)
            loss.backward()
            return loss

        opt.step(closure)
    value = float(log_t.detach().clamp(-_LOG_T_BOUND, _LOG_T_BOUND))
    return math.exp(value)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``logits / temperature``: a new tensor of the same shape ``[..., K]``, dtype and device.

    The argmax of every row is unchanged (division by a positive number preserves order), so
    accuracy is unchanged; probabilities are ``apply_temperature(logits, T).softmax(-1)``.
    """
    check_tensor(logits, "logits", floating=True)
    t = check_positive(temperature, "temperature")
    return logits / t


def temperature_scale(
    val_logits: torch.Tensor, val_labels: torch.Tensor, test_logits: torch.Tensor, *, max_iter: int = 100
) -> tuple[float, torch.Tensor]:
    """Fit ``T`` on ``(val_logits [N, K], val_labels [N])`` and return ``(T, test_logits [M, K] / T)``."""
    check_tensor(test_logits, "test_logits", ndim=2, floating=True)
    if test_logits.shape[1] != val_logits.shape[1]:
        raise ValueError(
            f"test_logits has {test_logits.shape[1]} classes but val_logits has {val_logits.shape[1]}; they must match"
        )
    t = fit_temperature(val_logits, val_labels, max_iter=max_iter)
    return t, apply_temperature(test_logits, t)
