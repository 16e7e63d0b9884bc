"""Reference ECG artefacts (see ``lessonlib.reference``): the formulas, one record at a time.

A batch ``x`` is ``[B, leads, T]`` in millivolts, sampled at ``fs`` Hz, so sample ``n`` is at time
``t = n / fs`` seconds. Every random draw (amplitude, frequency, phase, SNR, the white noise, the
stretch factor) is an argument with one value per record, so the fast functions of ``lessonlib.ecg``
can be run on the same draws and compared (``tests/test_ecg.py``). Each additive artefact here is
the same waveform on every lead (``leads="common"`` in ``lessonlib.ecg``), except the noise, which is
whatever waveform the caller draws.
"""

from __future__ import annotations

import math

import torch

__all__ = ["baseline_wander", "powerline_interference", "gaussian_noise", "amplitude_scale", "time_scale"]


def baseline_wander(
    x: torch.Tensor, fs: float, amplitude_mv: torch.Tensor, freq_hz: torch.Tensor, phase: torch.Tensor
) -> torch.Tensor:
    """Baseline wander, a slow sinusoid added to every lead of record ``b``:

        x̃[b, :, n] = x[b, :, n] + A_b · sin(2π · f_b · n / fs + φ_b)

    with ``A_b`` in mV, ``f_b`` in Hz (respiration: 0.1-0.5 Hz, so the frequency is in Hz, never in
    cycles per record) and ``φ_b`` in radians, each ``[B]``. Additive artefacts on a clean ECG at a set
    level, as in the noise stress test of Moody, Muldrow & Mark (1984), *A noise stress test for
    arrhythmia detectors* (they add recorded wander; a sinusoid is its textbook stand-in).
    """
    assert x.ndim == 3 and x.is_floating_point() and fs > 0
    assert amplitude_mv.shape == freq_hz.shape == phase.shape == (x.shape[0],)
    t = torch.arange(x.shape[-1], dtype=torch.float64, device=x.device) / fs  # seconds
    out = x.clone()
    for b in range(x.shape[0]):
        wave = amplitude_mv[b].double() * torch.sin(2 * math.pi * freq_hz[b].double() * t + phase[b].double())
        out[b] += wave.to(x.dtype)  # the same waveform on every lead
    return out


def powerline_interference(
    x: torch.Tensor, fs: float, mains_hz: float, amplitude_mv: torch.Tensor, phase: torch.Tensor
) -> torch.Tensor:
    """Mains (power-line) interference: a line at the mains frequency, 50 Hz or 60 Hz,

        x̃[b, :, n] = x[b, :, n] + A_b · sin(2π · mains_hz · n / fs + φ_b),   mains_hz < fs / 2,

    ``A_b`` (mV) and ``φ_b`` (radians) ``[B]``: ``baseline_wander`` at the mains frequency. One of the
    artefacts a recorder's filters face (Kligfield et al., 2007, *Recommendations for the
    standardization and interpretation of the electrocardiogram*); added to a clean record at a set
    level as in Moody, Muldrow & Mark (1984).
    """
    assert 0 < mains_hz < fs / 2, "the line would alias above Nyquist"
    return baseline_wander(x, fs, amplitude_mv, torch.full_like(amplitude_mv, mains_hz), phase)


def gaussian_noise(x: torch.Tensor, snr_db: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Muscle- and motion-level (EMG-like) noise at a signal-to-noise ratio in dB, per record ``b``:

        x̃[b] = x[b] + k_b · noise[b],   k_b² · mean(noise[b]²) = P_b / 10^(snr_b / 10),

    ``P_b`` the record's power: each lead's variance (mean removed), averaged over the leads. ``noise``
    ``[B, leads, T]`` is the caller's white N(0, 1) draw (or any waveform); ``snr_db`` ``[B]``. A flat
    record (``P_b = 0``) gets no noise. Moody, Muldrow & Mark (1984), *A noise stress test for
    arrhythmia detectors*, add muscle and electrode-motion noise to clean ECGs at set SNRs this way.
    """
    assert x.ndim == 3 and noise.shape == x.shape and snr_db.shape == (x.shape[0],)
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        p_signal = x[b].double().var(dim=-1, correction=0).mean()
        p_noise = noise[b].double().square().mean()
        k = torch.sqrt(p_signal / 10 ** (snr_db[b].double() / 10) / p_noise)
        out[b] = (x[b].double() + k * noise[b].double()).to(x.dtype)
    return out


def amplitude_scale(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Amplitude scaling: every lead of record ``b`` times one factor, ``x̃[b] = s_b · x[b]``, ``s_b > 0``
    ``[B]`` (one factor for all leads keeps Einthoven's I + III = II). The "scaling" augmentation of
    Um et al. (2017), *Data augmentation of wearable sensor data for Parkinson's disease monitoring*.
    """
    assert x.ndim == 3 and scale.shape == (x.shape[0],) and bool((scale > 0).all())
    return torch.stack([x[b] * scale[b].to(x.dtype) for b in range(x.shape[0])])


def time_scale(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Time scaling (stretch ``c_b > 1``, compress ``c_b < 1``), keeping the record's length ``T``:

        x̃[b, :, n] = x[b, :, n / c_b]   (linear interpolation, positions clamped to [0, T − 1]),

    so every interval is multiplied by ``c_b`` and the heart rate divided by it (a label-changing
    augmentation for rate and QT labels). Window warping/scaling in Um et al. (2017) and in the survey
    of Iwana & Uchida (2021), *An empirical survey of data augmentation for time series classification
    with neural networks*. ``factor``: ``[B]``, > 0.
    """
    assert x.ndim == 3 and factor.shape == (x.shape[0],) and bool((factor > 0).all())
    n = x.shape[-1]
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        pos = (torch.arange(n, dtype=torch.float64, device=x.device) / factor[b].double()).clamp(0, n - 1)
        left = pos.floor().long()
        right = (left + 1).clamp(max=n - 1)
        w = (pos - left).to(x.dtype)  # how far towards the right neighbour
        out[b] = x[b][:, left] * (1 - w) + x[b][:, right] * w
    return out
