"""Exercises of notebook 12 (3-D volumes: CT and MRI), declared with the course registry.

``nb12.hint(k)``, ``nb12.hint(k, level=2)`` and ``nb12.reveal(k)`` give graded help; the model
solutions live here (``EX.exercises[k].solution``), so a unit test proves each one passes and each
recorded mistake fails. Wrong-answer feedback names the kind of mistake, never the answer.
"""

from __future__ import annotations

import torch

from lessonlib.exercises import Notebook, WrongAnswer, as_vector, cases, choice, expect_tensor, number
from lessonlib.utils import make_generator

__all__ = [
    "EX",
    "hint",
    "reveal",
    "TRANSFORMS",
    "check_lung_window",
    "check_resampled_shape",
    "check_label_transforms",
    "check_truncate_w",
]

EX = Notebook("12")
hint, reveal = EX.hint, EX.reveal

# ---------------------------------------------------------------------------------------------
# 12.1 From a stored CT value to a display value
# ---------------------------------------------------------------------------------------------

_STORED, _SLOPE, _INTERCEPT, _LEVEL, _WIDTH = 1074, 1.0, -1024.0, -600.0, 1500.0


def _display(stored, slope, intercept, level, width):
    hu = stored * slope + intercept
    return min(max((hu - (level - width / 2)) / width, 0.0), 1.0)


_RIGHT_1 = _display(_STORED, _SLOPE, _INTERCEPT, _LEVEL, _WIDTH)  # 50 HU in the lung window: 0.9333


@EX.exercise(
    1,
    "a CT voxel through the lung window",
    difficulty="easy",
    hints=(
        "Two steps: the file's rescale turns the stored integer into Hounsfield units; the window maps the "
        "band level ± width/2 onto [0, 1].",
        "HU = RescaleSlope × stored + RescaleIntercept. Then (HU − (level − width/2)) / width, clipped to [0, 1].",
    ),
    solution=_RIGHT_1,
    explanation="HU = 1 × 1074 − 1024 = 50 (soft tissue). The lung window (level −600, width 1500) spans −1350 "
    "to +150 HU, so 50 HU sits at (50 + 1350) / 1500 = 0.933: nearly white, as soft tissue looks in a lung window.",
    wrong=[1.0, 0.525, 0.4333, 0.0667, 50],
    variants=[0.933, 1400 / 1500, torch.tensor(0.9333), "0.9333"],
)
def check_lung_window(answer):
    """A voxel stored as 1074 (RescaleSlope 1, RescaleIntercept −1024) in the lung window (L −600, W 1500)."""
    if isinstance(answer, str):
        try:
            answer = float(answer)
        except ValueError:
            raise WrongAnswer("expected a number in [0, 1], got text that is not a number") from None
    return number(
        answer,
        _RIGHT_1,
        tol=0.0015,
        mistakes={
            1.0: "that is clipped white: did you forget the rescale intercept, or use the stored value as HU?",
            0.525: "that is a soft-tissue window (level 40, width 400), not the lung window",
            0.4333: "the window starts at level − width/2, not at the level itself",
            0.0667: "measured from the wrong end: the band starts at level − width/2 and grows upwards",
            50: "that is the voxel in Hounsfield units; now place it inside the window's band",
        },
        what="the display value",
        hint="Convert to HU first, then place that HU inside the window's band.",
    )


# ---------------------------------------------------------------------------------------------
# 12.2 The size of a resampled volume
# ---------------------------------------------------------------------------------------------

_SHAPE, _SPACING, _TARGET = (60, 512, 512), (5.0, 0.7, 0.7), 1.5
_RIGHT_2 = tuple(int(n * s // _TARGET) for n, s in zip(_SHAPE, _SPACING, strict=True))  # (200, 238, 238)


@EX.exercise(
    2,
    "size after resampling to 1.5 mm",
    difficulty="easy",
    hints=(
        "Resampling keeps the physical extent (voxels × spacing, in mm) and divides it by the new spacing.",
        "Per axis: floor(n × s / s'). The slices are 5 mm apart, the in-plane pixels 0.7 mm.",
    ),
    solution=_RIGHT_2,
    explanation="Extent per axis: 60 × 5 = 300 mm, 512 × 0.7 = 358.4 mm. Divided by 1.5 mm: 200 slices and "
    "floor(238.9) = 238 rows and columns; floor keeps the new grid inside the old field of view (TorchIO's rule).",
    wrong=[(200, 239, 239), (18, 1097, 1097), (60, 238, 238), (200, 512, 512), (238, 238, 200)],
    variants=[[200, 238, 238], torch.tensor([200, 238, 238]), (200.0, 238.0, 238.0)],
    secrets=("238",),
)
def check_resampled_shape(answer):
    """``(D, H, W)`` of a ``[60, 512, 512]`` CT with spacing ``(5, 0.7, 0.7)`` mm resampled to 1.5 mm isotropic."""
    got = as_vector(answer, 3, "the shape (D, H, W)")
    want = torch.tensor(_RIGHT_2, dtype=torch.float64)
    if torch.equal(got, want):
        return None
    if torch.equal(got, want.flip(0)):
        return "the axes are in the wrong order: the 60 slices come first (D, H, W)"
    if torch.equal(got[1:], want[1:] + 1):
        return "one voxel too many in-plane: rounding up would reach outside the old field of view; round down"
    if got[0] == _SHAPE[0]:
        return "the slices changed spacing too (5 mm to 1.5 mm): their number must change"
    if bool((got > torch.tensor(_SHAPE, dtype=torch.float64) * 2).any()):
        return "a ratio is upside down: a coarser spacing means fewer voxels"
    return "some axis is off: multiply each size by its own spacing, divide by 1.5 mm, round down"


# ---------------------------------------------------------------------------------------------
# 12.3 Which transforms must move the label map as well?
# ---------------------------------------------------------------------------------------------

TRANSFORMS = {
    "random 3-D rotation and scaling": "spatial: voxels move, so the labels must move with them",
    "elastic deformation": "spatial: a displacement field moves voxels; the labels follow it",
    "left-right flip": "spatial: it moves voxels (and a left/right label must also swap classes)",
    "resampling to 1 mm": "spatial: a new grid; the labels need it too, by nearest neighbour",
    "bias field": "intensity only: it multiplies values in place, nothing moves",
    "ghosting in k-space": "intensity only: it changes values (shifted copies appear) but the anatomy's labels stay",
    "CT window": "intensity only: a mapping of values, applied to the image alone",
    "Gaussian noise": "intensity only: it perturbs values where they are",
}
_SPATIAL = frozenset(k for k, v in TRANSFORMS.items() if v.startswith("spatial"))


@EX.exercise(
    3,
    "which transforms touch the label map",
    difficulty="medium",
    hints=(
        "Ask of each transform: does a voxel's content end up at a different position, or on a different grid?",
        "Transforms that move or re-grid voxels must be applied to the label map with the same parameters; "
        "transforms that only change values are applied to the image alone.",
    ),
    solution=set(_SPATIAL),
    explanation="Rotation/scaling, elastic deformation, flips and resampling move voxels, so the label map gets "
    "the same parameters (nearest neighbour, never blended class codes). A bias field, k-space ghosting, a window "
    "and noise change values only: the anatomy, hence the labels, stays where it was.",
    wrong=[
        set(_SPATIAL) - {"resampling to 1 mm"},
        set(_SPATIAL) | {"bias field"},
        set(TRANSFORMS),
        {"left-right flip"},
    ],
    variants=[sorted(_SPATIAL), tuple(s.upper() for s in _SPATIAL)],
)
def check_label_transforms(answer):
    """The transforms of ``TRANSFORMS`` that must also be applied to the label map (a set of names)."""
    if isinstance(answer, str):
        raise WrongAnswer("expected a set of transform names from nb12.TRANSFORMS, got one string")
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise WrongAnswer(f"expected a set of transform names, got {type(answer).__name__}")
    canonical = {k.lower(): k for k in TRANSFORMS}
    picked = {canonical.get(str(a).strip().lower(), str(a).strip()) for a in answer}  # case and spaces ignored
    return choice(
        picked,
        _SPATIAL,
        TRANSFORMS,
        missing_hint="Look for every transform after which a voxel's content sits somewhere else or on a new grid.",
        what="your transforms",
    )


# ---------------------------------------------------------------------------------------------
# 12.4 Lower resolution along the phase-encode axis: truncate k-space along W only
# ---------------------------------------------------------------------------------------------


def _solution_truncate_w(volume, keep):
    k = torch.fft.fftshift(torch.fft.fftn(volume, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    n = volume.shape[-1]
    freq = (torch.arange(n, device=volume.device) - n // 2).abs()
    k = k * (freq <= keep * n / 2).to(k.real.dtype)
    return torch.fft.ifftn(torch.fft.ifftshift(k, dim=(-3, -2, -1)), dim=(-3, -2, -1)).real.to(volume.dtype)


def _no_shift(volume, keep):  # mistake: masks the unshifted spectrum, so it keeps the highest frequencies
    k = torch.fft.fftn(volume, dim=(-3, -2, -1))
    n = volume.shape[-1]
    freq = (torch.arange(n) - n // 2).abs()
    k = k * (freq <= keep * n / 2).to(k.real.dtype)
    return torch.fft.ifftn(k, dim=(-3, -2, -1)).real.to(volume.dtype)


def _all_axes(volume, keep):  # mistake: truncates every axis (the reference Gibbs, not the task)
    k = torch.fft.fftshift(torch.fft.fftn(volume, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    for axis in (-3, -2, -1):
        n = volume.shape[axis]
        freq = (torch.arange(n) - n // 2).abs()
        shape = [1, 1, 1]
        shape[axis] = n
        k = k * (freq <= keep * n / 2).to(k.real.dtype).view(shape)
    return torch.fft.ifftn(torch.fft.ifftshift(k, dim=(-3, -2, -1)), dim=(-3, -2, -1)).real.to(volume.dtype)


def _magnitude(volume, keep):  # mistake: returns |ifft| instead of the real part (negative values lost)
    k = torch.fft.fftshift(torch.fft.fftn(volume, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    n = volume.shape[-1]
    freq = (torch.arange(n) - n // 2).abs()
    k = k * (freq <= keep * n / 2).to(k.real.dtype)
    return torch.fft.ifftn(torch.fft.ifftshift(k, dim=(-3, -2, -1)), dim=(-3, -2, -1)).abs().to(volume.dtype)


def _one_axis(volume, keep, strict=False):  # a 1-D FFT along W is enough: the other axes are untouched
    k = torch.fft.fftshift(torch.fft.fft(volume, dim=-1), dim=-1)
    n = volume.shape[-1]
    freq = (torch.arange(n) - n // 2).abs()
    band = freq < keep * n / 2 if strict else freq <= keep * n / 2
    return torch.fft.ifft(torch.fft.ifftshift(k * band.to(k.real.dtype), dim=-1), dim=-1).real.to(volume.dtype)


def _strict_band(volume, keep):  # mistake: a strict < drops the band's edge planes
    return _one_axis(volume, keep, strict=True)


def _in_place(volume, keep):  # mistake: writes the result into the input
    out = _solution_truncate_w(volume, keep)
    volume.copy_(out)
    return volume


def _cases():
    g = make_generator(12)
    step = torch.zeros(2, 1, 4, 6, 32)
    step[..., 8:24] = 1.0
    rand = torch.rand(2, 1, 5, 6, 16, generator=g)
    return [("a step along W, keep 0.25", step, 0.25), ("random volume, keep 0.5", rand, 0.5), ("keep 1", rand, 1.0)]


def _probe(name, volume, keep):
    def probe(fn):
        x = volume.clone()
        out = expect_tensor(fn(x, keep), "the truncated volume", shape=volume.shape, floating=True)
        if not torch.equal(x, volume):
            return "the input volume was changed: compute a new tensor and leave the input alone"
        want = _solution_truncate_w(volume, keep)
        if torch.allclose(out.double(), want.double(), atol=1e-4):
            return None
        if torch.allclose(out.double(), _all_axes(volume, keep).double(), atol=1e-4) and keep < 1:
            return "every axis lost resolution: only W (the phase-encode axis) should be truncated"
        if bool((out < -1e-6).any() != (want < -1e-6).any()) and torch.allclose(out.abs(), want.abs(), atol=1e-4):
            return "the undershoot is missing: keep the real part of the inverse transform, not its magnitude"
        if torch.allclose(out.double(), _no_shift(volume, keep).double(), atol=1e-4):
            return "you kept the highest frequencies: after fftn the 0 Hz sample is at index 0, so shift first"
        return "values are off: the kept band is |f| <= keep · n / 2 along W around 0 Hz, all other axes untouched"

    return probe


@EX.exercise(
    4,
    "lower resolution along W only",
    difficulty="hard",
    hints=(
        "Go to k-space with fftn, move 0 Hz to the centre with fftshift, zero the planes far from the centre along "
        "the last axis only, and come back.",
        "freq = |arange(n) − n // 2| along W; keep the planes with freq <= keep · n / 2; ifftshift, ifftn, and keep "
        "the real part (a magnitude would hide the ringing's undershoot).",
    ),
    solution=_solution_truncate_w,
    explanation="An acquisition with fewer phase-encode lines samples only the centre of k-space along that axis: "
    "zeroing |f| > keep · n / 2 along W is a box low-pass filter there, so edges across W blur and ring (Gibbs), "
    "while D and H keep their resolution. `volumes.gibbs_ringing` does the same on all three axes.",
    wrong=[_no_shift, _all_axes, _magnitude, _in_place, _strict_band],
    variants=[
        lambda v, keep: _solution_truncate_w(v.double(), keep).to(v.dtype),
        lambda v, keep: _solution_truncate_w(v.clone(), keep),
        _one_axis,
    ],
    what="truncate_w",
)
def check_truncate_w(fn):
    """``fn(volume [B, C, D, H, W], keep) -> volume`` keeping the central ``keep`` fraction of k-space along W."""
    return cases(fn, [(name, _probe(name, v, k)) for name, v, k in _cases()])
