"""Exercises of notebook 04 (Mixup): ``nb04.hint(k)``, ``nb04.hint(k, level=2)``, ``nb04.reveal(k)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lessonlib import reference
from lessonlib.exercises import Notebook, WrongAnswer, cases, choice, expect_tensor, vector
from lessonlib.mixing import torchvision_index
from lessonlib.utils import make_generator

__all__ = ["EX", "hint", "reveal", "check_soft_target_row", "check_mixup_function", "check_when_forms_differ"]
__all__ += ["LOSS_OPTIONS"]

EX = Notebook("04")
hint, reveal = EX.hint, EX.reveal


def _row(lam: float, s: float, k: int = 10, a: int = 3, b: int = 5) -> list[float]:
    t = [s / k] * k
    ta, tb = list(t), list(t)
    ta[a] += 1 - s
    tb[b] += 1 - s
    return [lam * u + (1 - lam) * v for u, v in zip(ta, tb, strict=True)]


_ROW = _row(0.7, 0.1)


@EX.exercise(
    1,
    "soft target",
    difficulty="medium",
    hints=(
        "Build each sample's smoothed one-hot row first, then mix the two rows with the same λ as the images.",
        "A smoothed row is (1 − s)·onehot + s/K (every class gets s/K, the true class 1 − s more); the mixed "
        "row is λ·t_a + (1 − λ)·t_b and sums to 1.",
    ),
    solution=_ROW,
    explanation=(
        "t_a = 0.01 everywhere plus 0.9 at class 3, t_b the same at class 5; 0.7·t_a + 0.3·t_b is 0.64 at "
        "class 3, 0.28 at class 5 and 0.01 elsewhere (it sums to 1). `mixing.soft_targets(..., "
        "label_smoothing=0.1)` gives the same row."
    ),
    wrong=[
        [0, 0, 0, 0.7, 0, 0.3, 0, 0, 0, 0],
        _row(0.3, 0.1),
        [0.01] * 3 + [0.7] + [0.01] + [0.3] + [0.01] * 4,
        [0.1 / 9] * 3 + [0.7 * 0.9] + [0.1 / 9] + [0.3 * 0.9] + [0.1 / 9] * 4,
        _ROW[:9],
    ],
    variants=[torch.tensor(_ROW), np.array(_ROW, dtype=np.float32), [round(v, 3) for v in _ROW]],
    secrets=("0.64", "0.28"),
)
def check_soft_target_row(answer: Any) -> str | None:
    """The soft-target row (10 numbers, to two decimals) for y_a = 3, y_b = 5, K = 10, λ = 0.7, smoothing 0.1."""
    problem = vector(answer, _ROW, tol=0.005, names=[f"class {k}" for k in range(10)], what="your row")
    if problem is None:
        return None
    total = float(torch.as_tensor(np.asarray(answer, dtype=np.float64)).sum())
    if abs(total - 1) > 0.01:
        return problem + f" Your row sums to {total:.3g}; a target distribution sums to 1."
    return problem + " Smooth each one-hot row first (every class gets s/K), then mix with λ on sample a."


# ---------------------------------------------------------------------------------------------- 04.2

_K = 5


def _data(b, seed, dtype=torch.float32):
    g = make_generator(seed)
    return torch.rand(b, 3, 4, 4, generator=g, dtype=dtype), torch.randint(0, _K, (b,), generator=g)


def _same_as_reference(fn, b=6, seed=0, lam=0.3, dtype=torch.float32):
    x, y = _data(b, seed, dtype)
    idx = torchvision_index(b)
    want_x, want_y = reference.mixing.mixup(x, reference.mixing.one_hot(y, _K), lam, idx)
    out = fn(x, y, lam, idx, _K)
    if not (isinstance(out, tuple) and len(out) == 2):
        kind = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise WrongAnswer(f"return a pair (mixed_x, soft_y), got {kind}")
    out_x, out_y = out
    expect_tensor(out_x, "mixed_x", shape=x.shape)
    if out_x.dtype != x.dtype:
        return f"mixed images came back as {out_x.dtype}; keep the input dtype {x.dtype}"
    if not torch.allclose(out_x, want_x, atol=1e-5):
        if torch.allclose(out_x, lam * x[idx] + (1 - lam) * x, atol=1e-5):
            return "mixed images put λ on the partner: λ weighs the sample itself, like its label"
        return "mixed images differ from lam·x + (1 − lam)·x[index]"
    expect_tensor(out_y, "soft_y", shape=(b, _K))
    if not torch.allclose(out_y.double(), want_y.double(), atol=1e-5):
        return "soft targets differ from lam·onehot(y) + (1 − lam)·onehot(y[index])"
    return None


def _no_in_place(fn):
    x, y = _data(4, 1)
    x0 = x.clone()
    fn(x, y, 0.4, torchvision_index(4), _K)
    return None if torch.equal(x, x0) else "the input batch was modified in place; work on a copy"


def _solution_mixup(x, y, lam, index, num_classes):
    onehot = F.one_hot(y, num_classes).to(x.dtype)
    return lam * x + (1 - lam) * x[index], lam * onehot + (1 - lam) * onehot[index]


def _variant_mixup_lerp(x, y, lam, index, num_classes):
    eye = torch.eye(num_classes, dtype=torch.float64)
    return torch.lerp(x[index], x, lam), torch.lerp(eye[y[index]], eye[y], lam)


def _variant_mixup_scatter(x, y, lam, index, num_classes):
    soft = torch.zeros(len(y), num_classes)
    soft[torch.arange(len(y)), y] += lam
    soft[torch.arange(len(y)), y[index]] += 1 - lam
    return x.mul(lam).add(x[index], alpha=1 - lam), soft


def _bug_mixup_swapped(x, y, lam, index, num_classes):
    onehot = F.one_hot(y, num_classes).float()
    return lam * x[index] + (1 - lam) * x, lam * onehot + (1 - lam) * onehot[index]


def _bug_mixup_squeeze(x, y, lam, index, num_classes):
    onehot = F.one_hot(y, num_classes).float()
    return (lam * x + (1 - lam) * x[index]).squeeze(), lam * onehot + (1 - lam) * onehot[index]


def _bug_mixup_float32(x, y, lam, index, num_classes):
    onehot = F.one_hot(y, num_classes).float()
    return (lam * x + (1 - lam) * x[index]).float(), lam * onehot + (1 - lam) * onehot[index]


def _bug_mixup_in_place(x, y, lam, index, num_classes):
    onehot = F.one_hot(y, num_classes).float()
    partner = x[index]
    return x.mul_(lam).add_((1 - lam) * partner), lam * onehot + (1 - lam) * onehot[index]


def _bug_mixup_pairs(x, y, lam, index, num_classes):
    return lam * x + (1 - lam) * x[index], (y, y[index], lam)


def _bug_mixup_labels_unmixed(x, y, lam, index, num_classes):
    return lam * x + (1 - lam) * x[index], F.one_hot(y, num_classes).float()


@EX.exercise(
    2,
    "mixup for one batch",
    difficulty="medium",
    hints=(
        "The image and its label are mixed with the same λ and the same partner index.",
        "mixed_x = lam·x + (1 − lam)·x[index] keeps x's dtype; soft_y = lam·onehot + (1 − lam)·onehot[index] "
        "with `F.one_hot(y, num_classes)`. No `.squeeze()`, no in-place `mul_`.",
    ),
    solution=_solution_mixup,
    explanation=(
        "Both the inputs and the one-hot targets are convex combinations with weight λ on the sample itself "
        "and 1 − λ on its partner `x[index]`; arithmetic on a new tensor keeps the dtype and the batch "
        "dimension (a batch of one stays [1, ...]) and leaves `x` untouched."
    ),
    wrong=[
        _bug_mixup_swapped,
        _bug_mixup_squeeze,
        _bug_mixup_float32,
        _bug_mixup_in_place,
        _bug_mixup_pairs,
        _bug_mixup_labels_unmixed,
    ],
    variants=[_variant_mixup_lerp, _variant_mixup_scatter],
)
def check_mixup_function(fn: Any) -> str | None:
    """``fn(x, y, lam, index, num_classes) -> (mixed_x, soft_y)`` must match ``reference.mixing.mixup``
    with ``reference.mixing.one_hot`` targets (which ``mixing.mixup`` + ``soft_targets`` equal, tested)."""
    return cases(
        fn,
        [
            ("a batch of 6 with torchvision's pairing", _same_as_reference),
            (
                "λ = 0 (all partner) and λ = 1 (all self)",
                lambda f: _same_as_reference(f, lam=0.0) or _same_as_reference(f, lam=1.0),
            ),
            ("a batch of one stays a batch", lambda f: _same_as_reference(f, b=1, seed=2)),
            ("float64 inputs stay float64", lambda f: _same_as_reference(f, seed=3, dtype=torch.float64)),
            ("the input is not modified", _no_in_place),
        ],
    )


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
_LOSS_KEY = {
    "class-weighted cross-entropy with reduction='mean'",
    "label smoothing in the soft-target form only",
    "focal loss (target inside the modulating factor)",
    "per-sample λ with reduction='mean'",
}


@EX.exercise(
    3,
    "when the two forms differ",
    difficulty="hard",
    hints=(
        "Two questions per setup: is the loss (per sample) affine in the target, and is the batch average "
        "taken the same way in both forms?",
        "A loss linear in the target gives the same value for the pairs form and the soft-target form; look for "
        "a non-linear target term, different targets in the two forms, or a mean whose denominator or weights "
        "differ.",
    ),
    solution=_LOSS_KEY,
    explanation=(
        "Cross-entropy (smoothed or not, in both forms), BCE with pos_weight and per-sample λ with "
        "reduction='none' are affine in the target, so the forms agree. They differ when the mean's "
        "denominator differs (class weights: Σ w[y_i] vs B), when only one form is smoothed, when the loss is "
        "non-linear in the target (focal), and when a per-sample λ meets an already-averaged loss."
    ),
    wrong=[
        _LOSS_KEY | {"plain cross-entropy"},
        _LOSS_KEY | {"BCE with pos_weight"},
        {"focal loss (target inside the modulating factor)"},
        {"plain cross-entropy"},
    ],
    variants=[sorted(_LOSS_KEY), tuple(_LOSS_KEY)],
)
def check_when_forms_differ(answer: Any) -> str | None:
    """For which losses does the pairs form differ from the soft-target form?"""
    return choice(
        answer,
        _LOSS_KEY,
        LOSS_OPTIONS,
        missing_hint="Look again at how each setup averages over the batch, not only at the per-sample loss.",
    )
