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

from lessonlib.exercises import Notebook, as_bool, choice, number
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


def _load_questions() -> tuple[Question, ...]:
    """The open questions from ``lessonlib/content/mock_interview.yaml`` (content as data)."""
    from importlib import resources

    import yaml

    text = resources.files("lessonlib").joinpath("content", "mock_interview.yaml").read_text(encoding="utf-8")
    rows = yaml.safe_load(text)
    return tuple(
        Question(
            i + 1,
            r["topic"],
            r["kind"],
            " ".join(r["prompt"].split()),
            " ".join(r["answer"].split()),
            tuple(r["rubric"]),
        )
        for i, r in enumerate(rows)
    )


MOCK_INTERVIEW: tuple[Question, ...] = _load_questions()


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
    difficulty="medium",
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
    difficulty="medium",
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
    difficulty="medium",
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
        if verdict is None or isinstance(verdict, str):
            flagged = bool(verdict)
        else:  # the contract is a message or None; a bool (or a one-element bool tensor) reads as a verdict too
            flagged = as_bool(verdict, "your probe's verdict (None, or a message saying what it found)")
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
