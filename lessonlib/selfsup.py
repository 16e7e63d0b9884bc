"""Augmentation as the learning signal: contrastive pre-training (SimCLR) and consistency (FixMatch).

In self- and semi-supervised learning the augmentation *defines* the task: two random views of one
image must map to nearby representations (SimCLR), or a confident prediction on a weak view becomes
the target for a strong view of the same unlabelled image (FixMatch). This module holds the pieces
notebook 10 needs, small and testable:

* ``nt_xent``: the normalised-temperature cross-entropy loss of SimCLR for a batch of view pairs.
* views, functions ``ViewFn`` = ``(x [B, C, H, W], generator) -> [B, C, H, W]`` drawn independently per
  image: ``shift``, ``shift_crop``, ``rotate``, ``elastic``, ``noise_view``, ``identity``; ``compose``
  chains them and ``make_view`` builds one by name (``"crop+noise"``); ``two_views`` draws the pair.
  (``augment.random_view_augment`` turns a view into an ordinary label-preserving augmentation.)
* ``Encoder`` / ``make_encoder`` (a small MLP), ``make_classifier`` (encoder + linear layer), ``encode``
  (frozen features) and ``linear_probe`` (scikit-learn logistic regression on frozen features).
* ``pretrain_simclr``: SimCLR pre-training; ``fixmatch_loss`` and ``fit_fixmatch``: the
  semi-supervised step and its training run. Both train with ``training.fit``, the course's one
  AdamW loop, through its ``loss`` hook.

The losses are ``lessonlib.reference.selfsup``'s ``nt_xent`` and ``fixmatch_loss`` (the formulas,
anchor by anchor: the oracle of ``tests/test_selfsup.py``), batched and validated.

Everything random draws from an explicit ``torch.Generator``; tensors stay on the caller's device
and dtype; nothing is modified in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.geometric import random_affine
from lessonlib.training import check_labelled, fit
from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_positive,
    check_probability,
    check_seed,
    check_tensor,
    compute_dtype,
    normal,
    randint,
    seeded,
)
from lessonlib.utils import device as default_device

__all__ = [
    "nt_xent",
    "ViewFn",
    "identity",
    "shift",
    "shift_crop",
    "rotate",
    "elastic",
    "noise_view",
    "compose",
    "VIEWS",
    "make_view",
    "two_views",
    "Encoder",
    "make_encoder",
    "make_classifier",
    "encode",
    "ProbeResult",
    "linear_probe",
    "pretrain_simclr",
    "FixMatchLoss",
    "fixmatch_loss",
    "fit_fixmatch",
]

#: A view: ``view(x, generator) -> x'``, a random per-image transformation of a batch ``[B, C, H, W]``
#: that keeps its shape, drawing only from ``generator`` (not to be confused with ``tta.View``, one
#: fixed test-time transformation).
ViewFn = Callable[..., torch.Tensor]


# ----------------------------------------------------------------------------------------------
# The loss
# ----------------------------------------------------------------------------------------------


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, *, temperature: float = 0.5) -> torch.Tensor:
    """The same result as ``reference.selfsup.nt_xent``; adds validation, batching (one matrix product
    and one cross-entropy instead of a loop over anchors), the caller's dtype and device.

    SimCLR's NT-Xent loss for ``B`` positive pairs ``(z1[i], z2[i])``; a scalar tensor (nats). The 2B
    projections are L2-normalised and compared by cosine similarity ``s`` divided by ``temperature``
    τ. For anchor ``i`` with positive ``j`` the loss is

        ℓ(i, j) = −log( exp(s_ij / τ) / Σ_{k ≠ i} exp(s_ik / τ) ),

    where ``k`` runs over the other 2B − 1 projections (one positive, 2B − 2 negatives). The result
    is the mean of ℓ over all 2B anchors (both directions of every pair), as in Chen et al. (2020).

    Args:
        z1, z2: projections ``[B, D]`` of the two views, same shape, floating point, finite, B >= 2
            (a batch of one pair has no negatives). Gradients flow to both.
        temperature: τ > 0; small τ weights the hardest negatives more.

    Returns:
        A 0-d tensor in ``z1``'s dtype and device. Computed in float32 for half-precision inputs.
        Bounded below by 0 and equal to ``log(2B − 1)`` when every similarity is equal.
    """
    check_tensor(z1, "z1", ndim=2, floating=True, finite=True, nonempty=True)
    check_tensor(z2, "z2", ndim=2, floating=True, finite=True, nonempty=True)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 pairs (one pair has no negatives), got {z1.shape[0]}")
    return _nt_xent(z1, z2, check_positive(temperature, "temperature"))


def _nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    b = z1.shape[0]
    dt = compute_dtype(z1.dtype)
    z = F.normalize(torch.cat([z1, z2]).to(dt), dim=1)
    logits = z @ z.T / tau
    # an anchor is never its own negative: -inf on the diagonal drops it from the softmax
    logits = logits.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    positive = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, positive).to(z1.dtype)


# ----------------------------------------------------------------------------------------------
# Views: per-image random transformations of a batch [B, C, H, W]
# ----------------------------------------------------------------------------------------------


def _check_images(x: object) -> torch.Tensor:
    """A view's input: images ``[B, C, H, W]``, floating, finite, at least one image."""
    check_tensor(x, "x", ndim=4, floating=True, finite=True)
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch (shape {tuple(x.shape)}); expected at least one image")
    return x


def _viewed(view: ViewFn, x: torch.Tensor, generator: torch.Generator | None, name: str = "view") -> torch.Tensor:
    """``view(x, generator)``, refusing anything but a tensor of ``x``'s shape (named after the view)."""
    out = view(x, generator)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(f"{name} must return a tensor of its input's shape {tuple(x.shape)}, got {got}")
    return out


def _logits(model: nn.Module, x: torch.Tensor, name: str = "model") -> torch.Tensor:
    """``model(x)``, refusing anything but logits ``[B, K]`` for the B rows of ``x``."""
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != x.shape[0]:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(f"{name} must return logits [B, K] with B = {x.shape[0]}, got {got}")
    return out


def identity(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The view that changes nothing (a copy of ``x``): both views of a pair are then identical."""
    _check_images(x)
    check_generator(generator)
    return x.clone()


def shift_crop(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    translate: float = 0.2,
    scale: tuple[float, float] = (1.0, 1.3),
) -> torch.Tensor:
    """A random crop of each image, resized back: shift by up to ``translate`` of the size, zoom in by
    ``scale`` (zooming in by s shows a crop of 1/s of the side). Zeros fill what comes from outside.

    Built on ``geometric.random_affine`` (no rotation), so one independent crop per image.
    """
    _check_images(x)
    return random_affine(x, degrees=0.0, translate=translate, scale=scale, generator=check_generator(generator))


def rotate(x: torch.Tensor, generator: torch.Generator | None = None, *, degrees: float = 30.0) -> torch.Tensor:
    """A random rotation of each image, uniform in ``[-degrees, degrees]`` (``geometric.random_affine``)."""
    _check_images(x)
    return random_affine(x, degrees=degrees, translate=0.0, scale=(1.0, 1.0), generator=check_generator(generator))


def elastic(
    x: torch.Tensor, generator: torch.Generator | None = None, *, magnitude: float = 0.15, grid: int = 3
) -> torch.Tensor:
    """A random smooth (elastic) warp of each image: a ``grid x grid`` field of Gaussian displacements
    (standard deviation ``magnitude``, in units of half the image side) upsampled bicubically to the
    image size, then applied with ``grid_sample`` (bilinear, zero fill).

    Per image this equals ``torchvision.transforms.v2.functional.elastic(img, field, fill=None)`` with
    the same displacement field (checked in ``tests/test_selfsup.py``); torchvision's
    ``ElasticTransform`` draws one field per call, so a whole batch would get the same warp, while
    here each image gets its own, in one ``grid_sample`` call.
    """
    _check_images(x)
    m = check_number(magnitude, "magnitude", low=0.0)
    g = check_int(grid, "grid", low=2)
    generator = check_generator(generator)
    b, _, h, w = x.shape
    dt = compute_dtype(x.dtype)
    coarse = m * normal((b, 2, g, g), generator=generator, device=x.device, dtype=dt)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    theta = torch.eye(2, 3, dtype=dt, device=x.device).expand(b, 2, 3)
    base = F.affine_grid(theta, [b, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x.to(dt), base + field, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(x.dtype)


def noise_view(x: torch.Tensor, generator: torch.Generator | None = None, *, sigma: float = 0.2) -> torch.Tensor:
    """Additive Gaussian pixel noise with standard deviation ``sigma`` (in the units of ``x``; the digits
    are in [0, 1]); the result is not clipped. The view ``"noise"`` of ``VIEWS`` (for ECG noise see
    ``ecg.gaussian_noise``, for the corruption see ``robustness.corrupt``)."""
    _check_images(x)
    s = check_number(sigma, "sigma", low=0.0)
    noise = normal(x.shape, generator=check_generator(generator), device=x.device, dtype=compute_dtype(x.dtype))
    return (x.to(noise.dtype) + s * noise).to(x.dtype)


def compose(*views: ViewFn) -> ViewFn:
    """Apply ``views`` one after another, each drawing from the same generator (left to right)."""
    if not views:
        raise ValueError("compose needs at least one view, e.g. compose(shift_crop, noise_view)")
    for i, v in enumerate(views):
        if not callable(v):
            raise TypeError(f"views[{i}] must be callable (x, generator) -> x, got {type(v).__name__}")

    def composed(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for v in views:
            x = v(x, generator)
        return x

    return composed


def shift(x: torch.Tensor, generator: torch.Generator | None = None, *, pixels: float = 1.0) -> torch.Tensor:
    """A random shift of each image by up to ``pixels`` pixels along each axis (no zoom): FixMatch's
    "weak" view for the 8x8 digits (``shift_crop`` with ``scale=(1, 1)``)."""
    _check_images(x)
    p = check_number(pixels, "pixels", low=0.0)
    frac = min(1.0, p / max(x.shape[-1], x.shape[-2]))
    return random_affine(x, degrees=0.0, translate=frac, scale=(1.0, 1.0), generator=check_generator(generator))


#: The named views of notebook 10, at the strengths used there.
VIEWS: dict[str, ViewFn] = {
    "none": identity,
    "shift": shift,
    "crop": shift_crop,
    "rotate": rotate,
    "elastic": elastic,
    "noise": noise_view,
}


def make_view(spec: str) -> ViewFn:
    """The view named ``spec``: one name from ``VIEWS`` or several joined by ``+`` (applied left to right),
    e.g. ``"crop+noise"``."""
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"spec must be a non-empty string such as 'crop+noise', got {spec!r}")
    names = spec.split("+")
    for n in names:
        if n not in VIEWS:
            raise ValueError(f"spec names an unknown view {n!r}; expected names from {sorted(VIEWS)} joined by '+'")
    return compose(*(VIEWS[n] for n in names))


def two_views(
    x: torch.Tensor, view: ViewFn, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views of a batch ``[B, C, H, W]``: row i of both is a positive pair.

    ``view`` is called once on the batch stacked twice (``[2B, C, H, W]``), so every one of the 2B
    images gets its own parameters from ``generator`` in one vectorised call; the first half is the
    first view. Returns two new tensors of ``x``'s shape, dtype and device.
    """
    _check_images(x)
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")
    return _two_views(x, view, check_generator(generator))


def _two_views(x: torch.Tensor, view: ViewFn, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    both = _viewed(view, torch.cat([x, x]), generator)
    return both[: x.shape[0]], both[x.shape[0] :]


# ----------------------------------------------------------------------------------------------
# Encoder, frozen features, linear probe
# ----------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """A small MLP encoder for images ``[B, C, H, W] → features [B, out_features]`` (ReLU outputs).

    ``Flatten → Linear(C·H·W, hidden) → ReLU → Linear(hidden, out_features) → ReLU``: about 50k
    weights for the 8x8 digits. It has no convolution, hence no built-in translation equivariance:
    every invariance it has after pre-training was put there by the views, which is what notebook 10
    wants to show (and it trains several times faster than ``SmallCNN`` on a CPU core).
    """

    def __init__(self, in_features: int = 64, hidden: int = 256, out_features: int = 128):
        super().__init__()
        for name, v in (("in_features", in_features), ("hidden", hidden), ("out_features", out_features)):
            check_int(v, name, low=1)
        self.in_features, self.out_features = in_features, out_features
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[0] == 0 or x[0].numel() != self.in_features:
            raise ValueError(
                f"x must be a non-empty batch [B, ...] with {self.in_features} values per sample, "
                f"got shape {tuple(x.shape)}"
            )
        return self.net(x)


def make_encoder(seed: int, *, in_features: int = 64, hidden: int = 256, out_features: int = 128) -> Encoder:
    """An ``Encoder`` with weights initialised inside ``seeded(seed)`` (same seed → same weights)."""
    with seeded(check_seed(seed)):
        return Encoder(in_features, hidden, out_features)


def make_classifier(encoder: nn.Module, num_classes: int = 10) -> nn.Sequential:
    """``encoder`` followed by a linear layer to ``num_classes`` logits (shares the encoder's weights).

    The linear layer is initialised from torch's global RNG: build it inside ``seeded(seed)``.
    """
    d = getattr(encoder, "out_features", None)
    if not isinstance(d, int):
        raise TypeError("encoder must expose an int attribute out_features (use selfsup.make_encoder)")
    return nn.Sequential(encoder, nn.Linear(d, check_int(num_classes, "num_classes", low=1)))


@torch.inference_mode()
def encode(encoder: nn.Module, x: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Frozen features ``[N, D]`` of ``x`` ``[N, ...]`` (floating, finite, N >= 1) in eval mode (mode
    restored), on ``x``'s device."""
    check_tensor(x, "x", ndim=tuple(range(1, 9)), floating=True, finite=True)
    if x.shape[0] == 0:
        raise ValueError(f"x is an empty batch (shape {tuple(x.shape)}); expected at least one sample")
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
    bs = check_int(batch_size, "batch_size", low=1)
    dev = next(encoder.parameters()).device
    was = encoder.training
    encoder.eval()
    try:
        out = [encoder(x[i : i + bs].to(dev)) for i in range(0, x.shape[0], bs)]
    finally:
        encoder.train(was)
    return torch.cat(out).to(x.device)


@dataclass(frozen=True)
class ProbeResult:
    """Test accuracy (fraction) of a linear classifier on frozen features, and the fitted scikit-learn model."""

    accuracy: float
    model: object


def linear_probe(
    f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor, *, c: float = 1.0
) -> ProbeResult:
    """Linear evaluation: multinomial logistic regression (scikit-learn, L2 penalty ``C = c``) on frozen
    features, standardised with the *training* features' mean and spread.

    Args:
        f_train, f_test: features ``[N, D]`` and ``[M, D]``, floating, finite, non-empty (any device;
            copied to the CPU as float64).
        y_train, y_test: integer labels ``[N]`` and ``[M]``.
        c: inverse regularisation strength (> 0).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_tensor(f_train, "f_train", ndim=2, floating=True, finite=True, nonempty=True)
    check_tensor(f_test, "f_test", ndim=2, floating=True, finite=True, nonempty=True)
    check_labelled(f_train, y_train, "f_train", "y_train")
    check_labelled(f_test, y_test, "f_test", "y_test")
    if f_train.shape[1] != f_test.shape[1]:
        raise ValueError(f"f_train has {f_train.shape[1]} features but f_test has {f_test.shape[1]}")
    c = check_positive(c, "c")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

    def np64(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().double().numpy()

    clf.fit(np64(f_train), y_train.cpu().numpy())
    return ProbeResult(float(clf.score(np64(f_test), y_test.cpu().numpy())), clf)


# ----------------------------------------------------------------------------------------------
# SimCLR pre-training
# ----------------------------------------------------------------------------------------------


def _projection_head(in_features: int, out_features: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_features, in_features), nn.ReLU(), nn.Linear(in_features, out_features))


def pretrain_simclr(
    encoder: nn.Module,
    x: torch.Tensor,
    view: ViewFn,
    *,
    steps: int = 150,
    batch_size: int = 256,
    lr: float = 3e-3,
    temperature: float = 0.5,
    projection_dim: int = 32,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> list[float]:
    """Pre-train ``encoder`` on unlabelled images ``x`` ``[N, C, H, W]`` with NT-Xent; returns the loss per step.

    SimCLR (Chen et al., 2020) as a ``training.fit`` objective: ``fit`` runs ``steps`` AdamW steps
    (weight decay 0.01) with a cosine learning-rate schedule over shuffled passes through ``x``, each
    batch exactly ``batch_size`` images (``drop_last``: the negatives are the rest of the batch), and
    the ``loss`` hook makes two views of the batch (``two_views``, drawing from ``fit``'s generator),
    passes both through the encoder and an MLP projection head (``D → D → projection_dim``, initialised
    from ``seed``, discarded afterwards as in SimCLR) and returns ``nt_xent``. Labels are never used.
    ``encoder`` is trained in place (moved to ``device``) and left in eval mode; ``x`` is not modified.

    Args:
        encoder: an ``nn.Module`` mapping ``[B, C, H, W]`` to features ``[B, D]``; must expose
            ``out_features`` = D (``Encoder`` does).
        x: unlabelled images ``[N, C, H, W]``, floating, finite, N >= 2.
        view: ``view(x, generator) -> x`` (e.g. ``make_view("crop+noise")``).
        steps, batch_size, lr: optimisation; ``batch_size`` is clipped to ``N`` (>= 2 needed).
        temperature: τ of ``nt_xent``.
        projection_dim: the head's output size.
        seed: seeds the head and ``fit`` (the shuffling and the views: one CPU generator).
        device: default ``lessonlib.device()``.

    Raises:
        TypeError: ``encoder`` not a module or without ``out_features``, ``view`` not callable, or
            either returning the wrong thing (``view`` a different shape, ``encoder`` not ``[B, D]``).
        ValueError: bad ``x`` (empty, fewer than 2 images, NaN/inf) or a bad number.
    """
    check_tensor(x, "x", ndim=4, floating=True, finite=True)
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 images to form negatives, got shape {tuple(x.shape)}")
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
    d = getattr(encoder, "out_features", None)
    if not isinstance(d, int):
        raise TypeError("encoder must expose an int attribute out_features (use selfsup.make_encoder)")
    steps = check_int(steps, "steps", low=1)
    bs = min(check_int(batch_size, "batch_size", low=2), x.shape[0])
    lr = check_positive(lr, "lr")
    tau = check_positive(temperature, "temperature")
    projection_dim = check_int(projection_dim, "projection_dim", low=1)
    seed = check_seed(seed)
    with seeded(seed):
        head = _projection_head(d, projection_dim)
    losses: list[float] = []

    def simclr_loss(model: nn.Module, xb: torch.Tensor, yb: None, generator: torch.Generator) -> torch.Tensor:
        v1, v2 = _two_views(xb, view, generator)
        features = encoder(torch.cat([v1, v2]))
        if not isinstance(features, torch.Tensor) or features.shape != (2 * bs, d):
            got = f"shape {tuple(features.shape)}" if isinstance(features, torch.Tensor) else type(features).__name__
            raise TypeError(f"encoder must return features [B, out_features] = [{2 * bs}, {d}], got {got}")
        z = head(features)
        value = _nt_xent(z[:bs], z[bs:], tau)
        losses.append(float(value.detach()))
        return value

    _fit_objective(nn.Sequential(encoder, head), x, None, simclr_loss, steps, bs, lr, seed, device)
    return losses


def _fit_objective(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None,
    loss: Callable[..., torch.Tensor],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device | str | None,
) -> None:
    """SimCLR's and FixMatch's training: ``fit`` with the objective as its ``loss`` hook, AdamW with
    weight decay 0.01 (AdamW's own default, which both were tuned with), a cosine schedule, and
    full batches only (``drop_last``)."""
    kw = {"weight_decay": 0.01, "schedule": "cosine", "progress": False, "drop_last": True}
    fit(model, x, y, steps=steps, batch_size=batch_size, lr=lr, seed=seed, device=device, loss=loss, **kw)


# ----------------------------------------------------------------------------------------------
# FixMatch
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixMatchLoss:
    """One FixMatch step's losses: ``total = supervised + weight · unsupervised`` (0-d tensors, the first
    with gradients) and ``mask_rate``, the share of unlabelled images confident enough to be used."""

    total: torch.Tensor
    supervised: torch.Tensor
    unsupervised: torch.Tensor
    mask_rate: float


def _check_views(weak: object, strong: object) -> None:
    for name, v in (("weak", weak), ("strong", strong)):
        if not callable(v):
            raise TypeError(f"{name} must be callable (x, generator) -> x, got {type(v).__name__}")


def _check_unlabelled(x_unlabelled: object, x_labelled: torch.Tensor) -> None:
    check_tensor(x_unlabelled, "x_unlabelled", ndim=x_labelled.ndim, floating=True, finite=True, nonempty=True)
    if x_unlabelled.shape[1:] != x_labelled.shape[1:]:
        raise ValueError(
            f"x_unlabelled has images of shape {tuple(x_unlabelled.shape[1:])} but x_labelled has "
            f"{tuple(x_labelled.shape[1:])}; they must match"
        )


def _check_labelled_images(x_labelled: object, y_labelled: object) -> None:
    check_tensor(x_labelled, "x_labelled", ndim=4, floating=True, finite=True)
    check_labelled(x_labelled, y_labelled, "x_labelled", "y_labelled")
    if x_labelled.shape[0] == 0:
        raise ValueError(f"x_labelled is an empty batch (shape {tuple(x_labelled.shape)}); expected at least one")
    if int(y_labelled.min()) < 0:
        raise ValueError(f"y_labelled must hold labels in 0..K-1, got {int(y_labelled.min())}")


def fixmatch_loss(
    model: nn.Module,
    x_labelled: torch.Tensor,
    y_labelled: torch.Tensor,
    x_unlabelled: torch.Tensor,
    *,
    weak: ViewFn,
    strong: ViewFn,
    threshold: float = 0.95,
    weight: float = 1.0,
    generator: torch.Generator | None = None,
) -> FixMatchLoss:
    """The same result as ``reference.selfsup.fixmatch_loss`` (``total``); adds validation, one forward
    pass for all three batches, the parts and the mask rate.

    The FixMatch objective of Sohn et al. (2020) for one batch. Supervised part: cross-entropy on a
    *weak* view of the labelled batch. Unsupervised part: for each unlabelled image, the prediction on
    a weak view gives a hard pseudo-label ``ŷ = argmax p`` (no gradient through it); if its confidence
    ``max p >= threshold`` the model is trained to predict ŷ on a *strong* view of the same image. The
    unsupervised cross-entropy is averaged over *all* unlabelled images (masked ones count as zero),
    as in the paper. Views draw from ``generator`` in this order: ``weak`` once on the labelled and
    unlabelled batches stacked, then ``strong`` on the unlabelled batch.

    Args:
        model: images → logits ``[B, K]`` (one call on the three batches stacked).
        x_labelled, y_labelled: ``[B, C, H, W]`` (floating, finite, B >= 1) and integer ``[B]``.
        x_unlabelled: ``[μB, C, H, W]``, the same image shape, at least one image.
        weak, strong: views ``(x, generator) -> x`` that keep the shape.
        threshold: confidence in [0, 1] needed to use a pseudo-label.
        weight: λ_u >= 0, the weight of the unsupervised term.
        generator: draws every view.

    Raises:
        TypeError: non-tensors, integer images, views or model not callable or returning the wrong
            thing (a view a different shape, the model not logits ``[B, K]``). ValueError: empty or
            non-finite batches, mismatched shapes, ``threshold`` outside [0, 1], negative ``weight``.
    """
    _check_labelled_images(x_labelled, y_labelled)
    _check_unlabelled(x_unlabelled, x_labelled)
    if not callable(model):
        raise TypeError(f"model must be callable images -> logits, got {type(model).__name__}")
    _check_views(weak, strong)
    tau = check_probability(threshold, "threshold")
    lam = check_number(weight, "weight", low=0.0)
    return _fixmatch_loss(
        model, x_labelled, y_labelled, x_unlabelled, weak, strong, tau, lam, check_generator(generator)
    )


def _fixmatch_loss(
    model: nn.Module,
    xl: torch.Tensor,
    yl: torch.Tensor,
    xu: torch.Tensor,
    weak: ViewFn,
    strong: ViewFn,
    tau: float,
    lam: float,
    generator: torch.Generator | None,
) -> FixMatchLoss:
    b, m = xl.shape[0], xu.shape[0]
    weak_views = _viewed(weak, torch.cat([xl, xu.to(xl.dtype)]), generator, "weak")  # one call
    xs_u = _viewed(strong, xu, generator, "strong")
    logits = _logits(model, torch.cat([weak_views, xs_u.to(weak_views.dtype)]))
    lw_l, lw_u, ls_u = logits[:b], logits[b : b + m], logits[b + m :]
    sup = F.cross_entropy(lw_l, yl.to(logits.device))
    with torch.no_grad():
        conf, pseudo = lw_u.detach().softmax(1).max(1)
        mask = (conf >= tau).to(ls_u.dtype)
    unsup = (F.cross_entropy(ls_u, pseudo, reduction="none") * mask).mean()
    return FixMatchLoss(sup + lam * unsup, sup.detach(), unsup.detach(), float(mask.mean()))


def fit_fixmatch(
    model: nn.Module,
    x_labelled: torch.Tensor,
    y_labelled: torch.Tensor,
    x_unlabelled: torch.Tensor | None,
    *,
    weak: ViewFn,
    strong: ViewFn,
    steps: int = 300,
    batch_size: int = 50,
    unlabelled_ratio: int = 4,
    threshold: float = 0.95,
    weight: float = 1.0,
    lr: float = 3e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` with FixMatch (``x_unlabelled`` given) or, with ``x_unlabelled=None``, with the
    supervised part alone on weak views: the fair "labels only" baseline, same steps and views.

    A ``training.fit`` objective: ``fit`` runs ``steps`` AdamW steps (weight decay 0.01) with a cosine
    schedule over shuffled passes through the labelled set, each batch exactly ``min(batch_size, N_l)``
    labelled images (``drop_last``); the ``loss`` hook draws ``unlabelled_ratio`` times as many
    unlabelled images (μ in the paper, with replacement) from ``fit``'s generator and returns
    ``fixmatch_loss``'s total. The model is trained in place, moved to ``device`` and left in eval
    mode. Returns the per-step ``"loss"`` and ``"mask_rate"`` (0.0 for the labels-only baseline).

    Args:
        model: images → logits ``[B, K]``; x_labelled, y_labelled, x_unlabelled, weak, strong,
            threshold, weight: as in ``fixmatch_loss`` (validated here, once, before training).
        steps, batch_size, unlabelled_ratio, lr: optimisation (integers >= 1, ``lr`` > 0).
        seed: seeds ``fit`` (shuffling, unlabelled draws, views: one CPU generator).
        device: default ``lessonlib.device()``.
    """
    _check_labelled_images(x_labelled, y_labelled)
    if x_unlabelled is not None:
        _check_unlabelled(x_unlabelled, x_labelled)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_views(weak, strong)
    tau = check_probability(threshold, "threshold")
    lam = check_number(weight, "weight", low=0.0)
    steps = check_int(steps, "steps", low=1)
    bs = min(check_int(batch_size, "batch_size", low=1), x_labelled.shape[0])
    mu = check_int(unlabelled_ratio, "unlabelled_ratio", low=1)
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    dev = torch.device(device) if device is not None else default_device()
    xu = None if x_unlabelled is None else x_unlabelled.to(dev)
    history: dict[str, list[float]] = {"loss": [], "mask_rate": []}

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if xu is None:
            logits = _logits(model, _viewed(weak, xb, generator, "weak"))
            value, rate = F.cross_entropy(logits, yb), 0.0
        else:
            iu = randint(0, xu.shape[0], (mu * xb.shape[0],), generator=generator, device=xu.device)
            out = _fixmatch_loss(model, xb, yb, xu[iu], weak, strong, tau, lam, generator)
            value, rate = out.total, out.mask_rate
        history["loss"].append(float(value.detach()))
        history["mask_rate"].append(rate)
        return value

    _fit_objective(model, x_labelled, y_labelled, loss, steps, bs, lr, seed, dev)
    return history
