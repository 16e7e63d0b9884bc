"""Checkers for notebook 03 (ECG and tabular clinical augmentation in physical units)."""

from __future__ import annotations

import math
from typing import Any

import torch

from lessonlib.ecg import STANDARD_LEADS, band_power_fraction
from lessonlib.exercises import Feedback, check_choice, check_function, check_tensor, is_placeholder, report

__all__ = [
    "NOISE_OPTIONS",
    "check_noise_features",
    "check_wander",
    "check_time_scale_labels",
    "check_left_arm_artefact",
]

NOISE_OPTIONS = {
    "age (years)": "a continuous quantity (integer-valued: add noise, round, keep it >= 0)",
    "BMI (kg/m^2)": "continuous; noise of a few per cent of its spread is a plausible re-measurement",
    "serum cholesterol (mg/dL)": "continuous lab value with real measurement error",
    "sex (coded 1/2)": "binary: 1.37 is not a patient; never add noise (dropping it to missing is allowed)",
    "blood group (coded 0-3)": "categorical: codes have no order or distance, so noise turns A into B",
    "smoker (yes/no)": "binary: noise creates impossible half-smokers",
}


def check_noise_features(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 03.1: which of these clinical features may receive Gaussian noise?"""
    expected = {"age (years)", "BMI (kg/m^2)", "serum cholesterol (mg/dL)"}
    return check_choice("03.1 which features get noise", answer, expected, options=NOISE_OPTIONS, must_pass=must_pass)


def _wander_probe(fs: float, seconds: float):
    def probe(fn) -> str | None:
        n = int(round(seconds * fs))
        x = torch.zeros(2, n)
        before = x.clone()
        y = fn(x, fs)
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            return f"expected a tensor shaped {tuple(x.shape)}, got {got}"
        if not torch.equal(x, before):
            return "the input was modified in place; return x + wander instead"
        w = (y - x).double()
        if float(w.abs().max()) < 1e-3:
            return "nothing was added (the wander is all zeros)"
        if float(w.abs().max()) > 2.0:
            return f"peak amplitude {float(w.abs().max()):.3g} mV is not physiological wander (expect < 1 mV)"
        frac = band_power_fraction(w, fs, 0.0, 1.0)
        if float(frac.min()) < 0.95:
            return f"only {float(frac.min()):.0%} of the added power lies below 1 Hz"
        f = torch.fft.rfftfreq(n, d=1.0 / fs, dtype=torch.float64)
        peak = float(f[torch.fft.rfft(w[0] - w[0].mean()).abs().argmax()])
        if abs(peak - 0.3) > 1.5 * fs / n:
            return (
                f"the spectral peak is at {peak:.3g} Hz, not 0.3 Hz; the frequency must be in Hz "
                "(t = n / fs seconds), not in cycles per record"
            )
        return None

    return probe


def check_wander(fn: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 03.2: ``fn(x, fs) -> x + wander`` with wander at 0.3 Hz, checked by its spectrum.

    Probed on 10-s and 20-s records at 250 Hz and a 10-s record at 500 Hz, so a frequency written in
    cycles per record or in cycles per sample fails.
    """
    cases = [
        ("10-s record at 250 Hz", _wander_probe(250.0, 10.0)),
        ("20-s record at 250 Hz", _wander_probe(250.0, 20.0)),
        ("10-s record at 500 Hz", _wander_probe(500.0, 10.0)),
    ]
    return check_function("03.2 wander at 0.3 Hz", fn, cases, must_pass=must_pass)


def check_time_scale_labels(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 03.3: a 75 bpm record with QT = 400 ms, stretched in time by 1.2: ``(new bpm, new QT ms)``."""
    name = "03.3 time scaling changes labels"
    if is_placeholder(answer):
        return report(name, None, "replace the `...` with (heart_rate_bpm, qt_ms).", must_pass=must_pass)
    try:
        hr, qt = (float(v) for v in answer)
    except (TypeError, ValueError):
        return report(name, False, f"expected a pair (heart_rate_bpm, qt_ms), got {answer!r}.", must_pass=must_pass)
    want_hr, want_qt = 75.0 / 1.2, 400.0 * 1.2
    problems = []
    if not math.isclose(hr, want_hr, rel_tol=0.01):
        problems.append(
            f"heart rate {hr:.4g} bpm is wrong: stretching by 1.2 makes every RR interval 1.2x longer, "
            "so the rate is divided by 1.2"
        )
    if not math.isclose(qt, want_qt, rel_tol=0.01):
        problems.append(f"QT {qt:.4g} ms is wrong: every interval, QT included, is multiplied by 1.2")
    if problems:
        return report(name, False, "; ".join(problems) + ".", must_pass=must_pass)
    return report(
        name,
        True,
        f"{want_hr:.1f} bpm and {want_qt:.0f} ms. Even rate-corrected (Bazett, QTc = QT / sqrt(RR)), QTc goes "
        "from 447 ms to 490 ms: a normal record became a 'prolonged QT' one, so the label changed.",
        must_pass=must_pass,
    )


def check_left_arm_artefact(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 03.4: how a +1 mV artefact on the left-arm electrode shows in the 12 leads (``[12]``)."""
    ra, la, ll = 0.0, 1.0, 0.0
    wct = (ra + la + ll) / 3
    expected = torch.tensor(
        [la - ra, ll - ra, ll - la, ra - (la + ll) / 2, la - (ra + ll) / 2, ll - (ra + la) / 2] + [-wct] * 6,
        dtype=torch.float64,
    )
    if not is_placeholder(answer) and not isinstance(answer, torch.Tensor):
        try:
            answer = torch.as_tensor(answer, dtype=torch.float64)
        except (TypeError, ValueError):
            pass
    return check_tensor(
        "03.4 left-arm artefact",
        answer,
        expected,
        atol=1e-3,
        hint=f"leads in order {STANDARD_LEADS}; write each lead as a difference of electrode potentials "
        "(I = LA - RA, aVL = LA - (RA + LL)/2, Vi = Vi_electrode - (RA + LA + LL)/3).",
        must_pass=must_pass,
    )
