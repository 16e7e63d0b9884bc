"""ECG augmentation in physical units, batched, reproducible.

Conventions of this module
--------------------------
* A signal is a floating-point tensor shaped ``[T]`` (one lead), ``[leads, T]`` (one record) or
  ``[batch, leads, T]`` (a batch of records), in **millivolts**. ``fs`` is the sampling rate in **Hz**.
  Integer tensors (raw ADC counts such as int16) are refused: convert them to mV floats first with
  the file's channel sensitivity (``lessonlib.data.load_ecg_12lead`` does that).
* A *record* is one ``[leads, T]`` slice. In a batch, every random parameter (amplitude, frequency,
  phase, scale, whether a transform fires) is drawn independently per record, as a tensor shaped
  ``[B, 1, 1]`` (or ``[B, sources, 1]``) that broadcasts over leads and time: no Python loop over records.
* Every function returns a new tensor of the input's shape, dtype and device (``random_crop`` changes
  only the last dimension) and never modifies its input. Random numbers come only from the optional
  ``generator`` (a CPU generator works for CUDA data; draws are moved to the data's device).
* Data that are not in mV (the UCR ECG200 beats are z-normalised per beat) can still be augmented:
  every "mV" amplitude is then read in the data's own unit (for z-normalised beats: in standard
  deviations of the beat), and the caller chooses amplitudes accordingly.

How the additive artefacts treat the leads (``leads=``)
--------------------------------------------------------
An ECG lead is a *difference of electrode potentials*: I = LA − RA, II = LL − RA, III = LL − LA, so
Einthoven's relation I + III = II holds exactly for any true recording (Goldberger's augmented leads
and the precordial leads V1..V6 = Vi − (RA + LA + LL)/3 are linear in the same potentials).

* ``"common"`` (default): the same artefact waveform is added to every lead, as if it were picked up
  by the whole recording chain. Simple, works for any number of leads, but it **breaks Einthoven**:
  (I + w) + (III + w) − (II + w) = w.
* ``"independent"``: an independent waveform per lead. Breaks Einthoven too (the residual is
  w_I + w_III − w_II).
* ``"electrodes"``: independent waveforms at the nine electrodes (RA, LA, LL, V1..V6) are projected
  onto the twelve standard leads exactly as the recorder does. Needs the 12 leads in the standard
  order ``STANDARD_LEADS``; Einthoven's and Goldberger's relations then hold exactly, because the
  artefact is physically consistent — the right choice when a model may exploit lead relations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lessonlib.utils import check_probability, check_range, normal, randint, uniform

__all__ = [
    "STANDARD_LEADS",
    "LEAD_MODES",
    "baseline_wander",
    "gaussian_noise",
    "powerline_interference",
    "amplitude_scale",
    "random_crop",
    "time_scale",
    "augment_ecg",
    "einthoven_residual",
    "r_peaks",
    "heart_rate_bpm",
    "frontal_axis_deg",
    "power_spectrum",
    "band_power_fraction",
    "snr_db",
]

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LEAD_MODES = ("common", "independent", "electrodes")

# Rows: the 12 standard leads; columns: electrode potentials RA, LA, LL, V1..V6.
_ELECTRODE_TO_LEAD = torch.zeros(12, 9, dtype=torch.float64)
_ELECTRODE_TO_LEAD[0, :3] = torch.tensor([-1.0, 1.0, 0.0])  # I = LA - RA
_ELECTRODE_TO_LEAD[1, :3] = torch.tensor([-1.0, 0.0, 1.0])  # II = LL - RA
_ELECTRODE_TO_LEAD[2, :3] = torch.tensor([0.0, -1.0, 1.0])  # III = LL - LA
_ELECTRODE_TO_LEAD[3, :3] = torch.tensor([1.0, -0.5, -0.5])  # aVR = RA - (LA + LL)/2
_ELECTRODE_TO_LEAD[4, :3] = torch.tensor([-0.5, 1.0, -0.5])  # aVL
_ELECTRODE_TO_LEAD[5, :3] = torch.tensor([-0.5, -0.5, 1.0])  # aVF
for _i in range(6):  # Vi - Wilson central terminal (RA + LA + LL)/3
    _ELECTRODE_TO_LEAD[6 + _i, :3] = -1.0 / 3.0
    _ELECTRODE_TO_LEAD[6 + _i, 3 + _i] = 1.0


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def _check_signal(x: object, name: str = "x", *, finite: bool = True) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor in mV shaped [T], [leads, T] or [batch, leads, T], got {type(x).__name__}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor in millivolts, got dtype {x.dtype}; convert raw integer "
            "samples to mV floats first (multiply by the channel sensitivity, e.g. x.float() * 0.001 for uV)"
        )
    if x.ndim not in (1, 2, 3):
        raise ValueError(f"{name} must be shaped [T], [leads, T] or [batch, leads, T], got shape {tuple(x.shape)}")
    if x.shape[-1] < 1 or x.numel() == 0:
        raise ValueError(f"{name} must hold at least one sample per lead, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite millivolts (fill gaps first)")
    return x


def _check_fs(fs: object) -> float:
    if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not (0.0 < float(fs) < float("inf")):
        raise ValueError(f"fs must be a sampling rate in Hz > 0, got {fs!r}")
    return float(fs)


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    """View ``[T]`` / ``[L, T]`` / ``[B, L, T]`` as ``[B, L, T]`` (no copy)."""
    if x.ndim == 1:
        return x.view(1, 1, -1) if x.is_contiguous() else x.reshape(1, 1, -1)
    if x.ndim == 2:
        return x.unsqueeze(0)
    return x


def _check_leads_mode(leads: object, n_leads: int) -> str:
    if leads not in LEAD_MODES:
        raise ValueError(f"leads must be one of {LEAD_MODES}, got {leads!r}")
    if leads == "electrodes" and n_leads != 12:
        raise ValueError(
            f"leads='electrodes' needs the 12 standard leads in the order {STANDARD_LEADS}, got {n_leads} leads"
        )
    return str(leads)


def _check_nonneg_range(r: object, name: str) -> tuple[float, float]:
    lo, hi = check_range(r, name, low=0.0)
    if not math.isfinite(hi):
        raise ValueError(f"{name} must be finite, got {r!r}")
    return lo, hi


def _check_positive_range(r: object, name: str) -> tuple[float, float]:
    """A factor or ``(min, max)`` range of factors: positive and finite."""
    lo, hi = check_range(r, name)
    if lo <= 0 or not math.isfinite(hi):
        raise ValueError(f"{name} must be positive and finite, got {r!r}")
    return lo, hi


def _fire(b: int, p: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Per-record Bernoulli(p) as float ``[B, 1, 1]`` (1 = the transform fires)."""
    return (uniform((b, 1, 1), generator=generator, device=device) < p).to(torch.float32)


# ----------------------------------------------------------------------------------------------
# Sinusoidal artefacts (wander, mains): drawn per record and source, projected onto leads
# ----------------------------------------------------------------------------------------------


def _n_sources(mode: str, n_leads: int) -> int:
    return {"common": 1, "independent": n_leads, "electrodes": 9}[mode]


def _draw_sinusoid_params(
    b: int,
    n_src: int,
    *,
    amplitude: tuple[float, float],
    freq: tuple[float, float],
    generator: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    amp = uniform((b, n_src, 1), low=amplitude[0], high=amplitude[1], generator=generator, device=device)
    f = uniform((b, n_src, 1), low=freq[0], high=freq[1], generator=generator, device=device)
    phase = uniform((b, n_src, 1), low=0.0, high=2 * math.pi, generator=generator, device=device)
    return amp, f, phase


def _render_sinusoids(
    amp: torch.Tensor, freq_hz: torch.Tensor, phase: torch.Tensor, t_s: torch.Tensor, mode: str, n_leads: int
) -> torch.Tensor:
    """``amp·sin(2π f t + φ)`` per source → ``[B, 1 or leads, T]`` (float32, on ``t_s``'s device)."""
    wave = amp * torch.sin((2 * math.pi) * freq_hz * t_s + phase)  # [B, S, T]
    if mode == "electrodes":
        m = _ELECTRODE_TO_LEAD.to(device=wave.device, dtype=wave.dtype)
        wave = torch.einsum("le,bet->blt", m, wave)
    return wave


def _time_axis(n: int, fs: float, device: torch.device, start: int = 0) -> torch.Tensor:
    return (torch.arange(start, start + n, device=device, dtype=torch.float32) / fs).view(1, 1, n)


def baseline_wander(
    x: torch.Tensor,
    fs: float,
    *,
    amplitude_mv: float | tuple[float, float] = (0.05, 0.3),
    freq_hz: float | tuple[float, float] = (0.05, 0.5),
    leads: str = "common",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add baseline wander: a slow sinusoid ``A·sin(2π f t + φ)`` with ``t = n / fs`` in seconds.

    Physical meaning: respiration (0.1-0.5 Hz, the chest moves the heart and the electrodes) and slow
    electrode-skin potential drift; its power sits below about 1 Hz, under the ECG's own band.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        fs: sampling rate in Hz (> 0). The frequency is in **Hz**, not cycles per record, so the same
            setting means the same physiology at 250, 500 or 1000 Hz and for any record length.
        amplitude_mv: peak amplitude ``A`` in mV, a number or a ``(min, max)`` range drawn uniformly
            per record (and per source). Default 0.05-0.3 mV: visible, physiologically ordinary drift.
        freq_hz: frequency ``f`` in Hz, number or range, must lie below ``fs / 2``. Default 0.05-0.5 Hz.
        leads: how the wander reaches the leads, see the module docstring: ``"common"`` (same on every
            lead; breaks I + III = II by w), ``"independent"`` or ``"electrodes"`` (12 standard leads,
            keeps Einthoven exact).
        generator: source of randomness; amplitude, frequency and phase are drawn per record.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x)
    fs = _check_fs(fs)
    amp_r = _check_nonneg_range(amplitude_mv, "amplitude_mv")
    f_r = _check_nonneg_range(freq_hz, "freq_hz")
    if f_r[1] >= fs / 2:
        raise ValueError(f"freq_hz must stay below the Nyquist frequency fs/2 = {fs / 2:g} Hz, got {freq_hz!r}")
    xb = _as_batch(x)
    b, n_leads, n = xb.shape
    mode = _check_leads_mode(leads, n_leads)
    amp, f, ph = _draw_sinusoid_params(
        b, _n_sources(mode, n_leads), amplitude=amp_r, freq=f_r, generator=generator, device=x.device
    )
    wave = _render_sinusoids(amp, f, ph, _time_axis(n, fs, x.device), mode, n_leads)
    return (xb + wave.to(x.dtype)).reshape(x.shape)


def powerline_interference(
    x: torch.Tensor,
    fs: float,
    *,
    mains_hz: float = 50.0,
    amplitude_mv: float | tuple[float, float] = (0.01, 0.1),
    leads: str = "common",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add mains interference: ``A·sin(2π·mains_hz·t + φ)``, a narrow line at 50 Hz (Europe) or 60 Hz (US).

    Physical meaning: the body and the lead wires pick up the mains field capacitively; unequal electrode
    impedances turn it into a differential signal. Typical amplitudes are tens of µV to a few hundred µV.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        fs: sampling rate in Hz; ``mains_hz`` must be below ``fs / 2`` (otherwise the line would alias).
        mains_hz: mains frequency in Hz (> 0), typically 50.0 or 60.0.
        amplitude_mv: peak amplitude in mV, number or ``(min, max)`` drawn per record.
        leads: ``"common"``, ``"independent"`` or ``"electrodes"`` (see module docstring).
        generator: source of randomness (amplitude and phase per record).

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x)
    fs = _check_fs(fs)
    if isinstance(mains_hz, bool) or not isinstance(mains_hz, (int, float)) or not 0 < mains_hz < fs / 2:
        raise ValueError(f"mains_hz must be in (0, fs/2) = (0, {fs / 2:g}) Hz, got {mains_hz!r}")
    amp_r = _check_nonneg_range(amplitude_mv, "amplitude_mv")
    xb = _as_batch(x)
    b, n_leads, n = xb.shape
    mode = _check_leads_mode(leads, n_leads)
    f = float(mains_hz)
    amp, fr, ph = _draw_sinusoid_params(
        b, _n_sources(mode, n_leads), amplitude=amp_r, freq=(f, f), generator=generator, device=x.device
    )
    wave = _render_sinusoids(amp, fr, ph, _time_axis(n, fs, x.device), mode, n_leads)
    return (xb + wave.to(x.dtype)).reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# Noise, scale
# ----------------------------------------------------------------------------------------------


def _acc(xb: torch.Tensor) -> torch.dtype:
    """Accumulation dtype for reductions: float64 for float64 data, float32 otherwise."""
    return torch.float64 if xb.dtype == torch.float64 else torch.float32


def _mean_square(xb: torch.Tensor) -> torch.Tensor:
    """Mean of ``xb**2`` per record, ``[B, 1, 1]`` float32 (a fast reduction, no temporary)."""
    n = xb.shape[1] * xb.shape[2]
    return torch.linalg.vector_norm(xb, dim=(1, 2), keepdim=True, dtype=_acc(xb)).float().square() / n


def _record_power(xb: torch.Tensor) -> torch.Tensor:
    """Mean power of each record after removing each lead's mean: ``[B, 1, 1]`` float32, in mV².

    Computed as E[x²] − E[x]² per lead from two fast reductions (no batch-sized temporary), then
    averaged over the leads.
    """
    n = xb.shape[-1]
    acc = _acc(xb)
    ms = torch.linalg.vector_norm(xb, dim=-1, keepdim=True, dtype=acc).square() / n
    mean = xb.sum(dim=-1, keepdim=True, dtype=acc) / n
    return (ms - mean.square()).clamp_min(0).mean(dim=1, keepdim=True).float()


def _record_power_checked(xb: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``_record_power`` that also rejects NaN/inf in ``xb`` (they propagate into the reductions)."""
    power = _record_power(xb)
    if not bool(torch.isfinite(power).all()):
        if not bool(torch.isfinite(xb).all()):
            raise ValueError(f"{name} contains NaN or infinite values; expected finite millivolts (fill gaps first)")
        raise ValueError(f"{name} has values too large to square in float32; expected millivolts")
    return power


def _fill_normal(out: torch.Tensor, generator: torch.Generator | None) -> None:
    """Fill ``out`` in place with N(0, 1) draws from ``generator`` (drawn on the generator's device)."""
    gdev = generator.device if generator is not None else torch.device("cpu")
    if out.device == gdev:
        out.normal_(generator=generator)
    else:
        out.copy_(normal(out.shape, generator=generator, device=gdev, dtype=torch.float32))


def snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Achieved signal-to-noise ratio per record, in dB: ``10·log10(P_signal / P_noise)``.

    ``P_signal`` is the record's power after removing each lead's mean (pooled over leads and time),
    ``P_noise`` the mean of ``(noisy − clean)²``. Returns ``[B]`` for a batch, a 0-d tensor otherwise.
    """
    _check_signal(clean, "clean")
    _check_signal(noisy, "noisy")
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy must have the same shape, got {tuple(clean.shape)} and {tuple(noisy.shape)}")
    cb, nb = _as_batch(clean).double(), _as_batch(noisy).double()
    var = torch.var_mean(cb, dim=-1, correction=0)[0]  # [B, L], exact in float64
    p_sig = var.mean(dim=1)
    p_noise = (nb - cb).square().mean(dim=(1, 2))
    out = 10 * torch.log10(p_sig / p_noise)
    return out if clean.ndim == 3 else out[0]


def _fill_noise(out: torch.Tensor, mode: str, generator: torch.Generator | None) -> None:
    """Fill ``out [B, L, T]`` with N(0, 1) noise per lead, or, for ``mode == "electrodes"``, with
    independent N(0, 1) noise at the nine electrodes projected onto the 12 standard leads."""
    if mode != "electrodes":
        _fill_normal(out, generator)
        return
    b, _, n = out.shape
    e = torch.empty((b, 9, n), dtype=out.dtype, device=out.device)
    _fill_normal(e, generator)
    m = _ELECTRODE_TO_LEAD.to(device=out.device, dtype=out.dtype)
    out.copy_(torch.einsum("le,bet->blt", m, e))


def gaussian_noise(
    x: torch.Tensor,
    *,
    snr_db: float | tuple[float, float] = (20.0, 30.0),
    leads: str = "independent",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add white Gaussian noise at a signal-to-noise ratio given in dB, per record.

    Physical meaning: amplifier and electrode thermal noise, broadband. The noise level is set from
    each record's own power (mean-removed, pooled over its leads), so one setting means the same
    relative corruption for a 0.5 mV and a 3 mV record; the same noise standard deviation is used on
    every lead of a record (amplifier noise does not scale with a lead's amplitude).

    ``leads="independent"`` (default) draws the noise independently per lead, which breaks
    Einthoven's relation by the noise itself; ``leads="electrodes"`` draws it at the nine electrodes
    and projects it onto the 12 standard leads (as a recorder that derives III, aVR, aVL, aVF from the
    measured potentials does), so every lead relation still holds. The total noise power per record
    is the same in both modes; ``"electrodes"`` spreads it unevenly over the leads.

    Guarantee: the noise is rescaled so that its power over the record is exactly
    ``P_signal / 10^(snr/10)``; the achieved SNR (``lessonlib.ecg.snr_db``) equals the request up to
    float rounding, even for a 96-sample beat. A record with zero power (a flat line) gets no noise.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        snr_db: SNR in dB, a number or a ``(min, max)`` range drawn uniformly per record.
        leads: ``"independent"`` or ``"electrodes"`` (12 standard leads in ``STANDARD_LEADS`` order).
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x)
    lo, hi = check_range(snr_db, "snr_db")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"snr_db must be finite dB values, got {snr_db!r}")
    xb = _as_batch(x)
    if leads not in ("independent", "electrodes"):
        raise ValueError(f"leads must be 'independent' or 'electrodes' for noise, got {leads!r}")
    mode = _check_leads_mode(leads, xb.shape[1])
    snr = uniform((xb.shape[0], 1, 1), low=lo, high=hi, generator=generator, device=x.device)
    out = torch.empty_like(xb)
    _fill_noise(out, mode, generator)
    k = torch.sqrt(_record_power(xb) * torch.pow(10.0, -snr / 10) / _mean_square(out).clamp_min(1e-30))
    return out.mul_(k.to(x.dtype)).add_(xb).reshape(x.shape)


def amplitude_scale(
    x: torch.Tensor, *, scale: float | tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply each record by one factor drawn uniformly from ``scale`` (same factor on all its leads).

    Physical meaning: electrode contact, body habitus and gain calibration change amplitudes by a few
    per cent to tens of per cent. One factor per record keeps every lead relation (Einthoven) exact.
    Caution: amplitude *is* the label for criteria such as LVH voltage criteria; keep the range small.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        scale: positive factor or ``(min, max)`` range, min > 0.
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x)
    lo, hi = _check_positive_range(scale, "scale")
    xb = _as_batch(x)
    s = uniform((xb.shape[0], 1, 1), low=lo, high=hi, generator=generator, device=x.device)
    return (xb * s.to(x.dtype)).reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# Time: crop, time scale
# ----------------------------------------------------------------------------------------------


def random_crop(x: torch.Tensor, length: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random window of ``length`` samples per record (same window on all leads of a record).

    Use it to turn a long record into training windows (for a 500 Hz record, 2.5 s is ``length=1250``:
    always compute ``length = seconds * fs``, never hard-code a sample count from another sampling rate).

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]``, floating point, finite.
        length: window length in samples, ``1 <= length <= T``.
        generator: source of randomness; the start is uniform over the ``T - length + 1`` positions.

    Returns:
        A new tensor shaped like ``x`` with last dimension ``length``, same dtype and device.

    Raises:
        ValueError: if the record is shorter than ``length`` (no silent zero padding).
    """
    _check_signal(x)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int (samples), got {length!r}")
    n = x.shape[-1]
    if length > n:
        raise ValueError(f"length={length} samples is longer than the record ({n} samples); pad or pick shorter")
    xb = _as_batch(x)
    b, n_leads, _ = xb.shape
    start = randint(0, n - length + 1, (b, 1, 1), generator=generator, device=x.device)
    idx = start + torch.arange(length, device=x.device).view(1, 1, length)
    out = torch.gather(xb, -1, idx.expand(b, n_leads, length))
    return out.reshape(*x.shape[:-1], length)


def _resample_linear(xb: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``xb [B, L, T]`` at fractional sample positions ``pos [B, 1, T']``."""
    b, n_leads, n = xb.shape
    pos = pos.clamp(0, n - 1)
    i0 = pos.floor().long().clamp(max=n - 1)
    i1 = (i0 + 1).clamp(max=n - 1)
    w = (pos - i0.to(pos.dtype)).to(xb.dtype)
    shape = (b, n_leads, pos.shape[-1])
    x0 = torch.gather(xb, -1, i0.expand(shape))
    x1 = torch.gather(xb, -1, i1.expand(shape))
    return torch.lerp(x0, x1, w)


def time_scale(
    x: torch.Tensor, *, factor: float | tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Stretch (``factor > 1``) or compress (``factor < 1``) each record in time, keeping its length.

    **Label-changing.** Stretching by ``factor`` divides the heart rate by ``factor`` and multiplies every
    interval (PR, QRS, QT, RR) by it: a 75 bpm record stretched by 1.1 becomes 68 bpm. Do not use it
    for rate or interval labels (tachycardia, QT prolongation) unless the label is transformed too;
    ``augment_ecg`` leaves it off by default.

    The output sample ``n`` is the input at time ``n / factor`` (linear interpolation), anchored at the
    record's start; a compressed record runs out of signal at its end, where the last input sample is
    repeated (a flat tail — one more reason it is off by default).

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]``, floating point, finite.
        factor: stretch factor > 0, number or ``(min, max)`` drawn per record.
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x)
    lo, hi = _check_positive_range(factor, "factor")
    xb = _as_batch(x)
    b, _, n = xb.shape
    f = uniform((b, 1, 1), low=lo, high=hi, generator=generator, device=x.device, dtype=torch.float64)
    pos = torch.arange(n, device=x.device, dtype=torch.float64).view(1, 1, n) / f
    return _resample_linear(xb, pos).reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------


def augment_ecg(
    x: torch.Tensor,
    fs: float,
    *,
    p: float = 0.5,
    generator: torch.Generator | None = None,
    scale: bool = True,
    wander: bool = True,
    powerline: bool = True,
    noise: bool = True,
    stretch: bool = False,
    scale_range: float | tuple[float, float] = (0.9, 1.1),
    wander_amplitude_mv: float | tuple[float, float] = (0.05, 0.3),
    wander_freq_hz: float | tuple[float, float] = (0.05, 0.5),
    mains_hz: float = 50.0,
    mains_amplitude_mv: float | tuple[float, float] = (0.01, 0.1),
    snr_db: float | tuple[float, float] = (20.0, 30.0),
    stretch_factor: float | tuple[float, float] = (0.95, 1.05),
    leads: str = "common",
) -> torch.Tensor:
    """The label-preserving composition for rhythm/morphology classification, batched.

    Each named sub-transform fires independently per record with probability ``p``:

    1. ``stretch`` — ``time_scale`` by ``stretch_factor`` (off by default: changes rate/interval labels);
    2. ``scale`` — ``amplitude_scale`` by ``scale_range``;
    3. ``wander`` — ``baseline_wander`` (``wander_amplitude_mv``, ``wander_freq_hz`` in Hz);
    4. ``powerline`` — ``powerline_interference`` at ``mains_hz`` with ``mains_amplitude_mv``;
    5. ``noise`` — ``gaussian_noise`` at ``snr_db`` relative to the record *after* scaling and before
       the artefacts (so the SNR describes the ECG itself); independent per lead, or drawn at the
       electrodes when ``leads="electrodes"``.

    The result equals applying those functions in that order to the records they fire on (up to float
    rounding), but it is computed in one fused pass: per-record parameters are ``[B, 1, 1]`` tensors
    and a transform that does not fire gets the neutral value (scale 1, amplitude 0)
    (``benchmarks/bench_ecg.py`` compares it with a loop over records).

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV (in the data's own unit for
            normalised beats — then read the mV amplitudes in that unit), finite.
        fs: sampling rate in Hz.
        p: probability that each sub-transform fires on a record, in [0, 1].
        generator: source of randomness.
        scale, wander, powerline, noise, stretch: switch each sub-transform on or off.
        leads: how wander and mains reach the leads (``"common"``, ``"independent"``, ``"electrodes"``);
            with ``"electrodes"`` the noise is drawn at the electrodes too, so that I + III = II and
            aVR + aVL + aVF = 0 hold exactly after augmentation.
        Other arguments: as in the individual functions.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    _check_signal(x, finite=False)  # finiteness is checked below on the per-record power (no extra pass)
    fs = _check_fs(fs)
    p = check_probability(p, "p")
    for name, flag in (
        ("scale", scale),
        ("wander", wander),
        ("powerline", powerline),
        ("noise", noise),
        ("stretch", stretch),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    s_r = _check_positive_range(scale_range, "scale_range")
    w_amp = _check_nonneg_range(wander_amplitude_mv, "wander_amplitude_mv")
    w_f = _check_nonneg_range(wander_freq_hz, "wander_freq_hz")
    if wander and w_f[1] >= fs / 2:
        raise ValueError(f"wander_freq_hz must stay below fs/2 = {fs / 2:g} Hz, got {wander_freq_hz!r}")
    m_amp = _check_nonneg_range(mains_amplitude_mv, "mains_amplitude_mv")
    if isinstance(mains_hz, bool) or not isinstance(mains_hz, (int, float)) or not 0 < mains_hz:
        raise ValueError(f"mains_hz must be a positive frequency in Hz, got {mains_hz!r}")
    if powerline and mains_hz >= fs / 2:
        raise ValueError(f"mains_hz must be below fs/2 = {fs / 2:g} Hz (or set powerline=False), got {mains_hz!r}")
    snr_r = check_range(snr_db, "snr_db")
    if not (math.isfinite(snr_r[0]) and math.isfinite(snr_r[1])):
        raise ValueError(f"snr_db must be finite dB values, got {snr_db!r}")
    st_r = _check_positive_range(stretch_factor, "stretch_factor")

    xb = _as_batch(x)
    b, n_leads, n = xb.shape
    mode = _check_leads_mode(leads, n_leads)
    dev = x.device
    n_src = _n_sources(mode, n_leads)

    # ---- every random parameter, drawn up front per record, in a fixed order ----
    if stretch:
        fire = _fire(b, p, generator, dev).double()
        f = uniform((b, 1, 1), low=st_r[0], high=st_r[1], generator=generator, device=dev, dtype=torch.float64)
        f = fire * f + (1 - fire)
        pos = torch.arange(n, device=dev, dtype=torch.float64).view(1, 1, n) / f
        xb = _resample_linear(xb, pos)
    s = torch.ones((b, 1, 1), device=dev)
    if scale:
        fire = _fire(b, p, generator, dev)
        s = fire * uniform((b, 1, 1), low=s_r[0], high=s_r[1], generator=generator, device=dev) + (1 - fire)
    sines: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    if wander:
        fire = _fire(b, p, generator, dev)
        amp, fr, ph = _draw_sinusoid_params(b, n_src, amplitude=w_amp, freq=w_f, generator=generator, device=dev)
        sines.append((amp * fire, fr, ph))
    if powerline:
        fire = _fire(b, p, generator, dev)
        mf = float(mains_hz)
        amp, fr, ph = _draw_sinusoid_params(b, n_src, amplitude=m_amp, freq=(mf, mf), generator=generator, device=dev)
        sines.append((amp * fire, fr, ph))
    if noise:
        fire_noise = _fire(b, p, generator, dev)
        snr = uniform((b, 1, 1), low=snr_r[0], high=snr_r[1], generator=generator, device=dev)

    # ---- apply in one fused pass, in place in the output (the noise buffer is the output) ----
    # (Processing big batches in cache-sized chunks was measured too: on the 2-core machine it was
    # 6-24% slower than one pass for [256, 12, 5000], so the simpler single pass stays.)
    out = torch.empty_like(xb)
    power = _record_power_checked(xb)  # also the NaN check: NaN/inf propagate into the power
    if noise:
        _fill_noise(out, mode, generator)
        p_raw = _mean_square(out).clamp_min(1e-30)
        k = fire_noise * s * torch.sqrt(power * torch.pow(10.0, -snr / 10) / p_raw)
        out.mul_(k.to(x.dtype)).addcmul_(xb, s.to(x.dtype))
    else:
        torch.mul(xb, s.to(x.dtype), out=out)
    if sines:
        t_all = _time_axis(n, fs, dev)
        for amp, fr, ph in sines:
            out.add_(_render_sinusoids(amp, fr, ph, t_all, mode, n_leads).to(x.dtype))
    return out.reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# Measurements used by the notebook and the tests
# ----------------------------------------------------------------------------------------------


def einthoven_residual(x: torch.Tensor, lead_names: Sequence[str] = STANDARD_LEADS) -> torch.Tensor:
    """``I + III − II`` per record and sample, in mV: zero (up to rounding) for a physical recording.

    Args:
        x: ``[leads, T]`` or ``[batch, leads, T]`` with leads named by ``lead_names``.

    Returns:
        ``[T]`` or ``[batch, T]``.
    """
    _check_signal(x, finite=False)
    if x.ndim == 1:
        raise ValueError(f"x must be [leads, T] or [batch, leads, T], got shape {tuple(x.shape)}")
    names = list(lead_names)
    if len(names) != x.shape[-2]:
        raise ValueError(f"lead_names has {len(names)} names but x has {x.shape[-2]} leads")
    for need in ("I", "II", "III"):
        if need not in names:
            raise ValueError(f"lead_names must contain {need!r}, got {names}")
    i, ii, iii = (names.index(k) for k in ("I", "II", "III"))
    return x[..., i, :] + x[..., iii, :] - x[..., ii, :]


def r_peaks(lead: torch.Tensor, fs: float, *, min_rr_s: float = 0.3) -> torch.Tensor:
    """Sample indices of the R peaks in one lead (e.g. lead II), int64 ``[n_beats]``.

    A simple, documented detector (good enough for a clean resting ECG, not a clinical QRS detector
    such as Pan-Tompkins): remove the median (the baseline), take ``scipy.signal.find_peaks`` with a
    height of half the largest deflection and a refractory distance of ``min_rr_s``. It assumes upright
    R waves in the chosen lead (lead II in a normal axis) and little baseline wander: run it on the
    clean record, not on an augmented one.

    Args:
        lead: ``[T]`` in mV, finite.
        fs: sampling rate in Hz.
        min_rr_s: shortest allowed RR interval in seconds (0.3 s = 200 bpm), > 0.
    """
    from scipy.signal import find_peaks

    _check_signal(lead, "lead")
    if lead.ndim != 1:
        raise ValueError(f"lead must be one lead shaped [T], got shape {tuple(lead.shape)}")
    fs = _check_fs(fs)
    if isinstance(min_rr_s, bool) or not isinstance(min_rr_s, (int, float)) or not 0 < min_rr_s < float("inf"):
        raise ValueError(f"min_rr_s must be a positive number of seconds, got {min_rr_s!r}")
    sig = lead.detach().to("cpu", torch.float64)
    sig = (sig - sig.median()).numpy()
    peaks, _ = find_peaks(sig, height=0.5 * float(sig.max()), distance=max(1, int(min_rr_s * fs)))
    return torch.from_numpy(peaks.astype("int64"))


def heart_rate_bpm(lead: torch.Tensor, fs: float, *, min_rr_s: float = 0.3) -> float:
    """Heart rate in beats per minute from one lead: ``60 / median RR`` with RR from ``r_peaks``.

    Args:
        lead: ``[T]`` in mV, at least two beats long.
        fs: sampling rate in Hz.
        min_rr_s: shortest allowed RR interval in seconds (0.3 s = 200 bpm).

    Returns:
        Heart rate in bpm (float).
    """
    fs = _check_fs(fs)
    peaks = r_peaks(lead, fs, min_rr_s=min_rr_s)
    if peaks.numel() < 2:
        raise ValueError(f"found {peaks.numel()} R peaks; need at least two beats to measure a heart rate")
    rr = peaks.double().diff() / fs
    return float(60.0 / rr.median())


def frontal_axis_deg(
    x: torch.Tensor, fs: float, lead_names: Sequence[str] = STANDARD_LEADS, *, qrs_half_width_s: float = 0.05
) -> float:
    """Mean frontal-plane QRS axis in degrees, from the net QRS deflections of leads I and aVF.

    For each R peak found in lead II (``r_peaks``), the net QRS deflection of a lead is ``max + min``
    of its baseline-removed samples within ``± qrs_half_width_s`` of the peak (positive when the QRS is
    mostly upright); the axis is ``atan2(net_aVF, net_I)`` with the median over beats. Normal axis is
    about −30° to +90°. A right-arm/left-arm electrode swap inverts lead I and moves the axis towards
    +180°: a lead permutation is a *different ECG*, not a harmless augmentation.

    Args:
        x: one record ``[leads, T]`` in mV with leads named by ``lead_names`` (needs I, II and aVF).
        fs: sampling rate in Hz.
        qrs_half_width_s: half-width of the QRS window in seconds (> 0).

    Returns:
        The axis in degrees, in (−180, 180].
    """
    _check_signal(x)
    fs = _check_fs(fs)
    if x.ndim != 2:
        raise ValueError(f"x must be one record shaped [leads, T], got shape {tuple(x.shape)}")
    names = list(lead_names)
    if len(names) != x.shape[0]:
        raise ValueError(f"lead_names has {len(names)} names but x has {x.shape[0]} leads")
    for need in ("I", "II", "aVF"):
        if need not in names:
            raise ValueError(f"lead_names must contain {need!r}, got {names}")
    if not isinstance(qrs_half_width_s, (int, float)) or not 0 < qrs_half_width_s < float("inf"):
        raise ValueError(f"qrs_half_width_s must be a positive number of seconds, got {qrs_half_width_s!r}")
    peaks = r_peaks(x[names.index("II")], fs)
    if peaks.numel() < 1:
        raise ValueError("found no R peak in lead II; cannot locate the QRS complexes")
    h = max(1, int(round(qrs_half_width_s * fs)))
    idx = (peaks.view(-1, 1) + torch.arange(-h, h + 1).view(1, -1)).clamp(0, x.shape[-1] - 1).to(x.device)
    net = []
    for name in ("I", "aVF"):
        lead = x[names.index(name)].double()
        win = (lead - lead.median())[idx]  # [beats, window]
        net.append(float((win.amax(1) + win.amin(1)).median()))
    return math.degrees(math.atan2(net[1], net[0]))


def power_spectrum(x: torch.Tensor, fs: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One-sided power spectrum of each lead (periodogram, mean removed), in mV² per frequency bin.

    Normalised so that the bins sum to the lead's mean power (variance) in mV² (Parseval): a sinusoid
    of peak amplitude ``A`` mV at a bin frequency shows as ``A²/2`` in that bin.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        fs: sampling rate in Hz.

    Returns:
        ``(freqs_hz, power)``: ``freqs_hz`` float64 ``[T // 2 + 1]`` (on CPU) and ``power`` of shape
        ``x.shape[:-1] + (T // 2 + 1,)`` in float64 on ``x``'s device. The resolution is ``fs / T`` Hz:
        a 10-s record resolves 0.1 Hz, which is why wander (< 1 Hz) needs long windows to be seen.
    """
    _check_signal(x)
    fs = _check_fs(fs)
    n = x.shape[-1]
    xd = x.double()
    spec = torch.fft.rfft(xd - xd.mean(dim=-1, keepdim=True), dim=-1).abs().square() / (n * n)
    fold = torch.full((spec.shape[-1],), 2.0, dtype=spec.dtype, device=spec.device)
    fold[0] = 1.0
    if n % 2 == 0:
        fold[-1] = 1.0  # the Nyquist bin has no mirror image
    spec = spec * fold
    return torch.fft.rfftfreq(n, d=1.0 / fs, dtype=torch.float64), spec


def band_power_fraction(x: torch.Tensor, fs: float, low_hz: float, high_hz: float) -> torch.Tensor:
    """Fraction of each lead's (mean-removed) power between ``low_hz`` and ``high_hz`` inclusive.

    Use it to check an artefact's physics: wander should put > 95% of its power below 1 Hz, mains
    interference nearly all of it within ±1 Hz of 50 or 60 Hz.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite, not constant.
        fs: sampling rate in Hz.
        low_hz, high_hz: the band in Hz, ``0 <= low_hz <= high_hz``.

    Returns:
        float64 tensor of shape ``x.shape[:-1]`` with values in [0, 1] (NaN for a constant lead).
    """
    lo, hi = check_range((low_hz, high_hz), "(low_hz, high_hz)", low=0.0)
    f, p = power_spectrum(x, fs)
    inside = ((f >= lo) & (f <= hi)).to(p.device)
    return p[..., inside].sum(-1) / p.sum(-1)
