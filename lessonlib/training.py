"""The training loop: ``fit`` a model, ``evaluate`` it (accuracy, loss, ECE).

* ``fit`` trains with an optional per-batch augmentation ``augment(x, y, generator) -> (x, y)``
  (``lessonlib.augment``); ``y`` may come back as soft targets ``[B, K]`` (Mixup/CutMix), which
  cross-entropy accepts.
* ``evaluate`` returns accuracy, mean loss and expected calibration error (``lessonlib.metrics``).

Everything else has its own module and is imported from there: the networks and ``predict_logits``
from ``models``, the metrics from ``metrics``, seed repetition and learning curves from
``experiments``, the augmentation adapters from ``augment``. This module imports only ``models``,
``metrics`` and ``utils``, so every technique module (``augment``, ``selfsup``, ``policies``) may
import it without a cycle.

Determinism: for a given seed, ``fit`` gives the same model on CPU run after run (weights are
initialised inside ``seeded(seed)``, shuffling and augmentation draw from a generator made from the
seed). GPU runs are close but not bit-identical (cuDNN), which is why notebooks round checked numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.metrics import expected_calibration_error
from lessonlib.models import predict_logits
from lessonlib.utils import (
    check_bool,
    check_int,
    check_labels,
    check_number,
    check_one_of,
    check_positive,
    check_seed,
    check_tensor,
    make_generator,
    progress_bar,
    randperm,
)
from lessonlib.utils import device as default_device

__all__ = ["fit", "evaluate", "EvalResult", "Augment", "BatchLoss", "check_labelled"]

#: ``augment(x, y, generator) -> (x, y)``: a batch ``[B, ...]`` and its labels ``[B]`` in, the augmented
#: batch and labels ``[B]`` (or soft targets ``[B, K]``) out, drawing only from ``generator``. The
#: adapters that build one live in ``lessonlib.augment``; the type lives here, beside ``fit``, which
#: calls it (so ``training`` never imports ``augment``).
Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator | None], tuple[torch.Tensor, torch.Tensor]]

#: A per-batch loss for ``fit(..., loss=...)``: ``loss(model, xb, yb, generator) -> scalar tensor``.
#: ``xb``/``yb`` are the batch after ``augment`` (``yb`` is None when ``fit`` got ``y=None``);
#: ``generator`` is ``fit``'s CPU generator, for any randomness the loss needs (views, unlabelled
#: batches). The default is ``cross_entropy(model(xb), yb)``; AugMix's JSD term
#: (``policies.augmix_jsd_loss``), FixMatch (``selfsup``) and SimCLR (``selfsup``) plug in here.
BatchLoss = Callable[[nn.Module, torch.Tensor, "torch.Tensor | None", torch.Generator], torch.Tensor]


def check_labelled(x: object, y: object, xname: str = "x", yname: str = "y") -> None:
    """Validate a labelled set: ``x`` a floating tensor ``[N, ...]``, ``y`` integer labels ``[N]``.

    Raises:
        TypeError: not tensors, ``x`` not floating, ``y`` floating or bool. ValueError: ``y`` not 1-D
            or the row counts differ. Messages name ``xname``/``yname``.
    """
    check_tensor(x, xname, floating=True, ndim=tuple(range(1, 9)))
    check_labels(y, yname, n=x.shape[0], rows_of=xname)


def _check_labels_fit(y: torch.Tensor, logits: object, rows: int) -> None:
    """The model's output must be logits ``[rows, K]`` and the labels must index its K outputs
    (cross-entropy would fail with a bare IndexError or a batch-size mismatch)."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"model must return logits [B, K] (a tensor), got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] != rows:
        raise ValueError(f"model must return logits [B, K] with B = {rows}, got shape {tuple(logits.shape)}")
    check_labels(y, "y", num_classes=logits.shape[1])


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None,
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
    loss: BatchLoss | None = None,
    drop_last: bool = False,
) -> nn.Module:
    """Train ``model`` with AdamW and cross-entropy on ``(x, y)``; returns the same model, trained.

    The course's one training loop: every model in the course is trained here, supervised or not
    (a different objective is a ``loss`` hook, never a second loop).

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
        loss: optional ``BatchLoss`` ``loss(model, xb, yb, generator) -> scalar`` replacing the
            default ``cross_entropy(model(xb), yb)`` (extra terms: return cross-entropy plus them).
            With a ``loss``, ``y`` may be None (self-supervised pre-training): ``yb`` is then None.
        drop_last: skip the smaller last batch of every pass (each step then sees exactly
            ``batch_size`` examples; needs ``batch_size <= N``). For objectives whose batch size
            matters, such as a contrastive loss, whose negatives are the rest of the batch.

    Raises:
        TypeError: ``model`` not a module, ``augment``/``loss`` not callable, or returning the wrong
            thing (``augment`` must return a pair ``(x, y)`` with ``x`` a tensor of the batch's
            shape; ``loss`` a scalar floating tensor).
        ValueError: bad data (empty, non-finite, labels out of range), or ``drop_last`` with
            ``batch_size > N`` (no full batch).

    The model is left in eval mode after training (it is about to be evaluated).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable (model, xb, yb, generator) -> scalar, got {type(loss).__name__}")
    if y is None and loss is None:
        raise TypeError("y must be a tensor of labels [N]; y=None needs a loss= hook that uses no labels")
    if y is None:
        check_tensor(x, "x", floating=True, ndim=tuple(range(1, 9)))
    else:
        check_labelled(x, y)
    if x.shape[0] == 0:
        raise ValueError("x is empty; fit needs at least one training example")
    check_tensor(x, "x", finite=True)  # a NaN input would train the weights to NaN without an error
    if y is not None and int(y.min()) < 0:
        raise ValueError(f"y must hold labels in 0..K-1, got a label {int(y.min())}")
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_positive(lr, "lr")
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    steps = None if steps is None else check_int(steps, "steps", low=1)
    check_one_of(schedule, "schedule", ("constant", "cosine"))
    seed = check_seed(seed)
    progress = check_bool(progress, "progress")
    drop_last = check_bool(drop_last, "drop_last")
    if drop_last and batch_size > x.shape[0]:
        raise ValueError(
            f"batch_size is {batch_size} but x holds {x.shape[0]} examples; drop_last=True needs a full batch"
        )
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be callable (x, y, generator) -> (x, y), got {type(augment).__name__}")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    xd, yd = x.to(dev), (None if y is None else y.to(dev))
    gen = make_generator(seed)
    # The fused kernel does the whole update in one pass: about 20% less time per step for the
    # course's tiny CNNs on a CPU, where per-operation overhead dominates (same maths as the default).
    fused = dev.type in ("cpu", "cuda") and all(p.is_floating_point() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused or None)
    n = x.shape[0]
    last_start = n - batch_size if drop_last else n - 1  # the last start of a batch in one pass
    per_epoch = last_start // batch_size + 1
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
        for start in range(0, last_start + 1, batch_size):
            if done >= total:
                break
            idx = order[start : start + batch_size]
            xb, yb = xd[idx], (None if yd is None else yd[idx])
            if augment is not None:
                xb, yb = _checked_augment(augment(xb, yb, gen), xb)
            if loss is None:
                logits = model(xb)
                if done == 0:  # once, at the first step: the model's K is known only from its output
                    _check_labels_fit(y, logits, xb.shape[0])
                value = F.cross_entropy(logits, yb)
            else:
                value = _checked_loss(loss(model, xb, yb, gen))
            opt.zero_grad(set_to_none=True)
            value.backward()
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


def _checked_augment(out: object, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """An ``augment`` must return ``(x, y)`` with ``x`` a tensor of the batch's shape."""
    if not isinstance(out, tuple) or len(out) != 2:
        got = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise TypeError(f"augment must return a pair (x, y), got {got}")
    if not isinstance(out[0], torch.Tensor) or out[0].shape[:1] != xb.shape[:1]:
        got = tuple(out[0].shape) if isinstance(out[0], torch.Tensor) else type(out[0]).__name__
        raise TypeError(f"augment must return x as a tensor [B, ...] with B = {xb.shape[0]}, got {got}")
    return out


def _checked_loss(value: object) -> torch.Tensor:
    """A ``loss`` hook's return must be a scalar tensor that carries a gradient."""
    if not isinstance(value, torch.Tensor) or value.ndim != 0 or not value.is_floating_point():
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(f"loss must return a scalar floating tensor, got {shape}")
    if not value.requires_grad:
        raise ValueError("loss returned a tensor without a gradient; compute it from model(...) outputs")
    return value


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
    """Accuracy, mean cross-entropy and ECE of ``model`` on ``(x, y)``; also the probabilities ``[N, K]``.

    Args:
        model: a classifier ``[B, ...] -> [B, K]`` (run by ``models.predict_logits``, mode restored).
        x: inputs ``[N, ...]`` (N >= 1, floating); y: labels ``[N]`` in ``0..K-1``.
        n_bins: ECE bins (``metrics.expected_calibration_error``); batch_size: rows per forward pass.

    Returns:
        ``EvalResult`` (accuracy in [0, 1], loss in nats, ECE in [0, 1], probabilities on the CPU).
    """
    check_labelled(x, y)
    if x.shape[0] == 0:
        raise ValueError("x is empty; evaluate needs at least one labelled example")
    n_bins = check_int(n_bins, "n_bins", low=1)
    logits = predict_logits(model, x, batch_size=batch_size)
    yl = y.to(logits.device)
    _check_labels_fit(yl, logits, x.shape[0])
    probs = logits.softmax(1)
    return EvalResult(
        accuracy=float((logits.argmax(1) == yl).float().mean()),
        loss=float(F.cross_entropy(logits, yl)),
        ece=expected_calibration_error(probs, yl, n_bins=n_bins),
        probs=probs.cpu(),
    )
