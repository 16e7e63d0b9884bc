"""ECG augmentation in physical units, batched, reproducible.

Read ``lessonlib.reference.ecg`` first: each artefact there is its formula in a dozen lines, one record at
a time. This module computes the same results on whole batches, validated, in one fused pass.

Conventions of this module
--------------------------
* A signal is a floating-point tensor shaped ``[T]`` (one lead), ``[leads, T]`` (one record) or
  ``[batch, leads, T]`` (a batch of records), in **millivolts**. ``fs`` is the sampling rate in **Hz**.
  Integer tensors (raw ADC counts such as int16) are refused: convert them to mV floats first with
  the file's channel sensitivity (``lessonlib.data.load_ecg_12lead`` does that). Empty signals and
  NaN/inf are refused.
* A *record* is one ``[leads, T]`` slice. In a batch, every random parameter (amplitude, frequency,
  phase, scale, whether a transform fires) is drawn independently per record, as a tensor shaped
  ``[B, 1, 1]`` (or ``[B, sources, 1]``) that broadcasts over leads and time: no Python loop over records.
* Every function returns a new tensor of the input's shape, dtype and device (``random_crop`` changes
  only the last dimension) and never modifies its input. Random numbers come only from the optional
  ``generator`` (a CPU generator works for CUDA data; draws are moved to the data's device).
* Arithmetic is done in the input's dtype (float16/bfloat16 in float32, returned in the input's
  dtype); the phase of a sinusoid is computed in float64 whatever the dtype, so a one-hour record at
  500 Hz carries a clean 50 Hz line to its last sample.
* Data that are not in mV (the UCR ECG200 beats are z-normalised per beat) can still be augmented:
  every "mV" amplitude is then read in the data's own unit (for z-normalised beats: in standard
  deviations of the beat), and the caller chooses amplitudes accordingly.

How it is built: validation, draws, one fused pass
--------------------------------------------------
Each public function validates its arguments once and describes its artefact as a *step*, a plain
tuple ``(kind, p, settings...)``. ``_draw`` draws every random parameter of every step for the whole
batch, step by step (the step order fixes the random stream), with the *neutral* value — gain 1,
amplitude 0 — for records a step does not fire on (probability ``1 - p``). ``_apply`` then makes one
pass: time warps first, then the product of the gains, then every additive artefact written into the
same output buffer (the noise is drawn straight into it). ``augment_ecg`` is the five steps in a row;
``baseline_wander(x, fs, ...)`` is the one step. The in-place kernels live in ``lessonlib._kernels.ecg``.

How the additive artefacts treat the leads (``leads=``)
--------------------------------------------------------
An ECG lead is a *difference of electrode potentials*: I = LA − RA, II = LL − RA, III = LL − LA, so
Einthoven's relation I + III = II holds exactly for any true recording (Goldberger's augmented leads
aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2 sum to zero, and the precordial leads
V1..V6 = Vi − (RA + LA + LL)/3 are linear in the same potentials).

* ``"common"``: the same artefact waveform is added to every lead, as if it were picked up by the
  whole recording chain (the reference's formula). Simple, works for any number of leads, but it
  **breaks Einthoven**: (I + w) + (III + w) − (II + w) = w.
* ``"independent"``: an independent waveform per lead. Breaks Einthoven too (the residual is
  w_I + w_III − w_II).
* ``"derived"``: what a 12-lead recorder does. The artefact reaches the measured leads I, II and
  V1..V6 as in ``"common"`` (noise: independently per lead) and the four derived leads get what
  the device's formulas make of it: III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2.
  I + III = II and aVR + aVL + aVF = 0 then hold after augmentation exactly when they held before.
  Needs the 12 leads in the order ``STANDARD_LEADS``.
* ``"electrodes"``: independent waveforms at the nine electrodes (RA, LA, LL, V1..V6) are projected
  onto the twelve standard leads exactly as the recorder does. Needs the 12 leads in the order
  ``STANDARD_LEADS``; every lead relation then holds too, and the artefact differs between the
  limb leads as it would on a patient.
* ``"auto"`` (``augment_ecg``'s default): ``"derived"`` for a record with 12 leads — which must then
  be in ``STANDARD_LEADS`` order — and ``"common"`` (noise: ``"independent"``) for any other number
  of leads (a single lead, the one-lead ECG200 beats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lessonlib._kernels import ecg as _k
from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_positive,
    check_probability,
    check_range,
    check_tensor,
    compute_dtype,
    randint,
    uniform,
)

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
LEAD_MODES = ("common", "independent", "derived", "electrodes", "auto")
_NOISE_MODES = ("independent", "derived", "electrodes", "auto")  # the same noise on every lead is no noise
_AUTO = ("derived", "common")  # what leads="auto" means for wander and mains: 12 leads / any other lead set
_MIN_RR_S = 0.3  # the R-peak detector's default refractory period, s (200 bpm)
_SOURCES = {"common": 1, "derived": 1, "electrodes": 9}  # waveforms per record ("independent": one per lead)


# ----------------------------------------------------------------------------------------------
# Validation at the public entry (the shared vocabulary of lessonlib.utils)
# ----------------------------------------------------------------------------------------------


def _check_signal(x: object, name: str = "x", *, finite: bool = True) -> torch.Tensor:
    """``check_tensor`` for a signal ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` of mV floats, with the
    hint an integer ADC recording needs."""
    if isinstance(x, torch.Tensor) and not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor in millivolts, got dtype {x.dtype}; convert raw integer "
            "samples to mV floats first (multiply by the channel sensitivity, e.g. x.float() * 0.001 for uV)"
        )
    return check_tensor(x, name, ndim=(1, 2, 3), floating=True, finite=finite, nonempty=True)


def _below_nyquist(r: tuple[float, float], fs: float, name: str) -> tuple[float, float]:
    """Refuse a frequency (range) in Hz that reaches ``fs / 2``: the sinusoid would alias."""
    if r[1] >= fs / 2:
        raise ValueError(
            f"{name} must stay below the Nyquist frequency fs/2 = {fs / 2:g} Hz (the line would alias), got {r!r}"
        )
    return r


def _lead_mode(leads: str, x: torch.Tensor, *, auto: tuple[str, str]) -> str:
    """``"auto"`` → ``auto[0]`` on 12 leads, ``auto[1]`` otherwise; 12-lead modes refused on other lead sets."""
    n_leads = 1 if x.ndim == 1 else x.shape[-2]
    mode = (auto[0] if n_leads == 12 else auto[1]) if leads == "auto" else leads
    if mode in ("derived", "electrodes") and n_leads != 12:
        raise ValueError(
            f"leads={leads!r} needs the 12 standard leads in the order {STANDARD_LEADS}, got {n_leads} leads"
        )
    return mode


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    """View ``[T]`` / ``[L, T]`` / ``[B, L, T]`` as ``[B, L, T]`` (no copy)."""
    if x.ndim == 1:
        return x.view(1, 1, -1) if x.is_contiguous() else x.reshape(1, 1, -1)
    return x.unsqueeze(0) if x.ndim == 2 else x


# ----------------------------------------------------------------------------------------------
# The composition: draw every parameter, then one pass
# ----------------------------------------------------------------------------------------------
# A step is a tuple: ("stretch", p, factor), ("scale", p, scale), ("sinusoid", p, amplitude, freq, mode)
# or ("noise", p, snr_db, mode); ranges are (min, max) pairs, modes resolved ("auto" already decided).


def _draw(steps: list[tuple], b: int, n_leads: int, dtype: torch.dtype, device, generator) -> list[dict]:
    """Every random parameter of every step for a batch of ``b`` records, step by step, neutral where a
    step does not fire. Shapes ``[B, 1, 1]`` (sinusoids: ``[B, sources, 1]``); frequencies, phases and
    stretch factors in float64, the rest in the compute ``dtype``. A step with ``p = 1`` draws no firing."""

    def draw(shape, low, high, dt=dtype):
        return uniform(shape, low=low, high=high, generator=generator, device=device, dtype=dt)

    draws = []
    for kind, p, *settings in steps:
        one = (b, 1, 1)
        fire = torch.ones(one, device=device, dtype=dtype) if p >= 1.0 else (draw(one, 0.0, 1.0, torch.float32) < p)
        fire = fire.to(dtype)
        if kind == "stretch":
            f, fire = draw(one, *settings[0], torch.float64), fire.double()
            draws.append({"factor": fire * f + (1 - fire)})
        elif kind == "scale":
            draws.append({"scale": fire * draw(one, *settings[0]) + (1 - fire)})
        elif kind == "sinusoid":
            amplitude, freq, mode = settings
            shape = (b, _SOURCES.get(mode, n_leads), 1)
            amp = draw(shape, *amplitude)
            f = draw(shape, *freq, torch.float64)
            phase = draw(shape, 0.0, 2 * math.pi, torch.float64)
            draws.append({"amplitude": amp * fire, "freq_hz": f, "phase": phase, "mode": mode})
        else:  # noise: its white draw is made in _apply, straight into the output buffer
            draws.append({"fire": fire, "snr_db": draw(one, *settings[0]), "mode": settings[1]})
    return draws


def _apply(xb: torch.Tensor, fs: float | None, steps: list[tuple], draws: list[dict], generator) -> torch.Tensor:
    """One pass over ``xb [B, L, T]``: warps, the product of the gains, then every additive artefact
    written into one buffer (an SNR is relative to the record after the gains, before any artefact)."""
    kinds = [s[0] for s in steps]
    base = xb.to(compute_dtype(xb.dtype))
    if "stretch" in kinds:  # a NaN in a tail that the stretch drops must not pass unnoticed
        check_tensor(xb, "x", finite=True)
    for kind, d in zip(kinds, draws, strict=True):
        if kind == "stretch":
            base = _k.resample_linear(base, d["factor"])
    gain = torch.ones((base.shape[0], 1, 1), device=base.device, dtype=base.dtype)
    for kind, d in zip(kinds, draws, strict=True):
        if kind == "scale":
            gain = gain * d["scale"]
    power = _k.record_power(base)
    if not bool(torch.isfinite(power).all()):  # the finiteness check, without a pass of its own
        check_tensor(xb, "x", finite=True)
        raise ValueError(f"x has values too large to square in {base.dtype}; expected millivolts")
    power = power * gain.square()
    out = torch.empty_like(base)
    noise = [d for kind, d in zip(kinds, draws, strict=True) if kind == "noise"]
    if noise:  # the noise buffer is the output: k·noise + gain·base
        d = noise[0]
        _k.fill_noise(out, d["mode"], generator)
        snr_power = power * torch.pow(10.0, -d["snr_db"] / 10)
        out.mul_(torch.sqrt(snr_power / _k.mean_square(out).clamp_min(1e-30)) * d["fire"]).addcmul_(base, gain)
    else:
        torch.mul(base, gain, out=out)
    for kind, d in zip(kinds, draws, strict=True):
        if kind == "sinusoid":
            _k.add_sinusoid(out, fs, d["amplitude"], d["freq_hz"], d["phase"], d["mode"])
    return out


def _run(x: torch.Tensor, fs: float | None, steps: list[tuple], generator) -> torch.Tensor:
    """Draw, then apply, on ``x`` viewed as a batch; the result in ``x``'s shape and dtype."""
    xb = _as_batch(x)
    b, n_leads, _ = xb.shape
    draws = _draw(steps, b, n_leads, compute_dtype(x.dtype), x.device, generator)
    return _apply(xb, fs, steps, draws, generator).to(x.dtype).reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# The artefacts
# ----------------------------------------------------------------------------------------------


def baseline_wander(
    x: torch.Tensor,
    fs: float,
    *,
    amplitude_mv: float | tuple[float, float] = (0.05, 0.3),
    freq_hz: float | tuple[float, float] = (0.05, 0.5),
    leads: str = "common",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The same result as ``reference.ecg.baseline_wander``; adds validation, ranges drawn per record, lead
    modes and batching: a slow sinusoid ``A·sin(2π f t + φ)`` with ``t = n / fs`` in seconds.

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
            lead; breaks I + III = II by w), ``"independent"``, ``"derived"``, ``"electrodes"`` (both
            12 standard leads, keep Einthoven) or ``"auto"``.
        generator: source of randomness; amplitude, frequency and phase are drawn per record (and source),
            in that order, each as a uniform draw (the phase in [0, 2π)).

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    amplitude = check_range(amplitude_mv, "amplitude_mv", low=0.0)
    freq = check_range(freq_hz, "freq_hz", low=0.0)
    leads = check_one_of(leads, "leads", LEAD_MODES)
    x = _check_signal(x, finite=False)  # finiteness: on the record power (no extra pass)
    fs = check_positive(fs, "fs")
    check_generator(generator)
    step = ("sinusoid", 1.0, amplitude, _below_nyquist(freq, fs, "freq_hz"), _lead_mode(leads, x, auto=_AUTO))
    return _run(x, fs, [step], generator)


def powerline_interference(
    x: torch.Tensor,
    fs: float,
    *,
    mains_hz: float = 50.0,
    amplitude_mv: float | tuple[float, float] = (0.01, 0.1),
    leads: str = "common",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The same result as ``reference.ecg.powerline_interference``; adds validation, amplitudes drawn per
    record, lead modes and batching: ``A·sin(2π·mains_hz·t + φ)``, a line at 50 Hz (Europe) or 60 Hz (US).

    Physical meaning: the body and the lead wires pick up the mains field capacitively; unequal electrode
    impedances turn it into a differential signal. Typical amplitudes are tens of µV to a few hundred µV.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        fs: sampling rate in Hz; ``mains_hz`` must be below ``fs / 2`` (otherwise the line would alias).
        mains_hz: mains frequency in Hz (> 0), typically 50.0 or 60.0.
        amplitude_mv: peak amplitude in mV, number or ``(min, max)`` drawn per record.
        leads: ``"common"``, ``"independent"``, ``"derived"``, ``"electrodes"`` or ``"auto"`` (module docstring).
        generator: source of randomness (amplitude, then a frequency draw in ``[mains_hz, mains_hz]``,
            then the phase, per record).

    Returns:
        A new tensor, same shape, dtype and device as ``x``; the phase is exact on records of any length.
    """
    mains = check_number(mains_hz, "mains_hz", low=0.0, low_inclusive=False)
    amplitude = check_range(amplitude_mv, "amplitude_mv", low=0.0)
    leads = check_one_of(leads, "leads", LEAD_MODES)
    x = _check_signal(x, finite=False)
    fs = check_positive(fs, "fs")
    check_generator(generator)
    step = (
        "sinusoid",
        1.0,
        amplitude,
        _below_nyquist((mains, mains), fs, "mains_hz"),
        _lead_mode(leads, x, auto=_AUTO),
    )
    return _run(x, fs, [step], generator)


def gaussian_noise(
    x: torch.Tensor,
    *,
    snr_db: float | tuple[float, float] = (20.0, 30.0),
    leads: str = "independent",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The same result as ``reference.ecg.gaussian_noise`` on the white noise this function draws; adds
    validation, SNRs drawn per record, lead modes and batching: white Gaussian noise at an SNR in dB.

    What it models: broadband noise at the level of **muscle (EMG) artefact and electrode motion** —
    5-30 dB SNR, what an exercise or ambulatory recording picks up when the patient moves. It is not
    amplifier or thermal noise: a diagnostic recorder's own noise is a few µV, above 50 dB SNR and
    invisible on the trace. Real EMG has most of its power above 20 Hz and electrode motion below
    10 Hz; white noise is the simple stand-in for both.

    The noise level is set from each record's own power (mean-removed, pooled over its leads), so one
    setting means the same relative corruption for a 0.5 mV and a 3 mV record; the same noise standard
    deviation is used on every measured lead of a record.

    ``leads="independent"`` (default) draws the noise independently per lead, which breaks
    Einthoven's relation by the noise itself; ``leads="derived"`` draws it on I, II and V1..V6 and
    derives III, aVR, aVL, aVF from I and II as a 12-lead recorder does; ``leads="electrodes"`` draws
    it at the nine electrodes and projects it onto the 12 standard leads. In both 12-lead modes every
    lead relation still holds. The total noise power per record is the same in every mode; the 12-lead
    modes spread it unevenly over the leads.

    Guarantee: the noise is rescaled so that its power over the record is exactly
    ``P_signal / 10^(snr/10)``; the achieved SNR (``lessonlib.ecg.snr_db``) equals the request up to
    float rounding, even for a 96-sample beat. A record with zero power (a flat line) gets no noise.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        snr_db: SNR in dB, a finite number or a ``(min, max)`` range drawn uniformly per record.
        leads: ``"independent"``, ``"derived"``, ``"electrodes"`` (12 standard leads in ``STANDARD_LEADS``
            order) or ``"auto"``.
        generator: source of randomness (the SNRs, then the white noise).

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    snr = check_range(snr_db, "snr_db")
    leads = check_one_of(leads, "leads", _NOISE_MODES)
    x = _check_signal(x, finite=False)
    check_generator(generator)
    return _run(x, None, [("noise", 1.0, snr, _lead_mode(leads, x, auto=("derived", "independent")))], generator)


def amplitude_scale(
    x: torch.Tensor, *, scale: float | tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    """The same result as ``reference.ecg.amplitude_scale``; adds validation, a factor drawn uniformly from
    ``scale`` per record, and batching: each record times one factor (the same on all its leads).

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
    scale = check_range(scale, "scale", low=0.0, low_inclusive=False)
    x = _check_signal(x, finite=False)
    check_generator(generator)
    return _run(x, None, [("scale", 1.0, scale)], generator)


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
    length = check_int(length, "length", low=1)
    check_generator(generator)
    n = x.shape[-1]
    if length > n:
        raise ValueError(f"length={length} samples is longer than the record ({n} samples); pad or pick shorter")
    xb = _as_batch(x)
    b, n_leads, _ = xb.shape
    start = randint(0, n - length + 1, (b, 1, 1), generator=generator, device=x.device)
    idx = start + torch.arange(length, device=x.device).view(1, 1, length)
    out = torch.gather(xb, -1, idx.expand(b, n_leads, length))
    return out.reshape(*x.shape[:-1], length)


def time_scale(
    x: torch.Tensor, *, factor: float | tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    """The same result as ``reference.ecg.time_scale``; adds validation, a factor drawn per record (float64)
    and a batched gather: stretch (``factor > 1``) or compress (``factor < 1``) each record in time,
    keeping its length.

    **Label-changing.** Stretching by ``factor`` divides the heart rate by ``factor`` and multiplies every
    interval (PR, QRS, QT, RR) by it: a 75 bpm record stretched by 1.1 becomes 68 bpm. Do not use it
    for rate or interval labels (tachycardia, QT prolongation) unless the label is transformed too;
    ``augment_ecg`` leaves it off by default.

    The output sample ``n`` is the input at time ``n / factor`` (linear interpolation), anchored at the
    record's start; a compressed record runs out of signal at its end, where the last input sample is
    repeated (a flat tail — one more reason it is off by default).

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]``, floating point, finite (all of it, also
            the part a stretch pushes out of the window).
        factor: stretch factor > 0, number or ``(min, max)`` drawn per record.
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    factor = check_range(factor, "factor", low=0.0, low_inclusive=False)
    x = _check_signal(x, finite=False)  # the stretch checks all of x (a dropped tail included)
    check_generator(generator)
    return _run(x, None, [("stretch", 1.0, factor)], generator)


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
    leads: str = "auto",
) -> torch.Tensor:
    """The same result as the reference steps ``reference.ecg.time_scale``, ``amplitude_scale``,
    ``gaussian_noise``, ``baseline_wander``, ``powerline_interference`` applied in that order to the
    records each fires on (additive artefacts commute; the noise's SNR is the scaled record's); adds
    validation, per-record firing and one fused pass over the batch. The label-preserving composition
    for rhythm/morphology classification.

    Each named sub-transform fires independently per record with probability ``p``:

    1. ``stretch`` — time scaling by ``stretch_factor`` (off by default: changes rate/interval labels);
    2. ``scale`` — amplitude scaling by ``scale_range``;
    3. ``wander`` — baseline wander, ``wander_amplitude_mv`` at ``wander_freq_hz`` (Hz);
    4. ``powerline`` — mains interference, ``mains_amplitude_mv`` at ``mains_hz``;
    5. ``noise`` — muscle/motion-level noise at ``snr_db`` relative to the record *after* scaling and
       before the artefacts (so the SNR describes the ECG itself).

    Per-record parameters are ``[B, 1, 1]`` tensors, neutral where a sub-transform does not fire, and
    every artefact is written into one output buffer (``benchmarks/bench_ecg.py`` compares it with a
    loop over records). The random stream: each enabled step in the order above draws its firing
    (when ``p < 1``) and its parameters, then the white noise is drawn.

    Leads: with the default ``leads="auto"``, a 12-lead record (in ``STANDARD_LEADS`` order) is
    augmented as a recorder would see it: artefacts reach I, II and V1..V6 (wander and mains the same
    on each, noise independent per lead) and III, aVR, aVL, aVF follow from I and II, so I + III = II
    and aVR + aVL + aVF = 0 hold after augmentation whenever they held before. Any other lead set
    gets ``"common"`` wander and mains with independent noise per lead. ``"electrodes"`` draws every
    artefact at the nine electrodes instead; ``"common"`` and ``"independent"`` force the simple modes
    (they break the lead relations; see the module docstring).

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV (in the data's own unit for
            normalised beats — then read the mV amplitudes in that unit), finite.
        fs: sampling rate in Hz.
        p: probability that each sub-transform fires on a record, in [0, 1].
        generator: source of randomness.
        scale, wander, powerline, noise, stretch: switch each sub-transform on or off.
        leads: ``"auto"``, ``"derived"``, ``"electrodes"``, ``"common"`` or ``"independent"`` (the noise
            is drawn per lead in ``"common"``).
        Other arguments: as in the individual functions; every one is validated even when its
            sub-transform is off (the Nyquist limits only when it is on).

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    p = check_probability(p, "p")
    on = {
        k: check_bool(v, k)
        for k, v in dict(stretch=stretch, scale=scale, wander=wander, powerline=powerline, noise=noise).items()
    }
    factor = check_range(stretch_factor, "stretch_factor", low=0.0, low_inclusive=False)
    gains = check_range(scale_range, "scale_range", low=0.0, low_inclusive=False)
    wander_amp = check_range(wander_amplitude_mv, "wander_amplitude_mv", low=0.0)
    wander_freq = check_range(wander_freq_hz, "wander_freq_hz", low=0.0)
    mains = check_number(mains_hz, "mains_hz", low=0.0, low_inclusive=False)
    mains_amp = check_range(mains_amplitude_mv, "mains_amplitude_mv", low=0.0)
    snr = check_range(snr_db, "snr_db")
    leads = check_one_of(leads, "leads", LEAD_MODES)
    fs = check_positive(fs, "fs")
    x = _check_signal(x, finite=False)
    check_generator(generator)
    steps = []
    if on["stretch"]:
        steps.append(("stretch", p, factor))
    if on["scale"]:
        steps.append(("scale", p, gains))
    if on["wander"]:
        freq = _below_nyquist(wander_freq, fs, "wander_freq_hz")
        steps.append(("sinusoid", p, wander_amp, freq, _lead_mode(leads, x, auto=_AUTO)))
    if on["powerline"]:
        line = _below_nyquist((mains, mains), fs, "mains_hz")
        steps.append(("sinusoid", p, mains_amp, line, _lead_mode(leads, x, auto=_AUTO)))
    if on["noise"]:
        mode = _lead_mode("independent" if leads == "common" else leads, x, auto=("derived", "independent"))
        steps.append(("noise", p, snr, mode))
    return _run(x, fs, steps, generator)


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


def r_peaks(lead: torch.Tensor, fs: float, *, min_rr_s: float = _MIN_RR_S) -> torch.Tensor:
    """Sample indices of the R peaks in one lead (e.g. lead II), int64 ``[n_beats]``.

    A simple, documented detector (good enough for a clean resting ECG, not a clinical QRS detector
    such as Pan-Tompkins): remove the median (the baseline), take ``scipy.signal.find_peaks`` with a
    height of half the largest deflection and a refractory distance of ``min_rr_s``. It assumes upright
    R waves in the chosen lead (lead II in a normal axis) and little baseline wander: run it on the
    clean record, not on an augmented one.

    Args:
        lead: ``[T]`` in mV, finite.
        fs: sampling rate in Hz.
        min_rr_s: shortest allowed RR interval in seconds (0.3 s = 200 bpm), > 0 and shorter than the
            record (``ValueError`` otherwise: no two beats could fit).
    """
    from scipy.signal import find_peaks

    _check_signal(lead, "lead")
    if lead.ndim != 1:
        raise ValueError(f"lead must be one lead shaped [T], got shape {tuple(lead.shape)}")
    fs = check_positive(fs, "fs")
    min_rr_s = check_positive(min_rr_s, "min_rr_s")
    duration_s = lead.shape[-1] / fs
    if min_rr_s >= duration_s:
        raise ValueError(
            f"min_rr_s must be shorter than the record ({lead.shape[-1]} samples at {fs:g} Hz = {duration_s:g} s), "
            f"or no two beats can fit in it; got {min_rr_s:g} s"
        )
    sig = lead.detach().to("cpu", torch.float64)
    sig = (sig - sig.median()).numpy()
    distance = max(1, int(min_rr_s * fs))  # < T samples, checked above
    peaks, _ = find_peaks(sig, height=0.5 * float(sig.max()), distance=distance)
    return torch.from_numpy(peaks.astype("int64"))


def heart_rate_bpm(lead: torch.Tensor, fs: float, *, min_rr_s: float = _MIN_RR_S) -> float:
    """Heart rate in beats per minute from one lead: ``60 / median RR`` with RR from ``r_peaks``.

    Args:
        lead: ``[T]`` in mV, at least two beats long.
        fs: sampling rate in Hz.
        min_rr_s: shortest allowed RR interval in seconds (0.3 s = 200 bpm).

    Returns:
        Heart rate in bpm (float).
    """
    fs = check_positive(fs, "fs")
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
        qrs_half_width_s: half-width of the QRS window in seconds, > 0 and below half the detector's
            shortest RR interval (0.15 s; ``ValueError`` otherwise: the window would reach the next beat).

    Returns:
        The axis in degrees, in (−180, 180].
    """
    _check_signal(x)
    fs = check_positive(fs, "fs")
    if x.ndim != 2:
        raise ValueError(f"x must be one record shaped [leads, T], got shape {tuple(x.shape)}")
    names = list(lead_names)
    if len(names) != x.shape[0]:
        raise ValueError(f"lead_names has {len(names)} names but x has {x.shape[0]} leads")
    for need in ("I", "II", "aVF"):
        if need not in names:
            raise ValueError(f"lead_names must contain {need!r}, got {names}")
    qrs_half_width_s = check_positive(qrs_half_width_s, "qrs_half_width_s")
    if qrs_half_width_s >= _MIN_RR_S / 2:
        raise ValueError(
            f"qrs_half_width_s must be below half the shortest RR interval the detector allows "
            f"({_MIN_RR_S / 2:g} s), or one beat's window reaches into the next; got {qrs_half_width_s:g} s "
            "(a QRS lasts about 0.08-0.12 s: the default ±0.05 s covers it)"
        )
    peaks = r_peaks(x[names.index("II")], fs, min_rr_s=_MIN_RR_S)
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
    fs = check_positive(fs, "fs")
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
    lo = check_number(low_hz, "low_hz", low=0.0, finite=False)
    hi = check_number(high_hz, "high_hz", low=0.0, finite=False)
    if lo > hi:
        raise ValueError(f"low_hz must be <= high_hz, got low_hz={lo:g}, high_hz={hi:g}")
    f, p = power_spectrum(x, fs)
    inside = ((f >= lo) & (f <= hi)).to(p.device)
    return p[..., inside].sum(-1) / p.sum(-1)


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
