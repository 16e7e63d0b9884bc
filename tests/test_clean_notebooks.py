"""tools/clean_notebooks.py drops timestamps and unused widget state, keeps everything else, and the
stored notebooks are clean (``make outputs`` runs it)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import nbformat

from tools import clean_notebooks

REPO = Path(__file__).resolve().parents[1]


def _notebook(widget_output: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=1)
    cell.metadata["execution"] = {"iopub.execute_input": "2026-12-01T00:00:00Z"}
    data = {"text/plain": "1"}
    if widget_output:
        data["application/vnd.jupyter.widget-view+json"] = {"model_id": "abc", "version_major": 2}
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_clean_drops_timestamps_and_unused_widget_state_and_keeps_outputs():
    nb = _notebook(widget_output=False)
    before = copy.deepcopy(nb)
    assert clean_notebooks.clean(nb) is True
    assert "execution" not in nb.cells[1].metadata and "widgets" not in nb.metadata
    assert nb.cells[1].outputs == before.cells[1].outputs and nb.cells[1].execution_count == 1
    assert clean_notebooks.clean(nb) is False  # idempotent


def test_clean_keeps_widget_state_that_an_output_displays():
    nb = _notebook(widget_output=True)
    clean_notebooks.clean(nb)
    assert "widgets" in nb.metadata


def test_check_mode_reports_without_writing(tmp_path):
    path = tmp_path / "00_x.ipynb"
    nbformat.write(_notebook(widget_output=False), path)
    text = path.read_text()
    run = subprocess.run([sys.executable, str(REPO / "tools" / "clean_notebooks.py"), "--check", str(path)])
    assert run.returncode == 1 and path.read_text() == text


def test_write_mode_cleans_in_place_and_a_second_check_passes(tmp_path, capsys):
    path = tmp_path / "00_x.ipynb"
    nbformat.write(_notebook(widget_output=False), path)
    assert clean_notebooks.main([str(path)]) == 0
    assert f"cleaned: {path}" in capsys.readouterr().out
    assert "widgets" not in nbformat.read(path, as_version=4).metadata
    assert clean_notebooks.main(["--check", str(path)]) == 0 and capsys.readouterr().out == ""


def test_stored_notebooks_are_clean():
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    dirty = [p.name for p in notebooks if clean_notebooks.clean_file(p, check=True)]
    assert not dirty, f"run `python tools/clean_notebooks.py` (make outputs does): {dirty}"
