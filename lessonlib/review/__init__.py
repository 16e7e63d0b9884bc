"""Code review drills for notebook 07: plausible augmentation code with one silent bug each.

This package is the one place where deliberately wrong code lives. It is imported by notebook 07 and
its tests only; no other lessonlib module imports it, and the package's ``__all__`` exports no buggy
function, so nobody gets one by ``from lessonlib.review import *``.

* ``buggy`` — the snippets as a colleague might submit them (read them with ``show``).
* ``checks`` — for each snippet, concrete cases that expose its bug (``demonstrate``) and verify a fix
  (``check``), with feedback that says what failed and why it matters.
* ``answers`` — model answers with the same names and signatures, revealed only on request
  (``reveal_answer``).

``audit()`` runs every buggy snippet and every model answer through its check: each bug must fail
and each answer must pass (a bug that passes its own check would be a defect of the course).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from lessonlib.exercises import Feedback, WrongAnswer, _outcome_of_exception, _run, cases

__all__ = [
    "Snippet",
    "SNIPPETS",
    "names",
    "source",
    "show",
    "demonstrate",
    "check",
    "reveal_answer",
    "audit",
    "AuditRow",
]


@dataclass(frozen=True)
class Snippet:
    """One review drill.

    Attributes:
        number: position in the notebook (1-based).
        function: the function's name, the same in ``buggy`` and ``answers``.
        title: a short name for the drill.
        bug_class: the family the bug belongs to (each drill is a different one).
        explanation: what is wrong, why nothing crashes, and the fix; revealed with the answer.
    """

    number: int
    function: str
    title: str
    bug_class: str
    explanation: str


_SNIPPETS = [
    (
        "ecg_window",
        "random_window",
        "ECG random window",
        "a constant that only holds for one sampling rate",
        "`int(seconds * 250)` bakes in the 250 Hz of the data set the author developed on. At 1000 Hz the "
        "'2.5-second' window is 0.625 s, about one heartbeat at rest, so a rhythm label may no longer be "
        "visible in the crop. Nothing fails because 625 samples is a perfectly valid length. Fix: "
        "`round(seconds * fs)`, and validate that the window fits the record.",
    ),
    (
        "ecg_wander",
        "add_baseline_wander",
        "Baseline wander",
        "a physical unit lost (cycles per record instead of Hz)",
        "`t = linspace(0, 1, T)` measures time in records, so `freq_hz` is really cycles per record: a 0.5 "
        "'Hz' wander on a 10-s record is 0.05 Hz, and on a 60-s Holter strip 0.008 Hz. The same line of code "
        "gives a different physical augmentation for every record length. Fix: `t = arange(T) / fs`, seconds.",
    ),
    (
        "numpy_rng",
        "random_time_shift",
        "Random time shift",
        "two random generators mixed (numpy global + torch generator)",
        "The docstring promises reproducibility from `generator`, but the shifts come from numpy's global "
        "RNG, which the generator does not control: seeding torch does not seed numpy, and any other code "
        "that draws from numpy changes the shifts. Fix: draw the shifts with "
        "`lessonlib.utils.randint(..., generator=generator)`.",
    ),
    (
        "in_place",
        "add_gaussian_noise",
        "Gaussian noise",
        "the caller's input modified in place",
        "`x += ...` writes the noise into the caller's tensor. If that tensor is a cached data set (a "
        "`TensorDataset`, a batch kept for plotting), noise accumulates epoch after epoch and the 'clean' "
        "copy is gone. The return value looks right, so nothing fails. Fix: `return x + noise`.",
    ),
    (
        "per_batch_draw",
        "random_brightness",
        "Per-image brightness",
        "one random draw per batch instead of per sample",
        "`uniform(1, ...)` draws one factor and broadcasting applies it to every image, so a batch of 64 "
        "gets a single augmentation and the model sees 64 times fewer distinct variations. torchvision v2 "
        "transforms do the same on a batch tensor: they draw one parameter set per call. Fix: draw `B` "
        "factors and reshape them to `[B, 1, 1, 1]`.",
    ),
    (
        "squeeze",
        "predict_proba",
        "Batched probabilities",
        "`.squeeze()` that also removes the batch dimension",
        "`.squeeze()` removes every size-1 dimension. With 64 or 128 samples it works; with 65, the last "
        "batch's `[1, 1]` logits become a 0-d tensor and `torch.cat` fails, or, in code that does not "
        "concatenate, the probability broadcasts silently against the labels. Fix: `.squeeze(-1)` (or "
        "`[:, 0]`), naming the dimension you mean.",
    ),
    (
        "mixup_pairing",
        "mixup",
        "Mixup",
        "inputs and labels mixed inconsistently",
        "The input uses `λ x[perm] + (1 - λ) x` while the label uses `λ y + (1 - λ) y[perm]`: the weights are "
        "swapped between input and label. Because λ ~ Beta(α, α) is symmetric, the histograms of λ look "
        "fine and training runs, but a sample that is 90 % cat is labelled 10 % cat. Fix: mix the input "
        "as `λ x + (1 - λ) x[perm]`, exactly like the label.",
    ),
    (
        "cutmix_clip",
        "cutmix",
        "CutMix",
        "a label weight not corrected after the box is clipped",
        "The box is centred anywhere in the image, so it is often cut by the border, and `2 * (cut // 2)` "
        "also loses a pixel when the side is odd. The label still uses the λ that was drawn, not the area "
        "that was pasted, so labels and pixels disagree most for boxes at the border. Fix: after clipping, "
        "`λ = 1 - (y2 - y1)(x2 - x1) / (H W)`, as timm's `correct_lam` does.",
    ),
    (
        "cxr_flip",
        "cxr_train_augment",
        "Chest X-ray augmentation",
        "a transform that changes the label (flip of non-symmetric anatomy)",
        "A chest is not left/right symmetric: the heart, aortic knob and gastric bubble sit on the "
        "patient's left. A mirrored film shows a rare anatomy (dextrocardia, situs inversus), its L/R marker "
        "reads backwards, and every finding with a side swaps sides (a left effusion becomes a right one), so "
        "for a multi-label model the flip changes labels. For a side-free finding such as cardiomegaly the "
        "label survives, but the model trains on films it will almost never see, so a flip is at best an "
        "empirical choice to measure, never a default. Fix: drop the flip; keep the small rotation, shift and "
        "zoom that mimic patient positioning.",
    ),
    (
        "train_eval_mismatch",
        "cxr_pipelines",
        "Train and eval pipelines",
        "train and eval preprocessing that disagree (normalisation)",
        "Training normalises with mean 0.5 and std 0.5, evaluation with ImageNet's statistics. Both return "
        "3-channel tensors of the right size, so the model runs; it is just evaluated on inputs shifted by "
        "most of a training standard deviation and stretched about twofold, and scores worse for no visible reason. "
        "Fix: one normalisation function shared by both pipelines, and a test that they agree when "
        "augmentation is switched off.",
    ),
    (
        "eval_randomness",
        "build_transform",
        "Evaluation transform",
        "random augmentation applied at evaluation time",
        "`RandomCrop` in the evaluation pipeline makes every validation score a random variable: the same "
        "model on the same data gives a different accuracy run to run, checkpoints are compared on noise, "
        "and the evaluated images are not the images. Fix: `CenterCrop`; if you want averaged views, call "
        "it test-time augmentation and make the views deterministic.",
    ),
    (
        "test_stats",
        "make_feature_noise",
        "Tabular feature noise",
        "augmentation statistics computed on the test split",
        "`table.std(dim=0)` uses every row, test rows included, so what the model sees in training depends "
        "on the test set: a small leak, and one that makes the test score optimistic in proportion to how "
        "different the splits are. Fix: compute every statistic (noise scale, normalisation, class "
        "balance) from the training rows only.",
    ),
    (
        "tta_mode",
        "tta_predict",
        "Test-time augmentation",
        "a side effect on the caller's model (left in eval mode)",
        "`model.eval()` is never undone. Called for a validation score inside a training loop that sets "
        "`model.train()` once, before the loop, it leaves dropout off and batch-norm statistics frozen for "
        "every later epoch: no error, just a worse model. "
        "Fix: remember `model.training` and restore it in a `finally` block.",
    ),
    (
        "tta_inverse",
        "tta_segment",
        "Segmentation TTA",
        "views not mapped back (an equivariant output treated as invariant)",
        "A class probability is invariant to a flip, but a mask is equivariant: it flips with the image. "
        "Averaging the 8 views' masks without undoing each view averages 8 different orientations, which "
        "blurs every structure that is not D4-symmetric. Fix: `dihedral_inverse(model(dihedral(x, k)), k)`.",
    ),
]

SNIPPETS: dict[str, Snippet] = {
    name: Snippet(i + 1, fn, title, bug_class, expl) for i, (name, fn, title, bug_class, expl) in enumerate(_SNIPPETS)
}


def names() -> list[str]:
    """The drill names in notebook order."""
    return list(SNIPPETS)


def _snippet(name: str) -> Snippet:
    if name not in SNIPPETS:
        raise ValueError(f"name must be one of {names()}, got {name!r}")
    return SNIPPETS[name]


def _label(s: Snippet) -> str:
    return f"Drill {s.number} · {s.title}"


def _buggy(name: str) -> Callable:
    from lessonlib.review import buggy

    return getattr(buggy, _snippet(name).function)


def _answer(name: str) -> Callable:
    from lessonlib.review import answers

    return getattr(answers, _snippet(name).function)


def _probe(fn: Callable, name: str) -> tuple[bool, int, str]:
    """Run ``name``'s cases on ``fn`` unwrapped (our own code): ``(passed, cases run, message)``."""
    from lessonlib.review.checks import CASES

    named = CASES[name]
    try:
        problem = cases(fn, named)
    except WrongAnswer as exc:
        problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - the buggy snippet may raise; that exposes it too
        problem = _outcome_of_exception(exc)[1]
    if problem:
        return False, len(named), problem
    return True, len(named), f"all {len(named)} checks pass."


@cache
def _module_header(module: str) -> dict[str, str]:
    """``{bound name: the statement that binds it}`` for the imports and constants at the top of ``module``."""
    import importlib

    src = inspect.getsource(importlib.import_module(f"lessonlib.review.{module}"))
    tree = ast.parse(src)
    bound: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                bound[name] = f"from {node.module} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for t in node.targets:
                bound[t.id] = ast.get_source_segment(src, node) or ""
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
            bound[node.name] = "\n".join(src.splitlines()[node.lineno - 1 - len(node.decorator_list) : node.end_lineno])
    return bound


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def _self_contained(fn: Callable, module: str) -> str:
    """The source of ``fn`` preceded by exactly the imports, constants and private helpers of ``module`` it uses."""
    src = inspect.getsource(fn).rstrip()
    header = _module_header(module)
    used: list[str] = []
    pending = [src]
    while pending:
        text = pending.pop()
        for n, stmt in header.items():
            if n not in used and _uses(text, n):
                used.append(n)
                if not stmt.startswith(("import ", "from ")):
                    pending.append(stmt)
    merged: dict[str, list[str]] = {}
    plain: list[str] = []
    for n in used:
        line = header[n]
        if line.startswith("from "):
            mod, name = line[5:].split(" import ")
            merged.setdefault(mod, []).append(name)
        elif line.startswith("import "):
            plain.append(line)
    lines = sorted(set(plain)) + [f"from {m} import {', '.join(sorted(set(ns)))}" for m, ns in sorted(merged.items())]
    order = list(header)
    constants = [header[n] for n in sorted(used, key=order.index) if not header[n].startswith(("import ", "from "))]
    constants = [c for c in constants if not c.startswith("def ")]
    helpers = [header[n] for n in sorted(used, key=order.index) if header[n].startswith("def ")]
    blocks = ["\n".join(lines)] if lines else []
    if constants:
        blocks.append("\n".join(constants))
    blocks += helpers
    return "\n\n\n".join(blocks + [src])


def source(name: str) -> str:
    """The buggy snippet ``name`` as self-contained text: its imports, then the function as submitted.

    Pasted unchanged into a cell it defines the function, so it can be fixed and passed to ``check``.
    """
    return _self_contained(_buggy(name), "buggy")


def show(name: str) -> None:
    """Display the buggy snippet ``name`` as a code block: its imports and its source, as submitted for review."""
    from IPython.display import Markdown, display

    s = _snippet(name)
    display(Markdown(f"**{_label(s)}** — `{s.function}`, submitted for review:\n\n```python\n{source(name)}\n```"))


def demonstrate(name: str) -> Feedback:
    """Run the check on the buggy snippet and print the concrete case that exposes its bug.

    Raises:
        AssertionError: if the buggy snippet passes its own check (that would be a defect of the course).
    """
    s = _snippet(name)
    passed, _, message = _probe(_buggy(name), name)
    if passed:
        raise AssertionError(f"{_label(s)}: the buggy snippet passes its own check; the check is too weak")
    fb = Feedback(_label(s), False, message, "BUG SHOWN")
    print(fb)
    return fb


def check(name: str, fn: Any, *, must_pass: bool = False) -> Feedback:
    """Check a learner's fixed version of snippet ``name`` with the same cases that expose the bug.

    ``fn`` is the corrected function (same signature as the snippet). The exercise engine reports it:
    NOT ATTEMPTED for ``...``, ERROR IN YOUR CODE, RETURNED NONE, TRY AGAIN (with the failing case) or
    PASS. Prints one line; with ``must_pass=True`` anything but PASS raises ``ExerciseFailed``.
    """
    from lessonlib.review.checks import CASES

    s = _snippet(name)
    named = CASES[name]
    return _run(
        _label(s),
        fn,
        lambda f: cases(f, named),
        function=True,
        what=f"your `{s.function}`",
        pass_message=f"all {len(named)} checks pass.",
        must_pass=must_pass,
    )


def reveal_answer(name: str, *, static: bool | None = None) -> str:
    """Show the explanation and the model answer of snippet ``name`` (a deliberate step; returns the markdown).

    ``static`` is accepted for compatibility and ignored: the answer is shown only when asked for, and no
    stored notebook cell asks for it.
    """
    s = _snippet(name)
    src = _self_contained(_answer(name), "answers")
    body = f"**{_label(s)}, model answer.** Bug class: {s.bug_class}.\n\n{s.explanation}\n\n```python\n{src}\n```"
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(body))
            return body
    except ImportError:  # pragma: no cover
        pass
    print(body)
    return body


@dataclass(frozen=True)
class AuditRow:
    """One line of ``audit()``: whether the buggy snippet fails and the model answer passes."""

    number: int
    name: str
    bug_class: str
    bug_caught: bool
    answer_passes: bool
    cases: int


def audit() -> list[AuditRow]:
    """Run every buggy snippet and every model answer through its check (nothing is printed).

    Each row should read ``bug_caught=True`` and ``answer_passes=True``; the tests assert it.
    """
    rows = []
    for name, s in SNIPPETS.items():
        bug_passed, n, _ = _probe(_buggy(name), name)
        ans_passed, _, _ = _probe(_answer(name), name)
        rows.append(AuditRow(s.number, name, s.bug_class, not bug_passed, ans_passed, n))
    return rows
