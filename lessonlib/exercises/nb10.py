"""Exercises of notebook 10 (augmentation as the learning signal), declared with the course registry.

``nb10.hint(k)``, ``nb10.hint(k, level=2)`` and ``nb10.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.exercises import Notebook, WrongAnswer, as_number, cases, choice, expect_tensor, number
from lessonlib.reference.selfsup import nt_xent as reference_nt_xent
from lessonlib.selfsup import nt_xent
from lessonlib.utils import make_generator

__all__ = [
    "EX",
    "hint",
    "reveal",
    "TOY_Z1",
    "TOY_Z2",
    "ECG_VIEWS",
    "FIXMATCH_STATEMENTS",
    "check_toy_nt_xent",
    "check_ecg_views",
    "check_fixmatch_statements",
    "check_nt_xent_function",
]

EX = Notebook("10")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 10.1 NT-Xent for a 2x2 toy batch (tau = 1)
# ---------------------------------------------------------------------------------------------

TOY_Z1 = ((1.0, 0.0), (0.0, 1.0))
TOY_Z2 = ((0.6, 0.8), (0.8, 0.6))


def _toy(self_in_denominator: bool = False, one_direction: bool = False, reduce: str = "mean", base=math.e):
    """NT-Xent of the toy batch written out anchor by anchor (and the usual slips, for the tests)."""
    z = [*TOY_Z1, *TOY_Z2]
    partner = [2, 3, 0, 1]
    anchors = [0, 1] if one_direction else [0, 1, 2, 3]
    terms = []
    for i in anchors:
        sims = [sum(a * b for a, b in zip(z[i], z[k], strict=True)) for k in range(4)]
        denom = sum(math.exp(sims[k]) for k in range(4) if k != i or self_in_denominator)
        terms.append(-math.log(math.exp(sims[partner[i]]) / denom, base))
    return sum(terms) if reduce == "sum" else sum(terms) / len(terms)


_TOY = _toy()
_TOY_MISTAKES = {
    _toy(self_in_denominator=True): "the anchor itself is in your denominator; the sum runs over k ≠ i.",
    _toy(one_direction=True): "you averaged over the first views only; every one of the 2B views is an anchor.",
    _toy(reduce="sum"): "that is the sum over anchors; NT-Xent is their mean.",
    _toy(base=2): "the loss is in nats: use the natural logarithm.",
}


@EX.exercise(
    1,
    "NT-Xent of a 2x2 toy batch",
    difficulty="easy",
    hints=(
        "List the four vectors (two first views, then two second views). For each anchor, its positive is the "
        "other view of the same image and its denominator runs over the three other vectors.",
        "With unit vectors and τ = 1 the similarity is the dot product. Anchor (1, 0): positive (0.6, 0.8) gives "
        "0.6; the other two vectors give 0 and 0.8. Do the same for all four anchors and average −log(softmax).",
    ),
    solution=round(_TOY, 4),
    explanation="Anchor by anchor, −log(e^{s_pos} / Σ_{k≠i} e^{s_ik}) with s the dot products: the first views "
    f"give {_toy(one_direction=True):.3f} each on average, the second views (whose negatives are closer, 0.8 and "
    f"0.96) more; the mean over the four anchors is {_TOY:.4f}. Note it is close to log 3 = 1.099, the value for "
    "a network that cannot tell the views apart: these positives are not more similar than the negatives.",
    wrong=list(_TOY_MISTAKES) + [math.log(3), 0.0],
    variants=[torch.tensor(_TOY), _TOY, round(_TOY, 3)],
)
def check_toy_nt_xent(answer):
    """The NT-Xent loss (mean over the four anchors, τ = 1, natural log) of ``TOY_Z1``/``TOY_Z2``."""
    value = as_number(answer, "your loss")
    if abs(value - math.log(3)) < 5e-4:
        return "that is log 3, the loss when every similarity is equal; these are not: compute them."
    return number(value, _TOY, tol=5e-4, mistakes=_TOY_MISTAKES, what="your loss")


# ---------------------------------------------------------------------------------------------
# 10.2 Views for an ECG rhythm task
# ---------------------------------------------------------------------------------------------

#: {view: why it is or is not a safe and useful positive pair for a rhythm task}
_ECG_REASONS = {
    "add a slow baseline wander (0.1-0.5 Hz)": "breathing and electrode drift move the baseline, never the rhythm",
    "add small Gaussian noise (5% of the QRS amplitude)": (
        "muscle and mains noise leave every R-R interval where it was"
    ),
    "scale the amplitude by a factor in [0.8, 1.2]": "electrode contact and body habitus change amplitudes, not timing",
    "take a random 5-s window of the 10-s recording": (
        "it keeps the rhythm label, but two windows of one recording share the patient's QRS shape, so the "
        "network can match the pair by morphology without looking at the rhythm (section 5's shortcut)"
    ),
    "time-stretch by a factor in [0.7, 1.3] (resample)": (
        "stretching time changes the heart rate: 90 bpm can become 120, a different label"
    ),
    "shuffle the order of the beats": (
        "reordering beats of sinus rhythm makes the R-R intervals irregular, like atrial fibrillation"
    ),
    "use the recording unchanged (identical views)": (
        "identical views make a task solved by any injective feature: nothing is learned"
    ),
}
ECG_VIEWS = tuple(_ECG_REASONS)
_ECG_SAFE = frozenset(ECG_VIEWS[:3])


@EX.exercise(
    2,
    "views for an ECG rhythm task",
    difficulty="medium",
    hints=(
        "For each view ask two questions: could it change the rhythm label (rate, regularity of R-R intervals)? "
        "And does it hide anything, or are the two views identical?",
        "Rhythm lives in the timing of the beats. Views that change only amplitude, baseline or noise are safe; "
        "views that change the timing are not; a view must also change something, and must not leave a "
        "shortcut such as the same patient's beats in both views.",
    ),
    solution=set(_ECG_SAFE),
    explanation="Safe and useful: baseline wander, small noise and amplitude scaling: each changes something "
    "the rhythm does not depend on. Two random 5-s windows keep the label but make an easy pair: both hold the "
    "same patient's QRS shape, which the network can match instead of the rhythm (different recordings of one "
    "patient are the better positives). Time-stretching changes the rate (a sinus rhythm at 90 bpm "
    "stretched by 0.75 is a tachycardia at 120) and shuffling beats changes the regularity that defines atrial "
    "fibrillation; identical views teach nothing. 3KG's views perturb the heart's 3-D electrical axis for the "
    "same reason: the rhythm survives.",
    wrong=[
        set(ECG_VIEWS[:4]),
        set(ECG_VIEWS[:2]),
        set(ECG_VIEWS),
        {ECG_VIEWS[6]},
        set(ECG_VIEWS[4:]),
    ],
    variants=[list(reversed(ECG_VIEWS[:3])), tuple(ECG_VIEWS[:3])],
)
def check_ecg_views(answer):
    """The views (texts of ``ECG_VIEWS``) that keep the rhythm label and still hide something."""
    return choice(
        answer,
        _ECG_SAFE,
        _ECG_REASONS,
        missing_hint="Look again at the views that change amplitude, baseline or noise.",
        what="your views",
    )


# ---------------------------------------------------------------------------------------------
# 10.3 FixMatch: where the strong augmentation goes
# ---------------------------------------------------------------------------------------------

_FIXMATCH_REASONS = {
    "The pseudo-label is read from the weak view because predictions there are more often right.": (
        "the target should be as reliable as possible, and the weakly changed image is closest to "
        "what the model has learned"
    ),
    "The loss against the pseudo-label is computed on the strong view: stay consistent under large changes.": (
        "this is the consistency part: same answer under a hard view"
    ),
    "Labelled images are trained with weak views only.": "the supervised branch uses weakly augmented labelled images",
    "The threshold keeps unsure pseudo-labels out of the loss, so early in training few unlabelled images count.": (
        "the mask grows as the model becomes confident"
    ),
    "The pseudo-label should be read from the strong view, since it is the harder example.": (
        "a prediction on a heavily distorted image is the least reliable target you could pick"
    ),
    "Gradients flow through the weak-view prediction that produced the pseudo-label.": (
        "the pseudo-label is a fixed hard target (arg-max, no gradient), or the model could cheat "
        "by changing its own target"
    ),
    "Setting the threshold to 0 always helps, because more unlabelled images are used.": (
        "then every wrong guess becomes a training target; the model confirms its own mistakes"
    ),
    "The strong augmentation only needs to preserve the label on labelled images.": (
        "the pseudo-label is assumed to hold for the strong view of the unlabelled image: that view "
        "must preserve the label too"
    ),
}
FIXMATCH_STATEMENTS = tuple(_FIXMATCH_REASONS)
_FIXMATCH_TRUE = frozenset(FIXMATCH_STATEMENTS[:4])


@EX.exercise(
    3,
    "FixMatch's weak and strong branches",
    difficulty="medium",
    hints=(
        "Follow one unlabelled image through a FixMatch step: which view makes the target, which view is trained, "
        "and what happens when the model is unsure?",
        "The target should be reliable (so: from the easier view, fixed, and only when confident); the lesson "
        "should be hard (so: on the harder view). Every view of an image must keep its label.",
    ),
    solution=set(_FIXMATCH_TRUE),
    explanation="Weak view → pseudo-label (reliable, no gradient, only above the threshold); strong view → "
    "trained to match it (consistency under a hard view); labelled images get weak views. A strong view on the "
    "target side would make the targets noisy, gradients through the target let the model move its own goal, and "
    "τ = 0 turns every early mistake into a label. The strong view must still preserve the label, since the "
    "pseudo-label is assumed to hold for it.",
    wrong=[
        set(FIXMATCH_STATEMENTS[:3]),
        set(FIXMATCH_STATEMENTS[:5]),
        set(FIXMATCH_STATEMENTS[4:]),
        {FIXMATCH_STATEMENTS[1], FIXMATCH_STATEMENTS[7]},
    ],
    variants=[list(FIXMATCH_STATEMENTS[:4]), tuple(reversed(FIXMATCH_STATEMENTS[:4]))],
)
def check_fixmatch_statements(answer):
    """Every true statement of ``FIXMATCH_STATEMENTS``."""
    return choice(
        answer,
        _FIXMATCH_TRUE,
        _FIXMATCH_REASONS,
        missing_hint="Some true statements are about the labelled branch and the threshold, not only the views.",
        what="your statements",
    )


# ---------------------------------------------------------------------------------------------
# 10.4 Write NT-Xent
# ---------------------------------------------------------------------------------------------


def _solution_nt_xent(z1, z2, tau):
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / tau).fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])
    return F.cross_entropy(logits, target)


def _variant_logsumexp(z1, z2, tau):  # the same loss written with an explicit log-sum-exp
    b = z1.shape[0]
    z = torch.cat([z1 / z1.norm(dim=1, keepdim=True), z2 / z2.norm(dim=1, keepdim=True)])
    sim = z @ z.T / tau
    mask = torch.eye(2 * b, dtype=torch.bool)
    positive = torch.cat([sim.diagonal(b), sim.diagonal(-b)])
    return (torch.logsumexp(sim.masked_fill(mask, float("-inf")), dim=1) - positive).mean()


def _bug_self_in_denominator(z1, z2, tau):
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])
    return F.cross_entropy(z @ z.T / tau, target)


def _bug_not_normalised(z1, z2, tau):
    b = z1.shape[0]
    z = torch.cat([z1, z2])
    logits = (z @ z.T / tau).fill_diagonal_(float("-inf"))
    return F.cross_entropy(logits, torch.cat([torch.arange(b, 2 * b), torch.arange(b)]))


def _bug_one_direction(z1, z2, tau):
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / tau).fill_diagonal_(float("-inf"))
    return F.cross_entropy(logits[:b], torch.arange(b, 2 * b))


def _bug_positives_only_vs_other_view(z1, z2, tau):  # the "InfoNCE across views only" slip
    a, c = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    return F.cross_entropy(a @ c.T / tau, torch.arange(z1.shape[0]))


def _bug_loop_over_anchors(z1, z2, tau):  # the reference shown in section 1: right, but one anchor at a time
    return reference_nt_xent(z1, z2, tau)


def _bug_in_place(z1, z2, tau):
    z1 = z1.div_(z1.norm(dim=1, keepdim=True))
    return _solution_nt_xent(z1, z2, tau)


def _batch(b, d, seed, dtype=torch.float32):
    g = make_generator(seed)
    z1 = torch.randn(b, d, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
    return (3.0 * z1).to(dtype), (0.5 * z2).to(dtype)  # deliberately not unit length


def _matches(b, d, tau, seed, dtype=torch.float32):
    def probe(fn):
        z1, z2 = _batch(b, d, seed, dtype)
        out = expect_tensor(fn(z1.clone(), z2.clone(), tau), "your loss", floating=True)
        if out.numel() != 1:
            return f"the loss must be one number (a 0-d tensor), got shape {tuple(out.shape)}"
        want = nt_xent(z1.double(), z2.double(), temperature=tau)
        got = out.detach().double().reshape(())
        if torch.isclose(got, want, rtol=1e-3 if dtype == torch.float32 else 1e-6, atol=1e-5):
            return None
        for bug, why in _MUTANT_HINTS:
            if torch.isclose(got, bug(z1.double(), z2.double(), tau).double(), rtol=1e-4, atol=1e-6):
                return why
        return "the value differs from NT-Xent; check the similarity, the temperature and which entries are masked"

    return probe


_MUTANT_HINTS = (
    (_bug_self_in_denominator, "each anchor's similarity with itself is still in the softmax; mask the diagonal"),
    (_bug_not_normalised, "the rows are not unit length here: normalise before the dot products (cosine similarity)"),
    (_bug_one_direction, "only the first views are anchors; the second views are anchors too (2B terms)"),
    (
        _bug_positives_only_vs_other_view,
        "the negatives come from the other view only; the same view's other rows are negatives as well",
    ),
)


class _CountTorchCalls(torch.overrides.TorchFunctionMode):
    """Counts torch functions and tensor methods called inside the ``with`` block."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def _batched(fn):
    calls = []
    for b in (3, 12):
        z1, z2 = _batch(b, 4, 5)
        with _CountTorchCalls() as counter:
            fn(z1, z2, 0.5)
        calls.append(counter.calls)
    if calls[1] > calls[0] + 8:  # a batched loss makes the same calls for any B
        return (
            f"your loss made {calls[0]} torch calls for 3 pairs and {calls[1]} for 12: it loops over anchors in "
            "Python, as the reference in section 1 does for readability. Write it batched: every similarity from "
            "one matrix product, no loop over samples"
        )
    return None


def _unchanged(fn):
    z1, z2 = _batch(4, 3, 7)
    c1, c2 = z1.clone(), z2.clone()
    fn(z1, z2, 0.5)
    if not (torch.equal(z1, c1) and torch.equal(z2, c2)):
        return "your function changed its inputs in place; normalise into new tensors"
    return None


def _differentiable(fn):
    z1, z2 = _batch(3, 4, 11)
    z1.requires_grad_(True)
    out = fn(z1, z2.clone(), 0.5)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise WrongAnswer("the loss carries no gradient: compute it with torch operations, not numpy or .item()")
    return None


@EX.exercise(
    4,
    "write NT-Xent",
    difficulty="hard",
    hints=(
        "Stack the 2B projections, normalise each row, and form the 2B x 2B matrix of similarities divided by τ. "
        "Row i is then a classification over the other 2B − 1 rows whose right answer is i's partner.",
        "Set the diagonal to −inf so an anchor is never its own candidate, build the target index "
        "[B, …, 2B−1, 0, …, B−1], and take the mean cross-entropy over all 2B rows.",
    ),
    solution=_solution_nt_xent,
    explanation="z = normalize(cat(z1, z2)); logits = z zᵀ / τ with −inf on the diagonal; target of row i is "
    "i + B for the first half and i − B for the second; loss = cross_entropy(logits, target) (a mean over the "
    "2B anchors). Masking the diagonal matters: otherwise each anchor's self-similarity 1/τ dominates every "
    "softmax.",
    wrong=[
        _bug_self_in_denominator,
        _bug_not_normalised,
        _bug_one_direction,
        _bug_positives_only_vs_other_view,
        _bug_loop_over_anchors,
        _bug_in_place,
    ],
    variants=[lambda z1, z2, tau: nt_xent(z1, z2, temperature=tau), _variant_logsumexp],
    what="your my_nt_xent",
)
def check_nt_xent_function(fn):
    """``fn(z1, z2, tau)`` -> the NT-Xent loss (0-d tensor), compared with ``selfsup.nt_xent``."""
    return cases(
        fn,
        [
            ("2 pairs, D = 2, τ = 1", _matches(2, 2, 1.0, 0)),
            ("6 pairs, D = 5, τ = 0.5", _matches(6, 5, 0.5, 1)),
            ("8 pairs, D = 3, τ = 0.1, float64", _matches(8, 3, 0.1, 2, torch.float64)),
            ("batched", _batched),
            ("inputs", _unchanged),
            ("gradients", _differentiable),
        ],
    )
