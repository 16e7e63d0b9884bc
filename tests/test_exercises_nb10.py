"""Notebook 10\'s exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import math

import torch

from lessonlib import selfsup
from lessonlib.exercises import nb10

EXERCISES = sorted(nb10.EX.exercises)


def test_four_exercises_registered():
    assert EXERCISES == [1, 2, 3, 4]


def test_toy_answer_is_the_library_loss():
    z1, z2 = torch.tensor(nb10.TOY_Z1), torch.tensor(nb10.TOY_Z2)
    assert math.isclose(float(selfsup.nt_xent(z1, z2, temperature=1.0)), nb10.EX[1].solution, abs_tol=1e-4)


def test_each_function_mutant_gets_its_own_hint():
    messages = {nb10.check_nt_xent_function(bug).message for bug in nb10.EX[4].wrong}
    assert len(messages) == len(nb10.EX[4].wrong)


def test_learner_errors_and_none_are_reported_as_theirs():
    def broken(z1, z2, tau):
        return torch.cat([z1, z2], dim=2)  # there is no dim 2 in [B, D]

    assert nb10.check_nt_xent_function(broken).outcome == "ERROR IN YOUR CODE"

    def forgot_return(z1, z2, tau):
        torch.nn.functional.normalize(z1, dim=1)

    assert nb10.check_nt_xent_function(forgot_return).outcome == "RETURNED NONE"


def test_choice_feedback_never_names_a_missed_option():
    fb = nb10.check_ecg_views({nb10.ECG_VIEWS[0]})
    assert fb.outcome == "TRY AGAIN" and "2 correct options are missing" in fb.message
    for option in nb10.ECG_VIEWS[1:3]:
        assert option not in fb.message
    # two windows of one recording keep the rhythm label but share the patient's QRS shape: a shortcut
    # (notebook 10 section 5), so picking it is explained as a wrong pick, never accepted
    fb = nb10.check_ecg_views(set(nb10.ECG_VIEWS[:4]))
    assert fb.outcome == "TRY AGAIN" and "1 of your picks does not belong" in fb.message
    # with no more picks than needed, the wrong pick's reason is given: the shared QRS shape
    fb = nb10.check_ecg_views({*nb10.ECG_VIEWS[:2], nb10.ECG_VIEWS[3]})
    assert fb.outcome == "TRY AGAIN" and "QRS shape" in fb.message
    fb = nb10.check_fixmatch_statements(set())
    assert fb.outcome == "TRY AGAIN"
    for s in nb10.FIXMATCH_STATEMENTS[:4]:
        assert s not in fb.message


def test_the_reference_shown_in_the_notebook_does_not_pass_exercise_4():
    """Section 1 shows reference.selfsup.nt_xent (a loop over anchors); exercise 4 asks for the batched
    variation, so copying the reference is caught by the op count, and batched answers are not."""
    from lessonlib.reference import selfsup as reference

    result = nb10.check_nt_xent_function(lambda z1, z2, tau: reference.nt_xent(z1, z2, tau))
    assert not result.passed and "loops over anchors" in result.message
    assert nb10.check_nt_xent_function(lambda z1, z2, tau: selfsup.nt_xent(z1, z2, temperature=tau)).passed


def test_every_exercise_has_a_difficulty():
    assert {k: nb10.EX[k].difficulty for k in EXERCISES} == {1: "easy", 2: "medium", 3: "medium", 4: "hard"}


def test_an_error_names_the_probe_that_raised_it():
    """Issue 34: an ERROR reply of 10.4 says which probe was running, so a learner whose function only
    fails on some inputs (here float64) knows where to look."""

    def float32_only(z1, z2, tau):
        if z1.dtype == torch.float64:
            raise RuntimeError("expected a float32 tensor")
        return selfsup.nt_xent(z1, z2, temperature=tau)

    fb = nb10.check_nt_xent_function(float32_only)
    assert fb.outcome == "ERROR IN YOUR CODE"
    assert "8 pairs, D = 3, τ = 0.1, float64" in fb.message and "expected a float32 tensor" in fb.message
