"""Self-checking exercises: small checkers that explain what went wrong, never just "wrong".

Conventions (all notebooks):

* A learner's answer cell starts with ``...`` (Python's Ellipsis) as the placeholder. A checker given
  ``...`` reports "not attempted yet" and does not fail, so an untouched notebook runs top to bottom.
* A checker prints one line of feedback and returns a ``Feedback``. With ``must_pass=True`` a failure
  raises ``ExerciseFailed`` (solution cells use it, so CI proves every model answer passes its check).
* Per-notebook checkers live in ``lessonlib.exercises.nbNN`` and are built from the generic ones here.
* Solutions are collapsed cells tagged ``solution`` in the notebook (the student copy removes them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "Feedback",
    "ExerciseFailed",
    "is_placeholder",
    "report",
    "check_number",
    "check_choice",
    "check_tensor",
    "check_function",
]


class ExerciseFailed(AssertionError):
    """Raised by a checker called with ``must_pass=True`` when the answer is wrong or missing."""


@dataclass(frozen=True)
class Feedback:
    """The outcome of one check: ``passed`` is True, False, or None (not attempted)."""

    exercise: str
    passed: bool | None
    message: str

    def __bool__(self) -> bool:
        return bool(self.passed)

    def __str__(self) -> str:
        mark = {True: "PASS", False: "TRY AGAIN", None: "NOT ATTEMPTED"}[self.passed]
        return f"[{mark}] {self.exercise}: {self.message}"


def is_placeholder(answer: Any) -> bool:
    """True for the ``...`` placeholder (or None) left in an exercise cell."""
    return answer is Ellipsis or answer is None


def report(exercise: str, passed: bool | None, message: str, *, must_pass: bool = False) -> Feedback:
    """Print and return a ``Feedback``; raise ``ExerciseFailed`` if ``must_pass`` and it did not pass."""
    fb = Feedback(exercise, passed, message)
    print(fb)
    if must_pass and passed is not True:
        raise ExerciseFailed(str(fb))
    return fb


def _not_attempted(exercise: str, must_pass: bool) -> Feedback:
    return report(exercise, None, "replace the `...` with your answer and run the cell again.", must_pass=must_pass)


def check_number(
    exercise: str,
    answer: Any,
    expected: float,
    *,
    rel_tol: float = 1e-2,
    abs_tol: float = 0.0,
    hint: str = "",
    must_pass: bool = False,
) -> Feedback:
    """Check a numeric answer against ``expected`` within ``rel_tol``/``abs_tol``.

    The message says the expected value, what came, and ``hint`` when it is wrong.
    """
    if is_placeholder(answer):
        return _not_attempted(exercise, must_pass)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return report(exercise, False, f"expected a number, got {type(answer).__name__}.", must_pass=must_pass)
    if math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol):
        return report(exercise, True, f"{value:.4g} is right.", must_pass=must_pass)
    direction = "too large" if value > expected else "too small"
    msg = f"{value:.4g} is {direction}; expected about {expected:.4g} (within {rel_tol:.0%})."
    return report(exercise, False, f"{msg} {hint}".strip(), must_pass=must_pass)


def check_choice(
    exercise: str,
    answer: Any,
    expected: Iterable[Any],
    *,
    reasons: Mapping[Any, str] | None = None,
    options: Mapping[Any, str] | None = None,
    must_pass: bool = False,
) -> Feedback:
    """Check a set of picked options (e.g. "which transforms preserve the label?") against ``expected``.

    ``options`` (the menu shown to the learner, ``{option: why it belongs or not}``) doubles as the
    reasons, and a pick that is not on the menu (a typo) is named as such; ``reasons`` adds or
    overrides explanations. Every wrongly included or missed option is listed with its reason.
    """
    if is_placeholder(answer):
        return _not_attempted(exercise, must_pass)
    if isinstance(answer, str):
        answer = {answer}
    try:
        picked = set(answer)
    except TypeError:
        return report(exercise, False, f"expected a set of options, got {answer!r}.", must_pass=must_pass)
    want = set(expected)
    if picked == want:
        return report(exercise, True, f"exactly right: {sorted(map(str, want))}.", must_pass=must_pass)
    menu = dict(options or {})
    reasons = {**menu, **(reasons or {})}
    if menu:
        for item in picked - set(menu):
            reasons[item] = f"not one of the options {sorted(map(str, menu))}; check the spelling"
    parts = []
    for item in sorted(picked - want, key=str):
        parts.append(f"{item!s} should not be picked ({reasons.get(item, 'it does not fit')})")
    for item in sorted(want - picked, key=str):
        parts.append(f"{item!s} is missing ({reasons.get(item, 'it belongs')})")
    return report(exercise, False, "; ".join(parts) + ".", must_pass=must_pass)


def check_tensor(
    exercise: str,
    answer: Any,
    expected: torch.Tensor,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
    must_pass: bool = False,
) -> Feedback:
    """Check a tensor answer: shape first, then values (reports the largest difference and where)."""
    if is_placeholder(answer):
        return _not_attempted(exercise, must_pass)
    if not isinstance(answer, torch.Tensor):
        return report(exercise, False, f"expected a tensor, got {type(answer).__name__}.", must_pass=must_pass)
    if tuple(answer.shape) != tuple(expected.shape):
        msg = f"shape {tuple(answer.shape)} but expected {tuple(expected.shape)}. {hint}".strip()
        return report(exercise, False, msg, must_pass=must_pass)
    a = answer.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    if torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
        return report(exercise, True, "values match.", must_pass=must_pass)
    diff = (a - e).abs().nan_to_num(nan=float("inf"))
    where = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    msg = (
        f"largest difference {float(diff.max()):.3g} at index {where} "
        f"(got {float(a[where]):.4g}, expected {float(e[where]):.4g}). {hint}"
    )
    return report(exercise, False, msg.strip(), must_pass=must_pass)


def check_function(
    exercise: str,
    fn: Any,
    cases: Iterable[tuple[str, Callable[[Callable[..., Any]], str | None]]],
    *,
    must_pass: bool = False,
) -> Feedback:
    """Check a learner's function against named cases.

    Each case is ``(description, probe)``; ``probe(fn)`` returns ``None`` when the function behaves,
    or a sentence saying what went wrong. Exceptions inside a probe are reported with their message.
    The first failing case is reported, so feedback is specific.
    """
    if is_placeholder(fn):
        return _not_attempted(exercise, must_pass)
    if not callable(fn):
        return report(exercise, False, f"expected a function, got {type(fn).__name__}.", must_pass=must_pass)
    n = 0
    for description, probe in cases:
        n += 1
        try:
            problem = probe(fn)
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            problem = f"raised {type(exc).__name__}: {exc}"
        if problem:
            return report(exercise, False, f"{description}: {problem}", must_pass=must_pass)
    return report(exercise, True, f"all {n} checks pass.", must_pass=must_pass)
