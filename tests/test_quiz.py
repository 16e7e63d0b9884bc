"""The question bank: every item is well formed, its answer passes in every accepted form, plausible wrong
answers fail without being told the answer, and the mock interview is seeded and scored."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import quiz

ITEMS = quiz.bank()
IDS = [it.id for it in ITEMS]


def test_every_notebook_00_to_07_has_at_least_eight_items_and_the_bank_eighty():
    counts = {nb: len(quiz.load(nb)) for nb in quiz.notebooks()}
    for nb in (f"{i:02d}" for i in range(8)):
        assert counts.get(nb, 0) >= 8, f"notebook {nb} has {counts.get(nb, 0)} quick-check items"
    assert len(ITEMS) >= 80
    assert len(set(IDS)) == len(IDS)
    for it in ITEMS:
        assert it.id.startswith(f"{it.notebook}.q")


def _letter(it, option):
    return "abcdefghijklmnopqrstuvwxyz"[it.options.index(option)]


def _right_forms(it):
    if it.kind == "number":
        return [it.answer, np.float32(it.answer), torch.tensor(it.answer, dtype=torch.float64)]
    if it.kind == "choice":
        return [it.answer, it.answer.upper(), f"  {it.answer} ", _letter(it, it.answer)]
    return [set(it.answer), list(reversed(it.answer)), "".join(_letter(it, a) for a in it.answer)]


def _wrong_forms(it):
    if it.kind == "number":
        a, t = it.answer, it.tolerance
        return [a + 3 * t + 1e-9, a - 3 * t - 1e-9, a * 2 if a else 1.0, a / 10 if a else -1.0, str(a), True]
    if it.kind == "choice":
        return [o for o in it.options if o != it.answer] + [["a", "b"]]
    want = set(it.answer)
    rest = [o for o in it.options if o not in want]
    wrong = [want - {it.answer[0]}, set(it.options)]
    if rest:
        wrong.append(want | {rest[0]})
    return [w for w in wrong if w != want]


@pytest.mark.parametrize("it", ITEMS, ids=IDS)
def test_answer_passes_in_every_accepted_form(it):
    for form in _right_forms(it):
        assert quiz.check(it.id, form).outcome == "PASS", (it.id, form)


@pytest.mark.parametrize("it", ITEMS, ids=IDS)
def test_plausible_wrong_answers_fail_without_the_answer(it):
    if it.kind == "number":
        secrets = [f"{it.answer:g}"] if abs(it.answer) >= 10 or not float(it.answer).is_integer() else []
    elif it.kind == "choice":
        secrets = [it.answer]
    else:
        secrets = list(it.answer)
    for wrong in _wrong_forms(it):
        fb = quiz.check(it.id, wrong)
        assert fb.outcome == "TRY AGAIN", (it.id, wrong, fb)
        for s in secrets:
            if isinstance(wrong, str) and s in wrong:
                continue
            assert s not in fb.message, f"{it.id}: feedback on {wrong!r} gives away {s!r}"


@pytest.mark.parametrize("it", ITEMS, ids=IDS)
def test_hints_do_not_state_the_answer_and_reveal_does(it, capsys):
    for h in it.hints:
        if it.kind == "choice":
            assert it.answer not in h
        elif it.kind == "multi":
            assert not all(a in h for a in it.answer)
    assert quiz.hint(it.id) == it.hints[0] and quiz.hint(it.id, level=2) == it.hints[1]
    assert it.explanation in quiz.reveal(it.id)
    assert quiz.check(it.id, ...).outcome == "NOT ATTEMPTED"


def test_quick_check_lists_questions_and_no_answer(capsys, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # an IPython shell left by another test would
    quiz.quick_check("04")  # take the display (tests/test_foundation_helpers.py runs before this file)
    out = capsys.readouterr().out
    assert all(it.question in out for it in quiz.load("04"))
    for it in quiz.load("04"):
        assert it.explanation not in out


def test_mock_interview_is_seeded_mixed_filtered_and_scored(capsys):
    a, b = quiz.mock_interview(n=10, seed=3), quiz.mock_interview(n=10, seed=3)
    assert [i.id for i in a.items] == [i.id for i in b.items]
    assert [i.id for i in a.items] != [i.id for i in quiz.mock_interview(n=10, seed=4).items]
    assert len({i.notebook for i in a.items}) >= 4, "a round mixes the notebooks"
    assert len(set(i.id for i in a.items)) == 10
    only = quiz.mock_interview(n=3, seed=0, topics="units")
    assert {i.topic for i in only.items} == {"units"}
    first = a.items[0]
    right = _right_forms(first)[0]
    assert a.answer(1, right).outcome == "PASS"
    a.answer(2, ...)  # not attempted: not scored
    assert a.score() == (1, 1)
    with pytest.raises(ValueError, match="topics"):
        quiz.mock_interview(topics="no such topic")
    with pytest.raises(ValueError, match="n"):
        quiz.mock_interview(n=0)


def test_malformed_items_are_rejected_with_the_file_and_item_named():
    bad = {"id": "99.q1", "topic": "t", "kind": "choice", "question": "q", "options": ["a", "b"], "answer": "c"}
    with pytest.raises(ValueError, match="99.q1"):
        quiz._validate({**bad, "hints": ["x", "y"], "explanation": "e"}, "99.yaml")
    with pytest.raises(ValueError, match="hints"):
        quiz._validate({**bad, "answer": "a", "hints": ["x"], "explanation": "e"}, "99.yaml")
    with pytest.raises(ValueError, match="item_id"):
        quiz.check("99.q1", "a")


def _notebooks():
    from pathlib import Path

    return sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_ends_with_a_quick_check_from_its_bank(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source]
    assert "## Quick check" in headings, f"{path.name} has no Quick check section"
    cells = [c.source for c in nb.cells if c.cell_type == "code" and "quick_check(" in c.source]
    assert cells and f'quiz.quick_check("{number}")' in cells[0]
    assert len(quiz.load(number)) >= 8


def test_glossary_links_point_to_existing_entries():
    import re
    from pathlib import Path

    import nbformat

    repo = Path(__file__).resolve().parents[1]
    glossary = (repo / "docs" / "glossary.md").read_text(encoding="utf-8")
    anchors = set()
    for heading in re.findall(r"(?m)^### (.+)$", glossary):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    assert len(anchors) >= 30
    for term in (
        "qt-interval",
        "qtc-and-bazetts-formula",
        "einthovens-law",
        "wilsons-central-terminal",
        "monochrome1",
        "voi-lut",
        "windowlevel",
        "he",
        "ihc-and-dab",
        "snr-in-db",
        "nyquist-frequency",
        "ece",
        "nll",
    ):
        assert term in anchors, term
    linked = 0
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for anchor in re.findall(r"glossary\.md#([\w-]+)", cell.source):
                assert anchor in anchors, f"{path.name} links to a missing glossary entry #{anchor}"
                linked += 1
    assert linked >= 20


# ---------------------------------------------------------------------------------------------
# the input contract: every public function names its parameter
# ---------------------------------------------------------------------------------------------

_NOT_STRINGS = st.one_of(
    st.integers(), st.floats(allow_nan=True), st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=2)
)
_IDS = set(IDS)


@settings(max_examples=40, deadline=None)
@given(value=_NOT_STRINGS)
def test_functions_taking_an_item_id_refuse_a_non_string_naming_item_id(value):
    for call in (quiz.item, quiz.hint, quiz.reveal, lambda v: quiz.check(v, "a")):
        with pytest.raises(TypeError, match=r"item_id must be an id string such as '04.q3', got"):
            call(value)


@settings(max_examples=40, deadline=None)
@given(value=st.text(max_size=8).filter(lambda t: t not in _IDS))
def test_functions_taking_an_item_id_refuse_an_unknown_id_naming_item_id(value):
    for call in (quiz.item, quiz.hint, quiz.reveal, lambda v: quiz.check(v, "a")):
        with pytest.raises(ValueError, match=r"item_id must be an id such as '04.q3', got"):
            call(value)


@settings(max_examples=40, deadline=None)
@given(value=_NOT_STRINGS)
def test_load_and_quick_check_refuse_a_non_string_notebook(value):
    for call in (quiz.load, quiz.quick_check):
        with pytest.raises(TypeError, match=r"notebook must be a two-digit string such as '04', got"):
            call(value)


@settings(max_examples=30, deadline=None)
@given(value=st.text(max_size=4).filter(lambda t: t not in quiz.notebooks()))
def test_load_refuses_an_unknown_notebook(value):
    with pytest.raises(ValueError, match=r"notebook must be one of \['00'"):
        quiz.load(value)


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(), st.booleans(), st.just([]), st.lists(st.integers(), min_size=1)))
def test_bank_and_mock_interview_refuse_topics_that_are_not_tags(value):
    with pytest.raises(TypeError, match=r"topics must be None, a topic tag \(a string\) or a non-empty list"):
        quiz.bank(value)
    with pytest.raises(TypeError, match=r"topics must be None"):
        quiz.mock_interview(n=1, seed=0, topics=value)


def test_bank_names_unknown_topics():
    with pytest.raises(ValueError, match=r"topics must be among .*got \['no such topic'\]"):
        quiz.bank(["no such topic", ITEMS[0].topic])


@settings(max_examples=30, deadline=None)
@given(
    case=st.sampled_from(
        [
            ({"n": 0}, ValueError, r"n must be >= 1, got 0"),
            ({"n": 2.5}, TypeError, r"n must be an integer"),
            ({"seed": -1}, ValueError, r"seed must be >= 0, got -1"),
            ({"seed": "7"}, TypeError, r"seed must be an integer"),
            ({"seed": 1.5}, TypeError, r"seed must be an integer"),
        ]
    )
)
def test_mock_interview_refuses_bad_arguments_naming_them(case):
    kwargs, exc, message = case
    with pytest.raises(exc, match=message):
        quiz.mock_interview(**{"n": 3, "seed": 0, **kwargs})


@settings(max_examples=20, deadline=None)
@given(level=st.one_of(st.integers().filter(lambda v: v not in (1, 2)), st.booleans(), st.floats()))
def test_hint_names_level(level):
    with pytest.raises((TypeError, ValueError), match=r"^level must be"):
        quiz.hint(ITEMS[0].id, level)


@settings(max_examples=20, deadline=None)
@given(k=st.one_of(st.integers().filter(lambda v: not 1 <= v <= 3), st.floats(), st.text(max_size=2)))
def test_a_mock_round_names_k(k):
    round_ = quiz.mock_interview(n=3, seed=0)
    for call in (lambda: round_.answer(k, "a"), lambda: round_.ask(k), lambda: round_.hint(k)):
        with pytest.raises((TypeError, ValueError), match=r"^k must be"):
            call()


def test_a_pool_smaller_than_n_gives_a_shorter_round_with_a_note(capsys):
    """Issue 34: ``topics=`` with a small pool raised; it now clamps and says so."""
    pool = quiz.bank("units")
    round_ = quiz.mock_interview(n=len(pool) + 5, seed=1, topics="units")
    assert len(round_.items) == len(pool)
    assert f"only {len(pool)} questions on topics 'units'" in capsys.readouterr().out


def _choice_item():
    return next(it for it in ITEMS if it.kind == "choice")


def _number_item():
    return next(it for it in ITEMS if it.kind == "number")


def test_a_malformed_answer_is_not_a_wrong_first_try(capsys):
    """Issue 34: a format error (a word for a number, a pick that is not an option) counted as a wrong
    first try in a mock round; it is now told apart (``Feedback.malformed``) and not scored."""
    num, ch = _number_item(), _choice_item()
    round_ = quiz.MockRound([num, ch], seed=0)
    fb = round_.answer(1, "about a half")
    assert fb.outcome == "TRY AGAIN" and fb.malformed
    fb = round_.answer(2, "no such option")
    assert fb.outcome == "TRY AGAIN" and fb.malformed and "not one of the options" in fb.message
    assert round_.results == {}
    assert round_.answer(1, num.answer).outcome == "PASS"
    assert round_.answer(2, ch.answer).outcome == "PASS"
    assert round_.score() == (2, 2)


def test_score_names_the_questions_to_revisit_by_id_and_topic(capsys):
    """Issue 34: ``score()`` named notebooks only; it now names each missed question and its topic."""
    ch = _choice_item()
    other = next(it for it in ITEMS if it.kind == "choice" and it.notebook != ch.notebook)
    round_ = quiz.MockRound([ch, other], seed=0)
    round_.answer(1, next(o for o in ch.options if o != ch.answer))
    round_.answer(2, other.answer)
    assert round_.score() == (1, 2)
    out = capsys.readouterr().out.splitlines()[-1]
    assert f"revisit Q1 {ch.id} ({ch.topic})" in out and other.id not in out


def test_letters_refer_to_the_order_this_learner_is_shown(monkeypatch, capsys):
    """Per-learner shuffling: with a learner seed every item's options come in that learner's order, the
    same on every call; letters follow it; without a seed (nbval, tests) the file's order is kept."""
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    monkeypatch.delenv("LESSONLIB_LEARNER_SEED", raising=False)
    items = [it for it in ITEMS if it.kind != "number"]
    assert all(quiz.options_shown(it.id) == it.options for it in items)
    monkeypatch.setenv("LESSONLIB_LEARNER_SEED", "12345")
    orders = {it.id: quiz.options_shown(it.id) for it in items}
    assert orders == {it.id: quiz.options_shown(it.id) for it in items}, "the order is stable for a learner"
    assert all(sorted(o) == sorted(it.options) for it, o in zip(items, orders.values(), strict=True))
    moved = [it for it in items if orders[it.id] != it.options]
    assert len(moved) > len(items) // 2, "most items are shuffled"
    assert orders != {it.id: quiz.options_shown(it.id, seed=6789) for it in items}, "another learner, another order"
    chs = [it for it in moved if it.kind == "choice"]
    first_letter = {"abcdefghij"[orders[it.id].index(it.answer)] for it in chs}
    assert len(first_letter) > 2, "the right letter is not always the same"
    for it in chs[:10]:
        letter = "abcdefghij"[orders[it.id].index(it.answer)]
        assert quiz.check(it.id, letter).outcome == "PASS"
        wrong = "abcdefghij"[it.options.index(it.answer)]
        if wrong != letter:
            assert quiz.check(it.id, wrong).outcome == "TRY AGAIN"
    quiz.quick_check(chs[0].notebook)
    page = capsys.readouterr().out
    shown = orders[chs[0].id]
    assert f"(a) {shown[0]}" in page and f"(b) {shown[1]}" in page


def test_exam_mode_has_no_hints_no_verdict_and_a_clock(monkeypatch, capsys):
    rnd = quiz.exam(n=3, seed=5)
    assert rnd.exam and rnd.minutes == 4.5 and len(rnd.items) == 3
    assert rnd.hint(1) == "" and "no hints in exam mode" in capsys.readouterr().out
    it = rnd.items[0]
    right = it.answer if it.kind != "multi" else set(it.answer)
    fb = rnd.answer(1, right)
    out = capsys.readouterr().out
    assert fb.outcome == "EXAM" and "answer recorded" in out and "PASS" not in out and "Hint" not in out
    assert "first answer counts" in rnd.answer(1, "anything").message
    # the option order of an exam comes from the round's seed, even without a learner seed
    ch = _choice_item()
    ex = quiz.MockRound([ch], seed=5, exam=True, minutes=1.0)
    assert ex._order_seed == 5
    monkeypatch.setattr(ex, "started", ex.started - 120)  # two minutes later: the clock has run out
    assert ex.minutes_left() == 0.0
    assert "time is up" in ex.answer(1, ch.answer).message and ex.results == {}
    assert rnd.score() == (1, 1)
    with pytest.raises(ValueError, match="minutes must be >= 0.5"):
        quiz.exam(n=2, minutes=0.1)
