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

``audit()`` runs every buggy snippet and every model answer through its check: each bug must fail
and each answer must pass (a bug that passes its own check would be a defect of the course).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from lessonlib.exercises import Feedback, WrongAnswer, _outcome_of_exception, _run, cases

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


def _snippet(name: str) -> Snippet:
    if name not in SNIPPETS:
        raise ValueError(f"name must be one of {names()}, got {name!r}")
    return SNIPPETS[name]


def _label(s: Snippet) -> str:
    return f"Drill {s.number} · {s.title}"


def _buggy(name: str) -> Callable:
    from lessonlib.review import buggy

    return getattr(buggy, _snippet(name).function)


def _answer(name: str) -> Callable:
    from lessonlib.review import answers

    return getattr(answers, _snippet(name).function)


def _probe(fn: Callable, name: str) -> tuple[bool, int, str]:
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


@cache
def _module_header(module: str) -> dict[str, str]:
    """``{bound name: the statement that binds it}`` for the imports and constants at the top of ``module``."""
    import importlib

    src = inspect.getsource(importlib.import_module(f"lessonlib.review.{module}"))
    tree = ast.parse(src)
    bound: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                bound[name] = f"from {node.module} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for t in node.targets:
                bound[t.id] = ast.get_source_segment(src, node) or ""
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
            bound[node.name] = "\n".join(src.splitlines()[node.lineno - 1 - len(node.decorator_list) : node.end_lineno])
    return bound


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def _self_contained(fn: Callable, module: str) -> str:
    """The source of ``fn`` preceded by exactly the imports, constants and private helpers of ``module`` it uses."""
    src = inspect.getsource(fn).rstrip()
    header = _module_header(module)
    used: list[str] = []
    pending = [src]
    while pending:
        text = pending.pop()
        for n, stmt in header.items():
            if n not in used and _uses(text, n):
                used.append(n)
                if not stmt.startswith(("import ", "from ")):
                    pending.append(stmt)
    merged: dict[str, list[str]] = {}
    plain: list[str] = []
    for n in used:
        line = header[n]
        if line.startswith("from "):
            mod, name = line[5:].split(" import ")
            merged.setdefault(mod, []).append(name)
        elif line.startswith("import "):
            plain.append(line)
    lines = sorted(set(plain)) + [f"from {m} import {', '.join(sorted(set(ns)))}" for m, ns in sorted(merged.items())]
    order = list(header)
    constants = [header[n] for n in sorted(used, key=order.index) if not header[n].startswith(("import ", "from "))]
    constants = [c for c in constants if not c.startswith("def ")]
    helpers = [header[n] for n in sorted(used, key=order.index) if header[n].startswith("def ")]
    blocks = ["\n".join(lines)] if lines else []
    if constants:
        blocks.append("\n".join(constants))
    blocks += helpers
    return "\n\n\n".join(blocks + [src])


def source(name: str) -> str:
    """The buggy snippet ``name`` as self-contained text: its imports, then the function as submitted.

    Pasted unchanged into a cell it defines the function, so it can be fixed and passed to ``check``.
    """
    return _self_contained(_buggy(name), "buggy")


def show(name: str) -> None:
    """Display the buggy snippet ``name`` as a code block: its imports and its source, as submitted for review."""
    from IPython.display import Markdown, display

    s = _snippet(name)
    display(Markdown(f"**{_label(s)}** — `{s.function}`, submitted for review:\n\n```python\n{source(name)}\n```"))


def demonstrate(name: str) -> Feedback:
    """Run the check on the buggy snippet and print the concrete case that exposes its bug.

    Raises:
        AssertionError: if the buggy snippet passes its own check (that would be a defect of the course).
    """
    s = _snippet(name)
    passed, _, message = _probe(_buggy(name), name)
    if passed:
        raise AssertionError(f"{_label(s)}: the buggy snippet passes its own check; the check is too weak")
    fb = Feedback(_label(s), False, message, "BUG SHOWN")
    print(fb)
    return fb


def check(name: str, fn: Any, *, must_pass: bool = False) -> Feedback:
    """Check a learner's fixed version of snippet ``name`` with the same cases that expose the bug.

    ``fn`` is the corrected function (same signature as the snippet). The exercise engine reports it:
    NOT ATTEMPTED for ``...``, ERROR IN YOUR CODE, RETURNED NONE, TRY AGAIN (with the failing case) or
    PASS. Prints one line; with ``must_pass=True`` anything but PASS raises ``ExerciseFailed``.
    """
    from lessonlib.review.checks import CASES

    s = _snippet(name)
    named = CASES[name]
    return _run(
        _label(s),
        fn,
        lambda f: cases(f, named),
        function=True,
        what=f"your `{s.function}`",
        pass_message=f"all {len(named)} checks pass.",
        must_pass=must_pass,
        placeholder="paste the function into this cell, fix it, and pass it instead of `...`.",
    )


def reveal_answer(name: str, *, static: bool | None = None) -> str:
    """Show the explanation and the model answer of snippet ``name`` (a deliberate step; returns the markdown).

    ``static`` is accepted for compatibility and ignored: the answer is shown only when asked for, and no
    stored notebook cell asks for it.
    """
    s = _snippet(name)
    src = _self_contained(_answer(name), "answers")
    body = f"**{_label(s)}, model answer.** Bug class: {s.bug_class}.\n\n{s.explanation}\n\n```python\n{src}\n```"
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
        bug_passed, n, _ = _probe(_buggy(name), name)
        ans_passed, _, _ = _probe(_answer(name), name)
        rows.append(AuditRow(s.number, name, s.bug_class, not bug_passed, ans_passed, n))
    return rows
