"""Rewrite notebooks in place: the read-edit-write step and the ``[--check] [NOTEBOOK ...]`` command
line shared by the tools that keep the stored notebooks in shape (``clean_notebooks``, ``colab``,
``slides stamp``).

Here rather than in ``lessonlib.dev`` because it needs ``nbformat``, a Jupyter package that is not one
of lessonlib's runtime dependencies (``tests/test_environment.py`` checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat

from lessonlib.dev.notebook_files import notebook_paths

__all__ = ["rewrite_file", "report_rewrites"]


def rewrite_file(path: str | Path, edit: Callable[[Any], bool], *, check: bool = False) -> bool:
    """Read notebook ``path``, let ``edit(nb)`` change it in place (returning True when it changed
    something) and write it back if it did, unless ``check``. Returns whether it changed (or would).

    ``tools/clean_notebooks.py`` and ``tools/colab.py`` are an ``edit`` each on top of this.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = bool(edit(nb))
    if changed and not check:
        nbformat.write(nb, path)
    return changed


def report_rewrites(
    names: Iterable[str | Path] | None,
    rewrite: Callable[..., bool],
    *,
    check: bool,
    done: str,
    pending: str,
) -> int:
    """Run ``rewrite(path, check=check)`` over ``notebook_paths(names)`` and print ``"<done>: path"``
    (``"<pending>: path"`` with ``check``) for each notebook that changed. Returns the exit code of a
    ``--check`` run: 1 when a notebook would change, else 0."""
    changed = [p for p in notebook_paths(names) if rewrite(p, check=check)]
    for p in changed:
        print(f"{pending if check else done}: {p}")
    return 1 if (check and changed) else 0
