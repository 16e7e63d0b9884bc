"""Reference Mixup and CutMix (see ``lessonlib.reference``): the formulas, one sample at a time.

Every random draw is an argument (λ, the partner ``index``, the box), so a fast function can be run on
the same draws and compared. The oracle for ``lessonlib.mixing`` (``tests/test_mixing.py``).
"""

from __future__ import annotations

import math

import torch

__all__ = ["one_hot", "mixup", "cutmix_box", "cutmix"]


def one_hot(y: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """Target rows ``t = (1 − s)·onehot(y) + s/K``: label smoothing (Szegedy et al., 2016, *Rethinking the
    Inception architecture for computer vision*); ``s = 0`` is the plain one-hot row.

    ``y``: ``[B]`` integer labels in ``[0, K)``. Returns ``[B, K]`` float32 rows that sum to 1.
    """
    assert y.ndim == 1 and not y.is_floating_point() and 0.0 <= smoothing <= 1.0
    t = torch.full((len(y), num_classes), smoothing / num_classes)
    for i, label in enumerate(y.tolist()):
        t[i, label] += 1.0 - smoothing
    return t


def mixup(x: torch.Tensor, t: torch.Tensor, lam, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018, *mixup: Beyond empirical risk minimization*):

        x̃_i = λ_i·x_i + (1 − λ_i)·x_j,   t̃_i = λ_i·t_i + (1 − λ_i)·t_j,   j = index[i],

    with λ ~ Beta(α, α) drawn by the caller: one float for the batch, or ``[B]`` values (one per sample).
    ``x`` ``[B, ...]`` floating, ``t`` ``[B, K]`` target rows (``one_hot``). Returns ``(x̃, t̃)``.
    """
    assert x.is_floating_point() and len(x) == len(t) == len(index) > 0
    lam = torch.as_tensor(lam, dtype=torch.float64).expand(len(x))
    x_mix, t_mix = [], []
    for i, j in enumerate(index.tolist()):
        lam_i = float(lam[i])
        x_mix.append(lam_i * x[i] + (1 - lam_i) * x[j])
        t_mix.append(lam_i * t[i] + (1 - lam_i) * t[j])
    return torch.stack(x_mix), torch.stack(t_mix)


def cutmix_box(lam: float, cx: int, cy: int, height: int, width: int) -> tuple[int, int, int, int]:
    """The CutMix box (Yun et al., 2019, *CutMix: regularization strategy to train strong classifiers with
    localizable features*) for a proposed λ and a centre pixel ``(cx, cy)`` — the course's one convention.

    Each side is ``cut = int(S·√(1 − λ))`` pixels (S = H or W; float64, truncated), so the box covers about
    ``1 − λ`` of the image. The centre is drawn by the caller uniformly over the pixels, ``cx ∈ 0..W−1``,
    ``cy ∈ 0..H−1``. The half-open span is ``[c − cut//2, c − cut//2 + cut)``, exactly ``cut`` pixels
    (for odd ``cut`` one more pixel after the centre than before), then clipped to ``[0, S]``. Returns
    ``(x1, y1, x2, y2)``: columns ``x1:x2``, rows ``y1:y2``. timm's ``rand_bbox`` (1.0) is the same.
    """
    assert 0.0 <= lam <= 1.0 and 0 <= cx < width and 0 <= cy < height
    cut_w, cut_h = int(width * math.sqrt(1.0 - lam)), int(height * math.sqrt(1.0 - lam))
    x1, y1 = cx - cut_w // 2, cy - cut_h // 2
    x2, y2 = x1 + cut_w, y1 + cut_h
    return max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)


def cutmix(
    x: torch.Tensor, t: torch.Tensor, boxes, index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CutMix (Yun et al., 2019): paste the box of the partner ``j = index[i]`` into image ``i``,

        x̃_i = M_i ⊙ x_j + (1 − M_i) ⊙ x_i,   λ_i = 1 − (x2 − x1)(y2 − y1) / (H·W),
        t̃_i = λ_i·t_i + (1 − λ_i)·t_j,

    where ``M_i`` is 1 inside image ``i``'s box. λ is *recomputed* from the clipped box: the label says how
    much of each image is really there. ``boxes``: one ``(x1, y1, x2, y2)`` per sample (``cutmix_box``;
    repeat one box for a per-batch draw). ``x`` ``[B, C, H, W]`` (any dtype: pixels are only copied),
    ``t`` ``[B, K]``. Returns ``(x̃, t̃, λ)`` with λ a float64 ``[B]`` tensor.
    """
    assert x.ndim == 4 and len(x) == len(t) == len(index) == len(boxes) > 0
    h, w = x.shape[-2:]
    x_mix, t_mix, lams = x.clone(), [], []
    for i, j in enumerate(index.tolist()):
        x1, y1, x2, y2 = (int(v) for v in boxes[i])
        x_mix[i, :, y1:y2, x1:x2] = x[j, :, y1:y2, x1:x2]  # rows are y, columns are x
        lam_i = 1.0 - (x2 - x1) * (y2 - y1) / (h * w)
        t_mix.append(lam_i * t[i] + (1 - lam_i) * t[j])
        lams.append(lam_i)
    return x_mix, torch.stack(t_mix), torch.tensor(lams, dtype=torch.float64)
