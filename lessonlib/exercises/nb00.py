"""Checkers for notebook 00 (course map)."""

from __future__ import annotations

from typing import Any

from lessonlib.exercises import Feedback, check_choice, check_number

__all__ = ["check_ecg_units", "check_cxr_label_preserving", "CXR_OPTIONS"]


def check_ecg_units(answer_mv: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 00.1: a stored sample of 800 with ChannelSensitivity 1.25 µV per unit, in mV."""
    return check_number(
        "00.1 ECG units",
        answer_mv,
        800 * 1.25 / 1000,
        rel_tol=1e-3,
        hint="value = stored integer × sensitivity (µV per unit); then 1 mV = 1000 µV.",
        must_pass=must_pass,
    )


CXR_OPTIONS = {
    "rotation ±5°": "patients are never perfectly straight on the detector; the finding is unchanged",
    "mild window/level change": "mimics exposure and processing differences between machines",
    "zoom crop keeping the whole chest": "field of view varies; the heart border stays in view",
    "horizontal flip": "moves the heart to the right side: dextrocardia is itself a finding, and L/R markers flip",
    "vertical flip": "no radiograph is acquired upside down; the model would learn an impossible anatomy",
    "crop that can cut off the heart border": (
        "cardiomegaly is judged from the heart border; removing it removes the label"
    ),
    "hue jitter": "a radiograph has no hue: it is one channel of density, so hue jitter is meaningless or a bug",
}


def check_cxr_label_preserving(answer: Any, *, must_pass: bool = False) -> Feedback:
    """Exercise 00.2: which transforms preserve a cardiomegaly label on a PA chest radiograph."""
    expected = {"rotation ±5°", "mild window/level change", "zoom crop keeping the whole chest"}
    return check_choice("00.2 CXR label preservation", answer, expected, options=CXR_OPTIONS, must_pass=must_pass)
