"""Small models and a minimal, reproducible training loop for the course's experiments.

* ``SmallCNN`` (images such as the 8x8 digits) and ``SmallCNN1d`` (single-beat ECG).
* ``fit`` trains with an optional per-batch augmentation ``augment(x, y, generator) -> (x, y)``;
  ``y`` may come back as soft targets ``[B, K]`` (Mixup/CutMix), which cross-entropy accepts.
* ``evaluate`` returns accuracy, mean loss and expected calibration error (ECE).
* ``repeat_over_seeds`` runs an experiment for several seeds and summarises mean and spread;
  ``map_seeds`` runs it for several seeds and returns the results in order. On a CPU both train
  several seeds at once in threads (one core each), which is what keeps the notebooks within a
  minute on two cores; results are identical to running the seeds one after another.

Determinism: for a given seed, ``fit`` gives the same model on CPU run after run (weights are
initialised inside ``seeded(seed)``, shuffling and augmentation draw from a generator made from the
seed). GPU runs are close but not bit-identical (cuDNN), which is why notebooks round checked numbers.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.utils import check_tensor, make_generator, progress_bar, randperm, seeded, uniform
from lessonlib.utils import device as default_device

__all__ = [
    "SmallCNN",
    "SmallCNN1d",
    "fit",
    "predict_logits",
    "evaluate",
    "EvalResult",
    "expected_calibration_error",
    "repeat_over_seeds",
    "map_seeds",
    "parallel_workers",
    "SeedSummary",
    "make_model",
    "stratified_subset",
    "random_apply",
    "sometimes",
    "per_class_accuracy",
    "prediction_consistency",
    "LearningCurve",
    "learning_curve",
]

Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
T = TypeVar("T")


class SmallCNN(nn.Module):
    """A three-convolution CNN for small images ``[B, C, H, W]`` (H, W >= 4) → logits ``[B, K]``.

    About 25k parameters at ``width=16``; trains on the 8x8 digits in about a second on a CPU core.
    Spatial information is kept to a 2x2 grid before the classifier, so the network is *not*
    translation- or rotation-invariant by construction: invariance has to be learned.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes), ("width", width)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
        )
        self.classifier = nn.Linear(4 * width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class SmallCNN1d(nn.Module):
    """A small 1-D CNN for signals ``[B, leads, T]`` → logits ``[B, K]`` (global average pooling over time)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 16, kernel_size: int = 7):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes), ("width", width)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
        pad = kernel_size // 2
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, width, kernel_size, padding=pad),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Conv1d(width, 2 * width, kernel_size, padding=pad),
            nn.BatchNorm1d(2 * width),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(2 * width, 2 * width, kernel_size, padding=pad),
            nn.BatchNorm1d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def make_model(kind: str, seed: int, **kwargs) -> nn.Module:
    """Build ``SmallCNN`` (``kind='cnn2d'``) or ``SmallCNN1d`` (``kind='cnn1d'``) with weights seeded by ``seed``."""
    classes = {"cnn2d": SmallCNN, "cnn1d": SmallCNN1d}
    if kind not in classes:
        raise ValueError(f"kind must be one of {sorted(classes)}, got {kind!r}")
    with seeded(seed):
        return classes[kind](**kwargs)


def _check_xy(x: torch.Tensor, y: torch.Tensor, xname: str = "x", yname: str = "y") -> None:
    check_tensor(x, xname, floating=True)
    check_tensor(y, yname, ndim=1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{xname} has {x.shape[0]} rows but {yname} has {y.shape[0]}; they must match")
    if y.is_floating_point():
        raise TypeError(f"{yname} must hold integer class labels, got dtype {y.dtype}")


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    augment: Augment | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    steps: int | None = None,
    schedule: str = "constant",
) -> nn.Module:
    """Train ``model`` with AdamW and cross-entropy on ``(x, y)``; returns the same model, trained.

    Args:
        model: any ``nn.Module`` mapping ``[B, ...]`` to logits ``[B, K]``; moved to ``device``.
        x: inputs ``[N, ...]``, floating point. Not modified.
        y: integer labels ``[N]``.
        epochs, batch_size, lr, weight_decay: the usual; the last batch of an epoch may be smaller.
        augment: optional ``augment(xb, yb, generator) -> (xb, yb)`` applied to each training batch on
            ``device``. It may return soft targets ``[B, K]`` (rows summing to 1) instead of labels.
        seed: seeds the shuffling and the generator handed to ``augment`` (a CPU generator, so
            results do not depend on the device).
        device: default ``lessonlib.device()``.
        progress: show a progress bar over epochs (over steps when ``steps`` is given); headless
            runs (``LESSONLIB_STATIC=1``) never show one.
        steps: when given, train for exactly this many optimiser steps instead of ``epochs`` epochs
            (reshuffling at every pass through the data). Fairer when comparing training-set sizes:
            every size gets the same number of gradient updates.
        schedule: ``"constant"`` (default) or ``"cosine"`` (learning rate decays from ``lr`` to 0 over
            the run, which makes the final model much less dependent on the last few noisy batches).

    The model is left in eval mode after training (it is about to be evaluated).
    """
    _check_xy(x, y)
    if x.shape[0] == 0:
        raise ValueError("x is empty; fit needs at least one training example")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps must be a positive int or None, got {steps!r}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be callable (x, y, generator) -> (x, y), got {type(augment).__name__}")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    xd, yd = x.to(dev), y.to(dev)
    gen = make_generator(seed)
    # The fused kernel does the whole update in one pass: about 20% less time per step for the
    # course's tiny CNNs on a CPU, where per-operation overhead dominates (same maths as the default).
    fused = dev.type in ("cpu", "cuda") and all(p.is_floating_point() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused or None)
    n = x.shape[0]
    per_epoch = -(-n // batch_size)
    total = steps if steps is not None else epochs * per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total) if schedule == "cosine" else None
    model.train()
    bar = progress_bar(
        total=total if steps is not None else epochs,
        desc="steps" if steps is not None else "epochs",
        enabled=progress,
    )
    done = 0
    while done < total:
        order = randperm(n, generator=gen, device=dev)
        for start in range(0, n, batch_size):
            if done >= total:
                break
            idx = order[start : start + batch_size]
            xb, yb = xd[idx], yd[idx]
            if augment is not None:
                xb, yb = augment(xb, yb, gen)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            done += 1
            if steps is not None:
                bar.update(1)
        if steps is None:
            bar.update(1)
    bar.close()
    model.eval()
    return model


@torch.inference_mode()
def predict_logits(
    model: nn.Module, x: torch.Tensor, *, batch_size: int = 512, device: torch.device | str | None = None
) -> torch.Tensor:
    """Logits ``[N, K]`` for inputs ``[N, ...]``, in eval mode (the model's mode is restored after).

    Returned on the device of ``x``.
    """
    check_tensor(x, "x", floating=True)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        outs = [model(x[i : i + batch_size].to(dev)) for i in range(0, x.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs).to(x.device)


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """Top-label expected calibration error with ``n_bins`` equal-width confidence bins.

    ECE = Σ_b (|B_b| / N) · |accuracy(B_b) − mean confidence(B_b)|, where sample i falls in bin b when
    its confidence max_k p_ik lies in ((b−1)/n_bins, b/n_bins]. Empty bins contribute nothing.

    Args:
        probs: ``[N, K]`` probabilities (rows sum to 1).
        labels: ``[N]`` integer labels.
        n_bins: number of bins (>= 1).

    Returns:
        ECE as a float in [0, 1].
    """
    check_tensor(probs, "probs", ndim=2, floating=True, finite=True)
    check_tensor(labels, "labels", ndim=1)
    if probs.shape[0] != labels.shape[0]:
        raise ValueError(f"probs has {probs.shape[0]} rows but labels has {labels.shape[0]}")
    if probs.shape[0] == 0:
        raise ValueError("probs is empty; ECE needs at least one sample")
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    if bool((probs < 0).any()) or not torch.allclose(
        probs.sum(1), torch.ones(1, dtype=probs.dtype, device=probs.device), atol=1e-3
    ):
        raise ValueError("probs must be non-negative with rows summing to 1 (apply softmax to logits first)")
    p = probs.detach().to(torch.float64)
    conf, pred = p.max(1)
    correct = (pred == labels.to(p.device)).to(torch.float64)
    # bin b (0-based) holds confidences in (b/n, (b+1)/n]; confidence is always > 0 for a probability row.
    which = torch.clamp(torch.ceil(conf * n_bins).long() - 1, 0, n_bins - 1)
    count = torch.zeros(n_bins, dtype=torch.float64, device=p.device).index_add_(0, which, torch.ones_like(conf))
    sum_conf = torch.zeros_like(count).index_add_(0, which, conf)
    sum_acc = torch.zeros_like(count).index_add_(0, which, correct)
    return float((sum_acc - sum_conf).abs().sum() / conf.shape[0])


@dataclass(frozen=True)
class EvalResult:
    """Accuracy (fraction), mean cross-entropy (nats) and ECE of a model on a labelled set."""

    accuracy: float
    loss: float
    ece: float
    probs: torch.Tensor

    def as_dict(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "loss": self.loss, "ece": self.ece}


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, n_bins: int = 15, batch_size: int = 512
) -> EvalResult:
    """Accuracy, mean cross-entropy and ECE of ``model`` on ``(x, y)``; also the probabilities ``[N, K]``."""
    _check_xy(x, y)
    logits = predict_logits(model, x, batch_size=batch_size)
    yl = y.to(logits.device)
    probs = logits.softmax(1)
    return EvalResult(
        accuracy=float((logits.argmax(1) == yl).float().mean()),
        loss=float(F.cross_entropy(logits, yl)),
        ece=expected_calibration_error(probs, yl, n_bins=n_bins),
        probs=probs.cpu(),
    )


@dataclass(frozen=True)
class SeedSummary:
    """Per-seed values of each metric, with mean and sample standard deviation."""

    seeds: tuple[int, ...]
    values: Mapping[str, np.ndarray]

    def mean(self, metric: str) -> float:
        return float(np.mean(self._get(metric)))

    def std(self, metric: str) -> float:
        v = self._get(metric)
        return float(np.std(v, ddof=1)) if v.size > 1 else 0.0

    def _get(self, metric: str) -> np.ndarray:
        if metric not in self.values:
            raise KeyError(f"metric {metric!r} not recorded; have {sorted(self.values)}")
        return self.values[metric]

    def format(self, metric: str, digits: int = 3) -> str:
        """E.g. ``'0.912 ± 0.010 (n=5)'``: mean ± sample std over seeds."""
        return f"{self.mean(metric):.{digits}f} ± {self.std(metric):.{digits}f} (n={len(self.seeds)})"


def _seed_list(seeds: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        return tuple(range(seeds))
    out = tuple(int(s) for s in seeds)
    if not out:
        raise ValueError("seeds is empty; expected at least one seed")
    return out


def parallel_workers(n_tasks: int, device: torch.device | str | None = None) -> int:
    """How many experiments ``map_seeds`` runs at once: 1 on a GPU, else one per usable CPU core
    (at most ``n_tasks`` and 8).

    On a CPU the course's models are so small that one core per model is the fastest layout: two
    models trained side by side on two cores take about 1.5x less time than one after the other,
    while giving one model both cores helps little (per-operation overhead dominates).
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive int, got {n_tasks!r}")
    dev = torch.device(device) if device is not None else default_device()
    if dev.type != "cpu":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(n_tasks, cores, 8))


@contextlib.contextmanager
def _one_thread_per_task(device: torch.device) -> Iterator[None]:
    """On a CPU, give every task one intra-op thread (restored after), however many tasks run at
    once, so the results do not depend on how many share the cores."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def map_seeds(
    experiment: Callable[[int], T],
    seeds: Sequence[int] | int = 5,
    *,
    workers: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "seeds",
) -> list[T]:
    """``[experiment(s) for s in seeds]``, with several seeds running at once on a CPU.

    Each experiment must be self-contained, as every experiment in this course is: randomness from
    its own ``torch.Generator`` or inside ``lessonlib.seeded`` (which is thread-safe), no shared
    mutable state. Then the results are identical to a plain loop; only the time changes.

    Args:
        experiment: ``seed -> result``.
        seeds: a list of seeds, or an int n meaning seeds ``0..n-1``.
        workers: experiments at once; default ``parallel_workers(len(seeds), device)`` (1 on a GPU).
        device: where the experiments train; default ``lessonlib.device()``. On a CPU each experiment
            runs with one intra-op thread (``torch.set_num_threads(1)`` for the call, restored after).
        progress: a ``tqdm`` bar over finished seeds.

    Returns:
        The results, in the order of ``seeds``. An exception in any experiment is raised here.
    """
    if not callable(experiment):
        raise TypeError(f"experiment must be callable seed -> result, got {type(experiment).__name__}")
    seeds = _seed_list(seeds)
    dev = torch.device(device) if device is not None else default_device()
    if workers is None:
        workers = parallel_workers(len(seeds), dev)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    bar = progress_bar(total=len(seeds), desc=desc, enabled=progress)

    def run(seed: int) -> T:
        result = experiment(seed)
        bar.update(1)
        return result

    try:
        with _one_thread_per_task(dev):
            if workers == 1:
                return [run(s) for s in seeds]
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lessonlib-seed") as pool:
                return list(pool.map(run, seeds))
    finally:
        bar.close()


def repeat_over_seeds(
    experiment: Callable[[int], Mapping[str, float] | float],
    seeds: Sequence[int] | int = 5,
    *,
    workers: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "seeds",
) -> SeedSummary:
    """Run ``experiment(seed)`` for each seed and collect its metrics (mean and spread).

    Args:
        experiment: returns a float or a ``{metric: float}`` dict (a float is stored as ``"value"``);
            self-contained as ``map_seeds`` requires, since seeds may run at once on a CPU.
        seeds: a list of seeds, or an int n meaning seeds ``0..n-1``.
        workers, device: as in ``map_seeds``.
        progress: show a ``tqdm`` bar.
    """
    seeds = _seed_list(seeds)
    results = map_seeds(experiment, seeds, workers=workers, device=device, progress=progress, desc=desc)
    rows = [{"value": float(r)} if isinstance(r, (int, float)) else dict(r) for r in results]
    keys = rows[0].keys()
    for r in rows:
        if r.keys() != keys:
            raise ValueError(
                f"experiment returned different metrics for different seeds: {sorted(r)} vs {sorted(keys)}"
            )
    values = {k: np.asarray([float(r[k]) for r in rows]) for k in keys}
    return SeedSummary(seeds, values)


# ----------------------------------------------------------------------------------------------
# Experiment helpers: class-balanced subsets, augmentation adapters, per-class accuracy,
# prediction consistency and learning curves.
# ----------------------------------------------------------------------------------------------


def stratified_subset(y: torch.Tensor, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices ``[n]`` (int64, on ``y``'s device) of a class-balanced random subset of labels ``y`` ``[N]``.

    Each of the K classes present gets ``n // K`` examples; the ``n % K`` left over go to distinct
    classes drawn at random. Within a class the examples are drawn without replacement. Guarantees:
    no index repeats; per-class counts differ by at most one; same generator state → same subset.

    Raises:
        ValueError: if ``n`` is not in ``[K, N]`` or a class has fewer than its share of examples.
    """
    check_tensor(y, "y", ndim=1)
    if y.is_floating_point():
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    classes = torch.unique(y.cpu())
    k = int(classes.numel())
    if isinstance(n, bool) or not isinstance(n, int) or not k <= n <= y.shape[0]:
        raise ValueError(f"n must be an int between the number of classes ({k}) and len(y) ({y.shape[0]}), got {n!r}")
    extra = set(randperm(k, generator=generator)[: n % k].tolist())
    yc = y.cpu()
    picked = []
    for i, c in enumerate(classes.tolist()):  # a loop over classes, not samples
        members = torch.nonzero(yc == c).flatten()
        share = n // k + (1 if i in extra else 0)
        if members.numel() < share:
            raise ValueError(f"class {c} has {members.numel()} examples but needs {share} for n={n}")
        picked.append(members[randperm(members.numel(), generator=generator)[:share]])
    idx = torch.cat(picked)
    return idx[randperm(idx.numel(), generator=generator)].to(y.device)


def random_apply(transform: Callable[[torch.Tensor], torch.Tensor], p: float = 0.5) -> Augment:
    """An ``augment(x, y, generator) -> (x, y)`` for ``fit``: ``transform`` applied with probability ``p``.

    ``transform`` maps a batch ``[B, ...]`` to a batch of the same shape (e.g. a 180° rotation,
    ``lambda x: torch.rot90(x, 2, (-2, -1))``). One Bernoulli(p) draw per sample from the generator;
    labels pass through unchanged — which is exactly the bet a label-preserving augmentation makes.
    """
    if not callable(transform):
        raise TypeError(f"transform must be callable batch -> batch, got {type(transform).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")

    def augment(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        out = transform(x)
        if out.shape != x.shape:
            raise ValueError(f"transform changed the batch shape from {tuple(x.shape)} to {tuple(out.shape)}")
        mask = uniform(x.shape[0], generator=generator, device=x.device) < p
        return torch.where(mask.view(-1, *([1] * (x.ndim - 1))), out, x), y

    return augment


def sometimes(augment: Augment, p: float = 0.5) -> Augment:
    """Wrap an ``augment(x, y, generator) -> (x, y)`` so each sample is augmented with probability ``p``.

    The wrapped augmentation runs on the whole batch (vectorised); one Bernoulli(p) draw per sample
    then picks the augmented or the original image. Keeping a share of clean images keeps the training
    distribution close to the (clean) test distribution, which matters for small models on small
    images. ``augment`` must return labels unchanged (label-preserving); soft targets are rejected.
    """
    if not callable(augment):
        raise TypeError(f"augment must be callable (x, y, generator) -> (x, y), got {type(augment).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")

    def wrapped(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        xa, ya = augment(x, y, generator)
        if xa.shape != x.shape:
            raise ValueError(f"augment changed the batch shape from {tuple(x.shape)} to {tuple(xa.shape)}")
        if ya.shape != y.shape or not torch.equal(ya, y):
            raise ValueError("augment changed the labels; sometimes() only wraps label-preserving augmentations")
        mask = uniform(x.shape[0], generator=generator, device=x.device) < p
        return torch.where(mask.view(-1, *([1] * (x.ndim - 1))), xa, x), y

    return wrapped


def per_class_accuracy(pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Accuracy of each class, float64 ``[num_classes]`` (NaN for a class absent from ``y``).

    Args:
        pred: predicted labels ``[N]`` (integers) or logits/probabilities ``[N, K]`` (argmax is taken).
        y: true labels ``[N]``.
        num_classes: K.
    """
    check_tensor(pred, "pred", ndim=(1, 2))
    check_tensor(y, "y", ndim=1)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    p = pred.argmax(1) if pred.ndim == 2 else pred
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"pred has {p.shape[0]} rows but y has {y.shape[0]}; they must match")
    yc, pc = y.cpu().long(), p.cpu().long()
    if yc.numel() and (int(yc.min()) < 0 or int(yc.max()) >= num_classes):
        raise ValueError(f"y must hold labels in 0..{num_classes - 1}, got range {int(yc.min())}..{int(yc.max())}")
    total = torch.bincount(yc, minlength=num_classes).double()
    right = torch.bincount(yc[pc == yc], minlength=num_classes).double()
    return torch.where(total > 0, right / total.clamp_min(1), torch.full_like(total, float("nan")))


@torch.inference_mode()
def prediction_consistency(
    model: nn.Module,
    x: torch.Tensor,
    transform: Callable[..., torch.Tensor],
    *,
    generator: torch.Generator | None = None,
    repeats: int = 1,
) -> float:
    """Fraction of inputs whose predicted class is unchanged by ``transform`` (an invariance measure).

    ``transform(x, generator=generator)`` (or ``transform(x)`` when its signature has no ``generator``
    parameter) must return a batch of the same shape; with ``repeats > 1`` the fraction is averaged
    over that many random draws. 1.0 means perfectly invariant predictions; it says nothing about
    whether they are correct.
    """
    check_tensor(x, "x", floating=True)
    if not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    try:
        takes_generator = "generator" in inspect.signature(transform).parameters
    except (TypeError, ValueError):  # builtins without a signature
        takes_generator = False
    base = predict_logits(model, x).argmax(1)
    agree = 0.0
    for _ in range(repeats):
        xt = transform(x, generator=generator) if takes_generator else transform(x)
        if xt.shape != x.shape:
            raise ValueError(f"transform changed the shape from {tuple(x.shape)} to {tuple(xt.shape)}")
        agree += float((predict_logits(model, xt).argmax(1) == base).double().mean())
    return agree / repeats


@dataclass(frozen=True)
class LearningCurve:
    """Test accuracy per (setting, seed, size): ``accuracy[name]`` is ``[n_seeds, n_sizes]``.

    ``models[name]`` keeps the models trained at the largest size (one per seed) when requested.
    """

    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: Mapping[str, np.ndarray]
    models: Mapping[str, list[nn.Module]]

    def gain(self, name: str, baseline: str) -> np.ndarray:
        """Per-seed accuracy gain of ``name`` over ``baseline`` (paired by seed), ``[n_seeds, n_sizes]``."""
        for k in (name, baseline):
            if k not in self.accuracy:
                raise KeyError(f"setting {k!r} not in the curve; have {sorted(self.accuracy)}")
        return self.accuracy[name] - self.accuracy[baseline]


def learning_curve(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    sizes: Sequence[int],
    settings: Mapping[str, Augment | None],
    seeds: Sequence[int] | int = 5,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 3e-3,
    model_kind: str = "cnn2d",
    model_kwargs: Mapping[str, object] | None = None,
    keep_models: bool = False,
    device: torch.device | str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> LearningCurve:
    """Test accuracy vs training-set size for several augmentation settings, over several seeds.

    For every seed and size, one class-balanced subset of the training set is drawn (the *same*
    subset and the same initial weights for every setting, so differences between settings are
    paired), and each setting trains a fresh model for exactly ``steps`` optimiser steps with a
    cosine learning-rate schedule (equal compute for every size). Cost: ``len(seeds) · len(sizes) ·
    len(settings)`` fits.

    Args:
        x_train, y_train: the pool to draw subsets from, ``[N, ...]`` and ``[N]``.
        x_test, y_test: the fixed evaluation set.
        sizes: total training-set sizes, increasing.
        settings: ``{name: augment or None}``.
        seeds: a list of seeds or a count n (seeds 0..n-1).
        keep_models: keep the models trained at the largest size, for later analysis.
        device, workers: as in ``map_seeds`` (on a CPU several (seed, size) runs train at once;
            the numbers are the same as one after another).
    """
    _check_xy(x_train, y_train, "x_train", "y_train")
    _check_xy(x_test, y_test, "x_test", "y_test")
    sizes = tuple(int(s) for s in sizes)
    if not sizes or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must be a non-empty strictly increasing sequence, got {sizes!r}")
    if not settings:
        raise ValueError("settings is empty; expected e.g. {'none': None, 'affine': affine_augment()}")
    seeds = _seed_list(seeds)
    runs = [(seed, n) for seed in seeds for n in sizes]

    def run(k: int) -> dict[str, tuple[float, nn.Module]]:
        seed, n = runs[k]
        idx = stratified_subset(y_train, n, generator=make_generator(seed))
        xs, ys = x_train[idx.to(x_train.device)], y_train[idx.to(y_train.device)]
        out = {}
        for name, aug in settings.items():
            model = make_model(model_kind, seed, **dict(model_kwargs or {}))
            fit(
                model,
                xs,
                ys,
                steps=steps,
                batch_size=batch_size,
                lr=lr,
                augment=aug,
                seed=seed,
                schedule="cosine",
                device=device,
                progress=False,
            )
            out[name] = (evaluate(model, x_test, y_test).accuracy, model)
        return out

    # every (seed, size) run is self-contained, so map_seeds may train several at once on a CPU
    results = map_seeds(run, range(len(runs)), workers=workers, device=device, progress=progress, desc="learning curve")
    acc = {name: np.zeros((len(seeds), len(sizes))) for name in settings}
    models: dict[str, list[nn.Module]] = {name: [] for name in settings} if keep_models else {}
    for k, res in enumerate(results):
        i, j = divmod(k, len(sizes))
        for name, (accuracy, model) in res.items():
            acc[name][i, j] = accuracy
            if keep_models and j == len(sizes) - 1:
                models[name].append(model)
    return LearningCurve(sizes, seeds, acc, models)
