"""DELIBERATELY BUGGY CODE for notebook 07 (the code-review interview). Do not import it anywhere else.

Every function here looks plausible, runs without an error on the obvious test, and has exactly one
silent bug. ``lessonlib.review.checks`` demonstrates each bug with a concrete failing case and
``lessonlib.review.answers`` holds the corrected versions (same names and signatures). The correct,
documented implementations the course teaches live in ``lessonlib.presets``, ``ecg``, ``tabular``,
``mixing`` and ``tta``; nothing in this file should ever be used to train a model.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torchvision.transforms import v2

from lessonlib.geometric import dihedral, random_affine
from lessonlib.utils import normal, randint, randperm, sample_beta, uniform

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ----------------------------------------------------------------------------------------------
def random_window(signal, fs, *, seconds=2.5, generator=None):
    """A random window of ``seconds`` from each record of an ECG batch ``[B, C, T]`` sampled at ``fs`` Hz.

    Every record gets its own start; all channels of a record share it. Returns ``[B, C, window]``.
    """
    window = int(seconds * 250)  # samples in the window
    b, c, t = signal.shape
    if window > t:
        raise ValueError(f"records of {t} samples are shorter than the {seconds}-s window")
    starts = randint(0, t - window + 1, b, generator=generator, device=signal.device)
    idx = starts[:, None] + torch.arange(window, device=signal.device)
    return torch.gather(signal, -1, idx[:, None, :].expand(b, c, window))


# ----------------------------------------------------------------------------------------------
def add_baseline_wander(signal, fs, *, freq_hz=0.3, amplitude_mv=0.1, phase=0.0):
    """Add a sinusoidal baseline wander of ``freq_hz`` Hz and ``amplitude_mv`` mV to ``signal`` ``[..., T]``
    (millivolts, sampled at ``fs`` Hz). Respiration moves the baseline at roughly 0.1-0.5 Hz."""
    t = torch.linspace(0, 1, signal.shape[-1], device=signal.device, dtype=signal.dtype)
    return signal + amplitude_mv * torch.sin(2 * math.pi * freq_hz * t + phase)


# ----------------------------------------------------------------------------------------------
def random_time_shift(x, *, max_shift=50, generator=None):
    """Circularly shift each series of ``x`` ``[B, C, T]`` by its own integer in ``[-max_shift, max_shift]``.

    Reproducible: the same ``generator`` state gives the same shifts.
    """
    b, _, t = x.shape
    shifts = torch.from_numpy(np.random.randint(-max_shift, max_shift + 1, size=b)).to(x.device)
    idx = (torch.arange(t, device=x.device)[None, :] - shifts[:, None]) % t
    return torch.gather(x, -1, idx[:, None, :].expand_as(x))


# ----------------------------------------------------------------------------------------------
def add_gaussian_noise(x, *, relative_std=0.05, generator=None):
    """Gaussian noise with standard deviation ``relative_std`` × each sample's own std, for ``x`` ``[B, ...]``.

    Returns the noisy batch (same shape, dtype and device).
    """
    scale = relative_std * x.flatten(1).std(dim=1).view(-1, *([1] * (x.ndim - 1)))
    x += scale * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x


# ----------------------------------------------------------------------------------------------
def random_brightness(x, *, max_delta=0.2, generator=None):
    """Multiply each image of ``x`` ``[B, C, H, W]`` by its own factor drawn from ``[1 - max_delta, 1 + max_delta]``."""
    factor = uniform(1, low=1 - max_delta, high=1 + max_delta, generator=generator, device=x.device, dtype=x.dtype)
    return x * factor


# ----------------------------------------------------------------------------------------------
def mixup(x, y_soft, *, alpha=0.4, generator=None):
    """Mixup with one λ ~ Beta(alpha, alpha) per sample, partners from a random permutation.

    ``x`` ``[B, ...]``, ``y_soft`` ``[B, K]`` (rows sum to 1). Returns ``(x_mix, y_mix)`` with
    ``x_mix[i] = λ_i x[i] + (1 - λ_i) x[j]`` and ``y_mix[i] = λ_i y[i] + (1 - λ_i) y[j]``, ``j = perm[i]``.
    """
    b = x.shape[0]
    lam = sample_beta(alpha, alpha, b, generator=generator, device=x.device, dtype=x.dtype)
    perm = randperm(b, generator=generator, device=x.device)
    lam_x = lam.view(-1, *([1] * (x.ndim - 1)))
    x_mix = lam_x * x[perm] + (1 - lam_x) * x
    y_mix = lam[:, None] * y_soft + (1 - lam[:, None]) * y_soft[perm]
    return x_mix, y_mix


# ----------------------------------------------------------------------------------------------
def cutmix(x, y_soft, *, alpha=1.0, generator=None):
    """CutMix with one box per batch: sample ``i`` receives a box from sample ``i - 1`` (``torch.roll``).

    ``x`` ``[B, C, H, W]``, ``y_soft`` ``[B, K]``. The label weights equal the pixel areas.
    """
    b, _, h, w = x.shape
    lam = float(sample_beta(alpha, alpha, generator=generator))
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy = int(randint(0, h, 1, generator=generator))
    cx = int(randint(0, w, 1, generator=generator))
    y1, y2 = max(cy - cut_h // 2, 0), min(cy - cut_h // 2 + cut_h, h)
    x1, x2 = max(cx - cut_w // 2, 0), min(cx - cut_w // 2 + cut_w, w)
    x_mix = x.clone()
    x_mix[:, :, y1:y2, x1:x2] = x.roll(1, dims=0)[:, :, y1:y2, x1:x2]
    y_mix = lam * y_soft + (1 - lam) * y_soft.roll(1, dims=0)
    return x_mix, y_mix


# ----------------------------------------------------------------------------------------------
def cxr_train_augment(x, *, generator=None):
    """Training augmentation for posterior-anterior chest radiographs ``x`` ``[B, 1, H, W]``: a small rotation,
    shift and zoom, and a horizontal flip (a chest is left/right symmetric), drawn per image."""
    x = random_affine(x, degrees=5.0, translate=0.05, scale=(0.95, 1.05), generator=generator)
    flip = uniform(x.shape[0], generator=generator, device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


# ----------------------------------------------------------------------------------------------
def cxr_pipelines(*, strength=1.0):
    """``(train_fn, eval_fn)`` turning radiographs ``[B, 1, H, W]`` in [0, 1] into the 3-channel, normalised
    input of an ImageNet-pretrained backbone. ``train_fn(x, generator)`` adds a random affine scaled by
    ``strength``; ``eval_fn(x)`` is deterministic. At ``strength=0`` the two must agree."""

    def train_fn(x, generator=None):
        x = random_affine(
            x,
            degrees=5.0 * strength,
            translate=0.05 * strength,
            scale=(1 - 0.05 * strength, 1 + 0.05 * strength),
            generator=generator,
        )
        return (x.expand(-1, 3, -1, -1) - 0.5) / 0.5

    def eval_fn(x):
        mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x.expand(-1, 3, -1, -1) - mean) / std

    return train_fn, eval_fn


# ----------------------------------------------------------------------------------------------
def build_transform(train, *, size=24):
    """torchvision v2 pipeline for uint8 RGB images ``[3, H, W]`` -> normalised float ``[3, size, size]``.

    Training: random resized crop, flip and colour jitter. Evaluation: resize then a crop, deterministic.
    """
    to_float = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if train:
        return v2.Compose(
            [
                v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.ColorJitter(brightness=0.2, contrast=0.2),
                *to_float,
            ]
        )
    return v2.Compose([v2.Resize(int(size * 8 / 7), antialias=True), v2.RandomCrop(size), *to_float])


# ----------------------------------------------------------------------------------------------
def make_feature_noise(table, train_idx, *, relative_std=0.1):
    """An ``augment(x, y, generator) -> (x, y)`` for rows of ``table`` ``[N, F]`` that adds Gaussian noise
    of ``relative_std`` × each feature's standard deviation. Only the rows ``train_idx`` are training data."""
    feature_std = table.std(dim=0)

    def augment(x, y, generator=None):
        noise = normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + relative_std * feature_std.to(x.device, x.dtype) * noise, y

    return augment


# ----------------------------------------------------------------------------------------------
def tta_predict(model, x):
    """Class probabilities ``[B, K]`` for images ``x`` ``[B, C, H, W]``, averaged over the image and its
    horizontal flip, with the model in eval mode (deterministic)."""
    model.eval()
    with torch.no_grad():
        probs = torch.stack([model(x).softmax(-1), model(x.flip(-1)).softmax(-1)])
    return probs.mean(0)


# ----------------------------------------------------------------------------------------------
def tta_segment(model, x):
    """Per-pixel logits ``[B, K, H, W]`` of a segmentation model, averaged over the 8 dihedral (D4) views of
    square images ``x`` ``[B, C, H, W]``."""
    with torch.no_grad():
        views = [model(dihedral(x, k)) for k in range(8)]
    return torch.stack(views).mean(0)


# ----------------------------------------------------------------------------------------------
def predict_proba(model, x, *, batch_size=64):
    """Positive-class probabilities ``[N]`` of a binary classifier whose logits are ``[N, 1]``, in batches."""
    probs = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            probs.append(torch.sigmoid(model(x[start : start + batch_size]).squeeze()))
    return torch.cat(probs)
