"""Reference SpecAugment (see ``lessonlib.reference``): frequency and time masks on a spectrogram.

A batch of spectrograms is ``[B, F, T]`` (frequency bins × time frames). Every random draw is an
argument, so ``lessonlib.spectro.spec_augment`` can be run on the same draws and compared
(``tests/test_spectro.py``).
"""

from __future__ import annotations

import torch

__all__ = ["mask_along_axis", "spec_augment"]


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
