"""A small corruption suite in the spirit of ImageNet-C and MNIST-C: real transforms, three severities.

Hendrycks & Dietterich (2019) measure robustness as accuracy on the test set passed through common
corruptions at several severities, averaged (ImageNet-C); Mu & Gilmer (2019) did the same for MNIST
(MNIST-C). This module does that for the course's images with six corruptions built from real
operations (torchvision's functional kernels and ``grid_sample``).

ImageNet-C's protocol, which AugMix follows, keeps the evaluation corruptions *disjoint* from the
training operations, so that "robust" does not mean "seen in training". Three of the six resemble an
operation of the policies' menu (``OVERLAPS``): ``contrast`` (the ``Contrast`` operation, factors down
to 0.01 in TrivialAugmentWide's space), ``brightness`` (``Brightness``) and ``gaussian_blur``
(``Sharpness`` with a factor below 1 blends towards a 3x3 smoothing, AugMix's reason to drop it).
``held_out_corruptions(ops)`` names the families a policy over ``ops`` never saw; a robustness claim
reports accuracy on those (``CorruptionResult.mean_accuracy``) and the seen ones separately.

``gaussian_noise``  additive N(0, σ²) noise, clipped to [0, 1];
``gaussian_blur``   a Gaussian blur, σ a fraction of the image side;
``contrast``        contrast reduced towards each image's mean by a factor;
``brightness``      an additive brightness shift, clipped;
``pixelate``        down-sampled (antialiased) to a fraction of the side, then up again (nearest);
``elastic``         a smooth random displacement field (as ``v2.ElasticTransform``), bilinear.

``SEVERITIES`` holds the three levels of each, chosen on the 8x8 digits so that level 3 hurts a plain
model a lot without reaching chance. Noise and the elastic field are drawn from a generator seeded
per (corruption, severity), so every model is tested on the *same* corrupted images.

Inputs are float images ``[B, C, H, W]`` in [0, 1]; outputs have the same shape, dtype and device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.v2 import functional as TF

from lessonlib.models import predict_logits
from lessonlib.utils import (
    check_generator,
    check_int,
    check_labels,
    check_one_of,
    check_tensor,
    make_generator,
    normal,
    uniform,
)

__all__ = [
    "CORRUPTIONS",
    "SEVERITIES",
    "OVERLAPS",
    "held_out_corruptions",
    "corrupt",
    "corrupted_sets",
    "CorruptionResult",
    "evaluate_corruptions",
]

CORRUPTIONS = ("gaussian_noise", "gaussian_blur", "contrast", "brightness", "pixelate", "elastic")

#: Parameters of severities 1, 2, 3 for each corruption (units in ``corrupt``'s docstring).
SEVERITIES: dict[str, tuple[float, float, float]] = {
    "gaussian_noise": (0.15, 0.3, 0.45),  # σ, in units of the [0, 1] intensity range
    "gaussian_blur": (0.07, 0.1, 0.13),  # σ as a fraction of the shorter side (8 px: 0.56, 0.8, 1.04 px)
    "contrast": (0.4, 0.25, 0.15),  # factor towards the image mean (1 = unchanged)
    "brightness": (0.2, 0.35, 0.5),  # additive shift of the intensity
    "pixelate": (0.75, 0.5, 0.375),  # side after down-sampling, as a fraction (8 px: 6, 4, 3 px)
    "elastic": (0.12, 0.2, 0.28),  # peak displacement as a fraction of the side (smoothing σ = 0.15 side)
}


#: The training operations (names of ``lessonlib.policy_spaces.OPS``) each corruption resembles; a
#: corruption absent here resembles none of them (noise, pixelation and a non-rigid elastic warp: the
#: menu's geometric operations are rigid or affine).
OVERLAPS: dict[str, tuple[str, ...]] = {
    "contrast": ("Contrast",),
    "brightness": ("Brightness",),
    "gaussian_blur": ("Sharpness",),
}


def held_out_corruptions(ops: Sequence[str]) -> tuple[str, ...]:
    """The corruptions of ``CORRUPTIONS`` that resemble none of the training operations ``ops``.

    ``ops``: a list or tuple of operation names (e.g. ``list(policy_spaces.SPACES["randaugment"])``;
    names outside ``OVERLAPS``' values simply overlap nothing). Returns the held-out corruption names in
    ``CORRUPTIONS`` order (all six for an empty list: no augmentation holds everything out).

    Raises:
        TypeError naming ``ops`` when it is not a list or tuple of strings (a bare string is refused).
    """
    if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
        raise TypeError(f"ops must be a list or tuple of operation names, got {ops!r:.80}")
    seen = set(ops)
    return tuple(c for c in CORRUPTIONS if not seen & set(OVERLAPS.get(c, ())))


def _kernel_fits(k: int, h: int, w: int) -> list[int]:
    """``[k_w, k_h]``: the odd kernel size ``k`` clamped to ``2·side − 1`` per axis.

    torchvision's ``gaussian_blur`` pads by reflection, which needs a padding (``k // 2``) smaller than
    the side; a 1-pixel-high image is then blurred along its width only. For images of 2 px or more the
    course's kernels already fit, so the clamp changes nothing there.
    """
    return [min(k, 2 * w - 1), min(k, 2 * h - 1)]


def _contrast(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Contrast towards each image's mean: torchvision's ``adjust_contrast`` for 1 and 3 channels (its mean
    is the luminance mean for RGB), the mean over all channels and pixels of the image otherwise."""
    if x.shape[-3] in (1, 3):
        return TF.adjust_contrast(x, contrast_factor=factor)
    mean = x.mean(dim=(-3, -2, -1), keepdim=True)
    return factor * x + (1 - factor) * mean


def _elastic(x: torch.Tensor, amount: float, generator: torch.Generator | None) -> torch.Tensor:
    b, _, h, w = x.shape
    side = min(h, w)
    sigma = 0.15 * side
    ksize = 2 * math.ceil(3 * sigma) + 1
    noise = uniform((b, 2, h, w), low=-1.0, high=1.0, generator=generator, device=x.device, dtype=x.dtype)
    field = TF.gaussian_blur(noise, _kernel_fits(ksize, h, w), [sigma, sigma])
    field = field / field.flatten(1).abs().amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)  # peak 1 per image
    # displacement in normalised coordinates: ``amount · side`` pixels at the peak
    disp = torch.stack([field[:, 0] * (2 * amount * side / w), field[:, 1] * (2 * amount * side / h)], dim=-1)
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(b, 2, 3)
    grid = F.affine_grid(theta, [b, x.shape[1], h, w], align_corners=False) + disp
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def corrupt(x: torch.Tensor, name: str, severity: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply corruption ``name`` at ``severity`` (1, 2 or 3) to every image of ``x``.

    Args:
        x: float images ``[B, C, H, W]`` in [0, 1] (float16/bfloat16 computed in float32), any number of
            channels ``C`` and any size down to 1x1; finite, at least one image.
        name: one of ``CORRUPTIONS``.
        severity: 1 (mild) to 3 (strong); the parameter is ``SEVERITIES[name][severity - 1]``.
        generator: randomness for ``gaussian_noise`` and ``elastic`` (the others are deterministic).

    Per channel: ``gaussian_noise`` draws independent noise for every channel and pixel; ``gaussian_blur``,
    ``pixelate`` and ``elastic`` move every channel the same way; ``brightness`` adds the same shift to every
    channel; ``contrast`` blends each image with one mean for all its channels, ``p·x + (1 − p)·mean``: for
    1 and 3 channels exactly ``TF.adjust_contrast`` (RGB: the mean of the luminance), for any other channel
    count the mean over all channels and pixels of that image. The Gaussian kernels (blur, and the smoothing
    of the elastic field) are clamped to ``2·side − 1`` per axis, so a 1-pixel-high image is blurred along
    its width only.

    Returns:
        A new tensor with the shape, dtype and device of ``x``, values in [0, 1].

    Raises:
        TypeError / ValueError naming ``x``, ``name``, ``severity`` or ``generator``: a non-float or
        non-4-d ``x``, an empty batch, NaN/inf, an unknown corruption, a severity outside 1..3.
    """
    check_tensor(x, "x", ndim=4, floating=True, finite=True, nonempty=True)
    check_one_of(name, "name", list(CORRUPTIONS))
    severity = check_int(severity, "severity", low=1, high=3)
    check_generator(generator)
    p = SEVERITIES[name][severity - 1]
    dt = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    xf = x.to(dt)
    h, w = x.shape[-2:]
    if name == "gaussian_noise":
        out = xf + p * normal(x.shape, generator=generator, device=x.device, dtype=dt)
    elif name == "gaussian_blur":
        sigma = p * min(h, w)
        k = 2 * math.ceil(3 * sigma) + 1
        out = TF.gaussian_blur(xf, _kernel_fits(k, h, w), [sigma, sigma])
    elif name == "contrast":
        out = _contrast(xf, p)
    elif name == "brightness":
        out = xf + p
    elif name == "pixelate":
        small = [max(1, round(p * h)), max(1, round(p * w))]
        down = TF.resize(xf, small, interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
        out = TF.resize(down, [h, w], interpolation=TF.InterpolationMode.NEAREST)
    else:
        out = _elastic(xf, p, generator)
    return out.clamp(0.0, 1.0).to(x.dtype)


def corrupted_sets(
    x: torch.Tensor,
    *,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = (1, 2, 3),
    seed: int = 0,
) -> dict[tuple[str, int], torch.Tensor]:
    """Every (corruption, severity) version of the test images ``x``, computed once.

    Random corruptions use a generator seeded from ``seed`` and the pair's position, so the sets are
    reproducible and every model is scored on the same images. Returns ``{(name, severity): [B, C, H, W]}``.

    Raises:
        TypeError / ValueError naming ``x`` (as ``corrupt``), ``corruptions`` (a non-empty list or tuple
        of names from ``CORRUPTIONS``), ``severities`` (a non-empty list or tuple of 1, 2, 3) or ``seed``.
    """
    check_tensor(x, "x", ndim=4, floating=True, finite=True, nonempty=True)
    if not isinstance(corruptions, (list, tuple)) or not corruptions:
        raise TypeError(f"corruptions must be a non-empty list of names from CORRUPTIONS, got {corruptions!r:.80}")
    if not isinstance(severities, (list, tuple)) or not severities:
        raise TypeError(f"severities must be a non-empty list of 1, 2, 3, got {severities!r:.80}")
    names = [check_one_of(n, f"corruptions[{i}]", list(CORRUPTIONS)) for i, n in enumerate(corruptions)]
    levels = [check_int(s, f"severities[{j}]", low=1, high=3) for j, s in enumerate(severities)]
    seed = check_int(seed, "seed", low=0)
    out = {}
    for i, name in enumerate(names):
        for s in levels:
            g = make_generator(seed * 1000 + 10 * i + s)
            out[name, s] = corrupt(x, name, s, generator=g)
    return out


@dataclass(frozen=True)
class CorruptionResult:
    """Accuracy on the clean test set and on each corrupted copy.

    ``accuracy[(name, severity)]`` is a fraction; ``mean_corruption_accuracy`` is their mean over all
    corruptions and severities (the ImageNet-C style headline, without its AlexNet normalisation).
    """

    clean: float
    accuracy: Mapping[tuple[str, int], float]

    @property
    def mean_corruption_accuracy(self) -> float:
        return float(np.mean(list(self.accuracy.values())))

    def mean_accuracy(self, corruptions: Sequence[str]) -> float:
        """Mean accuracy over every severity of the named corruptions (e.g. ``held_out_corruptions(ops)``).

        Raises ValueError naming ``corruptions`` when it is empty or names one this result lacks.
        """
        have = {n for n, _ in self.accuracy}
        if isinstance(corruptions, str) or not corruptions or any(c not in have for c in corruptions):
            raise ValueError(f"corruptions must be a non-empty list of {sorted(have)}, got {corruptions!r:.80}")
        return float(np.mean([a for (n, _), a in self.accuracy.items() if n in set(corruptions)]))

    def per_corruption(self) -> dict[str, float]:
        """Mean accuracy over severities, per corruption."""
        names = dict.fromkeys(n for n, _ in self.accuracy)
        return {n: float(np.mean([a for (m, _), a in self.accuracy.items() if m == n])) for n in names}

    def as_dict(self) -> dict[str, float]:
        """``{"clean", "mca", <corruption>: mean over severities, "<corruption>@<s>": ...}``.

        The shape ``repeat_over_seeds`` collects.
        """
        out = {"clean": self.clean, "mca": self.mean_corruption_accuracy, **self.per_corruption()}
        out.update({f"{n}@{s}": a for (n, s), a in self.accuracy.items()})
        return out


@torch.inference_mode()
def evaluate_corruptions(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, sets: Mapping[tuple[str, int], torch.Tensor]
) -> CorruptionResult:
    """Accuracy of ``model`` on the clean ``x`` ``[N, C, H, W]`` and on every set of ``corrupted_sets(x)``.

    The model is evaluated in eval mode (its mode is restored after); labels ``y`` ``[N]``.

    Raises:
        TypeError / ValueError naming the parameter: ``model`` not an ``nn.Module`` (or returning no
        ``[N, K]`` logits); ``x`` not a finite, non-empty float ``[N, C, H, W]``; ``y`` not integer labels
        with one entry per image; ``sets`` not a non-empty mapping of tensors shaped like ``x``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", ndim=4, floating=True, finite=True, nonempty=True)
    check_labels(y, "y", n=x.shape[0])
    if not isinstance(sets, Mapping):
        raise TypeError(
            f"sets must be a dict {{(name, severity): images}} from corrupted_sets(x), got {type(sets).__name__}"
        )
    if not sets:
        raise ValueError("sets is empty; build them with corrupted_sets(x)")
    for key, xs in sets.items():
        check_tensor(xs, f"sets[{key!r}]", floating=True, finite=True)
        if xs.shape != x.shape:
            raise ValueError(f"sets[{key!r}] has shape {tuple(xs.shape)}, expected {tuple(x.shape)}")
    keys = list(sets)
    allx = torch.cat([x, *(sets[k].to(x.device, x.dtype) for k in keys)])
    logits = predict_logits(model, allx, batch_size=4096)
    if logits.ndim != 2 or logits.shape[0] != allx.shape[0]:
        raise ValueError(f"model must return logits [N, K] ({allx.shape[0]} rows), got shape {tuple(logits.shape)}")
    pred = logits.argmax(1).view(len(keys) + 1, -1)
    right = (pred == y.to(pred.device)).double().mean(1).tolist()
    return CorruptionResult(right[0], dict(zip(keys, right[1:], strict=True)))
