"""Where the course's notebooks are, and which cells are model solutions: one home for ``tools/``.

``REPO`` is the checkout this package was installed from in editable mode (``pip install -e .``,
which ``make setup`` does); the tools only run from a checkout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["REPO", "NOTEBOOK_DIR", "NOTEBOOK_GLOB", "SOLUTION_TAG", "notebook_paths", "cell_tags", "is_solution"]

#: The repository root (the folder that holds ``lessonlib/`` and ``notebooks/``).
REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
#: The course's numbered notebooks, ``NN_topic.ipynb``.
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: Tag of a model-solution cell (removed from student copies and slides).
SOLUTION_TAG = "solution"


def notebook_paths(names: Iterable[str | Path] | None = None) -> list[Path]:
    """The notebooks named in ``names`` (paths, resolved), or every ``notebooks/NN_*.ipynb`` (sorted).

    Raises:
        FileNotFoundError: a named notebook does not exist (all missing ones are listed).
    """
    if names:
        paths = [Path(p).resolve() for p in names]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"notebooks: expected existing .ipynb files, these do not exist: {missing}")
        return paths
    return sorted(NOTEBOOK_DIR.glob(NOTEBOOK_GLOB))


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    """The cell's metadata tags (an empty list when it has none); works on nbformat nodes and plain dicts."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell: Mapping[str, Any]) -> bool:
    """True for a model-solution cell (tag ``solution``)."""
    return SOLUTION_TAG in cell_tags(cell)
