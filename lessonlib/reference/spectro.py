"""Reference SpecAugment (see ``lessonlib.reference``): time warp, frequency and time masks on a spectrogram.

A batch of spectrograms is ``[B, F, T]`` (frequency bins × time frames). Every random draw is an
argument, so ``lessonlib.spectro.spec_augment`` can be run on the same draws and compared
(``tests/test_spectro.py``).
"""

from __future__ import annotations

import torch

__all__ = ["mask_along_axis", "spec_augment", "time_warp"]


def mask_along_axis(
    spec: torch.Tensor, u_width: torch.Tensor, u_start: torch.Tensor, mask_param: int, axis: int, value: float = 0.0
) -> torch.Tensor:
    """One mask per spectrogram along ``axis`` (1 = frequency, 2 = time), torchaudio's rule:

        w = u_w · mask_param,   s = u_s · (size − w),   rows ⌊s⌋ ≤ i < ⌊s⌋ + ⌊w⌋ set to ``value``,

    with ``u_width``, ``u_start`` ~ U[0, 1) ``[B]`` (one pair per spectrogram: torchaudio's
    ``iid_masks=True``; its default draws ONE pair for the whole batch). The width is below
    ``mask_param`` and the mask stays inside the axis. Park et al. (2019), *SpecAugment: A Simple Data
    Augmentation Method for Automatic Speech Recognition* (there: width ~ U[0, F], start ~ U[0, ν − f)).
    """
    assert spec.ndim == 3 and axis in (1, 2) and u_width.shape == u_start.shape == (spec.shape[0],)
    out = spec.clone()
    size = spec.shape[axis]
    for b in range(spec.shape[0]):
        width = float(u_width[b]) * mask_param
        start = int(float(u_start[b]) * (size - width))
        stop = start + int(width)
        if axis == 1:
            out[b, start:stop, :] = value
        else:
            out[b, :, start:stop] = value
    return out


def spec_augment(
    spec: torch.Tensor, u: torch.Tensor, freq_mask_param: int, time_mask_param: int, n_freq: int, n_time: int
) -> torch.Tensor:
    """SpecAugment without time warping: ``n_freq`` frequency masks, then ``n_time`` time masks, each by
    ``mask_along_axis`` (masks may overlap). ``u`` ``[n_freq + n_time, 2, B]`` holds each mask's
    (width, start) draws in that order. Park et al. (2019), *SpecAugment*, section 2.
    """
    assert u.shape == (n_freq + n_time, 2, spec.shape[0])
    out = spec
    for m in range(n_freq + n_time):
        axis, param = (1, freq_mask_param) if m < n_freq else (2, time_mask_param)
        out = mask_along_axis(out, u[m, 0], u[m, 1], param, axis)
    return out if (n_freq + n_time) else spec.clone()


def time_warp(spec: torch.Tensor, u_centre: torch.Tensor, u_shift: torch.Tensor, warp_param: int) -> torch.Tensor:
    """SpecAugment's time warp: frame ``c`` moves to ``w``, the first and last frames stay put, and the
    frames between are stretched or squeezed linearly (one piecewise-linear map per spectrogram):

        c = W + 1 + u_c · (T − 3 − 2W),   w = c + (2 u_s − 1) · W   (so 1 ≤ w ≤ T − 2),
        output frame j reads input time  s = j · c / w  (j < w),   c + (j − w) · (T − 1 − c) / (T − 1 − w)  (j ≥ w),

    linearly interpolated between frames ⌊s⌋ and ⌊s⌋ + 1; ``u_centre``, ``u_shift`` ~ U[0, 1) ``[B]``.
    Park et al. (2019), *SpecAugment*, section 2 (there a spline warp, ``sparse_image_warp``).
    """
    b, _, t = spec.shape
    assert u_centre.shape == u_shift.shape == (b,) and 0 <= 2 * warp_param <= t - 3
    out = spec.clone()
    for i in range(b):
        c = warp_param + 1 + float(u_centre[i]) * (t - 3 - 2 * warp_param)
        w = c + (2 * float(u_shift[i]) - 1) * warp_param
        for j in range(t):
            s = j * c / w if j < w else c + (j - w) * (t - 1 - c) / (t - 1 - w)
            lo = min(int(s), t - 1)
            frac = s - lo
            hi = min(lo + 1, t - 1)
            out[i, :, j] = (1 - frac) * spec[i, :, lo] + frac * spec[i, :, hi]
    return out
