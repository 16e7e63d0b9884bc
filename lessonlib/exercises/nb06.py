"""Checkers for notebook 06 (test-time augmentation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lessonlib.exercises import Feedback, check_choice, check_function, check_number, is_placeholder, report
from lessonlib.presets import D4_NAMES, dihedral
from lessonlib.tta import merge_views, tta_effect

__all__ = [
    "CXR_VIEW_OPTIONS",
    "check_cxr_views",
    "check_right_to_wrong",
    "check_d4_mask_inverse",
    "check_probability_mean",
]

_WHY_NOT_FLIP = "a mirrored chest puts the heart on the right (dextrocardia is itself a finding) and flips L/R markers"
_WHY_NOT_TURN = "radiographs are acquired upright; a turned chest is an anatomy the model never sees and no patient has"

#: Candidate test-time views for a PA chest radiograph (cardiomegaly), with why each is or is not valid.
CXR_VIEW_OPTIONS: dict[str, str] = {
    "identity": "always valid: it is the image itself",
    "shift 4 px": "positioning varies by a few pixels; the heart border stays in view, the label is unchanged",
    "rotate 3°": "patients are never perfectly straight on the detector; a few degrees is within normal variation",
    "rot90": _WHY_NOT_TURN,
    "rot180": _WHY_NOT_TURN,
    "rot270": _WHY_NOT_TURN,
    "hflip": _WHY_NOT_FLIP,
    "hflip+rot90": _WHY_NOT_TURN + "; and it is mirrored",
    "hflip+rot180": "a vertical flip: head at the bottom, an anatomy no radiograph shows",
    "hflip+rot270": _WHY_NOT_TURN + "; and it is mirrored",
}


def check_cxr_views(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 06.1: which candidate views are label-preserving TTA views for a PA chest radiograph?"""
    expected = {"identity", "shift 4 px", "rotate 3°"}
    return check_choice("06.1 CXR views", answer, expected, options=CXR_VIEW_OPTIONS, must_pass=must_pass)


def check_right_to_wrong(
    answer: Any, y: torch.Tensor, plain: torch.Tensor, tta: torch.Tensor, *, must_pass: bool = False
) -> Feedback:
    """Exercise 06.2: how many predictions did TTA turn from right to wrong?

    ``y`` labels ``[N]``; ``plain`` and ``tta`` predicted labels ``[N]`` or scores ``[N, K]``.
    """
    effect = tta_effect(y, plain, tta)
    hint = (
        "a sample counts when the plain prediction equals its label and the TTA prediction does not "
        f"(the other direction, wrong to right, is {effect.wrong_to_right})."
    )
    return check_number(
        "06.2 right to wrong", answer, effect.right_to_wrong, rel_tol=0.0, abs_tol=0.5, hint=hint, must_pass=must_pass
    )


def _probe_inverse(shape: tuple[int, ...], dtype: torch.dtype) -> Callable[[Callable[..., Any]], str | None]:
    def probe(fn: Callable[..., Any]) -> str | None:
        g = torch.Generator().manual_seed(len(shape) * 10 + shape[-1])
        mask = torch.randint(0, 4, shape, generator=g).to(dtype)
        for k in range(8):
            viewed = dihedral(mask, k)
            before = viewed.clone()
            back = fn(viewed, k)
            if not torch.equal(viewed, before):
                return f"it modified its input in place (k={k}, {D4_NAMES[k]}); return a new tensor"
            if not isinstance(back, torch.Tensor):
                return f"k={k}: expected a tensor, got {type(back).__name__}"
            if back.shape != mask.shape:
                return (
                    f"k={k} ({D4_NAMES[k]}): shape {tuple(back.shape)}, expected {tuple(mask.shape)} "
                    "(undo the quarter turns on the last two dims)"
                )
            if back.dtype != mask.dtype:
                return f"k={k}: dtype {back.dtype}, expected {mask.dtype} (a mask must stay integer: no interpolation)"
            if not torch.equal(back, mask):
                wrong = int((back != mask).sum())
                return (
                    f"k={k} ({D4_NAMES[k]}): {wrong} pixels differ from the original mask. The forward view "
                    "flips first, then turns; the inverse must turn back first (rot90 by -k%4), then flip."
                )
        return None

    return probe


def _untouched(fn: Any, *args: Any) -> bool:
    """True when ``fn`` is the placeholder or a function whose body still returns ``...``."""
    if is_placeholder(fn):
        return True
    if not callable(fn):
        return False
    try:
        return is_placeholder(fn(*args))
    except Exception:  # noqa: BLE001 - a half-written function is an attempt; its probe reports the error
        return False


def _not_attempted(exercise: str, must_pass: bool) -> Feedback:
    msg = "replace the `...` in the function body with your code and run the cell again."
    return report(exercise, None, msg, must_pass=must_pass)


def check_d4_mask_inverse(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 06.3: ``fn(mask, k)`` undoes ``presets.dihedral(mask, k)`` exactly, for every k in 0..7.

    A function that still returns the ``...`` placeholder counts as not attempted.
    """
    if _untouched(fn, torch.zeros(2, 2, dtype=torch.int64), 0):
        return _not_attempted("06.3 D4 inverse for a mask", must_pass)
    cases = [
        ("a square [B, H, W] integer mask", _probe_inverse((2, 5, 5), torch.int64)),
        ("a [B, K, H, W] float map", _probe_inverse((2, 3, 6, 6), torch.float32)),
        ("a non-square [H, W] uint8 mask (quarter turns swap H and W)", _probe_inverse((4, 7), torch.uint8)),
    ]
    return check_function("06.3 D4 inverse for a mask", fn, cases, must_pass=must_pass)


def check_probability_mean(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 06.4: ``fn(logits)`` merges per-view logits ``[V, B, K]`` by the mean of softmax probabilities.

    A function that still returns the ``...`` placeholder counts as not attempted.
    """
    if _untouched(fn, torch.zeros(2, 1, 3)):
        return _not_attempted("06.4 mean of probabilities", must_pass)

    def probe(f: Callable[..., Any]) -> str | None:
        g = torch.Generator().manual_seed(6)
        logits = 4 * torch.randn(5, 7, 3, generator=g)
        logits[0, 0] = torch.tensor([12.0, 0.0, 0.0])  # one very confident view
        got = f(logits.clone())
        if not isinstance(got, torch.Tensor) or got.shape != (7, 3):
            return f"expected a tensor of shape (7, 3) = [B, K], got {getattr(got, 'shape', type(got).__name__)}"
        want = merge_views(logits, merge="mean")
        if torch.allclose(got, want, atol=1e-5):
            return None
        if torch.allclose(got, merge_views(logits, merge="logit_mean"), atol=1e-5):
            return "this is softmax of the mean logit (= the geometric mean); take softmax per view first, then average"
        if torch.allclose(got.sum(-1), torch.ones(7), atol=1e-4):
            return "rows sum to 1 but the values are off: softmax over the class axis (dim -1), mean over views (dim 0)"
        return "rows do not sum to 1: apply softmax over classes (dim -1), then average over views (dim 0)"

    return check_function(
        "06.4 mean of probabilities", fn, [("5 views, 7 images, 3 classes", probe)], must_pass=must_pass
    )
