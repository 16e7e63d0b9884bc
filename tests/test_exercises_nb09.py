"""Notebook 09\'s exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import pytest

from lessonlib.exercises import nb09

EXERCISES = sorted(nb09.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


def test_leaks_feedback_never_names_a_missed_step():
    fb = nb09.check_leaky_steps({"B"})
    assert fb.outcome == "TRY AGAIN" and "3 correct options are missing" in fb.message
    for step in "CDF":
        assert f"'{step}'" not in fb.message


def test_splits_feedback_names_no_option():
    fb = nb09.check_splits({k: "random rows" for k in nb09.SCENARIOS})
    assert fb.outcome == "TRY AGAIN"
    for option in nb09.SPLIT_OPTIONS:
        assert option not in fb.message
    assert nb09.check_splits({"holter": "group by patient"}).outcome == "TRY AGAIN"
    assert "not in SPLIT_OPTIONS" in nb09.check_splits({k: "by patient" for k in nb09.SCENARIOS}).message


def test_cross_pairs_learner_errors_are_reported_as_theirs():
    def broken(n, c, f):
        return n / 0

    def forgot_return(n, c, f):
        n * c

    assert nb09.check_cross_pairs(broken).outcome == "ERROR IN YOUR CODE"
    assert nb09.check_cross_pairs(forgot_return).outcome == "RETURNED NONE"
    assert nb09.check_cross_pairs(lambda n, c, f: "many").outcome == "TRY AGAIN"


def test_cross_pairs_matches_a_simulation():
    import torch

    n, c, f = 300, 3, 0.3
    g = torch.Generator().manual_seed(0)
    test = torch.rand(200, n, c + 1, generator=g) < f  # 200 simulated splits
    k = test.sum(-1)
    split_pairs = (k * (c + 1 - k)).sum((1,)).double()  # pairs with one member on each side
    assert float(split_pairs.mean()) == pytest.approx(nb09.EX[3].solution(n, c, f), rel=0.02)


# ---------------------------------------------------------------------------------------------
# Practice content of notebook 09: difficulty tags, the longest-option rule, open questions, and the
# notebook's checked cells (issues 27 and 34)
# ---------------------------------------------------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from lessonlib import quiz  # noqa: E402
from lessonlib.dev.checked_output import CHECK_MARK, is_checked, tolerance_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {"easy", "medium", "hard"}


def test_every_exercise_and_quiz_item_of_09_has_a_difficulty():
    assert {k: nb09.EX.exercises[k].difficulty for k in EXERCISES} == {1: "easy", 2: "medium", 3: "hard"}
    untagged = [it.id for it in quiz.load("09") if it.difficulty not in LEVELS]
    assert not untagged, f"quiz items without a difficulty: {untagged}"


def test_the_right_option_of_09_is_the_longest_in_at_most_40_percent_of_single_choice_items():
    choice = [it for it in quiz.load("09") if it.kind == "choice"]
    longest = [it.id for it in choice if len(it.answer) >= max(len(o) for o in it.options)]
    shortest = [it.id for it in choice if len(it.answer) <= min(len(o) for o in it.options)]
    assert len(choice) >= 8
    assert len(longest) <= 0.4 * len(choice), f"right option longest in {longest}"
    assert len(shortest) <= 0.4 * len(choice), f"right option shortest in {shortest}"  # no inverse tell


def test_09_has_at_least_ten_open_questions_at_every_difficulty():
    rows = yaml.safe_load((ROOT / "lessonlib" / "content" / "open" / "09.yaml").read_text(encoding="utf-8"))
    ids = [r["id"] for r in rows]
    assert len(rows) >= 10 and len(set(ids)) == len(ids)
    assert ids == [f"09.o{k}" for k in range(1, len(rows) + 1)]
    assert {r["difficulty"] for r in rows} == LEVELS
    for r in rows:
        words = len(r["answer"].split())
        assert 60 <= words <= 150, (r["id"], words)
        assert 3 <= len(r["rubric"]) <= 5, r["id"]


def test_every_checked_cell_of_09_parses_its_tolerance_line():
    nb = json.loads((ROOT / "notebooks" / "09_augmentation_and_evaluation.ipynb").read_text(encoding="utf-8"))
    checked = [
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and is_checked("".join(c["source"]))
    ]
    assert len(checked) >= 10
    for src in checked:
        first, second = (src.lstrip().splitlines() + [""])[:2]
        assert first == CHECK_MARK, f"first line of a checked cell is {first!r}, expected the marker alone"
        if "tolerance" in second:
            assert tolerance_of(src) > 0, second
