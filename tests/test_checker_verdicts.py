"""Every checker gives a verdict: whatever a learner types, every registered exercise and every quiz item
answers NOT ATTEMPTED, ERROR IN YOUR CODE, RETURNED NONE, TRY AGAIN or PASS, never CHECKER BUG (our own
fault) and never PASS for a value that is not a right answer; wrong-answer feedback never states the answer.

The values are the ones learners really type (strings, arrays of strings or objects, ``10**400``, complex
numbers, NaN/inf, ``Fraction``/``Decimal``, nested lists, dicts, sets, tensors of every shape, ``None``,
non-callables where a function is expected, functions that return any of these) plus random floats, ints
and text drawn by Hypothesis.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessonlib import exercises, quiz
from lessonlib.exercises import CHECKER_BUG, PASS, TRY_AGAIN, WrongAnswer

REGISTRY = exercises.registered_notebooks()
ALL = [ex for nb in REGISTRY.values() for ex in nb.exercises.values()]
IDS = [f"{ex.notebook}.{ex.number}" for ex in ALL]
ITEMS = quiz.bank()


def _named_values() -> dict[str, object]:
    """The values issue #35 lists, each built fresh (a checker must not be able to keep a reference)."""
    return {
        "str": "a",
        "numeric str": "0.5",
        "str array": np.array(["a"]),
        "object array": np.array([1, "a"], dtype=object),
        "object array of one number": np.array([0.5], dtype=object),
        "huge int": 10**400,
        "huge negative int": -(10**400),
        "complex": 0.5 + 5j,
        "complex tensor": torch.tensor(0.5 + 5j),
        "complex array": np.array([1 + 2j]),
        "nan": float("nan"),
        "inf": float("inf"),
        "-inf": -float("inf"),
        "nan tensor": torch.tensor(float("nan")),
        "Fraction": Fraction(1, 3),
        "Decimal": Decimal("0.123"),
        "Decimal nan": Decimal("nan"),
        "Decimal huge": Decimal("1e400"),
        "nested list": [[0.5]],
        "ragged list": [0.5, [1]],
        "None": None,
        "dict": {"a": 1},
        "empty dict": {},
        "empty set": set(),
        "empty list": [],
        "empty tuple": (),
        "bytes": b"a",
        "empty tensor": torch.tensor([]),
        "empty array": np.array([]),
        "bool": True,
        "bool tensor": torch.tensor(True),
        "bool vector": torch.tensor([True, False]),
        "object": object(),
        "float vector": torch.linspace(0, 1, 3),
        "2-d tensor": torch.ones(2, 3),
        "3-d array": np.zeros((2, 2, 2)),
        "int tensor": torch.tensor([1, 2, 3]),
        "list of str": ["a", "b"],
        "set of int": {1, 2},
        "list of None": [None],
        "list of lists": [[1], [2]],
        "range": range(3),
        "float16": np.float16(0.5),
        "minus zero": -0.0,
    }


NAMED = _named_values()


def _returning(value):
    def learner_function(*args, **kwargs):
        return value

    return learner_function


def _args(ex):
    return ex.solution_args() if ex.solution_args else ()


def _close(value, target, tol: float) -> bool:
    """True when ``value`` reads as a number within ``tol`` of ``target`` (an oracle independent of graders)."""
    try:
        return math.isclose(exercises.as_number(value), float(target), rel_tol=0.05, abs_tol=tol)
    except (WrongAnswer, TypeError, ValueError):
        return False


def _may_pass_exercise(ex, value) -> bool:
    """Could ``value`` be a right answer to ``ex``? Only a number close to a numeric solution, or the exact
    set of correct options; a function that returns a constant is never a right solution."""
    if ex.function:
        return False
    sol = ex.solution
    if isinstance(sol, (set, frozenset, list, tuple)) and all(isinstance(s, str) for s in sol):
        try:
            return exercises._option_set(value, "x") == set(sol)
        except WrongAnswer:
            return False
    if isinstance(sol, str):
        return isinstance(value, str) and value.strip().casefold() == sol.casefold()
    if isinstance(sol, (list, tuple, np.ndarray, torch.Tensor)):
        try:
            a, b = exercises.as_vector(value), exercises.as_vector(sol)
        except WrongAnswer:
            return False
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=0.05, atol=0.05))
    return _close(value, sol, 0.05)


def _may_pass_item(it, value) -> bool:
    """Could ``value`` be the right answer to quiz item ``it``? (letters and option texts, or the number)."""
    if it.kind == "number":
        return _close(value, it.answer, it.tolerance * 1.01 + 1e-12)

    def resolve(pick):
        try:
            return quiz._resolve(it, pick)
        except WrongAnswer:
            return None

    if it.kind == "choice":
        return isinstance(value, str) and resolve(value) == it.answer
    if isinstance(value, str):
        letters = value.strip().lower().replace(",", "").replace(" ", "")
        picks = {resolve(c) for c in letters} | {resolve(value)}
        return set(it.answer) <= picks
    try:
        picks = {resolve(p) for p in exercises._option_set(value, "x")}
    except WrongAnswer:
        return False
    return picks == set(it.answer)


def _secrets_of_item(it) -> list[str]:
    if it.kind == "number":
        return [f"{it.answer:g}"] if abs(it.answer) >= 10 or not float(it.answer).is_integer() else []
    return [it.answer] if it.kind == "choice" else list(it.answer)


def _assert_verdict(fb, name, value, may_pass: bool, secrets) -> None:
    shown = f"{value!r:.80}"
    assert fb.outcome != CHECKER_BUG, f"{name}: the learner value {shown} gave {fb}"
    if fb.outcome == PASS:
        assert may_pass, f"{name}: {shown} is not a right answer but PASSED"
        return
    for secret in secrets:
        if secret and secret not in repr(value) and secret not in str(value):
            assert secret not in fb.message, f"{name}: feedback on {shown} gives away {secret!r}: {fb.message}"


def _check_exercise(ex, value) -> None:
    fb = ex.checker(value, *_args(ex))
    _assert_verdict(fb, ex.name, value, _may_pass_exercise(ex, value), ex.secrets)


def _check_item(it, value) -> None:
    fb = quiz.check(it.id, value)
    _assert_verdict(fb, it.id, value, _may_pass_item(it, value), _secrets_of_item(it))


# ---------------------------------------------------------------------------------------------
# the values of the issue, against every checker
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_every_exercise_gives_a_verdict_for_every_listed_value(ex, capsys):
    for value in _named_values().values():
        _check_exercise(ex, value)
        if ex.function:  # the same value returned by the learner's function
            _check_exercise(ex, _returning(value))
    capsys.readouterr()


@pytest.mark.parametrize("it", ITEMS, ids=[it.id for it in ITEMS])
def test_every_quiz_item_gives_a_verdict_for_every_listed_value(it, capsys):
    for value in _named_values().values():
        _check_item(it, value)
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# random values (Hypothesis), against every checker
# ---------------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.integers(min_value=2**1100).map(lambda n: -n),  # beyond float range, either sign
    st.integers(min_value=2**1100),
    st.complex_numbers(max_magnitude=1e6),
    st.fractions(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=6),
    st.none(),
)
_containers = st.one_of(
    st.lists(_scalars, max_size=4),
    st.tuples(_scalars, _scalars),
    st.sets(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.recursive(st.floats(-10, 10) | st.integers(-10, 10), lambda inner: st.lists(inner, max_size=3), max_leaves=6),
    st.floats(-1e6, 1e6).map(np.float32),
    st.floats(allow_nan=True).map(lambda f: torch.tensor([f])),
    st.lists(st.floats(-10, 10), max_size=4).map(lambda v: np.array(v, dtype=object)),
    st.lists(st.text(max_size=2), min_size=1, max_size=3).map(np.array),
    st.complex_numbers(max_magnitude=10).map(lambda c: torch.tensor(c, dtype=torch.complex64)),
    st.sampled_from(list(NAMED)).map(lambda k: _named_values()[k]),
)
LEARNER_VALUES = st.one_of(_scalars, _containers)


@pytest.mark.parametrize("ex", ALL, ids=IDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=LEARNER_VALUES, as_function=st.booleans())
def test_no_learner_value_breaks_an_exercise_checker(ex, value, as_function, capsys):
    _check_exercise(ex, _returning(value) if (as_function and ex.function) else value)
    capsys.readouterr()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, len(ITEMS) - 1), value=LEARNER_VALUES)
def test_no_learner_value_breaks_a_quiz_item(k, value, capsys):
    _check_item(ITEMS[k], value)
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# the findings of the issue, one by one, and the conversions they were fixed in
# ---------------------------------------------------------------------------------------------


def _number_item():
    return next(it for it in ITEMS if it.kind == "number" and it.answer != 0)


def test_a_complex_answer_passes_only_without_an_imaginary_part(capsys):
    it = _number_item()
    fb = quiz.check(it.id, torch.tensor(it.answer + 5j))
    assert fb.outcome == TRY_AGAIN and "imaginary" in fb.message
    assert quiz.check(it.id, complex(it.answer, 0)).outcome == PASS
    assert quiz.check(it.id, np.array([it.answer + 0j])).outcome == PASS


@pytest.mark.parametrize(
    "value, words",
    [
        (10**400, "too large"),
        (np.array(["a"]), "string"),
        (np.array([1, "a"], dtype=object), "one number"),
        (np.array(["0.5"], dtype=object), "string"),
        (float("nan"), "finite"),
        (Decimal("-inf"), "finite"),
        ({"a": 1}, "dict"),
        ([[0.5]], "not a list"),
    ],
)
def test_as_number_refuses_with_a_message_that_says_what_came(value, words):
    with pytest.raises(WrongAnswer, match=words):
        exercises.as_number(value, "your answer")


def test_as_number_accepts_every_real_representation():
    for v in (Fraction(1, 4), Decimal("0.25"), np.float16(0.25), np.array([0.25], dtype=object), 0.25 + 0j,
              torch.tensor([[0.25]], dtype=torch.bfloat16), np.array(0.25), torch.tensor(0.25 + 0j)):  # fmt: skip
        assert exercises.as_number(v) == 0.25, v
    assert math.isnan(exercises.as_number(float("nan"), finite=False))


def test_as_vector_reads_objects_and_refuses_strings_complex_and_booleans():
    assert exercises.as_vector(np.array([1, Fraction(1, 2)], dtype=object)).tolist() == [1.0, 0.5]
    assert exercises.as_vector(torch.tensor([1 + 0j, 2 + 0j])).tolist() == [1.0, 2.0]
    for bad, words in [
        (np.array(["1", "2"]), "strings"),
        (np.array([1 + 1j]), "imaginary"),
        (torch.tensor([1 + 1j]), "imaginary"),
        ([True, False], "booleans"),
        ([10**400, 1], "too large"),
        ([0.5, [1]], "ragged"),
        ({1.0, 2.0}, "in order"),
    ]:
        with pytest.raises(WrongAnswer, match=words):
            exercises.as_vector(bad)


def test_option_set_refuses_what_cannot_be_a_pick():
    assert exercises._option_set(np.array(["a", "b"]), "x") == {"a", "b"}
    for bad, words in [({"a": 1}, "dict"), (torch.ones(2), "tensor"), (3, "int"), ([["a"]], "list among them")]:
        with pytest.raises(WrongAnswer, match=words):
            exercises._option_set(bad, "your selection")


def test_learner_refuses_a_non_callable_instead_of_calling_it():
    with pytest.raises(WrongAnswer, match="your eval transform must be callable.*list"):
        exercises.learner([1, 2], "your eval transform")
    assert isinstance(exercises.learner(abs, "f"), exercises.LearnerFunction)


def test_as_bool_reads_one_boolean_only():
    assert exercises.as_bool(torch.tensor([True])) is True and exercises.as_bool(np.bool_(False)) is False
    for bad in (torch.ones(3, dtype=torch.bool), torch.tensor(1.0), "yes", 1):
        with pytest.raises(WrongAnswer, match="True or False"):
            exercises.as_bool(bad, "your verdict")


def test_06_2_nan_and_07_3_tensor_verdict_and_02_4_non_callable_get_verdicts(capsys):
    nb02, nb06, nb07 = (REGISTRY[k] for k in ("02", "06", "07"))
    ex = nb06.exercises[2]
    assert ex.checker(float("nan"), *_args(ex)).outcome == TRY_AGAIN
    fb = nb07.exercises[3].checker(_returning(torch.ones(3)))
    assert fb.outcome == TRY_AGAIN and "True or False" in fb.message
    fb = nb02.exercises[4].checker(_returning([1, 2]))
    assert fb.outcome == TRY_AGAIN and "must be callable" in fb.message


def test_the_generic_graders_give_a_verdict_for_every_listed_value(capsys):
    expected = torch.tensor([[0.25, 0.5], [0.75, 1.0]])
    probes = [("doubles", lambda f: None if torch.equal(f(torch.ones(2)), 2 * torch.ones(2)) else "values are off")]
    for name, value in _named_values().items():
        graded = [
            exercises.grade_number("g.1", value, 0.123, rel_tol=0.01),
            exercises.grade_choice("g.2", value, {"alpha", "beta"}, options={"gamma": "no"}),
            exercises.grade_tensor("g.3", value, expected),
            exercises.grade_function("g.4", value, probes),
            exercises.grade_function("g.5", _returning(value), probes),
        ]
        for fb in graded:
            assert fb.outcome != CHECKER_BUG, (name, fb)
            may_pass = fb.exercise == "g.1" and name == "Decimal"  # Decimal("0.123") is the right number
            assert fb.outcome != PASS or may_pass, (name, fb)
    assert exercises.grade_tensor("g.3", expected.tolist(), expected).outcome == PASS
    assert exercises.grade_tensor("g.3", [["0.25", "0.5"], ["0.75", "1.0"]], expected).outcome == TRY_AGAIN
