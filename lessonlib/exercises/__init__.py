"""The exercise engine: one run-and-probe loop, five outcomes, hints on request, solutions kept here.

Every exercise of every notebook is declared in ``lessonlib.exercises.nbNN`` with a registry, so the
learner gets feedback that makes them think, asks for stronger help deliberately, and CI proves that
every model solution passes its checker and every recorded wrong answer fails it.

Outcomes (``Feedback.outcome``), each printed as ``[OUTCOME] NN.k title: message``:

* ``NOT ATTEMPTED`` — the ``...`` placeholder is still there (the value ``...``, a function whose
  body is ``...``/``pass``, or a function that returns ``...``). Never fails, even with ``must_pass``
  off, so an untouched notebook runs top to bottom.
* ``ERROR IN YOUR CODE`` — the learner's code raised: the exception type, its message and the
  learner's own line (never the checker's internals).
* ``RETURNED NONE`` — the learner's function returned ``None`` ("did you forget ``return``?").
* ``TRY AGAIN`` — wrong, with a hint that never states the expected value or names a correct option.
* ``PASS``.
* ``CHECKER BUG`` — a fault inside the checker itself: our bug, reported as such, never as the
  learner's error.

Complete example (``lessonlib/exercises/nb08.py``)::

    from lessonlib.exercises import Notebook, choice, number, cases, expect_tensor

    EX = Notebook("08")
    hint, reveal = EX.hint, EX.reveal          # nb08.hint(1), nb08.hint(1, level=2), nb08.reveal(1)

    @EX.exercise(
        1,
        "RandAugment magnitude",
        hints=("Which range is the magnitude drawn from?", "Divide the magnitude by the number of bins."),
        solution=0.3,                           # a value, or a function for a "write a function" exercise
        explanation="M = 9 of 30 bins is 9/30 = 0.3 of the full strength.",
        wrong=[0.9, 9, 3.0],                    # plausible mistakes: each must get TRY AGAIN
        variants=[np.float64(0.3), torch.tensor(0.3), 9 / 30],   # right answers written otherwise: PASS
    )
    def check_magnitude(answer):               # a *grader*: return None when right, else a hint
        return number(answer, 0.3, tol=0.005,   # tolerance from the question ("to two decimals")
                      mistakes={0.9: "that is M/10; the scale has 30 bins"})

    @EX.exercise(2, "pick the safe ops", hints=("…", "…"), solution={"a", "b"}, explanation="…",
                 wrong=[{"a"}, {"a", "b", "c"}, "c"], variants=[["b", "a"], ("a", "b")])
    def check_safe_ops(answer):
        return choice(answer, {"a", "b"}, OPTIONS)   # OPTIONS = {option: why it belongs or not}

    def _solution_scale(x, factor):             # model solution of a function exercise
        return x * factor

    def _bug_in_place(x, factor):               # a mutant: a mistake learners make
        return x.mul_(factor)

    @EX.exercise(3, "scale a batch", hints=("…", "…"), solution=_solution_scale, explanation="…",
                 wrong=[_bug_in_place], variants=[lambda x, f: f * x])
    def check_scale(fn):                        # ``fn`` is the learner's function, already wrapped
        def right_values(fn):
            x = torch.rand(3, 4)
            out = expect_tensor(fn(x, 2.0), "the scaled batch", shape=x.shape)
            return None if torch.allclose(out, 2 * x) else "values are off: each entry times factor"
        return cases(fn, [("values", right_values)])

The decorated grader becomes the checker the notebook calls: ``nb08.check_scale(answer)`` prints one
line and returns a ``Feedback``; ``nb08.check_scale(answer, must_pass=True)`` raises ``ExerciseFailed``
unless it passes. The engine does the rest:

* placeholders, ``None`` returns and exceptions raised by the learner's function (wrapped in a
  ``LearnerFunction`` before the grader sees it) become the outcomes above; anything else the grader
  raises is a ``CHECKER BUG``. Graders reject a malformed answer with ``raise WrongAnswer("hint")``
  or by returning the hint; ``expect_tensor`` / ``as_number`` / ``as_vector`` do it for you.
* An object the learner's function *returns* and the probe then calls (a transform, a closure) is
  wrapped with ``learner(obj, "your eval transform")`` so that its errors are the learner's too (and a
  non-callable gets TRY AGAIN instead of being called).
* Every value a learner can type gets a verdict: ``as_number``, ``as_vector``, ``as_bool`` and the
  option reader behind ``choice`` turn strings, arrays of strings or objects, ``10**400``, complex
  numbers (accepted only with a zero imaginary part), NaN/inf, dicts, nested lists, ... into TRY AGAIN
  with a format hint, and accept ``Fraction``/``Decimal`` as numbers. ``tests/test_checker_verdicts.py``
  feeds such values to every checker: CHECKER BUG stays reserved for our own faults.
* ``EX.exercises[k]`` is the ``Exercise`` record: ``solution``, ``wrong``, ``variants``, ``hints``,
  ``explanation`` and ``secrets`` (strings that wrong-answer feedback must never contain; by default
  derived from the solution: a number at 2-4 significant digits, each correct option's name).
  ``tests/test_exercises.py`` iterates over every registered exercise of every ``nbNN`` module.

Notebooks hold no solution cells and no call to ``reveal``; the prose under an exercise says
"stuck? ``nb08.hint(1)``, then ``nb08.hint(1, level=2)``, then ``nb08.reveal(1)``".

Helpers for graders: ``number`` (direction and a rough factor band in words, recorded mistakes), ``choice`` (how many
picks are wrong and how many missing, one wrong pick explained), ``vector``/``as_vector`` (lists,
numpy, tensors of any real dtype), ``as_bool`` (one boolean), ``cases`` (named probes, first failure reported).
The generic graders ``grade_number``, ``grade_choice``, ``grade_tensor`` and ``grade_function``
grade an answer against an expected value on the same engine, without a registry (they are named
``grade_*`` so they are never confused with the input validators ``lessonlib.utils.check_*``).
"""

from __future__ import annotations

import decimal
import inspect
import itertools
import math
import numbers
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "Feedback",
    "ExerciseFailed",
    "WrongAnswer",
    "FormatError",
    "LearnerFunction",
    "Notebook",
    "Exercise",
    "OUTCOMES",
    "is_placeholder",
    "is_stub",
    "report",
    "learner",
    "number",
    "as_number",
    "as_bool",
    "choice",
    "match_option",
    "vector",
    "as_vector",
    "expect_tensor",
    "cases",
    "grade_number",
    "grade_choice",
    "grade_tensor",
    "grade_function",
    "registered_notebooks",
    "is_student_copy",
    "STUDENT_ENV",
    "STUDENT_MARKER",
]

NOT_ATTEMPTED = "NOT ATTEMPTED"
ERROR = "ERROR IN YOUR CODE"
RETURNED_NONE = "RETURNED NONE"
TRY_AGAIN = "TRY AGAIN"
PASS = "PASS"
CHECKER_BUG = "CHECKER BUG"
#: Every outcome a checker can report, in the order above.
OUTCOMES = (NOT_ATTEMPTED, ERROR, RETURNED_NONE, TRY_AGAIN, PASS, CHECKER_BUG)
_PASSED = {NOT_ATTEMPTED: None, ERROR: False, RETURNED_NONE: False, TRY_AGAIN: False, PASS: True, CHECKER_BUG: False}


class ExerciseFailed(AssertionError):
    """Raised by a checker called with ``must_pass=True`` when the answer is wrong or missing."""


class WrongAnswer(Exception):
    """Raised inside a grader to reject an answer (``TRY AGAIN``); its message is the hint."""


class FormatError(WrongAnswer):
    """A ``WrongAnswer`` about the answer's form, not its content (``Feedback.malformed``)."""


class _Placeholder(Exception):
    """The learner's function still returns ``...``."""


class _ReturnedNone(Exception):
    """The learner's function returned ``None``."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _LearnerError(Exception):
    """The learner's code raised ``original`` while being probed."""

    def __init__(self, original: BaseException, what: str):
        super().__init__(str(original))
        self.original = original
        self.what = what


@dataclass(frozen=True)
class Feedback:
    """The outcome of one check.

    ``passed`` is True (PASS), None (NOT ATTEMPTED) or False (anything else); ``outcome`` is one of
    ``OUTCOMES`` (derived from ``passed`` when not given); ``bool(feedback)`` is True only for PASS.
    ``malformed`` is True for a TRY AGAIN about the answer's form (a string for a number, a pick that is
    not an option): a mock interview does not score it and the practice record does not count it.
    """

    exercise: str
    passed: bool | None
    message: str
    outcome: str = ""
    malformed: bool = False

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", {True: PASS, False: TRY_AGAIN, None: NOT_ATTEMPTED}[self.passed])

    def __bool__(self) -> bool:
        return bool(self.passed)

    def __str__(self) -> str:
        return f"[{self.outcome}] {self.exercise}: {self.message}"


def is_placeholder(answer: Any) -> bool:
    """True for the ``...`` placeholder (or None) left in an exercise cell."""
    return answer is Ellipsis or answer is None


def _body(code) -> list[tuple[str, Any]]:
    import dis

    return [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP")]


_STUB_BODIES = ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


def is_stub(fn: Any) -> bool:
    """True for a function whose body is only ``...`` or ``pass`` (and maybe a docstring).

    Such a function has not been written yet (NOT ATTEMPTED), unlike one that computes something and
    forgets ``return`` (RETURNED NONE).
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    try:
        return _body(code) in _STUB_BODIES
    except Exception:  # noqa: BLE001 - an exotic code object is simply not a stub
        return False


def report(
    exercise: str,
    passed: bool | None,
    message: str,
    *,
    must_pass: bool = False,
    outcome: str = "",
    malformed: bool = False,
    item_id: str | None = None,
) -> Feedback:
    """Print and return a ``Feedback``; raise ``ExerciseFailed`` if ``must_pass`` and it did not pass.

    ``item_id`` (a practice id such as ``"04.2"`` or ``"04.q3"``): a graded attempt (PASS, TRY AGAIN,
    ERROR IN YOUR CODE, RETURNED NONE; not a malformed answer) is written to the practice record
    (``lessonlib.practice.log``; never fails this call, off under tests and nbval).
    """
    fb = Feedback(exercise, passed, message, outcome, malformed)
    print(fb)
    if item_id is not None and passed is not None and fb.outcome != CHECKER_BUG and not malformed:
        from lessonlib.practice.log import attempt

        attempt(item_id, bool(passed))
    if must_pass and passed is not True:
        raise ExerciseFailed(str(fb))
    return fb


# ----------------------------------------------------------------------------------------------
# The learner's code: wrapped so that its errors, None returns and placeholders are told apart
# ----------------------------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIB_DIRS = tuple(
    {os.path.dirname(os.__file__), os.path.dirname(os.path.abspath(torch.__file__)), _PACKAGE_DIR}
    | {p for p in sys.path if p.endswith("site-packages")}
)


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return path.startswith(_LIB_DIRS)


class LearnerFunction:
    """A learner's callable, wrapped for probing: ``__call__`` forwards the call and turns

    * an exception into an ``ERROR IN YOUR CODE`` outcome (with the learner's line),
    * a ``None`` return into ``RETURNED NONE`` (``allow_none=True`` keeps ``None`` as a value, for a
      function whose contract returns ``None``, such as a probe that found nothing),
    * a ``...`` return into ``NOT ATTEMPTED``.

    ``raw`` is the learner's object itself, for probes that expect an exception.
    """

    def __init__(self, fn: Callable[..., Any], what: str = "your function", *, allow_none: bool = False):
        self.raw = fn
        self.what = what
        self.allow_none = allow_none

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            out = self.raw(*args, **kwargs)
        except (_LearnerError, _ReturnedNone, _Placeholder):
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            raise _LearnerError(exc, self.what) from exc
        if out is Ellipsis:
            raise _Placeholder(self.what)
        if out is None and not self.allow_none:
            raise _ReturnedNone(self.what)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def learner(obj: Any, what: str = "the object your function returned", *, allow_none: bool = False) -> Any:
    """Wrap ``obj`` (something the learner's code returned and the probe will call) so that calling it is
    probed like the learner's own function.

    Raises:
        WrongAnswer: when ``obj`` is not callable (``...`` is NOT ATTEMPTED, ``None`` RETURNED NONE), so a
            probe never calls a learner's list or tensor and fails as a CHECKER BUG.
    """
    if obj is Ellipsis:
        raise _Placeholder(what)
    if obj is None:
        raise _ReturnedNone(what)
    if isinstance(obj, LearnerFunction):
        return obj
    if not callable(obj) or isinstance(obj, torch.Tensor):
        raise WrongAnswer(f"{what} must be callable (a function or a transform), got {type(obj).__name__}.")
    return LearnerFunction(obj, what, allow_none=allow_none)


def _learner_line(exc: BaseException) -> str:
    """``line N: source`` of the innermost frame of ``exc``'s traceback that is the learner's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not _is_library(f.filename)]
    if not mine:
        return ""
    f = mine[-1]
    src = f": `{f.line.strip()}`" if f.line else ""
    return f" (line {f.lineno}{src})"


def _error_message(exc: BaseException, what: str) -> str:
    msg = str(exc).strip().splitlines()
    text = msg[0] if msg else ""
    if len(text) > 300:
        text = text[:300] + "…"
    return f"{what} raised {type(exc).__name__}: {text}{_learner_line(exc)}. Fix it and run the cell again."


def _outcome_of_exception(exc: BaseException, checker_files: Iterable[str] = ()) -> tuple[str, str]:
    """Map an exception escaping a grader to ``(outcome, message)``.

    ``checker_files`` are the files holding the grader's own code: a fault raised there (or in lessonlib
    or a library it calls) is a CHECKER BUG; one raised in any other code is the learner's.
    """
    if isinstance(exc, WrongAnswer):
        return TRY_AGAIN, str(exc)
    probe = getattr(exc, "_lessonlib_probe", None)
    during = f"while checking {probe!r}, " if probe else ""
    if isinstance(exc, _Placeholder):
        return NOT_ATTEMPTED, f"{exc} still returns `...`; replace it with your code and run the cell again."
    if isinstance(exc, _ReturnedNone):
        return RETURNED_NONE, f"{during}{exc.what} returned None: did you forget `return`?"
    if isinstance(exc, _LearnerError):
        return ERROR, during + _error_message(exc.original, exc.what)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = {os.path.abspath(f) for f in checker_files}
    outside = [f for f in frames if not _is_library(f.filename)]
    if outside and os.path.abspath(outside[-1].filename) not in ours and outside[-1].filename not in ours:
        # raised in the learner's own code, reached without a wrapper (e.g. an object it returned)
        return ERROR, during + _error_message(exc, "your code")
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return CHECKER_BUG, (
        f"{during}the checker itself failed ({type(exc).__name__}: {exc}{where}). This is a bug in lessonlib, "
        "not in your answer; please report it."
    )


# ----------------------------------------------------------------------------------------------
# Helpers for graders: conversions and comparisons that never state the expected answer
# ----------------------------------------------------------------------------------------------


#: The most entries a selection or a vector answer may have before it is refused unread.
_MAX_ENTRIES = 10_000


def _unwrap(answer: Any, what: str) -> Any:
    """A one-element tensor, array or numpy scalar as the Python scalar it holds (other values unchanged).

    Raises:
        FormatError (a WrongAnswer): for a tensor or array with more or fewer than one element, or a boolean tensor.
    """
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise FormatError(f"{what} must be one number, got a tensor of shape {tuple(answer.shape)}.")
        if answer.dtype == torch.bool:
            raise FormatError(f"{what} must be a number, not a boolean tensor.")
        return answer.detach().cpu().reshape(()).item()
    if isinstance(answer, np.ndarray):
        if answer.size != 1:
            raise FormatError(f"{what} must be one number, got an array of shape {answer.shape}.")
        answer = answer.reshape(()).item()  # an object array gives back the object it holds
        if isinstance(answer, (torch.Tensor, np.ndarray)):
            raise FormatError(f"{what} must be a number, got an array holding a {type(answer).__name__}.")
    if isinstance(answer, np.generic):
        answer = answer.item()
    return answer


def as_number(answer: Any, what: str = "the answer", *, finite: bool = True) -> float:
    """``answer`` as a float: every way a learner may write one real number.

    Accepted: Python ``int``/``float``, ``fractions.Fraction``, ``decimal.Decimal``, numpy scalars, and
    0-d or one-element arrays and tensors of any real dtype (an object array holding one number too);
    a complex value whose imaginary part is exactly 0 counts as its real part.

    Raises:
        FormatError (a WrongAnswer): with a hint, for a bool, a string or bytes, a complex number with a non-zero
            imaginary part, an integer too large for a float (such as ``10**400``), more or fewer than
            one value, any other type, and (when ``finite``, the default) NaN or ±inf.
    """
    value = _unwrap(answer, what)
    if isinstance(value, bool):
        raise FormatError(f"{what} must be a number, not the boolean {value}.")
    if isinstance(value, (str, bytes)):
        raise FormatError(f"{what} must be a number, not the string {value!r:.40}: write it without quotes.")
    if isinstance(value, complex):
        if value.imag != 0:
            raise FormatError(f"{what} must be a real number; yours has an imaginary part.")
        value = value.real
    if isinstance(value, (list, tuple)):
        raise FormatError(f"{what} must be one number, not a {type(value).__name__} (drop the brackets).")
    if not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise FormatError(f"{what} must be a number, got {type(value).__name__}.")
    try:
        out = float(value)
    except OverflowError:
        raise FormatError(f"{what} is too large to be a float (beyond about 1.8e308); check its magnitude.") from None
    except ValueError:  # a signalling Decimal NaN
        out = math.nan
    if finite and not math.isfinite(out):
        raise FormatError(f"{what} is {out}; it must be a finite number.")
    return out


def as_bool(answer: Any, what: str = "the answer") -> bool:
    """``answer`` as a bool: ``True``/``False``, a numpy bool, or a one-element boolean array or tensor.

    Raises:
        FormatError (a WrongAnswer): for anything else (a number, a string, a tensor of several values, ...).
    """
    if isinstance(answer, (torch.Tensor, np.ndarray)):
        is_bool = answer.dtype == torch.bool if isinstance(answer, torch.Tensor) else answer.dtype == bool
        if not is_bool:
            raise FormatError(f"{what} must be True or False, got a {type(answer).__name__} of dtype {answer.dtype}.")
        n = answer.numel() if isinstance(answer, torch.Tensor) else answer.size
        if n != 1:
            raise FormatError(f"{what} must be one True or False, got {n} values.")
        return bool(answer.reshape(()).item())
    if isinstance(answer, (bool, np.bool_)):
        return bool(answer)
    raise FormatError(f"{what} must be True or False, got {type(answer).__name__}.")


def _factor_phrase(value: float, expected: float) -> str:
    if expected == 0 or value == 0 or (value > 0) != (expected > 0):
        if expected != 0 and value != 0:
            return "the sign is wrong"
        return "too large" if value > expected else "too small"
    ratio = abs(value / expected)
    direction = "too large" if abs(value) > abs(expected) else "too small"
    if abs(value) > abs(expected):
        direction = "too large" if value > 0 else "too small (more negative than it should be)"
    else:
        direction = "too small" if value > 0 else "too large (less negative than it should be)"
    r = ratio if ratio >= 1 else 1 / ratio
    # bands in words, never a digit: "a factor of 12" said to the answer 1 would state the answer 12
    if r < 1.15:
        return f"close, but {direction} by more than the question's tolerance"
    if r < 1.75:
        return f"{direction}, by less than a factor of two"
    for top, band in ((3, "two to three"), (5, "three to five"), (10, "five to ten")):
        if r < top:
            return f"{direction}, by a factor of {band}"
    return f"{direction}, by a factor of ten or more (a unit or a scale step?)"


def number(
    answer: Any,
    expected: float,
    *,
    tol: float | None = None,
    rel: float | None = None,
    mistakes: Mapping[float, str] | Iterable[tuple[float, str]] = (),
    what: str = "the answer",
    hint: str = "",
) -> str | None:
    """Grade a numeric answer: ``None`` when within ``tol`` (absolute) or ``rel`` (relative) of ``expected``.

    Tolerances come from the question ("to two decimals" → ``tol=0.005``), not from the arithmetic.
    A wrong answer gets the message of a recorded mistake it matches (``{wrong value: why}``), else the
    direction and a rough factor, plus ``hint``; the expected value is never stated.
    """
    if tol is None and rel is None:
        rel = 1e-2
    value = as_number(answer, what)
    bound = max(tol or 0.0, (rel or 0.0) * abs(expected))
    if abs(value - expected) <= bound:
        return None
    items = mistakes.items() if isinstance(mistakes, Mapping) else mistakes
    for wrong, why in items:
        if abs(value - wrong) <= max(bound, 1e-9 * abs(wrong)):
            return f"{why} {hint}".strip()
    return f"{what} is {_factor_phrase(value, expected)}. {hint}".strip()


def _option_set(answer: Any, what: str) -> set[Any]:
    """The picks of a selection (a set, list, tuple, array or one string) as a set of hashable values.

    Raises:
        FormatError (a WrongAnswer): for a dict, a tensor, a non-iterable value, a pick that cannot be an
            option (a list, an array) or more than ``_MAX_ENTRIES`` picks.
    """
    usage = f"{what} must be a set of options such as {{'a', 'b'}}"
    if isinstance(answer, (str, np.str_)):
        return {str(answer)}
    if isinstance(answer, Mapping):
        raise FormatError(f"{usage}, got a dict.")
    if isinstance(answer, torch.Tensor):
        raise FormatError(f"{usage}, got a tensor.")
    if isinstance(answer, np.ndarray):
        answer = answer.ravel()
    try:
        picks = list(itertools.islice(iter(answer), _MAX_ENTRIES + 1))
    except TypeError:
        raise FormatError(f"{usage}, got {type(answer).__name__}.") from None
    if len(picks) > _MAX_ENTRIES:
        raise FormatError(f"{usage}; yours has more than {_MAX_ENTRIES} picks.")
    out = set()
    for p in picks:
        p = p.item() if isinstance(p, np.generic) else p
        try:
            hash(p)
        except TypeError:
            raise FormatError(f"{usage}: each pick is one option, got a {type(p).__name__} among them.") from None
        out.add(p)
    return out


def _norm_option(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def match_option(pick: Any, keys: Iterable[Any], *, letters: bool = False) -> Any:
    """The option of ``keys`` (in the order shown) that ``pick`` names, or ``None``.

    One rule for every multiple-choice answer of the course (exercises and quiz alike): the option
    itself; else its text with case, Unicode form and runs of spaces ignored; and, where the options are
    shown with letters (``letters=True``: the quiz), its letter ("a" for the first option shown, any
    case), unless some option is itself one character long.
    """
    keys = list(keys)
    if pick in keys:
        return pick
    if not isinstance(pick, str):
        return None
    wanted = _norm_option(pick)
    for k in keys:
        if isinstance(k, str) and _norm_option(k) == wanted:
            return k
    one_char = any(isinstance(k, str) and len(k.strip()) == 1 for k in keys)
    if letters and not one_char and len(wanted) == 1 and "a" <= wanted <= "z" and ord(wanted) - 97 < len(keys):
        return keys[ord(wanted) - 97]
    return None


def choice(
    answer: Any,
    correct: Iterable[Any],
    options: Mapping[Any, str],
    *,
    missing_hint: str = "",
    what: str = "your selection",
) -> str | None:
    """Grade a selection of options (a set, list, tuple or one string): ``None`` when exactly ``correct``.

    ``options`` is the menu shown to the learner, ``{option: why it belongs or not}``; a pick is read by
    ``match_option`` (exact text, any case and spacing, or its letter in the menu's order). A wrong
    answer is told how many picks do not belong and how many are missing; the reason of *one* wrong pick
    is given only when the selection has no more picks than the question needs, so that picking
    everything and dropping whatever the reply names cannot pass. A missed correct option is never
    named (``missing_hint`` says in general terms what to look for).

    Raises:
        FormatError: a pick that is not on the menu (named, as a probable typo).
    """
    raw = _option_set(answer, what)
    want = set(correct)
    picked = set()
    for p in raw:
        key = match_option(p, options)
        if key is None:
            raise FormatError(f"{p!r} is not one of the options; check the spelling (copy the option text exactly).")
        picked.add(key)
    if picked == want:
        return None
    extra = sorted(picked - want, key=str)
    missing = len(want - picked)
    parts = []
    if extra:
        parts.append(f"{len(extra)} of your picks {'does' if len(extra) == 1 else 'do'} not belong")
    if missing:
        parts.append(f"{missing} correct option{'s are' if missing > 1 else ' is'} missing")
    msg = " and ".join(parts) + "."
    if extra and len(picked) <= len(want):
        msg += f" Reconsider {extra[0]!r}: {options[extra[0]]}."
    elif extra:
        msg += (
            " You picked more options than the question needs: keep only those you can justify one by one "
            "(no reasons are given for a selection this wide)."
        )
    elif missing_hint:
        msg += f" {missing_hint}"
    return msg


def _as_float_tensor(answer: Any, what: str, *, booleans: bool = False) -> torch.Tensor:
    """``answer`` (nested lists, a tuple, a numpy array or a tensor of any real dtype) as a float64 CPU
    tensor of its own shape; entries are read like ``as_number`` reads one number, NaN/±inf kept.

    Raises:
        FormatError (a WrongAnswer): for a string, a dict or set, strings or complex numbers (with a non-zero imaginary
            part) inside, booleans (unless ``booleans``), a ragged list, too many entries.
    """
    usage = f"{what} must be a sequence of numbers"
    if isinstance(answer, (str, bytes)):
        raise FormatError(f"{usage}, not a string.")
    if isinstance(answer, (Mapping, set, frozenset)):
        raise FormatError(f"{usage} in order (a list or a tensor), got a {type(answer).__name__}.")
    if isinstance(answer, torch.Tensor):
        t = answer.detach().cpu()
        if t.dtype == torch.bool and not booleans:
            raise FormatError(f"{usage}, not booleans.")
        if t.is_complex():
            if bool((t.imag != 0).any()):
                raise FormatError(f"{usage}; yours has entries with an imaginary part.")
            t = t.real
        return t.to(torch.float64)
    try:
        arr = np.asarray(answer)
    except (TypeError, ValueError, OverflowError):
        raise FormatError(f"{usage}, got {type(answer).__name__} (a ragged or mixed list?).") from None
    if arr.size > _MAX_ENTRIES:
        raise FormatError(f"{usage}; yours has {arr.size} entries.")
    if arr.dtype.kind == "b" and not booleans:
        raise FormatError(f"{usage}, not booleans.")
    if arr.dtype.kind in "US":
        raise FormatError(f"{usage}, not strings: write them without quotes.")
    if arr.dtype.kind == "c":
        if bool((arr.imag != 0).any()):
            raise FormatError(f"{usage}; yours has entries with an imaginary part.")
        arr = arr.real
    if arr.dtype.kind == "O":
        flat = [as_number(v, f"each entry of {what}", finite=False) for v in arr.ravel()]
        arr = np.asarray(flat, dtype=np.float64).reshape(arr.shape)
    if arr.dtype.kind not in "biuf":
        raise FormatError(f"{usage}, got an array of dtype {arr.dtype}.")
    return torch.as_tensor(arr.astype(np.float64))


def as_vector(answer: Any, length: int | None = None, what: str = "the answer") -> torch.Tensor:
    """``answer`` (a list, tuple, numpy array or tensor of any real dtype) as a float64 CPU vector.

    Entries are read like ``as_number`` reads one number (``Fraction``/``Decimal`` entries and complex
    entries with a zero imaginary part are accepted); NaN and ±inf entries are kept (``vector`` marks
    them wrong).

    Raises:
        FormatError (a WrongAnswer): when it is not a flat sequence of numbers of ``length`` entries (a string, a dict,
            a set, booleans, strings or complex numbers inside, a ragged list, ...).
    """
    t = _as_float_tensor(answer, what)
    if t.ndim != 1:
        raise FormatError(f"{what} must be a flat vector, got shape {tuple(t.shape)}.")
    if length is not None and t.numel() != length:
        raise FormatError(f"{what} must have {length} entries, got {t.numel()}.")
    return t


def vector(
    answer: Any,
    expected: Any,
    *,
    tol: float,
    names: Iterable[str] | None = None,
    what: str = "the answer",
    hint: str = "",
) -> str | None:
    """Grade a vector answer entry by entry within ``tol``; a wrong answer is told *which* entries
    (by ``names`` when given) are wrong, never their expected values."""
    e = as_vector(expected)
    a = as_vector(answer, e.numel(), what)
    bad = ((a - e).abs() > tol) | ~torch.isfinite(a)
    if not bool(bad.any()):
        return None
    labels = list(names) if names is not None else [f"entry {i}" for i in range(e.numel())]
    wrong = [labels[i] for i in bad.nonzero().flatten().tolist()]
    shown = ", ".join(wrong[:6]) + (" …" if len(wrong) > 6 else "")
    return f"{len(wrong)} of {e.numel()} entries are wrong ({shown}). {hint}".strip()


def expect_tensor(
    out: Any,
    what: str,
    *,
    shape: Iterable[int] | None = None,
    dtype: torch.dtype | None = None,
    floating: bool = False,
) -> torch.Tensor:
    """Return ``out`` if it is a tensor of ``shape``/``dtype``; else raise ``WrongAnswer`` saying what came."""
    if not isinstance(out, torch.Tensor):
        kind = type(out).__name__
        if isinstance(out, tuple):
            kind = f"a tuple of {len(out)}"
        raise WrongAnswer(f"{what} must be a tensor, got {kind}.")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise WrongAnswer(f"{what} has shape {tuple(out.shape)}, expected {tuple(shape)}.")
    if dtype is not None and out.dtype != dtype:
        raise WrongAnswer(f"{what} has dtype {out.dtype}, expected {dtype}.")
    if floating and not out.is_floating_point():
        raise WrongAnswer(f"{what} has dtype {out.dtype}; a floating-point tensor is expected.")
    return out


Probe = Callable[[Callable[..., Any]], "str | None"]


def cases(fn: Callable[..., Any], named: Iterable[tuple[str, Probe]]) -> str | None:
    """Run named probes on ``fn`` in order; return ``"description: problem"`` for the first that fails.

    A probe returns ``None`` when the function behaves, or a sentence saying what went wrong. Learner
    errors, ``None`` returns and placeholders propagate to the engine, which reports them with the name
    of the probe that was running ("while checking 'train/eval consistency', your eval transform raised …").
    """
    for description, probe in named:
        try:
            problem = probe(fn)
        except WrongAnswer as exc:
            problem = str(exc)
        except Exception as exc:
            if getattr(exc, "_lessonlib_probe", None) is None:
                try:
                    exc._lessonlib_probe = description  # type: ignore[attr-defined]
                except AttributeError:  # an exception type with __slots__: reported without the probe
                    pass
            raise
        if problem:
            return f"{description}: {problem}"
    return None


# ----------------------------------------------------------------------------------------------
# The run loop
# ----------------------------------------------------------------------------------------------


def _run(
    exercise: str,
    answer: Any,
    grader: Callable[[Any], str | None],
    *,
    function: bool,
    what: str = "your function",
    pass_message: str = "",
    must_pass: bool = False,
    allow_none: bool = False,
    checker_files: Iterable[str] = (),
    placeholder: str = "",
    item_id: str | None = None,
) -> Feedback:
    """The one run-and-probe loop every checker uses (``checker_files``: see ``_outcome_of_exception``;
    ``placeholder``: what to do when the answer is still ``...``; ``item_id``: the practice id the
    attempt is recorded under, see ``report``)."""
    if answer is Ellipsis or (answer is None and not function):
        msg = placeholder or "replace the `...` with your answer and run the cell again."
        return report(exercise, None, msg, must_pass=must_pass, outcome=NOT_ATTEMPTED)
    if function:
        if answer is None:
            msg = "replace the `...` with your function and run the cell again."
            return report(exercise, None, msg, must_pass=must_pass, outcome=NOT_ATTEMPTED)
        if is_stub(answer):
            msg = f"{what}'s body is still `...`; write your code and run the cell again."
            return report(exercise, None, msg, must_pass=must_pass, outcome=NOT_ATTEMPTED)
        if not callable(answer):
            msg = f"expected a function, got {type(answer).__name__}."
            return report(exercise, False, msg, must_pass=must_pass, outcome=TRY_AGAIN, malformed=True)
        answer = LearnerFunction(answer, what, allow_none=allow_none)
    try:
        problem = grader(answer)
    except Exception as exc:  # noqa: BLE001 - sorted into learner / checker faults below
        outcome, msg = _outcome_of_exception(exc, checker_files)
        malformed = isinstance(exc, FormatError)
        return report(
            exercise, _PASSED[outcome], msg, must_pass=must_pass, outcome=outcome, malformed=malformed, item_id=item_id
        )
    if problem:
        return report(exercise, False, str(problem), must_pass=must_pass, outcome=TRY_AGAIN, item_id=item_id)
    return report(exercise, True, pass_message or "right.", must_pass=must_pass, outcome=PASS, item_id=item_id)


# ----------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------


def _files_of(fn: Any) -> tuple[str, ...]:
    try:
        return (inspect.getfile(fn),)
    except TypeError:
        return ()


def _default_secrets(solution: Any) -> tuple[str, ...]:
    if callable(solution) or solution is None:
        return ()
    if isinstance(solution, (set, frozenset, list, tuple)) and all(isinstance(s, str) for s in solution):
        return tuple(sorted(solution))
    if isinstance(solution, str):
        return (solution,)
    try:
        v = as_number(solution)
    except WrongAnswer:
        return ()
    if float(v).is_integer() and abs(v) < 10:
        return ()  # a small integer would match any digit in a sentence; list it in ``secrets`` if it matters
    return tuple(dict.fromkeys(f"{v:.{d}g}" for d in (2, 3, 4)))


@dataclass
class Exercise:
    """One registered exercise: its checker, help and the data the tests use.

    Attributes:
        notebook: ``"NN"``; ``number`` k (1-based); ``title``; ``name`` is ``"NN.k title"``.
        hints: two hints, the second more specific; neither states the answer.
        solution: the model answer (a value, or a function for a "write a function" exercise).
        explanation: why the solution is right, shown by ``reveal`` only.
        wrong: plausible wrong answers (mutants) that must get TRY AGAIN.
        variants: right answers written differently from ``solution`` that must PASS.
        secrets: strings no wrong-answer feedback may contain.
        function: True when the answer is a function (probed through the engine's wrapper).
        solution_args: for a checker that needs data besides the answer (``check(answer, *args)``, e.g.
            06.2's labels and predictions), a callable returning ``args`` for which ``solution``,
            ``wrong`` and ``variants`` are the answers the tests use.
        shown: what ``reveal`` shows as the solution (e.g. code computing a data-dependent answer).
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"`` (the practice record's and Anki's tag).
    """

    notebook: str
    number: int
    title: str
    grader: Callable[..., str | None]
    hints: tuple[str, ...]
    solution: Any
    explanation: str
    wrong: tuple[Any, ...] = ()
    variants: tuple[Any, ...] = ()
    secrets: tuple[str, ...] = ()
    function: bool = False
    what: str = "your function"
    pass_message: str = ""
    solution_args: Callable[[], tuple] | None = None
    allow_none: bool = False
    shown: str = ""
    difficulty: str = ""
    checker: Callable[..., Feedback] = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return f"{self.notebook}.{self.number} {self.title}"

    def check(self, answer: Any, *args: Any, must_pass: bool = False) -> Feedback:
        """Run the engine on ``answer`` (``args`` go to the grader after it)."""

        def grade(a: Any) -> str | None:
            return self.grader(a, *args)

        return _run(
            self.name,
            answer,
            grade,
            function=self.function,
            what=self.what,
            pass_message=self.pass_message,
            must_pass=must_pass,
            allow_none=self.allow_none,
            checker_files=_files_of(self.grader),
            item_id=f"{self.notebook}.{self.number}",
        )

    def solution_text(self) -> str:
        """The model solution as text: ``shown`` if given, else a function's source or the value's repr."""
        if self.shown:
            return self.shown.strip("\n")
        if callable(self.solution):
            try:
                return inspect.getsource(self.solution).rstrip()
            except (OSError, TypeError):
                return repr(self.solution)
        if isinstance(self.solution, (set, frozenset)):
            return "{" + ", ".join(repr(s) for s in sorted(self.solution, key=str)) + "}"
        return repr(self.solution)


class Notebook:
    """The exercises of one notebook: ``EX = Notebook("04")``; see the module docstring."""

    def __init__(self, notebook: str):
        if not (isinstance(notebook, str) and len(notebook) == 2 and notebook.isdigit()):
            raise ValueError(f"notebook must be a two-digit string such as '04', got {notebook!r}")
        self.notebook = notebook
        self.exercises: dict[int, Exercise] = {}
        _REGISTRY[notebook] = self

    def exercise(
        self,
        number: int,
        title: str,
        *,
        hints: tuple[str, str] | list[str],
        solution: Any,
        explanation: str,
        wrong: Iterable[Any] = (),
        variants: Iterable[Any] = (),
        secrets: Iterable[str] | None = None,
        function: bool | None = None,
        what: str = "your function",
        pass_message: str = "",
        solution_args: Callable[[], tuple] | None = None,
        allow_none: bool = False,
        shown: str = "",
        difficulty: str = "",
    ) -> Callable[[Callable[..., str | None]], Callable[..., Feedback]]:
        """Register exercise ``number``; the decorated grader becomes its checker.

        The grader takes the answer (a ``LearnerFunction`` when ``function`` is True, which is the
        default when ``solution`` is callable) and any extra arguments, and returns ``None`` (right)
        or a hint. The returned checker is ``check(answer, *args, must_pass=False) -> Feedback``.
        """
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"number must be a positive int, got {number!r}")
        if number in self.exercises:
            raise ValueError(f"exercise {self.notebook}.{number} is registered twice")
        hints = tuple(hints)
        if len(hints) != 2 or not all(isinstance(h, str) and h for h in hints):
            raise ValueError(f"hints must be two non-empty strings (level 1, level 2), got {hints!r}")
        if difficulty not in ("", "easy", "medium", "hard"):
            raise ValueError(f"difficulty must be 'easy', 'medium' or 'hard', got {difficulty!r}")
        is_function = callable(solution) if function is None else function

        def decorate(grader: Callable[..., str | None]) -> Callable[..., Feedback]:
            ex = Exercise(
                self.notebook,
                number,
                title,
                grader,
                hints,
                solution,
                explanation,
                tuple(wrong),
                tuple(variants),
                tuple(_default_secrets(solution) if secrets is None else secrets),
                is_function,
                what,
                pass_message,
                solution_args,
                allow_none,
                shown,
                difficulty,
            )

            def checker(answer: Any, *args: Any, must_pass: bool = False) -> Feedback:
                return ex.check(answer, *args, must_pass=must_pass)

            checker.__name__ = grader.__name__
            checker.__qualname__ = grader.__qualname__
            checker.__doc__ = f"Exercise {self.notebook}.{number} ({title}). " + (grader.__doc__ or "")
            checker.exercise = ex  # type: ignore[attr-defined]
            ex.checker = checker
            self.exercises[number] = ex
            return checker

        return decorate

    def _get(self, k: Any) -> Exercise:
        if isinstance(k, bool) or not isinstance(k, int) or k not in self.exercises:
            raise ValueError(f"k must be one of the exercise numbers {sorted(self.exercises)}, got {k!r}")
        return self.exercises[k]

    def __getitem__(self, k: int) -> Exercise:
        return self._get(k)

    def hint(self, k: int, level: int = 1) -> str:
        """Print (and return) hint ``level`` (1, gentle; 2, more specific) for exercise ``k``."""
        ex = self._get(k)
        if level not in (1, 2) or isinstance(level, bool):
            raise ValueError(f"level must be 1 or 2, got {level!r}")
        text = ex.hints[level - 1]
        nb = f"nb{self.notebook}"
        graded = is_student_copy()
        more = (
            f" (more specific: {nb}.hint({k}, level=2)"
            + ("" if graded else f"; the model solution: {nb}.reveal({k})")
            + ")"
        )
        print(f"Hint {level} for {ex.name}: {text}" + (more if level == 1 else ""))
        from lessonlib.practice.log import hint_used

        hint_used(f"{self.notebook}.{k}", level)
        return text

    def reveal(self, k: int) -> str:
        """Show the model solution of exercise ``k`` with its explanation (a deliberate step).

        Returns the markdown shown (displayed as Markdown in a notebook, printed elsewhere). In a student
        copy (``is_student_copy()``) it shows nothing and says that solutions are disabled for graded
        homework (the hints still work).
        """
        ex = self._get(k)
        if is_student_copy():
            msg = (
                f"{ex.name}: model solutions are disabled in this student copy (graded homework). "
                f"The hints still work: nb{self.notebook}.hint({k}), then nb{self.notebook}.hint({k}, level=2)."
            )
            print(msg)
            return msg
        lang = "python" if callable(ex.solution) or ex.shown else ""
        body = f"**Model solution, {ex.name}**\n\n```{lang}\n{ex.solution_text()}\n```\n\n{ex.explanation}"
        try:
            from IPython import get_ipython
            from IPython.display import Markdown, display

            if get_ipython() is not None:
                display(Markdown(body))
                return body
        except ImportError:  # pragma: no cover - IPython is a dependency
            pass
        print(body)
        return body


_REGISTRY: dict[str, Notebook] = {}

#: Set to ``1`` where solutions must stay hidden (graded homework); see ``is_student_copy``.
STUDENT_ENV = "LESSONLIB_STUDENT"
#: The file ``tools/student.py`` writes beside the student copies; a kernel started there is a student's.
STUDENT_MARKER = ".lessonlib-student"


def is_student_copy() -> bool:
    """True where ``reveal`` must refuse: graded homework.

    Any of: ``$LESSONLIB_STUDENT`` is ``1``; a file ``.lessonlib-student`` (written by ``tools/student.py``
    beside the copies) in the working directory, which is the notebook's folder in Jupyter; or the running
    notebook (``$JPY_SESSION_NAME``, set by jupyter-server, or IPython's ``__session__``) carries the
    metadata ``lessonlib.student_copy: true``, which every student copy has, so a copy moved on its own
    still refuses.
    """
    if os.environ.get(STUDENT_ENV, "").strip() == "1":
        return True
    if os.path.isfile(STUDENT_MARKER):
        return True
    path = os.environ.get("JPY_SESSION_NAME", "")
    if not path:
        try:
            from IPython import get_ipython

            ip = get_ipython()
            path = str(ip.user_ns.get("__session__", "")) if ip is not None else ""
        except ImportError:  # pragma: no cover - IPython is a dependency
            path = ""
    if not path.endswith(".ipynb") or not os.path.isfile(path):
        return False
    try:
        import json

        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata", {})
        return bool(meta.get("lessonlib", {}).get("student_copy"))
    except (OSError, ValueError, AttributeError):
        return False


def registered_notebooks() -> dict[str, Notebook]:
    """Import every ``lessonlib.exercises.nbNN`` module and return ``{"NN": Notebook}`` for those that
    declare a registry. Only the shipped modules count: a ``Notebook`` built in a test or a learner's
    own cell never enters the practice catalogue."""
    import importlib
    import pkgutil

    here = os.path.dirname(__file__)
    shipped = set()
    for mod in pkgutil.iter_modules([here]):
        if mod.name.startswith("nb") and mod.name[2:].isdigit():
            importlib.import_module(f"{__name__}.{mod.name}")
            shipped.add(mod.name[2:])
    # a Notebook made elsewhere (a test, a learner's scratch cell) is not part of the course's bank
    return {nb: reg for nb, reg in sorted(_REGISTRY.items()) if nb in shipped}


# ----------------------------------------------------------------------------------------------
# The generic graders (no registry), on the same engine
# ----------------------------------------------------------------------------------------------


def grade_number(
    exercise: str,
    answer: Any,
    expected: float,
    *,
    rel_tol: float = 1e-2,
    abs_tol: float = 0.0,
    hint: str = "",
    must_pass: bool = False,
) -> Feedback:
    """Check a numeric answer within ``rel_tol``/``abs_tol`` of ``expected``; wrong answers are told the
    direction and a rough factor, plus ``hint``, never the expected value."""
    return _run(
        exercise,
        answer,
        lambda a: number(a, expected, tol=abs_tol, rel=rel_tol, hint=hint),
        function=False,
        must_pass=must_pass,
    )


def grade_choice(
    exercise: str,
    answer: Any,
    expected: Iterable[Any],
    *,
    reasons: Mapping[Any, str] | None = None,
    options: Mapping[Any, str] | None = None,
    must_pass: bool = False,
) -> Feedback:
    """Check a set of picked options against ``expected``: counts of wrong and missing picks and the
    reason of one wrong pick (from ``options``/``reasons``); correct options are never named."""
    want = set(expected)
    menu = {**{o: "it does not fit" for o in want}, **dict(options or {}), **dict(reasons or {})}

    def grade(a: Any) -> str | None:
        picked = _option_set(a, "your selection")
        full = {**{p: "it does not fit" for p in picked if options is None}, **menu}
        return choice(a, want, full)

    return _run(exercise, answer, grade, function=False, must_pass=must_pass)


def grade_tensor(
    exercise: str,
    answer: Any,
    expected: torch.Tensor,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
    must_pass: bool = False,
) -> Feedback:
    """Check a tensor answer (a tensor, array or nested list): shape first, then which entries are off
    (their index, never their expected value)."""

    def grade(a: Any) -> str | None:
        t = _as_float_tensor(a, "your tensor", booleans=True)
        e = expected.detach().cpu().double()
        if tuple(t.shape) != tuple(e.shape):
            raise WrongAnswer(f"shape {tuple(t.shape)}, expected {tuple(e.shape)}. {hint}".strip())
        bad = ~torch.isclose(t, e, atol=atol, rtol=rtol, equal_nan=True)
        if not bool(bad.any()):
            return None
        idx = [tuple(int(i) for i in row) for row in bad.nonzero()[:5]]
        return f"{int(bad.sum())} entries are off, e.g. at index {', '.join(map(str, idx))}. {hint}".strip()

    return _run(exercise, answer, grade, function=False, must_pass=must_pass)


def grade_function(
    exercise: str,
    fn: Any,
    named_cases: Iterable[tuple[str, Probe]],
    *,
    must_pass: bool = False,
) -> Feedback:
    """Check a learner's function against named probes (see ``cases``); the first failing one is reported.

    Errors raised by the learner's function are ``ERROR IN YOUR CODE``; a ``None`` return is
    ``RETURNED NONE``; an error of a probe itself is a ``CHECKER BUG``.
    """
    named = list(named_cases)
    return _run(
        exercise,
        fn,
        lambda f: cases(f, named),
        function=True,
        pass_message=f"all {len(named)} checks pass.",
        must_pass=must_pass,
    )
