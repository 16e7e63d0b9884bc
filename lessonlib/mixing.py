"""Mixup and CutMix on a batch, soft targets and the mixed loss: the references, made fast and safe.

Read ``lessonlib.reference.mixing`` first (the formulas in 60 lines, one sample at a time). Each public
function here says which reference it equals and what it adds; ``tests/test_mixing.py`` checks the two
against each other on random inputs and the same random draws.

* ``mixup(x, y)``: ``inputs = lam·x + (1 − lam)·x[index]`` for any batch ``[B, ...]``.
* ``cutmix(x, y)``: paste the box ``[y1:y2, x1:x2]`` of ``x[index]`` into ``x`` for images ``[B, C, H, W]``;
  the returned ``lam`` is always the kept area fraction ``1 − (x2 − x1)(y2 − y1) / (H·W)`` after clipping.
* ``soft_targets(result, K)``: the mixed label rows ``lam·onehot(y_a) + (1 − lam)·onehot(y_b)`` (with
  optional label smoothing); ``mixed_loss(criterion, logits, result)``: ``lam·L(y_a) + (1 − lam)·L(y_b)``.
* ``box_coverage(mask, boxes)``: the share of a region (a lesion mask) inside each CutMix box — the
  quantity the area label ignores.

Conventions, stated because the references differ:

* Pairing is explicit: ``result.index[i]`` is the partner of sample ``i``. By default it is a random
  cycle through the batch: a random permutation ``p`` from ``generator``, and sample ``p[j]`` is paired
  with ``p[j + 1]`` (the permutation rolled by one), so for ``B > 1`` no sample is ever mixed with
  itself (a plain random permutation has one fixed point per batch on average) and every sample is a
  partner exactly once. A batch of one can only pair with itself (the result equals the input).
  torchvision v2 pairs ``i`` with ``i − 1`` (``index = (arange(B) − 1) % B``); timm pairs ``i`` with
  ``B − 1 − i`` (``index = arange(B).flip(0)``, which pairs the middle sample of an odd batch with itself).
  Pass ``index`` to reproduce either exactly.
* λ ~ Beta(α, α) from ``generator`` only (drawn as ``lessonlib.utils.sample_beta`` draws); passing ``lam``
  fixes it. ``per_sample=True`` draws one λ per sample (a ``[B]`` tensor) — torchvision offers one per
  batch only. Draw order: λ, then the pairing, then (CutMix) the box centres.
* The CutMix box is ``reference.mixing.cutmix_box``, the course's one convention: side
  ``cut = int(S·sqrt(1 − λ))`` (float64), a centre uniform over the pixels ``0..S−1``, the half-open span
  ``[c − cut // 2, c − cut // 2 + cut)`` clipped to ``[0, S]``. This is timm's ``rand_bbox`` with
  ``margin=0`` as of timm 1.0 (tested equal; timm before 0.9 ended the span at ``c + cut // 2``, one
  pixel short for odd ``cut``). torchvision's ``CutMix`` spans ``[c − h, c + h)`` with
  ``h = int(0.5·S·sqrt(1 − λ))``, one pixel less than ours when ``cut`` is odd. λ is then
  *recomputed* from the clipped area, so label and pixels agree.
* Inputs are images, signals or table rows: ``tv_tensors.Mask``, ``BoundingBoxes`` and ``KeyPoints``
  are refused with a ``ValueError`` (as torchvision does), because blending label maps or averaging
  coordinates is meaningless; the message says what to do instead. The output keeps the input's
  tensor subclass (a ``tv_tensors.Image`` stays one).
* Nothing is modified in place; results stay on ``x``'s device and dtype. ``mixup`` needs floating
  inputs (interpolating uint8 pixels would round; convert with ``torchvision.transforms.v2.ToDtype``
  first). ``cutmix`` only copies pixels, so it accepts integer images unchanged.
* Validation happens once, in the public function; the private helpers below it (draws included) do
  not check again.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision import tv_tensors

from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_positive,
    check_tensor,
    forked_cpu_rng,
)

__all__ = [
    "MixResult",
    "mixup",
    "cutmix",
    "soft_targets",
    "mixed_loss",
    "box_coverage",
    "torchvision_index",
    "timm_index",
]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class MixResult:
    """The outcome of ``mixup``/``cutmix`` on a batch of ``B`` samples.

    Attributes:
        inputs: the mixed batch, same shape, dtype and device as the input ``x``.
        targets_a: the original targets ``y`` (``[B]`` labels or ``[B, K]`` soft/multi-label rows).
        targets_b: the partners' targets ``y[index]``.
        lam: weight of ``targets_a``: a Python float (one λ for the batch) or a ``[B]`` tensor on ``x``'s
            device when ``per_sample=True``. For CutMix it is the kept-area fraction after clipping.
        index: ``[B]`` int64 on ``x``'s device; sample ``i`` was mixed with sample ``index[i]``.
        box: CutMix only (``None`` for Mixup): ``(x1, y1, x2, y2)`` half-open pixel coordinates, or a
            ``[B, 4]`` int64 tensor of per-sample boxes when ``per_sample=True``.
    """

    inputs: torch.Tensor
    targets_a: torch.Tensor
    targets_b: torch.Tensor
    lam: float | torch.Tensor
    index: torch.Tensor
    box: Box | torch.Tensor | None = None

    @property
    def per_sample(self) -> bool:
        """True when ``lam`` holds one value per sample."""
        return isinstance(self.lam, torch.Tensor)


# ----------------------------------------------------------------------------------------------
# Mixup
# ----------------------------------------------------------------------------------------------


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    lam: float | torch.Tensor | None = None,
    index: torch.Tensor | None = None,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
) -> MixResult:
    """The same result as ``reference.mixing.mixup`` (``soft_targets`` gives its mixed rows); adds the draws
    from a generator, per-sample λ, validation, tensor subclasses and one fused pass over the batch.

    Mixup (Zhang et al., 2018): ``inputs = lam·x + (1 − lam)·x[index]``, λ ~ Beta(α, α).

    Args:
        x: floating batch ``[B, ...]`` (images, signals, table rows), any device. Not modified.
        y: ``[B]`` integer labels or ``[B, K]`` floating soft / multi-label targets.
        alpha: Beta(α, α) concentration, > 0. Small α (0.2) keeps most λ near 0 or 1; α = 1 is uniform.
        lam: fix λ: a float in [0, 1], or with ``per_sample=True`` a ``[B]`` tensor (a float is broadcast).
        index: fix the pairing: ``[B]`` int64 in ``[0, B)`` (``torchvision_index(B)``/``timm_index(B)``
            reproduce those libraries). Default: a random cycle, never self-paired when B > 1.
        per_sample: one λ per sample (``[B]`` tensor) instead of one per batch.
        generator: the only source of randomness (λ first, then the pairing).

    Returns:
        ``MixResult``: ``inputs`` ``[B, ...]`` in ``x``'s dtype, device and tensor subclass, ``targets_a = y``,
        ``targets_b = y[index]``, ``lam``, ``index``, ``box=None``. A batch of one stays a batch.

    Raises:
        TypeError: integer ``x``, wrong ``y``/``index`` dtypes, a non-scalar ``lam``, a bad ``generator``.
        ValueError: α ≤ 0, λ outside [0, 1], an empty batch, mismatched batch sizes, index out of range,
            ``x`` a ``tv_tensors.Mask``/``BoundingBoxes``/``KeyPoints``.
    """
    x_plain, lam_v, idx = _mixup_args(x, y, alpha, lam, index, per_sample, generator)
    # partner + λ·(x − partner) in one fused pass on a new tensor: exact at λ = 0 and λ = 1.
    partner = x_plain.index_select(0, idx)
    inputs = partner.lerp_(x_plain, _per_row(lam_v, x_plain))
    return MixResult(_like(inputs, x), y, y.index_select(0, idx.to(y.device)), lam_v, idx, None)


# ----------------------------------------------------------------------------------------------
# CutMix
# ----------------------------------------------------------------------------------------------


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    lam: float | torch.Tensor | None = None,
    box: Box | torch.Tensor | None = None,
    index: torch.Tensor | None = None,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
) -> MixResult:
    """The same result as ``reference.mixing.cutmix`` with boxes from ``reference.mixing.cutmix_box``; adds
    the draws from a generator, one box per sample without a loop (a mask), validation, tensor subclasses.

    CutMix (Yun et al., 2019): ``inputs[i, :, y1:y2, x1:x2] = x[index[i], :, y1:y2, x1:x2]``, elsewhere
    ``inputs[i] = x[i]``; ``lam = 1 − (x2 − x1)(y2 − y1) / (H·W)`` of the clipped box.

    Args:
        x: images ``[B, C, H, W]`` of any dtype (integer images are copied exactly). Not modified.
        y: ``[B]`` integer labels or ``[B, K]`` floating soft / multi-label targets.
        alpha: Beta(α, α) concentration for the *proposed* λ, > 0.
        lam: fix the proposed λ (the box side is ``int(side·sqrt(1 − λ))``; its centre is still random).
        box: fix the box instead: ``(x1, y1, x2, y2)`` integers with ``0 <= x1 <= x2 <= W``,
            ``0 <= y1 <= y2 <= H`` (half-open), or a ``[B, 4]`` integer tensor with ``per_sample=True``
            (a single box with ``per_sample=True`` is used for every sample). Give ``lam`` or ``box``.
        index: fix the pairing, ``[B]`` int64 in ``[0, B)``; default a random cycle (never self-paired
            when B > 1).
        per_sample: one box (and λ) per sample, applied with a mask — no loop over samples.
        generator: the only source of randomness (λ, then the pairing, then box centres).

    Returns:
        ``MixResult`` whose ``inputs`` keep ``x``'s dtype, device and tensor subclass, whose ``lam`` is the
        kept area of the clipped box (a float, or a ``[B]`` tensor with ``per_sample=True``; the same box and
        λ either way for the same proposed λ and centre) and whose ``box`` is the clipped box.

    Raises:
        TypeError: a ``lam`` that is not a real scalar, a ``generator`` that is not a generator.
        ValueError: non-4-D ``x``, an empty batch, α ≤ 0, λ outside [0, 1], ``lam`` and ``box`` both given,
            a box outside the image, mismatched batch sizes, ``x`` a ``tv_tensors.Mask``/``BoundingBoxes``/
            ``KeyPoints``.
    """
    x_plain, boxes, idx = _cutmix_args(x, y, alpha, lam, box, index, per_sample, generator)
    h, w = x_plain.shape[-2:]
    if not per_sample:  # one box for the batch: a slice copy
        x1, y1, x2, y2 = boxes
        inputs = x_plain.clone()
        inputs[:, :, y1:y2, x1:x2] = x_plain[:, :, y1:y2, x1:x2].index_select(0, idx)
        lam_out = 1.0 - (x2 - x1) * (y2 - y1) / (w * h)
        return MixResult(_like(inputs, x), y, y.index_select(0, idx.to(y.device)), lam_out, idx, boxes)
    # one box per sample: a [B, 1, H, W] mask "inside image i's box", then one select
    x1, y1, x2, y2 = (c[:, None] for c in boxes.unbind(1))
    cols, rows = torch.arange(w, device=x_plain.device), torch.arange(h, device=x_plain.device)
    inside = (((rows >= y1) & (rows < y2))[:, :, None] & ((cols >= x1) & (cols < x2))[:, None, :])[:, None]
    partner = x_plain.index_select(0, idx)  # a new tensor: the select may write into it
    inputs = torch.where(inside, partner, x_plain, out=partner)
    area = ((x2 - x1) * (y2 - y1)).squeeze(1).to(torch.float64)
    lam_out = (1.0 - area / (h * w)).to(_lam_dtype(x_plain))
    return MixResult(_like(inputs, x), y, y.index_select(0, idx.to(y.device)), lam_out, idx, boxes)


def _box_from_lam(lam_t: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``reference.mixing.cutmix_box`` for ``N`` proposals at once: boxes ``[N, 4]`` (x1, y1, x2, y2)."""
    ratio = torch.sqrt(1.0 - lam_t.to(torch.float64))
    cut_w = torch.floor(w * ratio).long()
    cut_h = torch.floor(h * ratio).long()
    x1, y1 = cx - cut_w // 2, cy - cut_h // 2
    x2, y2 = x1 + cut_w, y1 + cut_h
    return torch.stack([x1.clamp(0, w), y1.clamp(0, h), x2.clamp(0, w), y2.clamp(0, h)], dim=1)


# ----------------------------------------------------------------------------------------------
# Targets and loss
# ----------------------------------------------------------------------------------------------


def _dense(t: torch.Tensor, num_classes: int, smoothing: float, multi_label: bool, dtype, dev) -> torch.Tensor:
    if t.ndim == 1:
        if int(t.min()) < 0 or int(t.max()) >= num_classes:
            raise ValueError(f"labels must lie in [0, {num_classes}), got min {int(t.min())}, max {int(t.max())}")
        off = smoothing / num_classes
        out = F.one_hot(t.to(dev).long(), num_classes).to(dtype) * (1.0 - smoothing) + off
        return out
    if t.shape[1] != num_classes:
        raise ValueError(
            f"targets of shape {tuple(t.shape)} have {t.shape[1]} columns; expected num_classes={num_classes}"
        )
    t = t.to(device=dev, dtype=dtype)
    if multi_label:
        return t * (1.0 - smoothing) + 0.5 * smoothing
    return t * (1.0 - smoothing) + smoothing / num_classes


def soft_targets(
    result: MixResult, num_classes: int, *, label_smoothing: float = 0.0, multi_label: bool = False
) -> torch.Tensor:
    """The same rows as ``reference.mixing.mixup``/``cutmix`` give for ``reference.mixing.one_hot`` targets;
    adds soft and multi-label targets, per-sample λ, validation and the caller's device.

    The mixed targets ``lam·t(y_a) + (1 − lam)·t(y_b)`` as a ``[B, num_classes]`` tensor.

    ``t`` is the one-hot row of a label with label smoothing ``s``: ``(1 − s)·onehot + s/K`` (timm's
    ``mixup_target`` and ``F.cross_entropy(label_smoothing=s)`` use the same rule). Already-soft
    targets ``[B, K]`` are smoothed the same way (rows stay summing to 1). With ``multi_label=True``
    each column is an independent 0/1 probability (the BCE case) smoothed towards 0.5 like timm's
    ``multi_label`` mode; rows then need not sum to 1.

    Args:
        result: a ``MixResult`` from ``mixup`` or ``cutmix``.
        num_classes: K >= 1.
        label_smoothing: ``s`` in [0, 1].
        multi_label: treat ``[B, K]`` targets as independent labels (BCE) rather than a distribution.

    Returns:
        ``[B, K]`` on the device of ``result.inputs``, float64 when the inputs or the soft targets are
        float64 and float32 otherwise — the same rule per batch and per sample; for single-label
        targets every row sums to 1.
    """
    if not isinstance(result, MixResult):
        raise TypeError(f"result must be a MixResult from mixup/cutmix, got {type(result).__name__}")
    num_classes = check_int(num_classes, "num_classes", low=1)
    s = check_number(label_smoothing, "label_smoothing", low=0.0, high=1.0)
    multi_label = check_bool(multi_label, "multi_label")
    if multi_label and result.targets_a.ndim != 2:
        raise ValueError("multi_label=True needs [B, K] targets (one 0/1 column per label)")
    dev = result.inputs.device
    lam = result.lam
    wide = result.inputs.dtype == torch.float64 or result.targets_a.dtype == torch.float64
    dtype = torch.float64 if wide else torch.float32
    ta = _dense(result.targets_a, num_classes, s, multi_label, dtype, dev)
    tb = _dense(result.targets_b, num_classes, s, multi_label, dtype, dev)
    if isinstance(lam, torch.Tensor):
        w = lam.to(device=dev, dtype=dtype)[:, None]
        return ta * w + tb * (1.0 - w)
    return ta * lam + tb * (1.0 - lam)


def mixed_loss(
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], logits: torch.Tensor, result: MixResult
) -> torch.Tensor:
    """``lam·criterion(logits, y_a) + (1 − lam)·criterion(logits, y_b)`` — the "pairs" form of the mixed loss.

    Per-batch λ: works with any reduction (the combination is linear), so ``nn.CrossEntropyLoss()`` is fine.
    Per-sample λ: ``criterion`` must return one loss per sample (``reduction='none'``, shape ``[B]``, or
    ``[B, ...]`` which is averaged over the trailing dimensions); the weighted losses are averaged over
    the batch. A reduced (scalar) loss cannot be weighted per sample and raises ``ValueError``.

    When it equals ``criterion(logits, soft_targets(result, K))``: whenever the loss is *affine in the
    target* per sample and reduced by a plain mean — cross-entropy (also with ``label_smoothing``), BCE
    (also with ``pos_weight``). It differs for class-weighted CE with ``reduction='mean'`` (integer
    targets are normalised by Σ w[y], soft targets by B) and for losses non-linear in the target (focal).

    Returns:
        A scalar tensor (or the criterion's unreduced shape for per-batch λ with ``reduction='none'``).
    """
    if not isinstance(result, MixResult):
        raise TypeError(f"result must be a MixResult from mixup/cutmix, got {type(result).__name__}")
    if not callable(criterion):
        raise TypeError(f"criterion must be callable (logits, target) -> loss, got {type(criterion).__name__}")
    check_tensor(logits, "logits")
    batch = result.index.shape[0]
    if logits.shape[0] != batch:
        raise ValueError(f"logits has {logits.shape[0]} rows but the mixed batch has {batch}")
    la = criterion(logits, result.targets_a.to(logits.device))
    lb = criterion(logits, result.targets_b.to(logits.device))
    lam = result.lam
    if not isinstance(lam, torch.Tensor):
        return lam * la + (1.0 - lam) * lb
    if la.ndim == 0 or la.shape[0] != batch:
        raise ValueError(
            f"per-sample λ needs one loss per sample: build the criterion with reduction='none' "
            f"(got a loss of shape {tuple(la.shape)}, expected [{batch}, ...])"
        )
    if la.ndim > 1:
        la, lb = la.flatten(1).mean(1), lb.flatten(1).mean(1)
    w = lam.to(device=la.device, dtype=la.dtype)
    return (w * la + (1.0 - w) * lb).mean()


def box_coverage(mask: torch.Tensor, boxes: Box | torch.Tensor) -> torch.Tensor:
    """Fraction of a mask's pixels that fall inside each box — how much of a lesion a CutMix box covers.

    Uses a summed-area table, so thousands of boxes cost one cumulative sum and four look-ups each.

    Args:
        mask: ``[H, W]`` region of interest, e.g. a lesion: bool, 0/1, or finite non-negative weights
            (a soft mask); must have a positive total.
        boxes: one ``(x1, y1, x2, y2)`` box or an ``[N, 4]`` integer tensor of boxes, half-open pixel
            coordinates inside the ``H x W`` image (as in ``MixResult.box``).

    Returns:
        float64 ``[N]`` (``[1]`` for a single box) on ``mask``'s device, each in [0, 1]: the share of the
        mask inside the box. For CutMix image ``i``, ``1 − coverage`` of *its own* lesion stays visible.
    """
    check_tensor(mask, "mask", ndim=2, finite=True)
    if mask.is_complex():
        raise TypeError(f"mask must be bool or real-valued, got dtype {mask.dtype}")
    h, w = mask.shape
    m = mask.to(torch.float64)
    if bool((m < 0).any()):
        raise ValueError("mask has negative values; expected bool, 0/1 or non-negative weights")
    total = float(m.sum())
    if total <= 0:
        raise ValueError("mask is empty; expected at least one non-zero pixel")
    if isinstance(boxes, torch.Tensor) and boxes.ndim == 2:
        b = _check_boxes(boxes, boxes.shape[0], h, w, mask.device)
    else:
        b = torch.tensor([_check_box(boxes, h, w)], device=mask.device)
    sat = F.pad(m.cumsum(0).cumsum(1), (1, 0, 1, 0))  # sat[r, c] = sum of m[:r, :c]
    x1, y1, x2, y2 = b.unbind(1)
    inside = sat[y2, x2] - sat[y1, x2] - sat[y2, x1] + sat[y1, x1]
    return inside / total


# ----------------------------------------------------------------------------------------------
# Pairings of the libraries we stand beside
# ----------------------------------------------------------------------------------------------


def torchvision_index(batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """torchvision v2's pairing ``i ↔ i − 1`` (``x.roll(1, 0)``) as an explicit ``[B]`` int64 index.

    ``batch_size`` is an integer >= 1 (``TypeError``/``ValueError`` naming it otherwise).
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    return (torch.arange(batch_size, device=device) - 1) % batch_size


def timm_index(batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """timm's pairing ``i ↔ B − 1 − i`` (``x.flip(0)``) as an explicit ``[B]`` int64 index.

    ``batch_size`` is an integer >= 1 (``TypeError``/``ValueError`` naming it otherwise).
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    return torch.arange(batch_size - 1, -1, -1, device=device)


# ----------------------------------------------------------------------------------------------
# Validation (once, at the public entry) and the random draws (unchecked cores)
# ----------------------------------------------------------------------------------------------


def _mixup_args(x, y, alpha, lam, index, per_sample, generator):
    """``mixup``'s checks, then its draws: ``(x as a plain tensor, λ, index)``."""
    _refuse_geometry(x, "mixup")
    check_tensor(x, "x", floating=True)
    if x.ndim < 1:
        raise ValueError("x must be a batch [B, ...], got a 0-d tensor")
    _check_common(x, y, alpha, per_sample, generator)
    x_plain = x.as_subclass(torch.Tensor)
    lam_v = _draw_or_check_lam(lam, alpha, x.shape[0], per_sample, generator, x_plain, _lam_dtype(x_plain))
    return x_plain, lam_v, _draw_index(index, x.shape[0], x_plain.device, generator)


def _cutmix_args(x, y, alpha, lam, box, index, per_sample, generator):
    """``cutmix``'s checks, then its draws (λ, pairing, centres): ``(x as a plain tensor, boxes, index)``.

    ``boxes`` is a ``Box`` tuple per batch, an int64 ``[B, 4]`` tensor on ``x``'s device per sample.
    """
    _refuse_geometry(x, "cutmix")
    check_tensor(x, "x", ndim=4)
    _check_common(x, y, alpha, per_sample, generator)
    if lam is not None and box is not None:
        raise ValueError("give lam or box, not both: with a box, λ is the kept area 1 − box area / (H·W)")
    x_plain = x.as_subclass(torch.Tensor)
    batch, _, h, w = x.shape
    dev = x_plain.device
    if box is None:
        # the proposed λ only sets the box side: float64 so per-sample and per-batch boxes agree
        lam_p = _draw_or_check_lam(lam, alpha, batch, per_sample, generator, x_plain, torch.float64)
    idx = _draw_index(index, batch, dev, generator)
    if not per_sample:
        if box is not None:
            return x_plain, _check_box(box, h, w), idx
        cx, cy = _randint(w, 1, generator, None), _randint(h, 1, generator, None)
        lam_t = torch.tensor([lam_p], dtype=torch.float64)  # float64: float32 can shrink the box a pixel
        return x_plain, tuple(int(v) for v in _box_from_lam(lam_t, cx, cy, h, w)[0]), idx
    if box is None:
        cx, cy = _randint(w, batch, generator, dev), _randint(h, batch, generator, dev)
        return x_plain, _box_from_lam(lam_p, cx, cy, h, w), idx
    if isinstance(box, (tuple, list)) or (isinstance(box, torch.Tensor) and box.ndim == 1):
        return x_plain, torch.tensor([_check_box(box, h, w)], device=dev).expand(batch, 4), idx  # one box for all
    return x_plain, _check_boxes(box, batch, h, w, dev), idx


def _check_common(x, y, alpha, per_sample, generator) -> None:
    check_positive(alpha, "alpha")
    check_bool(per_sample, "per_sample")
    check_generator(generator)
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch (shape {tuple(x.shape)}); expected at least one sample to mix")
    _check_y(y, x.shape[0])


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _beta(alpha: float, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Beta(α, α) draws, float64 on the CPU: exactly ``utils.sample_beta``'s draws, without its checks."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=_gen_device(generator)).item())
    with forked_cpu_rng(seed):
        a = torch.tensor(float(alpha), dtype=torch.float64)
        return torch.distributions.Beta(a, a).sample(shape)


def _randint(high: int, n: int, generator: torch.Generator | None, dev: torch.device | None) -> torch.Tensor:
    """``n`` integers uniform in ``[0, high)``: exactly ``utils.randint``'s draws, without its checks."""
    out = torch.randint(0, high, (n,), generator=generator, device=_gen_device(generator))
    return out if dev is None else out.to(dev)


def _draw_index(index, batch: int, dev: torch.device, generator) -> torch.Tensor:
    """The given pairing, or a random cycle: ``p[j]`` is paired with ``p[j + 1]`` (never itself for B > 1)."""
    if index is None:
        p = torch.randperm(batch, generator=generator, device=_gen_device(generator)).to(dev)
        return torch.empty_like(p).index_copy_(0, p, p.roll(-1))
    return _check_index(index, batch, dev)


def _draw_or_check_lam(
    lam: object, alpha: float, batch: int, per_sample: bool, generator, x: torch.Tensor, dt: torch.dtype
) -> float | torch.Tensor:
    """λ as a float (per batch) or a ``[B]`` tensor on x's device (per sample), validated in [0, 1]."""
    if lam is None:
        if per_sample:
            return _beta(alpha, (batch,), generator).to(device=x.device, dtype=dt)
        return float(_beta(alpha, (), generator))
    if isinstance(lam, torch.Tensor):
        if lam.ndim == 0:
            lam = float(lam)
        else:
            if not per_sample:
                raise ValueError(
                    f"lam is a tensor of shape {tuple(lam.shape)}; pass per_sample=True for one λ per sample "
                    "or a float for the whole batch"
                )
            if tuple(lam.shape) != (batch,):
                raise ValueError(f"lam must have shape ({batch},) with per_sample=True, got {tuple(lam.shape)}")
            lt = lam.detach().to(device=x.device, dtype=dt)
            if not bool(torch.isfinite(lt).all()) or bool((lt < 0).any()) or bool((lt > 1).any()):
                raise ValueError(f"lam values must lie in [0, 1], got min {float(lt.min())}, max {float(lt.max())}")
            return lt
    lam = check_number(lam, "lam", low=0.0, high=1.0)  # any real scalar: numpy scalars, 0-d arrays too
    if per_sample:
        return torch.full((batch,), float(lam), device=x.device, dtype=dt)
    return float(lam)


def _per_row(lam: float | torch.Tensor, x: torch.Tensor) -> float | torch.Tensor:
    """A per-batch λ as it is; a per-sample ``[B]`` λ shaped ``[B, 1, ...]`` in ``x``'s dtype."""
    if isinstance(lam, torch.Tensor):
        return lam.to(x.dtype).reshape((x.shape[0],) + (1,) * (x.ndim - 1))
    return lam


def _lam_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


_GEOMETRY = (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)


def _refuse_geometry(x: object, fn: str) -> None:
    """torchvision refuses masks, boxes and key points in MixUp/CutMix; so do we, saying what to do."""
    if isinstance(x, tv_tensors.Mask):
        raise ValueError(
            f"{fn}: x is a tv_tensors.Mask; a label map cannot be blended. Mix the images, then build the "
            "mask from result.box and result.index (cutmix) or keep soft targets per pixel yourself"
        )
    if isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
        raise ValueError(
            f"{fn}: x is a tv_tensors.{type(x).__name__}; coordinates cannot be averaged or pasted. Pass "
            "the image batch as x and map the boxes/points with result.box and result.index yourself"
        )


def _like(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out`` as the same tensor subclass as ``x`` (a ``tv_tensors.Image`` stays an ``Image``)."""
    if isinstance(x, tv_tensors.TVTensor):
        return tv_tensors.wrap(out, like=x)
    if type(x) is torch.Tensor or isinstance(x, torch.nn.Parameter):
        return out
    return out.as_subclass(type(x))


def _check_y(y: object, batch: int) -> torch.Tensor:
    check_tensor(y, "y", ndim=(1, 2))
    if y.shape[0] != batch:
        raise ValueError(f"y has {y.shape[0]} rows but x has batch size {batch}; they must match")
    if y.ndim == 1 and y.is_floating_point():
        raise TypeError(f"y of shape [B] must hold integer class labels, got dtype {y.dtype}")
    if y.ndim == 2 and not y.is_floating_point():
        raise TypeError(f"y of shape [B, K] must be floating (soft or multi-label targets), got dtype {y.dtype}")
    return y


def _check_index(index: object, batch: int, dev: torch.device) -> torch.Tensor:
    check_tensor(index, "index", ndim=1)
    if index.dtype != torch.int64:
        raise TypeError(f"index must be an int64 tensor, got dtype {index.dtype}")
    if index.shape[0] != batch:
        raise ValueError(f"index has {index.shape[0]} entries but the batch has {batch}; they must match")
    if batch and (int(index.min()) < 0 or int(index.max()) >= batch):
        raise ValueError(f"index values must lie in [0, {batch}), got min {int(index.min())}, max {int(index.max())}")
    return index.to(dev)


def _check_box(box: object, h: int, w: int) -> Box:
    if isinstance(box, torch.Tensor):
        if box.shape != (4,):
            raise ValueError(
                f"box must be (x1, y1, x2, y2); got a tensor of shape {tuple(box.shape)} "
                "(per-sample boxes [B, 4] need per_sample=True)"
            )
        box = box.tolist()
    if not isinstance(box, (tuple, list)) or len(box) != 4:
        raise ValueError(f"box must be a tuple (x1, y1, x2, y2), got {box!r}")
    try:
        x1, y1, x2, y2 = (operator.index(v) for v in box)
    except TypeError as exc:
        raise TypeError(f"box coordinates must be integers (pixels), got {box!r}") from exc
    if not (0 <= x1 <= x2 <= w and 0 <= y1 <= y2 <= h):
        raise ValueError(
            f"box {tuple(box)} must satisfy 0 <= x1 <= x2 <= W={w} and 0 <= y1 <= y2 <= H={h} "
            "(half-open pixel coordinates inside the image)"
        )
    return (x1, y1, x2, y2)


def _check_boxes(box: object, batch: int, h: int, w: int, dev: torch.device) -> torch.Tensor:
    check_tensor(box, "box", ndim=2)
    if tuple(box.shape) != (batch, 4) or box.is_floating_point() or box.dtype == torch.bool:
        raise ValueError(f"per-sample box must be an integer tensor of shape ({batch}, 4), got {tuple(box.shape)}")
    b = box.to(device=dev, dtype=torch.int64)
    x1, y1, x2, y2 = b.unbind(1)
    ok = (x1 >= 0) & (x1 <= x2) & (x2 <= w) & (y1 >= 0) & (y1 <= y2) & (y2 <= h)
    if not bool(ok.all()):
        bad = int((~ok).nonzero()[0])
        raise ValueError(
            f"box[{bad}] = {b[bad].tolist()} must satisfy 0 <= x1 <= x2 <= W={w} and 0 <= y1 <= y2 <= H={h}"
        )
    return b
