"""The question bank: short self-checking questions for every notebook, and a seeded mock interview.

The questions are data, one YAML file per notebook in ``lessonlib/content/quiz/NN.yaml``, a list of
items::

    - id: "08.q1"            # notebook.qN
      topic: policies        # short tag
      kind: choice           # choice (one option) | multi (a set of options) | number
      question: "..."
      options: ["...", "..."]   # for choice/multi
      answer: "..."             # the option text, a list of option texts, or a number
      tolerance: 0.01           # for number: absolute tolerance derived from the question
      hints: ["gentle hint", "more specific hint"]   # never state the answer
      explanation: "why, 1-3 sentences"              # shown by reveal only
      difficulty: medium        # easy | medium | hard (optional while the bank is being tagged)

In a notebook::

    from lessonlib import quiz
    quiz.quick_check("08")            # lists the questions (no answers)
    quiz.check("08.q3", "mixup")      # PASS / TRY AGAIN with a hint, never the answer
    quiz.hint("08.q3"); quiz.hint("08.q3", level=2); quiz.reveal("08.q3")
    round_ = quiz.mock_interview(n=10, seed=7)   # the same seed gives a class the same round
    round_.answer(1, "...")           # check question 1 of the round; round_.score() at the end

A ``choice`` answer may be the option's text (case and surrounding spaces ignored) or its letter as
listed by ``quick_check`` ("b"); a ``multi`` answer is a set/list of texts or letters, or a string of
letters ("ac"); a ``number`` is any number, numpy scalar or one-element tensor (the engine's one
matching rule, ``lessonlib.exercises.match_option``).

Per-learner option order: each learner sees every item's options in an order of their own, drawn from
the learner's seed (``lessonlib.practice.log.learner_seed``: ``$LESSONLIB_LEARNER_SEED``, else a seed
kept in the practice record), so "it is always (b)" is no strategy; letters refer to the order *that
learner* is shown (``options_shown``). Where no seed applies (nbval, CI, tests) the file's order is kept,
so the same run prints the same page.

Exam mode (``exam(n, minutes=...)``): no hints, a clock, options shuffled by the round's seed, no verdict
until ``score()``; only the first well-formed answer to a question counts.

Every checked answer (``check``, a round's ``answer``) is written to the practice record
(``lessonlib.practice.log``), with the hints asked so far; a malformed answer is not counted.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import lessonlib.practice.log as _log
from lessonlib.exercises import (
    NOT_ATTEMPTED,
    PASS,
    Feedback,
    FormatError,
    _option_set,
    _run,
    match_option,
    number,
)
from lessonlib.utils import check_int, check_number, make_generator, randperm

__all__ = [
    "Item",
    "load",
    "bank",
    "item",
    "options_shown",
    "quick_check",
    "check",
    "hint",
    "reveal",
    "mock_interview",
    "exam",
    "MockRound",
]

KINDS = ("choice", "multi", "number")
DIFFICULTIES = ("easy", "medium", "hard")
_LETTERS = string.ascii_lowercase


@dataclass(frozen=True)
class Item:
    """One question of the bank (see the module docstring for the fields)."""

    id: str
    topic: str
    kind: str
    question: str
    answer: Any
    hints: tuple[str, str]
    explanation: str
    options: tuple[str, ...] = ()
    tolerance: float = 0.0
    difficulty: str = ""

    @property
    def notebook(self) -> str:
        return self.id.split(".")[0]


def _validate(raw: dict, source: str) -> Item:
    where = f"{source}: item {raw.get('id', '?')!r}"
    for key in ("id", "topic", "kind", "question", "answer", "hints", "explanation"):
        if key not in raw:
            raise ValueError(f"{where} lacks the field {key!r}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    hints = tuple(raw["hints"])
    if len(hints) != 2 or not all(isinstance(h, str) and h.strip() for h in hints):
        raise ValueError(f"{where}: hints must be two non-empty strings")
    options = tuple(str(o) for o in raw.get("options", ()))
    answer = raw["answer"]
    if kind == "choice":
        if answer not in options:
            raise ValueError(f"{where}: the answer {answer!r} is not one of the options")
    elif kind == "multi":
        answer = tuple(answer) if isinstance(answer, (list, tuple)) else (answer,)
        if not answer or any(a not in options for a in answer):
            raise ValueError(f"{where}: every answer must be one of the options")
    else:
        answer = float(answer)
        if "tolerance" not in raw:
            raise ValueError(f"{where}: a number item needs a tolerance")
    if kind != "number" and len(options) < 2:
        raise ValueError(f"{where}: a {kind} item needs at least two options")
    difficulty = str(raw.get("difficulty", "") or "")
    if difficulty not in ("", *DIFFICULTIES):
        raise ValueError(f"{where}: difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    return Item(
        id=str(raw["id"]),
        topic=str(raw["topic"]),
        kind=kind,
        question=str(raw["question"]).strip(),
        answer=answer,
        hints=hints,  # type: ignore[arg-type]
        explanation=str(raw["explanation"]).strip(),
        options=options,
        tolerance=float(raw.get("tolerance", 0.0)),
        difficulty=difficulty,
    )


def _quiz_dir():
    return resources.files("lessonlib").joinpath("content", "quiz")


def load(notebook: str) -> tuple[Item, ...]:
    """The items of ``lessonlib/content/quiz/<notebook>.yaml`` (``notebook`` like ``"04"``), validated.

    Raises:
        ValueError: for an unknown notebook or a malformed item (naming the file and the item).
        TypeError: for a ``notebook`` that is not a string (e.g. ``4`` for ``"04"``).
    """
    if not isinstance(notebook, str):
        kind = type(notebook).__name__
        raise TypeError(f"notebook must be a two-digit string such as '04', got {kind} {notebook!r:.40}")
    if notebook not in notebooks():
        raise ValueError(f"notebook must be one of {notebooks()}, got {notebook!r:.40}")
    return _load(notebook)


@cache
def _load(notebook: str) -> tuple[Item, ...]:
    import yaml

    path = _quiz_dir().joinpath(f"{notebook}.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    items = tuple(_validate(r, f"{notebook}.yaml") for r in raw)
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{notebook}.yaml: duplicate item ids")
    return items


def notebooks() -> list[str]:
    """The notebooks that have a quiz file, sorted (``["00", "01", ...]``)."""
    return sorted(p.name[:-5] for p in _quiz_dir().iterdir() if p.name.endswith(".yaml"))


def bank(topics: Any = None) -> list[Item]:
    """Every item of every notebook, in order; ``topics`` (a tag or a collection of tags) filters."""
    items = [i for nb in notebooks() for i in load(nb)]
    if topics is None:
        return items
    known = {i.topic for i in items}
    if isinstance(topics, str):
        wanted = {topics}
    elif isinstance(topics, (list, tuple, set, frozenset)) and all(isinstance(t, str) for t in topics) and topics:
        wanted = set(topics)
    else:
        raise TypeError(
            f"topics must be None, a topic tag (a string) or a non-empty list of tags such as "
            f"{sorted(known)[:2]}, got {topics!r:.60}"
        )
    if not wanted <= known:
        raise ValueError(f"topics must be among {sorted(known)}, got {sorted(wanted - known)}")
    return [i for i in items if i.topic in wanted]


def item(item_id: str) -> Item:
    """The item with id ``"NN.qK"``.

    Raises:
        TypeError: ``item_id`` is not a string. ValueError: no item has that id.
    """
    if not isinstance(item_id, str):
        raise TypeError(f"item_id must be an id string such as '04.q3', got {type(item_id).__name__} {item_id!r:.40}")
    nb = item_id.split(".")[0]
    for it in load(nb) if nb in notebooks() else ():
        if it.id == item_id:
            return it
    raise ValueError(f"item_id must be an id such as '04.q3', got {item_id!r:.40}")


def _order(it: Item, seed: int | None) -> tuple[str, ...]:
    """``it``'s options in the order shown for ``seed`` (the file's order for ``None``)."""
    if seed is None or it.kind == "number":
        return it.options
    import hashlib

    key = int.from_bytes(hashlib.sha256(f"{seed}:{it.id}".encode()).digest()[:6], "big")
    perm = randperm(len(it.options), generator=make_generator(key)).tolist()
    return tuple(it.options[i] for i in perm)


def options_shown(item_id: str, seed: int | None = None) -> tuple[str, ...]:
    """The options of ``item_id`` in the order this learner is shown them: letter (a) is the first.

    ``seed`` (default: ``practice.log.learner_seed()``, None where no seed applies) fixes the order.
    """
    it = item(item_id)
    return _order(it, _log.learner_seed() if seed is None else seed)


def _markdown(it: Item, label: str | None = None, seed: int | None = None) -> str:
    head = f"**{label or it.id}** *({it.topic})* {it.question}"
    if it.kind == "number":
        return head + "  \n*Answer with a number.*"
    how = "one option" if it.kind == "choice" else "every option that applies (a set)"
    opts = "\n".join(f"   ({_LETTERS[j]}) {o}" for j, o in enumerate(_order(it, seed)))
    return f"{head}  \n*Pick {how}:*\n\n{opts}"


def _display(md: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(md))
            return
    except ImportError:  # pragma: no cover
        pass
    print(md)


def quick_check(notebook: str) -> None:
    """Show notebook ``notebook``'s quick-check questions (no answers) and how to answer them."""
    items = load(notebook)
    seed = _log.learner_seed()
    _log.shown(it.id for it in items)
    parts = [
        f"### Quick check: {len(items)} questions",
        f'Answer with `quiz.check("{items[0].id}", answer)`; stuck? `quiz.hint("{items[0].id}")`, then '
        f'`quiz.hint("{items[0].id}", level=2)`, then `quiz.reveal("{items[0].id}")`.',
    ]
    parts += [_markdown(it, seed=seed) for it in items]
    _display("\n\n".join(parts))


def _resolve(it: Item, pick: Any, shown: tuple[str, ...] | None = None) -> str:
    """The option ``pick`` names (``shown``: the order the letters refer to; default the file's)."""
    shown = it.options if shown is None else shown
    if not isinstance(pick, str):
        raise FormatError(f"each pick must be an option's text or letter, got {type(pick).__name__}.")
    found = match_option(pick, shown, letters=True)
    if found is None:
        raise FormatError(f"{pick!r} is not one of the options; give its text or its letter (a, b, ...).")
    return found


def _grade(it: Item, answer: Any, seed: int | None = None, *, hints: bool = True) -> str | None:
    """``None`` when right, else what is wrong (with hint 1 unless ``hints`` is False); ``seed``: the
    order the options were shown in, which the letters refer to."""
    tip = f" Hint: {it.hints[0]}" if hints else ""
    if it.kind == "number":
        return number(answer, it.answer, tol=it.tolerance, hint=tip.strip())
    shown = _order(it, seed)
    if it.kind == "choice":
        if not isinstance(answer, str):
            raise FormatError("pick one option: its text or its letter, as a string.")
        return None if _resolve(it, answer, shown) == it.answer else f"not this one.{tip}"
    if isinstance(answer, str):
        text = answer.strip().lower()
        letters = text.replace(",", "").replace(" ", "")
        is_option = match_option(answer, shown, letters=True) is not None and len(letters) > 1
        if not is_option and letters and all(c in _LETTERS[: len(shown)] for c in letters):
            picks = list(letters)
        else:
            picks = [answer]
    else:
        picks = list(_option_set(answer, "your selection"))
    picked = {_resolve(it, p, shown) for p in picks}
    want = set(it.answer)
    if picked == want:
        return None
    extra, missing = len(picked - want), len(want - picked)
    parts = []
    if extra:
        parts.append(f"{extra} of your picks {'does' if extra == 1 else 'do'} not belong")
    if missing:
        parts.append(f"{missing} {'is' if missing == 1 else 'are'} missing")
    return " and ".join(parts) + f".{tip}"


def check(item_id: str, answer: Any, *, must_pass: bool = False) -> Feedback:
    """Check ``answer`` to bank item ``item_id``: PASS, or TRY AGAIN with a hint (never the answer)."""
    it = item(item_id)
    seed = _log.learner_seed()
    return _run(
        f"{it.id}",
        answer,
        lambda a: _grade(it, a, seed),
        function=False,
        pass_message="right. `quiz.reveal(...)` shows the explanation.",
        must_pass=must_pass,
        item_id=it.id,
    )


def hint(item_id: str, level: int = 1) -> str:
    """Print (and return) hint ``level`` (1 or 2) of item ``item_id``."""
    it = item(item_id)
    level = check_int(level, "level", low=1, high=2)
    _log.hint_used(it.id, level)
    print(f"Hint {level} for {it.id}: {it.hints[level - 1]}")
    return it.hints[level - 1]


def _answer_text(it: Item) -> str:
    if it.kind == "number":
        return f"{it.answer:g} (± {it.tolerance:g})"
    if it.kind == "choice":
        return it.answer
    return "; ".join(it.answer)


def reveal(item_id: str) -> str:
    """Show the answer of item ``item_id`` with its explanation (a deliberate step); returns the text."""
    it = item(item_id)
    from lessonlib.exercises import is_student_copy

    if is_student_copy():
        msg = f"{it.id}: answers are disabled in this student copy (graded homework); `quiz.hint` still works."
        print(msg)
        return msg
    md = f"**{it.id}** answer: {_answer_text(it)}\n\n{it.explanation}"
    _display(md)
    return md


class MockRound:
    """A mock-interview round: ``items`` in order; ``answer(k, value)`` checks question k (1-based),
    ``ask(k)`` shows it, ``score()`` returns ``(right, asked)`` and prints a summary naming the questions.

    The first well-formed answer to each question is scored (an answer in the wrong form, such as a
    word for a number or a pick that is not an option, is told so and does not count). In exam mode
    (``exam``) hints are refused, options are shuffled by the round's seed, answers get no verdict until
    ``score()``, and answers after ``minutes`` are not scored.
    """

    def __init__(self, items: list[Item], seed: int | None, *, exam: bool = False, minutes: float | None = None):
        import time

        self.items = items
        self.seed = seed
        self.exam = exam
        self.minutes = minutes
        self.started = time.monotonic()
        self.results: dict[int, bool] = {}
        self.late: list[int] = []
        self._order_seed = seed if exam else _log.learner_seed()
        _log.shown(it.id for it in items)

    def _get(self, k: int) -> Item:
        k = check_int(k, "k", low=1, high=len(self.items))
        return self.items[k - 1]

    def minutes_left(self) -> float | None:
        """Minutes left on the clock (None when the round is not timed; never below 0)."""
        import time

        if self.minutes is None:
            return None
        return max(0.0, self.minutes - (time.monotonic() - self.started) / 60)

    def ask(self, k: int) -> None:
        """Show question ``k`` of the round."""
        it = self._get(k)
        _display(_markdown(it, f"Q{k} of {len(self.items)} ({it.id})", seed=self._order_seed))

    def answer(self, k: int, value: Any) -> Feedback:
        """Check the answer to question ``k``; the first well-formed answer to each question is scored."""
        it = self._get(k)
        label = f"Q{k} ({it.id})"
        if not self.exam:
            fb = _run(label, value, lambda a: _grade(it, a, self._order_seed), function=False, item_id=it.id)
            if fb.outcome != NOT_ATTEMPTED and not fb.malformed and k not in self.results:
                self.results[k] = fb.outcome == PASS
            return fb
        import contextlib
        import io

        if k in self.results or k in self.late:
            return report_exam(label, None, "already answered: the first answer counts.")
        if self.minutes_left() == 0.0:
            self.late.append(k)
            return report_exam(label, None, "time is up: this answer is not scored. `score()` totals the round.")
        with contextlib.redirect_stdout(io.StringIO()):
            fb = _run(label, value, lambda a: _grade(it, a, self._order_seed, hints=False), function=False)
        if fb.outcome == NOT_ATTEMPTED or fb.malformed:
            return report_exam(label, None, fb.message)
        self.results[k] = fb.outcome == PASS
        _log.attempt(it.id, fb.outcome == PASS, hints=0)
        left = self.minutes_left()
        clock = f"; {left:.0f} min left" if left is not None else ""
        return report_exam(label, None, f"answer recorded ({len(self.results)} of {len(self.items)}{clock}).")

    def hint(self, k: int, level: int = 1) -> str:
        """Hint ``level`` of question ``k`` (refused in exam mode)."""
        it = self._get(k)
        if self.exam:
            print(f"Q{k}: no hints in exam mode (the round is scored as an interview would be).")
            return ""
        return hint(it.id, level)

    def score(self) -> tuple[int, int]:
        """``(right at the first try, answered)``; printed with the questions to revisit (ids and topics)."""
        right = sum(self.results.values())
        asked = len(self.results)
        wrong = [k for k, ok in sorted(self.results.items()) if not ok]
        named = ", ".join(f"Q{k} {self.items[k - 1].id} ({self.items[k - 1].topic})" for k in wrong)
        tail = f"; revisit {named}" if wrong else ""
        skipped = [k for k in range(1, len(self.items) + 1) if k not in self.results]
        if skipped:
            tail += f"; not answered: {', '.join(f'Q{k} {self.items[k - 1].id}' for k in skipped)}"
        kind = "Exam" if self.exam else "Mock interview"
        print(f"{kind}: {right} of {asked} answered right at the first try ({len(self.items)} asked){tail}.")
        return right, asked

    def _ipython_display_(self) -> None:
        from lessonlib.widgets import is_static

        if is_static():
            how = "no hints, " + (f"{self.minutes:g} minutes, " if self.minutes else "") if self.exam else ""
            head = (
                f"### {'Exam' if self.exam else 'Mock interview'}: {len(self.items)} questions "
                f"({how}seed {self.seed})\n\n"
                "Answer question k with `round_.answer(k, value)`; `round_.score()` totals the round."
            )
            parts = [_markdown(it, f"Q{k}", seed=self._order_seed) for k, it in enumerate(self.items, 1)]
            _display("\n\n".join([head] + parts))
            return
        self._widget()

    def _widget(self) -> None:  # pragma: no cover - needs a live kernel
        import ipywidgets as w
        from IPython.display import Markdown, display

        state = {"k": 1}
        out, feedback = w.Output(), w.Output()
        progress = w.IntProgress(value=0, min=0, max=len(self.items), description="answered")
        box_in = w.Text(placeholder="your answer (option text, letter(s) or a number)")
        submit, nxt = w.Button(description="Check"), w.Button(description="Next question")

        def show():
            out.clear_output()
            feedback.clear_output()
            box_in.value = ""
            with out:
                it = self.items[state["k"] - 1]
                display(Markdown(_markdown(it, f"Q{state['k']} of {len(self.items)}", seed=self._order_seed)))

        def on_submit(_b):
            it = self.items[state["k"] - 1]
            value: Any = box_in.value
            if it.kind == "number":
                try:
                    value = float(value)
                except ValueError:
                    pass
            feedback.clear_output()
            with feedback:
                self.answer(state["k"], value)
            progress.value = len(self.results)

        def on_next(_b):
            if state["k"] < len(self.items):
                state["k"] += 1
                show()
            else:
                feedback.clear_output()
                with feedback:
                    self.score()

        submit.on_click(on_submit)
        nxt.on_click(on_next)
        show()
        display(w.VBox([progress, out, w.HBox([box_in, submit, nxt]), feedback]))


def report_exam(label: str, passed: bool | None, message: str) -> Feedback:
    """Print an exam-mode line (no verdict: ``[EXAM] label: message``) and return it as a ``Feedback``."""
    fb = Feedback(label, passed, message, "EXAM")
    print(f"[EXAM] {label}: {message}")
    return fb


def _draw(n: Any, seed: int | None, topics: Any) -> tuple[list[Item], int]:
    pool = bank(topics)
    n = check_int(n, "n", low=1)
    if n > len(pool):
        where = f"on topics {topics!r}" if topics is not None else "in the bank"
        print(f"Note: only {len(pool)} questions {where}; the round has {len(pool)} instead of {n}.")
        n = len(pool)
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**31)
    order = randperm(len(pool), generator=make_generator(seed))[:n].tolist()
    return [pool[i] for i in order], seed


def mock_interview(n: int = 10, seed: int | None = None, topics: Any = None) -> MockRound:
    """Draw a mixed round of ``n`` questions from the whole bank (optionally only ``topics``).

    The same ``seed`` draws the same round (a class can share one); ``seed=None`` draws a fresh one.
    A pool smaller than ``n`` (a narrow ``topics=``) gives a shorter round, with a note.
    Displayed in a notebook it asks the questions one at a time (a static list when headless).
    """
    items, seed = _draw(n, seed, topics)
    return MockRound(items, seed)


def exam(n: int = 10, minutes: float | None = None, seed: int | None = None, topics: Any = None) -> MockRound:
    """An exam round: like ``mock_interview`` but no hints, options shuffled by ``seed``, no verdict
    until ``score()``, and a clock of ``minutes`` (default 1.5 per question; answers after it are not scored).
    """
    items, seed = _draw(n, seed, topics)
    minutes = 1.5 * len(items) if minutes is None else check_number(minutes, "minutes", low=0.5)
    return MockRound(items, seed, exam=True, minutes=minutes)
