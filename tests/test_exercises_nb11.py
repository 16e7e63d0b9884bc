"""Notebook 11's exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import math

import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from lessonlib import dense
from lessonlib.exercises import nb11

EXERCISES = sorted(nb11.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


def test_iou_answer_is_what_the_library_and_torchvision_give():
    """The model answer of 11.1 is the IoU of torchvision's rotated box with the disc's (unchanged) box."""
    box = torch.tensor([[40.0, 40.0, 60.0, 60.0]], dtype=torch.float64)
    tv = TF.rotate(tv_tensors.BoundingBoxes(box, format="XYXY", canvas_size=(100, 100)), 30.0)
    corner = dense.rotate_boxes(box, 30.0, (100, 100))
    torch.testing.assert_close(corner, tv.as_subclass(torch.Tensor))
    assert math.isclose(float(dense.box_iou(corner, box)[0]), nb11.EX[1].solution, abs_tol=1e-4)
    ellipse = dense.rotate_boxes(box, 30.0, (100, 100), method="ellipse")
    assert math.isclose(float(dense.box_iou(ellipse, box)[0]), 1.0, abs_tol=1e-9)


def test_each_function_mutant_gets_its_own_hint():
    messages = {nb11.check_mix_masks(bug).message for bug in nb11.EX[3].wrong}
    assert len(messages) == len(nb11.EX[3].wrong)


def test_learner_errors_and_none_are_reported_as_theirs():
    def broken(m1, m2, lam, k):
        return torch.nn.functional.one_hot(m1.float(), k)  # one_hot needs integers

    assert nb11.check_mix_masks(broken).outcome == "ERROR IN YOUR CODE"

    def forgot_return(m1, m2, lam, k):
        lam * m1 + (1 - lam) * m2

    assert nb11.check_mix_masks(forgot_return).outcome == "RETURNED NONE"


def test_choice_feedback_never_names_a_missed_option():
    fb = nb11.check_mask_steps({nb11.MASK_STEPS[0]})
    assert fb.outcome == "TRY AGAIN" and "3 correct options are missing" in fb.message
    for option in nb11.MASK_STEPS[1:4]:
        assert option not in fb.message


def test_soft_masks_train_like_mixed_cross_entropy():
    """Why the solution is right: CE with the soft masks equals λ CE(m1) + (1 − λ) CE(m2)."""
    g = torch.Generator().manual_seed(0)
    m1, m2 = torch.randint(0, 3, (2, 4, 5), generator=g), torch.randint(0, 3, (2, 4, 5), generator=g)
    logits = torch.randn(2, 3, 4, 5, generator=g)
    soft = nb11.EX[3].solution(m1, m2, 0.3, 3)
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(ce(logits, soft), 0.3 * ce(logits, m1) + 0.7 * ce(logits, m2))
