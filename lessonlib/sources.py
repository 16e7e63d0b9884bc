"""Show a learner the code behind a call: ``show_source(reference.mixing.mixup)``.

d2l marks every helper "Defined in §…"; this is the course's version. Notebooks call it where they
first use a technique, so the page shows the 25 lines of the reference function and the path of the
file it lives in (relative to the repository, so the link works on GitHub and in JupyterLab).
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["source_of", "show_source"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _where(obj: Any) -> tuple[str, int]:
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    try:
        shown = path.relative_to(_PACKAGE_ROOT).as_posix()
    except ValueError:  # an installed copy outside the repository: the path as it is
        shown = path.as_posix()
    _, line = inspect.getsourcelines(obj)
    return shown, max(int(line), 1)


def source_of(obj: Any) -> str:
    """The source text of a function, class or module, and where it is defined.

    Args:
        obj: a Python function, class, method or module defined in a ``.py`` file.

    Returns:
        ``"# Defined in lessonlib/reference/mixing.py, line 12\\n" + source`` (dedented).

    Raises:
        TypeError: ``obj`` is not a function, class, method or module (a tensor, a number, a
            built-in written in C); the message names what came.
    """
    kinds = (inspect.isfunction(obj), inspect.isclass(obj), inspect.ismethod(obj), inspect.ismodule(obj))
    if not any(kinds):
        raise TypeError(f"obj must be a function, class, method or module, got {type(obj).__name__}")
    try:
        where, line = _where(obj)
        text = inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise TypeError(f"obj has no Python source to show ({type(obj).__name__}: {exc})") from None
    return f"# Defined in {where}, line {line}\n" + textwrap.dedent(text).rstrip() + "\n"


def show_source(obj: Any) -> None:
    """Display ``source_of(obj)`` in a notebook (highlighted Markdown), or print it in a terminal.

    Returns None, so a notebook cell shows the code once. Raises as ``source_of``.
    """
    text = source_of(obj)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency, but keep the terminal path honest
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(Markdown(f"```python\n{text}```"))
