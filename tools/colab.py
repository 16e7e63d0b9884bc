"""Make every notebook open and run in Colab (or any Jupyter outside this folder).

``python tools/colab.py [--check] [NOTEBOOK ...]`` stamps, idempotently:

* an **Open in Colab** badge under the title (the first markdown cell), linking to the notebook on the
  repository's main branch (``tools/course.py`` names the repository). The badge image is our own
  ``images/colab-badge.svg``, so GitHub, the book site and the offline decks show it without loading
  anything from the web;
* a **first code cell** (tagged ``colab-install`` and ``slides-skip``) that installs the course's package
  with pip *only when* ``lessonlib`` cannot be imported. Inside the repository (``make lab``, nbval,
  the browser test) it finds lessonlib and does nothing. ``LESSONLIB_SOURCE`` overrides what it
  installs (the Colab simulation test points it at this checkout).

``--check`` writes nothing and exits 1 if a notebook is not stamped as it should be.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: `tools` is then not importable as a package
    sys.path.insert(0, str(REPO))

from tools.course import colab_url, install_source  # noqa: E402
from tools.notebook_rewrite import report_rewrites, rewrite_file  # noqa: E402

INSTALL_TAG = "colab-install"
BADGE_ALT = "Open in Colab"
_BADGE_LINE = re.compile(r"^\[!\[" + re.escape(BADGE_ALT) + r"\]\([^)]*\)\]\([^)]*\)\n?", re.MULTILINE)


def badge(notebook_name: str) -> str:
    """The Markdown badge line for ``notebook_name`` (e.g. ``04_mixup.ipynb``)."""
    return f"[![{BADGE_ALT}](../images/colab-badge.svg)]({colab_url(notebook_name)})"


def install_cell_source() -> str:
    """The first code cell of every notebook: a guarded pip install of the course's package."""
    return (
        "# In Colab (or any Jupyter outside the course's folder) this installs the course's package;\n"
        "# inside the repository lessonlib is already importable and the cell does nothing.\n"
        "import importlib.util\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("lessonlib") is None:\n'
        "    source = os.environ.get(\n"
        f'        "LESSONLIB_SOURCE", "{install_source()}"\n'
        "    )\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)'
    )


def _with_badge(title_source: str, notebook_name: str) -> str:
    """The title cell with exactly one badge, on its own paragraph right under the title line."""
    title, _, rest = _BADGE_LINE.sub("", title_source).partition("\n")
    return "\n".join([title, "", badge(notebook_name), "", rest.lstrip("\n")]).rstrip("\n")


def stamp(nb: nbformat.NotebookNode, notebook_name: str) -> bool:
    """Stamp ``nb`` in place (our in-memory copy); returns True if anything changed."""
    changed = False
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    new_title = _with_badge(first_md.source, notebook_name)
    if new_title != first_md.source:
        first_md.source, changed = new_title, True
    code = [c for c in nb.cells if c.cell_type == "code"]
    existing = next((c for c in code if INSTALL_TAG in c.metadata.get("tags", [])), None)
    if existing is None:
        cell = nbformat.v4.new_code_cell(install_cell_source())
        cell.metadata["tags"] = [INSTALL_TAG, "slides-skip"]
        cell.execution_count = None
        index = nb.cells.index(code[0]) if code else len(nb.cells)
        nb.cells.insert(index, cell)
        changed = True
    elif existing.source != install_cell_source():
        existing.source, changed = install_cell_source(), True
    return changed


def stamp_file(path: str | Path, *, check: bool = False) -> bool:
    """Stamp one notebook file; returns True if it changed (and, unless ``check``, was rewritten)."""
    path = Path(path)
    return rewrite_file(path, lambda nb: stamp(nb, path.name), check=check)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    return report_rewrites(args.notebooks, stamp_file, check=args.check, done="stamped", pending="not stamped")


if __name__ == "__main__":
    sys.exit(main())
