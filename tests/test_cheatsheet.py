"""The cheat sheet (tools/cheatsheet.py) is every notebook's interview answer, and never stale."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools import cheatsheet  # noqa: E402


def test_the_committed_sheet_is_what_the_notebooks_say():
    assert cheatsheet.main(["--check"]) == 0, "docs/cheatsheet.md is stale: run `make cheatsheet`"


def test_every_notebook_with_an_interview_answer_is_on_the_sheet():
    items = cheatsheet.entries()
    with_answer = [
        p.name[:2]
        for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if any(
            c.cell_type == "markdown" and c.source.lstrip().startswith(cheatsheet.HEADING)
            for c in nbformat.read(p, as_version=4).cells
        )
    ]
    assert [nb for nb, _, _ in items] == with_answer and len(items) >= 11
    assert all(answer and not title.startswith(nb) for nb, title, answer in items)


def test_a_stale_sheet_is_reported(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cheatsheet.md"
    stale.write_text("old text\n")
    monkeypatch.setattr(cheatsheet, "SHEET", stale)
    monkeypatch.setattr(cheatsheet, "REPO", tmp_path)
    assert cheatsheet.main(["--check"]) == 1
    assert "stale: run make cheatsheet" in capsys.readouterr().out
    assert stale.read_text() == "old text\n"


def test_the_html_page_holds_every_answer(tmp_path):
    items = cheatsheet.entries()
    text = cheatsheet.page(items)
    assert text.count("<section>") == len(items) and "columns:2" in text
    assert "<script" not in text and "http" not in text.split("</style>")[0]
