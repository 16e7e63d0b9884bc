"""Exercises of notebook 00 (course map): ``nb00.hint(k)``, ``nb00.hint(k, level=2)``, ``nb00.reveal(k)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lessonlib.exercises import Notebook, choice, number

__all__ = ["EX", "hint", "reveal", "check_ecg_units", "check_cxr_label_preserving", "CXR_OPTIONS"]

EX = Notebook("00")
hint, reveal = EX.hint, EX.reveal


@EX.exercise(
    1,
    "ECG units",
    difficulty="easy",
    hints=(
        "A stored sample is a count, not a voltage: the channel definition says how many µV one count is.",
        "Multiply the stored integer by the sensitivity to get µV, then convert µV to mV (1 mV = 1000 µV).",
    ),
    solution=800 * 1.25 / 1000,
    explanation=(
        "800 counts × 1.25 µV per count = 1000 µV = 1.0 mV. Augmentation amplitudes (noise, wander) are "
        "specified in mV, so the stored integers must be converted first."
    ),
    wrong=[1000, 800, 0.8, 0.001, 640, True, "1"],
    variants=[1, np.float32(1.0), torch.tensor(1.0, dtype=torch.float64), 1.001],
    secrets=("1.0 mV", "= 1 mV", "1000 µV"),
)
def check_ecg_units(answer_mv: Any) -> str | None:
    """A stored sample of 800 with ChannelSensitivity 1.25 µV per unit, in mV."""
    return number(
        answer_mv,
        800 * 1.25 / 1000,
        tol=0.005,
        what="your value in mV",
        mistakes={
            1000.0: "that is the value in µV; the question asks for millivolts.",
            800.0: "that is the stored count itself: neither the sensitivity nor the unit has been applied.",
            0.8: "the unit conversion is there, but the channel sensitivity (µV per count) is missing.",
            0.001: "you divided by 1000 twice: the sensitivity already gives µV, one conversion to mV is enough.",
            640.0: "dividing by the sensitivity inverts it: it says how many µV one stored count is worth.",
            0.64: "dividing by the sensitivity inverts it: it says how many µV one stored count is worth.",
        },
    )


CXR_OPTIONS = {
    "rotation ±5°": "patients are never perfectly straight on the detector; the finding is unchanged",
    "mild window/level change": "mimics exposure and processing differences between machines",
    "zoom crop keeping the whole chest": "field of view varies; the heart border stays in view",
    "horizontal flip": (
        "the cardiothoracic ratio does not change when the film is mirrored, so the label is kept; the "
        "mirrored chest is rare anatomy (situs inversus), so whether it helps is an empirical question, and "
        "it would change a laterality label (left vs right lung) and the side marker"
    ),
    "vertical flip": "no radiograph is acquired upside down; the model would learn an impossible anatomy",
    "crop that can cut off the heart border": (
        "cardiomegaly is judged from the heart border; removing it removes the evidence for the label"
    ),
    "hue jitter": "a radiograph has no hue: it is one channel of density, so hue jitter is meaningless or a bug",
}
_CXR_KEY = {"rotation ±5°", "mild window/level change", "zoom crop keeping the whole chest", "horizontal flip"}


@EX.exercise(
    2,
    "CXR label preservation",
    difficulty="easy",
    hints=(
        "For each transform ask two things: would a radiologist still call cardiomegaly, and could a "
        "detector record that picture at all, however rarely?",
        "Cardiomegaly is a ratio of widths (heart to chest). Which transforms change that ratio or remove the "
        "heart border, and which produce something no detector records? Mirroring keeps the ratio.",
    ),
    solution=_CXR_KEY,
    explanation=(
        "Small rotations, window/level changes and zooms that keep the chest mimic real acquisition variation. "
        "A horizontal flip keeps the cardiothoracic ratio and so the label; a mirrored chest is rare "
        "(situs inversus), so it is off-distribution and its benefit must be measured (CheXNet-style training "
        "did flip); it is wrong only for laterality findings and side markers. A vertical flip is an "
        "impossible acquisition, a crop through the heart border removes the evidence, and a radiograph has "
        "no hue."
    ),
    wrong=[
        {"rotation ±5°", "mild window/level change", "zoom crop keeping the whole chest"},
        _CXR_KEY | {"vertical flip"},
        _CXR_KEY | {"hue jitter"},
        {"rotation ±5°", "horizontal flip", "crop that can cut off the heart border"},
        "rotation ±5°",
        set(),
    ],
    variants=[sorted(_CXR_KEY), tuple(_CXR_KEY), frozenset(_CXR_KEY)],
)
def check_cxr_label_preserving(answer: Any) -> str | None:
    """Which transforms keep a cardiomegaly label on a PA chest radiograph (and give a plausible film)?"""
    return choice(
        answer,
        _CXR_KEY,
        CXR_OPTIONS,
        missing_hint="Look again at the transforms that leave the heart-to-chest width ratio as it was.",
    )
