"""Exercises of notebook 08 (automatic augmentation policies), declared with the course registry.

``nb08.hint(k)``, ``nb08.hint(k, level=2)`` and ``nb08.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF

from lessonlib.exercises import Notebook, cases, choice, expect_tensor, number
from lessonlib.utils import make_generator

__all__ = [
    "EX",
    "hint",
    "reveal",
    "CXR_OPTIONS",
    "check_safe_ops",
    "check_untouched_probability",
    "check_two_op_step",
]

EX = Notebook("08")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 08.1 Which operations are safe for a chest film?
# ---------------------------------------------------------------------------------------------

#: The menu (operation at the magnitude named) and why each belongs or not (shown for a wrong pick).
CXR_OPTIONS = {
    "Identity": "leaving some films unchanged keeps the training distribution close to the test one",
    "Rotate ±10°": "patients are positioned a few degrees off; that is ordinary variation",
    "TranslateX ±8%": "the field of view shifts by that much from film to film",
    "Brightness ±25%": "exposure varies from film to film by about that much",
    "Contrast ±25%": "detector and processing change the contrast by about that much",
    "Sharpness": "mild sharpening or softening mimics different detectors and processing",
    "Solarize": "inverts the densities above a threshold: bone and air swap there, no scanner does that",
    "Posterize": "keeping a few bits erases the few-grey-level differences a finding is made of",
    "Invert": "a polarity flip (MONOCHROME1 vs 2) is an encoding to normalise once, not a variant",
    "Color": "saturation does nothing to a grey image: the draw is wasted",
    "Equalize": "a global remapping of the density scale is a preprocessing decision, not noise",
    "ShearX ±45°": "shears that large make anatomy no patient has",
}
_SAFE = frozenset({"Identity", "Rotate ±10°", "TranslateX ±8%", "Brightness ±25%", "Contrast ±25%", "Sharpness"})


@EX.exercise(
    1,
    "a policy for a chest film",
    difficulty="easy",
    hints=(
        "For each operation ask: could a real film from another patient, scanner or day look like this? "
        "Changes a radiographer sees every day are in; changes to what a density means are out.",
        "Six operations pass: the ones that mimic positioning and acquisition. Intensity remappings that "
        "reverse or quantise densities, a colour change on a grey image and huge shears do not.",
    ),
    solution=set(_SAFE),
    explanation="Keep small rotations and shifts (positioning), brightness and contrast (exposure and "
    "processing), sharpness (detector) and some untouched films. Solarize, posterize and invert change what "
    "the densities mean; Color is a no-op on grey; equalize is a preprocessing choice; 45° shears are not "
    "anatomy.",
    wrong=[
        set(_SAFE) - {"Identity"},
        set(_SAFE) | {"Color"},
        set(_SAFE) | {"Equalize"},
        {"Rotate ±10°", "TranslateX ±8%"},
        set(CXR_OPTIONS),
    ],
    variants=[sorted(_SAFE), tuple(_SAFE)],
)
def check_safe_ops(answer):
    """Which operations of ``CXR_OPTIONS`` belong in a chest-radiograph policy? A set of names."""
    return choice(
        answer,
        _SAFE,
        CXR_OPTIONS,
        missing_hint="Look again at the operations that mimic how films of the same patient differ.",
    )


# ---------------------------------------------------------------------------------------------
# 08.2 Probability that RandAugment(N=2) leaves a grey film untouched
# ---------------------------------------------------------------------------------------------

_P_UNTOUCHED = (2 / 14) ** 2  # Identity and Color (a no-op on grey) of 14 operations, both draws


@EX.exercise(
    2,
    "how often is a film left untouched?",
    difficulty="medium",
    hints=(
        "An image is untouched only if *every* one of the N draws does nothing to it. Which of the 14 "
        "operations do nothing to a grey image at M = 9? (Look at the figure of section 2.)",
        "Two operations are no-ops on grey; posterize at M = 9 keeps 7 bits and solarize at M = 9 has a "
        "threshold of 0.7, so both still change a film. Each draw is independent: multiply.",
    ),
    solution=_P_UNTOUCHED,
    explanation="Identity does nothing, and Color (saturation) does nothing to a grey image, so each draw "
    "is a no-op with probability 2/14; both draws must be: (2/14)² = 1/49 ≈ 0.0204. On a colour photograph "
    "it would be (1/14)² ≈ 0.0051.",
    wrong=[(1 / 14) ** 2, 2 / 14, 1 / 14, (3 / 14) ** 2, 1 - (12 / 14) ** 2, 2 * 2 / 14],
    variants=[1 / 49, 0.0204, torch.tensor(1 / 49)],
)
def check_untouched_probability(answer):
    """The probability that RandAugment (N=2, M=9) leaves a grey-scale film untouched."""
    return number(
        answer,
        _P_UNTOUCHED,
        tol=0.0005,
        mistakes={
            (1 / 14) ** 2: "that counts only the identity; one more operation does nothing to a grey image.",
            2 / 14: "that is one draw; RandAugment with N = 2 draws twice, independently.",
            1 - (12 / 14) ** 2: "that is the chance that at least one draw is a no-op; both must be.",
            (3 / 14) ** 2: "one operation too many counted as a no-op: at M = 9, which of them still change a film?",
        },
        what="the probability",
    )


# ---------------------------------------------------------------------------------------------
# 08.3 A per-image policy step for two operations
# ---------------------------------------------------------------------------------------------


def _reference(x: torch.Tensor, op: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    rows = []
    for i in range(x.shape[0]):  # the obviously right (slow) version: torchvision image by image
        m = float(magnitude[i])
        if int(op[i]) == 0:
            rows.append(TF.adjust_brightness(x[i], 1.0 + m))
        else:
            rows.append(TF.solarize(x[i], 255.0 * m))
    return torch.stack(rows)


def _float64_version(x: torch.Tensor, op: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """The right arithmetic done in float64: what a learner gets whose factor or threshold is float64.

    torchvision multiplies a uint8 image by the factor in float32 and compares it with the threshold in
    float32 (a Python float meeting a uint8 tensor becomes float32); in float64 a product such as
    255 * 0.8 lands on the other side of a whole grey level now and then, so one pixel differs.
    """
    m = magnitude.to(torch.float64).view(-1, 1, 1, 1)
    xd = x.to(torch.float64)
    bright = (xd * (1.0 + m)).clamp(0, 255).to(x.dtype)
    sol = torch.where(xd >= 255.0 * m, 255 - x, x)
    return torch.where((op == 0).view(-1, 1, 1, 1), bright, sol)


def _solution_two_op_step(x, op, magnitude):
    out = x.clone()
    bright, sol = op == 0, op == 1
    if bool(bright.any()):  # brightness: factor 1 + m, computed in float32 like torchvision, clamped, cast back
        f = (1.0 + magnitude[bright]).to(torch.float32).view(-1, 1, 1, 1)
        out[bright] = x[bright].mul(f).clamp(0, 255).to(x.dtype)
    if bool(sol.any()):  # solarize: invert the pixels at or above 255·m
        thr = (255.0 * magnitude[sol]).to(torch.float32).view(-1, 1, 1, 1)
        xs = x[sol]
        out[sol] = torch.where(xs >= thr, 255 - xs, xs)
    return out


def _variant_both_then_select(x, op, magnitude):  # right, written otherwise: compute both, pick per image
    f = (1.0 + magnitude).to(torch.float32).view(-1, 1, 1, 1)
    thr = (255.0 * magnitude).to(torch.float32).view(-1, 1, 1, 1)
    bright = x.to(torch.float32).mul(f).clamp(0, 255).to(torch.uint8)
    sol = torch.where(x >= thr, 255 - x, x)
    return torch.where((op == 0).view(-1, 1, 1, 1), bright, sol)


def _variant_index_copy(x, op, magnitude):  # right, written otherwise: index_select / index_copy
    out = x.clone()
    for k in (0, 1):
        idx = torch.nonzero(op == k).flatten()
        if idx.numel() == 0:
            continue
        xs, m = x.index_select(0, idx), magnitude.index_select(0, idx).view(-1, 1, 1, 1)
        if k == 0:
            res = xs.float().mul((1 + m).float()).clamp(0, 255).to(x.dtype)
        else:
            res = torch.where(xs >= (255 * m).float(), 255 - xs, xs)
        out.index_copy_(0, idx, res)
    return out


def _bug_one_draw(x, op, magnitude):  # mistake: torchvision-style, the first image's draw for all
    if int(op[0]) == 0:
        return TF.adjust_brightness(x, 1.0 + float(magnitude[0]))
    return TF.solarize(x, 255.0 * float(magnitude[0]))


def _bug_factor(x, op, magnitude):  # mistake: brightness factor m instead of 1 + m
    return _solution_two_op_step(x, op, magnitude - (op == 0).to(magnitude.dtype))


def _bug_no_clamp(x, op, magnitude):  # mistake: uint8 wrap-around instead of clamping at 255
    out = _solution_two_op_step(x, op, magnitude)
    bright = op == 0
    f = (1.0 + magnitude[bright]).to(torch.float32).view(-1, 1, 1, 1)
    out[bright] = (x[bright].to(torch.float32) * f).to(torch.int64).remainder(256).to(torch.uint8)
    return out


def _bug_in_place(x, op, magnitude):  # mistake: writes into the caller's batch
    out = _solution_two_op_step(x, op, magnitude)
    x.copy_(out)
    return x


def _bug_strict(x, op, magnitude):  # mistake: solarize with > instead of >=
    out = _solution_two_op_step(x, op, magnitude)
    sol = op == 1
    thr = (255.0 * magnitude[sol]).to(torch.float32).view(-1, 1, 1, 1)
    xs = x[sol]
    out[sol] = torch.where(xs > thr, 255 - xs, xs)
    return out


def _bug_rounding(x, op, magnitude):  # mistake: rounds the brightened values instead of truncating
    out = _solution_two_op_step(x, op, magnitude)
    bright = op == 0
    f = (1.0 + magnitude[bright]).to(torch.float32).view(-1, 1, 1, 1)
    out[bright] = x[bright].mul(f).round().clamp(0, 255).to(x.dtype)
    return out


def _batch(seed: int, b: int = 12, c: int = 3, hw: int = 9):
    """A uint8 batch, its ops and magnitudes drawn from torchvision's bins. The magnitudes are float32,
    the dtype of torchvision's bins (``torch.linspace``), so a learner's ``255 * m`` is computed in the
    precision torchvision compares in (hint 2 typed literally passes)."""
    g = make_generator(seed)
    x = torch.randint(0, 256, (b, c, hw, hw), generator=g, dtype=torch.uint8)
    op = torch.randint(0, 2, (b,), generator=g)
    bins = torch.linspace(0.0, 0.99, 31)
    sign = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    m_bright = bins[torch.randint(0, 31, (b,), generator=g)] * sign
    m_sol = torch.linspace(1.0, 0.0, 31)[torch.randint(0, 31, (b,), generator=g)]
    m = torch.where(op == 0, m_bright, m_sol)
    sol = torch.nonzero(op == 1).flatten()
    if sol.numel():  # one threshold exactly 0 with a black pixel: a strict comparison shows there
        m[sol[0]] = 0.0
        x[sol[0], 0, 0, 0] = 0
    return x, op, m


def _probe(seed: int, **kw):
    def probe(fn) -> str | None:
        x, op, m = _batch(seed, **kw)
        x0 = x.clone()
        out = expect_tensor(fn(x, op, m), "the augmented batch", shape=x.shape)
        if not torch.equal(x, x0):
            return "the input batch was modified in place; work on a copy"
        if out.dtype != x.dtype:
            return f"the result is {out.dtype}; keep the input's dtype (uint8)"
        want = _reference(x, op, m)
        bad = (out.to(torch.int16) - want.to(torch.int16)).abs().flatten(1).amax(1) > 0
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            which = "Brightness" if int(op[i]) == 0 else "Solarize"
            msg = (
                f"{int(bad.sum())} of {x.shape[0]} images differ from torchvision applied to each alone "
                f"(the first is image {i}, a {which} image)"
            )
            if torch.equal(out, _float64_version(x, op, m)):  # (a strict > fails the threshold-0 image)
                msg += (
                    "; your arithmetic is right but done in float64: torchvision multiplies and compares "
                    "a uint8 image in float32 (keep the magnitudes float32, as they come, or cast the "
                    "factor and the threshold with .float())"
                )
            return msg
        return None

    return probe


@EX.exercise(
    3,
    "a per-image policy step for two operations",
    difficulty="hard",
    hints=(
        "Split the batch by operation with a boolean mask (op == 0, op == 1), treat each group at once, "
        "and give each image its own magnitude as a tensor of shape [n, 1, 1, 1] that broadcasts.",
        "Brightness: multiply by (1 + m) in float32, clamp to [0, 255], cast back (casting truncates, as "
        "torchvision does). Solarize: torch.where(x >= 255·m, 255 − x, x). Start from x.clone().",
    ),
    solution=_solution_two_op_step,
    explanation="Group by operation with masks, broadcast per-image magnitudes as [n, 1, 1, 1] tensors, and "
    "follow torchvision's arithmetic: brightness is x·(1 + m) in float32, clamped and truncated back to "
    "uint8; solarize inverts the pixels at or above the threshold. Writing into a clone keeps the input intact.",
    wrong=[_bug_one_draw, _bug_factor, _bug_no_clamp, _bug_in_place, _bug_strict, _bug_rounding],
    variants=[_variant_both_then_select, _variant_index_copy],
    function=True,
)
def check_two_op_step(fn):
    """``fn(x uint8 [B, C, H, W], op [B] in {0, 1}, magnitude [B] float) -> [B, C, H, W] uint8``."""
    return cases(
        fn,
        [
            ("a mixed batch of colour images", _probe(0)),
            ("another batch", _probe(1)),
            ("grey images", _probe(2, c=1)),
            ("a batch of one", _probe(3, b=1)),
            ("a larger batch", _probe(4, b=40, hw=16)),
        ],
    )
