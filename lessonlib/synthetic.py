"""Synthetic data as augmentation (notebook 14): a small class-conditional generator and its sampler,
train-on-synthetic-test-on-real (TSTR), the memorisation check (nearest-training-neighbour distances),
SMOTE and a Gaussian copula for tables.

Each function is ``reference.synthetic.<name>`` (the short textbook version, read it first) made
batched, validated and seeded by an optional ``torch.Generator``; ``tests/test_synthetic.py`` checks
that the two agree on the same draws and compares ``smote`` with imbalanced-learn's ``SMOTE``. Inputs
are never modified; results keep the caller's device and floating dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.models import make_model
from lessonlib.training import evaluate, fit
from lessonlib.utils import (
    check_generator,
    check_int,
    check_labels,
    check_number,
    check_seed,
    check_tensor,
    normal,
    randint,
    seeded,
    uniform,
)

__all__ = [
    "ConditionalVAE",
    "negative_elbo",
    "vae_loss",
    "train_generator",
    "sample",
    "tstr",
    "nearest_neighbour_distances",
    "smote",
    "GaussianCopula",
    "fit_copula",
    "sample_copula",
]


# ----------------------------------------------------------------------------------------------
# A class-conditional VAE: the generator (seconds on a CPU for the 8x8 digits)
# ----------------------------------------------------------------------------------------------


class ConditionalVAE(nn.Module):
    """A small class-conditional variational auto-encoder for images ``[B, C, H, W]`` with values in [0, 1].

    Encoder: (flattened image, one-hot label) → MLP → ``(mu, logvar)`` ``[B, latent]``. Decoder:
    (latent code, one-hot label) → MLP → pixel logits ``[B, C·H·W]`` (``sigmoid`` gives the image).
    Trained by ``train_generator`` through ``training.fit`` with ``vae_loss``; sampled by ``sample``.

    Args:
        image_shape: ``(C, H, W)`` of one image.
        num_classes: K >= 1. latent, hidden: sizes of the code and of the hidden layers (>= 1).
    """

    def __init__(self, image_shape: tuple[int, ...], num_classes: int, latent: int = 8, hidden: int = 128):
        super().__init__()
        self.image_shape = tuple(check_int(s, "image_shape", low=1) for s in image_shape)
        self.num_classes = check_int(num_classes, "num_classes", low=1)
        self.latent = check_int(latent, "latent", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        d = 1
        for s in self.image_shape:
            d *= s
        self.n_pixels = d
        self.encoder = nn.Sequential(nn.Linear(d + num_classes, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent + num_classes, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, d),
        )

    def _onehot(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y.long(), self.num_classes).to(like.dtype)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` ``[B, latent]`` of images ``x`` ``[B, C, H, W]`` with labels ``y`` ``[B]``."""
        flat = x.flatten(1)
        mu, logvar = self.encoder(torch.cat([flat, self._onehot(y, flat)], 1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Pixel logits ``[B, C·H·W]`` of codes ``z`` ``[B, latent]`` for labels ``y`` ``[B]``."""
        return self.decoder(torch.cat([z, self._onehot(y, z)], 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # reconstruction of the mean code
        return torch.sigmoid(self.decode(self.encode(x, y)[0], y)).reshape(x.shape)


def _negative_elbo(x, recon_logits, mu, logvar):
    rec = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="none").sum(1)
    kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1)
    return (rec + kl).mean()


def negative_elbo(x: torch.Tensor, recon_logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The same result as ``reference.synthetic.negative_elbo``; adds validation and one batched pass.

    Args:
        x: targets ``[B, D]`` in [0, 1] (flattened images), B >= 1. recon_logits: ``[B, D]``.
        mu, logvar: ``[B, Z]``, the encoder's Gaussian (log-variance, not variance).

    Returns:
        A scalar: mean over the batch of (Bernoulli cross-entropy summed over pixels, in nats) + KL.
    """
    check_tensor(x, "x", floating=True, ndim=2, finite=True, nonempty=True)
    check_tensor(recon_logits, "recon_logits", floating=True, ndim=2, finite=True)
    check_tensor(mu, "mu", floating=True, ndim=2, finite=True)
    check_tensor(logvar, "logvar", floating=True, ndim=2, finite=True)
    if recon_logits.shape != x.shape:
        raise ValueError(f"recon_logits must have x's shape {tuple(x.shape)}, got {tuple(recon_logits.shape)}")
    if mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise ValueError(
            f"mu and logvar must both be [B, Z] with B = {x.shape[0]}, got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    if bool((x < 0).any() or (x > 1).any()):
        raise ValueError("x must hold pixel values in [0, 1] (Bernoulli targets)")
    return _negative_elbo(x, recon_logits, mu, logvar)


def vae_loss(
    model: ConditionalVAE, xb: torch.Tensor, yb: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """``training.fit``'s loss hook for a ``ConditionalVAE``: −ELBO of the batch with one reparameterised
    draw ``z = mu + exp(logvar / 2) · ε``, ``ε ~ N(0, I)`` from ``generator`` (fit's own, so a seed gives
    the same run). ``xb`` ``[B, C, H, W]`` in [0, 1], ``yb`` ``[B]`` labels. Unchecked: fit has validated
    the data; use ``negative_elbo`` to compute the loss of given tensors with validation.
    """
    mu, logvar = model.encode(xb, yb)
    eps = normal(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps
    return _negative_elbo(xb.flatten(1), model.decode(z, yb), mu, logvar)


def train_generator(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    num_classes: int | None = None,
    latent: int = 8,
    hidden: int = 128,
    epochs: int = 60,
    steps: int | None = None,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> ConditionalVAE:
    """Train a ``ConditionalVAE`` on labelled images with the course's one loop (``training.fit`` + ``vae_loss``).

    Args:
        x: images ``[N, C, H, W]`` in [0, 1], N >= 1; y: labels ``[N]`` in 0..K-1.
        num_classes: K (default ``y.max() + 1``). latent, hidden: the model's sizes.
        epochs, steps, batch_size, lr, device, progress: as ``training.fit`` (``steps``, when given,
            replaces ``epochs``: fairer across training-set sizes). seed: initial weights and the run.

    Returns:
        The trained model, in eval mode, on ``device``. About 2 s for the 1257 training digits on a CPU core.
    """
    check_tensor(x, "x", floating=True, ndim=4, finite=True, nonempty=True)
    check_labels(y, "y", n=x.shape[0])
    if bool((x < 0).any() or (x > 1).any()):
        raise ValueError("x must hold pixel values in [0, 1] (the decoder models Bernoulli pixels)")
    k = int(y.max()) + 1 if num_classes is None else check_int(num_classes, "num_classes", low=int(y.max()) + 1)
    seed = check_seed(seed)
    with seeded(seed):
        model = ConditionalVAE(tuple(x.shape[1:]), k, latent=latent, hidden=hidden)
    return fit(
        model,
        x,
        y,
        loss=vae_loss,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        progress=progress,
    )


@torch.no_grad()
def sample(
    model: ConditionalVAE, labels: torch.Tensor, *, generator: torch.Generator | None = None, temperature: float = 1.0
) -> torch.Tensor:
    """Generated images ``[N, C, H, W]`` in [0, 1], one per label: ``sigmoid(decode(temperature · ε, label))``
    with ``ε ~ N(0, I)`` from ``generator``; the mean image of the decoder, not a Bernoulli draw.

    Args:
        model: a trained ``ConditionalVAE``. labels: ``[N]`` in ``0..model.num_classes-1`` (N may be 0).
        temperature: scale of the latent draw (> 0; below 1 trades diversity for typical samples).

    Returns images on ``labels``' device, float32.
    """
    if not isinstance(model, ConditionalVAE):
        raise TypeError(f"model must be a ConditionalVAE, got {type(model).__name__}")
    check_labels(labels, "labels", num_classes=model.num_classes)
    temperature = check_number(temperature, "temperature", low=0.0, low_inclusive=False)
    check_generator(generator)
    dev = next(model.parameters()).device
    eps = normal((labels.shape[0], model.latent), generator=generator, device=dev)
    was = model.training
    model.eval()
    logits = model.decode(temperature * eps, labels.to(dev))
    model.train(was)
    return torch.sigmoid(logits).reshape(labels.shape[0], *model.image_shape).to(labels.device)


# ----------------------------------------------------------------------------------------------
# Evaluation: TSTR and the memorisation check
# ----------------------------------------------------------------------------------------------


def tstr(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    seed: int = 0,
    steps: int = 300,
    kind: str = "cnn2d",
    device: torch.device | str | None = None,
    **model_kwargs,
) -> float:
    """Train a classifier on ``(x_train, y_train)`` and return its accuracy on the real ``(x_test, y_test)``.

    With synthetic training data this is *train on synthetic, test on real* (TSTR, Esteban et al., 2017);
    with real training data, its baseline TRTR. The same recipe for both (``models.make_model(kind, seed)``,
    ``training.fit`` with ``steps`` AdamW steps, cosine schedule) so the two numbers are comparable.

    Args:
        x_train, y_train / x_test, y_test: labelled sets (``[N, ...]`` floating, labels ``[N]``), N >= 1.
        seed: initial weights and shuffling. steps: optimiser steps (>= 1). kind, model_kwargs: the model.

    Returns the test accuracy, a fraction in [0, 1].
    """
    check_tensor(x_train, "x_train", floating=True, finite=True, nonempty=True)
    check_labels(y_train, "y_train", n=x_train.shape[0], rows_of="x_train")
    check_tensor(x_test, "x_test", floating=True, finite=True, nonempty=True)
    check_labels(y_test, "y_test", n=x_test.shape[0], rows_of="x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"x_train rows {tuple(x_train.shape[1:])} and x_test rows {tuple(x_test.shape[1:])} must have one shape"
        )
    model = make_model(kind, seed, **model_kwargs)
    fit(
        model,
        x_train,
        y_train,
        steps=check_int(steps, "steps", low=1),
        schedule="cosine",
        seed=seed,
        device=device,
        progress=False,
    )
    return evaluate(
        model, x_test.to(next(model.parameters()).device), y_test.to(next(model.parameters()).device)
    ).accuracy


def nearest_neighbour_distances(
    queries: torch.Tensor, reference: torch.Tensor, *, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.synthetic.nearest_neighbour_distances``; adds validation and batched
    ``torch.cdist`` (``batch_size`` query rows at a time, float64 for exact ties).

    Args:
        queries: ``[Q, ...]`` floating (Q may be 0); reference: ``[R, ...]`` with the same row shape, R >= 1.

    Returns:
        ``(distance, index)``: ``[Q]`` Euclidean distances in ``queries``' dtype and ``[Q]`` int64 indices
        of the nearest reference row (the first one on a tie), both on ``queries``' device.
    """
    check_tensor(queries, "queries", floating=True, ndim=tuple(range(1, 9)), finite=True)
    check_tensor(reference, "reference", floating=True, ndim=tuple(range(1, 9)), finite=True, nonempty=True)
    if queries.shape[1:] != reference.shape[1:]:
        raise ValueError(
            f"queries rows {tuple(queries.shape[1:])} and reference rows {tuple(reference.shape[1:])} "
            "must have one shape"
        )
    batch_size = check_int(batch_size, "batch_size", low=1)
    r = reference.flatten(1).double().to(queries.device)
    dist, index = [], []
    for q in queries.flatten(1).double().split(batch_size):
        d = torch.cdist(q, r, compute_mode="donot_use_mm_for_euclid_dist")
        best = d.min(1)
        dist.append(best.values)
        index.append(best.indices)
    if not dist:
        return queries.new_zeros(0), torch.zeros(0, dtype=torch.long, device=queries.device)
    return torch.cat(dist).to(queries.dtype), torch.cat(index)


# ----------------------------------------------------------------------------------------------
# Tables: SMOTE and a Gaussian copula
# ----------------------------------------------------------------------------------------------


def smote(x: torch.Tensor, n_samples: int, *, k: int = 5, generator: torch.Generator | None = None) -> torch.Tensor:
    """The same result as ``reference.synthetic.smote``; adds validation, the draws, and all rows at once.

    ``n_samples`` new rows, each ``x_b + s · (x_nn − x_b)`` on the segment from a minority row ``x_b`` to
    one of its ``k`` nearest minority neighbours (Euclidean), as imbalanced-learn's ``SMOTE``: the draws
    are ``i ~ U{0 .. n·k − 1}`` (``b = i // k``, neighbour rank ``i % k``), then ``s ~ U[0, 1)``.

    Args:
        x: minority-class rows ``[n, d]``, floating, finite, n > k. Every column is treated as continuous:
            a categorical code (e.g. sex 1/2) comes out as 1.37; SMOTE-NC (imbalanced-learn's ``SMOTENC``)
            takes the neighbours' most frequent category instead.
        n_samples: rows to generate (>= 0). k: neighbours (>= 1). generator: the draws.

    Returns ``[n_samples, d]`` in ``x``'s dtype and device.
    """
    check_tensor(x, "x", floating=True, ndim=2, finite=True, nonempty=True)
    n_samples = check_int(n_samples, "n_samples", low=0)
    k = check_int(k, "k", low=1)
    if x.shape[0] <= k:
        raise ValueError(f"x has {x.shape[0]} rows; SMOTE with k={k} neighbours needs more than k rows")
    check_generator(generator)
    n = x.shape[0]
    xd = x.double()
    d = torch.cdist(xd, xd, compute_mode="donot_use_mm_for_euclid_dist")
    d.fill_diagonal_(float("inf"))
    neighbours = d.topk(k, dim=1, largest=False).indices  # [n, k], nearest first
    i = randint(0, n * k, n_samples, generator=generator, device=x.device)
    step = uniform(n_samples, generator=generator, device=x.device, dtype=torch.float64)[:, None]
    base = i // k
    new = xd[base] + step * (xd[neighbours[base, i % k]] - xd[base])
    return new.to(x.dtype)


@dataclass(frozen=True)
class GaussianCopula:
    """A fitted Gaussian copula: each column's sorted training values ``[N, d]`` (its empirical marginal)
    and the Cholesky factor ``[d, d]`` of the normal scores' correlation (float64)."""

    sorted_columns: torch.Tensor
    cholesky: torch.Tensor


def fit_copula(x: torch.Tensor) -> GaussianCopula:
    """Fit a Gaussian copula to a table ``x`` ``[N, d]`` (floating, finite, N >= 2): the first half of
    ``reference.synthetic.copula_sample`` (normal scores of the ranks, their correlation). Fit one per class
    for class-conditional samples. Constant columns are allowed (their score is uncorrelated).
    """
    check_tensor(x, "x", floating=True, ndim=2, finite=True)
    if x.shape[0] < 2:
        raise ValueError(f"x has {x.shape[0]} rows; a copula needs at least 2 to estimate correlations")
    n, d = x.shape
    xd = x.double()
    ranks = xd.argsort(dim=0, stable=True).argsort(dim=0).double() + 1
    scores = torch.special.ndtri(ranks / (n + 1))
    corr = torch.corrcoef(scores.T).reshape(d, d)
    chol = torch.linalg.cholesky(corr + 1e-9 * torch.eye(d, dtype=xd.dtype, device=xd.device))
    return GaussianCopula(xd.sort(0).values, chol)


def sample_copula(copula: GaussianCopula, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """The same result as ``reference.synthetic.copula_sample``; adds the draws (``z ~ N(0, I)`` ``[n, d]``
    in float64 from ``generator``) and a vectorised quantile (one gather for all columns).

    Returns ``[n, d]`` float64 rows whose columns follow the training marginals (values inside each
    column's observed range) and whose rank correlations follow the training table's.
    """
    if not isinstance(copula, GaussianCopula):
        raise TypeError(f"copula must be a GaussianCopula (from fit_copula), got {type(copula).__name__}")
    n = check_int(n, "n", low=0)
    check_generator(generator)
    cols = copula.sorted_columns
    m, d = cols.shape
    z = normal((n, d), generator=generator, device=cols.device, dtype=torch.float64)
    u = torch.special.ndtr(z @ copula.cholesky.T)
    pos = u * (m - 1)
    lo = pos.floor().long().clamp(0, m - 1)
    hi = (lo + 1).clamp(max=m - 1)
    frac = pos - lo
    a, b = cols.gather(0, lo), cols.gather(0, hi)
    return a + frac * (b - a)
