"""ECG augmentation: is ``augment_ecg`` on a batch really vectorised?

Compares, on the same batch, with the same transforms and probabilities:

* ``batch``: ``lessonlib.ecg.augment_ecg(x, fs)`` on the whole ``[B, leads, T]`` batch;
* ``loop``: the same function applied record by record (``[leads, T]``) in a Python loop;
* ``floor``: ``x + torch.randn_like(x)`` — one noise draw and one add, the least any additive-noise
  augmentation must cost.

``augment_ecg`` once processed big batches in cache-sized chunks; measured against one pass on the
2-core machine (with the Makefile's ``OMP_WAIT_POLICY=PASSIVE``) chunks were 6-24% slower, so it
now makes one pass. Without that policy the record-by-record loop took 12.5 s instead of 0.34 s here:
every multi-threaded operation on a record then waited milliseconds for the second core.

``augment_ecg`` validates once, draws every parameter of its five steps first and then writes scale,
noise, wander and mains into one output buffer (kernels in ``lessonlib/_kernels/ecg.py``), so the
steps cost no extra pass. Replacing the former class hierarchy (``ECGCompose`` of artefact classes)
by these kernels left the outputs bit-identical and the time unchanged: interleaved on the 2-core
machine, new/old 1.06x on ``[256, 12, 5000]`` (spread 0.91-1.11) and, best of 40 rounds on
``[256, 1, 96]``, 0.97 ms against 1.01 ms. The 12-lead case runs the default ``leads="auto"``, i.e. the
device-style ``"derived"`` mode (III, aVR, aVL, aVF follow from I and II), which adds one small pass over four leads.

Goals (issue 6): beats ``[256, 1, 96]`` (ECG200-sized): batch at least 15x faster than the loop;
10-s 12-lead records ``[256, 12, 5000]`` (500 Hz): batch no slower than the loop and within 3x of the
floor. Timings are interleaved (``time_interleaved``) and reported as ratios, which survive a shared CPU.
"""

from __future__ import annotations

import torch

from benchmarks._timing import Ratio, ratio, time_interleaved
from lessonlib.ecg import augment_ecg
from lessonlib.utils import make_generator

CASES = (
    ("ecg_beats_256x1x96", (256, 1, 96), 100.0),  # ECG200 beats: 96 samples; fs only sets the artefact Hz
    ("ecg_12lead_256x12x5000", (256, 12, 5000), 500.0),  # 10 s at 500 Hz
)


def _fns(x: torch.Tensor, fs: float) -> dict:
    g_batch, g_loop = make_generator(0), make_generator(1)
    mains = 50.0 if fs > 100.0 else 20.0  # keep the mains line below Nyquist for the 100 Hz case
    fns = {
        "batch": lambda: augment_ecg(x, fs, generator=g_batch, mains_hz=mains),
        "loop": lambda: torch.stack([augment_ecg(r, fs, generator=g_loop, mains_hz=mains) for r in x]),
        "floor": lambda: x + torch.randn_like(x),
    }
    return fns


def run(repeats: int = 7) -> list[Ratio]:
    """Interleaved timings of batch vs loop vs floor for both cases; ratios with goals."""
    out: list[Ratio] = []
    for name, shape, fs in CASES:
        x = torch.randn(shape, generator=make_generator(2))
        times = time_interleaved(_fns(x, fs), repeats=repeats, inner=3 if shape[-1] < 1000 else 1)
        if shape[-1] < 1000:
            out.append(ratio(name, times, "batch", "loop", at_least=15))
        else:
            out.append(ratio(name, times, "batch", "loop", at_most=1.0))
            out.append(ratio(name, times, "batch", "floor", at_most=3.0))
    return out


if __name__ == "__main__":
    for r in run():
        print(r)
