"""Colab readiness: every notebook carries the badge and the guarded install cell (tools/colab.py), the
cell does nothing where lessonlib is importable and installs it where it is not, and the links all
come from tools/course.py. The full run in a Colab-like environment is `make test-colab`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from tools import colab, course

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _toy() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Title\n\nIntro."),
        nbformat.v4.new_code_cell("import lessonlib"),
    ]
    return nb


def test_stamp_adds_badge_and_install_cell_once():
    nb = _toy()
    assert colab.stamp(nb, "99_x.ipynb") is True
    assert colab.stamp(nb, "99_x.ipynb") is False, "stamping twice must change nothing"
    title = nb.cells[0].source
    assert title.startswith("# 99 · Title\n\n[![Open in Colab](../images/colab-badge.svg)](")
    assert title.count("Open in Colab") == 1 and title.endswith("Intro.")
    assert course.colab_url("99_x.ipynb") in title
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert colab.INSTALL_TAG in first_code.metadata["tags"] and "slides-skip" in first_code.metadata["tags"]


def _run_install_cell(monkeypatch, importable: bool) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: real(name, *a) if importable else None)
    exec(compile(colab.install_cell_source(), "<install cell>", "exec"), {})
    return calls


def test_install_cell_is_a_no_op_inside_the_repository(monkeypatch):
    assert _run_install_cell(monkeypatch, importable=True) == []


def test_install_cell_installs_the_course_when_lessonlib_is_missing(monkeypatch):
    monkeypatch.delenv("LESSONLIB_SOURCE", raising=False)
    (cmd,) = _run_install_cell(monkeypatch, importable=False)
    assert cmd[1:4] == ["-m", "pip", "install"] and cmd[-1] == course.install_source()
    monkeypatch.setenv("LESSONLIB_SOURCE", "/some/checkout")
    (cmd,) = _run_install_cell(monkeypatch, importable=False)
    assert cmd[-1] == "/some/checkout"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_is_stamped_for_colab(path):
    assert not colab.stamp_file(path, check=True), f"run `python tools/colab.py` to stamp {path.name}"


def test_readme_links_every_notebook_to_colab_and_has_a_binder_badge():
    readme = (REPO / "README.md").read_text()
    for path in NOTEBOOKS:
        assert course.colab_url(path.name) in readme, f"README has no Colab link for {path.name}"
    assert course.binder_url() in readme
