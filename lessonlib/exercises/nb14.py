"""Exercises of notebook 14 (synthetic data and augmentation beyond pixels), declared with the course registry.

``nb14.hint(k)``, ``nb14.hint(k, level=2)`` and ``nb14.reveal(k)`` give graded help; the model solutions
live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each recorded mistake
fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import torch

from lessonlib.exercises import FormatError, Notebook, cases, choice, expect_tensor
from lessonlib.exercises import as_number as _as_number
from lessonlib.utils import make_generator

__all__ = [
    "EX",
    "hint",
    "reveal",
    "SYNTHETIC_SETUPS",
    "check_masked_bins",
    "check_honest_setups",
    "check_near_copy_rate",
]

EX = Notebook("14")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 14.1 Which frequency bins does one SpecAugment mask hide?
# ---------------------------------------------------------------------------------------------

_F, _PARAM, _UW, _US = 17, 4, 0.9, 0.5
_WIDTH = _UW * _PARAM  # 3.6
_START = int(_US * (_F - _WIDTH))  # int(6.7) = 6
_BINS = frozenset(range(_START, _START + int(_WIDTH)))  # {6, 7, 8}
_BIN_MISTAKES = {
    frozenset(range(_START, _START + 4)): "you rounded the width up; the rule truncates it (⌊w⌋ bins).",
    frozenset(range(7, 7 + int(_WIDTH))): "you rounded the start to the nearest bin; the rule truncates it.",
    frozenset(range(int(_US * _F), int(_US * _F) + int(_WIDTH))): (
        "the start is scaled by F − w, so that the mask stays inside the spectrogram."
    ),
}


def _bins(answer) -> frozenset[int]:
    if isinstance(answer, torch.Tensor):
        answer = answer.flatten().tolist()
    if isinstance(answer, (int, float)) or not hasattr(answer, "__iter__") or isinstance(answer, str):
        raise FormatError("give the masked bins as a set or list of integers, e.g. {0, 1, 2}")
    out = set()
    for a in answer:
        v = _as_number(a, "each bin")
        if v != int(v):
            raise FormatError(f"bins are integer indices, got {v}")
        out.add(int(v))
    return frozenset(out)


@EX.exercise(
    1,
    "the bins one SpecAugment mask hides",
    hints=(
        "First the width: w = u_w · freq_mask_param (a real number). Then the start: s = u_s · (F − w). "
        "Both are truncated to integers, the start before the width is added.",
        "w = 0.9 · 4 = 3.6, so ⌊w⌋ = 3 bins; s = ⌊0.5 · (17 − 3.6)⌋. The bins are s, s + 1, s + 2.",
    ),
    solution={_START, _START + 1, _START + 2},
    explanation=f"w = 0.9 · 4 = 3.6 and s = ⌊0.5 · (17 − 3.6)⌋ = ⌊6.7⌋ = {_START}; the mask covers "
    f"⌊s⌋ ≤ f < ⌊s⌋ + ⌊w⌋, the bins {sorted(_BINS)}. With iid_masks=False (torchaudio's default) every "
    "spectrogram of the batch loses these same three bins.",
    wrong=[set(b) for b in _BIN_MISTAKES] + [{6, 7, 8, 9, 10}, set()],
    variants=[[6, 7, 8], (8, 7, 6), torch.tensor([6, 7, 8]), {6.0, 7.0, 8.0}],
    difficulty="easy",
)
def check_masked_bins(answer):
    """The frequency bins (0..16) masked for F = 17, freq_mask_param = 4, draws u_w = 0.9, u_s = 0.5."""
    got = _bins(answer)
    if got == _BINS:
        return None
    if got in _BIN_MISTAKES:
        return _BIN_MISTAKES[got]
    if any(b < 0 or b >= _F for b in got):
        return f"bins run from 0 to {_F - 1}."
    if len(got) != len(_BINS):
        return "count the bins: the mask covers ⌊w⌋ of them, and w is below freq_mask_param."
    return "the number of bins is right but not where they start: recompute s = ⌊u_s · (F − w)⌋."


# ---------------------------------------------------------------------------------------------
# 14.2 Which synthetic-data set-ups give an honest test score?
# ---------------------------------------------------------------------------------------------

_SETUP_REASONS = {
    "train the generator on the training patients only, then score real + synthetic on held-out patients": (
        "the generator has seen nothing of the test patients: an honest estimate"
    ),
    "choose the synthetic-to-real ratio on a validation split, then score the chosen ratio once on test": (
        "selection on validation, one test score: what notebook 09 asks"
    ),
    "compare TSTR with TRTR on the same real test set and the same classifier recipe": (
        "the same test set and recipe make the two numbers comparable"
    ),
    "keep the generator's samples out of the test set and report which real images trained the generator": (
        "the test set stays real and untouched by the generator"
    ),
    "train the generator on all images of the hospital, test patients included, because more data makes it better": (
        "the generator then carries the test patients' images into training: leakage, as measured in section 2"
    ),
    "try five synthetic ratios and report the best test accuracy": (
        "the best of several test scores is selection on the test set: an optimistic number"
    ),
    "add synthetic images to the test set so that rare classes have enough examples": (
        "the test set must be real: synthetic test images measure how well the model fits the generator"
    ),
    "split real and synthetic images into train and test at random after mixing them": (
        "a test image's synthetic near-copies (and the same patient's other images) land in training"
    ),
}
SYNTHETIC_SETUPS = tuple(_SETUP_REASONS)
_HONEST = frozenset(SYNTHETIC_SETUPS[:4])


@EX.exercise(
    2,
    "which synthetic-data set-ups give an honest test score",
    hints=(
        "For each set-up ask: has anything derived from the test images (a generator, a choice, a sample) "
        "reached the training data or the model selection?",
        "A generator is part of the training pipeline: what it was trained on counts as training data. And the "
        "test set must stay real and be scored once.",
    ),
    solution=set(_HONEST),
    explanation="Honest: a generator trained on training patients only, a ratio chosen on validation and scored "
    "once, TSTR against TRTR on one real test set, and samples kept out of the test set. Leaky or optimistic: a "
    "generator trained on test patients (section 2 measured the inflation), the best of five test scores, "
    "synthetic test images, and a random split after mixing real and synthetic.",
    wrong=[
        set(SYNTHETIC_SETUPS[:3]),
        set(SYNTHETIC_SETUPS[:5]),
        set(SYNTHETIC_SETUPS[4:]),
        {SYNTHETIC_SETUPS[0], SYNTHETIC_SETUPS[5]},
    ],
    variants=[list(SYNTHETIC_SETUPS[:4]), tuple(reversed(SYNTHETIC_SETUPS[:4]))],
    difficulty="medium",
)
def check_honest_setups(answer):
    """Every set-up of ``SYNTHETIC_SETUPS`` whose test score is an honest estimate."""
    return choice(
        answer,
        _HONEST,
        _SETUP_REASONS,
        missing_hint="Look again at the set-ups about where the generator's training data came from.",
        what="your set-ups",
    )


# ---------------------------------------------------------------------------------------------
# 14.3 The memorisation check as one function
# ---------------------------------------------------------------------------------------------


def _nn_dist(q, r):
    return torch.cdist(q.flatten(1).double(), r.flatten(1).double()).min(1).values


def _solution_near_copy_rate(samples, train, held_out, quantile):
    threshold = torch.quantile(_nn_dist(held_out, train), quantile)
    return float((_nn_dist(samples, train) < threshold).double().mean())


def _variant_loop(samples, train, held_out, quantile):  # a loop over samples, numpy-free
    def nn(q):
        return torch.stack([((train - x) ** 2).sum(dim=(1, 2, 3)).sqrt().min() for x in q])

    threshold = torch.quantile(nn(held_out).double(), quantile)
    return (nn(samples).double() < threshold).float().mean()


def _variant_numpy(samples, train, held_out, quantile):  # numpy, squared distances compared squared
    import numpy as np

    def nn2(q):
        a, b = q.reshape(len(q), -1).numpy().astype(np.float64), train.reshape(len(train), -1).numpy()
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).min(1)

    threshold = np.quantile(np.sqrt(nn2(held_out)), quantile)
    return np.mean(np.sqrt(nn2(samples)) < threshold)


def _bug_threshold_from_samples(samples, train, held_out, quantile):  # a threshold from the samples themselves
    d = _nn_dist(samples, train)
    return float((d < torch.quantile(d, quantile)).double().mean())


def _bug_squared(samples, train, held_out, quantile):  # squared distances against an unsquared threshold
    threshold = torch.quantile(_nn_dist(held_out, train), quantile)
    return float((_nn_dist(samples, train) ** 2 < threshold).double().mean())


def _bug_count(samples, train, held_out, quantile):  # a count, not a rate
    threshold = torch.quantile(_nn_dist(held_out, train), quantile)
    return float((_nn_dist(samples, train) < threshold).sum())


def _bug_mean_distance(samples, train, held_out, quantile):  # average over all training images, not the nearest
    def mean_d(q):
        return torch.cdist(q.flatten(1).double(), train.flatten(1).double()).mean(1)

    return float((mean_d(samples) < torch.quantile(mean_d(held_out), quantile)).double().mean())


def _bug_in_place(samples, train, held_out, quantile):
    samples.clamp_(0.0, 0.5)
    return _solution_near_copy_rate(samples, train, held_out, quantile)


def _data(seed, copies):
    g = make_generator(seed)
    train = torch.rand(40, 1, 4, 4, generator=g)
    held_out = torch.rand(30, 1, 4, 4, generator=g)
    near = train[torch.randint(0, 40, (copies,), generator=g)] + 0.01 * torch.randn(copies, 1, 4, 4, generator=g)
    samples = torch.cat([near, torch.rand(20 - copies, 1, 4, 4, generator=g)])
    return samples, train, held_out


def _matches(seed, copies, quantile):
    def probe(fn):
        samples, train, held_out = _data(seed, copies)
        out = fn(samples.clone(), train.clone(), held_out.clone(), quantile)
        if isinstance(out, torch.Tensor):
            out = expect_tensor(out, "your rate").flatten()
            if out.numel() != 1:
                return f"return one number (a rate), got a tensor of {out.numel()} values"
            out = out.item()
        value = _as_number(out, "your rate")
        want = _solution_near_copy_rate(samples, train, held_out, quantile)
        if abs(value - want) < 1e-6:
            return None
        if abs(value - want * samples.shape[0]) < 1e-6:
            return "that is a count of near-copies; return the fraction of samples"
        if abs(value - _bug_threshold_from_samples(samples, train, held_out, quantile)) < 1e-6 and copies:
            return "the threshold must come from held-out real images, not from the samples you are judging"
        return "not the expected rate: the nearest training image per sample, and a threshold from held-out images"

    return probe


def _unchanged(fn):
    samples, train, held_out = _data(5, 4)
    copies = samples.clone(), train.clone(), held_out.clone()
    fn(samples, train, held_out, 0.05)
    if not all(torch.equal(a, b) for a, b in zip((samples, train, held_out), copies, strict=True)):
        return "your function changed its inputs in place; compute on new tensors"
    return None


@EX.exercise(
    3,
    "the near-copy rate of a generator",
    hints=(
        "Two sets of nearest-training-image distances: one for the generated samples, one for held-out real "
        "images. The held-out distances say how close a *new* real image usually gets to the training set.",
        "threshold = the `quantile` of the held-out distances (torch.quantile); the rate is the share of samples "
        "whose own nearest-training distance is below it. torch.cdist(a.flatten(1), b.flatten(1)).min(1).values "
        "gives nearest distances.",
    ),
    solution=_solution_near_copy_rate,
    explanation="rate = mean over samples of [d_nn(sample, train) < quantile_q(d_nn(held_out, train))]. A "
    "generator that only generalises should produce about a q share of samples below the threshold (like new "
    "real images); a memorising one produces many more. The same check in the notebook flagged the generator "
    "trained on 50 images.",
    wrong=[_bug_threshold_from_samples, _bug_squared, _bug_count, _bug_mean_distance, _bug_in_place],
    variants=[_variant_loop, _variant_numpy],
    what="your near_copy_rate",
    difficulty="hard",
)
def check_near_copy_rate(fn):
    """``fn(samples, train, held_out, quantile)`` -> the share of samples closer to a training image than the
    ``quantile`` of held-out real images' nearest-training distances."""
    return cases(
        fn,
        [
            ("6 near-copies in 20 samples, quantile 0.05", _matches(0, 6, 0.05)),
            ("no near-copies, quantile 0.2", _matches(1, 0, 0.2)),
            ("inputs", _unchanged),
        ],
    )
