"""Notebook 07 (code-review interview): the mock interview and the exercise checkers.

The review drills themselves (buggy snippets, their checks and model answers) live in
``lessonlib.review``; this module holds what the notebook needs around them:

* ``MOCK_INTERVIEW`` — open questions across the whole course, each with a model answer and a scoring
  rubric: ``ask(number)`` shows the question, ``model_answer(number)`` (a deliberate step) the answer.
  The short self-checking round comes from the question bank: ``lessonlib.quiz.mock_interview``.
* the notebook's exercises on the registry: ``nb07.hint(k)``, ``nb07.hint(k, level=2)``, ``nb07.reveal(k)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lessonlib.exercises import Notebook, choice, number
from lessonlib.utils import make_generator, normal

__all__ = [
    "Question",
    "MOCK_INTERVIEW",
    "ask",
    "model_answer",
    "EX",
    "hint",
    "reveal",
    "SHAPE_TEST_OPTIONS",
    "check_shape_test",
    "check_cutmix_lambda",
    "check_in_place_probe",
]


@dataclass(frozen=True)
class Question:
    """One mock-interview question: ``kind`` is conceptual, numerical or design; ``rubric`` lists the
    points a strong answer makes (one point each)."""

    number: int
    topic: str
    kind: str
    prompt: str
    answer: str
    rubric: tuple[str, ...]


_Q = [
    (
        "01 why augmentation works",
        "conceptual",
        "Why does data augmentation improve generalisation, and when does it make a model worse?",
        "Augmentation encodes a prior: the label does not change under some transform. Training on transformed "
        "copies makes the model flat along those directions, which lowers variance; for a linear model, "
        "Gaussian input noise is ridge regression in expectation. It helps most when data are scarce and the "
        "invariance is true. It hurts when the transform changes the label (then it is label noise), when it is "
        "so strong that training images no longer look like test images, and when the model is already "
        "underfitting. Gains shrink as data grow, so I measure them over several seeds, not one run.",
        (
            "names the mechanism: an invariance prior that reduces variance (regularisation)",
            "states the criterion: the transform must preserve the label",
            "gives a concrete case where it hurts (label-changing or too strong a transform)",
            "says the gain depends on data size and must be measured over seeds",
            "bonus: input noise ≈ ridge / Tikhonov regularisation",
        ),
    ),
    (
        "02 modality presets",
        "conceptual",
        "Is a horizontal flip a safe augmentation for chest radiographs? For histopathology tiles? For street "
        "photographs?",
        "Chest radiographs: it depends on the label. The heart, aortic knob and gastric bubble sit on the "
        "patient's left, so a mirrored film shows a rare anatomy (situs inversus) with a backwards L/R marker. "
        "For a side-free finding such as cardiomegaly the label survives (the cardiothoracic ratio does not "
        "change), so a flip is an empirical choice to measure, not a default; for anything with a side "
        "(a left effusion, line positions) it changes the label. Small rotations, mild zoom and window/level "
        "changes are the safe default. Histopathology: yes, and more: a tile on a slide "
        "has no preferred orientation, so all eight symmetries of the square (flips and exact 90° rotations) "
        "preserve the label, applied as index permutations without interpolation; colour augmentation should "
        "mimic stain variation. Street photographs: horizontal yes for most tasks (not for reading text or "
        "telling left from right traffic), vertical no.",
        (
            "chest: depends on the label (side-free finding: label kept but off-distribution; sided: changed)",
            "histology: yes, the full dihedral group D4",
            "natural images: horizontal yes, vertical no",
            "says safety depends on the task as well as the modality (text, left/right labels)",
        ),
    ),
    (
        "02 modality presets",
        "numerical",
        "A lesson says `RandomRotation(90)` rotates histology tiles 'in 90° steps'. What does it actually draw, "
        "and what fraction of the output is black fill at the worst angle?",
        "It draws one continuous angle uniformly from [−90°, 90°]. At 45° the output square is only partly "
        "covered by the rotated input: the overlap is a regular octagon of area 2(√2 − 1) ≈ 0.83 of the square, "
        "so about 17 % of the output is black fill, and every pixel is interpolated (blurred). Exact 90° steps "
        "are `torch.rot90` with k drawn from {0, 1, 2, 3}; with a flip that gives the 8 elements of D4, which "
        "are lossless for any tile.",
        (
            "continuous uniform angle in [−90°, 90°], not steps",
            "computes or estimates ≈ 17 % black corners at 45°",
            "mentions interpolation blur",
            "proposes exact rot90/flip (D4) as the fix",
        ),
    ),
    (
        "03 ECG and tabular",
        "numerical",
        "An ECG is sampled at 500 Hz for 10 s. Code adds a '0.3 Hz' baseline wander with "
        "`t = torch.linspace(0, 1, T)`. What frequency do you actually get? And for a 30-s record at 1000 Hz?",
        "T = 5000 samples, but t runs from 0 to 1 over the record, so 0.3 is cycles per record: 0.3 cycles in "
        "10 s is 0.03 Hz. For the 30-s record it is 0.3 / 30 = 0.01 Hz; the sampling rate does not matter, the "
        "record length does. Respiration moves the baseline at about 0.2–0.5 Hz (12–30 breaths a minute), "
        "so both are a slow drift, not wander. Fix: `t = torch.arange(T) / fs`, in seconds.",
        (
            "0.03 Hz for the 10-s record",
            "0.01 Hz for the 30-s record",
            "says it depends on the record length, not the sampling rate",
            "fix with time in seconds (arange / fs)",
            "knows the physiological range of respiratory wander",
        ),
    ),
    (
        "03 ECG and tabular",
        "design",
        "You have a small tabular clinical data set: age, sex, BMI, blood pressure, a few lab values. Would you "
        "augment it, and how?",
        "Cautiously, and only if it beats a strong baseline. Noise must be per feature, scaled to each feature's "
        "spread on the training rows (one absolute σ is invisible on age and destructive on a lab value). Binary "
        "and categorical features such as sex get no noise. Values must stay physically possible: clip to valid "
        "ranges, keep integers integer, never encode 'missing' as 0, which is a real value. All statistics come "
        "from the training split. Then I compare against regularisation and gradient-boosted trees over several "
        "seeds; on many tables augmentation gives nothing, and saying so is the right answer.",
        (
            "noise scaled per feature from the training data",
            "no noise on binary/categorical features",
            "respects physical constraints and missing values",
            "statistics from the training split only",
            "measures against a strong baseline and accepts a null result",
        ),
    ),
    (
        "04 Mixup",
        "numerical",
        "Mixup draws λ = 0.7 to mix an image of class 0 with one of class 2 (three classes). What is the target? "
        "Is training on it the same as `0.7·CE(p, 0) + 0.3·CE(p, 2)`?",
        "The target is [0.7, 0, 0.3], and the input is 0.7·x₀ + 0.3·x₂ with the same λ and the same partner. For "
        "cross-entropy the two formulations are identical, because CE is linear in the target: "
        "−Σ y_k log p_k with y = 0.7 e₀ + 0.3 e₂ is 0.7 CE(p, 0) + 0.3 CE(p, 2). They differ for losses that are "
        "not linear in the target, such as focal loss. Mixup pushes the model towards linear behaviour between "
        "examples. It is often said to improve calibration, but that holds for over-confident models: on the 8x8 "
        "digits a small CNN that was already calibrated became under-confident (ECE 0.04 without Mixup, 0.11 "
        "with α = 0.2), so I measure calibration with and without it.",
        (
            "target [0.7, 0, 0.3]",
            "same λ and partner for input and label",
            "identical for cross-entropy because it is linear in the target",
            "names a loss where they differ",
            "mentions calibration, and that it must be measured (it can get worse)",
        ),
    ),
    (
        "05 CutMix",
        "numerical",
        "CutMix on a 32×32 image draws λ = 0.75, so a 16×16 box, centred at row 4, column 4. What label weights "
        "should the mixed image get?",
        "The box spans rows and columns −4 to 12, clipped to 0 to 12: 12 × 12 = 144 pixels of 1024 are pasted, "
        "14.1 %. So the partner gets 0.141 and the image keeps 0.859, not 0.25 and 0.75: λ must be recomputed "
        "from the clipped box (timm calls this correct_lam). And area is only a proxy: if the pasted box misses "
        "the object or lesion that defines the partner's class, even the corrected weight is wrong.",
        (
            "144 pixels pasted",
            "weights 0.859 / 0.141",
            "explains the clipping and recomputing λ from the box",
            "notes that area is a proxy for label evidence",
        ),
    ),
    (
        "06 test-time augmentation",
        "conceptual",
        "When does test-time augmentation help, when does it hurt, and what does it cost?",
        "TTA averages predictions over views the model should be invariant to. It helps when the views preserve "
        "the label and the model's errors differ between views. It costs one forward pass per view, so latency "
        "and compute grow n-fold. It hurts when a view is one the model never saw or one that changes the label: "
        "averaging then turns right answers wrong, so I count right→wrong and wrong→right changes, not just "
        "accuracy. For masks and boxes each view must be mapped back before averaging. Disagreement between "
        "views is a cheap uncertainty signal. And the function must leave the model's mode as it found it.",
        (
            "averaging over label-preserving views the model is invariant to",
            "cost: n forward passes",
            "can hurt; counts right→wrong vs wrong→right",
            "inverse transform for equivariant outputs (masks, boxes)",
            "disagreement as uncertainty",
        ),
    ),
    (
        "a new modality",
        "design",
        "Design the augmentation for a wrist-worn accelerometer (3 axes, 50 Hz) that classifies walking, "
        "running, cycling and sitting.",
        "I start from how the data are acquired. The watch sits at different angles and on either wrist, so "
        "small random 3-D rotations of the (x, y, z) vector are label-preserving, and a mirror (one axis sign "
        "flipped) only if both wrists occur in deployment. Sensors differ in gain and noise: ±10 % magnitude "
        "scaling and noise at the sensor's noise floor. Windows and shifts are specified in seconds, so the same "
        "code works at 25 or 100 Hz. Time stretching is dangerous: cadence separates walking from running, so a "
        "20 % stretch can change the label; I would keep it within a few per cent or leave it out. I validate "
        "each transform by ablation over seeds, on a subject-wise split, with a deterministic evaluation pipeline.",
        (
            "derives transforms from the acquisition (orientation, wrist, sensor gain)",
            "uses physical units (seconds, Hz) rather than sample counts",
            "identifies a label-changing transform (time stretch changes cadence)",
            "subject-wise split and ablation over seeds",
            "deterministic evaluation pipeline",
        ),
    ),
    (
        "all notebooks",
        "design",
        "You added augmentation and validation accuracy dropped. Walk me through how you debug it.",
        "First I look at a batch of augmented inputs with their labels: most augmentation bugs are visible. Then "
        "I check the evaluation side: same channels, dtype, size and normalisation as training, and no random "
        "transform. Then the label question for each transform: would an expert still give the same label? Then "
        "the implementation: inputs not modified in place, one draw per sample, reproducible from a seed, labels "
        "mixed exactly like inputs, statistics from the training split. Then I ablate one transform at a time and "
        "sweep its strength, over at least five seeds with the same number of steps. Finally, augmentation often "
        "needs longer training or more capacity: an augmented model that underfits is not a broken one.",
        (
            "looks at augmented batches first",
            "checks train/eval parity and a deterministic eval",
            "checks label preservation per transform",
            "ablates one transform at a time over several seeds",
            "considers underfitting (training length, capacity)",
        ),
    ),
    (
        "07 code review",
        "design",
        "You are reviewing a colleague's augmentation pull request. What do you look for, and which tests do you "
        "ask for?",
        "Silent bugs, because nothing crashes. I ask for tests of behaviour, not of source: the input is "
        "unchanged after the call; the same generator seed gives the same output whatever the global seeds; a "
        "batch of identical inputs gets different augmentations; a batch of one keeps its batch dimension; "
        "anything with a time or frequency parameter is tested at two sampling rates and two record lengths; the "
        "train pipeline at strength 0 equals the eval pipeline, and the eval pipeline is deterministic; mixed "
        "labels match mixed inputs, including boxes at the border; TTA leaves the model's mode alone and maps "
        "equivariant outputs back; statistics come from training rows only.",
        (
            "frames the risk as silent bugs and asks for behavioural tests",
            "names at least five distinct bug classes",
            "includes edge cases (batch of one, border boxes, another sampling rate)",
            "includes train/eval parity and eval determinism",
            "includes reproducibility from an explicit generator",
        ),
    ),
]

MOCK_INTERVIEW: tuple[Question, ...] = tuple(
    Question(i + 1, topic, kind, prompt, answer, rubric) for i, (topic, kind, prompt, answer, rubric) in enumerate(_Q)
)


def _rubric_markdown(q: Question) -> str:
    points = "\n".join(f"- [ ] {r}" for r in q.rubric)
    n = len(q.rubric)
    ok = math.ceil(n / 2)
    middle = f"{ok}" if ok >= n - 2 else f"{ok}–{n - 2}"
    return (
        f"**Model answer.** {q.answer}\n\n**Rubric** (one point each, {n} in all):\n\n{points}\n\n"
        f"*{n - 1}–{n} points: a strong answer · {middle}: acceptable, probe further · "
        f"fewer than {ok}: revisit the notebook.*"
    )


def _question(number: Any) -> Question:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(MOCK_INTERVIEW):
        raise ValueError(f"number must be an int in 1..{len(MOCK_INTERVIEW)}, got {number!r}")
    return MOCK_INTERVIEW[number - 1]


def ask(number: int, *, static: bool | None = None) -> None:
    """Show mock-interview question ``number`` (1-based): the prompt and how many rubric points it has.

    The model answer and the rubric are a deliberate step: ``nb07.model_answer(number)``, after you have
    said (or written) your own answer. ``static`` is accepted for compatibility and ignored.
    """
    from IPython.display import Markdown, display

    q = _question(number)
    display(
        Markdown(
            f"**Q{q.number}** *({q.kind}; {q.topic})* — {q.prompt}\n\n*Answer aloud or in writing first; a strong "
            f"answer makes {len(q.rubric)} points. Then score it with `nb07.model_answer({q.number})`.*"
        )
    )


def model_answer(number: int) -> str:
    """Show the model answer and the scoring rubric of mock-interview question ``number`` (returns the markdown)."""
    from IPython import get_ipython
    from IPython.display import Markdown, display

    body = f"**Q{number}.** " + _rubric_markdown(_question(number))
    if get_ipython() is not None:
        display(Markdown(body))
    else:
        print(body)
    return body


# ----------------------------------------------------------------------------------------------
# Exercises
# ----------------------------------------------------------------------------------------------

_SHAPE_MISS = "the bug changes values, not shapes or dtypes"
SHAPE_TEST_OPTIONS: dict[str, str] = {
    "ecg_window": "caught: at 1000 Hz the window has 625 samples where 2500 were expected",
    "ecg_wander": _SHAPE_MISS + " (a wrong frequency has the right shape)",
    "numpy_rng": _SHAPE_MISS + " (reproducibility needs two seeded calls)",
    "in_place": _SHAPE_MISS + " (the output is right; the damage is to the input)",
    "per_batch_draw": _SHAPE_MISS + " (one factor broadcasts to the right shape)",
    "squeeze": "caught: with a batch of one the probability is 0-d, so torch.cat fails (or the shape is () not (1,))",
    "mixup_pairing": _SHAPE_MISS + " (swapped weights have the right shape)",
    "cutmix_clip": _SHAPE_MISS + " (a wrong λ has the right shape)",
    "cxr_flip": _SHAPE_MISS + " (a flipped film has the right shape)",
    "train_eval_mismatch": _SHAPE_MISS + " (both pipelines return [B, 3, H, W] float32)",
    "eval_randomness": _SHAPE_MISS + " (a random crop has the right size)",
    "test_stats": _SHAPE_MISS + " (leaked statistics have the right shape)",
    "tta_mode": _SHAPE_MISS + " (the damage is to the model's mode)",
    "tta_inverse": _SHAPE_MISS + " (square views come back square)",
}


EX = Notebook("07")
hint, reveal = EX.hint, EX.reveal
_SHAPE_KEY = {"ecg_window", "squeeze"}


@EX.exercise(
    1,
    "what a shape test catches",
    hints=(
        "For each drill, ask whether the bug changes the *shape or dtype* of the output on realistic inputs, "
        "or only its values, its input, the model or the pipeline.",
        "Two bugs change a length: one through a sampling rate, one through a batch of one.",
    ),
    solution=_SHAPE_KEY,
    explanation=(
        "Only two bugs change a shape: the window length (625 instead of 2500 samples at 1000 Hz) and the "
        "squeezed batch of one. The other twelve change values, the caller's input, the model's mode or the "
        "pipeline, all with the right shape and dtype, which is why behavioural tests are needed."
    ),
    wrong=[{"ecg_window"}, _SHAPE_KEY | {"ecg_wander"}, {"squeeze", "cutmix_clip"}, set(SHAPE_TEST_OPTIONS)],
    variants=[sorted(_SHAPE_KEY), ("squeeze", "ecg_window")],
)
def check_shape_test(answer: Any) -> str | None:
    """Which drills would a test asserting only output shape and dtype catch?"""
    return choice(
        answer,
        _SHAPE_KEY,
        SHAPE_TEST_OPTIONS,
        missing_hint="Think of realistic inputs: another sampling rate, a last batch of one.",
    )


_CORNER = 1 - (min(30 + 8, 32) - max(30 - 8, 0)) * (min(2 + 8, 32) - max(2 - 8, 0)) / (32 * 32)


@EX.exercise(
    2,
    "CutMix λ at the corner",
    hints=(
        "Clip the box to the image first, in rows and in columns, then count the pasted pixels.",
        "Rows 30 ± 8 and columns 2 ± 8 run off the 32 × 32 image on one side each; λ = 1 − pasted / (32·32) "
        "is the weight the original keeps.",
    ),
    solution=_CORNER,
    explanation=(
        "Rows 22..38 clip to 22..32 (10 rows) and columns −6..10 to 0..10 (10 columns): 100 of 1024 pixels are "
        "pasted, so λ = 1 − 100/1024 ≈ 0.902, not the drawn 0.75."
    ),
    wrong=[0.75, 100 / 1024, 1 - 10 * 16 / 1024, 0.25],
    variants=[np.float32(_CORNER), torch.tensor(0.9023), 0.90],
)
def check_cutmix_lambda(answer: Any) -> str | None:
    """Corrected λ for a 16×16 box centred at (row 30, column 2) in a 32×32 image, to two decimals."""
    return number(
        answer,
        _CORNER,
        tol=0.005,
        what="your λ",
        mistakes={
            0.75: "that is the λ of the unclipped 16 × 16 box; most of it lies outside the image.",
            100 / 1024: "that is the partner's share (the pasted area); λ is what the original keeps.",
            1 - 10 * 16 / 1024: "the box is clipped in both directions at this corner, not only in one.",
            0.25: "that is the partner's share of the unclipped box.",
        },
    )


# Functions the learner's probe is run against: (name, function, modifies its input?)
def _noise_out_of_place(x, *, generator=None):
    return x + 0.1 * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _noise_add_(x, *, generator=None):
    return x.add_(0.1 * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype))


def _noise_first_sample(x, *, generator=None):
    out = x
    out[0] = out[0] + 0.1  # writes through: `out` is the caller's tensor, not a copy
    return out + 0.1 * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _noise_clamp_(x, *, generator=None):
    return (x.clamp_(-3.0, 3.0) + 0.1 * normal(x.shape, generator=generator, device=x.device, dtype=x.dtype)).clone()


def _flip_view(x, *, generator=None):
    return x.flip(-1)


def _identity_clone(x, *, generator=None):
    return x.clone()


_PROBE_TARGETS: tuple[tuple[str, Callable, bool], ...] = (
    ("noise returned as `x + noise`", _noise_out_of_place, False),
    ("noise added with `x.add_(noise)`", _noise_add_, True),
    ("only the first sample written through `out = x; out[0] = ...`", _noise_first_sample, True),
    ("outliers clipped with `x.clamp_(-3, 3)` before the noise (only values beyond ±3 change)", _noise_clamp_, True),
    ("a flip that returns a new tensor", _flip_view, False),
    ("`x.clone()`", _identity_clone, False),
)


def _solution_probe(fn):
    # Wide-range values, so that writes that only touch extreme values (clamping) are exercised too.
    x = 5 * torch.randn(4, 2, 8, 8, generator=make_generator(0))
    before = x.clone()
    fn(x, generator=make_generator(0))
    if not torch.equal(x, before):
        return f"the input changed at {int((x != before).sum())} positions"
    return None


def _variant_probe_numpy(fn):
    x = torch.linspace(-10, 10, 2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    kept = x.numpy().copy()
    fn(x, generator=torch.Generator().manual_seed(1))
    return None if np.array_equal(x.numpy(), kept) else "modified in place"


def _variant_probe_sum(fn):
    x = torch.full((3, 1, 4, 4), 7.0)
    x[:, :, 0, 0] = -7.0
    before = x.detach().clone()
    fn(x, generator=None)
    return "writes into its input" if bool((x != before).any()) else None


def _bug_probe_output(fn):
    x = torch.randn(4, 2, 8, 8)
    out = fn(x, generator=make_generator(0))
    return "changed" if not torch.equal(out, x) else None  # compares the output, not the input


def _bug_probe_small_values(fn):
    x = torch.rand(4, 2, 8, 8)  # values in [0, 1): a clamp to ±3 never writes
    before = x.clone()
    fn(x, generator=make_generator(0))
    return None if torch.equal(x, before) else "modified in place"


def _bug_probe_no_clone(fn):
    x = 5 * torch.randn(4, 2, 8, 8)
    before = x  # the same tensor, not a copy: always equal
    fn(x, generator=make_generator(0))
    return None if torch.equal(x, before) else "modified in place"


def _bug_probe_last_sample(fn):
    x = 5 * torch.randn(4, 2, 8, 8)
    before = x[-1].clone()
    fn(x, generator=make_generator(0))
    return None if torch.equal(x[-1], before) else "modified in place"


@EX.exercise(
    3,
    "a probe for in-place augmentations",
    hints=(
        "Keep a copy of the input taken *before* the call, and compare the input (not the output) with it after.",
        "`before = x.clone()` (a copy, not `before = x`), compare the whole batch with `torch.equal`, and use "
        "inputs wide enough that conditional writes (such as a clamp to ±3) actually happen.",
    ),
    solution=_solution_probe,
    explanation=(
        "An in-place bug is visible only on the input: clone it before the call and compare every element "
        "after. The inputs must exercise every branch that may write, so values beyond ±3 are needed for the "
        "clamp, and every sample must be compared, not one."
    ),
    wrong=[_bug_probe_output, _bug_probe_small_values, _bug_probe_no_clone, _bug_probe_last_sample],
    variants=[_variant_probe_numpy, _variant_probe_sum],
    what="your probe",
    allow_none=True,
)
def check_in_place_probe(probe: Any) -> str | None:
    """``probe(fn) -> str | None`` must flag every augmentation ``fn(x, generator=...)`` that modifies its input
    ``x`` ``[B, C, H, W]`` and pass every one that does not."""
    for label, fn, modifies in _PROBE_TARGETS:
        verdict = probe(fn)
        flagged = bool(verdict)
        if flagged and not modifies:
            return f"{label} leaves its input alone, but your probe flagged it."
        if modifies and not flagged:
            hint = (
                " Use inputs that the function would actually change, compare with a clone taken before the "
                "call, and check every sample."
                if fn is _noise_clamp_
                else " Compare the input with a clone taken before the call, using torch.equal on the whole batch."
            )
            return f"{label} modifies its input, but your probe returned None.{hint}"
    return None
