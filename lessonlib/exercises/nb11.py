"""Exercises of notebook 11 (segmentation and detection: labels that stay true), declared with the course
registry.

``nb11.hint(k)``, ``nb11.hint(k, level=2)`` and ``nb11.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.exercises import Notebook, as_number, cases, choice, expect_tensor, number
from lessonlib.utils import make_generator

__all__ = [
    "EX",
    "hint",
    "reveal",
    "MASK_STEPS",
    "check_rotated_box_iou",
    "check_mask_steps",
    "check_mix_masks",
]

EX = Notebook("11")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 11.1 How loose is the corner box of a rotated disc?
# ---------------------------------------------------------------------------------------------

_ANGLE = 30.0
_T = math.radians(_ANGLE)
_IOU = 1.0 / (math.cos(_T) + math.sin(_T)) ** 2
_IOU_MISTAKES = {
    1.0 / (math.cos(_T) + math.sin(_T)): "that is the ratio of the sides; IoU compares areas.",
    0.5: "that is the value at 45°, where the corner box is largest; this angle is smaller.",
    1.0 - _IOU: "that is the share of the corner box that is empty; IoU is the share that is the object's box.",
    1.0 / (abs(math.cos(_ANGLE)) + abs(math.sin(_ANGLE))) ** 2: "your calculator took 30 as radians; use degrees.",
}


@EX.exercise(
    1,
    "IoU of the corner box of a rotated disc",
    difficulty="medium",
    hints=(
        "Rotating a disc about its centre leaves its tight box unchanged: a 20 x 20 square. The corner method "
        "rotates the four corners of that square and boxes them: how wide is that box?",
        "A w x w square rotated by θ has an enclosing box of side w (cos θ + sin θ). The true box lies inside "
        "it, so IoU = true area / corner-box area.",
    ),
    solution=round(_IOU, 4),
    explanation=f"The corner box has side 20 (cos 30° + sin 30°) = {20 / math.sqrt(_IOU):.2f} px, the true box 20 px "
    "(a disc does not change under rotation), and the true box lies inside, so "
    f"IoU = 20² / {20 / math.sqrt(_IOU):.2f}² "
    f"= 1 / (cos θ + sin θ)² = {_IOU:.3f}. At 45° it falls to 0.5. The ellipse method (Kalra et al., 2021) gives "
    "the exact box for a disc at every angle.",
    wrong=list(_IOU_MISTAKES) + [1.0],
    variants=[torch.tensor(_IOU), _IOU, round(_IOU, 3)],
)
def check_rotated_box_iou(answer):
    """IoU between the corner-method box of a 20-px disc's box rotated by 30° and the disc's true box."""
    value = as_number(answer, "your IoU")
    if abs(value - 1.0) < 5e-4:
        return "IoU 1 would mean the corner box is tight; it is not: the rotated corners reach outside the disc."
    return number(value, _IOU, tol=5e-3, mistakes=_IOU_MISTAKES, what="your IoU")


# ---------------------------------------------------------------------------------------------
# 11.2 A lung-segmentation pipeline: which steps keep the labels true?
# ---------------------------------------------------------------------------------------------

#: {step: why it keeps the label map true or not}; labels 0 background, 1 right lung, 2 left lung
_STEP_REASONS = {
    "resize the label map with nearest-neighbour interpolation": (
        "each output pixel copies one input label: only values that exist can come out"
    ),
    "rotate the image bilinearly and the label map with nearest-neighbour, by the same angle": (
        "one geometric transform for both, each with the interpolation its kind of data allows"
    ),
    "one-hot the label map, warp the channels bilinearly, then take the arg-max per pixel": (
        "averaging per-class probabilities and then choosing a class never invents a class between two others"
    ),
    "after a horizontal flip, swap labels 1 and 2": (
        "the flipped right lung lies where the left one was: the name must follow the side"
    ),
    "resize the label map bilinearly and round to the nearest integer": (
        "between background (0) and left lung (2) the average is 1: a rim of 'right lung' appears around the left lung"
    ),
    "apply the same brightness and contrast jitter to the label map as to the image": (
        "label ids are names, not intensities: jitter turns 2 into 2.3 and 1 into 0.8"
    ),
    "draw the rotation angle separately for the image and for the label map": (
        "the mask must move with the pixels it labels: one draw for both"
    ),
    "normalise the label map with the image's mean and standard deviation": (
        "normalisation is for the network's input; the targets must stay integer class ids"
    ),
}
MASK_STEPS = tuple(_STEP_REASONS)
_SAFE_STEPS = frozenset(MASK_STEPS[:4])


@EX.exercise(
    2,
    "which steps keep a lung mask true",
    difficulty="easy",
    hints=(
        "For each step ask: can it produce a label value that was not there, move the mask away from its pixels, "
        "or leave a name on the wrong side?",
        "Interpolation between integer ids invents ids; anything applied to intensities does not belong on ids; "
        "a flip changes which side is which.",
    ),
    solution=set(_SAFE_STEPS),
    explanation="Right: nearest-neighbour resizing, one rotation with bilinear pixels and nearest labels, one-hot → "
    "bilinear → arg-max, and swapping 1 ↔ 2 after a flip. Wrong: bilinear + rounding invents label 1 between 0 and "
    "2, intensity jitter and normalisation treat ids as intensities, and separate angles move the mask off its "
    "pixels.",
    wrong=[
        set(MASK_STEPS[:3]),
        set(MASK_STEPS[:5]),
        set(MASK_STEPS[4:]),
        {MASK_STEPS[0], MASK_STEPS[6]},
    ],
    variants=[list(MASK_STEPS[:4]), tuple(reversed(MASK_STEPS[:4]))],
)
def check_mask_steps(answer):
    """Every step of ``MASK_STEPS`` that keeps the label map true."""
    return choice(
        answer,
        _SAFE_STEPS,
        _STEP_REASONS,
        missing_hint="Look again at the steps about interpolation choices and about sides.",
        what="your steps",
    )


# ---------------------------------------------------------------------------------------------
# 11.3 Mixup for segmentation: soft masks
# ---------------------------------------------------------------------------------------------


def _solution_mix_masks(m1, m2, lam, num_classes):
    a = F.one_hot(m1.long(), num_classes).permute(0, 3, 1, 2).float()
    b = F.one_hot(m2.long(), num_classes).permute(0, 3, 1, 2).float()
    return lam * a + (1 - lam) * b


def _variant_scatter(m1, m2, lam, num_classes):  # the same targets built with scatter_add
    out = torch.zeros(m1.shape[0], num_classes, *m1.shape[1:])
    out.scatter_add_(1, m1[:, None].long(), torch.full((m1.shape[0], 1, *m1.shape[1:]), float(lam)))
    out.scatter_add_(1, m2[:, None].long(), torch.full((m1.shape[0], 1, *m1.shape[1:]), 1.0 - float(lam)))
    return out


def _variant_eye(m1, m2, lam, num_classes):  # one-hot by indexing an identity matrix, float64
    eye = torch.eye(num_classes, dtype=torch.float64)
    return (lam * eye[m1] + (1 - lam) * eye[m2]).movedim(-1, 1)


def _bug_mix_ids(m1, m2, lam, num_classes):  # mixes the label ids themselves
    return lam * m1.float() + (1 - lam) * m2.float()


def _bug_swapped_lam(m1, m2, lam, num_classes):
    return _solution_mix_masks(m1, m2, 1 - lam, num_classes)


def _bug_channels_last(m1, m2, lam, num_classes):
    return _solution_mix_masks(m1, m2, lam, num_classes).permute(0, 2, 3, 1)


def _bug_hard(m1, m2, lam, num_classes):  # the arg-max of the mixture: a hard mask again
    mixed = _solution_mix_masks(m1, m2, lam, num_classes)
    return F.one_hot(mixed.argmax(1), num_classes).permute(0, 3, 1, 2).float()


def _bug_in_place(m1, m2, lam, num_classes):
    m1.clamp_(max=num_classes - 1)
    m1[..., 0] = 0
    return _solution_mix_masks(m1, m2, lam, num_classes)


def _maps(seed, b=2, h=5, w=6, k=3):
    g = make_generator(seed)
    return torch.randint(0, k, (b, h, w), generator=g), torch.randint(0, k, (b, h, w), generator=g)


def _matches(lam, k, seed):
    def probe(fn):
        m1, m2 = _maps(seed, k=k)
        out = expect_tensor(fn(m1.clone(), m2.clone(), lam, k), "your soft masks", floating=True)
        want = _solution_mix_masks(m1, m2, lam, k)
        if out.shape == want.permute(0, 2, 3, 1).shape and out.shape != want.shape:
            return "the classes must be dimension 1, [B, K, H, W], as cross-entropy expects"
        if out.shape != want.shape:
            return f"expected soft masks of shape [B, K, H, W] = {list(want.shape)}, got {list(out.shape)}"
        got = out.detach().float()
        if torch.allclose(got, want, atol=1e-5):
            return None
        if torch.allclose(got, _solution_mix_masks(m1, m2, 1 - lam, k), atol=1e-5):
            return "λ weights the first map: your weights are the wrong way round"
        if torch.allclose(got.sum(1), torch.ones_like(got[:, 0]), atol=1e-5) and bool(((got == 0) | (got == 1)).all()):
            return "every pixel has a hard label; Mixup's target is soft: λ of one class and 1 − λ of the other"
        return "the values differ from λ·one-hot(m1) + (1 − λ)·one-hot(m2); check the one-hot encoding"

    return probe


def _unchanged(fn):
    m1, m2 = _maps(3, k=4)
    c1, c2 = m1.clone(), m2.clone()
    fn(m1, m2, 0.3, 4)
    if not (torch.equal(m1, c1) and torch.equal(m2, c2)):
        return "your function changed the label maps in place; build new tensors"
    return None


@EX.exercise(
    3,
    "Mixup for segmentation: soft masks",
    difficulty="hard",
    hints=(
        "Mixing the label ids (0, 1, 2) makes no sense: the average of background and class 2 is not class 1. "
        "Mix per-class indicators instead.",
        "One-hot each map to [B, K, H, W] (F.one_hot gives [B, H, W, K]: move the last axis to position 1), then "
        "λ·first + (1 − λ)·second. Each pixel's K values then sum to 1.",
    ),
    solution=_solution_mix_masks,
    explanation="target = λ·one_hot(m1) + (1 − λ)·one_hot(m2), shaped [B, K, H, W] with the classes on dimension 1. "
    "Where both maps agree the pixel keeps a hard label; where they differ it is λ of one class and 1 − λ of the "
    "other, and cross-entropy with these soft targets is exactly λ·CE(m1) + (1 − λ)·CE(m2).",
    wrong=[_bug_mix_ids, _bug_swapped_lam, _bug_channels_last, _bug_hard, _bug_in_place],
    variants=[_variant_scatter, _variant_eye],
    what="your mix_masks",
)
def check_mix_masks(fn):
    """``fn(m1, m2, lam, num_classes)`` -> soft masks ``[B, K, H, W]`` (Mixup's target for segmentation)."""
    return cases(
        fn,
        [
            ("λ = 0.7, 3 classes", _matches(0.7, 3, 0)),
            ("λ = 0.25, 5 classes", _matches(0.25, 5, 1)),
            ("inputs", _unchanged),
        ],
    )
