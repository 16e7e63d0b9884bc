"""The practice record, its FSRS schedule, the Anki export and the terminal command."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from fsrs import Card, Rating, Scheduler

from lessonlib import practice
from lessonlib.practice import Practice, PracticeStoreError, rating_for
from lessonlib.practice.anki import build_deck, export_anki
from lessonlib.practice.store import ENV_VAR, Store

REPO = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "record.sqlite3"
    monkeypatch.setenv(ENV_VAR, str(path))
    return path


def test_the_catalogue_gathers_every_quiz_item_exercise_and_open_question():
    from lessonlib import quiz
    from lessonlib.exercises import registered_notebooks

    items = practice.catalogue()
    kinds = {k: [i for i in items if i.kind == k] for k in ("quiz", "exercise", "open")}
    assert len(kinds["quiz"]) == len(quiz.bank())
    assert len(kinds["exercise"]) == sum(len(r.exercises) for r in registered_notebooks().values())
    assert kinds["open"] and all(i.rubric for i in kinds["open"])
    assert len({i.id for i in items}) == len(items)
    with pytest.raises(ValueError, match=r"item_id must be a practice id such as '04.q3'.*got 'zz'"):
        practice.get("zz")


@pytest.mark.parametrize(
    ("verdict", "kwargs", "rating"),
    [
        ("pass", {}, Rating.Good),
        ("pass", {"hints": 1}, Rating.Hard),
        ("pass-after-hint", {"hints": 2}, Rating.Hard),
        ("fail", {}, Rating.Again),
        ("self-graded", {"score": 1.0}, Rating.Easy),
        ("self-graded", {"score": 0.6}, Rating.Good),
        ("self-graded", {"score": 0.4}, Rating.Hard),
        ("self-graded", {"score": 0.0}, Rating.Again),
    ],
)
def test_verdicts_map_to_fsrs_ratings(verdict, kwargs, rating):
    assert rating_for(verdict, **kwargs) == rating


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("passed",), {}, "verdict must be one of"),
        (("pass",), {"hints": -1}, "hints must be a count >= 0, got -1"),
        (("self-graded",), {}, r"score must be the share of rubric points ticked.*got None"),
        (("self-graded",), {"score": 1.5}, "got 1.5"),
        (("pass",), {"score": 0.5}, "score is only for verdict 'self-graded'"),
    ],
)
def test_bad_verdicts_are_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rating_for(*args, **kwargs)


def test_due_dates_move_as_the_fsrs_package_says(tmp_path):
    p = Practice(tmp_path / "r.sqlite3")
    scheduler, card = Scheduler(enable_fuzzing=False), Card()
    at = T0
    for verdict, rating in [("pass", Rating.Good), ("fail", Rating.Again), ("pass-after-hint", Rating.Hard)]:
        review = p.record("04.q1", verdict, hints=1 if verdict == "pass-after-hint" else 0, at=at)
        card, _ = scheduler.review_card(card, rating, at)
        assert review.due == card.due and review.rating == rating.name
        at = card.due + dt.timedelta(minutes=1)
    assert [a.verdict for a in p.store.attempts("04.q1")] == ["pass", "fail", "pass-after-hint"]


def test_today_serves_due_items_weakest_topic_first(tmp_path):
    p = Practice(tmp_path / "r.sqlite3")
    fresh = p.today(3, at=T0)
    assert [i.notebook for i in fresh] == ["00"] * 3  # a new learner starts at the course map
    a, b = practice.get("04.q1"), practice.get("05.q1")
    assert a.topic != b.topic
    p.record(a.id, "pass", at=T0)
    p.record(b.id, "fail", at=T0)
    later = T0 + dt.timedelta(days=30)
    served = p.today(2, at=later)
    assert [i.id for i in served] == [b.id, a.id]  # both due; the failed topic first
    assert p.stats()["05"]["pass_rate"] == 0.0 and p.stats()["04"]["pass_rate"] == 1.0


def test_the_record_survives_a_restart_in_another_process(db):
    code = "from lessonlib import practice; practice.record('00.q1', 'pass'); practice.record('01.q2', 'pass')"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, ENV_VAR: str(db)})
    out = subprocess.run(
        [sys.executable, "-c", "import json; from lessonlib import practice; print(json.dumps(practice.stats()))"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, ENV_VAR: str(db)},
    )
    assert json.loads(out.stdout) == {
        "00": {"attempts": 1, "pass_rate": 1.0, "due": 0},
        "01": {"attempts": 1, "pass_rate": 1.0, "due": 0},
    }


def test_the_record_is_never_inside_the_repository(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert REPO not in practice.default_path().resolve().parents


def test_a_corrupt_record_gets_a_clear_message_and_is_not_overwritten(tmp_path):
    bad = tmp_path / "broken.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(PracticeStoreError, match=r"broken.sqlite3 is not a readable practice database.*Move it aside"):
        Store(bad)
    assert bad.read_bytes().startswith(b"this is not a database")


def test_a_record_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(PracticeStoreError, match="newer lessonlib .schema 99"):
        Store(path)


def test_unknown_items_and_bad_durations_write_nothing(tmp_path):
    p = Practice(tmp_path / "r.sqlite3")
    with pytest.raises(ValueError, match="item_id must be a practice id"):
        p.record("99.q9", "pass")
    with pytest.raises(ValueError, match="seconds must be a duration >= 0"):
        p.record("00.q1", "pass", seconds=-3)
    assert p.store.attempts() == []


def test_two_exports_have_the_same_guids_and_the_package_is_a_valid_anki_collection(tmp_path):
    first, second = build_deck(), build_deck()
    assert [n.guid for n in first.notes] == [n.guid for n in second.notes]
    assert first.deck_id == second.deck_id
    path = export_anki(tmp_path / "course.apkg")
    with zipfile.ZipFile(path) as z:
        assert "collection.anki2" in z.namelist()
        z.extract("collection.anki2", tmp_path)
    con = sqlite3.connect(tmp_path / "collection.anki2")
    fields = [row[0].split("\x1f")[0] for row in con.execute("SELECT flds FROM notes")]
    tags = " ".join(row[0] for row in con.execute("SELECT tags FROM notes"))
    con.close()
    assert sorted(fields) == sorted(i.id for i in practice.catalogue())
    assert "nb-07" in tags and "open" in tags
    with pytest.raises(ValueError, match=r"path must name an .apkg file"):
        export_anki(tmp_path / "course.zip")


def _drive(args: list[str], replies: list[str], env: dict, timeout: float = 60.0) -> str:
    """Run ``python -m lessonlib.practice ARGS`` in a pseudo-terminal, answering each prompt in turn."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lessonlib.practice", *args], stdin=child, stdout=child, stderr=child, env=env
    )
    os.close(child)
    seen, pending, deadline = b"", list(replies), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if pending and seen.rstrip().endswith(b">") or (pending and seen.rstrip().endswith(b")")):
                os.write(main, (pending.pop(0) + "\n").encode())
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(main)
    return seen.decode(errors="replace")


def test_the_terminal_command_runs_a_session_in_a_pseudo_terminal(db):
    env = {**os.environ, ENV_VAR: str(db)}
    text = _drive(["today", "--n", "2"], ["", "g", "", "m"], env)
    assert "today: 2 items" in text and "[1/2] 00.q1" in text and "[2/2] 00.q2" in text
    assert "recorded: Good" in text and "recorded: Again" in text
    assert "00.q1: 100%" in text and "00.q2: 0%" in text
    stats = _drive(["stats"], [], env)
    assert "notebook 00:   2 attempts, pass rate 50%" in stats


def test_a_mock_round_scores_each_question_by_its_rubric(db):
    env = {**os.environ, ENV_VAR: str(db)}
    text = _drive(["mock", "--minutes", "3"], ["", "1 2"], env)
    assert "mock interview: 1 questions" in text
    first = next(i for i in practice.catalogue() if i.kind == "open")
    share = 2 / len(first.rubric)
    assert f"{first.id}: {share:.0%}" in text


# ---------------------------------------------------------------------------------------------------
# Every attempt recorded by the checkers themselves (lessonlib.practice.log)


@pytest.fixture
def recording(db, monkeypatch):
    """Recording switched on into a temporary record, with a fresh sitting (no hints, no reviews yet)."""
    from lessonlib.practice import log

    monkeypatch.setenv(log.RECORD_ENV, "1")
    for name, fresh in (("_hints", {}), ("_clock", {}), ("_reviewed", set()), ("_stores", {}), ("_warned", [False])):
        monkeypatch.setattr(log, name, fresh)
    return db


def test_recording_is_off_in_tests_nbval_and_ci_unless_switched_on(monkeypatch):
    from lessonlib.practice import log

    monkeypatch.delenv(log.RECORD_ENV, raising=False)
    assert not log.recording_enabled()  # PYTEST_CURRENT_TEST is set in a test
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LESSONLIB_STATIC", raising=False)
    assert log.recording_enabled()  # a learner's kernel
    monkeypatch.setenv("LESSONLIB_STATIC", "1")  # nbval and make outputs (the Makefile sets it)
    assert not log.recording_enabled()
    monkeypatch.delenv("LESSONLIB_STATIC")
    monkeypatch.setenv("CI", "true")
    assert not log.recording_enabled()
    monkeypatch.setenv(log.RECORD_ENV, "1")
    assert log.recording_enabled()
    monkeypatch.setenv(log.RECORD_ENV, "0")
    monkeypatch.delenv("CI")
    assert not log.recording_enabled()


def test_off_means_nothing_is_written(db, monkeypatch, capsys):
    from lessonlib.exercises import nb00

    monkeypatch.delenv("LESSONLIB_PRACTICE_RECORD", raising=False)
    nb00.check_ecg_units(1.0)
    assert not db.exists()


def test_every_checker_attempt_is_recorded_with_hints_and_one_review_per_sitting(recording, capsys):
    from lessonlib import quiz
    from lessonlib.exercises import nb00

    ex = nb00.EX.exercises[1]
    nb00.hint(1)
    assert nb00.check_ecg_units(ex.wrong[0]).outcome == "TRY AGAIN"
    assert nb00.check_ecg_units(ex.solution).outcome == "PASS"
    nb00.check_ecg_units(...)  # not attempted: not recorded
    item = next(it for it in quiz.bank() if it.kind == "choice")
    quiz.check(item.id, item.answer)
    quiz.check(item.id, "no such option")  # malformed: not recorded
    round_ = quiz.mock_interview(n=2, seed=3)
    round_.answer(1, "no such option")
    store = Store(recording)
    rows = [(a.item, a.verdict, a.hints) for a in store.attempts()]
    assert rows == [("00.1", "fail", 1), ("00.1", "pass-after-hint", 1), (item.id, "pass", 0)]
    assert all(a.at.tzinfo is not None for a in store.attempts())
    assert store.attempts()[1].seconds is not None and store.attempts()[1].seconds >= 0
    card = Card.from_json(store.card_json("00.1"))
    assert card.step is not None and card.due - store.attempts()[0].at < dt.timedelta(hours=1), (
        "the first attempt of the sitting (a fail: Again) set the card; the pass after it did not reschedule"
    )


def test_a_code_review_drill_is_a_card_and_its_check_is_recorded(recording, capsys):
    from lessonlib import review
    from lessonlib.review import answers
    from lessonlib.review.drills import buggy_function, snippet

    drills = [i for i in practice.catalogue() if i.kind == "drill"]
    assert [i.id for i in drills] == [f"07.d{k}" for k in range(1, len(review.names()) + 1)]
    assert all(i.difficulty in ("easy", "medium", "hard") and "review.show(" in i.prompt for i in drills)
    name = review.names()[0]
    assert review.check(name, buggy_function(name)).outcome == "TRY AGAIN"
    assert review.check(name, getattr(answers, snippet(name).function)).outcome == "PASS"
    rows = [(a.item, a.verdict) for a in Store(recording).attempts()]
    assert rows == [("07.d1", "fail"), ("07.d1", "pass")]


def test_a_broken_record_warns_once_and_the_checker_still_answers(recording, capsys):
    from lessonlib.exercises import nb00

    recording.write_bytes(b"this is not a database" * 100)
    ex = nb00.EX.exercises[1]
    with pytest.warns(RuntimeWarning, match=r"practice record was not updated .*not a readable practice database"):
        fb = nb00.check_ecg_units(ex.solution)
    assert fb.outcome == "PASS"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nb00.check_ecg_units(ex.solution).outcome == "PASS"  # no second warning in the sitting
    assert recording.read_bytes().startswith(b"this is not a database")


def test_the_learner_seed_is_drawn_once_and_kept_in_the_record(recording, monkeypatch):
    from lessonlib.practice import log

    monkeypatch.delenv(log.SEED_ENV, raising=False)
    first = log.learner_seed()
    assert isinstance(first, int) and log.learner_seed() == first
    assert Store(recording).meta("learner_seed") == str(first)
    monkeypatch.setenv(log.SEED_ENV, "42")
    assert log.learner_seed() == 42


def test_the_whole_bank_is_tagged_has_ten_open_questions_per_notebook_and_no_longest_option_tell():
    from lessonlib import quiz

    items = practice.catalogue()
    untagged = [i.id for i in items if i.difficulty not in ("easy", "medium", "hard")]
    assert not untagged, f"{len(untagged)} items without a difficulty, e.g. {untagged[:8]}"
    opens = {nb: sum(1 for i in items if i.kind == "open" and i.notebook == nb) for nb in quiz.notebooks()}
    few = {nb: n for nb, n in opens.items() if n < 10}
    assert not few, f"notebooks with fewer than 10 open questions: {few}"
    singles = [it for it in quiz.bank() if it.kind == "choice"]
    longest = [it.id for it in singles if len(it.answer) == max(len(o) for o in it.options)]
    rate = len(longest) / len(singles)
    assert rate <= 0.40, f"the right option is the longest in {rate:.0%} of single-choice items ({len(longest)})"
    for nb in quiz.notebooks():
        single = [it for it in quiz.load(nb) if it.kind == "choice"]
        n = sum(len(it.answer) == max(map(len, it.options)) for it in single)
        assert n <= 0.4 * len(single), f"quiz {nb}: the right option is the longest in {n} of {len(single)}"


# ---------------------------------------------------------------------------------------------------
# Study time, the plan, the notebook session and the terminal's progress


def test_study_minutes_add_up_from_the_stated_constants(tmp_path):
    from lessonlib.practice import studyplan as sp

    times = practice.study_minutes()
    assert set(times) >= {f"{i:02d}" for i in range(14)}
    t = times["04"]
    ex = [i for i in practice.catalogue() if i.notebook == "04" and i.kind == "exercise"]
    assert t.exercises == sum(sp.EXERCISE_MIN[i.difficulty] for i in ex)
    assert t.quiz == sp.QUIZ_MIN * sum(1 for i in practice.catalogue() if i.notebook == "04" and i.kind == "quiz")
    assert t.running == sp.RUN_SECONDS["04"] / 60
    assert t.total == pytest.approx(t.reading + t.running + t.exercises + t.quiz + t.open)
    # reading: 180 words of prose = 1 minute, 12 lines of code = 1 minute
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "# 99 · Toy\n" + "word " * 178},
            {"cell_type": "code", "source": "x = 1\n" * 12},
            {"cell_type": "markdown", "source": "## Interview answer\n" + "say " * 178},
        ]
    }
    (tmp_path / "99_toy.ipynb").write_text(json.dumps(nb))
    toy = practice.study_minutes(tmp_path)["99"]
    assert toy.title == "99 · Toy"
    assert toy.reading == pytest.approx((180 + 180) / 180 + 1.0)
    assert toy.interview_answer == pytest.approx(1.0) and toy.running == 1.0  # no README row: 60 s
    with pytest.raises(FileNotFoundError, match="notebooks_dir must hold"):
        practice.study_minutes(tmp_path / "empty")


def test_the_readme_and_the_course_map_state_the_measured_study_minutes():
    """The README's study-time table and the 00 map's study column are what ``study_minutes()`` says now:
    an edit that adds prose, an exercise or a question must update them (the numbers are rounded)."""
    root = Path(__file__).resolve().parents[1]
    times = practice.study_minutes()
    readme = (root / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d\d) \| (\d+ \| \d+ \| \d+ \| \d+ \| \d+) \|$", readme, flags=re.M))
    assert set(rows) == set(times), "README: one study-time row per notebook"
    for nb, t in times.items():
        want = [round(t.reading + t.running), round(t.exercises), round(t.quiz), round(t.open), round(t.total)]
        assert [int(v) for v in rows[nb].split(" | ")] == want, f"README study-time row {nb}"
    course_map = json.loads((root / "notebooks" / "00_course_map.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in course_map["cells"] if c["cell_type"] == "markdown")
    column = dict(re.findall(r"^\| (\d\d) \| \[.*\| (\d+) \|$", text, flags=re.M))
    assert column == {nb: str(round(t.total)) for nb, t in times.items() if nb != "00"}, "00 map's study column"


@pytest.mark.parametrize("days", [1, 3, 7])
def test_a_plan_covers_the_course_in_order_over_its_days(days):
    blocks = practice.plan(days)
    assert {b.day for b in blocks} == set(range(1, days + 1))
    nbs = [b.notebook for b in blocks if b.notebook]
    assert nbs == sorted(nbs) and set(nbs) == set(practice.study_minutes())
    assert "mock interview" in blocks[-1].what and blocks[-1].day == days
    total = {d: sum(b.minutes for b in blocks if b.day == d) for d in range(1, days + 1)}
    assert max(total.values()) < 2 * min(total.values()) + 60, "days are roughly balanced"
    text = practice.format_plan(blocks)
    assert text.count("Day ") == days and "Total: about" in text


def test_plans_get_shorter_with_fewer_days_and_bad_days_are_named():
    hours = {d: sum(b.minutes for b in practice.plan(d)) for d in (1, 3, 7)}
    assert hours[1] < hours[3] < hours[7]
    for bad in (0, 2, 5, True, "3"):
        with pytest.raises(ValueError, match=r"days must be 1, 3 or 7, got"):
            practice.plan(bad)


def test_the_terminal_prints_a_plan_and_the_mock_clock(db, monkeypatch):
    import io

    from lessonlib.practice import __main__ as cli

    out = io.StringIO()
    assert cli.main(["plan", "--days", "3"], out=out) == 0
    assert out.getvalue().startswith("Day 1 (about") and "Day 3" in out.getvalue()
    out, replies = io.StringIO(), iter(["", "all", "", "none"])
    assert cli.main(["--db", str(db), "mock", "--minutes", "6"], read=lambda _p: next(replies), out=out) == 0
    text = out.getvalue()
    assert "0 of 2 done · 0 of 6 min used" in text and "1 of 2 done" in text
    clock = iter([0.0, 0.0, 1.0, 1.0, 400.0, 400.0, 400.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    out, replies = io.StringIO(), iter(["", "all", "", "all"])
    cli.main(["--db", str(db), "mock", "--minutes", "6"], read=lambda _p: next(replies), out=out)
    assert "time is up (6 minutes): 1 of 2 questions answered" in out.getvalue()


def test_the_notebook_session_is_a_static_list_when_headless(db, monkeypatch):
    from lessonlib.practice.notebook_ui import Session, static_page

    monkeypatch.setenv("LESSONLIB_STATIC", "1")
    s = practice.session(4)
    assert isinstance(s, Session) and len(s.items) == 4
    page = static_page(s.items)
    assert page.startswith("### Today: 4 items") and "[1/4] 00." in page and "[4/4]" in page
    assert 'quiz.check("00.q1", ...)' in page or "solve it in notebook 00" in page
    first = s.items[0]
    review = s.grade(0, "g")
    assert review.item == first.id and review.rating == "Good"
    assert s.grade(1, "s") is None and s.done[-1] == (s.items[1].id, "s")
    assert [a.item for a in Store(db).attempts()] == [first.id]
