"""Exercises of notebook 05 (CutMix): ``nb05.hint(k)``, ``nb05.hint(k, level=2)``, ``nb05.reveal(k)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lessonlib import mixing, reference
from lessonlib.exercises import Notebook, WrongAnswer, as_number, cases, expect_tensor, number
from lessonlib.mixing import cutmix, torchvision_index
from lessonlib.utils import make_generator

__all__ = ["EX", "hint", "reveal", "check_clipped_lambda", "check_cutmix_function", "check_lesion_visible"]
__all__ += ["lesion_visible"]

EX = Notebook("05")
hint, reveal = EX.hint, EX.reveal

# side = int(32·sqrt(0.25)) = 16 → x in [20, 36) clipped to [20, 32), y in [-4, 12) clipped to [0, 12)
_CLIPPED = 1.0 - (32 - 20) * (12 - 0) / (32 * 32)


@EX.exercise(
    1,
    "clipped λ",
    difficulty="medium",
    hints=(
        "The box runs off the image at this centre. Which pixels are actually pasted?",
        "side = int(32·√(1 − λ)); the box is [c − side//2, c − side//2 + side) in x and in y, clipped to [0, 32); "
        "λ = 1 − (clipped width × clipped height) / (32·32) is the weight the image keeps.",
    ),
    solution=_CLIPPED,
    explanation=(
        "side = 16, so x spans [20, 36) → [20, 32) (12 columns) and y spans [−4, 12) → [0, 12) (12 rows): "
        "144 of 1024 pixels are pasted and λ = 1 − 144/1024 = 0.859. Keeping the drawn 0.75 would label the "
        "image with 25 % of a partner that covers 14 % of it (timm's `correct_lam`)."
    ),
    wrong=[0.75, 0.25, 144 / 1024, 1 - 16 * 12 / 1024, 1 - 13 * 13 / 1024],
    variants=[np.float32(0.859375), torch.tensor(0.8594, dtype=torch.float32), 0.86],
)
def check_clipped_lambda(answer: Any) -> str | None:
    """32x32 image, proposed λ = 0.75, box centre (x=28, y=4): the corrected λ, to two decimals."""
    return number(
        answer,
        _CLIPPED,
        tol=0.005,
        what="your λ",
        mistakes={
            0.75: "that is the λ that was drawn; the box was clipped by the border, so fewer pixels were pasted.",
            0.25: "that is the partner's share before clipping, and λ is the weight the image keeps.",
            144 / 1024: "that is the partner's share (the pasted area); λ is the weight the image keeps.",
            1 - 16 * 12 / 1024: "the box is clipped in both directions here, not only in one.",
        },
    )


# ---------------------------------------------------------------------------------------------- 05.2


def _data(b, seed, dtype=torch.float32):
    g = make_generator(seed)
    x = torch.rand(b, 2, 9, 11, generator=g)
    if dtype == torch.uint8:
        x = (x * 255).to(torch.uint8)
    return x, torch.randint(0, 4, (b,), generator=g)


def _same(fn, box=(2, 1, 7, 6), b=5, seed=0, dtype=torch.float32):
    x, y = _data(b, seed, dtype)
    idx = torchvision_index(b)
    want_x, _, want_lam = reference.mixing.cutmix(x, reference.mixing.one_hot(y, 4), [box] * b, idx)
    x0 = x.clone()
    out = fn(x, box, idx)
    if not torch.equal(x, x0):
        return "the input batch was modified in place; clone it first"
    if not (isinstance(out, tuple) and len(out) == 2):
        raise WrongAnswer(f"return a pair (mixed_x, lam), got {type(out).__name__}")
    mixed, lam = out
    expect_tensor(mixed, "mixed_x", shape=x.shape, dtype=x.dtype)
    if not torch.equal(mixed, want_x):
        x1, y1, x2, y2 = box
        swapped = x.clone()
        swapped[:, :, x1:x2, y1:y2] = x[idx][:, :, x1:x2, y1:y2] if x2 <= x.shape[-2] else swapped[:, :, x1:x2, y1:y2]
        if torch.equal(mixed, swapped):
            return "rows and columns are swapped: rows are y (y1:y2), columns are x (x1:x2)"
        return "pixels differ: inside the half-open box [x1, x2) × [y1, y2) take x[index], elsewhere keep x"
    value = as_number(lam, "lam")
    if abs(value - float(want_lam[0])) > 1e-6:
        return "λ does not match the kept area: λ = 1 − (x2 − x1)(y2 − y1)/(H·W), the share the image keeps"
    return None


def _solution_cutmix(x, box, index):
    bx1, by1, bx2, by2 = box
    out = x.clone()
    out[:, :, by1:by2, bx1:bx2] = x[index][:, :, by1:by2, bx1:bx2]  # rows are y, columns are x
    return out, 1 - (bx2 - bx1) * (by2 - by1) / (x.shape[-2] * x.shape[-1])


def _variant_cutmix_where(x, box, index):
    x1, y1, x2, y2 = box
    h, w = x.shape[-2:]
    rows, cols = torch.arange(h).view(-1, 1), torch.arange(w).view(1, -1)
    inside = (rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)
    return torch.where(inside, x[index], x), 1 - inside.float().mean()


def _variant_cutmix_numpy(x, box, index):
    x1, y1, x2, y2 = box
    arr = x.numpy().copy()
    arr[:, :, y1:y2, x1:x2] = x.numpy()[index.numpy()][:, :, y1:y2, x1:x2]
    return torch.from_numpy(arr), np.float64(1 - (x2 - x1) * (y2 - y1) / (x.shape[-1] * x.shape[-2]))


def _bug_cutmix_axes(x, box, index):
    x1, y1, x2, y2 = box
    out = x.clone()
    out[:, :, x1:x2, y1:y2] = x[index][:, :, x1:x2, y1:y2]
    return out, 1 - (x2 - x1) * (y2 - y1) / (x.shape[-2] * x.shape[-1])


def _bug_cutmix_closed(x, box, index):
    x1, y1, x2, y2 = box
    out = x.clone()
    out[:, :, y1 : y2 + 1, x1 : x2 + 1] = x[index][:, :, y1 : y2 + 1, x1 : x2 + 1]
    return out, 1 - (x2 - x1 + 1) * (y2 - y1 + 1) / (x.shape[-2] * x.shape[-1])


def _bug_cutmix_lam_pasted(x, box, index):
    out, lam = _solution_cutmix(x, box, index)
    return out, 1 - lam


def _bug_cutmix_in_place(x, box, index):
    x1, y1, x2, y2 = box
    x[:, :, y1:y2, x1:x2] = x[index][:, :, y1:y2, x1:x2]
    return x, 1 - (x2 - x1) * (y2 - y1) / (x.shape[-2] * x.shape[-1])


def _bug_cutmix_float(x, box, index):
    out, lam = _solution_cutmix(x.float(), box, index)
    return out, lam


def _bug_cutmix_no_partner(x, box, index):
    x1, y1, x2, y2 = box
    out = x.clone()
    out[:, :, y1:y2, x1:x2] = 0
    return out, 1 - (x2 - x1) * (y2 - y1) / (x.shape[-2] * x.shape[-1])


@EX.exercise(
    2,
    "CutMix for one batch",
    difficulty="medium",
    hints=(
        "Clone the batch, then overwrite the box region of every image with the same region of its partner.",
        "Rows are y and columns are x: `out[:, :, y1:y2, x1:x2] = x[index][:, :, y1:y2, x1:x2]` (half-open); "
        "λ is the share of the image that is kept, 1 − (x2 − x1)(y2 − y1)/(H·W).",
    ),
    solution=_solution_cutmix,
    explanation=(
        "A clone keeps `x` intact and its dtype (uint8 pixels are copied exactly, no arithmetic). Slicing "
        "rows with y and columns with x, half-open, pastes exactly (x2 − x1)(y2 − y1) pixels, and λ is what "
        "is left of the image, so an empty box gives λ = 1 and an unchanged batch."
    ),
    wrong=[
        _bug_cutmix_axes,
        _bug_cutmix_closed,
        _bug_cutmix_lam_pasted,
        _bug_cutmix_in_place,
        _bug_cutmix_float,
        _bug_cutmix_no_partner,
    ],
    variants=[_variant_cutmix_where, _variant_cutmix_numpy],
)
def check_cutmix_function(fn: Any) -> str | None:
    """``fn(x, box, index) -> (mixed_x, lam)`` must match ``reference.mixing.cutmix`` (and so ``mixing.cutmix``)."""
    return cases(
        fn,
        [
            ("a box inside the image", _same),
            ("a box touching the border", lambda f: _same(f, box=(6, 0, 11, 4), seed=1)),
            ("an empty box leaves the batch unchanged", lambda f: _same(f, box=(3, 3, 3, 8), seed=2)),
            ("uint8 images are copied exactly", lambda f: _same(f, seed=3, dtype=torch.uint8)),
            ("a batch of one", lambda f: _same(f, b=1, seed=4)),
        ],
    )


# ---------------------------------------------------------------------------------------------- 05.3


def lesion_visible(masks: torch.Tensor, box, index: torch.Tensor) -> torch.Tensor:
    """Reference for 05.3: ``[B]`` bool, is any lesion pixel visible in each CutMix-ed image?

    The masks are mixed exactly like the images (same box, same pairing); a lesion is visible when a
    mask pixel survives outside the box (own lesion) or is pasted inside it (partner's lesion).
    """
    y = torch.zeros(masks.shape[0], dtype=torch.long)
    per_sample = isinstance(box, torch.Tensor) and box.ndim == 2
    return cutmix(masks, y, box=box, index=index, per_sample=per_sample).inputs.flatten(1).any(1)


def _lesion_probe(fn, seed, per_sample):
    g = make_generator(seed)
    b, h, w = 8, 16, 16
    masks = torch.zeros(b, 1, h, w, dtype=torch.bool)
    cy, cx = torch.randint(2, h - 2, (b,), generator=g), torch.randint(2, w - 2, (b,), generator=g)
    rows, cols = torch.arange(h), torch.arange(w)
    near = ((rows[None, :, None] - cy[:, None, None]).abs() <= 1) & (
        (cols[None, None, :] - cx[:, None, None]).abs() <= 1
    )
    has = torch.rand(b, generator=g) < 0.6
    masks[:, 0] = near & has[:, None, None]
    index = torch.randperm(b, generator=g)
    if per_sample:
        x1 = torch.randint(0, w // 2, (b,), generator=g)
        y1 = torch.randint(0, h // 2, (b,), generator=g)
        box = torch.stack([x1, y1, x1 + w // 2, y1 + h // 2], 1)
    else:
        box = (4, 4, 12, 12)
    got = expect_tensor(fn(masks.clone(), box, index), "the result", shape=(b,))
    want = lesion_visible(masks, box, index)
    if not torch.equal(got.bool(), want):
        i = int((got.bool() != want).nonzero()[0])
        return f"image {i}: you say lesion visible = {bool(got[i])}, but it is {bool(want[i])}"
    return None


def _solution_lesion_visible(masks, box, index):
    boxes_per_image = isinstance(box, torch.Tensor) and box.ndim == 2
    no_labels = torch.zeros(masks.shape[0], dtype=torch.long)
    mixed = mixing.cutmix(masks, no_labels, box=box, index=index, per_sample=boxes_per_image).inputs
    return mixed.flatten(1).any(1)


def _box_mask(box, b, h, w):
    boxes = torch.as_tensor(box).reshape(-1, 4).expand(b, 4)
    rows, cols = torch.arange(h).view(1, -1, 1), torch.arange(w).view(1, 1, -1)
    x1, y1, x2, y2 = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    return ((rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)).unsqueeze(1)


def _variant_lesion_by_hand(masks, box, index):
    inside = _box_mask(box, *masks.shape[:1], *masks.shape[-2:])
    own = (masks & ~inside).flatten(1).any(1)
    pasted = (masks[index] & inside).flatten(1).any(1)
    return own | pasted


def _variant_lesion_float(masks, box, index):
    inside = _box_mask(box, masks.shape[0], *masks.shape[-2:]).float()
    mixed = masks.float() * (1 - inside) + masks[index].float() * inside
    return mixed.sum((1, 2, 3)) > 0


def _bug_lesion_ignores_box(masks, box, index):
    return masks.flatten(1).any(1)


def _bug_lesion_own_only(masks, box, index):
    inside = _box_mask(box, masks.shape[0], *masks.shape[-2:])
    return (masks & ~inside).flatten(1).any(1)


def _bug_lesion_first_box(masks, box, index):
    first = box[0] if isinstance(box, torch.Tensor) and box.ndim == 2 else box
    return _variant_lesion_by_hand(masks, tuple(int(v) for v in first), index)


def _bug_lesion_keepdim(masks, box, index):
    return _solution_lesion_visible(masks, box, index).unsqueeze(1)


def _bug_lesion_partner_everywhere(masks, box, index):
    return (masks | masks[index]).flatten(1).any(1)


@EX.exercise(
    3,
    "is the lesion still there?",
    difficulty="hard",
    hints=(
        "A lesion mask is an image too: what happens to it if you mix it exactly like the images?",
        "Mix the masks with the same box and pairing (`mixing.cutmix(masks, ..., box=box, index=index, "
        "per_sample=...)`, or by hand: own mask outside the box, partner's inside), then ask per image "
        "whether any pixel is set: `.flatten(1).any(1)`.",
    ),
    solution=_solution_lesion_visible,
    explanation=(
        "The label a presence classifier should get follows the pixels: an image shows a lesion when its own "
        "lesion survives outside the box or its partner's lesion is pasted inside. Mixing the masks like the "
        "images answers both at once, for one box or a box per image."
    ),
    wrong=[
        _bug_lesion_ignores_box,
        _bug_lesion_own_only,
        _bug_lesion_first_box,
        _bug_lesion_keepdim,
        _bug_lesion_partner_everywhere,
    ],
    variants=[_variant_lesion_by_hand, _variant_lesion_float],
)
def check_lesion_visible(fn: Any) -> str | None:
    """``fn(masks [B,1,H,W] bool, box, index) -> [B] bool`` (is a lesion visible after CutMix?)."""
    return cases(
        fn,
        [
            ("one box for the batch", lambda f: _lesion_probe(f, 0, False)),
            ("another batch", lambda f: _lesion_probe(f, 1, False)),
            ("one box per image ([B, 4])", lambda f: _lesion_probe(f, 2, True)),
        ],
    )
