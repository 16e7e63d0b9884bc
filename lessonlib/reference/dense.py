"""Reference versions of the techniques of ``lessonlib.dense`` (see ``lessonlib.reference``)."""

from __future__ import annotations

__all__: list[str] = []
