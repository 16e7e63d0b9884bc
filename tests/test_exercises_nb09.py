"""Notebook 09\'s exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import pytest

from lessonlib.exercises import nb09

EXERCISES = sorted(nb09.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


def test_leaks_feedback_never_names_a_missed_step():
    fb = nb09.check_leaky_steps({"B"})
    assert fb.outcome == "TRY AGAIN" and "3 correct options are missing" in fb.message
    for step in "CDF":
        assert f"'{step}'" not in fb.message


def test_splits_feedback_names_no_option():
    fb = nb09.check_splits({k: "random rows" for k in nb09.SCENARIOS})
    assert fb.outcome == "TRY AGAIN"
    for option in nb09.SPLIT_OPTIONS:
        assert option not in fb.message
    assert nb09.check_splits({"holter": "group by patient"}).outcome == "TRY AGAIN"
    assert "not in SPLIT_OPTIONS" in nb09.check_splits({k: "by patient" for k in nb09.SCENARIOS}).message


def test_cross_pairs_learner_errors_are_reported_as_theirs():
    def broken(n, c, f):
        return n / 0

    def forgot_return(n, c, f):
        n * c

    assert nb09.check_cross_pairs(broken).outcome == "ERROR IN YOUR CODE"
    assert nb09.check_cross_pairs(forgot_return).outcome == "RETURNED NONE"
    assert nb09.check_cross_pairs(lambda n, c, f: "many").outcome == "TRY AGAIN"


def test_cross_pairs_matches_a_simulation():
    import torch

    n, c, f = 300, 3, 0.3
    g = torch.Generator().manual_seed(0)
    test = torch.rand(200, n, c + 1, generator=g) < f  # 200 simulated splits
    k = test.sum(-1)
    split_pairs = (k * (c + 1 - k)).sum((1,)).double()  # pairs with one member on each side
    assert float(split_pairs.mean()) == pytest.approx(nb09.EX[3].solution(n, c, f), rel=0.02)
