"""How a checked cell's output is compared with the output stored in the notebook.

A cell whose first line is ``# NBVAL_CHECK_OUTPUT`` has its output checked against the stored one,
by nbval (``make test``, through the root ``conftest.py``) and by ``tools/check_repeatable.py``.

Numbers computed from data alone (a loader's peak-to-peak millivolts, a box's area) are the same on
every machine, and their cells are compared exactly. Numbers that come out of *training* are not:
CPUs with different vector units (AVX2, AVX-512, AMX), other BLAS builds and GPUs round float32 sums
differently, and a few hundred optimiser steps amplify a last-bit difference into a visible one (run
with AVX2-only or scalar kernels, the notebooks' accuracies moved by up to 0.01 and their counts of
flipped predictions by up to 1.6 images). Such a
cell declares how far its numbers may move, on its second line::

    # NBVAL_CHECK_OUTPUT
    # tolerance ±0.02: trained models; CPUs and GPUs round differently

Then the stored and the new output must have the same text once numbers are taken out (runs of
white space count as one space), the same count of numbers, and every number within ``±0.02`` of
its stored value (integers too: a tolerance below 1 keeps counts exact). One tolerance serves a
whole cell, so a cell prints numbers of one scale: accuracies in one cell, image counts (checked to
``±2``, say) in another. A tolerance is a claim about the experiment, so keep it below the effect
the cell reports: a gain of 0.08 checked to ±0.02 still fails if the gain disappears.

Repeated runs on one machine are still compared exactly (``tools/check_repeatable.py``): there a
difference is a flake, not rounding.
"""

from __future__ import annotations

import re

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"

_TOLERANCE = re.compile(r"^#\s*tolerance\s*±\s*(\d+(?:\.\d+)?|\.\d+)\s*(?::|\(|$)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_SPACE = re.compile(r"\s+")


def is_checked(source: str) -> bool:
    """True when the cell's first non-blank line is the check marker."""
    return source.lstrip().startswith(CHECK_MARK)


def tolerance_of(source: str) -> float:
    """The absolute tolerance a checked cell declares on its second line, or 0.0 (exact).

    Raises:
        ValueError: if a ``# tolerance`` line is present but is not ``# tolerance ±<number>: <why>``,
            or is not the line right after the marker (a misplaced tolerance would silently be ignored).
    """
    if not is_checked(source):
        return 0.0
    lines = [line.strip() for line in source.lstrip().splitlines()]
    for i, line in enumerate(lines[1:], start=1):
        if re.match(r"^#\s*tolerance\b", line):
            match = _TOLERANCE.match(line)
            if match is None or i != 1:
                raise ValueError(
                    f"checked cell: {line!r} must be the line right after {CHECK_MARK!r} and read "
                    "'# tolerance ±<number>: <why>'"
                )
            return float(match.group(1))
    return 0.0


def _split(text: str) -> tuple[list[str], list[float]]:
    words = [_SPACE.sub(" ", part).strip() for part in _NUMBER.split(text)]
    return words, [float(n) for n in _NUMBER.findall(text)]


def agree(stored: str, new: str, tolerance: float) -> bool:
    """True when ``new`` matches ``stored`` exactly (``tolerance == 0``), or has the same words and
    every number within ``tolerance`` of the stored one."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    if stored == new:
        return True
    if tolerance == 0:
        return False
    (w_old, n_old), (w_new, n_new) = _split(stored), _split(new)
    if w_old != w_new or len(n_old) != len(n_new):
        return False
    # the small slack absorbs the binary representation of printed decimals (0.97 - 0.95 > 0.02)
    bound = tolerance * (1 + 1e-9) + 1e-12
    return all(abs(a - b) <= bound for a, b in zip(n_old, n_new, strict=True))
