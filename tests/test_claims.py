"""The claims check (tools/claims.py): prose numbers are tied to stored outputs, and the tie can fail."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools import claims  # noqa: E402

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _notebook(tmp_path: Path, markdown: str, printed: str, code: str = "print(x)") -> Path:
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": markdown},
            {
                "cell_type": "code",
                "metadata": {},
                "source": code,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": printed}],
                "execution_count": 1,
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "99_synthetic.ipynb"
    path.write_text(json.dumps(nb))
    return path


def _check(path: Path) -> list[claims.Claim]:
    return claims.check_notebook(path, guide="", exceptions=[])


def test_the_course_states_only_numbers_its_outputs_printed():
    found = claims.check(NOTEBOOKS) + claims.check_readme()
    assert not found, "prose numbers without evidence:\n" + "\n".join(map(str, found))


def test_the_readme_benchmark_section_is_bound_to_the_results():
    """A ratio in the README's benchmark section that results.json does not hold fails; prose outside the
    measured sections is not read."""
    results = json.loads(claims.BENCH_RESULTS.read_text(encoding="utf-8"))
    held = f"{results['results'][0]['median']:.2f}"
    page = f"# Course\n\nUp to 9.87 lines.\n\n## Benchmarks\n\nThe batch is {held}× the loop; 9.87× elsewhere.\n"
    found = claims.check_readme(page, exceptions=[])
    assert [c.number for c in found] == ["9.87"] and found[0].where == "line 7"


def test_open_question_answers_are_checked_against_their_notebook(tmp_path, monkeypatch):
    path = _notebook(tmp_path, "Nothing here.", "accuracy 0.912\n")
    folder = tmp_path / "open"
    folder.mkdir()
    (folder / "99.yaml").write_text(
        "- {id: '99.o1', kind: conceptual, prompt: 'Why?', answer: 'It reached 0.912, then 0.871.', rubric: [x]}\n"
        "- {id: '99.o2', kind: numerical, prompt: 'With 0.5?', answer: 'Then 0.25 = 0.5 squared.', rubric: [x]}\n"
    )
    monkeypatch.setattr(claims, "OPEN", folder)
    found = _check(path)
    assert [(c.where, c.number) for c in found] == [("open question 99.o1 answer", "0.871")]


def test_a_mutated_output_fails_the_check_naming_notebook_cell_and_both_numbers(tmp_path):
    """Edit one stored output number that the prose quotes: the check must fail and say where."""
    source = REPO / "notebooks" / "01_why_augmentation_works.ipynb"
    nb = json.loads(source.read_text())
    quoted = None
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for m in re.finditer(r"(?<![\d.])0\.\d{3}(?!\d)", "".join(cell["source"])):
            quoted = (i, m.group())
            break
        if quoted:
            break
    assert quoted, "notebook 01's prose quotes no three-decimal number to mutate"
    cell_index, number = quoted
    mutated = f"{float(number) - 0.002:.3f}"  # a re-run that drifted by two in the last place
    hits = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                text = "".join(out["text"])
                hits += text.count(number)
                out["text"] = text.replace(number, mutated)
    assert hits, f"{number} is not printed by notebook 01, so the mutation would change nothing"
    copy = tmp_path / source.name
    copy.write_text(json.dumps(nb))
    found = [c for c in claims.check_notebook(copy, guide="") if c.number == number]
    assert found, f"changing the printed {number} to {mutated} went unnoticed"
    first = found[0]
    assert first.notebook == source.name and first.where == f"cell {cell_index}"
    assert first.nearest == mutated
    text = str(first)
    assert source.name in text and f"cell {cell_index}" in text and number in text and mutated in text


def test_a_number_is_supported_at_the_rounding_it_is_quoted(tmp_path):
    assert not _check(_notebook(tmp_path, "Accuracy drops to 0.93.", "accuracy 0.934\n"))
    assert not _check(_notebook(tmp_path, "Accuracy drops to 0.934.", "accuracy 0.934\n"))
    wrong = _check(_notebook(tmp_path, "Accuracy drops to 0.933.", "accuracy 0.934\n"))
    assert [c.number for c in wrong] == ["0.933"] and wrong[0].nearest == "0.934"


def test_signs_points_and_percent(tmp_path):
    # "costs 1.5 points" may quote a printed -0.015 (a fraction) or -1.5 (points)
    assert not _check(_notebook(tmp_path, "CutMix costs 1.5 points.", "diff -0.015 ± 0.008\n"))
    assert not _check(_notebook(tmp_path, "CutMix costs −1.5 ± 0.8 points.", "diff -1.5 ± 0.8\n"))
    swapped = _check(_notebook(tmp_path, "It costs 1.6 points.", "diff -1.0 ± 0.8, -1.5 ± 0.8\n"))
    assert [c.number for c in swapped] == ["1.6"]


def test_code_math_identifiers_and_declared_constants_are_not_claims(tmp_path):
    md = "Use `alpha=0.37` and $\\sigma = 0.41$; exercise 01.4; see arXiv:2106.04452. We set 0.25."
    assert not _check(_notebook(tmp_path, md, "nothing\n", code="rate = 0.25\nprint(rate)"))
    assert [c.number for c in _check(_notebook(tmp_path, "We set 0.25.", "nothing\n"))] == ["0.25"]


def test_a_literature_number_needs_its_reference(tmp_path):
    cited = "Zhang et al. (2018) report 1.27 points on ImageNet."
    assert not _check(_notebook(tmp_path, cited, "nothing\n"))  # Zhang is in docs/references.md
    unknown = "Qwxyzabc et al. (2018) report 1.27 points."
    assert [c.number for c in _check(_notebook(tmp_path, unknown, "nothing\n"))] == ["1.27"]


def test_the_teaching_guide_section_is_checked_against_its_notebook(tmp_path):
    path = _notebook(tmp_path, "Accuracy 0.934.", "accuracy 0.934\n")
    guide = "## 99 · Synthetic\n\nThe model reached 0.933 here.\n\n## 98 · Other\n\nAnd 0.111 there.\n"
    found = claims.check_notebook(path, guide=guide, exceptions=[])
    assert [(c.where, c.number) for c in found] == [("teaching_guide.md line 3", "0.933")]


def test_exceptions_need_a_reason_and_can_be_narrowed(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {notebook: '01', number: '0.5', reason: ''}\n")
    with pytest.raises(ValueError, match="has no reason"):
        claims.load_exceptions(bad)
    bad.write_text("- {notebook: '01', number: '0.5'}\n")
    with pytest.raises(ValueError, match="needs notebook, number and reason"):
        claims.load_exceptions(bad)
    path = _notebook(tmp_path, "A noise of 0.05 is small. A gain of 0.05 is large.", "nothing\n")
    narrow = [claims.Exception_("99", "0.05", "a constant of the question", near="noise")]
    found = claims.check_notebook(path, guide="", exceptions=narrow)
    assert [c.context for c in found] == ["A gain of 0.05 is large."]


def test_every_listed_exception_is_still_needed():
    """A stale exception would silently cover a future number: each must match a current claim."""
    listed = claims.load_exceptions()
    guide = claims.GUIDE.read_text(encoding="utf-8")
    unused = []
    for exc in listed:
        if exc.notebook == "README":
            found = claims.check_readme(exceptions=[])
        else:
            path = next(p for p in NOTEBOOKS if p.name.startswith(exc.notebook))
            found = claims.check_notebook(path, guide=guide, exceptions=[])
        if not any(exc.covers(exc.notebook, c.number, c.context) for c in found):
            unused.append(exc)
    assert not unused, f"exceptions that cover nothing any more: {unused}"
