"""Checked cells: exact unless they declare a tolerance, and then only within it (tools/checked_output.py).

The end-to-end tests run nbval, through the root conftest.py, on tiny notebooks whose stored output
differs from what the kernel prints: within the declared tolerance it passes, beyond it it fails,
and without a tolerance any difference fails.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessonlib.dev import checked_output

REPO = Path(__file__).resolve().parents[1]
agree, tolerance_of = checked_output.agree, checked_output.tolerance_of


def test_tolerance_is_read_from_the_line_after_the_marker():
    assert tolerance_of("# NBVAL_CHECK_OUTPUT\n# tolerance ±0.02: trained models\nprint(1)") == 0.02
    assert tolerance_of("# NBVAL_CHECK_OUTPUT\n# tolerance ±2 (images)\nprint(1)") == 2.0
    assert tolerance_of("# NBVAL_CHECK_OUTPUT\nprint(1)") == 0.0
    assert tolerance_of("print(1)  # tolerance ±0.5 means nothing outside a checked cell") == 0.0


@pytest.mark.parametrize(
    "source",
    [
        "# NBVAL_CHECK_OUTPUT\n# tolerance 0.02\nprint(1)",  # no ±
        "# NBVAL_CHECK_OUTPUT\n# tolerance ±two\nprint(1)",
        "# NBVAL_CHECK_OUTPUT\n# tolerance ±0.02 or 10%\nprint(1)",  # one absolute tolerance per cell
        "# NBVAL_CHECK_OUTPUT\nx = 1\n# tolerance ±0.02\nprint(x)",  # not on the second line
    ],
)
def test_a_malformed_or_misplaced_tolerance_is_an_error_not_ignored(source):
    with pytest.raises(ValueError, match="tolerance"):
        tolerance_of(source)


def test_numbers_within_the_tolerance_agree_and_beyond_it_do_not():
    stored = "n=  30  none 0.75 ± 0.03   gain +0.08 ± 0.03\n"
    assert agree(stored, "n=  30  none 0.77 ± 0.02   gain +0.07 ± 0.04\n", 0.02)
    assert not agree(stored, "n=  30  none 0.78 ± 0.02   gain +0.07 ± 0.04\n", 0.02)
    assert not agree(stored, "n=  30  none 0.77 ± 0.02   gain +0.07 ± 0.04\n", 0.0)


def test_words_counts_and_signs():
    assert not agree("better on 5 of 5 seeds", "better on 4 of 5 seeds", 0.02)  # counts stay exact
    assert agree("gain -0.00", "gain +0.00", 0.02)  # the sign of a rounded zero is not a difference
    assert agree("gain  0.01 |", "gain -0.01 |", 0.02)  # alignment spaces are not words
    assert not agree("accuracy 0.90", "accuracy 0.90 (2 of 5 failed)", 0.5)
    assert not agree("mixup 0.90", "cutmix 0.90", 0.5)
    assert not agree("[0.1, 0.2]", "[0.1, 0.2, 0.3]", 0.5)


@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=6),
    st.floats(0.001, 1.0),
)
def test_agree_is_exactly_the_per_number_bound(values, tolerance):
    stored = " | ".join(f"{v:.3f}" for v in values)
    moved = [round(v, 3) + tolerance * 0.9 for v in values]
    assert agree(stored, " | ".join(f"{v:.3f}" for v in moved), tolerance) == all(
        abs(round(m, 3) - round(v, 3)) <= tolerance * (1 + 1e-9) + 1e-12 for m, v in zip(moved, values, strict=True)
    )
    far = [round(v, 3) + 2 * tolerance + 0.002 for v in values]
    assert not agree(stored, " | ".join(f"{v:.3f}" for v in far), tolerance)


def _notebook(tmp_path: Path, source: str, stored_text: str) -> Path:
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_text)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    ("header", "printed", "passes"),
    [
        ("# tolerance ±0.02: trained\n", "0.51", True),
        ("# tolerance ±0.02: trained\n", "0.55", False),
        ("", "0.51", False),
        ("", "0.50", True),
    ],
)
def test_nbval_applies_the_declared_tolerance(header, printed, passes):
    source = f"# NBVAL_CHECK_OUTPUT\n{header}print('accuracy {printed}')"
    # inside the repository, so that pytest loads the root conftest.py as it does for notebooks/
    (REPO / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO / "build") as tmp:
        result = _nbval(_notebook(Path(tmp), source, "accuracy 0.50\n"))
    assert (result.returncode == 0) == passes, result.stdout[-2000:]
    if not passes:
        assert "accuracy 0.50" in result.stdout  # the usual nbval diff still shows what was stored
