"""Shared timing helpers for the benchmarks: interleaved repeats, medians, ratios with spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import torch


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_interleaved(
    fns: Mapping[str, Callable[[], object]], *, repeats: int = 7, inner: int = 3, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each function, measured in interleaved rounds so drift hits all alike.

    Each round runs every function ``inner`` times and records the mean; ``repeats`` rounds in all.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            _sync()
            out[name].append((time.perf_counter() - t0) / inner)
    return out


@dataclass(frozen=True)
class Ratio:
    """A measured ratio ``time(subject) / time(reference)`` with its spread over repeats."""

    benchmark: str
    subject: str
    reference: str
    median: float
    low: float
    high: float
    goal: str
    met: bool
    subject_ms: float
    reference_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def ratio(
    benchmark: str,
    times: Mapping[str, list[float]],
    subject: str,
    reference: str,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
) -> Ratio:
    """Per-round ratios subject/reference, summarised by median and min..max, checked against a goal.

    ``at_most=1.1`` means "subject takes at most 1.1x the reference"; ``at_least=15`` means
    "reference takes at least 15x the subject" (i.e. ratio subject/reference <= 1/15 is stated as a
    speed-up of >= 15x; the reported numbers are then reference/subject).
    """
    if (at_most is None) == (at_least is None):
        raise ValueError("give exactly one of at_most (slow-down bound) or at_least (speed-up goal)")
    s, r = times[subject], times[reference]
    if at_most is not None:
        per = [a / b for a, b in zip(s, r, strict=True)]
        med = statistics.median(per)
        goal, met = f"<= {at_most:g}x", med <= at_most
    else:
        per = [b / a for a, b in zip(s, r, strict=True)]
        med = statistics.median(per)
        goal, met = f">= {at_least:g}x faster", med >= at_least
    return Ratio(
        benchmark,
        subject,
        reference,
        med,
        min(per),
        max(per),
        goal,
        met,
        1e3 * statistics.median(s),
        1e3 * statistics.median(r),
    )


@dataclass(frozen=True)
class PeakMemory:
    """Peak memory of one call: how much the process's peak grew while ``setting`` ran, in MiB.

    ``device`` is ``"cpu"`` (peak resident set) or ``"cuda"`` (``torch.cuda.max_memory_allocated``).
    A benchmark module reports these from an optional ``memory() -> list[PeakMemory]`` function.
    """

    benchmark: str
    setting: str
    peak_mib: float
    device: str

    def as_dict(self) -> dict:
        return asdict(self)
