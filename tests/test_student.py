"""Student copies (tools/student.py) as homework: the hint instructions survive, reveal refuses.

Issue 34 found that the stripper of reveal clauses dropped the whole "Stuck? ..." sentence of 08, 09,
10 (their wording joins the reveal with ", then" or ", and if you want ...,", not ";") and that
``nbNN.reveal(k)`` still worked from a copy, so homework could not be graded.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from lessonlib import exercises, quiz
from lessonlib.exercises import nb00

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("course_tools_student_h5", REPO / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)

CASES = [
    (
        "Stuck? `nb13.hint(1)`, then `nb13.hint(1, level=2)`, then `nb13.reveal(1)`.",
        "Stuck? `nb13.hint(1)`, then `nb13.hint(1, level=2)`.",
    ),
    (
        "Stuck? `nb12.hint(k)`, then `nb12.hint(k, level=2)`, then `nb12.reveal(k)` for the model solution and why.",
        "Stuck? `nb12.hint(k)`, then `nb12.hint(k, level=2)`.",
    ),
    (
        "Stuck? `nb08.hint(1)` (then `nb08.hint(1, level=2)`), and if you want the model answer with its "
        "explanation, `nb08.reveal(1)`. Next line.",
        "Stuck? `nb08.hint(1)` (then `nb08.hint(1, level=2)`). Next line.",
    ),
    (
        "*Stuck? `nb04.hint(1)`, then `nb04.hint(1, level=2)`; `nb04.reveal(1)` shows the model solution and why.*",
        "*Stuck? `nb04.hint(1)`, then `nb04.hint(1, level=2)`.*",
    ),
    (
        "Run it. Then `nb00.reveal(1)` shows it. Then go on.",
        "Run it. Model solutions are not included in this copy. Then go on.",
    ),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_the_reveal_clause_goes_and_the_hints_stay(before, after):
    assert student.drop_reveal_pointers(before) == after


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem[:2])
def test_every_hint_instruction_of_a_notebook_survives_in_its_copy(tmp_path, path):
    nb = nbformat.read(path, as_version=4)
    hints = [call for c in nb.cells if c.cell_type == "markdown" for call in student._HINT_CODE.findall(c.source)]
    copy = nbformat.read(student.write_student_copy(path, tmp_path), as_version=4)
    text = "\n".join(c.source for c in copy.cells if c.cell_type == "markdown")
    lost = [h for h in hints if h not in text]
    assert not lost, f"hint instructions lost in the student copy: {lost[:3]}"
    assert copy.metadata["lessonlib"]["student_copy"] is True
    assert (tmp_path / student.STUDENT_MARKER).is_file()
    assert student.STUDENT_MARKER == exercises.STUDENT_MARKER


@pytest.fixture
def not_a_copy(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(exercises.STUDENT_ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def _reveal_refuses(capsys) -> None:
    text = nb00.reveal(1)
    assert "disabled in this student copy" in text and nb00.EX.exercises[1].explanation not in text
    capsys.readouterr()
    nb00.hint(1)
    assert "reveal" not in capsys.readouterr().out, "a hint must not point to reveal in a copy"
    item = quiz.bank()[0]
    assert "disabled in this student copy" in quiz.reveal(item.id)


def test_reveal_works_outside_a_copy(not_a_copy, capsys):
    assert not exercises.is_student_copy()
    assert nb00.EX.exercises[1].explanation in nb00.reveal(1)


def test_reveal_refuses_with_the_environment_variable(not_a_copy, monkeypatch, capsys):
    monkeypatch.setenv(exercises.STUDENT_ENV, "1")
    _reveal_refuses(capsys)


def test_reveal_refuses_beside_the_marker_file(not_a_copy, capsys):
    (not_a_copy / exercises.STUDENT_MARKER).write_text("student copies\n")
    _reveal_refuses(capsys)


def test_reveal_refuses_in_a_copy_moved_on_its_own(not_a_copy, monkeypatch, capsys):
    """A copy opened anywhere: jupyter-server names the notebook in JPY_SESSION_NAME; its metadata says copy."""
    copy = student.make_student_copy(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · x")]))
    path = not_a_copy / "sub" / "00_x.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(copy))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    _reveal_refuses(capsys)
    monkeypatch.setenv("JPY_SESSION_NAME", str(REPO / "notebooks" / "00_course_map.ipynb"))
    assert not exercises.is_student_copy()
