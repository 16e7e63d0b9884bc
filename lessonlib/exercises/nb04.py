"""Checkers for notebook 04 (Mixup)."""

from __future__ import annotations

from typing import Any

import torch

from lessonlib.exercises import Feedback, check_choice, check_function, check_tensor
from lessonlib.mixing import mixup, soft_targets, torchvision_index
from lessonlib.utils import make_generator

__all__ = ["check_soft_target_row", "check_mixup_function", "check_when_forms_differ", "LOSS_OPTIONS"]


def check_soft_target_row(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 04.1: the soft-target row for y_a = 3, y_b = 5, K = 10, λ = 0.7, label smoothing 0.1."""
    r = mixup(torch.zeros(2, 1), torch.tensor([3, 5]), lam=0.7, index=torch.tensor([1, 0]))
    expected = soft_targets(r, 10, label_smoothing=0.1)[0]
    return check_tensor(
        "04.1 soft target",
        answer,
        expected,
        atol=1e-4,
        hint="smooth each one-hot row first, (1 − s)·onehot + s/K, then mix: λ·t_a + (1 − λ)·t_b. The row sums to 1.",
        must_pass=must_pass,
    )


def _cases():
    num_classes = 5

    def data(b, seed, dtype=torch.float32):
        g = make_generator(seed)
        return torch.rand(b, 3, 4, 4, generator=g, dtype=dtype), torch.randint(0, num_classes, (b,), generator=g)

    def same_as_reference(fn, b=6, seed=0, lam=0.3, dtype=torch.float32):
        x, y = data(b, seed, dtype)
        idx = torchvision_index(b)
        ref = mixup(x, y, lam=lam, index=idx)
        out_x, out_y = fn(x, y, lam, idx, num_classes)
        if tuple(out_x.shape) != tuple(x.shape):
            return f"mixed images have shape {tuple(out_x.shape)}, expected {tuple(x.shape)}"
        if out_x.dtype != x.dtype:
            return f"mixed images came back as {out_x.dtype}; keep the input dtype {x.dtype}"
        if not torch.allclose(out_x, ref.inputs, atol=1e-5):
            return "mixed images differ from lam·x + (1 − lam)·x[index]; is lam on the right side?"
        if tuple(out_y.shape) != (b, num_classes):
            return f"soft targets have shape {tuple(out_y.shape)}, expected ({b}, {num_classes})"
        if not torch.allclose(out_y.float(), soft_targets(ref, num_classes).float(), atol=1e-5):
            return "soft targets differ from lam·onehot(y) + (1 − lam)·onehot(y[index])"
        return None

    def no_in_place(fn):
        x, y = data(4, 1)
        x0 = x.clone()
        fn(x, y, 0.4, torchvision_index(4), num_classes)
        return None if torch.equal(x, x0) else "the input batch was modified in place; work on a copy"

    return [
        ("a batch of 6 with torchvision's pairing", same_as_reference),
        (
            "λ = 0 (all partner) and λ = 1 (all self)",
            lambda fn: same_as_reference(fn, lam=0.0) or same_as_reference(fn, lam=1.0),
        ),
        ("a batch of one stays a batch", lambda fn: same_as_reference(fn, b=1, seed=2)),
        ("float64 inputs stay float64", lambda fn: same_as_reference(fn, seed=3, dtype=torch.float64)),
        ("the input is not modified", no_in_place),
    ]


def check_mixup_function(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 04.2: ``fn(x, y, lam, index, num_classes) -> (mixed_x, soft_y)`` must match ``lessonlib.mixing``."""
    return check_function("04.2 mixup for one batch", fn, _cases(), must_pass=must_pass)


LOSS_OPTIONS = {
    "plain cross-entropy": "CE is linear in the target: λ·CE(y_a) + (1 − λ)·CE(y_b) = CE(λ·t_a + (1 − λ)·t_b)",
    "cross-entropy with label_smoothing=0.1 in both forms": "smoothing is affine in the target: both stay equal",
    "BCE with pos_weight": "pos_weight multiplies y·log σ(z): still affine in y, so the forms agree",
    "per-sample λ with reduction='none', then mean": "each row is linear in its own target; the mean is the same",
    "class-weighted cross-entropy with reduction='mean'": (
        "integer targets are normalised by Σ w[y_i], soft targets by B: the two means use different denominators"
    ),
    "label smoothing in the soft-target form only": "then the two forms train towards different targets",
    "focal loss (target inside the modulating factor)": "focal loss is non-linear in the target",
    "per-sample λ with reduction='mean'": (
        "a batch mean cannot be re-weighted per sample: lessonlib raises, hand-written code silently uses one λ"
    ),
}


def check_when_forms_differ(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 04.3: for which losses does the pairs form differ from the soft-target form?"""
    expected = {
        "class-weighted cross-entropy with reduction='mean'",
        "label smoothing in the soft-target form only",
        "focal loss (target inside the modulating factor)",
        "per-sample λ with reduction='mean'",
    }
    return check_choice("04.3 when the two forms differ", answer, expected, options=LOSS_OPTIONS, must_pass=must_pass)
