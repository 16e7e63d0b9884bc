"""Reference TrivialAugment, RandAugment and AugMix (see ``lessonlib.reference``), one image at a time.

A policy is two steps: a sampler draws, for every image, which operation(s) and which signed
magnitude(s); ``apply_draws`` applies them with torchvision's own functional operations. The draws
are plain lists ``[[(name, magnitude), ...], ...]`` (one list of steps per image), so the fast
``lessonlib.policies`` can be run on the same draws and compared pixel for pixel.

A *space* here is ``{name: (bins, signed)}``: ``bins`` the ``[num_bins]`` magnitudes of the operation
(``None`` for one without a magnitude, such as ``Equalize``), ``signed`` whether it gets a random sign;
``lessonlib.policy_spaces.SPACES`` evaluated at one ``num_bins`` and image size is one.

The oracle for ``lessonlib.policies`` (``tests/test_reference_policies.py``).
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "apply_op",
    "apply_draws",
    "sample_trivial_augment",
    "sample_rand_augment",
    "trivial_augment",
    "augmix",
    "jensen_shannon",
]


def apply_op(img: torch.Tensor, name: str, magnitude: float, interpolation: str = "nearest", fill=None):
    """One operation of the policies' menu on one image ``img`` ``[C, H, W]`` (uint8 or float in [0, 1]).

    The menu of AutoAugment and RandAugment (Cubuk et al., 2020, *RandAugment: Practical automated
    data augmentation with a reduced search space*), in torchvision's units: shears as tan(angle) about
    the top-left corner, translations in whole pixels, rotation in degrees, brightness/colour/contrast/
    sharpness as a factor ``1 + magnitude``, posterize as bits kept, solarize as the threshold
    fraction of the maximum. Each is torchvision's functional operation, so the result is its.
    """
    assert img.ndim == 3 and math.isfinite(magnitude)
    mode, fill = TF.InterpolationMode(interpolation), None if fill is None else float(fill)
    shear = math.degrees(math.atan(magnitude))
    warp = dict(angle=0.0, scale=1.0, interpolation=mode, fill=fill)
    ops = {
        "Identity": lambda: img,
        "ShearX": lambda: TF.affine(img, **warp, translate=[0, 0], shear=[shear, 0.0], center=[0, 0]),
        "ShearY": lambda: TF.affine(img, **warp, translate=[0, 0], shear=[0.0, shear], center=[0, 0]),
        "TranslateX": lambda: TF.affine(img, **warp, translate=[int(magnitude), 0], shear=[0.0, 0.0]),
        "TranslateY": lambda: TF.affine(img, **warp, translate=[0, int(magnitude)], shear=[0.0, 0.0]),
        "Rotate": lambda: TF.rotate(img, angle=magnitude, interpolation=mode, fill=fill),
        "Brightness": lambda: TF.adjust_brightness(img, 1.0 + magnitude),
        "Color": lambda: TF.adjust_saturation(img, 1.0 + magnitude),
        "Contrast": lambda: TF.adjust_contrast(img, 1.0 + magnitude),
        "Sharpness": lambda: TF.adjust_sharpness(img, 1.0 + magnitude),
        "Posterize": lambda: TF.posterize(img, int(magnitude)),
        "Solarize": lambda: TF.solarize(img, (1.0 if img.is_floating_point() else 255.0) * magnitude),
        "AutoContrast": lambda: TF.autocontrast(img),
        "Equalize": lambda: TF.equalize(img),
        "Invert": lambda: TF.invert(img),
    }
    return ops[name]()


def apply_draws(x: torch.Tensor, draws, interpolation: str = "nearest", fill=None) -> torch.Tensor:
    """Apply per-image draws to a batch ``x`` ``[B, C, H, W]``: ``x̃_i = op_{i,N} ∘ … ∘ op_{i,1}(x_i)``,
    where ``draws[i]`` is image i's list of steps ``(name, magnitude)`` (RandAugment: Cubuk et al., 2020;
    TrivialAugment: one step). A loop over images: every image gets its own operations.
    """
    assert x.ndim == 4 and len(draws) == len(x)
    out = []
    for img, steps in zip(x, draws, strict=True):
        for name, magnitude in steps:
            img = apply_op(img, name, magnitude, interpolation, fill)
        out.append(img)
    return torch.stack(out)


def _signed(space: dict, name: str, k: int, flip: bool) -> tuple[str, float]:
    """Operation ``name`` at bin ``k`` of its space, negated when it is signed and ``flip`` came up."""
    bins, signed = space[name]
    magnitude = 0.0 if bins is None else float(bins[k])
    return name, -magnitude if signed and flip and bins is not None else magnitude


def sample_trivial_augment(batch: int, space: dict, num_bins: int, generator=None) -> list[list[tuple[str, float]]]:
    """TrivialAugment's draws (Müller & Hutter, 2021, *TrivialAugment: Tuning-free yet state-of-the-art
    data augmentation*): for every image, independently, one step

        op ~ U(ops),   k ~ U{0, …, num_bins − 1},   s ~ U{−1, +1} (signed ops only),   magnitude = s·bins_op[k].

    No N, no M, no probability. Draws, in this order: every image's op, every image's bin, every sign.
    """
    names = list(space)
    op = torch.randint(len(names), (batch,), generator=generator)
    k = torch.randint(num_bins, (batch,), generator=generator)
    flip = torch.rand(batch, generator=generator) <= 0.5
    return [[_signed(space, names[op[i]], int(k[i]), bool(flip[i]))] for i in range(batch)]


def sample_rand_augment(batch: int, space: dict, num_ops: int, magnitude: int, generator=None) -> list:
    """RandAugment's draws (Cubuk et al., 2020, *RandAugment: Practical automated data augmentation with
    a reduced search space*): for every image, N = ``num_ops`` steps, each

        op_j ~ U(ops) (with replacement),   s_j ~ U{−1, +1} (signed ops only),   magnitude_j = s_j·bins_op[M],

    one global bin M = ``magnitude`` for every operation. Draws: every op, then every sign.
    """
    names = list(space)
    op = torch.randint(len(names), (batch, num_ops), generator=generator)
    flip = torch.rand(batch, num_ops, generator=generator) <= 0.5
    return [
        [_signed(space, names[op[i, j]], magnitude, bool(flip[i, j])) for j in range(num_ops)] for i in range(batch)
    ]


def trivial_augment(
    x: torch.Tensor, space: dict, num_bins: int = 31, generator=None, interpolation="nearest", fill=None
):
    """TrivialAugment (Müller & Hutter, 2021, *TrivialAugment: Tuning-free yet state-of-the-art data
    augmentation*) on a batch ``x`` ``[B, C, H, W]``, one independent draw per image:
    ``x̃_i = op_i(x_i, s_i·bins_{op_i}[k_i])`` with the draws of ``sample_trivial_augment``.
    """
    return apply_draws(x, sample_trivial_augment(len(x), space, num_bins, generator), interpolation, fill)


def augmix(x: torch.Tensor, chains, weights: torch.Tensor, m: torch.Tensor, interpolation: str = "bilinear"):
    """AugMix's mixing (Hendrycks et al., 2020, *AugMix: A simple data processing method to improve
    robustness and uncertainty*), for every image i of ``x`` ``[B, C, H, W]``:

        x̃_i = (1 − m_i)·x_i + m_i·Σ_k w_ik·chain_ik(x_i),   w_i ~ Dirichlet(α, …, α),   m_i ~ Beta(α, α),

    ``chains[i][k]`` the steps ``(name, magnitude)`` of chain k (1 to 3 operations), ``weights`` ``[B, K]``
    and ``m`` ``[B]`` drawn by the caller. Computed in float; a uint8 result is truncated, as torchvision does.
    """
    assert x.ndim == 4 and weights.shape == (len(x), len(chains[0])) and m.shape == (len(x),)
    dt = x.dtype if x.is_floating_point() else torch.float32
    out = []
    for i, img in enumerate(x):
        mix = torch.zeros(img.shape, dtype=dt)
        for k, chain in enumerate(chains[i]):
            aug = apply_draws(img[None], [chain], interpolation)[0]
            mix += float(weights[i, k]) * aug.to(dt)
        out.append(((1 - float(m[i])) * img.to(dt) + float(m[i]) * mix).to(x.dtype))
    return torch.stack(out)


def jensen_shannon(*logits: torch.Tensor) -> torch.Tensor:
    """AugMix's consistency loss (Hendrycks et al., 2020, *AugMix: A simple data processing method to
    improve robustness and uncertainty*): with ``p_v = softmax(z_v)`` for V views ``[B, K]`` and their mean
    ``M = (1/V)·Σ_v p_v`` (clamped at 1e-7, as in the paper's code),

        JS(p_1, …, p_V) = (1/V)·Σ_v KL(p_v ‖ M),   KL(p ‖ M) = Σ_c p_c·(log p_c − log M_c),

    averaged over the batch, in nats: 0 when every view agrees, at most log V.
    """
    assert len(logits) >= 2 and all(z.shape == logits[0].shape and z.ndim == 2 for z in logits)
    p = [z.softmax(dim=1) for z in logits]
    log_m = torch.stack(p).mean(0).clamp(1e-7, 1.0).log()
    kl = [(torch.xlogy(pv, pv) - pv * log_m).sum(dim=1).mean() for pv in p]
    return sum(kl) / len(p)
