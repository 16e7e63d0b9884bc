"""Code review drills for notebook 07: plausible augmentation code with one silent bug each.

This package is the one place where deliberately wrong code lives. It is imported by notebook 07 and
its tests only; no other lessonlib module imports it, and the package's ``__all__`` exports no buggy
function, so nobody gets one by ``from lessonlib.review import *``.

* ``buggy`` — the snippets as a colleague might submit them (read them with ``show``).
* ``lessonlib/content/review_drills.yaml`` — each drill's title, bug class and explanation (data).
* ``checks`` — for each snippet, concrete cases that expose its bug (``demonstrate``) and verify a fix
  (``check``), with feedback that says what failed and why it matters.
* ``answers`` — model answers with the same names and signatures, revealed only on request
  (``reveal_answer``).
* ``drills`` — the drills as ``Snippet`` rows, ``probe`` (run one drill's cases) and ``audit``;
  ``sources`` — a function's source with exactly the imports it needs (what ``show`` displays);
  ``measure`` — the size of two bugs in numbers.

``audit()`` runs every buggy snippet and every model answer through its check: each bug must fail
and each answer must pass (a bug that passes its own check would be a defect of the course).
"""

from __future__ import annotations

from typing import Any

from lessonlib.exercises import Feedback, _run, cases
from lessonlib.review.drills import (
    SNIPPETS,
    AuditRow,
    Snippet,
    answer_function,
    audit,
    buggy_function,
    label,
    names,
    probe,
    snippet,
)
from lessonlib.review.sources import self_contained

__all__ = [
    "Snippet",
    "SNIPPETS",
    "names",
    "source",
    "show",
    "demonstrate",
    "check",
    "reveal_answer",
    "audit",
    "AuditRow",
]


def source(name: str) -> str:
    """The buggy snippet ``name`` as self-contained text: its imports, then the function as submitted.

    Pasted unchanged into a cell it defines the function, so it can be fixed and passed to ``check``.
    """
    return self_contained(buggy_function(name), "buggy")


def show(name: str) -> None:
    """Display the buggy snippet ``name`` as a code block: its imports and its source, as submitted for review."""
    from IPython.display import Markdown, display

    s = snippet(name)
    display(Markdown(f"**{label(s)}** — `{s.function}`, submitted for review:\n\n```python\n{source(name)}\n```"))


def demonstrate(name: str) -> Feedback:
    """Run the check on the buggy snippet and print the concrete case that exposes its bug.

    Raises:
        AssertionError: if the buggy snippet passes its own check (that would be a defect of the course).
    """
    s = snippet(name)
    passed, _, message = probe(buggy_function(name), name)
    if passed:
        raise AssertionError(f"{label(s)}: the buggy snippet passes its own check; the check is too weak")
    fb = Feedback(label(s), False, message, "BUG SHOWN")
    print(fb)
    return fb


def check(name: str, fn: Any, *, must_pass: bool = False) -> Feedback:
    """Check a learner's fixed version of snippet ``name`` with the same cases that expose the bug.

    ``fn`` is the corrected function (same signature as the snippet). The exercise engine reports it:
    NOT ATTEMPTED for ``...``, ERROR IN YOUR CODE, RETURNED NONE, TRY AGAIN (with the failing case) or
    PASS. Prints one line; with ``must_pass=True`` anything but PASS raises ``ExerciseFailed``.
    """
    from lessonlib.review.checks import CASES

    s = snippet(name)
    named = CASES[name]
    return _run(
        label(s),
        fn,
        lambda f: cases(f, named),
        function=True,
        what=f"your `{s.function}`",
        pass_message=f"all {len(named)} checks pass.",
        must_pass=must_pass,
        placeholder="paste the function into this cell, fix it, and pass it instead of `...`.",
        item_id=f"07.d{s.number}",  # its practice id (lessonlib.practice.items): the attempt is recorded
    )


def reveal_answer(name: str, *, static: bool | None = None) -> str:
    """Show the explanation and the model answer of snippet ``name`` (a deliberate step; returns the markdown).

    ``static`` is accepted for compatibility and ignored: the answer is shown only when asked for, and no
    stored notebook cell asks for it.
    """
    s = snippet(name)
    src = self_contained(answer_function(name), "answers")
    body = f"**{label(s)}, model answer.** Bug class: {s.bug_class}.\n\n{s.explanation}\n\n```python\n{src}\n```"
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(body))
            return body
    except ImportError:  # pragma: no cover
        pass
    print(body)
    return body
