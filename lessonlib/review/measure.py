"""Measurements for notebook 07: how large are the silent bugs when you put numbers on them?"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lessonlib.utils import check_tensor, make_generator

__all__ = ["CutmixGap", "cutmix_label_gap", "normalisation_gap"]


@dataclass(frozen=True)
class CutmixGap:
    """Per draw (each ``[n_draws]`` float tensors): the fraction of the image pasted from the partner, and
    the label weight the buggy and the fixed CutMix give the partner."""

    pasted: torch.Tensor
    label_buggy: torch.Tensor
    label_fixed: torch.Tensor

    @property
    def error_buggy(self) -> torch.Tensor:
        """|label weight − pasted area| of the buggy version, per draw."""
        return (self.label_buggy - self.pasted).abs()

    @property
    def error_fixed(self) -> torch.Tensor:
        """|label weight − pasted area| of the fixed version, per draw."""
        return (self.label_fixed - self.pasted).abs()


def cutmix_label_gap(n_draws: int = 400, *, size: int = 32, alpha: float = 1.0, seed: int = 0) -> CutmixGap:
    """Run the buggy and the fixed CutMix of notebook 07 on the same ``n_draws`` boxes and compare each
    partner label weight with the area actually pasted.

    The batch is two constant images (0 and 1) of ``size`` × ``size`` pixels, so the mean of the mixed
    image 0 is exactly the pasted fraction. Both versions draw from generators with the same seed, so
    draw ``i`` uses the same box in both.
    """
    from lessonlib.review import answers, buggy

    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValueError(f"size must be an int >= 2, got {size!r}")
    x = torch.arange(2.0).view(2, 1, 1, 1).expand(2, 1, size, size).clone()
    y = torch.eye(2)
    g_bug, g_fix = make_generator(seed), make_generator(seed)
    pasted, lab_bug, lab_fix = [], [], []
    for _ in range(n_draws):  # one box per call: the loop is over draws, not over samples
        xb, yb = buggy.cutmix(x, y, alpha=alpha, generator=g_bug)
        xf, yf = answers.cutmix(x, y, alpha=alpha, generator=g_fix)
        if not torch.equal(xb, xf):
            raise RuntimeError("the buggy and fixed CutMix pasted different boxes; they must share the draws")
        pasted.append(xb[0].mean())
        lab_bug.append(yb[0, 1])
        lab_fix.append(yf[0, 1])
    return CutmixGap(torch.stack(pasted), torch.stack(lab_bug), torch.stack(lab_fix))


def normalisation_gap(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of (eval input − train input) for the buggy pipelines of drill
    ``train_eval_mismatch`` at ``strength=0``, on radiographs ``x`` ``[B, 1, H, W]`` in [0, 1].

    Returns two ``[3]`` tensors: the shift (mean difference) and the ratio of standard deviations
    (eval / train), both in the units the model sees (normalised values).
    """
    from lessonlib.review import buggy

    check_tensor(x, "x", ndim=4, floating=True)
    if x.shape[1] != 1:
        raise ValueError(f"x must hold 1-channel radiographs [B, 1, H, W], got shape {tuple(x.shape)}")
    train_fn, eval_fn = buggy.cxr_pipelines(strength=0.0)
    a = train_fn(x, generator=make_generator(0))
    b = eval_fn(x)
    return (b - a).mean(dim=(0, 2, 3)), b.std(dim=(0, 2, 3)) / a.std(dim=(0, 2, 3))
