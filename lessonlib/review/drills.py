"""The drills of notebook 07 as data (``content/review_drills.yaml``) and the audit that runs each one.

``probe(fn, name)`` runs a drill's cases (``checks.CASES``) on a function; ``audit()`` runs every buggy
snippet and every model answer: each bug must fail and each answer must pass.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from lessonlib.exercises import WrongAnswer, _outcome_of_exception, cases

__all__ = ["Snippet", "SNIPPETS", "names", "snippet", "label", "buggy_function", "answer_function"]
__all__ += ["probe", "AuditRow", "audit"]


@dataclass(frozen=True)
class Snippet:
    """One review drill.

    Attributes:
        number: position in the notebook (1-based).
        function: the function's name, the same in ``buggy`` and ``answers``.
        title: a short name for the drill.
        bug_class: the family the bug belongs to (each drill is a different one).
        explanation: what is wrong, why nothing crashes, and the fix; revealed with the answer.
    """

    number: int
    function: str
    title: str
    bug_class: str
    explanation: str


def _load_snippets() -> dict[str, Snippet]:
    """The drills from ``lessonlib/content/review_drills.yaml`` (content as data), in notebook order."""
    from importlib import resources

    import yaml

    text = resources.files("lessonlib").joinpath("content", "review_drills.yaml").read_text(encoding="utf-8")
    rows = yaml.safe_load(text)
    return {
        r["name"]: Snippet(i + 1, r["function"], r["title"], r["bug_class"], " ".join(r["explanation"].split()))
        for i, r in enumerate(rows)
    }


SNIPPETS: dict[str, Snippet] = _load_snippets()


def names() -> list[str]:
    """The drill names in notebook order."""
    return list(SNIPPETS)


def snippet(name: str) -> Snippet:
    if name not in SNIPPETS:
        raise ValueError(f"name must be one of {names()}, got {name!r}")
    return SNIPPETS[name]


def label(s: Snippet) -> str:
    return f"Drill {s.number} · {s.title}"


def buggy_function(name: str) -> Callable:
    """The submitted (buggy) function of drill ``name``."""
    return getattr(importlib.import_module("lessonlib.review.buggy"), snippet(name).function)


def answer_function(name: str) -> Callable:
    """The model answer of drill ``name``: the same function with its bug fixed."""
    return getattr(importlib.import_module("lessonlib.review.answers"), snippet(name).function)


def probe(fn: Callable, name: str) -> tuple[bool, int, str]:
    """Run ``name``'s cases on ``fn`` unwrapped (our own code): ``(passed, cases run, message)``."""
    from lessonlib.review.checks import CASES

    named = CASES[name]
    try:
        problem = cases(fn, named)
    except WrongAnswer as exc:
        problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - the buggy snippet may raise; that exposes it too
        problem = _outcome_of_exception(exc)[1]
    if problem:
        return False, len(named), problem
    return True, len(named), f"all {len(named)} checks pass."


@dataclass(frozen=True)
class AuditRow:
    """One line of ``audit()``: whether the buggy snippet fails and the model answer passes."""

    number: int
    name: str
    bug_class: str
    bug_caught: bool
    answer_passes: bool
    cases: int


def audit() -> list[AuditRow]:
    """Run every buggy snippet and every model answer through its check (nothing is printed).

    Each row should read ``bug_caught=True`` and ``answer_passes=True``; the tests assert it.
    """
    rows = []
    for name, s in SNIPPETS.items():
        bug_passed, n, _ = probe(buggy_function(name), name)
        ans_passed, _, _ = probe(answer_function(name), name)
        rows.append(AuditRow(s.number, name, s.bug_class, not bug_passed, ans_passed, n))
    return rows
