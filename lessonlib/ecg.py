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
* Arithmetic is done in the input's dtype (float16/bfloat16 in float32, returned in the input's
  dtype); the phase of a sinusoid is computed in float64 whatever the dtype, so a one-hour record at
  500 Hz carries a clean 50 Hz line to its last sample.
* Data that are not in mV (the UCR ECG200 beats are z-normalised per beat) can still be augmented:
  every "mV" amplitude is then read in the data's own unit (for z-normalised beats: in standard
  deviations of the beat), and the caller chooses amplitudes accordingly.

Artefacts are small classes, the functions are one-line uses of them
--------------------------------------------------------------------
Each artefact is a class in the style of torchvision's ``transforms.v2``: it validates its settings
in ``__init__``, draws the per-record parameters of a batch in ``make_params`` (the *neutral* value —
gain 1, amplitude 0 — for records it does not fire on, with probability ``1 - p``) and applies them in
one method. ``ECGCompose`` runs several of them as one fused pass over the batch: time warps first,
then the product of the gains, then every additive artefact written into the same output buffer.
``augment_ecg`` is ``ECGCompose`` of ``TimeScale``, ``AmplitudeScale``, ``BaselineWander``,
``PowerlineInterference`` and ``BroadbandNoise``; ``baseline_wander(x, fs, ...)`` is
``BaselineWander(...)(x, fs)``, and so on. A new artefact is one new class (subclass ``Warp``,
``Gain`` or ``Additive``) that ``ECGCompose`` can take as it is.

How the additive artefacts treat the leads (``leads=``)
--------------------------------------------------------
An ECG lead is a *difference of electrode potentials*: I = LA − RA, II = LL − RA, III = LL − LA, so
Einthoven's relation I + III = II holds exactly for any true recording (Goldberger's augmented leads
aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2 sum to zero, and the precordial leads
V1..V6 = Vi − (RA + LA + LL)/3 are linear in the same potentials).

* ``"common"``: the same artefact waveform is added to every lead, as if it were picked up by the
  whole recording chain. Simple, works for any number of leads, but it **breaks Einthoven**:
  (I + w) + (III + w) − (II + w) = w.
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
from dataclasses import dataclass, field

import torch

from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_positive,
    check_probability,
    check_range,
    compute_dtype,
    normal,
    randint,
    uniform,
)

__all__ = [
    "STANDARD_LEADS",
    "LEAD_MODES",
    "BatchContext",
    "ECGTransform",
    "Warp",
    "Gain",
    "Additive",
    "TimeScale",
    "AmplitudeScale",
    "BaselineWander",
    "PowerlineInterference",
    "BroadbandNoise",
    "ECGCompose",
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
_NEEDS_12 = ("derived", "electrodes")

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

# Rows III, aVR, aVL, aVF (leads 2..5) as the device computes them from I and II (columns).
_DERIVED_FROM_I_II = torch.tensor([[-1.0, 1.0], [-0.5, -0.5], [1.0, -0.5], [-0.5, 1.0]], dtype=torch.float64)
# What a waveform w added to I, II and V1..V6 becomes on each of the 12 leads in "derived" mode.
_DERIVED_COMMON = torch.tensor([1.0, 1.0, 0.0, -1.0, 0.5, 0.5] + [1.0] * 6, dtype=torch.float64)


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
    if finite:
        _check_finite(x, name)
    return x


def _check_finite(x: torch.Tensor, name: str = "x") -> None:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite millivolts (fill gaps first)")


def _check_fs(fs: object) -> float:
    """A sampling rate in Hz: a finite real number > 0 (``TypeError`` for a non-number)."""
    return check_positive(fs, "fs")


def _check_hz_range(r: object, name: str) -> tuple[float, float]:
    """A frequency or ``(min, max)`` range in Hz, >= 0 and finite (the Nyquist bound is checked at call)."""
    return check_range(r, name, low=0.0)


def _check_nonneg_range(r: object, name: str) -> tuple[float, float]:
    """An amplitude or ``(min, max)`` range, >= 0 and finite."""
    return check_range(r, name, low=0.0)


def _check_positive_range(r: object, name: str) -> tuple[float, float]:
    """A factor or ``(min, max)`` range of factors: positive and finite."""
    return check_range(r, name, low=0.0, low_inclusive=False)


def _check_leads(leads: object, allowed: Sequence[str] = LEAD_MODES) -> str:
    return check_one_of(leads, "leads", tuple(allowed))


def _resolve_leads(leads: str, n_leads: int, *, auto_12: str, auto_other: str) -> str:
    """``"auto"`` → ``auto_12`` for 12 leads, else ``auto_other``; refuses 12-lead modes on other sets."""
    mode = (auto_12 if n_leads == 12 else auto_other) if leads == "auto" else leads
    if mode in _NEEDS_12 and n_leads != 12:
        raise ValueError(
            f"leads={leads!r} needs the 12 standard leads in the order {STANDARD_LEADS}, got {n_leads} leads"
        )
    return mode


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    """View ``[T]`` / ``[L, T]`` / ``[B, L, T]`` as ``[B, L, T]`` (no copy)."""
    if x.ndim == 1:
        return x.view(1, 1, -1) if x.is_contiguous() else x.reshape(1, 1, -1)
    if x.ndim == 2:
        return x.unsqueeze(0)
    return x


# ----------------------------------------------------------------------------------------------
# Shared numerics: record power, noise buffers, lead projection
# ----------------------------------------------------------------------------------------------


def _mean_square(xb: torch.Tensor) -> torch.Tensor:
    """Mean of ``xb**2`` per record, ``[B, 1, 1]`` in ``xb``'s dtype (a fast reduction, no temporary)."""
    n = xb.shape[1] * xb.shape[2]
    return torch.linalg.vector_norm(xb, dim=(1, 2), keepdim=True).square() / n


def _record_power(xb: torch.Tensor) -> torch.Tensor:
    """Mean power of each record after removing each lead's mean: ``[B, 1, 1]`` in ``xb``'s dtype, mV².

    Computed as E[x²] − E[x]² per lead from two fast reductions (no batch-sized temporary), then
    averaged over the leads.
    """
    n = xb.shape[-1]
    ms = torch.linalg.vector_norm(xb, dim=-1, keepdim=True).square() / n
    mean = xb.sum(dim=-1, keepdim=True) / n
    return (ms - mean.square()).clamp_min(0).mean(dim=1, keepdim=True)


def _record_power_checked(xb: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``_record_power`` that also rejects NaN/inf in ``xb`` (they propagate into the reductions)."""
    power = _record_power(xb)
    if not bool(torch.isfinite(power).all()):
        _check_finite(xb, name)
        raise ValueError(f"{name} has values too large to square in {xb.dtype}; expected millivolts")
    return power


def _fill_normal(out: torch.Tensor, generator: torch.Generator | None) -> None:
    """Fill ``out`` in place with N(0, 1) draws from ``generator`` (drawn on the generator's device)."""
    gdev = generator.device if generator is not None else torch.device("cpu")
    if out.device == gdev:
        out.normal_(generator=generator)
    else:
        out.copy_(normal(out.shape, generator=generator, device=gdev, dtype=out.dtype))


def _fill_noise(out: torch.Tensor, mode: str, generator: torch.Generator | None) -> None:
    """Fill ``out [B, L, T]`` with N(0, 1) noise per lead (``"independent"``); for ``"derived"`` the
    leads III, aVR, aVL, aVF are then recomputed from the noise on I and II; for ``"electrodes"``
    independent noise at the nine electrodes is projected onto the 12 standard leads."""
    if mode == "electrodes":
        b, _, n = out.shape
        e = torch.empty((b, 9, n), dtype=out.dtype, device=out.device)
        _fill_normal(e, generator)
        m = _ELECTRODE_TO_LEAD.to(device=out.device, dtype=out.dtype)
        out.copy_(torch.einsum("le,bet->blt", m, e))
        return
    _fill_normal(out, generator)
    if mode == "derived":
        _derive_limb_leads(out)


def _derive_limb_leads(out: torch.Tensor) -> None:
    """Overwrite leads III, aVR, aVL, aVF of ``out [B, 12, T]`` with the device formulas of I and II."""
    d = _DERIVED_FROM_I_II.to(device=out.device, dtype=out.dtype)
    out[:, 2:6] = torch.einsum("dk,bkt->bdt", d, out[:, :2])


def _add_projected(out: torch.Tensor, wave: torch.Tensor, mode: str) -> None:
    """Add source waveforms ``wave [B, S, T]`` to ``out [B, L, T]`` in place, as ``mode`` says.

    ``"common"``: S = 1, added to every lead. ``"independent"``: S = L. ``"derived"``: S = 1, added
    to I, II, V1..V6 and carried into III, aVR, aVL, aVF by the device formulas. ``"electrodes"``:
    S = 9 electrode potentials projected onto the 12 leads.
    """
    if mode == "electrodes":
        m = _ELECTRODE_TO_LEAD.to(device=out.device, dtype=out.dtype)
        out.add_(torch.einsum("le,bet->blt", m, wave))
    elif mode == "derived":
        out.addcmul_(wave, _DERIVED_COMMON.to(device=out.device, dtype=out.dtype).view(1, 12, 1))
    else:
        out.add_(wave)


# ----------------------------------------------------------------------------------------------
# The artefact classes
# ----------------------------------------------------------------------------------------------


@dataclass
class BatchContext:
    """What one call knows about its batch, handed to ``make_params`` and the apply methods.

    Fields: ``b`` records, ``n_leads`` leads, ``n`` samples, ``fs`` (Hz, or None when no transform
    needs it), ``dtype`` (the compute dtype: the input's, float32 for float16/bfloat16), ``device``,
    ``generator``. ``uniform(shape, low, high[, dtype])`` draws from the generator onto the device;
    ``sample_index()`` is the float64 sample number ``[1, 1, T]``.
    """

    b: int
    n_leads: int
    n: int
    fs: float | None
    dtype: torch.dtype
    device: torch.device
    generator: torch.Generator | None
    _n64: torch.Tensor | None = field(default=None, repr=False)

    def sample_index(self) -> torch.Tensor:
        """Sample numbers ``0..T-1`` as float64 ``[1, 1, T]`` (exact for any record length)."""
        if self._n64 is None:
            self._n64 = torch.arange(self.n, device=self.device, dtype=torch.float64).view(1, 1, self.n)
        return self._n64

    def uniform(
        self, shape: tuple[int, ...], low: float, high: float, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Uniform draws in ``[low, high)`` from the call's generator, on the batch's device."""
        return uniform(
            shape, low=low, high=high, generator=self.generator, device=self.device, dtype=dtype or self.dtype
        )


class ECGTransform:
    """Base of the artefact classes: settings validated in ``__init__``, draws in ``make_params``.

    Subclasses set ``needs_fs`` when they need the sampling rate, implement ``make_params(ctx)``
    (every random draw for the whole batch, neutral values where the transform does not fire) and
    one of the application methods of ``Warp``, ``Gain`` or ``Additive``. Calling an instance on a
    signal, ``t(x, fs, generator=g)``, is ``ECGCompose([t])(x, fs, generator=g)``.

    Args:
        p: probability that the transform fires on each record, in [0, 1]. With ``p = 1`` no firing
            draw is made (the random stream then holds only the transform's own parameters).
        names: how the parameters are called in error messages, e.g. ``{"freq_hz": "wander_freq_hz"}``
            (``augment_ecg`` passes its own argument names); default: the constructor's names.
    """

    needs_fs = False

    def __init__(self, *, p: float = 1.0, names: dict[str, str] | None = None) -> None:
        self._names = dict(names or {})
        self.p = check_probability(p, self._name("p"))

    def _name(self, param: str) -> str:
        return self._names.get(param, param)

    def check_fs(self, fs: float | None) -> None:
        """Validate the settings that depend on the sampling rate (e.g. Nyquist); called per use."""
        if self.needs_fs and fs is None:
            raise ValueError(f"{type(self).__name__} needs the sampling rate fs in Hz")

    def fire(self, ctx: BatchContext) -> torch.Tensor:
        """Per-record Bernoulli(``p``) as ``[B, 1, 1]`` in the compute dtype (1 = fires)."""
        if self.p >= 1.0:
            return torch.ones((ctx.b, 1, 1), device=ctx.device, dtype=ctx.dtype)
        return (ctx.uniform((ctx.b, 1, 1), 0.0, 1.0, torch.float32) < self.p).to(ctx.dtype)

    def make_params(self, ctx: BatchContext) -> dict:
        """Every random parameter of this transform for the batch described by ``ctx``."""
        raise NotImplementedError

    def __call__(
        self, x: torch.Tensor, fs: float | None = None, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Apply this transform alone to ``x`` (see ``ECGCompose.__call__``); a new tensor like ``x``."""
        return ECGCompose([self])(x, fs, generator=generator)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Warp(ECGTransform):
    """A transform that moves samples in time (applied first, before gains and additive artefacts)."""

    def warp(self, x: torch.Tensor, params: dict, ctx: BatchContext) -> torch.Tensor:
        """Return the warped ``x [B, L, T]`` (a new tensor of the same shape)."""
        raise NotImplementedError


class Gain(ECGTransform):
    """A transform that multiplies each record by a factor (gains of a composition multiply)."""

    def gain(self, params: dict) -> torch.Tensor:
        """The per-record factor, ``[B, 1, 1]``."""
        raise NotImplementedError


class Additive(ECGTransform):
    """A transform that adds an artefact waveform; ``leads`` says how it reaches the leads.

    ``add_to(out, params, ctx, power)`` adds the artefact to ``out`` in place; ``power`` is each
    record's signal power after the gains (``[B, 1, 1]``, mV²), for artefacts sized by an SNR.
    ``combine`` may instead write ``gain · base + artefact`` into an empty buffer in one pass (noise
    does: the buffer it draws into becomes the output); ``ECGCompose`` lets the first additive
    transform with ``fills_buffer = True`` do that.
    """

    fills_buffer = False
    #: what "auto" means on 12 standard leads and on any other lead set
    auto_modes = ("derived", "common")

    def __init__(self, *, leads: str = "common", p: float = 1.0, names: dict[str, str] | None = None) -> None:
        super().__init__(p=p, names=names)
        self.leads = _check_leads(leads)

    def mode(self, ctx: BatchContext) -> str:
        """The lead mode for this batch (``"auto"`` resolved; 12-lead modes checked against the leads)."""
        return _resolve_leads(self.leads, ctx.n_leads, auto_12=self.auto_modes[0], auto_other=self.auto_modes[1])

    def add_to(self, out: torch.Tensor, params: dict, ctx: BatchContext, power: torch.Tensor) -> None:
        """Add this artefact to ``out [B, L, T]`` in place."""
        raise NotImplementedError

    def combine(
        self,
        out: torch.Tensor,
        base: torch.Tensor,
        gain: torch.Tensor,
        params: dict,
        ctx: BatchContext,
        power: torch.Tensor,
    ) -> None:
        """Write ``gain · base + artefact`` into the empty ``out``; by default a product then ``add_to``."""
        torch.mul(base, gain, out=out)
        self.add_to(out, params, ctx, power)


class TimeScale(Warp):
    """Stretch (``factor > 1``) or compress (``factor < 1``) each record in time, keeping its length.

    The output sample ``n`` is the input at time ``n / factor`` (linear interpolation), anchored at
    the record's start; see ``time_scale`` for what that does to rate and interval labels.

    Args:
        factor: stretch factor > 0, a number or ``(min, max)`` drawn uniformly per record.
        p: probability of firing per record (neutral factor 1 otherwise).
    """

    def __init__(
        self, factor: float | tuple[float, float] = (0.9, 1.1), *, p: float = 1.0, names: dict[str, str] | None = None
    ) -> None:
        super().__init__(p=p, names=names)
        self.factor = _check_positive_range(factor, self._name("factor"))

    def make_params(self, ctx: BatchContext) -> dict:
        fire = self.fire(ctx).double()
        f = ctx.uniform((ctx.b, 1, 1), *self.factor, torch.float64)
        return {"factor": fire * f + (1 - fire)}

    def warp(self, x: torch.Tensor, params: dict, ctx: BatchContext) -> torch.Tensor:
        return _resample_linear(x, ctx.sample_index() / params["factor"])


class AmplitudeScale(Gain):
    """Multiply each record by one factor drawn uniformly from ``scale`` (all its leads alike).

    Args:
        scale: positive factor or ``(min, max)`` range, min > 0.
        p: probability of firing per record (neutral factor 1 otherwise).
    """

    def __init__(
        self, scale: float | tuple[float, float] = (0.9, 1.1), *, p: float = 1.0, names: dict[str, str] | None = None
    ) -> None:
        super().__init__(p=p, names=names)
        self.scale = _check_positive_range(scale, self._name("scale"))

    def make_params(self, ctx: BatchContext) -> dict:
        fire = self.fire(ctx)
        return {"scale": fire * ctx.uniform((ctx.b, 1, 1), *self.scale) + (1 - fire)}

    def gain(self, params: dict) -> torch.Tensor:
        return params["scale"]


class _Sinusoid(Additive):
    """``A·sin(2π f t + φ)`` per record and source, amplitude 0 where it does not fire.

    The phase ``2π·frac(n·f/fs) + φ`` is computed in float64 from the integer sample number ``n``, so
    it stays exact on records of any length; the sine itself is taken in the compute dtype.
    """

    needs_fs = True
    amplitude: tuple[float, float]
    freq: tuple[float, float]

    def _sources(self, mode: str, n_leads: int) -> int:
        return {"common": 1, "derived": 1, "independent": n_leads, "electrodes": 9}[mode]

    def make_params(self, ctx: BatchContext) -> dict:
        mode = self.mode(ctx)
        shape = (ctx.b, self._sources(mode, ctx.n_leads), 1)
        fire = self.fire(ctx)
        amp = ctx.uniform(shape, *self.amplitude)
        freq = ctx.uniform(shape, *self.freq, torch.float64)
        phase = ctx.uniform(shape, 0.0, 2 * math.pi, torch.float64)
        return {"mode": mode, "amplitude": amp * fire, "freq_hz": freq, "phase": phase}

    def add_to(self, out: torch.Tensor, params: dict, ctx: BatchContext, power: torch.Tensor) -> None:
        cycles = torch.frac(ctx.sample_index() * (params["freq_hz"] / ctx.fs))  # [B, S, T] float64
        arg = cycles.mul_(2 * math.pi).add_(params["phase"]).to(out.dtype)
        _add_projected(out, arg.sin_().mul_(params["amplitude"]), params["mode"])


class BaselineWander(_Sinusoid):
    """Baseline wander: a slow sinusoid ``A·sin(2π f t + φ)``, ``t = n / fs`` in seconds.

    Respiration (0.1-0.5 Hz) and slow electrode-skin potential drift; power below about 1 Hz.

    Args:
        amplitude_mv: peak amplitude in mV, number or ``(min, max)`` drawn per record and source.
        freq_hz: frequency in Hz, number or range; must stay below ``fs / 2`` (checked per call).
        leads: ``"common"``, ``"independent"``, ``"derived"``, ``"electrodes"`` or ``"auto"``.
        p: probability of firing per record (amplitude 0 otherwise).
    """

    def __init__(
        self,
        amplitude_mv: float | tuple[float, float] = (0.05, 0.3),
        freq_hz: float | tuple[float, float] = (0.05, 0.5),
        *,
        leads: str = "common",
        p: float = 1.0,
        names: dict[str, str] | None = None,
    ) -> None:
        super().__init__(leads=leads, p=p, names=names)
        self.amplitude = _check_nonneg_range(amplitude_mv, self._name("amplitude_mv"))
        self.freq = _check_hz_range(freq_hz, self._name("freq_hz"))

    def check_fs(self, fs: float | None) -> None:
        super().check_fs(fs)
        if self.freq[1] >= fs / 2:
            raise ValueError(
                f"{self._name('freq_hz')} must stay below the Nyquist frequency fs/2 = {fs / 2:g} Hz, got {self.freq!r}"
            )


class PowerlineInterference(_Sinusoid):
    """Mains interference: ``A·sin(2π·mains_hz·t + φ)``, a narrow line at 50 Hz or 60 Hz.

    Args:
        mains_hz: mains frequency in Hz (> 0, finite); must stay below ``fs / 2`` (checked per call).
        amplitude_mv: peak amplitude in mV, number or ``(min, max)`` drawn per record and source.
        leads: ``"common"``, ``"independent"``, ``"derived"``, ``"electrodes"`` or ``"auto"``.
        p: probability of firing per record (amplitude 0 otherwise).
    """

    def __init__(
        self,
        mains_hz: float = 50.0,
        amplitude_mv: float | tuple[float, float] = (0.01, 0.1),
        *,
        leads: str = "common",
        p: float = 1.0,
        names: dict[str, str] | None = None,
    ) -> None:
        super().__init__(leads=leads, p=p, names=names)
        f = check_number(mains_hz, self._name("mains_hz"), low=0.0, low_inclusive=False)
        self.mains_hz = f
        self.freq = (f, f)
        self.amplitude = _check_nonneg_range(amplitude_mv, self._name("amplitude_mv"))

    def check_fs(self, fs: float | None) -> None:
        super().check_fs(fs)
        if self.mains_hz >= fs / 2:
            raise ValueError(
                f"{self._name('mains_hz')} must be below the Nyquist frequency fs/2 = {fs / 2:g} Hz "
                f"(the line would alias), "
                f"got {self.mains_hz!r}"
            )


class BroadbandNoise(Additive):
    """White Gaussian noise at an SNR in dB relative to each record: muscle- and motion-level noise.

    What it models: broadband contamination at 5-30 dB SNR, the level of skeletal-muscle (EMG)
    artefact and electrode-motion noise in ambulatory and exercise recordings. It is *not* the
    amplifier's own noise, which on a diagnostic recorder is a few µV (SNR above about 50 dB) and
    invisible. Real EMG is not white (most of its power is above 20 Hz) and electrode motion is mostly
    below 10 Hz; white noise is the simple, label-preserving stand-in for both.

    The SNR is relative to the record's power (mean-removed, pooled over leads) after the gains of a
    composition; the noise power over the record is then exactly ``P_signal / 10^(snr/10)``.

    Args:
        snr_db: SNR in dB, a finite number or ``(min, max)`` drawn uniformly per record.
        leads: ``"independent"`` (per lead), ``"derived"`` (per measured lead, III/aVR/aVL/aVF derived),
            ``"electrodes"`` (at the nine electrodes) or ``"auto"`` (derived for 12 leads, else
            independent). ``"common"`` is refused: the same noise on every lead is not noise a
            recorder makes.
        p: probability of firing per record (no noise otherwise).
    """

    fills_buffer = True
    auto_modes = ("derived", "independent")

    def __init__(
        self,
        snr_db: float | tuple[float, float] = (20.0, 30.0),
        *,
        leads: str = "independent",
        p: float = 1.0,
        names: dict[str, str] | None = None,
    ) -> None:
        super().__init__(leads=_check_leads(leads, ("independent", "derived", "electrodes", "auto")), p=p, names=names)
        self.snr_db = check_range(snr_db, self._name("snr_db"))

    def make_params(self, ctx: BatchContext) -> dict:
        fire = self.fire(ctx)
        snr = ctx.uniform((ctx.b, 1, 1), *self.snr_db)
        return {"mode": self.mode(ctx), "fire": fire, "snr_db": snr}

    def _scale(self, noise: torch.Tensor, params: dict, power: torch.Tensor) -> torch.Tensor:
        k = torch.sqrt(power * torch.pow(10.0, -params["snr_db"] / 10) / _mean_square(noise).clamp_min(1e-30))
        return k * params["fire"]

    def add_to(self, out: torch.Tensor, params: dict, ctx: BatchContext, power: torch.Tensor) -> None:
        noise = torch.empty_like(out)
        _fill_noise(noise, params["mode"], ctx.generator)
        out.addcmul_(noise, self._scale(noise, params, power))

    def combine(
        self,
        out: torch.Tensor,
        base: torch.Tensor,
        gain: torch.Tensor,
        params: dict,
        ctx: BatchContext,
        power: torch.Tensor,
    ) -> None:
        _fill_noise(out, params["mode"], ctx.generator)  # the noise buffer is the output
        out.mul_(self._scale(out, params, power)).addcmul_(base, gain)


class ECGCompose:
    """Several ECG artefacts applied as one fused pass over a batch.

    All random parameters are drawn up front, transform by transform in list order (so the list
    order fixes the random stream); then, whatever the list order, the warps are applied in order,
    the gains are multiplied into one factor per record, and the additive artefacts are written into
    one output buffer (additive artefacts commute; an SNR is relative to the record after the gains
    and before any artefact). A transform that does not fire on a record has its neutral value there,
    so the result equals applying the transforms one by one to the records they fire on, up to float
    rounding — without a Python loop over records or one pass per transform.

    Args:
        transforms: instances of ``Warp``, ``Gain`` or ``Additive`` subclasses.
    """

    def __init__(self, transforms: Sequence[ECGTransform]) -> None:
        if isinstance(transforms, ECGTransform) or not isinstance(transforms, Sequence):
            raise TypeError(f"transforms must be a sequence of ECGTransform, got {type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not isinstance(t, (Warp, Gain, Additive)):
                raise TypeError(
                    f"transforms[{i}] must be a Warp, Gain or Additive ECGTransform, got {type(t).__name__}"
                )
        self.transforms = list(transforms)

    def __repr__(self) -> str:
        return f"ECGCompose({self.transforms!r})"

    def __call__(
        self, x: torch.Tensor, fs: float | None = None, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Augment ``x`` (``[T]``, ``[leads, T]`` or ``[B, leads, T]``, mV, finite) sampled at ``fs`` Hz.

        Returns a new tensor with the shape, dtype and device of ``x``.
        """
        _check_signal(x, finite=False)  # finiteness: on the record power below (no extra pass)
        fs = _check_fs(fs) if fs is not None or any(t.needs_fs for t in self.transforms) else None
        check_generator(generator)
        for t in self.transforms:
            t.check_fs(fs)
        xb = _as_batch(x)
        b, n_leads, n = xb.shape
        ctx = BatchContext(b, n_leads, n, fs, compute_dtype(x.dtype), x.device, generator)
        params = [t.make_params(ctx) for t in self.transforms]  # every draw, in list order
        pairs = list(zip(self.transforms, params, strict=True))

        base = xb.to(ctx.dtype)
        warps = [(t, p) for t, p in pairs if isinstance(t, Warp)]
        if warps:
            _check_finite(x)  # a NaN in a tail that the warp drops must not pass unnoticed
            for t, p in warps:
                base = t.warp(base, p, ctx)
        gain = torch.ones((b, 1, 1), device=x.device, dtype=ctx.dtype)
        for t, p in pairs:
            if isinstance(t, Gain):
                gain = gain * t.gain(p)
        power = _record_power_checked(base) * gain.square()  # also the NaN check

        additive = [(t, p) for t, p in pairs if isinstance(t, Additive)]
        first = next((i for i, (t, _) in enumerate(additive) if t.fills_buffer), None)
        out = torch.empty_like(base)
        if first is None:
            torch.mul(base, gain, out=out)
        else:
            t, p = additive.pop(first)
            t.combine(out, base, gain, p, ctx, power)
        for t, p in additive:
            t.add_to(out, p, ctx, power)
        return out.to(x.dtype).reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# The functional API: one line each on top of the classes
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
    """Add baseline wander: a slow sinusoid ``A·sin(2π f t + φ)`` with ``t = n / fs`` in seconds.

    Physical meaning: respiration (0.1-0.5 Hz, the chest moves the heart and the electrodes) and slow
    electrode-skin potential drift; its power sits below about 1 Hz, under the ECG's own band.
    Equivalent to ``BaselineWander(amplitude_mv, freq_hz, leads=leads)(x, fs, generator=generator)``.

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
        generator: source of randomness; amplitude, frequency and phase are drawn per record.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    return BaselineWander(amplitude_mv, freq_hz, leads=leads)(x, fs, generator=generator)


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
    Equivalent to ``PowerlineInterference(mains_hz, amplitude_mv, leads=leads)(x, fs, generator=generator)``.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        fs: sampling rate in Hz; ``mains_hz`` must be below ``fs / 2`` (otherwise the line would alias).
        mains_hz: mains frequency in Hz (> 0), typically 50.0 or 60.0.
        amplitude_mv: peak amplitude in mV, number or ``(min, max)`` drawn per record.
        leads: ``"common"``, ``"independent"``, ``"derived"``, ``"electrodes"`` or ``"auto"`` (module docstring).
        generator: source of randomness (amplitude and phase per record).

    Returns:
        A new tensor, same shape, dtype and device as ``x``; the phase is exact on records of any length.
    """
    return PowerlineInterference(mains_hz, amplitude_mv, leads=leads)(x, fs, generator=generator)


def gaussian_noise(
    x: torch.Tensor,
    *,
    snr_db: float | tuple[float, float] = (20.0, 30.0),
    leads: str = "independent",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add white Gaussian noise at a signal-to-noise ratio given in dB, per record.

    What it models: broadband noise at the level of **muscle (EMG) artefact and electrode motion** —
    5-30 dB SNR, what an exercise or ambulatory recording picks up when the patient moves. It is not
    amplifier or thermal noise: a diagnostic recorder's own noise is a few µV, above 50 dB SNR and
    invisible on the trace. Real EMG has most of its power above 20 Hz and electrode motion below
    10 Hz; white noise is the simple stand-in for both. Equivalent to
    ``BroadbandNoise(snr_db, leads=leads)(x, generator=generator)``.

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
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    return BroadbandNoise(snr_db, leads=leads)(x, generator=generator)


def amplitude_scale(
    x: torch.Tensor, *, scale: float | tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply each record by one factor drawn uniformly from ``scale`` (same factor on all its leads).

    Physical meaning: electrode contact, body habitus and gain calibration change amplitudes by a few
    per cent to tens of per cent. One factor per record keeps every lead relation (Einthoven) exact.
    Caution: amplitude *is* the label for criteria such as LVH voltage criteria; keep the range small.
    Equivalent to ``AmplitudeScale(scale)(x, generator=generator)``.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]`` in mV, finite.
        scale: positive factor or ``(min, max)`` range, min > 0.
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    return AmplitudeScale(scale)(x, generator=generator)


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
    repeated (a flat tail — one more reason it is off by default). Equivalent to
    ``TimeScale(factor)(x, generator=generator)``.

    Args:
        x: ``[T]``, ``[leads, T]`` or ``[batch, leads, T]``, floating point, finite (all of it, also
            the part a stretch pushes out of the window).
        factor: stretch factor > 0, number or ``(min, max)`` drawn per record.
        generator: source of randomness.

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    return TimeScale(factor)(x, generator=generator)


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
    leads: str = "auto",
) -> torch.Tensor:
    """The label-preserving composition for rhythm/morphology classification, batched.

    Each named sub-transform fires independently per record with probability ``p``:

    1. ``stretch`` — ``TimeScale(stretch_factor)`` (off by default: changes rate/interval labels);
    2. ``scale`` — ``AmplitudeScale(scale_range)``;
    3. ``wander`` — ``BaselineWander(wander_amplitude_mv, wander_freq_hz)`` (Hz);
    4. ``powerline`` — ``PowerlineInterference(mains_hz, mains_amplitude_mv)``;
    5. ``noise`` — ``BroadbandNoise(snr_db)``: muscle/motion-level noise at ``snr_db`` relative to the
       record *after* scaling and before the artefacts (so the SNR describes the ECG itself).

    It is ``ECGCompose`` of those classes: the result equals applying the functions in that order to
    the records they fire on (up to float rounding), computed in one fused pass (per-record parameters
    are ``[B, 1, 1]`` tensors, neutral where a transform does not fire; ``benchmarks/bench_ecg.py``
    compares it with a loop over records).

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
        Other arguments: as in the individual classes; every one is validated even when its
            sub-transform is off (the Nyquist limits only when it is on).

    Returns:
        A new tensor, same shape, dtype and device as ``x``.
    """
    p = check_probability(p, "p")
    flags = {
        k: check_bool(v, k)
        for k, v in dict(stretch=stretch, scale=scale, wander=wander, powerline=powerline, noise=noise).items()
    }
    leads = _check_leads(leads)
    parts = {
        "stretch": TimeScale(stretch_factor, p=p, names={"factor": "stretch_factor"}),
        "scale": AmplitudeScale(scale_range, p=p, names={"scale": "scale_range"}),
        "wander": BaselineWander(
            wander_amplitude_mv,
            wander_freq_hz,
            leads=leads,
            p=p,
            names={"amplitude_mv": "wander_amplitude_mv", "freq_hz": "wander_freq_hz"},
        ),
        "powerline": PowerlineInterference(
            mains_hz, mains_amplitude_mv, leads=leads, p=p, names={"amplitude_mv": "mains_amplitude_mv"}
        ),
        "noise": BroadbandNoise(snr_db, leads="independent" if leads == "common" else leads, p=p),
    }
    _check_fs(fs)
    return ECGCompose([t for k, t in parts.items() if flags[k]])(x, fs, generator=generator)


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
    min_rr_s = check_positive(min_rr_s, "min_rr_s")
    sig = lead.detach().to("cpu", torch.float64)
    sig = (sig - sig.median()).numpy()
    # a refractory distance longer than the record allows one peak: cap it (fs = 1e300 must not overflow)
    distance = max(1, int(min(min_rr_s * fs, float(sig.shape[-1]))))
    peaks, _ = find_peaks(sig, height=0.5 * float(sig.max()), distance=distance)
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
    qrs_half_width_s = check_positive(qrs_half_width_s, "qrs_half_width_s")
    peaks = r_peaks(x[names.index("II")], fs)
    if peaks.numel() < 1:
        raise ValueError("found no R peak in lead II; cannot locate the QRS complexes")
    h = max(1, int(round(min(qrs_half_width_s * fs, float(x.shape[-1])))))
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
