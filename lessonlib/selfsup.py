"""Augmentation as the learning signal: contrastive pre-training (SimCLR) and consistency (FixMatch).

In self- and semi-supervised learning the augmentation *defines* the task: two random views of one
image must map to nearby representations (SimCLR), or a confident prediction on a weak view becomes
the target for a strong view of the same unlabelled image (FixMatch). This module holds the pieces
notebook 10 needs, small and testable:

* ``nt_xent``: the normalised-temperature cross-entropy loss of SimCLR for a batch of view pairs.
* views ``[B, C, H, W] -> [B, C, H, W]`` drawn independently per image from a generator:
  ``shift``, ``shift_crop``, ``rotate``, ``elastic``, ``gaussian_noise``, ``identity``; ``compose`` chains them
  and ``make_view`` builds one by name (``"crop+noise"``); ``two_views`` draws the pair.
* ``Encoder`` / ``make_encoder`` (a small MLP), ``make_classifier`` (encoder + linear layer), ``encode``
  (frozen features) and ``linear_probe`` (scikit-learn logistic regression on frozen features).
* ``pretrain_simclr``: the pre-training loop; ``fixmatch_loss`` and ``fit_fixmatch``: the
  semi-supervised step and loop.

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
from lessonlib.training import check_labelled
from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_positive,
    check_probability,
    check_seed,
    check_tensor,
    compute_dtype,
    make_generator,
    normal,
    randint,
    randperm,
    seeded,
)
from lessonlib.utils import device as default_device

__all__ = [
    "nt_xent",
    "View",
    "identity",
    "shift",
    "shift_crop",
    "rotate",
    "elastic",
    "gaussian_noise",
    "compose",
    "VIEWS",
    "make_view",
    "two_views",
    "view_augment",
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

View = Callable[..., torch.Tensor]


# ----------------------------------------------------------------------------------------------
# The loss
# ----------------------------------------------------------------------------------------------


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, *, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's NT-Xent loss for ``B`` positive pairs ``(z1[i], z2[i])``; a scalar tensor (nats).

    The 2B projections are L2-normalised and compared by cosine similarity ``s`` divided by
    ``temperature`` τ. For anchor ``i`` with positive ``j`` the loss is

        ℓ(i, j) = −log( exp(s_ij / τ) / Σ_{k ≠ i} exp(s_ik / τ) ),

    where ``k`` runs over the other 2B − 1 projections (one positive, 2B − 2 negatives). The result
    is the mean of ℓ over all 2B anchors (both directions of every pair), as in Chen et al. (2020).

    Args:
        z1, z2: projections ``[B, D]`` of the two views, same shape, floating point, B >= 2 (a batch
            of one pair has no negatives). Gradients flow to both.
        temperature: τ > 0; small τ weights the hardest negatives more.

    Returns:
        A 0-d tensor in ``z1``'s dtype and device. Computed in float32 for half-precision inputs.
        Bounded below by 0 and equal to ``log(2B − 1)`` when every similarity is equal.
    """
    check_tensor(z1, "z1", ndim=2, floating=True)
    check_tensor(z2, "z2", ndim=2, floating=True)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 pairs (one pair has no negatives), got {z1.shape[0]}")
    tau = check_positive(temperature, "temperature")
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
    return check_tensor(x, "x", ndim=4, floating=True)


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


def gaussian_noise(x: torch.Tensor, generator: torch.Generator | None = None, *, sigma: float = 0.2) -> torch.Tensor:
    """Additive Gaussian pixel noise with standard deviation ``sigma`` (in the units of ``x``; the digits
    are in [0, 1]); the result is not clipped."""
    _check_images(x)
    s = check_number(sigma, "sigma", low=0.0)
    noise = normal(x.shape, generator=check_generator(generator), device=x.device, dtype=compute_dtype(x.dtype))
    return (x.to(noise.dtype) + s * noise).to(x.dtype)


def compose(*views: View) -> View:
    """Apply ``views`` one after another, each drawing from the same generator (left to right)."""
    if not views:
        raise ValueError("compose needs at least one view, e.g. compose(shift_crop, gaussian_noise)")
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
VIEWS: dict[str, View] = {
    "none": identity,
    "shift": shift,
    "crop": shift_crop,
    "rotate": rotate,
    "elastic": elastic,
    "noise": gaussian_noise,
}


def make_view(spec: str) -> View:
    """The view named ``spec``: one name from ``VIEWS`` or several joined by ``+`` (applied left to right),
    e.g. ``"crop+noise"``."""
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"spec must be a non-empty string such as 'crop+noise', got {spec!r}")
    names = spec.split("+")
    for n in names:
        if n not in VIEWS:
            raise ValueError(f"spec names an unknown view {n!r}; expected names from {sorted(VIEWS)} joined by '+'")
    return compose(*(VIEWS[n] for n in names))


def view_augment(view: View):
    """An ``augment(x, y, generator) -> (view(x, generator), y)`` for ``training.fit``: the same view
    used as an ordinary label-preserving augmentation (the supervised baseline of notebook 10)."""
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")

    def augment(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        return view(x, generator), y

    return augment


def two_views(
    x: torch.Tensor, view: View, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views of a batch ``[B, C, H, W]``: row i of both is a positive pair.

    ``view`` is called once on the batch stacked twice (``[2B, C, H, W]``), so every one of the 2B
    images gets its own parameters from ``generator`` in one vectorised call; the first half is the
    first view. Returns two new tensors of ``x``'s shape, dtype and device.
    """
    _check_images(x)
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")
    generator = check_generator(generator)
    stacked = torch.cat([x, x])
    both = view(stacked, generator)
    if not isinstance(both, torch.Tensor) or both.shape != stacked.shape:
        got = tuple(getattr(both, "shape", ()))
        raise ValueError(f"view returned shape {got} for a batch of shape {tuple(stacked.shape)}; it must keep it")
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
        if x[0].numel() != self.in_features:
            raise ValueError(f"x must have {self.in_features} values per sample, got shape {tuple(x.shape)}")
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
    """Frozen features ``[N, D]`` of ``x`` ``[N, ...]`` in eval mode (mode restored), on ``x``'s device."""
    check_tensor(x, "x", floating=True)
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
        f_train, f_test: features ``[N, D]`` and ``[M, D]`` (any device; copied to the CPU as float64).
        y_train, y_test: integer labels ``[N]`` and ``[M]``.
        c: inverse regularisation strength (> 0).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_labelled(f_train, y_train, "f_train", "y_train")
    check_labelled(f_test, y_test, "f_test", "y_test")
    check_tensor(f_train, "f_train", ndim=2)
    check_tensor(f_test, "f_test", ndim=2)
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
    view: View,
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

    Each step draws ``batch_size`` images, makes two views with ``view`` (``two_views``), passes both
    through the encoder and an MLP projection head (``D → D → projection_dim``, initialised from
    ``seed``, discarded afterwards as in SimCLR) and takes an AdamW step on ``nt_xent``, with a cosine
    learning-rate schedule. Labels are never used. ``encoder`` is trained in place (moved to
    ``device``) and left in eval mode; ``x`` is not modified.

    Args:
        encoder: maps ``[B, C, H, W]`` to features ``[B, D]``; must expose ``out_features`` (``Encoder`` does).
        view: ``view(x, generator) -> x`` (e.g. ``make_view("crop+noise")``).
        steps, batch_size, lr: optimisation; ``batch_size`` is clipped to ``N`` (>= 2 needed).
        temperature: τ of ``nt_xent``.
        seed: seeds the head, the batch draws and the views (one CPU generator).
        device: default ``lessonlib.device()``.
    """
    check_tensor(x, "x", ndim=4, floating=True)
    if not callable(view):
        raise TypeError(f"view must be callable (x, generator) -> x, got {type(view).__name__}")
    d = getattr(encoder, "out_features", None)
    if not isinstance(d, int):
        raise TypeError("encoder must expose an int attribute out_features (use selfsup.make_encoder)")
    steps = check_int(steps, "steps", low=1)
    bs = min(check_int(batch_size, "batch_size", low=2), x.shape[0])
    if bs < 2:
        raise ValueError(f"x must hold at least 2 images to form negatives, got {x.shape[0]}")
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    dev = torch.device(device) if device is not None else default_device()
    with seeded(seed):
        head = _projection_head(d, check_int(projection_dim, "projection_dim", low=1))
    encoder.to(dev).train()
    head.to(dev).train()
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, fused=dev.type in ("cpu", "cuda") or None)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = make_generator(seed)
    xd = x.to(dev)
    losses = []
    for _ in range(steps):
        idx = randperm(xd.shape[0], generator=gen, device=dev)[:bs]
        v1, v2 = two_views(xd[idx], view, gen)
        z = head(encoder(torch.cat([v1, v2])))
        loss = nt_xent(z[:bs], z[bs:], temperature=temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    encoder.eval()
    return losses


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


def fixmatch_loss(
    model: nn.Module,
    x_labelled: torch.Tensor,
    y_labelled: torch.Tensor,
    x_unlabelled: torch.Tensor,
    *,
    weak: View,
    strong: View,
    threshold: float = 0.95,
    weight: float = 1.0,
    generator: torch.Generator | None = None,
) -> FixMatchLoss:
    """The FixMatch objective of Sohn et al. (2020) for one batch.

    Supervised part: cross-entropy on a *weak* view of the labelled batch. Unsupervised part: for each
    unlabelled image, the prediction on a weak view gives a hard pseudo-label ``ŷ = argmax p`` (no
    gradient through it); if its confidence ``max p >= threshold`` the model is trained to predict ŷ
    on a *strong* view of the same image. The unsupervised cross-entropy is averaged over *all*
    unlabelled images (masked ones count as zero), as in the paper.

    Args:
        model: images → logits ``[B, K]``.
        x_labelled, y_labelled: ``[B, C, H, W]`` and integer ``[B]``.
        x_unlabelled: ``[μB, C, H, W]``.
        weak, strong: views ``(x, generator) -> x``.
        threshold: confidence in [0, 1] needed to use a pseudo-label.
        weight: λ_u >= 0, the weight of the unsupervised term.
        generator: draws every view.
    """
    check_labelled(x_labelled, y_labelled, "x_labelled", "y_labelled")
    check_tensor(x_unlabelled, "x_unlabelled", ndim=x_labelled.ndim, floating=True, nonempty=True)
    for name, v in (("weak", weak), ("strong", strong)):
        if not callable(v):
            raise TypeError(f"{name} must be callable (x, generator) -> x, got {type(v).__name__}")
    tau = check_probability(threshold, "threshold")
    lam = check_number(weight, "weight", low=0.0)
    generator = check_generator(generator)
    b = x_labelled.shape[0]
    weak_views = weak(torch.cat([x_labelled, x_unlabelled.to(x_labelled.dtype)]), generator)  # one call
    xs_u = strong(x_unlabelled, generator)
    logits = model(torch.cat([weak_views, xs_u.to(weak_views.dtype)]))
    lw_l, lw_u, ls_u = logits[:b], logits[b : b + x_unlabelled.shape[0]], logits[b + x_unlabelled.shape[0] :]
    sup = F.cross_entropy(lw_l, y_labelled.to(logits.device))
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
    weak: View,
    strong: View,
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

    Each step: a labelled batch of ``min(batch_size, N_l)`` images and ``unlabelled_ratio`` times as
    many unlabelled ones (μ in the paper), AdamW with a cosine schedule. The model is trained in place,
    moved to ``device`` and left in eval mode. Returns the per-step ``"loss"`` and ``"mask_rate"``.
    """
    check_labelled(x_labelled, y_labelled, "x_labelled", "y_labelled")
    steps = check_int(steps, "steps", low=1)
    bs = min(check_int(batch_size, "batch_size", low=1), x_labelled.shape[0])
    mu = check_int(unlabelled_ratio, "unlabelled_ratio", low=1)
    seed = check_seed(seed)
    check_positive(lr, "lr")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=dev.type in ("cpu", "cuda") or None)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = make_generator(seed)
    xl, yl = x_labelled.to(dev), y_labelled.to(dev)
    xu = None
    if x_unlabelled is not None:
        check_tensor(x_unlabelled, "x_unlabelled", ndim=x_labelled.ndim, floating=True, nonempty=True)
        xu = x_unlabelled.to(dev)
    history: dict[str, list[float]] = {"loss": [], "mask_rate": []}
    for _ in range(steps):
        il = randperm(xl.shape[0], generator=gen, device=dev)[:bs]
        if xu is None:
            loss = F.cross_entropy(model(weak(xl[il], gen)), yl[il])
            rate = 0.0
        else:
            iu = randint(0, xu.shape[0], (mu * bs,), generator=gen, device=dev)
            out = fixmatch_loss(
                model,
                xl[il],
                yl[il],
                xu[iu],
                weak=weak,
                strong=strong,
                threshold=threshold,
                weight=weight,
                generator=gen,
            )
            loss, rate = out.total, out.mask_rate
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history["loss"].append(float(loss.detach()))
        history["mask_rate"].append(rate)
    model.eval()
    return history
