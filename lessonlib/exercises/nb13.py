"""Exercises of notebook 13 (augmentation in the data pipeline), declared with the course registry.

``nb13.hint(k)``, ``nb13.hint(k, level=2)`` and ``nb13.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import torch

from lessonlib.exercises import Notebook, WrongAnswer, cases, choice, expect_tensor, number
from lessonlib.pipeline import sample_generator

__all__ = ["EX", "hint", "reveal", "SEMANTICS", "check_distinct_crops", "check_per_image", "check_flip_sample"]

EX = Notebook("13")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 13.1 How many distinct crops does a copied generator give?
# ---------------------------------------------------------------------------------------------


@EX.exercise(
    1,
    "distinct crops with a copied generator",
    difficulty="medium",
    hints=(
        "Each worker process starts with a copy of the dataset object, generator state included. "
        "Which images does one worker load, and in what order does its copy draw?",
        "With 4 workers and batches of 8, each worker loads every fourth batch: 2 batches, 16 images. "
        "Do two workers' copies draw different numbers for their k-th image?",
    ),
    solution=16,
    explanation="Every worker's copy of `np.random.default_rng(0)` starts in the same state, so worker w's "
    "k-th image gets the same crop as every other worker's k-th image. Each worker loads 2 batches of 8, "
    "i.e. 16 images, so the epoch has 16 distinct crops, each used 4 times. (PyTorch reseeds torch, `random` "
    "and numpy's *global* state per worker, but not a generator object the dataset owns.)",
    wrong=[64, 4, 1, 8, 2],
    variants=[16.0, torch.tensor(16)],
)
def check_distinct_crops(answer):
    """How many distinct crop draws does one epoch of 64 images get (4 workers, batches of 8)?"""
    return number(
        answer,
        16,
        tol=0.01,
        mistakes={
            64: "that would need a different stream in every worker; is the generator object reseeded?",
            4: "that counts workers; count the draws one worker makes in the epoch.",
            1: "the draws do change from one image to the next inside a worker.",
            8: "that is one batch; how many batches does each worker load?",
            2: "that is the number of batches per worker; each batch has several images.",
        },
        what="the number of distinct crops",
    )


# ---------------------------------------------------------------------------------------------
# 13.2 Which calls draw per image?
# ---------------------------------------------------------------------------------------------

#: Calls made once on a batch tensor ``[B, C, H, W]``, with why each does or does not draw per image.
SEMANTICS = {
    "torchvision v2.RandomResizedCrop(24)(x)": "a v2 transform draws one parameter set per call: "
    "the whole batch tensor is one image to it",
    "torchvision v2.TrivialAugmentWide()(x)": "one operation and one magnitude per call, for every image of the batch",
    "kornia.augmentation.RandomResizedCrop((24, 24))(x)": "kornia's geometric and colour augmentations "
    "draw a parameter set per sample",
    "kornia.augmentation.auto.TrivialAugment()(x), the operation": "kornia's automatic policies draw "
    "magnitudes per sample but choose the operation once per call",
    "lessonlib.pipeline.CropFlipJitter(24).batch(x)": "it draws a [B, 8] table of uniforms, one row per image",
    "lessonlib.policies.trivial_augment(x)": "one operation and magnitude drawn per image, applied by grouping",
}
_PER_IMAGE = frozenset(
    {
        "kornia.augmentation.RandomResizedCrop((24, 24))(x)",
        "lessonlib.pipeline.CropFlipJitter(24).batch(x)",
        "lessonlib.policies.trivial_augment(x)",
    }
)


@EX.exercise(
    2,
    "which calls draw per image",
    difficulty="medium",
    hints=(
        "Count the parameter draws of one call: one set for the call, or one per sample? The notebook's "
        "section 2 fed 8 copies of one image to each library and counted distinct results.",
        "torchvision v2 treats a batch tensor as one image. kornia draws per sample, except that its "
        "automatic policies pick the operation once per call. The course's batched functions draw a row per image.",
    ),
    solution=set(_PER_IMAGE),
    explanation="Per image: kornia's RandomResizedCrop, CropFlipJitter.batch and policies.trivial_augment. "
    "torchvision's v2 transforms draw once per call (a batch tensor gets one crop, one operation); "
    "kornia's TrivialAugment draws magnitudes per sample but one operation for the whole batch.",
    wrong=[
        set(SEMANTICS),
        {"lessonlib.pipeline.CropFlipJitter(24).batch(x)"},
        set(_PER_IMAGE) | {"kornia.augmentation.auto.TrivialAugment()(x), the operation"},
        set(_PER_IMAGE) | {"torchvision v2.RandomResizedCrop(24)(x)"},
    ],
    variants=[sorted(_PER_IMAGE), tuple(_PER_IMAGE)],
    secrets=(),
)
def check_per_image(answer):
    """Which entries of ``SEMANTICS`` draw independent parameters for every image of the batch?"""
    return choice(
        answer,
        _PER_IMAGE,
        SEMANTICS,
        missing_hint="Look again at the libraries whose functions take a batch and return a table of draws.",
        what="your calls",
    )


# ---------------------------------------------------------------------------------------------
# 13.3 A flip that is the same whatever the number of workers
# ---------------------------------------------------------------------------------------------


def _solution_flip(x, seed, epoch, index):
    g = sample_generator(seed, epoch, index)
    return x.flip(-1) if float(torch.rand(1, generator=g)) < 0.5 else x.clone()


def _bug_global_rng(x, seed, epoch, index):  # the global RNG: depends on the process and on the order
    return x.flip(-1) if float(torch.rand(1)) < 0.5 else x.clone()


def _bug_no_epoch(x, seed, epoch, index):  # the same flip every epoch
    g = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return x.flip(-1) if float(torch.rand(1, generator=g)) < 0.5 else x.clone()


def _bug_added_counters(x, seed, epoch, index):  # seed + epoch + index: epoch 1 is epoch 0 shifted by one
    g = torch.Generator().manual_seed(seed + epoch + index)
    return x.flip(-1) if float(torch.rand(1, generator=g)) < 0.5 else x.clone()


def _bug_in_place(x, seed, epoch, index):  # flips the caller's tensor
    g = sample_generator(seed, epoch, index)
    return x.copy_(x.flip(-1)) if float(torch.rand(1, generator=g)) < 0.5 else x


def _flips(fn, seed, epoch, n=64):
    out = []
    for i in range(n):
        x = torch.arange(6.0).view(1, 1, 6)
        y = expect_tensor(fn(x.clone(), seed, epoch, i), f"the result for index {i}", shape=(1, 1, 6))
        if torch.equal(y, x):
            out.append(False)
        elif torch.equal(y, x.flip(-1)):
            out.append(True)
        else:
            raise WrongAnswer(f"index {i}: the result is neither the image nor its mirror (flip the last dimension).")
    return out


def _repeatable(fn):
    first = _flips(fn, 5, 0)
    torch.manual_seed(1)  # another global state, as in another worker process
    again = _flips(fn, 5, 0)
    torch.manual_seed(2)
    backwards = list(reversed(_flips_reversed(fn, 5, 0)))
    if first != again or first != backwards:
        return "the same (seed, epoch, index) gave different flips: the draw depends on the process or the order"
    if not 16 <= sum(first) <= 48:
        return f"{sum(first)} of 64 images were flipped; a fair coin flips about half"
    return None


def _flips_reversed(fn, seed, epoch, n=64):
    out = []
    for i in reversed(range(n)):
        x = torch.arange(6.0).view(1, 1, 6)
        out.append(torch.equal(expect_tensor(fn(x.clone(), seed, epoch, i), "the result", shape=(1, 1, 6)), x.flip(-1)))
    return out


def _epochs_differ(fn):
    e0, e1, e2 = (_flips(fn, 5, e) for e in (0, 1, 2))
    if e0 == e1 == e2:
        return "every epoch flips the same images: the epoch must change the draw"
    if e1[:-1] == e0[1:] and e2[:-1] == e1[1:]:
        return "epoch e + 1 is epoch e shifted by one index: adding counters makes (e + 1, i) collide with (e, i + 1)"
    return None


def _seeds_differ(fn):
    if _flips(fn, 5, 0) == _flips(fn, 6, 0):
        return "two runs with different seeds flip the same images"
    return None


def _input_kept(fn):
    x = torch.arange(6.0).view(1, 1, 6)
    for i in range(16):
        fn(x, 5, 0, i)
        if not torch.equal(x, torch.arange(6.0).view(1, 1, 6)):
            return "your function changed its input tensor; return a new tensor instead"
    return None


@EX.exercise(
    3,
    "a worker-proof random flip",
    difficulty="hard",
    hints=(
        "The flip of sample `index` in `epoch` must depend on (seed, epoch, index) only: not on the global "
        "RNG, not on what was drawn before. Make a generator from those numbers and draw from it.",
        "`lessonlib.pipeline.sample_generator(seed, epoch, index)` gives such a generator; "
        "`torch.rand(1, generator=g) < 0.5` is the coin. Beware of combining the counters by adding them.",
    ),
    solution=_solution_flip,
    explanation="A generator seeded from a hash of (seed, epoch, index), here `sample_generator`, makes the "
    "flip a pure function of those numbers: the same in any worker, in any order, after a restart; different "
    "across epochs and seeds. Adding the counters (seed + epoch + index) makes epoch 1 a shifted copy of epoch 0.",
    wrong=[_bug_global_rng, _bug_no_epoch, _bug_added_counters, _bug_in_place],
    variants=[
        lambda x, s, e, i: x.flip(-1) if torch.rand(1, generator=sample_generator(s, e, i)).item() < 0.5 else x + 0,
        lambda x, s, e, i: (
            torch.flip(x, [-1])
            if bool(torch.rand((), generator=torch.Generator().manual_seed(hash((s, e, i)) % 2**63)) < 0.5)
            else x.clone()
        ),
    ],
    what="flip_sample",
)
def check_flip_sample(fn):
    """``fn(x, seed, epoch, index)`` -> ``x`` mirrored left-right with probability 1/2, decided by the counters."""
    return cases(
        fn,
        [
            ("the input", _input_kept),
            ("repeatability", _repeatable),
            ("epochs", _epochs_differ),
            ("seeds", _seeds_differ),
        ],
    )
