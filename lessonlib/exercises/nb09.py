"""Exercises of notebook 09 (augmentation and honest evaluation), declared with the course registry.

``nb09.hint(k)``, ``nb09.hint(k, level=2)`` and ``nb09.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import math

import numpy as np

from lessonlib.exercises import Notebook, WrongAnswer, as_number, cases, choice

__all__ = [
    "EX",
    "hint",
    "reveal",
    "PIPELINE_STEPS",
    "SPLIT_OPTIONS",
    "SCENARIOS",
    "check_leaky_steps",
    "check_splits",
    "check_cross_pairs",
]

EX = Notebook("09")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 09.1 Find the leaks in a pipeline
# ---------------------------------------------------------------------------------------------

PIPELINE_STEPS = {
    "A": "load 2,000 chest films from 700 patients",
    "B": "make 5 augmented copies of every film (small rotations, brightness)",
    "C": "z-score the pixels with the mean and std of all 12,000 films",
    "D": "split the films 80/20 at random into train and test",
    "E": "oversample the rare class in the training split with SMOTE on image embeddings",
    "F": "train; keep the augmentation strength with the best test AUC out of 6 tried",
    "G": "report that test AUC",
}
#: Why each step does or does not leak (shown for a wrong pick only).
_STEP_REASONS = {
    "A": "loading the data is not an evaluation decision",
    "B": "copies made before the split are relatives of each other",
    "C": "statistics computed over every film include the test films",
    "D": "a random split of films can put one patient's films on both sides",
    "E": "oversampling after the split, on the training side only, is the honest order",
    "F": "a choice made by looking at the test set",
    "G": "reporting is where a leak shows, not where it happens",
}
_LEAKY = frozenset({"B", "C", "D", "F"})


def _solution_leaks() -> set[str]:
    return set(_LEAKY)


@EX.exercise(
    1,
    "find the leaks",
    difficulty="easy",
    hints=(
        "A leak is any step where information about the test films reaches training or the choice of "
        "model. For each step ask: does it run before the split on every film, or does it look at the test set?",
        "Three steps act on all films before the split (or are the split itself); one uses the test set to "
        "choose. Oversampling the training split only is fine.",
    ),
    solution=set(_LEAKY),
    explanation="B + D: copies made before a random split land on both sides, and a split of films rather "
    "than patients puts one patient's films on both sides. C: the mean and std of all films include the "
    "test films. F: picking the strength on the test set makes the reported AUC (G) the best of 6 noisy "
    "numbers. E is honest: SMOTE on the training split only.",
    wrong=[{"B", "D"}, {"B", "C", "D"}, {"B", "C", "D", "E", "F"}, {"C"}, "G"],
    variants=[["F", "D", "C", "B"], ("b", "c", "d", "f"), "B C D F"],
    secrets=("{'B', 'C', 'D', 'F'}",),
)
def check_leaky_steps(answer):
    """Which steps (letters of ``PIPELINE_STEPS``) let test information into training or model choice?"""
    if isinstance(answer, str):
        answer = answer.replace(",", " ").split()
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise WrongAnswer(f"expected a set of step letters such as {{'A'}}, got {type(answer).__name__}")
    picked = {str(a).strip().upper() for a in answer}
    return choice(
        picked,
        _LEAKY,
        _STEP_REASONS,
        missing_hint="Follow one patient's film through every step, and ask which steps see the test films.",
        what="your steps",
    )


# ---------------------------------------------------------------------------------------------
# 09.2 Pick the right split
# ---------------------------------------------------------------------------------------------

SPLIT_OPTIONS = ("random rows", "group by patient", "group by site", "time blocks with a gap")
SCENARIOS = {
    "dermatology": "4,000 lesion photos of 1,100 patients, several photos per lesion; deploy to new patients",
    "holter": "one 24-hour recording per patient cut into 10-s windows; deploy to new patients' recordings",
    "sepsis": "hourly lab rows of 900 ICU stays from 2019-2023; raise alerts for next year's admissions",
    "multisite": "films from 5 hospitals; does the model work at a hospital it never saw?",
}
_RIGHT = {
    "dermatology": "group by patient",
    "holter": "group by patient",
    "sepsis": "time blocks with a gap",
    "multisite": "group by site",
}
_SCENARIO_HINTS = {
    "dermatology": "photos of one lesion are near-duplicates: which unit must never sit on both sides?",
    "holter": "windows of one recording overlap and share one heart: what will the deployed model meet new?",
    "sepsis": "deployment is in the future, and rows of one stay are correlated in time",
    "multisite": "the question is about a hospital the model never saw",
}


@EX.exercise(
    2,
    "pick the split",
    difficulty="medium",
    hints=(
        "For each data set ask: what will the deployed model meet that it has never seen? That unit is the group.",
        "New patients: keep each patient on one side. An unseen hospital: hold a whole hospital out. "
        "The future: hold out the latest period, with a gap so no stay straddles it.",
    ),
    solution=dict(_RIGHT),
    explanation="Split by what is new at deployment: patients for dermatology and Holter (photos of one "
    "lesion and windows of one recording are relatives), a whole hospital for the multisite question, and "
    "time for sepsis alerts (train on earlier years, test on the latest, with a gap so no stay straddles it).",
    wrong=[
        {k: "random rows" for k in _RIGHT},
        {**_RIGHT, "holter": "time blocks with a gap"},
        {**_RIGHT, "multisite": "group by patient"},
        {**_RIGHT, "sepsis": "group by patient"},
    ],
    variants=[dict(reversed(list(_RIGHT.items()))), {k: f" {v.upper()} " for k, v in _RIGHT.items()}],
    secrets=(),
)
def check_splits(answer):
    """``{scenario: split}`` for every key of ``SCENARIOS``, each split one of ``SPLIT_OPTIONS``."""
    if not isinstance(answer, dict):
        raise WrongAnswer(f"expected a dict {{scenario: split}}, got {type(answer).__name__}")
    missing = [s for s in SCENARIOS if s not in answer]
    if missing:
        return f"answer every scenario; still missing {missing}."
    unknown = [s for s in answer if s not in SCENARIOS]
    if unknown:
        return f"{unknown[0]!r} is not one of the scenarios {list(SCENARIOS)}."
    picked = {s: str(v).strip().lower() for s, v in answer.items()}  # case and spaces do not matter
    off_menu = [answer[s] for s, v in picked.items() if v not in SPLIT_OPTIONS]
    if off_menu:
        return f"{off_menu[0]!r} is not in SPLIT_OPTIONS; copy an option exactly."
    wrong = [s for s in SCENARIOS if picked[s] != _RIGHT[s]]
    if not wrong:
        return None
    return f"{len(wrong)} of {len(SCENARIOS)} not right yet. " + "; ".join(f"{s}: {_SCENARIO_HINTS[s]}" for s in wrong)


# ---------------------------------------------------------------------------------------------
# 09.3 Expected relative pairs across a random split
# ---------------------------------------------------------------------------------------------


def _expected_pairs(n_sources, copies, test_fraction):
    versions = copies + 1
    pairs_per_source = versions * (versions - 1) / 2
    return n_sources * pairs_per_source * 2 * test_fraction * (1 - test_fraction)


def _half_pairs(n_sources, copies, test_fraction):  # mistake: only "this one in test, that one in train"
    versions = copies + 1
    return n_sources * versions * (versions - 1) / 2 * test_fraction * (1 - test_fraction)


def _ordered_pairs(n_sources, copies, test_fraction):  # mistake: ordered pairs counted twice
    versions = copies + 1
    return n_sources * versions * (versions - 1) * 2 * test_fraction * (1 - test_fraction)


def _copies_only(n_sources, copies, test_fraction):  # mistake: forgot the original is a version too
    return n_sources * copies * (copies - 1) / 2 * 2 * test_fraction * (1 - test_fraction)


def _test_rows(n_sources, copies, test_fraction):  # mistake: counted test rows, not pairs
    return n_sources * (copies + 1) * test_fraction


_CASES = [(100, 4, 0.3), (1797, 4, 0.2), (50, 1, 0.5), (10, 0, 0.3), (200, 9, 0.1)]


def _probe(n: int, c: int, f: float):
    def probe(fn) -> str | None:
        value = as_number(fn(n, c, f), "the expected number of pairs")
        want = _expected_pairs(n, c, f)
        if math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-9):
            return None
        if c == 0:
            return "with no copies a source has no relatives, so no pair can cross the split"
        if math.isclose(value, _half_pairs(n, c, f), rel_tol=1e-6):
            return "about half of it: a pair is split whichever of its two members is the test one"
        if math.isclose(value, _ordered_pairs(n, c, f), rel_tol=1e-6):
            return "too large by a factor: count each unordered pair of versions once"
        if math.isclose(value, _copies_only(n, c, f), rel_tol=1e-6):
            return "too small: the original is one of the versions too"
        direction = "too large" if value > want else "too small"
        return f"{direction}: count the pairs among one source's versions, times the chance one pair is split"

    return probe


@EX.exercise(
    3,
    "relative pairs across the split",
    difficulty="hard",
    hints=(
        "One source has copies + 1 versions, so how many unordered pairs of versions? With each version "
        "sent to test independently, what is the chance that one given pair is split?",
        "Pairs per source: C(copies + 1, 2). A pair is split when one member is in test and the other in "
        "train, either way round: 2 f (1 - f).",
    ),
    solution=_expected_pairs,
    explanation="Each source has C(m + 1, 2) = (m + 1) m / 2 pairs of versions, each split with probability "
    "2 f (1 - f); in all n (m + 1) m f (1 - f). For ECG200 with 4 copies and f = 0.3: 200 x 5 x 4 x 0.21 = "
    "840 pairs that a nearest-neighbour model can exploit.",
    wrong=[_half_pairs, _ordered_pairs, _copies_only, _test_rows],
    variants=[
        lambda n, c, f: n * (c + 1) * c * f * (1 - f),
        lambda n, c, f: np.float32(n * math.comb(c + 1, 2) * 2 * f * (1 - f)),
    ],
    what="expected_cross_pairs",
)
def check_cross_pairs(fn):
    """``fn(n_sources, copies, test_fraction)`` -> expected number of same-source pairs split apart.

    Each source has ``copies + 1`` versions; each version goes to the test side independently with
    probability ``test_fraction``. Probed on five cases (the no-copies case included).
    """
    return cases(fn, [(f"n_sources={n}, copies={c}, test_fraction={f}", _probe(n, c, f)) for n, c, f in _CASES])
