"""Moved to ``lessonlib.dev.checked_output`` (an ordinary import for conftest.py, tools and tests).

This file stays so that ``tools/checked_output.py`` in the README still leads to the rules.
"""

from lessonlib.dev.checked_output import CHECK_MARK, agree, is_checked, tolerance_of

__all__ = ["CHECK_MARK", "agree", "is_checked", "tolerance_of"]
