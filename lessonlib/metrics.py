"""Metrics of a classifier's predictions: calibration (ECE and its bins), NLL, per-class accuracy, consistency.

* ``reliability_bins(probs, labels, n_bins)`` — the equal-width confidence bins behind both
  ``expected_calibration_error`` and ``plotting.plot_reliability_diagram`` (one definition, so the
  figure always shows the number the notebook prints).
* ``expected_calibration_error``, ``negative_log_likelihood``, ``per_class_accuracy`` work on tensors.
* ``prediction_consistency(model, x, transform)`` measures how often a transform leaves the predicted
  class unchanged.
* ``dice_score(pred, target, num_classes=None)`` — the overlap of segmentation masks (binary, or per class
  of a label map), the course's one Dice (taught in notebooks 11 and 12).

Imports ``lessonlib.utils`` and ``lessonlib.models`` (to run a model) only.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lessonlib.models import predict_logits
from lessonlib.utils import check_generator, check_int, check_labels, check_tensor

__all__ = [
    "ReliabilityBins",
    "reliability_bins",
    "expected_calibration_error",
    "negative_log_likelihood",
    "per_class_accuracy",
    "prediction_consistency",
    "dice_score",
]


def _check_probs_labels(probs: object, labels: object) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor(probs, "probs", ndim=2, floating=True, finite=True, nonempty=True)
    check_labels(labels, "labels", n=probs.shape[0], num_classes=probs.shape[1], rows_of="probs")
    p = probs.detach().to(torch.float64)
    # rows of a float16/bfloat16 softmax sum to 1 only to a few ulps of their dtype
    atol = max(1e-3, 2 * torch.finfo(probs.dtype).eps * p.shape[1])
    if bool((p < 0).any()) or not torch.allclose(p.sum(1), torch.ones(1, dtype=p.dtype, device=p.device), atol=atol):
        raise ValueError("probs must be non-negative with rows summing to 1 (apply softmax to logits first)")
    return p, labels.detach().to(p.device).long()


@dataclass(frozen=True)
class ReliabilityBins:
    """Top-label confidence bins: bin b holds the samples whose confidence lies in ``(edges[b], edges[b+1]]``.

    All arrays are float64 numpy of length ``n_bins`` (``edges`` has ``n_bins + 1``): ``count``
    samples per bin, their mean ``confidence`` and their ``accuracy`` (NaN in an empty bin). ``ece``
    is Σ_b (|B_b| / N) · |accuracy(B_b) − confidence(B_b)| over the non-empty bins.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float

    @property
    def centres(self) -> np.ndarray:
        """Bin centres ``[n_bins]``."""
        return (self.edges[:-1] + self.edges[1:]) / 2


def reliability_bins(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> ReliabilityBins:
    """Equal-width top-label confidence bins of ``probs`` ``[N, K]`` against ``labels`` ``[N]``.

    Sample i falls in bin b (0-based) when its confidence ``max_k p_ik`` lies in
    ``(edges[b], edges[b+1]]`` with ``edges = linspace(0, 1, n_bins + 1)`` (a confidence of 1 lands
    in the last bin). Computed in float64 on the inputs' device, returned as numpy.

    Raises:
        TypeError/ValueError: probs not a finite ``[N, K]`` float tensor with rows summing to 1, labels
            not integers in ``0..K-1``, N = 0, or ``n_bins`` not an integer >= 1.
    """
    p, y = _check_probs_labels(probs, labels)
    n_bins = check_int(n_bins, "n_bins", low=1)
    conf, pred = p.max(1)
    correct = (pred == y).to(torch.float64)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64, device=p.device)
    which = torch.clamp(torch.bucketize(conf, edges, right=False) - 1, 0, n_bins - 1)
    count = torch.zeros(n_bins, dtype=torch.float64, device=p.device).index_add_(0, which, torch.ones_like(conf))
    sum_conf = torch.zeros_like(count).index_add_(0, which, conf)
    sum_acc = torch.zeros_like(count).index_add_(0, which, correct)
    safe = count.clamp_min(1)
    nan = torch.full_like(count, math.nan)
    return ReliabilityBins(
        edges=edges.cpu().numpy(),
        count=count.cpu().numpy(),
        confidence=torch.where(count > 0, sum_conf / safe, nan).cpu().numpy(),
        accuracy=torch.where(count > 0, sum_acc / safe, nan).cpu().numpy(),
        ece=float((sum_acc - sum_conf).abs().sum() / conf.shape[0]),
    )


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """Top-label expected calibration error with ``n_bins`` equal-width confidence bins.

    ECE = Σ_b (|B_b| / N) · |accuracy(B_b) − mean confidence(B_b)|, with the bins of
    ``reliability_bins`` (confidence in ((b−1)/n_bins, b/n_bins]). Empty bins contribute nothing.

    Args:
        probs: ``[N, K]`` probabilities (rows sum to 1), N >= 1.
        labels: ``[N]`` integer labels in ``0..K-1``.
        n_bins: number of bins (an integer >= 1).

    Returns:
        ECE as a float in [0, 1].
    """
    return reliability_bins(probs, labels, n_bins).ece


def negative_log_likelihood(probs: torch.Tensor, labels: torch.Tensor, *, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` ``[N]`` under ``probs`` ``[N, K]``.

    ``−(1/N) Σ_i log max(p_{i, y_i}, eps)``: the clamp keeps one confidently wrong sample from making
    the mean infinite. For logits prefer ``F.cross_entropy``, which is exact in log space.
    """
    p, y = _check_probs_labels(probs, labels)
    picked = p.gather(1, y[:, None]).squeeze(1)
    return float(-picked.clamp_min(eps).log().mean())


def per_class_accuracy(pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Accuracy of each class (its recall), float64 ``[num_classes]`` on the CPU; NaN for a class absent from ``y``.

    Equal to scikit-learn's ``recall_score(y, pred, labels=range(K), average=None)`` wherever a class
    is present (tested); scikit-learn reports 0 with a warning for an absent class, we report NaN so
    that an average over classes can skip it (``np.nanmean``).

    Args:
        pred: predicted labels ``[N]`` (integers) or logits/probabilities ``[N, K]`` (argmax is taken).
        y: true labels ``[N]``, integers in ``0..num_classes-1``.
        num_classes: K (an integer >= 1).
    """
    check_tensor(pred, "pred", ndim=(1, 2))
    num_classes = check_int(num_classes, "num_classes", low=1)
    if pred.ndim == 1 and pred.is_floating_point():
        raise TypeError(f"pred [N] must hold integer labels (or pass logits [N, K]), got dtype {pred.dtype}")
    check_labels(y, "y", n=pred.shape[0], num_classes=num_classes, rows_of="pred")
    p = pred.argmax(1) if pred.ndim == 2 else pred
    yc, pc = y.cpu().long(), p.cpu().long()
    total = torch.bincount(yc, minlength=num_classes).double()
    right = torch.bincount(yc[pc == yc], minlength=num_classes).double()
    return torch.where(total > 0, right / total.clamp_min(1), torch.full_like(total, float("nan")))


@torch.inference_mode()
def prediction_consistency(
    model: nn.Module,
    x: torch.Tensor,
    transform: Callable[..., torch.Tensor],
    *,
    generator: torch.Generator | None = None,
    repeats: int = 1,
) -> float:
    """Fraction of inputs whose predicted class is unchanged by ``transform`` (an invariance measure).

    ``transform(x, generator=generator)`` (or ``transform(x)`` when its signature has no ``generator``
    parameter) must return a batch of the same shape; with ``repeats > 1`` the fraction is averaged
    over that many random draws. 1.0 means perfectly invariant predictions; it says nothing about
    whether they are correct.

    Args:
        model: the classifier; run with ``models.predict_logits`` (eval mode, restored after).
        x: inputs ``[N, ...]``, N >= 1, floating point; not modified.
        transform: the transformation to test.
        generator: passed to a transform that takes one.
        repeats: number of draws to average (an integer >= 1).

    Returns:
        A float in [0, 1].
    """
    check_tensor(x, "x", floating=True, nonempty=True)
    if not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    check_generator(generator)
    repeats = check_int(repeats, "repeats", low=1)
    try:
        takes_generator = "generator" in inspect.signature(transform).parameters
    except (TypeError, ValueError):  # builtins without a signature
        takes_generator = False
    base = predict_logits(model, x).argmax(1)
    agree = 0.0
    for _ in range(repeats):
        xt = transform(x, generator=generator) if takes_generator else transform(x)
        if xt.shape != x.shape:
            raise ValueError(f"transform changed the shape from {tuple(x.shape)} to {tuple(xt.shape)}")
        agree += float((predict_logits(model, xt).argmax(1) == base).double().mean())
    return agree / repeats


def dice_score(pred: torch.Tensor, target: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Dice overlap ``2 |P ∩ T| / (|P| + |T|)`` per sample (and class), 1 where both masks are empty.

    The same result as ``reference.dense.dice`` for each sample (binary masks), or as
    ``reference.volumes.dice`` for each sample and class (label maps); adds batching and validation.
    Taught in notebook 11 (2-D masks) and notebook 12 (3-D label maps).

    Args:
        pred, target: the same shape ``[B, ...]`` (any number of spatial dimensions). With
            ``num_classes=None``: binary masks (bool or 0/1 integers). With ``num_classes=K``: integer
            label maps with values in ``0..K-1``.
        num_classes: ``None`` for binary masks, else K >= 1.

    Returns:
        float64 ``[B]`` (binary) or ``[B, K]`` (label maps), on the inputs' device.
    """
    for name, t in (("pred", pred), ("target", target)):
        check_tensor(t, name, nonempty=True)
        if t.ndim < 2 or t.is_floating_point() or t.is_complex():
            want = "integer label maps [B, ...]" if num_classes is not None else "binary masks [B, ...] (bool or 0/1)"
            raise TypeError(f"{name} must be {want}, got dtype {t.dtype}, shape {tuple(t.shape)}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if num_classes is None:
        for name, t in (("pred", pred), ("target", target)):
            if not bool(((t == 0) | (t == 1)).all()):
                lo, hi = int(t.min()), int(t.max())
                raise ValueError(f"{name} must be a binary mask (0/1) when num_classes is None, got {lo}..{hi}")
        p, t = pred.flatten(1).double(), target.flatten(1).double()
    else:
        k = check_int(num_classes, "num_classes", low=1)
        if pred.dtype == torch.bool or target.dtype == torch.bool:
            raise TypeError(f"pred and target must be integer label maps when num_classes is given, got {pred.dtype}")
        for name, t in (("pred", pred), ("target", target)):
            lo, hi = int(t.min()), int(t.max())
            if lo < 0 or hi >= k:
                raise ValueError(f"{name} must hold classes in 0..{k - 1}, got {lo}..{hi}")
        p = torch.nn.functional.one_hot(pred.flatten(1), k).double()
        t = torch.nn.functional.one_hot(target.flatten(1), k).double()
    inter, total = (p * t).sum(1), p.sum(1) + t.sum(1)
    return torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.ones_like(total))
