"""The reference layer: each technique the course teaches as one short textbook function.

Read these first. Each function is the formula of its paper in plain torch, at most ~25 lines, with
``assert`` for its preconditions instead of the library's validation vocabulary, and a docstring
that states the formula and cites the paper (every paper is in ``docs/references.md``). They are
slow on purpose where a loop is clearer than a gather.

They are also the oracle: every fast function in ``lessonlib`` says in its docstring which reference
it equals ("the same result as ``reference.mixing.mixup``; adds ..."), and its tests include a
Hypothesis property test that the two agree on random inputs within a stated tolerance.

Modules (one per technique family, named after the fast module they are the oracle for):

* ``mixing``: Mixup, CutMix (its box and λ), soft targets (notebooks 04, 05)
* ``tta``: the D4 views and test-time augmentation with its merge (06)
* ``ecg``: baseline wander, mains interference, EMG-like noise, time scaling (03)
* ``tabular``: Gaussian noise on a table under per-column constraints (03)
* ``policies``: TrivialAugment and RandAugment (sampling and applying), AugMix with its
  Jensen-Shannon consistency (08)
* ``selfsup``: NT-Xent (SimCLR) and FixMatch's loss (10)
* ``calibration``: temperature scaling (04, 06)
* ``dense``: labels that must follow the image: masks, boxes under rotation and crops, left/right
  swaps, Mosaic and Copy-Paste (11)
* ``pipeline``: random resized crop + flip + colour jitter, the augmentation notebook 13 runs in
  ``DataLoader`` workers and on the device (13)
* ``synthetic``: a conditional VAE's loss, SMOTE, a Gaussian copula, nearest-neighbour distances (14)
* ``spectro``: SpecAugment's frequency and time masks (14)
* ``text``: EDA's random deletion, swap and insertion, token masking (14)
* ``volumes``: 3-D CT/MR volumes: HU windows and dose noise, resampling to a spacing, affine and
  elastic warps in mm, bias field, k-space motion, ghosting, spike and Gibbs ringing, Dice (12)

Nothing here imports the rest of ``lessonlib``: the layer is the floor of the import graph
beside ``utils`` (``tests/test_import_graph.py``). Show a function in a notebook with
``lessonlib.show_source(reference.mixing.mixup)``.
"""

from lessonlib.reference import (
    calibration,
    dense,
    ecg,
    mixing,
    pipeline,
    policies,
    selfsup,
    spectro,
    synthetic,
    tabular,
    text,
    tta,
    volumes,
)

__all__ = [
    "calibration",
    "dense",
    "ecg",
    "mixing",
    "pipeline",
    "policies",
    "selfsup",
    "spectro",
    "synthetic",
    "tabular",
    "text",
    "tta",
    "volumes",
]
