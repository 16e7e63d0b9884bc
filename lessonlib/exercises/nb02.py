"""Exercises of notebook 02 (modality presets): ``nb02.hint(k)``, ``nb02.hint(k, level=2)``, ``nb02.reveal(k)``."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from lessonlib import presets
from lessonlib.exercises import Notebook, cases, choice, expect_tensor, learner, number
from lessonlib.presets import IMAGENET_MEAN, IMAGENET_STD, consistency_problems
from lessonlib.utils import seeded

__all__ = [
    "EX",
    "hint",
    "reveal",
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

EX = Notebook("02")
hint, reveal = EX.hint, EX.reveal

HISTOLOGY_OPTIONS = {
    "all 8 D4 symmetries": "a slide has no up, down, left or right: every square symmetry shows possible tissue",
    "mild stain/colour jitter": "staining protocols and scanners differ between labs; the morphology is unchanged",
    "random crop at the same magnification": "tissue is locally stationary and µm per pixel is unchanged",
    "downscale 2x (zoom out)": (
        "µm per pixel carries meaning: nuclear size and pleomorphism are features, and a factor of 2 is far "
        "more than the few per cent scanners differ by"
    ),
    "strong hue shift (+0.3)": (
        "it turns haematoxylin blue and DAB brown into colours no stain produces; in IHC the brown IS the label"
    ),
    "grayscale conversion": "it deletes the stain channels; DAB positivity can no longer be read",
}
_HISTO_KEY = {"all 8 D4 symmetries", "mild stain/colour jitter", "random crop at the same magnification"}


@EX.exercise(
    1,
    "histology label",
    difficulty="easy",
    hints=(
        "What on a stained tile carries the label: its orientation, its colours, its scale?",
        "A slide has no preferred orientation; the stain colours (brown DAB in IHC) and the µm per pixel "
        "are evidence. Which options keep both?",
    ),
    solution=_HISTO_KEY,
    explanation=(
        "Every symmetry of the square shows tissue as it could lie on a slide, mild stain jitter mimics "
        "lab-to-lab variation, and a crop at the same magnification keeps µm per pixel. A 2x zoom changes "
        "nuclear size, a strong hue shift produces impossible stains (and destroys DAB positivity), and "
        "grayscale deletes the stain channels."
    ),
    wrong=[
        _HISTO_KEY | {"downscale 2x (zoom out)"},
        _HISTO_KEY | {"strong hue shift (+0.3)"},
        {"all 8 D4 symmetries"},
        {"mild stain/colour jitter", "grayscale conversion"},
    ],
    variants=[sorted(_HISTO_KEY), tuple(_HISTO_KEY)],
)
def check_histology_label_preserving(answer: Any) -> str | None:
    """Which transforms keep a patch-level tumour/normal label on an IHC-stained tile?"""
    return choice(answer, _HISTO_KEY, HISTOLOGY_OPTIONS, missing_hint="A transform that keeps the label is not picked.")


#: Fraction of a square image left as fill after rotating it by 45° on the same canvas:
#: the four cut corners are right isosceles triangles, together (sqrt(2) - 1)**2 = 3 - 2*sqrt(2).
BLACK_CORNER_FRACTION_45 = 3.0 - 2.0 * math.sqrt(2.0)


@EX.exercise(
    2,
    "black corners at 45°",
    difficulty="medium",
    hints=(
        "Rotate `torch.ones(1, 224, 224)` with `F.rotate(x, 45.0)`: what fraction of the output is no longer 1?",
        "Geometrically: each of the four fill corners is a right isosceles triangle with legs 1 − √2/2 of the "
        "side; add up their areas (or measure `1 - rotated.mean()` on a tensor of ones).",
    ),
    solution=BLACK_CORNER_FRACTION_45,
    explanation=(
        "The rotated square overlaps the canvas in a regular octagon; the four corners left as fill together "
        "cover (√2 − 1)² = 3 − 2√2 ≈ 0.172 of the image, whatever its size, because every length scales with "
        "the side. `1 - F.rotate(torch.ones(1, 224, 224), 45.0).mean()` measures about the same."
    ),
    wrong=[0.25, 1 - BLACK_CORNER_FRACTION_45, math.sqrt(2) - 1, 0.5, 17.2],
    variants=[np.float32(0.1716), torch.tensor(0.17), 3 - 2 * 2**0.5],
)
def check_black_corners(answer: Any) -> str | None:
    """Fraction of a square image that is fill after a 45° ``F.rotate`` (no expand), measured to two decimals."""
    return number(
        answer,
        BLACK_CORNER_FRACTION_45,
        tol=0.006,
        what="your fraction",
        mistakes={
            1
            - BLACK_CORNER_FRACTION_45: "that is the part that still shows the image; the question asks for the fill.",
            17.16: "that is a percentage; give a fraction between 0 and 1.",
            0.25: "a quarter is a guess from the picture; measure it, or work out the four corner triangles.",
        },
    )


MISMATCH_OPTIONS = {
    "channel count": "train feeds 1 channel, eval repeats grey to 3: the first conv sees a different input",
    "normalisation statistics": "train uses mean/std 0.5, eval ImageNet's: the same pixel arrives as another number",
    "value scale (0-1 vs 0-255)": "eval's ToDtype has no scale=True, so uint8 pixels arrive as 0..255, not 0..1",
    "output size": "both pipelines end at 224 x 224",
    "dtype": "both hand the model float32",
    "random augmentation in eval": "the eval pipeline has only deterministic steps",
}
_MISMATCH_KEY = {"channel count", "normalisation statistics", "value scale (0-1 vs 0-255)"}


def mismatch_pair() -> tuple[v2.Compose, v2.Compose]:
    """Exercise 02.3's train and eval pipelines (for uint8 one-channel radiographs), with their bugs.

    Returns ``(train, eval)``; both take a uint8 tensor ``[1, H, W]`` with H, W >= 256.
    """
    train = v2.Compose(
        [
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.RandomResizedCrop(224, scale=(0.8, 1.0), antialias=True),
            v2.RandomAffine(degrees=5, interpolation=v2.InterpolationMode.BILINEAR),
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


@EX.exercise(
    3,
    "train/eval mismatch",
    difficulty="medium",
    hints=(
        "Run both pipelines on the same uint8 radiograph and print shape, dtype, min, max and mean of each output.",
        "Three things differ in what the model receives: how many channels, what range the pixels are in "
        "before normalising, and which mean/std is subtracted. Size and dtype agree.",
    ),
    solution=_MISMATCH_KEY,
    explanation=(
        "Train feeds 1 channel, eval 3 (`v2.RGB`); eval's `ToDtype` lacks `scale=True`, so pixels stay in "
        "0..255; and train normalises with 0.5/0.5, eval with ImageNet statistics. Both end at 224 × 224 "
        "float32, and eval is deterministic."
    ),
    wrong=[
        {"channel count", "normalisation statistics"},
        _MISMATCH_KEY | {"output size"},
        _MISMATCH_KEY | {"random augmentation in eval"},
        {"dtype"},
    ],
    variants=[sorted(_MISMATCH_KEY), tuple(_MISMATCH_KEY)],
)
def check_mismatch(answer: Any) -> str | None:
    """Name every difference between ``mismatch_pair()``'s train and eval inputs."""
    return choice(
        answer,
        _MISMATCH_KEY,
        MISMATCH_OPTIONS,
        missing_hint="Run both pipelines and compare the outputs' shapes and value ranges, not only the steps.",
    )


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


def _pipelines(fn, size: int) -> tuple[Callable, Callable]:
    tr = learner(fn(True, size), "your train transform")
    ev = learner(fn(False, size), "your eval transform")
    return tr, ev


def _colour_deviation(fn, size: int, n: int = 40) -> float:
    """How far train draws scatter in colour: the median over ``n`` draws of the largest per-channel
    distance between a draw and the draws' own median, at the centre of a flat image.

    A flat image is unchanged by any geometry (away from the corners), so what moves its centre is the
    colour jitter. Distances are measured in the pipeline's own units and divided by the eval output's
    intensity scale (eval of the flat image minus eval of a black one), so any normalisation cancels,
    and they are taken around the train draws' own median, not the eval output, so a constant train/eval
    offset (a normalisation mismatch, the consistency probe's business) scatters nothing and is not
    mistaken for jitter, and strong jitter is reported as jitter rather than as a mismatch.
    """
    colour = torch.tensor([0.75, 0.35, 0.15]).view(3, 1, 1)
    flat = (colour.expand(3, 160, 160) * 255).round().to(torch.uint8)
    tr, ev = _pipelines(fn, size)
    c = slice(size // 2 - 4, size // 2 + 4)
    e = expect_tensor(ev(flat), "eval output")[:, c, c].flatten(1).median(1).values
    b = expect_tensor(ev(torch.zeros(3, 160, 160, dtype=torch.uint8)), "eval output")[:, c, c].flatten(1).median(1)
    scale = float((e - b.values).mean())
    draws = []
    with seeded(0):
        for _ in range(n):
            draws.append(expect_tensor(tr(flat), "train output")[:, c, c].flatten(1).median(1).values)
    t = torch.stack(draws)
    spread = (t - t.median(0).values).abs().max(1).values / max(scale, 1e-6)
    return float(spread.median())


def _fundus_cases(size: int = 96) -> list[tuple[str, Callable[[Callable[..., Any]], str | None]]]:
    def contract(fn):
        img = fundus_image()
        before = img.clone()
        tr, ev = _pipelines(fn, size)
        a, b = ev(img), tr(img)
        if not torch.equal(img, before):
            return "the input image was modified in place."
        for name, out in (("eval", a), ("train", b)):
            expect_tensor(out, f"the {name} output", shape=(3, size, size), dtype=torch.float32)
        return None

    def deterministic(fn):
        _, ev = _pipelines(fn, size)
        img = fundus_image()
        return None if torch.equal(ev(img), ev(img)) else "two eval calls on the same image differ."

    def augments(fn):
        tr, _ = _pipelines(fn, size)
        img = fundus_image()
        with seeded(0):
            outs = [tr(img) for _ in range(3)]
        same = all(torch.equal(outs[0], o) for o in outs[1:])
        return "three train calls gave identical outputs: the train pipeline does not augment." if same else None

    def consistent(fn):
        tr, ev = _pipelines(fn, size)
        with seeded(0):
            problems = consistency_problems(tr, ev, fundus_image(), n=3)
        return None if not problems else "train and eval disagree: " + "; ".join(problems)

    def mild_colour(fn):
        dev = _colour_deviation(fn, size)
        if dev > 0.3:
            return (
                "the colour jitter is strong: train draws of one flat colour typically differ from each "
                "other by more than 30 % of its intensity. In a fundus photograph colour is evidence (red "
                "haemorrhages, yellow exudates): keep brightness/contrast/saturation within about ±15 % and "
                "hue nearly fixed."
            )
        return None

    def masks_follow(fn):
        img, mask = _rect_sample(3, 160)
        for train in (False, True):
            with seeded(0):
                out = learner(fn(train, size), "your transform")(img, mask)
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
        transform = fn(False, size)
        try:
            transform(torch.rand(1, 160, 160))
        except (TypeError, ValueError) as exc:
            return None if "channel" in str(exc).lower() else f"the error should mention channels; it says: {exc}"
        except Exception as exc:  # noqa: BLE001 - another error type is an answer to grade, not a crash
            return f"a one-channel image raised {type(exc).__name__}; raise a ValueError that names the channels."
        return "a one-channel image went through silently; validate the channel count (presets.CheckImage)."

    return [
        ("output contract", contract),
        ("eval is deterministic", deterministic),
        ("train augments", augments),
        ("colour stays plausible", mild_colour),  # before consistency: strong jitter also moves the statistics
        ("train/eval consistency", consistent),
        ("masks travel with the image", masks_follow),
        ("wrong channel count", refuses_grey),
    ]


def _solution_fundus(train, size=224):
    bilinear = v2.InterpolationMode.BILINEAR  # images are interpolated bilinearly; v2 keeps masks nearest
    steps = [
        presets.CheckImage("fundus", 3, size),
        v2.ToImage(),
        presets.ToUnitFloat(),
        v2.Resize(size, antialias=True),
        v2.CenterCrop(size),
    ]
    if train:
        # Any rotation: the disc's corners are black already. Flip: fine for a grading label, wrong for
        # laterality (left vs right eye). Mild colour: cameras differ, but red lesions and yellow exudates
        # are the findings.
        steps += [
            v2.RandomRotation(180, interpolation=bilinear),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.15, contrast=0.15, saturation=0.1, hue=0.02),
        ]
    steps.append(v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD))
    return v2.Compose(steps)


def _variant_fundus_affine(train, size=224):
    steps = [presets.CheckImage("fundus", 3, size), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    steps += [v2.Resize((size, size), antialias=True)]
    if train:
        steps += [
            v2.RandomAffine(degrees=30, scale=(0.95, 1.05), interpolation=v2.InterpolationMode.BILINEAR),
            v2.ColorJitter(brightness=0.1, contrast=0.1),
        ]
    return v2.Compose(steps + [v2.Normalize([0.5] * 3, [0.25] * 3)])


def _variant_fundus_preset(train, size=224):
    return presets.natural_image(train, size, strength=0.4)


def _bug_natural_image(train, size=224):
    return presets.natural_image(train, size)


def _bug_no_check(train, size=224):
    steps = [v2.ToImage(), presets.ToUnitFloat(), v2.Resize(size, antialias=True), v2.CenterCrop(size)]
    if train:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps + [v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD)])


def _bug_eval_random(train, size=224):
    steps = [presets.CheckImage("fundus", 3, size), v2.ToImage(), presets.ToUnitFloat()]
    steps += [v2.RandomResizedCrop(size, scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    return v2.Compose(steps + [v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD)])


def _bug_train_unnormalised(train, size=224):
    steps = [presets.CheckImage("fundus", 3, size), v2.ToImage(), presets.ToUnitFloat()]
    steps += [v2.Resize(size, antialias=True), v2.CenterCrop(size)]
    if train:
        return v2.Compose(steps + [v2.RandomHorizontalFlip()])
    return v2.Compose(steps + [v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD)])


def _bug_no_augmentation(train, size=224):
    return _solution_fundus(False, size)


def _bug_grey(train, size=224):
    steps = [presets.CheckImage("fundus", 3, size), v2.ToImage(), presets.ToUnitFloat()]
    steps += [v2.Resize(size, antialias=True), v2.CenterCrop(size), v2.Grayscale(1)]
    if train:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


@EX.exercise(
    4,
    "fundus preset",
    difficulty="hard",
    hints=(
        "Start from the eval pipeline (check the image, convert to float in [0, 1], resize, centre-crop, "
        "normalise), then add the random steps only when `train` is true, before the normalisation.",
        "Use v2 transforms throughout so masks follow; `presets.CheckImage('fundus', 3, size)` refuses grey "
        "images. The field of view is a disc on black, so rotation costs nothing; colour is evidence, so "
        "keep ColorJitter within about ±15 % and hue nearly fixed.",
    ),
    solution=_solution_fundus,
    explanation=(
        "Eval is deterministic (resize, centre crop, normalise) and train adds only what acquisition varies: "
        "any rotation (the disc is round, corners are black already, bilinear for the image), a flip (fine "
        "for a grading label, wrong for laterality), and mild colour jitter (cameras differ; colour is a "
        "finding). Both share the checks and the normalisation, so they agree when augmentation is off."
    ),
    wrong=[
        _bug_natural_image,
        _bug_no_check,
        _bug_eval_random,
        _bug_train_unnormalised,
        _bug_no_augmentation,
        _bug_grey,
    ],
    variants=[_variant_fundus_affine, _variant_fundus_preset],
)
def check_fundus_preset(fn: Any) -> str | None:
    """``fn(train: bool, size: int)`` returns a v2 transform for fundus photographs.

    Checked: output ``[3, size, size]`` float32 and input untouched; eval deterministic; train random;
    train/eval consistent (``consistency_problems``); colour jitter mild; masks follow the geometry;
    a 1-channel input refused with an error naming the channels.
    """
    return cases(fn, _fundus_cases())
