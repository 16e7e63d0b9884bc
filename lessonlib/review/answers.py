"""Model answers for notebook 07: the functions of ``lessonlib.review.buggy`` with their bug fixed.

Same names and signatures as the buggy versions, so the same checks (``lessonlib.review.checks``) run
on both. Each fix is marked ``# FIX:``. The notebook reveals them only on request; CI runs every one
through its check (``tests/test_review.py``).
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms import v2

from lessonlib.geometric import dihedral, dihedral_inverse, random_affine
from lessonlib.utils import (
    check_positive,
    check_probability,
    check_tensor,
    normal,
    randint,
    randperm,
    sample_beta,
    uniform,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _per_sample(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """Reshape a ``[B]`` vector to broadcast against a ``[B, ...]`` tensor of ``ndim`` dimensions."""
    return v.view(-1, *([1] * (ndim - 1)))


# ----------------------------------------------------------------------------------------------
def random_window(signal, fs, *, seconds=2.5, generator=None):
    """A random window of ``seconds`` from each record of an ECG batch ``[B, C, T]`` sampled at ``fs`` Hz.

    Every record gets its own start; all channels of a record share it. Returns a new tensor
    ``[B, C, round(seconds * fs)]`` (same dtype and device).
    """
    check_tensor(signal, "signal", ndim=3)
    fs = check_positive(fs, "fs")
    seconds = check_positive(seconds, "seconds")
    window = round(seconds * fs)  # FIX: samples = seconds × samples per second, for this record's fs
    b, c, t = signal.shape
    if not 1 <= window <= t:
        raise ValueError(f"seconds={seconds} at fs={fs} Hz is {window} samples; records have only {t}")
    starts = randint(0, t - window + 1, b, generator=generator, device=signal.device)
    idx = starts[:, None] + torch.arange(window, device=signal.device)
    return torch.gather(signal, -1, idx[:, None, :].expand(b, c, window))


# ----------------------------------------------------------------------------------------------
def add_baseline_wander(signal, fs, *, freq_hz=0.3, amplitude_mv=0.1, phase=0.0):
    """Add a sinusoidal baseline wander of ``freq_hz`` Hz and ``amplitude_mv`` mV to ``signal`` ``[..., T]``
    (millivolts, sampled at ``fs`` Hz). Returns a new tensor; the wander is the same physical
    frequency whatever the record length or sampling rate."""
    check_tensor(signal, "signal", floating=True)
    fs = check_positive(fs, "fs")
    freq_hz = check_positive(freq_hz, "freq_hz")
    t = torch.arange(signal.shape[-1], device=signal.device, dtype=signal.dtype) / fs  # FIX: time in seconds
    return signal + amplitude_mv * torch.sin(2 * math.pi * freq_hz * t + phase)


# ----------------------------------------------------------------------------------------------
def random_time_shift(x, *, max_shift=50, generator=None):
    """Circularly shift each series of ``x`` ``[B, C, T]`` by its own integer in ``[-max_shift, max_shift]``.

    Reproducible: the same ``generator`` state gives the same shifts; no global RNG is touched.
    Returns a new tensor (same shape, dtype, device).
    """
    check_tensor(x, "x", ndim=3)
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
    b, _, t = x.shape
    shifts = randint(-max_shift, max_shift + 1, b, generator=generator, device=x.device)  # FIX: torch generator
    idx = (torch.arange(t, device=x.device)[None, :] - shifts[:, None]) % t
    return torch.gather(x, -1, idx[:, None, :].expand_as(x))


# ----------------------------------------------------------------------------------------------
def add_gaussian_noise(x, *, relative_std=0.05, generator=None):
    """Gaussian noise with standard deviation ``relative_std`` × each sample's own std, for ``x`` ``[B, ...]``.

    Returns a new noisy batch (same shape, dtype and device); ``x`` is not modified.
    """
    check_tensor(x, "x", floating=True)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch [B, ...] with at least 2 dims, got shape {tuple(x.shape)}")
    scale = relative_std * _per_sample(x.flatten(1).std(dim=1), x.ndim)
    return x + scale * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)  # FIX: out of place


# ----------------------------------------------------------------------------------------------
def random_brightness(x, *, max_delta=0.2, generator=None):
    """Multiply each image of ``x`` ``[B, C, H, W]`` by its own factor drawn from ``[1 - max_delta, 1 + max_delta]``.

    Returns a new tensor (same shape, dtype, device).
    """
    check_tensor(x, "x", ndim=4, floating=True)
    check_probability(max_delta, "max_delta")
    factor = uniform(x.shape[0], low=1 - max_delta, high=1 + max_delta, generator=generator, device=x.device)
    return x * _per_sample(factor.to(x.dtype), x.ndim)  # FIX: one factor per image, not one per batch


# ----------------------------------------------------------------------------------------------
def mixup(x, y_soft, *, alpha=0.4, generator=None):
    """Mixup with one λ ~ Beta(alpha, alpha) per sample, partners from a random permutation.

    ``x`` ``[B, ...]``, ``y_soft`` ``[B, K]`` (rows sum to 1). Returns new tensors ``(x_mix, y_mix)`` with
    ``x_mix[i] = λ_i x[i] + (1 - λ_i) x[j]`` and ``y_mix[i] = λ_i y[i] + (1 - λ_i) y[j]``, ``j = perm[i]``.
    """
    check_tensor(x, "x", floating=True)
    check_tensor(y_soft, "y_soft", ndim=2, floating=True)
    if x.shape[0] != y_soft.shape[0]:
        raise ValueError(f"x has {x.shape[0]} samples but y_soft has {y_soft.shape[0]}; they must match")
    b = x.shape[0]
    lam = sample_beta(alpha, alpha, b, generator=generator, device=x.device, dtype=x.dtype)
    perm = randperm(b, generator=generator, device=x.device)
    lam_x = _per_sample(lam, x.ndim)
    x_mix = lam_x * x + (1 - lam_x) * x[perm]  # FIX: λ weighs the sample itself, as in the label
    y_mix = lam[:, None] * y_soft + (1 - lam[:, None]) * y_soft[perm]
    return x_mix, y_mix


# ----------------------------------------------------------------------------------------------
def cutmix(x, y_soft, *, alpha=1.0, generator=None):
    """CutMix with one box per batch: sample ``i`` receives a box from sample ``i - 1`` (``torch.roll``).

    ``x`` ``[B, C, H, W]``, ``y_soft`` ``[B, K]``. The label weights equal the pixel areas actually pasted,
    after the box is clipped to the image. Returns new tensors ``(x_mix, y_mix)``.
    """
    check_tensor(x, "x", ndim=4, floating=True)
    check_tensor(y_soft, "y_soft", ndim=2, floating=True)
    if x.shape[0] != y_soft.shape[0]:
        raise ValueError(f"x has {x.shape[0]} samples but y_soft has {y_soft.shape[0]}; they must match")
    b, _, h, w = x.shape
    lam = float(sample_beta(alpha, alpha, generator=generator))
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy = int(randint(0, h, 1, generator=generator))
    cx = int(randint(0, w, 1, generator=generator))
    y1, y2 = max(cy - cut_h // 2, 0), min(cy - cut_h // 2 + cut_h, h)
    x1, x2 = max(cx - cut_w // 2, 0), min(cx - cut_w // 2 + cut_w, w)
    x_mix = x.clone()
    x_mix[:, :, y1:y2, x1:x2] = x.roll(1, dims=0)[:, :, y1:y2, x1:x2]
    lam = 1.0 - (y2 - y1) * (x2 - x1) / (h * w)  # FIX: λ from the clipped box that was really pasted
    y_mix = lam * y_soft + (1 - lam) * y_soft.roll(1, dims=0)
    return x_mix, y_mix


# ----------------------------------------------------------------------------------------------
def cxr_train_augment(x, *, generator=None):
    """Training augmentation for posterior-anterior chest radiographs ``x`` ``[B, 1, H, W]``: a small rotation,
    shift and zoom drawn per image. No flip: the heart lies on the patient's left, dextrocardia is a
    finding in its own right, and side markers would read backwards. Returns a new tensor."""
    check_tensor(x, "x", ndim=4, floating=True)
    return random_affine(x, degrees=5.0, translate=0.05, scale=(0.95, 1.05), generator=generator)  # FIX: no flip


# ----------------------------------------------------------------------------------------------
def cxr_pipelines(*, strength=1.0):
    """``(train_fn, eval_fn)`` turning radiographs ``[B, 1, H, W]`` in [0, 1] into the 3-channel, normalised
    input of an ImageNet-pretrained backbone. ``train_fn(x, generator)`` adds a random affine scaled by
    ``strength``; ``eval_fn(x)`` is deterministic. Both share one normalisation, so at ``strength=0``
    they agree."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be a number in [0, 1], got {strength!r}")

    def normalise(x):  # FIX: one function shared by both pipelines
        mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x.expand(-1, 3, -1, -1) - mean) / std

    def train_fn(x, generator=None):
        check_tensor(x, "x", ndim=4, floating=True)
        x = random_affine(
            x,
            degrees=5.0 * strength,
            translate=0.05 * strength,
            scale=(1 - 0.05 * strength, 1 + 0.05 * strength),
            generator=generator,
        )
        return normalise(x)

    def eval_fn(x):
        check_tensor(x, "x", ndim=4, floating=True)
        return normalise(x)

    return train_fn, eval_fn


# ----------------------------------------------------------------------------------------------
def build_transform(train, *, size=24):
    """torchvision v2 pipeline for uint8 RGB images ``[3, H, W]`` -> normalised float ``[3, size, size]``.

    Training: random resized crop, flip and colour jitter. Evaluation: resize then a centre crop, so
    the same image always gives the same tensor.
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be a bool, got {type(train).__name__}")
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
    return v2.Compose([v2.Resize(int(size * 8 / 7), antialias=True), v2.CenterCrop(size), *to_float])  # FIX


# ----------------------------------------------------------------------------------------------
def make_feature_noise(table, train_idx, *, relative_std=0.1):
    """An ``augment(x, y, generator) -> (x, y)`` for rows of ``table`` ``[N, F]`` that adds Gaussian noise
    of ``relative_std`` × each feature's standard deviation, measured on the training rows
    ``train_idx`` only (the test rows never influence training)."""
    check_tensor(table, "table", ndim=2, floating=True)
    check_tensor(train_idx, "train_idx", ndim=1)
    if train_idx.numel() < 2:
        raise ValueError(f"train_idx must hold at least 2 rows to estimate a std, got {train_idx.numel()}")
    feature_std = table[train_idx].std(dim=0)  # FIX: statistics from the training rows only

    def augment(x, y, generator=None):
        noise = normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + relative_std * feature_std.to(x.device, x.dtype) * noise, y

    return augment


# ----------------------------------------------------------------------------------------------
def tta_predict(model, x):
    """Class probabilities ``[B, K]`` for images ``x`` ``[B, C, H, W]``, averaged over the image and its
    horizontal flip, with the model in eval mode (deterministic). The model's mode is restored after."""
    check_tensor(x, "x", ndim=4, floating=True)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probs = torch.stack([model(x).softmax(-1), model(x.flip(-1)).softmax(-1)])
    finally:
        model.train(was_training)  # FIX: leave the caller's model as we found it
    return probs.mean(0)


# ----------------------------------------------------------------------------------------------
def tta_segment(model, x):
    """Per-pixel logits ``[B, K, H, W]`` of a segmentation model, averaged over the 8 dihedral (D4) views of
    square images ``x`` ``[B, C, H, W]``; each view's output is mapped back to the original orientation."""
    check_tensor(x, "x", ndim=4, floating=True)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must hold square images for D4 views, got H x W = {x.shape[-2]} x {x.shape[-1]}")
    with torch.no_grad():
        views = [dihedral_inverse(model(dihedral(x, k)), k) for k in range(8)]  # FIX: undo each view
    return torch.stack(views).mean(0)


# ----------------------------------------------------------------------------------------------
def predict_proba(model, x, *, batch_size=64):
    """Positive-class probabilities ``[N]`` of a binary classifier whose logits are ``[N, 1]``, in batches."""
    check_tensor(x, "x", floating=True)
    probs = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size])
            probs.append(torch.sigmoid(logits.squeeze(-1)))  # FIX: drop only the class dim, keep the batch
    return torch.cat(probs)
