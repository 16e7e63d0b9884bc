"""Notebook 08's exercises: every model solution passes, every recorded mistake fails without the answer."""

from __future__ import annotations

import pytest
import torch

from lessonlib.exercises import nb08

EXERCISES = sorted(nb08.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


@pytest.mark.parametrize("k", EXERCISES)
def test_model_solution_and_variants_pass(k):
    ex = nb08.EX[k]
    assert ex.checker(ex.solution, must_pass=True).outcome == "PASS"
    for v in ex.variants:
        assert ex.checker(v).outcome == "PASS", v


@pytest.mark.parametrize("k", EXERCISES)
def test_mistakes_fail_without_giving_the_answer(k):
    ex = nb08.EX[k]
    assert ex.wrong
    for w in ex.wrong:
        fb = ex.checker(w)
        assert fb.outcome == "TRY AGAIN", (w, fb)
        for secret in ex.secrets:
            assert secret not in fb.message


@pytest.mark.parametrize("k", EXERCISES)
def test_placeholder_is_not_attempted_and_help_works(k):
    ex = nb08.EX[k]
    assert ex.checker(...).outcome == "NOT ATTEMPTED"
    assert nb08.hint(k) and nb08.hint(k, level=2) != nb08.hint(k)
    assert ex.explanation in nb08.reveal(k)


def test_safe_ops_feedback_never_names_a_missed_option():
    fb = nb08.check_safe_ops({"Identity"})
    assert fb.outcome == "TRY AGAIN" and "5 correct options are missing" in fb.message
    for option in ("Rotate ±10°", "Sharpness", "Contrast ±25%"):
        assert option not in fb.message


def test_two_op_step_learner_errors_and_none_are_reported_as_theirs():
    def broken(x, op, magnitude):
        return x.float() @ torch.zeros(3)

    def forgot_return(x, op, magnitude):
        x.clone()

    assert nb08.check_two_op_step(broken).outcome == "ERROR IN YOUR CODE"
    assert nb08.check_two_op_step(forgot_return).outcome == "RETURNED NONE"


def test_two_op_step_solution_matches_the_library_policy_kernels():
    from lessonlib.policies import apply_op

    x, op, m = nb08._batch(7)
    mine = nb08._solution_two_op_step(x, op, m)
    for k, name in ((0, "Brightness"), (1, "Solarize")):
        sel = op == k
        assert torch.equal(mine[sel], apply_op(x[sel], name, m[sel]))
