"""Every registered exercise of every notebook: the model solution passes, right answers written otherwise
pass, recorded wrong answers fail without giving the answer away, and the engine's outcomes are distinct.

The exercises are found through ``lessonlib.exercises.registered_notebooks()``, so a new ``nbNN`` module is
tested as soon as it declares its exercises with a ``Notebook`` registry.
"""

from __future__ import annotations

import pytest
import torch

from lessonlib import exercises
from lessonlib.exercises import (
    CHECKER_BUG,
    ERROR,
    NOT_ATTEMPTED,
    PASS,
    RETURNED_NONE,
    TRY_AGAIN,
    ExerciseFailed,
    Notebook,
    cases,
    choice,
    number,
)

REGISTRY = exercises.registered_notebooks()
ALL = [ex for nb in REGISTRY.values() for ex in nb.exercises.values()]
IDS = [f"{ex.notebook}.{ex.number}" for ex in ALL]


def _args(ex):
    return ex.solution_args() if ex.solution_args else ()


def test_every_notebook_declares_its_exercises():
    from lessonlib.dev.notebook_files import notebook_paths

    notebooks = {p.name[:2] for p in notebook_paths()}
    assert len(notebooks) >= 14 and notebooks <= set(REGISTRY), f"no registry for {sorted(notebooks - set(REGISTRY))}"
    for nb in REGISTRY.values():
        assert nb.exercises, f"notebook {nb.notebook} registers no exercise"
        assert sorted(nb.exercises) == list(range(1, len(nb.exercises) + 1)), "exercises are numbered 1, 2, ..."


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_model_solution_passes(ex, capsys):
    fb = ex.checker(ex.solution, *_args(ex), must_pass=True)
    assert fb.outcome == PASS
    out = capsys.readouterr().out
    for secret in ex.secrets:
        assert secret not in out, f"the PASS line of {ex.name} quotes the answer ({secret!r})"


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_variants_written_otherwise_pass(ex):
    assert len(ex.variants) >= 2, f"{ex.name}: record at least two right answers written differently"
    for v in ex.variants:
        fb = ex.checker(v, *_args(ex))
        assert fb.outcome == PASS, f"{ex.name}: a right answer written otherwise failed: {fb}"


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_wrong_answers_fail_and_never_state_the_answer(ex):
    assert len(ex.wrong) >= 3, f"{ex.name}: record at least three plausible wrong answers"
    for w in ex.wrong:
        fb = ex.checker(w, *_args(ex))
        assert fb.outcome == TRY_AGAIN, f"{ex.name}: wrong answer {w!r:.80} got {fb}"
        for secret in ex.secrets:
            assert secret not in fb.message, f"{ex.name}: feedback on {w!r:.60} gives away {secret!r}: {fb.message}"
        with pytest.raises(ExerciseFailed):
            ex.checker(w, *_args(ex), must_pass=True)


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_placeholder_is_not_attempted_and_help_is_two_levels(ex, capsys):
    assert ex.checker(..., *_args(ex)).outcome == NOT_ATTEMPTED
    nb = REGISTRY[ex.notebook]
    h1, h2 = nb.hint(ex.number), nb.hint(ex.number, level=2)
    assert h1 != h2 and len(h2) >= len(h1) / 2
    for secret in ex.secrets:
        assert secret not in h1, f"{ex.name}: hint 1 gives away {secret!r}"
    shown = nb.reveal(ex.number)
    assert ex.explanation in shown
    with pytest.raises(ValueError, match="level"):
        nb.hint(ex.number, level=3)


def test_function_exercises_tell_the_five_outcomes_apart():
    function_exercises = [ex for ex in ALL if ex.function]
    assert function_exercises

    def stub(*args, **kwargs): ...

    def forgot_return(*args, **kwargs):
        _ = len(args)

    def raises(*args, **kwargs):
        return undefined_name  # noqa: F821 - the learner's NameError

    for ex in function_exercises:
        a = _args(ex)
        assert ex.checker(stub, *a).outcome == NOT_ATTEMPTED, ex.name
        assert ex.checker(lambda *args, **kwargs: ..., *a).outcome == NOT_ATTEMPTED, ex.name
        if not ex.allow_none:
            assert ex.checker(forgot_return, *a).outcome == RETURNED_NONE, ex.name
        fb = ex.checker(raises, *a)
        assert fb.outcome == ERROR and "NameError" in fb.message and "undefined_name" in fb.message, (ex.name, fb)
        assert "lessonlib" not in fb.message


def test_a_fault_in_the_checker_is_reported_as_ours():
    nb = Notebook("98")

    @nb.exercise(1, "broken", hints=("a", "b"), solution=lambda x: x, explanation="e")
    def broken(fn):
        fn(torch.ones(2))
        return torch.ones(2) + torch.ones(3)  # the checker's own bug

    fb = broken(lambda x: x)
    assert fb.outcome == CHECKER_BUG and "bug in lessonlib" in fb.message
    assert fb.passed is False


def test_number_never_states_the_expected_value_and_accepts_every_representation():
    import numpy as np

    assert number(np.float32(0.8594), 0.859375, tol=0.005) is None
    assert number(torch.tensor([0.86], dtype=torch.float16), 0.859375, tol=0.005) is None
    msg = number(0.5, 0.859375, tol=0.005)
    assert "too small" in msg and "0.86" not in msg and "0.859" not in msg
    for bad in (True, "0.86", [0.86, 0.1]):
        with pytest.raises(exercises.WrongAnswer):
            number(bad, 0.86, tol=0.005)


def test_choice_counts_and_explains_one_wrong_pick_only():
    options = {"a": "why a", "b": "why b", "c": "why c is wrong", "d": "why d is wrong"}
    msg = choice({"a", "c", "d"}, {"a", "b"}, options)
    assert "2 of your picks do not belong" in msg and "1 correct option is missing" in msg
    assert "why c is wrong" in msg and "why d is wrong" not in msg and "'b'" not in msg
    assert "spelling" in choice({"a", "bb"}, {"a", "b"}, options)
    assert choice(["b", "a"], {"a", "b"}, options) is None


def test_cases_reports_the_first_failing_probe():
    probes = [("first", lambda f: None), ("second", lambda f: "broken"), ("third", lambda f: "never reached")]
    assert cases(lambda: None, probes) == "second: broken"
