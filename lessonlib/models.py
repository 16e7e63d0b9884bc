"""The course's small networks, and running one on a batch of inputs.

* ``SmallCNN`` (images such as the 8x8 digits) and ``SmallCNN1d`` (single-beat ECG).
* ``make_model(kind, seed)`` builds either with weights seeded by ``seed``.
* ``predict_logits(model, x)`` runs a model in eval mode over ``x`` in batches, without gradients.

Imports only ``lessonlib.utils``; ``training``, ``metrics`` and ``experiments`` build on it.
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.utils import check_int, check_one_of, check_seed, check_tensor, seeded

__all__ = ["SmallCNN", "SmallCNN1d", "make_model", "predict_logits", "model_device"]


class SmallCNN(nn.Module):
    """A three-convolution CNN for small images ``[B, C, H, W]`` (H, W >= 4) → logits ``[B, K]``.

    About 25k parameters at ``width=16``; trains on the 8x8 digits in about a second on a CPU core.
    Spatial information is kept to a 2x2 grid before the classifier, so the network is *not*
    translation- or rotation-invariant by construction: invariance has to be learned.

    Args:
        in_channels, num_classes, width: positive integers (C, K and the first layer's channels).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16):
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", low=1)
        num_classes = check_int(num_classes, "num_classes", low=1)
        width = check_int(width, "width", low=1)
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
    """A small 1-D CNN for signals ``[B, leads, T]`` → logits ``[B, K]`` (global average pooling over time).

    Args:
        in_channels, num_classes, width: positive integers (leads, K and the first layer's channels).
        kernel_size: a positive odd integer (odd so that padding keeps the length).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 16, kernel_size: int = 7):
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", low=1)
        num_classes = check_int(num_classes, "num_classes", low=1)
        width = check_int(width, "width", low=1)
        kernel_size = check_int(kernel_size, "kernel_size", low=1)
        if kernel_size % 2 == 0:
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


_KINDS = {"cnn2d": SmallCNN, "cnn1d": SmallCNN1d}


def make_model(kind: str, seed: int, **kwargs) -> nn.Module:
    """Build ``SmallCNN`` (``kind='cnn2d'``) or ``SmallCNN1d`` (``kind='cnn1d'``) with weights seeded by ``seed``.

    Weight initialisation draws from torch's global RNG inside ``seeded(seed)`` (thread-safe, the
    global state is restored after), so the same ``(kind, seed, kwargs)`` gives the same weights.
    """
    check_one_of(kind, "kind", sorted(_KINDS))
    seed = check_seed(seed)
    with seeded(seed):
        return _KINDS[kind](**kwargs)


def model_device(model: nn.Module, fallback: torch.device | str = "cpu") -> torch.device:
    """The device of ``model``'s first parameter (or buffer); ``fallback`` for a model that has neither."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device(fallback)


@torch.inference_mode()
def predict_logits(
    model: nn.Module, x: torch.Tensor, *, batch_size: int = 512, device: torch.device | str | None = None
) -> torch.Tensor:
    """Logits ``[N, K]`` for inputs ``[N, ...]``, in eval mode (the model's mode is restored after).

    Args:
        model: maps ``[B, ...]`` to ``[B, K]``.
        x: inputs, floating point; not modified. An empty ``x`` (N = 0) gives ``[0, K]`` from one
            forward pass on the empty batch.
        batch_size: rows per forward pass (>= 1).
        device: where the model runs; default the model's device (``x``'s for a parameter-free model).

    Returns:
        Logits on the device of ``x``, in the model's output dtype.
    """
    check_tensor(x, "x", floating=True)
    batch_size = check_int(batch_size, "batch_size", low=1)
    dev = torch.device(device) if device is not None else model_device(model, fallback=x.device)
    was_training = model.training
    model.eval()
    try:
        if x.shape[0] == 0:
            outs = [_rows_out(model, x.to(dev))]
        else:
            outs = [_rows_out(model, x[i : i + batch_size].to(dev)) for i in range(0, x.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs).to(x.device)


def _rows_out(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    """``model(xb)``, refusing anything but a tensor with one row per input (named, not a bare cat error)."""
    out = model(xb)
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or out.shape[0] != xb.shape[0]:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(f"model must return logits [B, K] with B = {xb.shape[0]} rows, got {got}")
    return out
