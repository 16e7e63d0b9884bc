"""Checkers for notebook 05 (CutMix)."""

from __future__ import annotations

from typing import Any

import torch

from lessonlib.exercises import Feedback, check_function, check_number
from lessonlib.mixing import cutmix, torchvision_index
from lessonlib.utils import make_generator

__all__ = ["check_clipped_lambda", "check_cutmix_function", "check_lesion_visible", "lesion_visible"]


def check_clipped_lambda(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 05.1: 32x32 image, proposed λ = 0.75, box centre (x=28, y=4): the corrected λ."""
    # side = int(32·sqrt(0.25)) = 16 → x in [20, 36) clipped to [20, 32), y in [-4, 12) clipped to [0, 12)
    expected = 1.0 - (32 - 20) * (12 - 0) / (32 * 32)
    return check_number(
        "05.1 clipped λ",
        answer,
        expected,
        rel_tol=1e-3,
        hint="side = int(32·sqrt(1 − λ)); the box is [cx − side//2, cx + side//2) clipped to the image; "
        "λ = 1 − clipped area / (H·W). 0.75 is the uncorrected value.",
        must_pass=must_pass,
    )


def _cutmix_cases():
    def data(b, seed, dtype=torch.float32):
        g = make_generator(seed)
        x = torch.rand(b, 2, 9, 11, generator=g)
        if dtype == torch.uint8:
            x = (x * 255).to(torch.uint8)
        return x, torch.randint(0, 4, (b,), generator=g)

    def same(fn, box=(2, 1, 7, 6), b=5, seed=0, dtype=torch.float32):
        x, y = data(b, seed, dtype)
        idx = torchvision_index(b)
        ref = cutmix(x, y, box=box, index=idx)
        x0 = x.clone()
        out, lam = fn(x, box, idx)
        if not torch.equal(x, x0):
            return "the input batch was modified in place; clone it first"
        if out.dtype != x.dtype or tuple(out.shape) != tuple(x.shape):
            return f"got {tuple(out.shape)} {out.dtype}, expected {tuple(x.shape)} {x.dtype}"
        if not torch.equal(out, ref.inputs):
            return "pixels differ: rows are y1:y2 and columns x1:x2 (half-open), copied from x[index]"
        if abs(float(lam) - ref.lam) > 1e-9:
            return f"λ = {float(lam):.4f} but the kept area is {ref.lam:.4f} = 1 − (x2 − x1)(y2 − y1)/(H·W)"
        return None

    return [
        ("a box inside the image", same),
        ("a box touching the border", lambda fn: same(fn, box=(6, 0, 11, 4), seed=1)),
        ("an empty box leaves the batch unchanged", lambda fn: same(fn, box=(3, 3, 3, 8), seed=2)),
        ("uint8 images are copied exactly", lambda fn: same(fn, seed=3, dtype=torch.uint8)),
        ("a batch of one", lambda fn: same(fn, b=1, seed=4)),
    ]


def check_cutmix_function(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 05.2: ``fn(x, box, index) -> (mixed_x, lam)`` must match ``lessonlib.mixing.cutmix``."""
    return check_function("05.2 CutMix for one batch", fn, _cutmix_cases(), must_pass=must_pass)


def lesion_visible(masks: torch.Tensor, box, index: torch.Tensor) -> torch.Tensor:
    """Reference for 05.3: ``[B]`` bool, is any lesion pixel visible in each CutMix-ed image?

    The masks are mixed exactly like the images (same box, same pairing); a lesion is visible when a
    mask pixel survives outside the box (own lesion) or is pasted inside it (partner's lesion).
    """
    y = torch.zeros(masks.shape[0], dtype=torch.long)
    per_sample = isinstance(box, torch.Tensor) and box.ndim == 2
    return cutmix(masks, y, box=box, index=index, per_sample=per_sample).inputs.flatten(1).any(1)


def _lesion_cases():
    def probe(fn, seed, per_sample):
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
        got = fn(masks, box, index)
        want = lesion_visible(masks, box, index)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (b,):
            return f"expected a [B] = [{b}] tensor, got {got!r:.60}"
        if not torch.equal(got.bool(), want):
            i = int((got.bool() != want).nonzero()[0])
            return f"image {i}: you say lesion visible = {bool(got[i])}, but it is {bool(want[i])}"
        return None

    return [
        ("one box for the batch", lambda fn: probe(fn, 0, False)),
        ("another batch", lambda fn: probe(fn, 1, False)),
        ("one box per image ([B, 4])", lambda fn: probe(fn, 2, True)),
    ]


def check_lesion_visible(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 05.3: ``fn(masks [B,1,H,W] bool, box, index) -> [B] bool`` (is a lesion visible after CutMix?)."""
    return check_function("05.3 is the lesion still there?", fn, _lesion_cases(), must_pass=must_pass)
