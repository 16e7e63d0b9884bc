"""Checkers for notebook 01 (why augmentation works)."""

from __future__ import annotations

from typing import Any

import torch

from lessonlib.exercises import Feedback, check_choice, check_function, check_number, is_placeholder, report
from lessonlib.utils import make_generator

__all__ = ["DIGIT_OPTIONS", "check_digit_label_preserving", "check_noise_penalty", "check_random_apply_augment"]

DIGIT_OPTIONS = {
    "shift by one pixel": "a digit one pixel to the left is the same digit; writers never centre exactly",
    "rotate ±10°": "people slant their writing by this much; a 7 stays a 7",
    "zoom 0.9-1.1": "writers differ in size; the class does not depend on it",
    "faint pixel noise": "scanner noise does not change which digit was written",
    "horizontal flip": "a mirrored 3 is an epsilon and a mirrored 2 an S-like 5: no longer the same class",
    "rotate 180°": "turns a 6 into a 9 (and a 9 into a 6): the label is not preserved",
    "rotate 90°": "a sideways digit is not a digit; no test image looks like that",
}


def check_digit_label_preserving(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 01.1: which transforms keep the class of an 8x8 handwritten digit."""
    expected = {"shift by one pixel", "rotate ±10°", "zoom 0.9-1.1", "faint pixel noise"}
    return check_choice("01.1 digit label preservation", answer, expected, options=DIGIT_OPTIONS, must_pass=must_pass)


def check_noise_penalty(answer: Any, *, n: int = 250, sigma: float = 0.4, must_pass: bool = False) -> Feedback:
    """Exercise 01.2: the ridge penalty equivalent to N(0, σ²) input noise in a summed squared loss."""
    expected = n * sigma**2
    hint = f"E‖E w‖² sums σ²‖w‖² over all {n} rows, so the penalty is n·σ² (σ², not σ; a sum over rows, not a mean)."
    return check_number("01.2 noise = ridge", answer, expected, rel_tol=1e-3, hint=hint, must_pass=must_pass)


def _probe_shape_labels(fn) -> str | None:
    x = torch.rand(64, 1, 8, 8, generator=make_generator(1))
    y = torch.arange(64) % 10
    out = fn(x, y, make_generator(0))
    if not (isinstance(out, tuple) and len(out) == 2):
        return f"must return a pair (x, y), got {type(out).__name__}"
    xo, yo = out
    if not isinstance(xo, torch.Tensor) or xo.shape != x.shape or xo.dtype != x.dtype:
        return f"x must keep shape {tuple(x.shape)} and dtype {x.dtype}, got {getattr(xo, 'shape', xo)}"
    if not torch.equal(yo, y):
        return "labels must come back unchanged (a label-preserving augmentation does not touch y)"
    return None


def _probe_not_in_place(fn) -> str | None:
    x = torch.rand(32, 1, 8, 8, generator=make_generator(2))
    before = x.clone()
    fn(x, torch.zeros(32, dtype=torch.long), make_generator(0))
    return None if torch.equal(x, before) else "it modified the input batch in place; return a new tensor"


def _probe_reproducible(fn) -> str | None:
    x = torch.rand(32, 1, 8, 8, generator=make_generator(3))
    y = torch.zeros(32, dtype=torch.long)
    a, _ = fn(x, y, make_generator(7))
    b, _ = fn(x, y, make_generator(7))
    if not torch.equal(a, b):
        return "two calls with generators seeded alike gave different batches; draw only from `generator`"
    return None


def _probe_fraction(fn) -> str | None:
    x = torch.rand(2000, 1, 8, 8, generator=make_generator(4))
    xo, _ = fn(x, torch.zeros(2000, dtype=torch.long), make_generator(5))
    changed = float(((xo - x).abs().flatten(1).amax(1) > 1e-6).double().mean())
    if not 0.44 <= changed <= 0.56:
        return f"about half the images should be transformed (p=0.5), but {changed:.0%} were changed"
    return None


def check_random_apply_augment(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 01.3: an ``augment(x, y, generator)`` that applies ``random_affine`` to each image with p=0.5."""
    if callable(fn):
        try:
            probe = fn(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), make_generator(0))
        except Exception:  # noqa: BLE001 - the probes below report the learner's error precisely
            probe = None
        if is_placeholder(probe):
            msg = "your function still returns `...`; replace it with your code and run the cell again."
            return report("01.3 half-time affine augmentation", None, msg, must_pass=must_pass)
    cases = [
        ("shape, dtype and labels", _probe_shape_labels),
        ("input left untouched", _probe_not_in_place),
        ("reproducible from the generator", _probe_reproducible),
        ("share of images transformed", _probe_fraction),
    ]
    return check_function("01.3 half-time affine augmentation", fn, cases, must_pass=must_pass)
