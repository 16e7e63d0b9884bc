"""Training-time augmentation adapters: every ``augment(x, y, generator) -> (x, y)`` that ``training.fit`` takes.

``fit`` calls ``augment(xb, yb, generator)`` on each training batch with its own seeded generator, so
an adapter turns a technique into that shape and adds nothing else. One home for all of them:

* ``sometimes(augment, p)`` — the one way to write "apply with probability p": each sample gets the
  augmented or the original version, by one Bernoulli(p) draw per sample.
* ``random_apply(transform, p)`` — the same for a plain batch transform ``x -> x``.
* ``affine_augment(...)`` — ``geometric.random_affine`` (rotation, translation, scale).
* ``views_augment(views)`` — one random TTA view per image (``tta.make_views``), the training twin of TTA.
* ``mix_augment(method, num_classes, ...)`` — Mixup or CutMix (``mixing``) with soft targets ``[B, K]``.
* ``policy_augment(policy, ...)`` — TrivialAugment, RandAugment or AugMix (``policies``), drawn per image.
* ``random_view_augment(view)`` — a contrastive view of ``selfsup`` (``view(x, generator)``, e.g.
  ``selfsup.make_view("rotate+elastic")``) as an ordinary label-preserving augmentation.

Imports the technique modules (``geometric``, ``tta``, ``mixing``, ``policies``; ``selfsup`` for the
``ViewFn`` type), ``utils`` and, for the ``Augment`` type that ``fit`` takes, ``training`` (which
imports none of them back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from lessonlib.geometric import random_affine, sample_affine_params
from lessonlib.mixing import cutmix, mixup, soft_targets
from lessonlib.policies import augmix, rand_augment, trivial_augment
from lessonlib.selfsup import ViewFn
from lessonlib.training import Augment
from lessonlib.tta import _apply_view, make_views
from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_one_of,
    check_positive,
    check_probability,
    check_tensor,
    randint,
    uniform,
)

__all__ = [
    "sometimes",
    "random_apply",
    "affine_augment",
    "views_augment",
    "mix_augment",
    "policy_augment",
    "random_view_augment",
]


def _check_batch(x: object, y: object) -> None:
    check_tensor(x, "x", ndim=tuple(range(1, 9)))
    check_tensor(y, "y")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"x has {x.shape[0]} samples but y has shape {tuple(y.shape)}; the first sizes must match")


def sometimes(augment: Augment, p: float = 0.5) -> Augment:
    """Wrap an ``augment(x, y, generator) -> (x, y)`` so each sample is augmented with probability ``p``.

    The wrapped augmentation runs on the whole batch (vectorised); one Bernoulli(p) draw per sample
    (``utils.uniform`` from the generator, after the wrapped augmentation's own draws) then picks the
    augmented or the original sample. Keeping a share of clean images keeps the training distribution
    close to the (clean) test distribution, which matters for small models on small images.
    ``augment`` must keep the shape and return the labels unchanged (label-preserving); soft targets
    are rejected. Inputs are not modified; the output has their dtype and device.
    """
    if not callable(augment):
        raise TypeError(f"augment must be callable (x, y, generator) -> (x, y), got {type(augment).__name__}")
    p = check_probability(p, "p")

    def wrapped(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        _check_batch(x, y)
        check_generator(generator)
        xa, ya = augment(x, y, generator)
        if xa.shape != x.shape:
            raise ValueError(f"augment changed the batch shape from {tuple(x.shape)} to {tuple(xa.shape)}")
        if ya.shape != y.shape or not torch.equal(ya, y):
            raise ValueError("augment changed the labels; sometimes() only wraps label-preserving augmentations")
        mask = uniform(x.shape[0], generator=generator, device=x.device) < p
        return torch.where(mask.view(-1, *([1] * (x.ndim - 1))), xa, x), y

    return wrapped


def random_apply(transform: Callable[[torch.Tensor], torch.Tensor], p: float = 0.5) -> Augment:
    """An ``augment(x, y, generator) -> (x, y)`` for ``fit``: ``transform`` applied with probability ``p``.

    ``transform`` maps a batch ``[B, ...]`` to a batch of the same shape (e.g. a 180° rotation,
    ``lambda x: torch.rot90(x, 2, (-2, -1))``). It is ``sometimes`` around a label-preserving adapter:
    one Bernoulli(p) draw per sample from the generator; labels pass through unchanged — which is
    exactly the bet a label-preserving augmentation makes.
    """
    if not callable(transform):
        raise TypeError(f"transform must be callable batch -> batch, got {type(transform).__name__}")

    def apply(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        out = transform(x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"transform changed the batch shape from {tuple(x.shape)} to {shape}")
        return out, y

    return sometimes(apply, p)


def affine_augment(
    *, degrees: float | tuple[float, float] = 10.0, translate: float = 0.1, scale: tuple[float, float] = (0.9, 1.1)
) -> Augment:
    """An ``augment(x, y, generator) -> (x, y)`` that applies ``geometric.random_affine`` to images ``[B, C, H, W]``.

    One rotation (degrees), translation (fraction of the size) and scale per image, drawn from the
    generator; labels unchanged. Parameters are validated now (by ``geometric.sample_affine_params``),
    not at the first batch.
    """
    sample_affine_params(1, degrees=degrees, translate=translate, scale=scale)  # validate early

    def apply(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        # random_affine validates x and the generator (once)
        return random_affine(x, degrees=degrees, translate=translate, scale=scale, generator=generator), y

    return apply


def views_augment(views: str | Sequence[Callable[[torch.Tensor], torch.Tensor]] = "d4") -> Augment:
    """Training-time twin of TTA: an ``augment(x, y, generator) -> (x, y)`` that shows each image
    ``[B, C, H, W]`` under one of ``views`` (``tta.make_views``), drawn uniformly and independently per image.

    Training with the same views you will average over at test time is what makes the model
    invariant to them (notebook 06 measures what happens without it). Labels pass through
    unchanged, which is the bet that the views are label-preserving.

    Vectorised: every view of the batch is computed (V × the batch in memory; the views are cheap
    pixel permutations) and each image's drawn view is gathered; no loop over images. Draws come
    from ``generator`` (``lessonlib.utils.randint``), so a seeded generator gives the same batch.
    """
    view_list = make_views(views)

    def apply(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        check_tensor(x, "x", ndim=4)
        check_generator(generator)
        h, w = x.shape[-2:]
        if h != w and any(v.swaps_hw for v in view_list):
            raise ValueError(f"views with quarter turns need square images, but x is {h}x{w}")
        pick = randint(0, len(view_list), x.shape[0], generator=generator, device=x.device)
        stacked = torch.stack([_apply_view(v, x) for v in view_list])  # [V, B, C, H, W]
        if stacked.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"views must keep the image size {(h, w)}, got {tuple(stacked.shape[-2:])}")
        return stacked[pick, torch.arange(x.shape[0], device=x.device)], y

    return apply


def mix_augment(
    method: str, num_classes: int, *, alpha: float = 1.0, per_sample: bool = False, label_smoothing: float = 0.0
) -> Augment:
    """An ``augment(x, y, generator) -> (inputs, soft_targets)``: Mixup or CutMix on every training batch.

    Each batch is mixed with ``mixing.mixup`` or ``mixing.cutmix`` (drawing from the generator ``fit``
    hands over) and returned with its ``[B, num_classes]`` soft targets (``mixing.soft_targets``),
    which ``F.cross_entropy`` accepts.

    Args:
        method: ``"mixup"`` or ``"cutmix"``.
        num_classes: K for the soft targets (an integer >= 1).
        alpha: Beta(α, α) concentration (> 0); per_sample: one λ per sample instead of per batch.
        label_smoothing: passed to ``soft_targets``.
    """
    fns = {"mixup": mixup, "cutmix": cutmix}
    check_one_of(method, "method", sorted(fns))
    alpha = check_positive(alpha, "alpha")
    num_classes = check_int(num_classes, "num_classes", low=1)
    per_sample = check_bool(per_sample, "per_sample")
    fn = fns[method]

    def apply(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        # mixup/cutmix validate x, y and the generator (once)
        r = fn(x, y, alpha=alpha, per_sample=per_sample, generator=generator)
        return r.inputs, soft_targets(r, num_classes, label_smoothing=label_smoothing)

    return apply


def policy_augment(policy: str, **kwargs) -> Augment:
    """An ``augment(x, y, generator) -> (x, y)`` for ``training.fit``: an automatic policy per image.

    ``policy`` is ``"trivial"``, ``"randaugment"`` or ``"augmix"``; ``kwargs`` go to
    ``policies.trivial_augment``/``rand_augment``/``augmix`` and are validated now (on a dummy image),
    not at the first batch. Each batch ``x`` ``[B, 1 or 3, H, W]`` (uint8 or float in [0, 1]) gets one
    independent draw per image from ``generator``; labels pass through unchanged.
    """
    fns = {"trivial": trivial_augment, "randaugment": rand_augment, "augmix": augmix}
    check_one_of(policy, "policy", list(fns))
    fn = fns[policy]
    fn(torch.zeros(1, 1, 8, 8), generator=torch.Generator().manual_seed(0), **kwargs)  # validate early

    def augment(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        return fn(x, generator=generator, **kwargs), y

    return augment


def random_view_augment(view: ViewFn) -> Augment:
    """An ``augment(x, y, generator) -> (view(x, generator), y)`` for ``training.fit``: a ``selfsup`` view
    (``ViewFn``: random per image, drawing from the generator) used as an ordinary label-preserving
    augmentation of images ``[B, C, H, W]``; the supervised baseline of notebook 10, where the same
    views define the contrastive task. Labels pass through unchanged.

    Raises ``TypeError`` now if ``view`` is not callable, and at the first batch if it returns anything
    but a tensor of the batch's shape.
    """
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")

    def apply(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        out = view(x, generator)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            raise TypeError(f"view must return a tensor of the batch's shape {tuple(x.shape)}, got {got}")
        return out, y

    return apply
