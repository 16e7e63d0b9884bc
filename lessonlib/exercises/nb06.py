"""Exercises of notebook 06 (test-time augmentation): ``nb06.hint(k)``, ``nb06.reveal(k)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lessonlib.exercises import Notebook, WrongAnswer, as_number, cases, choice, expect_tensor
from lessonlib.geometric import D4_NAMES, dihedral
from lessonlib.tta import merge_views, tta_effect

__all__ = [
    "EX",
    "hint",
    "reveal",
    "CXR_VIEW_OPTIONS",
    "check_cxr_views",
    "check_right_to_wrong",
    "check_d4_mask_inverse",
    "check_probability_mean",
]

EX = Notebook("06")
hint, reveal = EX.hint, EX.reveal

_WHY_NOT_TURN = "radiographs are acquired upright; a turned chest is an acquisition no detector produces"

#: Candidate test-time views for a PA chest radiograph (cardiomegaly), with why each is or is not valid.
CXR_VIEW_OPTIONS: dict[str, str] = {
    "identity": "always valid: it is the image itself",
    "shift 4 px": "positioning varies by a few pixels; the heart border stays in view, the label is unchanged",
    "rotate 3°": "patients are never perfectly straight on the detector; a few degrees is within normal variation",
    "rot90": _WHY_NOT_TURN,
    "rot180": _WHY_NOT_TURN,
    "rot270": _WHY_NOT_TURN,
    "hflip": (
        "mirroring keeps the cardiothoracic ratio, so the cardiomegaly label is kept; a mirrored chest is rare "
        "anatomy (situs inversus), so the view only helps a model that was trained with flips (measure it), "
        "and it would change a left/right (laterality) label"
    ),
    "hflip+rot90": _WHY_NOT_TURN + "; and it is mirrored",
    "hflip+rot180": "a vertical flip: head at the bottom, an acquisition no radiograph shows",
    "hflip+rot270": _WHY_NOT_TURN + "; and it is mirrored",
}
_VIEWS_KEY = {"identity", "shift 4 px", "rotate 3°", "hflip"}


@EX.exercise(
    1,
    "CXR views",
    difficulty="easy",
    hints=(
        "A view is label-preserving when a radiologist would give the viewed image the same cardiomegaly "
        "label and a detector could record such an image at all, however rarely.",
        "Cardiomegaly is a heart-to-chest width ratio. Small positioning changes and a mirror keep it; which "
        "views show a chest no detector records?",
    ),
    solution=_VIEWS_KEY,
    explanation=(
        "Identity, a small shift and a small rotation mimic positioning. A horizontal flip keeps the "
        "cardiothoracic ratio and so the label, but it is off-distribution (situs inversus is rare): it helps "
        "only if the model saw flips in training, and it is wrong for laterality findings. Quarter turns and "
        "the vertical flip (hflip+rot180) are acquisitions that never happen."
    ),
    wrong=[
        {"identity", "shift 4 px", "rotate 3°"},
        _VIEWS_KEY | {"hflip+rot180"},
        _VIEWS_KEY | {"rot90", "rot180", "rot270"},
        set(CXR_VIEW_OPTIONS),
        "identity",
    ],
    variants=[sorted(_VIEWS_KEY), tuple(_VIEWS_KEY)],
    secrets=tuple(f"'{v}'" for v in sorted(_VIEWS_KEY)),
)
def check_cxr_views(answer: Any) -> str | None:
    """Which candidate views are label-preserving TTA views for a PA chest radiograph (cardiomegaly)?"""
    return choice(
        answer,
        _VIEWS_KEY,
        CXR_VIEW_OPTIONS,
        missing_hint="A view that keeps the heart-to-chest ratio and is a possible film is not picked.",
    )


# ---------------------------------------------------------------------------------------------- 06.2


def _example_predictions() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small fixed example for the tests: 3 right→wrong, 5 wrong→right, 12 samples unchanged."""
    y = torch.zeros(20, dtype=torch.long)
    plain = torch.zeros(20, dtype=torch.long)
    tta = torch.zeros(20, dtype=torch.long)
    tta[:3] = 1  # right → wrong
    plain[3:8] = 2  # wrong → right
    plain[8:10], tta[8:10] = 1, 2  # wrong → wrong (another wrong class)
    return y, plain, tta


@EX.exercise(
    2,
    "right to wrong",
    difficulty="medium",
    hints=(
        "Count samples, not accuracies: for each test image compare the plain prediction and the TTA "
        "prediction with its label.",
        "A sample counts when `plain == y` and `tta != y`; the other direction (wrong to right) is a "
        "different count, and their difference is the net accuracy change.",
    ),
    solution=3,
    explanation=(
        "`int(((plain == y) & (tta != y)).sum())` with `plain = logits[0].argmax(1)` and `tta` the argmax of "
        "the mean of probabilities over the shift views. Reporting both directions shows that TTA does not "
        "only add correct answers: it also breaks some."
    ),
    wrong=[5, -2, 2, 3.4, "3", True],
    variants=[np.int64(3), torch.tensor(3), 3.0],
    secrets=(),
    solution_args=_example_predictions,
    shown="""
plain = ex_logits[0].argmax(1)
tta_pred = tta.merge_views(ex_logits[VIEW_SETS["shifts (5)"]], merge="mean").argmax(1)
answer_count = int(((plain == y) & (tta_pred != y)).sum())
""",
)
def check_right_to_wrong(answer: Any, y: torch.Tensor, plain: torch.Tensor, tta: torch.Tensor) -> str | None:
    """How many predictions did TTA turn from right to wrong? ``y`` labels ``[N]``; ``plain`` and ``tta``
    predicted labels ``[N]`` or scores ``[N, K]``."""
    effect = tta_effect(y, plain, tta)
    value = as_number(answer, "your count")
    if value != int(value):
        raise WrongAnswer("a count of predictions is a whole number.")
    value = int(value)
    if value == effect.right_to_wrong:
        return None
    if value == effect.wrong_to_right and effect.wrong_to_right != effect.right_to_wrong:
        return "that is the other direction (wrong → right): count the samples plain got right and TTA got wrong."
    if value == effect.wrong_to_right - effect.right_to_wrong or value < 0:
        return "that is a net change; count only the samples that went from right to wrong."
    direction = "too many" if value > effect.right_to_wrong else "too few"
    return f"{direction}: a sample counts when the plain prediction equals its label and the TTA one does not."


# ---------------------------------------------------------------------------------------------- 06.3


def _probe_inverse(shape: tuple[int, ...], dtype: torch.dtype) -> Callable[[Callable[..., Any]], str | None]:
    def probe(fn: Callable[..., Any]) -> str | None:
        g = torch.Generator().manual_seed(len(shape) * 10 + shape[-1])
        mask = torch.randint(0, 4, shape, generator=g).to(dtype)
        for k in range(8):
            viewed = dihedral(mask, k)
            before = viewed.clone()
            back = expect_tensor(fn(viewed, k), f"k={k}: the result")
            if not torch.equal(viewed, before):
                return f"it modified its input in place (k={k}, {D4_NAMES[k]}); return a new tensor"
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
                    "flips first, then turns; an inverse undoes the last step first."
                )
        return None

    return probe


def _solution_d4_inverse(mask, k):
    back = torch.rot90(mask, -(k % 4), dims=(-2, -1))  # undo the turns first (rot90 returns a new tensor)
    return back.flip(-1) if k >= 4 else back  # then undo the flip


def _variant_d4_numpy(mask, k):
    arr = np.rot90(mask.numpy(), 4 - k % 4, axes=(-2, -1))
    if k >= 4:
        arr = arr[..., ::-1]
    return torch.from_numpy(arr.copy())


def _variant_d4_flip_conjugate(mask, k):
    if k < 4:
        return torch.rot90(mask, 4 - k, dims=(-2, -1))
    return dihedral(mask, k)  # a flip followed by a turn is its own inverse


def _bug_d4_wrong_order(mask, k):
    back = mask.flip(-1) if k >= 4 else mask
    return torch.rot90(back, -(k % 4), dims=(-2, -1))


def _bug_d4_same_direction(mask, k):
    back = torch.rot90(mask, k % 4, dims=(-2, -1))
    return back.flip(-1) if k >= 4 else back


def _bug_d4_ignores_flip(mask, k):
    return torch.rot90(mask, -(k % 4), dims=(-2, -1))


def _bug_d4_float(mask, k):
    return _solution_d4_inverse(mask, k).float()


def _bug_d4_default_dims(mask, k):
    back = torch.rot90(mask, -(k % 4))
    return back.flip(-1) if k >= 4 else back


@EX.exercise(
    3,
    "D4 inverse for a mask",
    difficulty="hard",
    hints=(
        "The forward view flips first (if k ≥ 4) and then turns k % 4 times. To undo two steps, undo the "
        "last one first.",
        "`torch.rot90(mask, -(k % 4), dims=(-2, -1))` turns back; then `.flip(-1)` if k ≥ 4. Both return new "
        "tensors and keep the dtype; `dims` matters for [B, K, H, W] and for non-square masks.",
    ),
    solution=_solution_d4_inverse,
    explanation=(
        "dihedral(x, k) = rot90^(k%4)(flip^(k≥4)(x)), so its inverse is flip^(k≥4)(rot90^(−k%4)(x)): turns "
        "undone first, then the flip. Index operations are exact, so an integer mask comes back unchanged."
    ),
    wrong=[_bug_d4_wrong_order, _bug_d4_same_direction, _bug_d4_ignores_flip, _bug_d4_float, _bug_d4_default_dims],
    variants=[_variant_d4_numpy, _variant_d4_flip_conjugate],
)
def check_d4_mask_inverse(fn: Any) -> str | None:
    """``fn(mask, k)`` undoes ``geometric.dihedral(mask, k)`` exactly, for every k in 0..7."""
    return cases(
        fn,
        [
            ("a square [B, H, W] integer mask", _probe_inverse((2, 5, 5), torch.int64)),
            ("a [B, K, H, W] float map", _probe_inverse((2, 3, 6, 6), torch.float32)),
            ("a non-square [H, W] uint8 mask (quarter turns swap H and W)", _probe_inverse((4, 7), torch.uint8)),
        ],
    )


# ---------------------------------------------------------------------------------------------- 06.4


def _probe_mean(f: Callable[..., Any], dtype: torch.dtype = torch.float32) -> str | None:
    g = torch.Generator().manual_seed(6)
    logits = (4 * torch.randn(5, 7, 3, generator=g)).to(dtype)
    logits[0, 0] = torch.tensor([12.0, 0.0, 0.0], dtype=dtype)  # one very confident view
    got = expect_tensor(f(logits.clone()), "the merged probabilities", shape=(7, 3), floating=True).double()
    ref = logits.double()
    if torch.allclose(got, merge_views(ref, merge="mean"), atol=1e-5):
        return None
    if torch.allclose(got, merge_views(ref, merge="logit_mean"), atol=1e-5):
        return "this is softmax of the mean logit (= the geometric mean); take softmax per view first, then average"
    if torch.allclose(got.sum(-1), torch.ones(7, dtype=torch.float64), atol=1e-4):
        return "rows sum to 1 but the values are off: softmax over the class axis (dim -1), mean over views (dim 0)"
    return "rows do not sum to 1: apply softmax over classes (dim -1), then average over views (dim 0)"


def _solution_prob_mean(logits):
    return logits.softmax(dim=-1).mean(dim=0)  # softmax per view over classes, then average over views


def _variant_prob_mean_manual(logits):
    e = (logits - logits.amax(-1, keepdim=True)).exp()
    return (e / e.sum(-1, keepdim=True)).sum(0) / logits.shape[0]


def _variant_prob_mean_numpy(logits):
    a = logits.double().numpy()
    p = np.exp(a - a.max(-1, keepdims=True))
    return torch.from_numpy((p / p.sum(-1, keepdims=True)).mean(0))


def _bug_logit_mean(logits):
    return logits.mean(0).softmax(-1)


def _bug_softmax_views(logits):
    return logits.softmax(dim=0).mean(dim=0)


def _bug_no_softmax(logits):
    return logits.mean(0)


def _bug_max(logits):
    return logits.softmax(-1).amax(0)


@EX.exercise(
    4,
    "mean of probabilities",
    difficulty="medium",
    hints=(
        "Which comes first, the softmax or the average over views? The two orders give different answers.",
        "Softmax over the class axis (dim -1) for every view, then the mean over the view axis (dim 0): "
        "[V, B, K] → [B, K], each row summing to 1.",
    ),
    solution=_solution_prob_mean,
    explanation=(
        "Averaging probabilities is an arithmetic mean of the views' predictive distributions; softmax of the "
        "mean logit is their normalised geometric mean, which lets one very confident view dominate less "
        "gracefully. Both are valid merges, but they are different ones."
    ),
    wrong=[_bug_logit_mean, _bug_softmax_views, _bug_no_softmax, _bug_max],
    variants=[_variant_prob_mean_manual, _variant_prob_mean_numpy],
)
def check_probability_mean(fn: Any) -> str | None:
    """``fn(logits)`` merges per-view logits ``[V, B, K]`` by the mean of softmax probabilities."""
    return cases(
        fn,
        [
            ("5 views, 7 images, 3 classes", _probe_mean),
            ("float64 logits", lambda f: _probe_mean(f, torch.float64)),
        ],
    )
