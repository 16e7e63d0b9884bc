"""Exercises of notebook 01 (why augmentation works): ``nb01.hint(k)``, ``nb01.reveal(k)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lessonlib.exercises import Notebook, cases, choice, expect_tensor, number
from lessonlib.geometric import random_affine
from lessonlib.utils import make_generator, normal, seeded, uniform

__all__ = [
    "EX",
    "hint",
    "reveal",
    "DIGIT_OPTIONS",
    "check_digit_label_preserving",
    "check_noise_penalty",
    "check_random_apply_augment",
]

EX = Notebook("01")
hint, reveal = EX.hint, EX.reveal

DIGIT_OPTIONS = {
    "shift by one pixel": "a digit one pixel to the left is the same digit; writers never centre exactly",
    "rotate ±10°": "people slant their writing by this much; a 7 stays a 7",
    "zoom 0.9-1.1": "writers differ in size; the class does not depend on it",
    "faint pixel noise": "scanner noise does not change which digit was written",
    "horizontal flip": "a mirrored 3 is an epsilon and a mirrored 2 an S-like 5: no longer the same class",
    "rotate 180°": "turns a 6 into a 9 (and a 9 into a 6): the label is not preserved",
    "rotate 90°": "a sideways digit is not a digit; no test image looks like that",
}
_DIGIT_KEY = {"shift by one pixel", "rotate ±10°", "zoom 0.9-1.1", "faint pixel noise"}


@EX.exercise(
    1,
    "digit label preservation",
    difficulty="easy",
    hints=(
        "Would a person reading the transformed image still write down the same digit?",
        "Think of pairs of digits that a transform maps onto each other (6 and 9, 2 and 5), and of what "
        "varies between writers anyway (position, slant, size, scanner noise).",
    ),
    solution=_DIGIT_KEY,
    explanation=(
        "Small shifts, slants, size changes and faint noise are variations between writers and scanners: the "
        "digit stays the same. Mirroring and large rotations map digits onto other digits (6 ↔ 9) or onto "
        "shapes no test image has."
    ),
    wrong=[
        _DIGIT_KEY | {"horizontal flip"},
        _DIGIT_KEY | {"rotate 180°"},
        {"shift by one pixel", "rotate ±10°"},
        "faint pixel noise",
        set(DIGIT_OPTIONS),
    ],
    variants=[sorted(_DIGIT_KEY), tuple(sorted(_DIGIT_KEY, reverse=True))],
)
def check_digit_label_preserving(answer: Any) -> str | None:
    """Which transforms keep the class of an 8x8 handwritten digit?"""
    return choice(
        answer, _DIGIT_KEY, DIGIT_OPTIONS, missing_hint="Some harmless variations between writers are not picked."
    )


@EX.exercise(
    2,
    "noise = ridge",
    difficulty="hard",
    hints=(
        "Expand the expected squared error with noise E on the inputs: the cross term vanishes, what is left?",
        "E‖E w‖² = σ²‖w‖² per row, and the loss is a sum over all n rows (not a mean). σ or σ²?",
    ),
    solution=250 * 0.4**2,
    explanation=(
        "With a summed squared loss, E‖(X + E)w − y‖² = ‖Xw − y‖² + n σ² ‖w‖², so the ridge penalty is "
        "λ = n σ² = 250 × 0.16 = 40 (`regularisation.noise_ridge_penalty(250, 0.4)`)."
    ),
    wrong=[100.0, 0.16, 0.4, 0.00064, 62.5, 4.0],
    variants=[40, np.float64(40.0), torch.tensor(40.0), 250 * 0.16],
)
def check_noise_penalty(answer: Any) -> str | None:
    """The ridge penalty equivalent to N(0, 0.4²) input noise in a summed squared loss over 250 rows."""
    return number(
        answer,
        250 * 0.4**2,
        tol=0.05,
        what="your penalty",
        mistakes={
            100.0: "you used σ where the expectation gives σ² (the noise enters squared).",
            0.16: "that is the penalty per row: the loss sums over all n rows.",
            0.4: "the noise enters squared, and the loss sums over all n rows.",
            0.00064: "that divides by n: with a summed loss the rows add up, they are not averaged.",
            62.5: "σ²·n, not n/σ² (more noise means a larger penalty).",
        },
    )


# ---------------------------------------------------------------------------------------------- 01.3


def _solution_half_affine(x, y, generator):
    warped = random_affine(x, generator=generator)  # a new tensor, one draw per image
    pick = uniform(x.shape[0], generator=generator, device=x.device) < 0.5  # one Bernoulli(0.5) per image
    return torch.where(pick.view(-1, 1, 1, 1), warped, x), y


def _variant_pick_first(x, y, generator):
    keep = torch.rand(x.shape[0], generator=generator) >= 0.5
    out = random_affine(x, generator=generator)
    out[keep.to(x.device)] = x[keep.to(x.device)]
    return out, y


def _variant_blend(x, y, generator):
    m = (uniform(len(x), generator=generator) < 0.5).to(x.dtype).view(-1, 1, 1, 1)
    return m * random_affine(x, generator=generator) + (1 - m) * x, y


def _bug_all(x, y, generator):
    return random_affine(x, generator=generator), y


def _bug_flip(x, y, generator):
    pick = uniform(x.shape[0], generator=generator) < 0.5
    return torch.where(pick.view(-1, 1, 1, 1), x.flip(-1), x), y


def _bug_brightness(x, y, generator):
    pick = uniform(x.shape[0], generator=generator) < 0.5
    return torch.where(pick.view(-1, 1, 1, 1), x + 0.1, x), y


def _bug_in_place(x, y, generator):
    pick = uniform(x.shape[0], generator=generator) < 0.5
    x[pick] = random_affine(x[pick], generator=generator)
    return x, y


def _bug_global_rng(x, y, generator):
    pick = torch.rand(x.shape[0]) < 0.5
    return torch.where(pick.view(-1, 1, 1, 1), random_affine(x, generator=generator), x), y


def _bug_per_batch(x, y, generator):
    if float(uniform(1, generator=generator)) < 0.5:
        return random_affine(x, generator=generator), y
    return x.clone(), y


def _bug_noise(x, y, generator):
    pick = uniform(x.shape[0], generator=generator) < 0.5
    return torch.where(pick.view(-1, 1, 1, 1), x + 0.05 * normal(x.shape, generator=generator), x), y


def _bug_no_labels(x, y, generator):
    return _solution_half_affine(x, y, generator)[0]


def _digits(n: int, seed: int) -> torch.Tensor:
    """A batch of digit-like images: a bright bar on a dark background, values in [0, 1]."""
    g = make_generator(seed)
    x = 0.2 * torch.rand(n, 1, 8, 8, generator=g)
    x[:, :, 1:7, 3:5] += 0.75
    return x


def _probe_shape_labels(fn) -> str | None:
    x, y = _digits(64, 1), torch.arange(64) % 10
    out = fn(x, y, make_generator(0))
    if not (isinstance(out, tuple) and len(out) == 2):
        return f"must return a pair (x, y), got {type(out).__name__}"
    xo, yo = out
    expect_tensor(xo, "the images", shape=x.shape, dtype=x.dtype)
    if not isinstance(yo, torch.Tensor) or yo.shape != y.shape or not torch.equal(yo, y):
        return "labels must come back unchanged (a label-preserving augmentation does not touch y)"
    return None


def _probe_not_in_place(fn) -> str | None:
    x = _digits(32, 2)
    before = x.clone()
    fn(x, torch.zeros(32, dtype=torch.long), make_generator(0))
    return None if torch.equal(x, before) else "it modified the input batch in place; return a new tensor"


def _probe_reproducible(fn) -> str | None:
    x, y = _digits(32, 3), torch.zeros(32, dtype=torch.long)
    with seeded(1):
        a, _ = fn(x, y, make_generator(7))
    with seeded(2):
        b, _ = fn(x, y, make_generator(7))
    if not torch.equal(a, b):
        return "two calls with generators seeded alike gave different batches; draw only from `generator`"
    return None


def _changed(x: torch.Tensor, xo: torch.Tensor) -> torch.Tensor:
    return (xo - x).abs().flatten(1).amax(1) > 1e-6


def _probe_fraction(fn) -> str | None:
    fractions = []
    for seed in (5, 6):
        x = _digits(1000, 4)
        xo, _ = fn(x, torch.zeros(1000, dtype=torch.long), make_generator(seed))
        fractions.append(float(_changed(x, xo).double().mean()))
    if not all(0.43 <= f <= 0.57 for f in fractions):
        shown = ", ".join(f"{f:.0%}" for f in fractions)
        return f"about half the images should be transformed (p = 0.5, one draw per image), but {shown} were changed"
    return None


def _probe_is_affine(fn) -> str | None:
    x = _digits(400, 8)
    xo, _ = fn(x, torch.zeros(400, dtype=torch.long), make_generator(9))
    ch = _changed(x, xo)
    if not bool(ch.any()):
        return "no image was changed"
    a, b = x[ch], xo[ch]
    if bool(torch.equal(b, a.flip(-1))) or bool(torch.equal(b, a.flip(-2))):
        return "the changed images are mirrored: a flip is not `random_affine` (and mirrors some digits into others)"
    if float(b.max()) > float(a.max()) + 1e-4 or float(b.min()) < min(float(a.min()), 0.0) - 1e-4:
        return (
            "changed images take values outside the original range: a warp only moves and interpolates pixels "
            "(fill 0), it does not add brightness or noise"
        )
    diff = (b - a).flatten(1)
    if bool(((diff.amax(1) - diff.amin(1)) < 1e-6).all()):
        return "every changed image moved by a constant: that is a brightness change, not a geometric warp"
    same = _digits(1, 8).expand(64, 1, 8, 8).clone()
    so, _ = fn(same, torch.zeros(64, dtype=torch.long), make_generator(10))
    sc = so[_changed(same, so)]
    if sc.shape[0] >= 2 and bool((sc - sc[:1]).abs().amax() < 1e-6):
        return "identical images all got the same warp: draw the warp per image, not once per batch"
    return None


@EX.exercise(
    3,
    "half-time affine augmentation",
    difficulty="medium",
    hints=(
        "Warp the whole batch once (that is vectorised), then choose per image between the warped and the "
        "original version.",
        "Draw one Bernoulli(0.5) per image from `generator` (e.g. `uniform(B, generator=generator) < 0.5`), "
        "shape it to [B, 1, 1, 1] and use `torch.where`; never write into `x`.",
    ),
    solution=_solution_half_affine,
    explanation=(
        "`random_affine` returns a new tensor with one draw per image; a per-image Bernoulli mask from the same "
        "generator picks warped or original, so the batch is reproducible from the generator and `x` is "
        "untouched. This is what `augment.sometimes(affine_augment(), p=0.5)` does."
    ),
    wrong=[
        _bug_all,
        _bug_flip,
        _bug_brightness,
        _bug_in_place,
        _bug_global_rng,
        _bug_per_batch,
        _bug_noise,
        _bug_no_labels,
    ],
    variants=[_variant_pick_first, _variant_blend],
    what="your augment function",
)
def check_random_apply_augment(fn: Any) -> str | None:
    """``augment(x, y, generator)`` that applies ``random_affine`` to each image with p = 0.5."""
    return cases(
        fn,
        [
            ("shape, dtype and labels", _probe_shape_labels),
            ("input left untouched", _probe_not_in_place),
            ("reproducible from the generator", _probe_reproducible),
            ("share of images transformed", _probe_fraction),
            ("what the transform does", _probe_is_affine),
        ],
    )
