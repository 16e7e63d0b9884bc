"""Course-maintenance helpers for ``tools/`` and the test hooks, not for lessons.

* ``checked_output`` — how a ``# NBVAL_CHECK_OUTPUT`` cell's output is compared with the stored one
  (used by the root ``conftest.py``'s nbval hook and by ``tools/check_repeatable.py``).
* ``notebook_files`` — where the notebooks are and which cells are model solutions (``tools/*.py``).

They live in the package so that every script and test imports them the ordinary way (no
``sys.path`` edits, no loading by file path). They import nothing else from ``lessonlib``.
"""
