"""Checkers for notebook 02 (modality presets)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from lessonlib.exercises import Feedback, check_choice, check_function, check_number
from lessonlib.presets import IMAGENET_MEAN, IMAGENET_STD, consistency_problems
from lessonlib.utils import seeded

__all__ = [
    "HISTOLOGY_OPTIONS",
    "MISMATCH_OPTIONS",
    "BLACK_CORNER_FRACTION_45",
    "check_histology_label_preserving",
    "check_black_corners",
    "mismatch_pair",
    "check_mismatch",
    "fundus_image",
    "check_fundus_preset",
]

HISTOLOGY_OPTIONS = {
    "all 8 D4 symmetries": "a slide has no up, down, left or right: every square symmetry shows possible tissue",
    "mild stain/colour jitter": "staining protocols and scanners differ between labs; the morphology is unchanged",
    "random crop at the same magnification": "tissue is locally stationary and µm per pixel is unchanged",
    "downscale 2x (zoom out)": (
        "µm per pixel carries meaning: nuclear size and pleomorphism are features, so scale changes the evidence"
    ),
    "strong hue shift (+0.3)": (
        "it turns haematoxylin blue and DAB brown into colours no stain produces; in IHC the brown IS the label"
    ),
    "grayscale conversion": "it deletes the stain channels; DAB positivity can no longer be read",
}


def check_histology_label_preserving(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 02.1: which transforms keep a patch-level tumour/normal label on a stained tile."""
    expected = {"all 8 D4 symmetries", "mild stain/colour jitter", "random crop at the same magnification"}
    return check_choice("02.1 histology label", answer, expected, options=HISTOLOGY_OPTIONS, must_pass=must_pass)


#: Fraction of a square image left as fill after rotating it by 45° on the same canvas:
#: the four cut corners are right isosceles triangles, together (sqrt(2) - 1)**2 = 3 - 2*sqrt(2).
BLACK_CORNER_FRACTION_45 = 3.0 - 2.0 * math.sqrt(2.0)


def check_black_corners(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 02.2: fraction of a square image that is fill after a 45° ``F.rotate`` (no expand)."""
    return check_number(
        "02.2 black corners at 45°",
        answer,
        BLACK_CORNER_FRACTION_45,
        rel_tol=0.05,
        hint=(
            "rotate torch.ones(1, 224, 224) with F.rotate(x, 45.0) and take 1 - mean; "
            "the exact value is (sqrt(2) - 1)**2 = 3 - 2*sqrt(2)."
        ),
        must_pass=must_pass,
    )


MISMATCH_OPTIONS = {
    "channel count": "train feeds 1 channel, eval repeats grey to 3: the first conv sees a different input",
    "normalisation statistics": "train uses mean/std 0.5, eval ImageNet's: the same pixel arrives as another number",
    "value scale (0-1 vs 0-255)": "eval's ToDtype has no scale=True, so uint8 pixels arrive as 0..255, not 0..1",
    "output size": "both pipelines end at 224 x 224",
    "dtype": "both hand the model float32",
    "random augmentation in eval": "the eval pipeline has only deterministic steps",
}


def mismatch_pair() -> tuple[v2.Compose, v2.Compose]:
    """Exercise 02.3's train and eval pipelines (for uint8 one-channel radiographs), with their bugs.

    Returns ``(train, eval)``; both take a uint8 tensor ``[1, H, W]`` with H, W >= 256.
    """
    train = v2.Compose(
        [
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.RandomResizedCrop(224, scale=(0.8, 1.0), antialias=True),
            v2.RandomAffine(degrees=5),
            v2.Normalize([0.5], [0.5]),
        ]
    )
    evaluation = v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(256, antialias=True),
            v2.CenterCrop(224),
            v2.RGB(),
            v2.ToDtype(torch.float32),
            v2.Normalize(list(IMAGENET_MEAN), list(IMAGENET_STD)),
        ]
    )
    return train, evaluation


def check_mismatch(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 02.3: name every difference between ``mismatch_pair()``'s train and eval inputs."""
    expected = {"channel count", "normalisation statistics", "value scale (0-1 vs 0-255)"}
    return check_choice("02.3 train/eval mismatch", answer, expected, options=MISMATCH_OPTIONS, must_pass=must_pass)


@lru_cache(maxsize=1)
def _fundus_cached() -> torch.Tensor:
    from skimage import data as skdata
    from torchvision.transforms.v2 import functional as F

    arr = skdata.retina()  # uint8 [H, W, 3], a real fundus photograph (public domain)
    img = torch.from_numpy(arr.transpose(2, 0, 1).copy())
    return F.resize(img, [160], antialias=True)


def fundus_image() -> torch.Tensor:
    """scikit-image's fundus photograph (``skimage.data.retina``) as uint8 ``[3, 160, 160]``."""
    return _fundus_cached().clone()


def _rect_sample(c: int, n: int) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    mask = torch.zeros(1, n, n, dtype=torch.uint8)
    mask[:, n // 5 : n // 2 + n // 5, n // 4 : (3 * n) // 4] = 1
    img = mask.float().expand(c, n, n).clone() * 0.8 + 0.1
    return tv_tensors.Image(img), tv_tensors.Mask(mask)


def _fundus_cases(size: int = 96) -> list[tuple[str, Callable[[Callable[..., Any]], str | None]]]:
    def contract(fn):
        img = fundus_image()
        before = img.clone()
        tr, ev = fn(True, size), fn(False, size)
        a, b = ev(img), tr(img)
        if not torch.equal(img, before):
            return "the input image was modified in place."
        for name, out in (("eval", a), ("train", b)):
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (3, size, size):
                return f"{name} output has shape {tuple(getattr(out, 'shape', ()))}, expected (3, {size}, {size})."
            if out.dtype != torch.float32:
                return f"{name} output dtype is {out.dtype}, expected torch.float32."
        return None

    def deterministic(fn):
        ev = fn(False, size)
        img = fundus_image()
        return None if torch.equal(ev(img), ev(img)) else "two eval calls on the same image differ."

    def augments(fn):
        tr = fn(True, size)
        img = fundus_image()
        with seeded(0):
            outs = [tr(img) for _ in range(3)]
        same = all(torch.equal(outs[0], o) for o in outs[1:])
        return "three train calls gave identical outputs: the train pipeline does not augment." if same else None

    def consistent(fn):
        with seeded(0):
            problems = consistency_problems(fn(True, size), fn(False, size), fundus_image(), n=3)
        return None if not problems else "train and eval disagree: " + "; ".join(problems)

    def masks_follow(fn):
        img, mask = _rect_sample(3, 160)
        for train in (False, True):
            with seeded(0):
                out = fn(train, size)(img, mask)
            if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], tv_tensors.Mask)):
                return "a (Image, Mask) sample must come back as (Image, Mask); use v2 transforms throughout."
            o_img, o_mask = out
            if tuple(o_mask.shape[-2:]) != (size, size):
                return f"the mask has size {tuple(o_mask.shape[-2:])}, expected ({size}, {size})."
            ch = o_img[0]
            bright = ch > (ch.max() + ch.min()) / 2
            m = o_mask[0].bool()
            iou = float((bright & m).sum()) / max(float((bright | m).sum()), 1.0)
            if iou < 0.8:
                return f"{'train' if train else 'eval'}: the mask no longer covers the same pixels (IoU {iou:.2f})."
        return None

    def refuses_grey(fn):
        try:
            fn(False, size)(torch.rand(1, 160, 160))
        except (TypeError, ValueError) as exc:
            return None if "channel" in str(exc).lower() else f"the error should mention channels; it says: {exc}"
        return "a one-channel image went through silently; validate the channel count (presets.CheckImage)."

    return [
        ("output contract", contract),
        ("eval is deterministic", deterministic),
        ("train augments", augments),
        ("train/eval consistency", consistent),
        ("masks travel with the image", masks_follow),
        ("wrong channel count", refuses_grey),
    ]


def check_fundus_preset(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 02.4: ``fn(train: bool, size: int)`` returns a v2 transform for fundus photographs.

    Checked: output ``[3, size, size]`` float32 and input untouched; eval deterministic; train random;
    train/eval consistent (``consistency_problems``); masks follow the geometry; 1-channel input refused.
    """
    return check_function("02.4 fundus preset", fn, _fundus_cases(), must_pass=must_pass)
