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
    assert "98" not in exercises.registered_notebooks()  # a scratch registry never joins the course's bank


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
    msg = choice({"a", "c"}, {"a", "b"}, options)
    assert "1 of your picks does not belong" in msg and "1 correct option is missing" in msg
    assert "why c is wrong" in msg and "why d is wrong" not in msg and "'b'" not in msg
    msg = choice({"a", "c", "d"}, {"a", "b"}, options)  # more picks than needed: counts only, no reason
    assert "2 of your picks do not belong" in msg and "why c" not in msg and "why d" not in msg
    with pytest.raises(exercises.FormatError, match=r"'bb' is not one of the options; check the spelling"):
        choice({"a", "bb"}, {"a", "b"}, options)
    assert choice(["b", "a"], {"a", "b"}, options) is None


MENU = {
    "horizontal flip": "a chest film's heart is on the left",
    "small rotation": "patients are positioned a few degrees off",
    "brightness jitter": "exposure varies between machines",
    "vertical flip": "no film is taken upside down",
    "cutout of the lung": "it removes the finding",
    "strong shear": "anatomy is not sheared",
    "grayscale": "a radiograph has one channel already",
}
RIGHT = {"small rotation", "brightness jitter", "grayscale"}


def _named_in(message: str) -> list[str]:
    return [o for o in MENU if repr(o) in message]


@pytest.mark.parametrize("grader", ["choice", "grade_choice"])
def test_picking_everything_and_dropping_what_the_reply_names_cannot_pass(grader, capsys):
    """The attack from issue 34 (08.1 passed in 7 tries): start from every option and drop whichever option
    each reply names. Without the fix each reply named one wrong pick and the loop reached PASS."""
    picks = set(MENU)
    for _ in range(len(MENU) + 1):
        if grader == "choice":
            msg = choice(picks, RIGHT, MENU)
            passed = msg is None
        else:
            fb = exercises.grade_choice("g.1", picks, RIGHT, options=MENU)
            msg, passed = fb.message, fb.outcome == PASS
        assert not passed, "the superset attack reached PASS"
        named = _named_in(msg)
        if not named:
            break
        picks -= set(named)
    assert not _named_in(msg), "a reply to a selection wider than the answer named an option"
    # a genuine attempt of the answer's size still gets one reason
    msg = choice({"small rotation", "brightness jitter", "vertical flip"}, RIGHT, MENU)
    assert _named_in(msg) == ["vertical flip"] and MENU["vertical flip"] in msg


@pytest.mark.parametrize(
    "variant",
    [
        {"Small Rotation", "brightness  jitter", "GRAYSCALE"},
        [" small rotation ", "Brightness Jitter", "grayscale"],
        ("ＳＭＡＬＬ rotation", "brightness jitter", "Grayscale"),
    ],
)
def test_exercise_options_match_in_any_case_and_spacing(variant):
    assert choice(variant, RIGHT, MENU) is None
    fb = exercises.grade_choice("g.1", variant, RIGHT, options=MENU)
    assert fb.outcome == PASS


def test_letters_match_only_where_options_are_shown_with_letters():
    keys = list(MENU)
    assert exercises.match_option("B", keys, letters=True) == "small rotation"
    assert exercises.match_option("b", keys) is None  # exercise menus are shown by name, not by letter
    assert exercises.match_option("b", ["a", "b"], letters=True) == "b"  # one-letter options are texts
    assert exercises.match_option("  HORIZONTAL   flip", keys) == "horizontal flip"


def test_an_error_names_the_probe_that_was_running(capsys):
    """ERROR replies used to say only what raised; they now name the probe (02.4, 08.3, 10.4 in issue 34)."""
    probes = [
        ("returns a tensor", lambda f: None if isinstance(f(torch.ones(2)), torch.Tensor) else "not a tensor"),
        ("handles an empty batch", lambda f: None if f(torch.ones(0)).numel() == 0 else "wrong size"),
    ]

    def fails_on_empty(x):
        if x.numel() == 0:
            raise IndexError("index 0 is out of bounds")
        return x

    fb = exercises.grade_function("g.4", fails_on_empty, probes)
    assert fb.outcome == ERROR
    assert "while checking 'handles an empty batch'" in fb.message and "IndexError" in fb.message

    def returns_none(x):
        _ = x + 1

    fb = exercises.grade_function("g.4", returns_none, probes)
    assert fb.outcome == RETURNED_NONE and "while checking 'returns a tensor'" in fb.message

    def transform_that_raises(x):
        return exercises.learner(lambda t: t.no_such_method(), "your transform")

    probe = [("the transform runs", lambda f: None if f(0)(torch.ones(1)) is not None else "x")]
    fb = exercises.grade_function("g.5", transform_that_raises, probe)
    assert fb.outcome == ERROR and "while checking 'the transform runs'" in fb.message


def test_02_4_reports_strong_colour_jitter_as_colour_not_as_a_mismatch(capsys):
    """Issue 34: a fundus preset whose only fault is strong colour jitter was told that train and eval
    disagree (the consistency probe ran first and saw the jitter's spread); a normalisation mismatch is
    still reported as a mismatch."""
    from torchvision.transforms import v2

    from lessonlib import presets
    from lessonlib.exercises import nb02

    def strong_jitter(train, size=224):
        steps = [presets.CheckImage("fundus", 3, size), v2.ToImage(), presets.ToUnitFloat()]
        steps += [v2.Resize(size, antialias=True), v2.CenterCrop(size)]
        if train:
            steps += [v2.RandomRotation(180), v2.ColorJitter(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.3)]
        return v2.Compose(steps + [v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD)])

    fb = nb02.check_fundus_preset(strong_jitter)
    assert fb.outcome == TRY_AGAIN and "colour jitter is strong" in fb.message, fb.message
    assert "disagree" not in fb.message
    fb = nb02.check_fundus_preset(nb02._bug_train_unnormalised)
    assert fb.outcome == TRY_AGAIN and "train and eval disagree" in fb.message, fb.message


def test_every_exercise_of_the_helpers_notebooks_has_a_difficulty():
    mine = {"00", "01", "02", "03", "04", "05", "06", "07", "11", "12", "13"}
    missing = [ex.name for ex in ALL if ex.notebook in mine and ex.difficulty not in ("easy", "medium", "hard")]
    assert not missing, f"exercises without a difficulty: {missing}"


def test_cases_reports_the_first_failing_probe():
    probes = [("first", lambda f: None), ("second", lambda f: "broken"), ("third", lambda f: "never reached")]
    assert cases(lambda: None, probes) == "second: broken"
