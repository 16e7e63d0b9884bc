"""Spectrograms and SpecAugment (notebook 14): time warp, time and frequency masks with per-sample draws.

A batch of spectrograms is ``[B, F, T]`` (frequency bins × time frames). ``spec_augment`` is
``reference.spectro.spec_augment`` (read it first) batched, validated and seeded by an optional
``torch.Generator``; ``time_warp`` is ``reference.spectro.time_warp`` the same way. torchaudio's
``FrequencyMasking``/``TimeMasking`` draw ONE mask for the whole batch unless ``iid_masks=True``, and
ESPnet's ``TimeWarp`` layer applies one warp to a batch whose utterances have equal lengths;
``iid_masks=False`` (``iid=False``) reproduces those defaults so their cost can be measured.
torchaudio has no wheel for the course's torch, so the tests check the documented rule through the
reference instead of against the library. Inputs are never modified; results keep device and dtype.
"""

from __future__ import annotations

import torch

from lessonlib.utils import check_bool, check_generator, check_int, check_number, check_tensor, uniform

__all__ = ["log_spectrogram", "spec_augment", "time_warp"]


def log_spectrogram(x: torch.Tensor, *, n_fft: int = 32, hop: int = 4, eps: float = 1e-6) -> torch.Tensor:
    """Log-power spectrogram ``log(|STFT|² + eps)`` of signals ``[B, L]`` or ``[B, 1, L]`` → ``[B, n_fft//2 + 1, T]``.

    ``torch.stft`` with a Hann window of ``n_fft`` samples, hop ``hop``, centred frames (reflect padding),
    so ``T = L // hop + 1``. Units: log of squared signal units; frequency bin ``f`` is ``f · fs / n_fft``.
    """
    check_tensor(x, "x", floating=True, ndim=(2, 3), finite=True, nonempty=True)
    if x.ndim == 3:
        if x.shape[1] != 1:
            raise ValueError(f"x must be [B, L] or [B, 1, L] (one channel), got shape {tuple(x.shape)}")
        x = x[:, 0]
    n_fft = check_int(n_fft, "n_fft", low=2)
    hop = check_int(hop, "hop", low=1)
    eps = check_number(eps, "eps", low=0.0, low_inclusive=False)
    if x.shape[-1] <= n_fft // 2:
        raise ValueError(f"x has {x.shape[-1]} samples; reflect padding needs more than n_fft // 2 = {n_fft // 2}")
    window = torch.hann_window(n_fft, dtype=x.dtype, device=x.device)
    z = torch.stft(x, n_fft, hop_length=hop, window=window, center=True, return_complex=True)
    return torch.log(z.abs() ** 2 + eps)


def _masks(spec, u, freq_mask_param, time_mask_param, n_freq, value):
    """Apply the masks of draws ``u`` ``[M, 2, B]`` in one pass (unchecked core)."""
    b, f, t = spec.shape
    keep = torch.ones(b, f, t, dtype=torch.bool, device=spec.device)
    for m in range(u.shape[0]):
        axis_len, param = (f, freq_mask_param) if m < n_freq else (t, time_mask_param)
        width = u[m, 0].double() * param
        start = (u[m, 1].double() * (axis_len - width)).long()
        stop = start + width.long()
        pos = torch.arange(axis_len, device=spec.device)
        hit = (pos >= start[:, None]) & (pos < stop[:, None])  # [B, size]
        keep &= ~(hit[:, :, None] if m < n_freq else hit[:, None, :])
    return spec.masked_fill(~keep, value)


def _warp(spec, warp_param, iid, generator):
    """Draw the time warps (``uniform`` ``[2, B or 1]``: centre, then shift) and apply them in one
    gather (unchecked core of ``time_warp`` and ``spec_augment``)."""
    b, f, t = spec.shape
    u = uniform((2, b if iid else 1), generator=generator, device=spec.device).expand(-1, b)
    c = (warp_param + 1 + u[0].double() * (t - 3 - 2 * warp_param))[:, None]  # [B, 1]
    w = c + ((2 * u[1].double() - 1) * warp_param)[:, None]
    j = torch.arange(t, dtype=torch.float64, device=spec.device)
    s = torch.where(j < w, j * c / w, c + (j - w) * (t - 1 - c) / (t - 1 - w))  # input time of frame j
    lo = s.long().clamp(max=t - 1)
    frac = (s - lo).to(spec.dtype)[:, None, :]
    hi = (lo + 1).clamp(max=t - 1)
    at_lo, at_hi = (spec.gather(2, i[:, None, :].expand(b, f, t)) for i in (lo, hi))
    return (1 - frac) * at_lo + frac * at_hi


def _check_warp_param(time_warp_param, t):
    w = check_int(time_warp_param, "time_warp_param", low=0)
    if w > 0 and 2 * w > t - 3:
        raise ValueError(
            f"time_warp_param must be <= (T - 3) // 2 = {max((t - 3) // 2, 0)} for spectrograms of T = {t} frames "
            f"(the warped point and its shift stay strictly inside), got {w}"
        )
    return w


def time_warp(
    spec: torch.Tensor,
    *,
    time_warp_param: int,
    iid: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The same result as ``reference.spectro.time_warp``; adds validation, the draws, one batched
    gather and a per-batch mode.

    Each spectrogram's frame ``c`` (drawn in ``[W + 1, T − 2 − W]``) moves to ``w = c ± up to W`` frames;
    the first and last frames stay, the frames on either side are stretched or squeezed linearly, and
    every output frame is a linear interpolation of two neighbouring input frames (so values stay
    within each bin's range). Duration is kept; the local rate of events changes, which is why a warp
    is not label-preserving where durations carry the label (a QRS width, a heart rate: notebook 03).

    Args:
        spec: ``[B, F, T]`` floating, finite, B >= 1.
        time_warp_param: ``W``, the largest shift in frames (>= 0; ``2W <= T − 3``); 0 returns a copy.
        iid: True draws each spectrogram's warp (``u`` ``[2, B]``); False one warp for the whole batch.
        generator: the draws (``uniform`` of shape ``[2, B or 1]``: centre, then shift).

    Returns ``[B, F, T]`` in ``spec``'s dtype and device.
    """
    check_tensor(spec, "spec", floating=True, ndim=3, finite=True, nonempty=True)
    warp = _check_warp_param(time_warp_param, spec.shape[2])
    iid = check_bool(iid, "iid")
    check_generator(generator)
    return _warp(spec, warp, iid, generator) if warp else spec.clone()


def spec_augment(
    spec: torch.Tensor,
    *,
    freq_mask_param: int,
    time_mask_param: int,
    n_freq_masks: int = 1,
    n_time_masks: int = 1,
    iid_masks: bool = True,
    mask_value: float = 0.0,
    time_warp_param: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The same result as ``reference.spectro.spec_augment`` (after ``reference.spectro.time_warp`` when
    ``time_warp_param > 0``); adds validation, the draws, one batched pass, a per-batch mode and a mask value.

    Each mask: width ``w = u · param`` (below ``param``), start ``⌊u' · (size − w)⌋``, rows ``start ..
    start + ⌊w⌋ − 1`` set to ``mask_value`` (torchaudio's rule; with a spectrogram normalised to mean 0,
    the default 0 is the mean, as in Park et al., 2019). Frequency masks first, then time masks.

    Args:
        spec: ``[B, F, T]`` floating, finite, B >= 1.
        freq_mask_param, time_mask_param: the largest widths (>= 0; ``freq_mask_param <= F``,
            ``time_mask_param <= T``). n_freq_masks, n_time_masks: masks of each kind (>= 0).
        iid_masks: True draws each spectrogram's masks independently (``u`` ``[M, 2, B]``); False draws one
            set for the whole batch (``[M, 2, 1]``), torchaudio's default: every spectrogram of the batch
            loses the same band and the same frames.
        mask_value: what masked bins become.
        time_warp_param: ``W`` of a time warp applied first, as in Park et al. (``time_warp``; 0, the
            default, warps nothing and draws nothing). iid_masks also decides whether the warp is per
            spectrogram.
        generator: the draws: the warp's ``[2, B or 1]`` first when ``W > 0``, then the masks'
            ``uniform`` of shape ``[M, 2, B or 1]``.

    Returns ``[B, F, T]`` in ``spec``'s dtype and device.
    """
    check_tensor(spec, "spec", floating=True, ndim=3, finite=True, nonempty=True)
    b, f, t = spec.shape
    freq_mask_param = check_int(freq_mask_param, "freq_mask_param", low=0, high=f)
    time_mask_param = check_int(time_mask_param, "time_mask_param", low=0, high=t)
    n_freq = check_int(n_freq_masks, "n_freq_masks", low=0)
    n_time = check_int(n_time_masks, "n_time_masks", low=0)
    iid = check_bool(iid_masks, "iid_masks")
    mask_value = check_number(mask_value, "mask_value")
    warp = _check_warp_param(time_warp_param, t)
    check_generator(generator)
    if warp:
        spec = _warp(spec, warp, iid, generator)
    u = uniform((n_freq + n_time, 2, b if iid else 1), generator=generator, device=spec.device)
    return _masks(spec, u.expand(-1, -1, b), freq_mask_param, time_mask_param, n_freq, mask_value)
