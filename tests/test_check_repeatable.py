"""tools/check_repeatable.py (``make test-repeat``) catches what it promises to catch.

Its pure helpers are tested on hand-made outputs; its end-to-end behaviour on tiny notebooks run in
real kernels: a checked number that changes between runs is a flake, a checked number that differs
from the stored output fails, and a notebook that reaches for the network fails offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tools import check_repeatable

REPO = Path(__file__).resolve().parents[1]

CHECK = check_repeatable.CHECK_MARK


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_comparable_merges_streams_resolves_progress_lines_and_drops_images():
    outputs = [
        _stream("acc 0.91\n"),
        _stream("progress 10%\rprogress 100%\n", "stderr"),
        _stream("auc 0.80\n"),
        {
            "output_type": "display_data",
            "data": {"image/png": "iVBOR...", "text/plain": "<Figure size 640x480 with 1 Axes>"},
            "metadata": {},
        },
        {"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}, "execution_count": 3},
    ]
    assert check_repeatable.comparable(outputs) == [
        "[stdout]\nacc 0.91\nauc 0.80\n",
        "[stderr]\nprogress 100%\n",
        "[text/plain]\n<Figure size 640x480 with 1 Axes>",
        "[text/plain]\n0.5",
    ]
    # a different image with the same text is not a difference; a different number is
    changed_image = [dict(outputs[3], data={**outputs[3]["data"], "image/png": "other"})]
    assert check_repeatable.comparable(changed_image) == check_repeatable.comparable(outputs[3:4])
    assert check_repeatable.comparable([_stream("acc 0.92\n")]) != check_repeatable.comparable(outputs[:1])


def test_checked_outputs_takes_only_cells_marked_check_output():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"{CHECK}\nprint(1)", outputs=[_stream("1\n")]),
        nbformat.v4.new_markdown_cell(f"{CHECK} in prose"),
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(2)", outputs=[_stream("2\n")]),
        nbformat.v4.new_code_cell(f"  {CHECK}\nprint(3)", outputs=[_stream("3\n")]),
    ]
    assert check_repeatable.checked_outputs(nb) == {0: ["[stdout]\n1\n"], 3: ["[stdout]\n3\n"]}


def test_stored_outputs_are_compared_within_the_declared_tolerance_only():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"{CHECK}\n# tolerance ±0.02: trained\nprint(a)", outputs=[_stream("acc 0.90\n")]),
        nbformat.v4.new_code_cell(f"{CHECK}\nprint(b)", outputs=[_stream("acc 0.90\n")]),
    ]
    tol = check_repeatable.checked_tolerances(nb)
    stored = check_repeatable.checked_outputs(nb)
    assert tol == {0: 0.02, 1: 0.0}
    assert check_repeatable.agrees_with_stored(stored[0], ["[stdout]\nacc 0.91\n"], tol[0])
    assert not check_repeatable.agrees_with_stored(stored[0], ["[stdout]\nacc 0.95\n"], tol[0])
    assert not check_repeatable.agrees_with_stored(stored[1], ["[stdout]\nacc 0.91\n"], tol[1])  # exact cell
    assert not check_repeatable.agrees_with_stored(None, ["[stdout]\nacc 0.90\n"], tol[0])  # a new checked cell
    assert not check_repeatable.agrees_with_stored(stored[0], [*stored[0], "[stderr]\nx\n"], tol[0])


def _write(path: Path, cells: list[tuple[str, list[dict]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src, outputs=outs) for src, outs in cells]
    nbformat.write(nb, path)
    return path


def _without_edit_note(failures: list[str]) -> list[str]:
    return [f for f in failures if not f.startswith("the notebook or lessonlib/ was edited")]


@pytest.fixture
def restore_env(monkeypatch):
    """check_repeatable.main() sets these for its kernels; undo that after the test."""
    for name in ("LESSONLIB_STATIC", "PYTHONHASHSEED", "IPYTHONDIR", "MPLBACKEND"):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


def test_flakes_stored_mismatches_and_network_use_fail(tmp_path, restore_env):
    steady = _write(
        tmp_path / "steady.ipynb",
        [(f"{CHECK}\nprint(round(2 / 3, 3))", [_stream("0.667\n")])],
    )
    flaky = _write(
        tmp_path / "flaky.ipynb",
        [
            (f"{CHECK}\nprint(6 * 7)", [_stream("42\n")]),  # agrees with the stored output
            (f"{CHECK}\nimport os\nprint(os.urandom(8).hex())", [_stream("stored\n")]),  # never agrees
            (f"{CHECK}\nprint('new')", [_stream("old\n")]),  # stable, but not what is stored
        ],
    )
    online = _write(
        tmp_path / "online.ipynb",
        [("import socket\nsocket.create_connection(('example.org', 80), timeout=5)", [])],
    )
    report = tmp_path / "report.json"
    args = ["--runs", "2", "--offline", "guard", "--json", str(report), str(steady), str(flaky), str(online)]
    assert check_repeatable.main(args) == 1
    records = {r["notebook"]: r for r in json.loads(report.read_text())["notebooks"]}
    for r in records.values():  # others may edit lessonlib/ while this runs; that note is not under test
        r["failures"] = _without_edit_note(r["failures"])

    assert records["steady.ipynb"]["failures"] == []
    assert len(records["steady.ipynb"]["runs"]) == 2

    failures = records["flaky.ipynb"]["failures"]
    assert any(f.startswith("cell 1 differs between runs (flake)") for f in failures), failures
    assert any(f.startswith("cell 2 differs from the stored output") for f in failures), failures
    assert not any(f.startswith("cell 0 ") for f in failures), failures

    failures = records["online.ipynb"]["failures"]
    assert len(failures) == 2 and all("network access refused" in f for f in failures), failures


@pytest.mark.skipif(not check_repeatable.unshare_works(), reason="unshare -n is not allowed on this machine")
def test_unshare_mode_has_no_network(tmp_path, restore_env):
    # A literal address, so the failure is the missing route rather than a failed DNS lookup.
    online = _write(
        tmp_path / "online.ipynb",
        [("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=5)", [])],
    )
    report = tmp_path / "report.json"
    assert check_repeatable.main(["--runs", "1", "--offline", "unshare", "--json", str(report), str(online)]) == 1
    summary = json.loads(report.read_text())
    assert summary["offline"] == "unshare"
    (failure,) = _without_edit_note(summary["notebooks"][0]["failures"])
    assert "OSError" in failure or "unreachable" in failure.lower(), failure


def test_sources_fingerprint_follows_the_notebook_and_lessonlib_only(tmp_path, monkeypatch):
    monkeypatch.setattr(check_repeatable, "REPO", tmp_path)
    (tmp_path / "lessonlib" / "sub").mkdir(parents=True)
    module = tmp_path / "lessonlib" / "sub" / "mod.py"
    module.write_text("X = 1\n")
    nb = _write(tmp_path / "nb.ipynb", [("print(1)", [])])
    first = check_repeatable.sources_fingerprint(nb)
    (tmp_path / "README.md").write_text("unrelated")
    assert check_repeatable.sources_fingerprint(nb) == first
    module.write_text("X = 2\n")
    second = check_repeatable.sources_fingerprint(nb)
    assert second != first
    _write(nb, [("print(2)", [])])
    assert check_repeatable.sources_fingerprint(nb) not in (first, second)
