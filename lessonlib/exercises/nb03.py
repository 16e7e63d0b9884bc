"""Exercises of notebook 03 (ECG and tabular data in physical units): ``nb03.hint(k)``, ``nb03.reveal(k)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lessonlib.ecg import STANDARD_LEADS, band_power_fraction
from lessonlib.exercises import Notebook, WrongAnswer, as_vector, cases, choice, expect_tensor, vector

__all__ = [
    "EX",
    "hint",
    "reveal",
    "NOISE_OPTIONS",
    "check_noise_features",
    "check_wander",
    "check_time_scale_labels",
    "check_left_arm_artefact",
]

EX = Notebook("03")
hint, reveal = EX.hint, EX.reveal

NOISE_OPTIONS = {
    "age (years)": "a continuous quantity (integer-valued: add noise, round, keep it >= 0)",
    "BMI (kg/m^2)": "continuous; noise of a few per cent of its spread is a plausible re-measurement",
    "serum cholesterol (mg/dL)": "continuous lab value with real measurement error",
    "sex (coded 1/2)": "binary: 1.37 is not a patient; never add noise (dropping it to missing is allowed)",
    "blood group (coded 0-3)": "categorical: codes have no order or distance, so noise turns A into B",
    "smoker (yes/no)": "binary: noise creates impossible half-smokers",
}
_NOISE_KEY = {"age (years)", "BMI (kg/m^2)", "serum cholesterol (mg/dL)"}


@EX.exercise(
    1,
    "which features get noise",
    difficulty="easy",
    hints=(
        "Gaussian noise produces values between the codes. For which features is a value between two "
        "recorded values still a possible patient?",
        "Separate continuous measurements from codes: binary and categorical codes have no 'in between' "
        "(and categorical codes have no order).",
    ),
    solution=_NOISE_KEY,
    explanation=(
        "Continuous measurements (age, BMI, cholesterol) have real measurement error, so small noise scaled "
        "to each feature's spread is a plausible re-measurement. Binary and categorical codes have no values "
        "in between and no distances: noise creates impossible patients."
    ),
    wrong=[
        _NOISE_KEY | {"sex (coded 1/2)"},
        _NOISE_KEY | {"blood group (coded 0-3)"},
        {"age (years)", "BMI (kg/m^2)"},
        set(NOISE_OPTIONS),
        "smoker (yes/no)",
    ],
    variants=[sorted(_NOISE_KEY), tuple(_NOISE_KEY)],
)
def check_noise_features(answer: Any) -> str | None:
    """Which of these clinical features may receive Gaussian noise?"""
    return choice(answer, _NOISE_KEY, NOISE_OPTIONS, missing_hint="A continuous measurement is not picked.")


# ---------------------------------------------------------------------------------------------- 03.2

_FREQ_GRID = torch.arange(1, 801, dtype=torch.float64) * 0.0025  # 0.0025 .. 2 Hz


def _frequency(w: torch.Tensor, fs: float) -> float:
    """The frequency (Hz) of the sinusoid that best fits ``w`` (one lead), by a least-squares grid search."""
    t = torch.arange(w.shape[-1], dtype=torch.float64) / fs
    w = w.double() - w.double().mean()
    phase = 2 * math.pi * _FREQ_GRID[:, None] * t[None, :]
    s, c = torch.sin(phase), torch.cos(phase)
    power = (s @ w) ** 2 / (s * s).sum(1) + (c @ w) ** 2 / (c * c).sum(1)
    return float(_FREQ_GRID[power.argmax()])


def _wander_of(fn, fs: float, seconds: float) -> torch.Tensor:
    n = int(round(seconds * fs))
    x = torch.zeros(2, n)
    before = x.clone()
    y = expect_tensor(fn(x, fs), "the output", shape=x.shape)
    if not torch.equal(x, before):
        raise WrongAnswer("the input was modified in place; return x + wander instead")
    w = (y - x).double()
    if float(w.abs().max()) < 1e-3:
        raise WrongAnswer("nothing was added (the wander is all zeros)")
    return w


def _probe_units(fn) -> str | None:
    f_long = _frequency(_wander_of(fn, 100.0, 120.0)[0], 100.0)  # a long record resolves slow sinusoids
    found = {}
    for fs, seconds in ((250.0, 10.0), (250.0, 20.0), (500.0, 10.0)):
        w = _wander_of(fn, fs, seconds)
        frac = float(band_power_fraction(w.float(), fs, 0.0, 1.0).min())
        found[(fs, seconds)] = (_frequency(w[0], fs), frac)
    freqs = [f for f, _ in found.values()]
    if abs(f_long - 0.3) <= 0.01 and all(abs(f - 0.3) <= 0.02 for f in freqs):
        if min(frac for _, frac in found.values()) < 0.95:
            return "more than 5 % of the added power lies above 1 Hz: the wander must be a slow sinusoid only"
        return None
    if abs(f_long - 0.3 / (2 * math.pi)) < 0.005:
        return "the wander oscillates 2π times too slowly: sin needs 2π·f·t (f in Hz, t in s)"
    if max(freqs) - min(freqs) > 0.02 or abs(f_long - freqs[0]) > 0.02:
        shown = ", ".join(f"{f:.2g} Hz on {s:g} s at {fs:g} Hz" for (fs, s), (f, _) in found.items())
        return (
            f"the wander's frequency changes with the record ({shown}, {f_long:.2g} Hz on 120 s at 100 Hz): it "
            "must not depend on the record length or the sampling rate. Time in seconds is the sample index / fs"
        )
    return f"the wander oscillates at about {f_long:.3g} Hz, not at the 0.3 Hz the exercise asks for"


def _probe_amplitude(fn) -> str | None:
    w = _wander_of(fn, 250.0, 20.0)
    peak = float(w.abs().amax(-1).min())
    if not 0.1 <= peak <= 0.4:
        return (
            f"the wander's peak amplitude is {peak:.3g} mV; the exercise asks for about 0.2 mV (respiration "
            "moves the baseline by a fraction of a millivolt, about the size of a P wave)"
        )
    return None


def _solution_wander(x, fs):
    # reference.ecg.baseline_wander with A = 0.2 mV, f = 0.3 Hz, phase 0 (tests/test_ecg.py checks it)
    t_s = torch.arange(x.shape[-1], dtype=x.dtype, device=x.device) / fs  # time in seconds
    return x + 0.2 * torch.sin(2 * torch.pi * 0.3 * t_s)


def _variant_wander_numpy(x, fs):
    t = np.arange(x.shape[-1]) / fs
    return x + torch.from_numpy(0.2 * np.cos(2 * np.pi * 0.3 * t + 1.0)).to(x.dtype)


def _variant_wander_linspace(x, fs):
    n = x.shape[-1]
    t = torch.linspace(0, (n - 1) / fs, n, dtype=torch.float64)
    return x + (0.25 * torch.sin(2 * math.pi * 0.3 * t)).to(x.dtype)


def _bug_cycles_per_record(x, fs):
    t = torch.linspace(0, 1, x.shape[-1])
    return x + 0.2 * torch.sin(2 * torch.pi * 0.3 * t)


def _bug_no_two_pi(x, fs):
    return x + 0.2 * torch.sin(0.3 * torch.arange(x.shape[-1]) / fs)


def _bug_cycles_per_sample(x, fs):
    return x + 0.2 * torch.sin(2 * torch.pi * 0.3 * torch.arange(x.shape[-1]))


def _bug_amplitude(x, fs):
    return x + 1.5 * torch.sin(2 * torch.pi * 0.3 * torch.arange(x.shape[-1]) / fs)


def _bug_frequency(x, fs):
    return x + 0.2 * torch.sin(2 * torch.pi * 0.35 * torch.arange(x.shape[-1]) / fs)


def _bug_in_place(x, fs):
    x += 0.2 * torch.sin(2 * torch.pi * 0.3 * torch.arange(x.shape[-1]) / fs)
    return x


@EX.exercise(
    2,
    "wander at 0.3 Hz",
    difficulty="medium",
    hints=(
        "A frequency in Hz needs a time axis in seconds. What is the time of sample n at sampling rate fs?",
        "t = arange(T) / fs; the sinusoid is A·sin(2π·f·t) with f = 0.3 Hz and A ≈ 0.2 mV; return x plus it "
        "(a new tensor).",
    ),
    solution=_solution_wander,
    explanation=(
        "With t in seconds (`arange(T) / fs`), sin(2π·0.3·t) has 0.3 cycles per second on every record, whatever "
        "its length or sampling rate. `linspace(0, 1, T)` measures time in records (cycles per record), "
        "`arange(T)` in samples, and a missing 2π gives 0.3 radians per second (0.048 Hz)."
    ),
    wrong=[
        _bug_cycles_per_record,
        _bug_no_two_pi,
        _bug_cycles_per_sample,
        _bug_amplitude,
        _bug_frequency,
        _bug_in_place,
    ],
    variants=[_variant_wander_numpy, _variant_wander_linspace],
)
def check_wander(fn: Any) -> str | None:
    """``fn(x, fs) -> x + wander`` with wander at 0.3 Hz and about 0.2 mV, checked on 10-s and 20-s records
    at 250 Hz and a 10-s record at 500 Hz (so cycles per record or per sample fail)."""
    return cases(fn, [("frequency in Hz", _probe_units), ("amplitude in mV", _probe_amplitude)])


# ---------------------------------------------------------------------------------------------- 03.3


@EX.exercise(
    3,
    "time scaling changes labels",
    difficulty="medium",
    hints=(
        "Stretching a record in time by 1.2 makes every interval on it 1.2 times longer. Which interval "
        "defines the heart rate?",
        "The heart rate is 60 000 ms divided by the RR interval; the QT interval is one of the intervals "
        "that get longer.",
    ),
    solution=(75 / 1.2, 400 * 1.2),
    explanation=(
        "Every interval is multiplied by 1.2: RR goes from 800 to 960 ms, so the rate is 75 / 1.2 = 62.5 bpm, "
        "and QT becomes 480 ms. Even rate-corrected (Bazett, QTc = QT / √RR) QTc goes from 447 to 490 ms: a "
        "normal record became a 'prolonged QT' one, so the augmentation changed the label."
    ),
    wrong=[(90.0, 333.3), (62.5, 400.0), (75.0, 480.0), (90.0, 480.0), 62.5],
    variants=[[62.5, 480], np.array([62.5, 480.0]), torch.tensor([62.5, 480.0]), (62.4, 480.5)],
    secrets=("62.5", "480"),
)
def check_time_scale_labels(answer: Any) -> str | None:
    """A 75 bpm record with QT = 400 ms, stretched in time by 1.2: ``(new bpm, new QT ms)``."""
    try:
        hr, qt = as_vector(answer, 2, "the pair (heart_rate_bpm, qt_ms)").tolist()
    except WrongAnswer:
        raise WrongAnswer("give a pair (heart_rate_bpm, qt_ms), e.g. (70.0, 410.0).") from None
    problems = []
    if abs(hr - 75 / 1.2) > 0.5:
        d = "slower" if hr < 75 else "faster"
        problems.append(
            f"the heart rate is wrong: you made the heart beat {d}; stretching makes every RR interval 1.2x "
            "longer, and the rate is beats per minute"
            if hr != 75
            else "the heart rate is wrong: it changes too, because the RR interval is stretched as well"
        )
    if abs(qt - 400 * 1.2) > 2.0:
        problems.append(
            "the QT is wrong: it is an interval on the record like RR, so it is stretched by the same factor"
            if qt <= 400
            else "the QT is wrong: stretching multiplies every interval by 1.2 (it does not divide them)"
        )
    return "; ".join(problems) + "." if problems else None


# ---------------------------------------------------------------------------------------------- 03.4

_RA, _LA, _LL = 0.0, 1.0, 0.0
_WCT = (_RA + _LA + _LL) / 3
_LEFT_ARM = [
    _LA - _RA,
    _LL - _RA,
    _LL - _LA,
    _RA - (_LA + _LL) / 2,
    _LA - (_RA + _LL) / 2,
    _LL - (_RA + _LA) / 2,
] + [-_WCT] * 6


@EX.exercise(
    4,
    "left-arm artefact",
    difficulty="hard",
    hints=(
        "Write every lead as a difference of electrode potentials, then put +1 on LA and 0 on every other "
        "electrode (chest electrodes included).",
        "I = LA − RA, II = LL − RA, III = LL − LA; aVL = LA − (RA + LL)/2 and likewise aVR, aVF; each chest "
        "lead Vi = (electrode Vi) − (RA + LA + LL)/3: the Wilson terminal contains LA.",
    ),
    solution=_LEFT_ARM,
    explanation=(
        "I = +1, II = 0, III = −1, aVR = −0.5, aVL = +1, aVF = −0.5, and every chest lead −1/3, because "
        "Wilson's central terminal averages RA, LA and LL. Einthoven's law I + III = II holds (1 − 1 = 0): "
        "an electrode artefact is a physical potential, unlike independent noise added to each lead."
    ),
    wrong=[
        _LEFT_ARM[:6] + [0.0] * 6,
        _LEFT_ARM[:6] + [1 / 3] * 6,
        [1.0, 0.0, 1.0, -0.5, 1.0, -0.5] + [-1 / 3] * 6,
        [1.0, 0.0, -1.0, -0.5, 2 / 3, -0.5] + [-1 / 3] * 6,
        _LEFT_ARM[:11],
    ],
    variants=[
        [1, 0, -1, -0.5, 1, -0.5] + [-0.33] * 6,
        np.array(_LEFT_ARM, dtype=np.float32),
        torch.tensor(_LEFT_ARM, dtype=torch.float16),
    ],
    secrets=("-0.333", "-1/3", "−1/3"),
)
def check_left_arm_artefact(answer: Any) -> str | None:
    """How a +1 mV artefact on the left-arm electrode shows in the 12 leads (``[12]``, order ``STANDARD_LEADS``),
    to two decimals."""
    problem = vector(answer, _LEFT_ARM, tol=0.01, names=STANDARD_LEADS, what="your 12 leads")
    if problem is None:
        return None
    a = as_vector(answer, 12)
    chest_wrong = bool(((a[6:] - _LEFT_ARM[6]).abs() > 0.01).any())
    limb_wrong = bool(((a[:6] - torch.tensor(_LEFT_ARM[:6], dtype=torch.float64)).abs() > 0.01).any())
    if chest_wrong and not limb_wrong:
        return problem + " The limb leads are right; for the chest leads remember what the Wilson terminal averages."
    return problem + " Write each wrong lead as a difference of electrode potentials again."
