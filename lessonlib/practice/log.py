"""Every attempt written to the practice record as it happens: the hook the checkers call.

The exercise engine (every ``nbNN`` checker, ``quiz.check``, a mock-interview or exam round) calls
``attempt(item_id, outcome)`` after each answer it grades, ``hint_used(item_id, level)`` when a hint is
shown and ``shown(item_ids)`` when questions are put on the page. What is written per attempt: the item
id, the time (UTC), the verdict (``"pass"``, ``"pass-after-hint"`` or ``"fail"``), the hints used so far
in this sitting, and the seconds since the item was last shown, hinted or tried (``None`` when unknown).

Scheduling: the first graded attempt at an item in a sitting (one Python process) is the FSRS review
(``rating_for``); retries in the same sitting are logged in ``attempts`` but leave the card alone, so
"wrong, wrong, right" is one review rated Again, not three.

The switch is the environment variable ``LESSONLIB_PRACTICE_RECORD``: ``1`` records, ``0`` does not.
When it is unset, attempts are recorded except where a run must not touch a learner's data directory:
``LESSONLIB_STATIC=1`` (what the Makefile sets for nbval and ``make outputs``), ``CI`` set (CI
services), or a pytest run (``PYTEST_CURRENT_TEST``). Recording never fails the learner's call: a
broken or unreadable record gives one warning per sitting and the checker still answers.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

from lessonlib.practice.store import VERDICTS, Attempt, Store, default_path

__all__ = [
    "RECORD_ENV",
    "SEED_ENV",
    "recording_enabled",
    "rating_for",
    "review",
    "attempt",
    "hint_used",
    "hints_used",
    "shown",
    "learner_seed",
]

RECORD_ENV = "LESSONLIB_PRACTICE_RECORD"
SEED_ENV = "LESSONLIB_LEARNER_SEED"
_OFF = ("0", "off", "false", "no")
_ON = ("1", "on", "true", "yes")
#: Seconds after which the time since an item was last seen is not "time taken" any more.
_MAX_SECONDS = 2 * 3600

_hints: dict[str, int] = {}
_clock: dict[str, float] = {}
_reviewed: set[str] = set()
_stores: dict[Path, Store] = {}
_warned: list[bool] = [False]


def recording_enabled() -> bool:
    """Whether attempts are written to the record now (see the module docstring for the rule)."""
    value = os.environ.get(RECORD_ENV, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    return not (
        os.environ.get("LESSONLIB_STATIC", "") == "1" or os.environ.get("CI") or os.environ.get("PYTEST_CURRENT_TEST")
    )


def rating_for(verdict: str, *, hints: int = 0, score: float | None = None):
    """The FSRS rating (``fsrs.Rating``) of a verdict.

    ``"pass"`` with no hint → Good; ``"pass-after-hint"`` (or a pass with hints > 0) → Hard; ``"fail"`` →
    Again; ``"self-graded"`` (``score`` = share of rubric points ticked): ≥ 0.9 → Easy, ≥ 0.6 → Good,
    ≥ 0.3 → Hard, else Again.

    Raises:
        ValueError: an unknown verdict, a negative ``hints``, or ``"self-graded"`` without a ``score``
            in [0, 1] (or a ``score`` with another verdict).
    """
    from fsrs import Rating

    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    if isinstance(hints, bool) or not isinstance(hints, int) or hints < 0:
        raise ValueError(f"hints must be a count >= 0, got {hints!r}")
    if verdict == "self-graded":
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be the share of rubric points ticked, a number in [0, 1], got {score!r}")
        return (
            Rating.Easy
            if score >= 0.9
            else Rating.Good
            if score >= 0.6
            else Rating.Hard
            if score >= 0.3
            else Rating.Again
        )
    if score is not None:
        raise ValueError(f"score is only for verdict 'self-graded', got score={score!r} with verdict {verdict!r}")
    if verdict == "fail":
        return Rating.Again
    return Rating.Hard if verdict == "pass-after-hint" or hints > 0 else Rating.Good


def review(
    store: Store,
    item_id: str,
    verdict: str,
    *,
    hints: int = 0,
    seconds: float | None = None,
    score: float | None = None,
    when: dt.datetime,
    reschedule: bool = True,
):
    """Write one attempt to ``store`` (unchecked core of ``Practice.record`` and ``attempt``).

    Returns ``(rating, card)``: the FSRS rating and the card after the review (the stored card, unchanged,
    when ``reschedule`` is False).
    """
    from fsrs import Card, Scheduler

    rating = rating_for(verdict, hints=hints, score=score)
    text = store.card_json(item_id)
    card = Card() if text is None else Card.from_json(text)
    if reschedule:
        card, _ = Scheduler(enable_fuzzing=False).review_card(card, rating, when)
    store.add_attempt(
        Attempt(item_id, when, verdict, hints, seconds, score, int(rating)), card.to_json() if reschedule else None
    )
    return rating, card


def _store() -> Store:
    path = default_path()
    if path not in _stores:
        _stores[path] = Store(path)
    return _stores[path]


def _warn(exc: BaseException) -> None:
    if not _warned[0]:
        _warned[0] = True
        warnings.warn(
            f"your practice record was not updated ({exc}). The checker's answer above stands; set "
            f"{RECORD_ENV}=0 to stop recording.",
            RuntimeWarning,
            stacklevel=3,
        )


def shown(item_ids: Iterable[str]) -> None:
    """Note that these items were just put on the page (starts their clock for "time taken")."""
    now = time.monotonic()
    for i in item_ids:
        _clock[i] = now


def hint_used(item_id: str, level: int) -> None:
    """Note that hint ``level`` of ``item_id`` was shown (the record keeps the highest level asked)."""
    _hints[item_id] = max(_hints.get(item_id, 0), int(level))
    _clock.setdefault(item_id, time.monotonic())


def hints_used(item_id: str) -> int:
    """The hints shown for ``item_id`` in this sitting (the highest level asked, 0 to 2)."""
    return _hints.get(item_id, 0)


def attempt(item_id: str, passed: bool, *, hints: int | None = None) -> bool:
    """Record one graded attempt at ``item_id`` (``passed``: the checker's verdict). Never raises.

    Returns True when the attempt was written, False when recording is off or the record failed (then
    one warning per sitting says why).
    """
    now = time.monotonic()
    started = _clock.get(item_id)
    _clock[item_id] = now
    if not recording_enabled():
        return False
    try:
        used = hints_used(item_id) if hints is None else hints
        verdict = "fail" if not passed else "pass-after-hint" if used else "pass"
        seconds = round(now - started, 1) if started is not None and now - started <= _MAX_SECONDS else None
        first = item_id not in _reviewed
        review(
            _store(),
            item_id,
            verdict,
            hints=used,
            seconds=seconds,
            when=dt.datetime.now(dt.timezone.utc),
            reschedule=first,
        )
        _reviewed.add(item_id)
        return True
    except Exception as exc:  # noqa: BLE001 - the learner's check must never fail because of its record
        _warn(exc)
        return False


def learner_seed() -> int | None:
    """This learner's seed for the order of quiz options, or None (the file's order).

    ``$LESSONLIB_LEARNER_SEED`` (an integer) when set; else, where recording is on, a random seed drawn
    once and kept in the practice record (``meta`` table), so the order is the same in every sitting;
    else (nbval, CI, tests, or a record that cannot be read) None, so stored outputs stay as written.
    """
    value = os.environ.get(SEED_ENV, "").strip()
    if value:
        try:
            return int(value)
        except ValueError:
            warnings.warn(f"{SEED_ENV} must be an integer, got {value!r}; options keep their order", stacklevel=2)
            return None
    if not recording_enabled():
        return None
    try:
        return int(_store().set_meta_default("learner_seed", str(secrets.randbelow(2**31))))
    except Exception as exc:  # noqa: BLE001 - the order of options must never fail a check
        _warn(exc)
        return None
