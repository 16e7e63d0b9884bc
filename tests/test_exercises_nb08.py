"""Notebook 08\'s exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import torch

from lessonlib.exercises import nb08

EXERCISES = sorted(nb08.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


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
