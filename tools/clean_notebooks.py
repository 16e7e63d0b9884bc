"""Drop what a notebook run stores that nobody reads: execution timestamps and unused widget state.

``python tools/clean_notebooks.py [--check] [NOTEBOOK ...]`` (run by ``make outputs`` after executing,
and by the pre-commit hook) removes, in place:

* ``metadata.execution`` of every cell (the ``iopub.execute_input`` … timestamps nbclient writes; they
  change on every run and make every re-run a diff of every cell);
* ``metadata.widgets`` of the notebook when no output displays a widget (the state of widgets that
  were built but never shown, or that the static mode replaced by a figure).

Sources, outputs and execution counts are kept exactly. ``--check`` writes nothing and exits 1 if a
notebook would change (for CI and tests). Without arguments, every ``notebooks/[0-9][0-9]_*.ipynb``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: `tools` is then not importable as a package
    sys.path.insert(0, str(REPO))

from tools.notebook_rewrite import report_rewrites, rewrite_file  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def shows_widgets(nb: nbformat.NotebookNode) -> bool:
    """True when some stored output displays a widget (then its state must be kept to render it)."""
    return any(
        WIDGET_MIME in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def clean(nb: nbformat.NotebookNode) -> bool:
    """Clean ``nb`` in place (it is our own in-memory copy); returns True if anything was removed."""
    changed = False
    for cell in nb.cells:
        if "execution" in cell.get("metadata", {}):
            del cell.metadata["execution"]
            changed = True
    if "widgets" in nb.metadata and not shows_widgets(nb):
        del nb.metadata["widgets"]
        changed = True
    return changed


def clean_file(path: str | Path, *, check: bool = False) -> bool:
    """Clean one notebook file; returns True if it needed cleaning (and, unless ``check``, was rewritten)."""
    return rewrite_file(path, clean, check=check)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook would change")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    return report_rewrites(args.notebooks, clean_file, check=args.check, done="cleaned", pending="needs cleaning")


if __name__ == "__main__":
    sys.exit(main())
