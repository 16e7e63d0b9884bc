"""Practice that remembers: every attempt recorded, every item scheduled by FSRS, exportable to Anki.

In a notebook or a terminal::

    from lessonlib import practice
    practice.record("04.q3", "pass")                    # a quick-check item, right at the first try
    practice.record("05.2", "pass-after-hint", hints=1)  # an exercise passed after one hint
    practice.record("07.m1", "self-graded", score=3/5)   # an open question: 3 of 5 rubric points ticked
    practice.today()                                     # what is due now, weakest topics first
    practice.stats()                                     # attempts, pass rate, due count per notebook

    practice.session()                                   # today's items in the notebook, with progress
    practice.study_minutes(); print(practice.format_plan(practice.plan(3)))   # time per notebook, a plan

``python -m lessonlib.practice today|mock|plan|stats|export-anki`` does the same in a terminal.
Checkers record every graded attempt themselves (``lessonlib.practice.log``; off under tests and nbval).

How a verdict becomes a review (``rating_for``; FSRS's four ratings are Again < Hard < Good < Easy):

* ``"pass"`` with no hint → Good; ``"pass-after-hint"`` (or a pass with hints > 0) → Hard;
  ``"fail"`` → Again;
* ``"self-graded"`` (open questions, ``score`` = share of rubric points ticked): ≥ 0.9 → Easy,
  ≥ 0.6 → Good, ≥ 0.3 → Hard, else Again.

The schedule is the ``fsrs`` package's (the scheduler Anki uses), with fuzzing off so the same history
gives the same due dates. The record is a SQLite file outside the repository (``store.default_path``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from lessonlib.practice.items import PracticeItem, catalogue, get
from lessonlib.practice.log import rating_for, recording_enabled, review
from lessonlib.practice.store import PracticeStoreError, Store, default_path
from lessonlib.practice.studyplan import format_plan, plan, study_minutes

__all__ = [
    "PracticeItem",
    "PracticeStoreError",
    "Practice",
    "Review",
    "catalogue",
    "get",
    "rating_for",
    "recording_enabled",
    "record",
    "today",
    "stats",
    "default_path",
    "plan",
    "format_plan",
    "study_minutes",
    "session",
]


@dataclass(frozen=True)
class Review:
    """What ``record`` did: the item, the rating it gave and when the item is due next (UTC)."""

    item: str
    rating: str
    due: dt.datetime


def _utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.timezone.utc)
    if not isinstance(at, dt.datetime):
        raise TypeError(f"at must be a datetime, got {type(at).__name__}")
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)


class Practice:
    """A learner's practice on one record (``Store``): record attempts, ask what is due, see stats."""

    def __init__(self, store: Store | str | None = None) -> None:
        from fsrs import Scheduler

        self.store = store if isinstance(store, Store) else Store(store)
        self.scheduler = Scheduler(enable_fuzzing=False)

    def _card(self, item_id: str):
        from fsrs import Card

        text = self.store.card_json(item_id)
        return Card() if text is None else Card.from_json(text)

    def record(
        self,
        item_id: str,
        verdict: str,
        *,
        hints: int = 0,
        seconds: float | None = None,
        score: float | None = None,
        at: dt.datetime | None = None,
    ) -> Review:
        """Record one attempt at ``item_id`` and reschedule its card.

        Args:
            item_id: a practice id (``"04.q3"``, ``"04.2"``, ``"07.o1"``, ``"07.m1"``; see ``items``).
            verdict: ``"pass"``, ``"pass-after-hint"``, ``"fail"`` or ``"self-graded"``.
            hints: hints used before the verdict. seconds: time taken (optional, >= 0).
            score: for ``"self-graded"``, the share of rubric points ticked, in [0, 1].
            at: when (default now; naive datetimes are read as UTC).

        Returns:
            ``Review`` with the rating given and the next due date.
        """
        get(item_id)  # an unknown id is refused before anything is written
        rating_for(verdict, hints=hints, score=score)  # a bad verdict is refused before anything is written
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0):
            raise ValueError(f"seconds must be a duration >= 0 or None, got {seconds!r}")
        rating, card = review(self.store, item_id, verdict, hints=hints, seconds=seconds, score=score, when=_utc(at))
        return Review(item_id, rating.name, card.due)

    def due(self, at: dt.datetime | None = None) -> list[PracticeItem]:
        """Items already attempted whose card is due at ``at`` (default now), most overdue first."""
        from fsrs import Card

        when = _utc(at)
        cards = {k: Card.from_json(v) for k, v in self.store.cards().items()}
        ids = sorted((c.due, k) for k, c in cards.items() if c.due <= when)
        known = {i.id: i for i in catalogue()}
        return [known[k] for _, k in ids if k in known]

    def weakness(self) -> dict[str, float]:
        """Per topic, the share of attempts that failed (0 = never failed); topics never tried are absent."""
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        known = {i.id: i for i in catalogue()}
        for a in self.store.attempts():
            if a.item in known:
                t = tally[known[a.item].topic]
                t[0] += a.rating == 1  # Again
                t[1] += 1
        return {topic: fails / total for topic, (fails, total) in tally.items()}

    def today(self, n: int = 20, at: dt.datetime | None = None) -> list[PracticeItem]:
        """Up to ``n`` items for a session: due reviews first (weakest topics first, then most overdue),
        then new items from the notebooks already started (notebook 00 for a new learner), in course order."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a number of items >= 1, got {n!r}")
        weak = self.weakness()
        due = self.due(at)
        rank = {it.id: k for k, it in enumerate(due)}
        picked = sorted(due, key=lambda it: (-weak.get(it.topic, 0.0), rank[it.id]))[:n]
        seen = set(self.store.cards())
        started = {get(i).notebook for i in seen if _known(i)} or {catalogue()[0].notebook}  # a new learner: 00
        new = [it for it in catalogue() if it.id not in seen and it.notebook in started]
        return picked + new[: n - len(picked)]

    def stats(self) -> dict[str, dict[str, float]]:
        """Per notebook: ``attempts``, ``pass_rate`` (share of non-Again ratings) and ``due`` now."""
        known = {i.id: i for i in catalogue()}
        out: dict[str, dict[str, float]] = {}
        for a in self.store.attempts():
            if a.item not in known:
                continue
            row = out.setdefault(known[a.item].notebook, {"attempts": 0, "passed": 0, "due": 0})
            row["attempts"] += 1
            row["passed"] += a.rating != 1
        for it in self.due():
            out.setdefault(it.notebook, {"attempts": 0, "passed": 0, "due": 0})["due"] += 1
        return {
            nb: {
                "attempts": r["attempts"],
                "pass_rate": r["passed"] / r["attempts"] if r["attempts"] else 0.0,
                "due": r["due"],
            }
            for nb, r in sorted(out.items())
        }


def _known(item_id: str) -> bool:
    try:
        get(item_id)
    except ValueError:
        return False
    return True


_DEFAULT: Practice | None = None


def _default() -> Practice:
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.store.path != default_path():
        _DEFAULT = Practice()
    return _DEFAULT


def record(item_id: str, verdict: str, **kwargs) -> Review:
    """``Practice().record`` on the default record (``default_path()``)."""
    return _default().record(item_id, verdict, **kwargs)


def today(n: int = 20) -> list[PracticeItem]:
    """``Practice().today`` on the default record."""
    return _default().today(n)


def stats() -> dict[str, dict[str, float]]:
    """``Practice().stats`` on the default record."""
    return _default().stats()


def session(n: int = 10):
    """Today's items (``today(n)``) in a notebook: one at a time with a progress bar and self-grading
    (live widgets), or a static list with how to answer each (``LESSONLIB_STATIC=1`` or no widgets).
    Returns a ``notebook_ui.Session``, which displays itself."""
    from lessonlib.practice.notebook_ui import Session

    p = _default()
    return Session(p, p.today(n))
