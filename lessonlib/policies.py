"""Automatic augmentation policies (TrivialAugment, RandAugment, AugMix), drawn per image, batched.

torchvision's ``transforms.v2`` policies draw *one* operation and magnitude per call: handed a batch
tensor ``[B, C, H, W]`` they apply the same operation to every image of it. Training wants an
independent draw per image, and a Python loop over images is slow. Here a policy is two steps:

1. ``sample_*`` draws, per image, which operation(s) and which signed magnitude(s) (``PolicyDraws``,
   tensors ``[B, N]``) from a ``torch.Generator``;
2. ``apply_draws`` applies them, grouping the images of the batch by operation (a loop over at most
   fourteen operations, never over images) and applying each operation to its group with per-image
   magnitudes as tensors.

Given the same draws, every image equals torchvision's own operation applied to it alone (the policy
classes' ``_apply_image_or_video_transform``): exactly for the colour operations on uint8 images,
and for the geometric ones up to a few pixels where nearest-neighbour interpolation breaks a tie the
other way (``tests/test_policies.py`` checks both).

The operation lists and magnitude bins are torchvision's (``SPACES``), with one addition:
``SPACES["medical"]``, the subset that is safe for a grey-scale radiograph, with small magnitudes
(see notebook 08 for the reasoning).

Images are uint8 (0..255) or floating point in [0, 1], 1 or 3 channels; the result has the input's
dtype, shape and device, and the input is never modified.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_tensor,
    forked_cpu_rng,
    randint,
    uniform,
)

__all__ = [
    "SPACES",
    "OPS",
    "UNSAFE_FOR_GREYSCALE_MEDICAL",
    "PolicyDraws",
    "magnitude_table",
    "sample_trivial_augment",
    "sample_rand_augment",
    "apply_draws",
    "apply_op",
    "trivial_augment",
    "rand_augment",
    "augmix",
    "policy_augment",
    "jensen_shannon_consistency",
    "prob_untouched_rand_augment",
    "fit_with_consistency",
]

# A magnitude space: {operation: (bins(num_bins, height, width) -> tensor or None, signed)}.
Space = Mapping[str, tuple[Callable[[int, int, int], torch.Tensor | None], bool]]


def _lin(hi: float) -> Callable[[int, int, int], torch.Tensor]:
    return lambda n, h, w: torch.linspace(0.0, hi, n)


def _none(n: int, h: int, w: int) -> None:
    return None


def _posterize(top: int, span: int) -> Callable[[int, int, int], torch.Tensor]:
    # torchvision: bits fall from ``top`` to ``top - span`` across the bins
    return lambda n, h, w: (top - (torch.arange(n) / ((n - 1) / span))).round().int()


def _solarize(n: int, h: int, w: int) -> torch.Tensor:
    return torch.linspace(1.0, 0.0, n)  # threshold as a fraction of the maximum value


#: The operation spaces, with torchvision's bins (``TrivialAugmentWide``, ``RandAugment``, ``AugMix``
#: with ``all_ops=False``, the AugMix paper's list, which leaves out the colour operations that
#: overlap the corruptions it is tested on) and the course's ``medical`` subset. Magnitudes are in
#: the operation's own unit: shear as tan(angle), translation in pixels, rotation in degrees,
#: brightness/colour/contrast/sharpness as ``factor - 1``, posterize as bits kept, solarize as the
#: threshold fraction. ``signed`` operations get a random sign.
SPACES: dict[str, dict[str, tuple[Callable[[int, int, int], torch.Tensor | None], bool]]] = {
    "wide": {
        "Identity": (_none, False),
        "ShearX": (_lin(0.99), True),
        "ShearY": (_lin(0.99), True),
        "TranslateX": (_lin(32.0), True),
        "TranslateY": (_lin(32.0), True),
        "Rotate": (_lin(135.0), True),
        "Brightness": (_lin(0.99), True),
        "Color": (_lin(0.99), True),
        "Contrast": (_lin(0.99), True),
        "Sharpness": (_lin(0.99), True),
        "Posterize": (_posterize(8, 6), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    "randaugment": {
        "Identity": (_none, False),
        "ShearX": (_lin(0.3), True),
        "ShearY": (_lin(0.3), True),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, 150.0 / 331.0 * w, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, 150.0 / 331.0 * h, n), True),
        "Rotate": (_lin(30.0), True),
        "Brightness": (_lin(0.9), True),
        "Color": (_lin(0.9), True),
        "Contrast": (_lin(0.9), True),
        "Sharpness": (_lin(0.9), True),
        "Posterize": (_posterize(8, 4), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    "augmix": {
        "ShearX": (_lin(0.3), True),
        "ShearY": (_lin(0.3), True),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, w / 3.0, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, h / 3.0, n), True),
        "Rotate": (_lin(30.0), True),
        "Posterize": (_posterize(4, 4), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    # Safe for a grey-scale film: small rotations and shifts (positioning varies that much), mild
    # exposure and contrast changes and sharpening (acquisition varies that much). Left out: shears
    # beyond a few degrees (anatomy does not shear), solarize, posterize and invert (they reverse or
    # quantise densities the reader relies on), colour (a no-op on grey: a wasted draw), and the
    # global remappings autocontrast/equalize (preprocessing choices, not natural variation).
    "medical": {
        "Identity": (_none, False),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, 0.08 * w, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, 0.08 * h, n), True),
        "Rotate": (_lin(10.0), True),
        "Brightness": (_lin(0.25), True),
        "Contrast": (_lin(0.25), True),
        "Sharpness": (_lin(0.5), True),
    },
}

#: Every operation the kernels here implement.
OPS = (*SPACES["wide"], "Invert")

#: Operations that change what a grey-scale medical image *means* (notebook 08, section 3), with why.
UNSAFE_FOR_GREYSCALE_MEDICAL = {
    "Solarize": "inverts every pixel above a threshold: bone and air swap above it",
    "Posterize": "throws away intensity bits: subtle densities (a nodule, an effusion) vanish",
    "Invert": "reverses the film's polarity (MONOCHROME1 vs 2): a different image, not a variant",
    "Color": "a no-op on a grey image: the draw is wasted, the policy is silently weaker",
    "ShearX": "large shears make anatomy no body has (TrivialAugmentWide goes to 45 degrees)",
    "ShearY": "large shears make anatomy no body has (TrivialAugmentWide goes to 45 degrees)",
    "Equalize": "a global remapping that rewrites the density scale; a preprocessing choice",
    "AutoContrast": "a global remapping that rewrites the density scale; a preprocessing choice",
}


@dataclass(frozen=True)
class PolicyDraws:
    """Per-image draws of a policy: ``N`` operations applied in order to each of ``B`` images.

    ``ops`` names the operations; ``op`` ``[B, N]`` int64 indexes into ``ops``; ``magnitude``
    ``[B, N]`` float64 is the signed magnitude in the operation's unit (0 for operations without one),
    exactly the value torchvision's policy passes to its operation.
    """

    ops: tuple[str, ...]
    op: torch.Tensor
    magnitude: torch.Tensor

    def names(self, i: int) -> list[str]:
        """The operations drawn for image ``i``, in order."""
        return [self.ops[k] for k in self.op[i].tolist()]


def _space(space: str | Space) -> Space:
    if isinstance(space, str):
        check_one_of(space, "space", list(SPACES))
        return SPACES[space]
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"space must be one of {list(SPACES)} or a non-empty mapping, got {type(space).__name__}")
    for name in space:
        check_one_of(name, "space key", list(OPS))
    return space


def _op_list(ops: Sequence[str] | None, space: Space) -> tuple[str, ...]:
    if ops is None:
        return tuple(space)
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops:
        raise TypeError(f"ops must be a non-empty list of operation names or None, got {ops!r}")
    for name in ops:
        check_one_of(name, "ops entry", list(space))
    if len(set(ops)) != len(ops):
        raise ValueError(f"ops must not repeat an operation, got {list(ops)}")
    return tuple(ops)


def magnitude_table(
    ops: Sequence[str], space: Space, num_bins: int, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(table [len(ops), num_bins] float64, signed [len(ops)] bool)``: each operation's bin values.

    Operations without a magnitude get a row of zeros. Values are torchvision's (its float32
    ``linspace`` read as float64, exactly what its policies hand to the operation).
    """
    rows, signed = [], []
    for name in ops:
        fn, sign = space[name]
        bins = fn(num_bins, height, width)
        rows.append(torch.zeros(num_bins, dtype=torch.float64) if bins is None else bins.to(torch.float64))
        signed.append(sign and bins is not None)
    return torch.stack(rows), torch.tensor(signed)


@functools.lru_cache(maxsize=256)
def _named_table(space: str, ops: tuple[str, ...], num_bins: int, height: int, width: int):
    """``magnitude_table`` for one of ``SPACES`` by name, computed once per size: a policy called on
    every training batch would otherwise rebuild the same bins each time. Callers only read it."""
    return magnitude_table(ops, SPACES[space], num_bins, height, width)


def _table(names: tuple[str, ...], space: str | Space, sp: Space, num_bins: int, height: int, width: int):
    if isinstance(space, str):
        return _named_table(space, names, num_bins, height, width)
    return magnitude_table(names, sp, num_bins, height, width)


def _signs(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    # torchvision negates when rand <= 0.5
    return torch.where(uniform(shape, generator=generator) <= 0.5, -1.0, 1.0).to(torch.float64)


def _check_sizes(batch: object, height: object, width: object, num_bins: object) -> tuple[int, int, int, int]:
    return (
        check_int(batch, "batch", low=0),
        check_int(height, "height", low=1),
        check_int(width, "width", low=1),
        check_int(num_bins, "num_bins", low=2),
    )


def sample_trivial_augment(
    batch: int,
    height: int,
    width: int,
    *,
    ops: Sequence[str] | None = None,
    num_bins: int = 31,
    space: str | Space = "wide",
    generator: torch.Generator | None = None,
) -> PolicyDraws:
    """TrivialAugment's draws for ``batch`` images: one operation each, uniform over ``ops``, with a
    magnitude bin uniform over ``num_bins`` and a random sign for signed operations.

    Returns ``PolicyDraws`` with ``op``/``magnitude`` of shape ``[batch, 1]`` (on the CPU).
    """
    batch, height, width, num_bins = _check_sizes(batch, height, width, num_bins)
    check_generator(generator)
    sp = _space(space)
    names = _op_list(ops, sp)
    table, signed = _table(names, space, sp, num_bins, height, width)
    op = randint(0, len(names), (batch, 1), generator=generator).cpu()
    bins = randint(0, num_bins, (batch, 1), generator=generator).cpu()
    sign = torch.where(signed[op], _signs((batch, 1), generator).cpu(), 1.0)
    return PolicyDraws(names, op, table[op, bins] * sign)


def sample_rand_augment(
    batch: int,
    height: int,
    width: int,
    *,
    num_ops: int = 2,
    magnitude: int = 9,
    num_bins: int = 31,
    ops: Sequence[str] | None = None,
    space: str | Space = "randaugment",
    generator: torch.Generator | None = None,
) -> PolicyDraws:
    """RandAugment's draws: ``num_ops`` (N) operations per image, each uniform over ``ops`` (with
    replacement), all at magnitude bin ``magnitude`` (M, in ``0..num_bins - 1``), random sign.

    Returns ``PolicyDraws`` with ``op``/``magnitude`` of shape ``[batch, num_ops]`` (on the CPU).
    """
    batch, height, width, num_bins = _check_sizes(batch, height, width, num_bins)
    num_ops = check_int(num_ops, "num_ops", low=0)
    magnitude = check_int(magnitude, "magnitude", low=0, high=num_bins - 1)
    check_generator(generator)
    sp = _space(space)
    names = _op_list(ops, sp)
    table, signed = _table(names, space, sp, num_bins, height, width)
    op = randint(0, len(names), (batch, num_ops), generator=generator).cpu()
    sign = torch.where(signed[op], _signs((batch, num_ops), generator).cpu(), 1.0)
    return PolicyDraws(names, op, table[op, magnitude] * sign)


# ----------------------------------------------------------------------------------------------
# Kernels: one operation on a group of images [n, C, H, W] with per-image magnitudes [n] (float64).
# Each follows torchvision's tensor kernel step by step, with the scalar replaced by a [n,1,1,1]
# tensor (float32, as torchvision casts its Python scalar), so uint8 results are bit-identical.
# ----------------------------------------------------------------------------------------------


def _bound(x: torch.Tensor) -> float:
    return 1.0 if x.is_floating_point() else 255.0


def _col(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    dt = x.dtype if x.is_floating_point() else torch.float32
    return v.to(device=x.device, dtype=dt).view(-1, 1, 1, 1)


def _blend(img: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    # torchvision: image1.mul(ratio).add_(image2, alpha=1 - ratio), alpha computed in float64 first
    out = torch.addcmul(img.mul(_col(ratio, img)), other, _col(1.0 - ratio, img)).clamp_(0, _bound(img))
    return out if img.is_floating_point() else out.to(img.dtype)


def _grey(img: torch.Tensor) -> torch.Tensor:
    r, g, b = img.unbind(dim=-3)
    out = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(-3)
    return out if img.is_floating_point() else out.floor_()


def _brightness(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    out = x.mul(_col(1.0 + m, x)).clamp_(0, _bound(x))
    return out if x.is_floating_point() else out.to(x.dtype)


def _color(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    if x.shape[-3] == 1:  # torchvision (like PIL) leaves a grey image unchanged
        return x.clone()
    return _blend(x, _grey(x), 1.0 + m)


def _contrast(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    g = _grey(x) if x.shape[-3] == 3 else (x if x.is_floating_point() else x.to(torch.float32))
    return _blend(x, g.mean(dim=(-3, -2, -1), keepdim=True), 1.0 + m)


def _sharpness(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    c, h, w = x.shape[-3:]
    if h <= 2 or w <= 2:
        return x.clone()
    fp = x.is_floating_point()
    kdt = x.dtype if fp else torch.float32
    out = x.to(dtype=kdt, copy=True)
    view = out[..., 1:-1, 1:-1]
    if fp:  # torchvision's 3x3 kernel, 1/13 around a 5/13 centre
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = torch.tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=kdt, device=x.device).expand(c, 1, 3, 3)
        blurred = F.conv2d(out, kernel, groups=c)
    else:
        # uint8: the kernel's sum S = (3x3 box) + 4 x centre is an integer below 2**24, exact in float32,
        # and torchvision rounds S/13, whose fraction k/13 is never within 0.03 of a half: so
        # round(S / 13) from two separable box sums equals its rounded float convolution, 4x faster
        rows = out[..., :, :-2] + out[..., :, 1:-1] + out[..., :, 2:]
        blurred = (rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]).add_(view, alpha=4.0)
        blurred = blurred.div_(13.0).round_()
    view.copy_(torch.addcmul(view, blurred.sub_(view), _col(1.0 - (1.0 + m), out)))
    out = out.clamp_(0, _bound(x))
    return out if fp else out.to(x.dtype)


def _posterize_k(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    bits = m.round().to(torch.int64).to(x.device).view(-1, 1, 1, 1)
    if x.is_floating_point():
        levels = (2**bits).to(x.dtype)
        return torch.minimum(x.mul(levels).floor_(), levels - 1).clamp_(min=0).mul_(1.0 / levels)
    mask = torch.where(bits >= 8, 255, ((2**bits - 1) << (8 - bits).clamp(min=0)))
    return x & mask.to(torch.uint8)


def _solarize_k(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    # torchvision compares with a Python float, which torch casts to the float dtype it computes in
    thr = (_bound(x) * m).to(x.device, x.dtype if x.is_floating_point() else torch.float32).view(-1, 1, 1, 1)
    if x.is_floating_point():
        return torch.where(x >= thr, TF.invert(x), x)
    # uint8: an integer pixel v passes v >= t exactly when v >= ceil(t), so compare in uint8; and
    # invert (255 - v) is v XOR 255, applied through the mask (torch.where is slow on uint8)
    mask = x >= thr.ceil().clamp_(0, 255).to(x.dtype)
    return x ^ mask.view(torch.uint8).mul_(255)


def _inverse_affine(
    angle: torch.Tensor,
    tx: torch.Tensor,
    ty: torch.Tensor,
    sx: torch.Tensor,
    sy: torch.Tensor,
    cx: torch.Tensor,
    cy: torch.Tensor,
) -> torch.Tensor:
    """torchvision's ``_get_inverse_affine_matrix`` (scale 1) for ``[n]`` float64 parameters → ``[n, 6]``."""
    rot, sx, sy = torch.deg2rad(angle), torch.deg2rad(sx), torch.deg2rad(sy)
    cos_sy, tan_sx = torch.cos(sy), torch.tan(sx)
    a = torch.cos(rot - sy) / cos_sy
    b = -(a * tan_sx + torch.sin(rot))
    c = torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    m0, m1, m3, m4 = d, -b, -c, a
    m2 = cx - m0 * (cx + tx) - m1 * (cy + ty)
    m5 = cy - m3 * (cx + tx) - m4 * (cy + ty)
    return torch.stack([m0, m1, m2, m3, m4, m5], dim=1)


def _grid(matrix: torch.Tensor, n: int, h: int, w: int, dt: torch.dtype, device: torch.device) -> torch.Tensor:
    """torchvision's ``_affine_grid``: normalised source coordinates ``[n, H, W, 2]`` of every output pixel."""
    theta = matrix.to(device=device, dtype=dt).view(n, 2, 3)
    base = torch.empty(1, h, w, 3, dtype=dt, device=device)
    base[..., 0].copy_(torch.linspace((1.0 - w) * 0.5, (w - 1.0) * 0.5, steps=w, device=device))
    base[..., 1].copy_(torch.linspace((1.0 - h) * 0.5, (h - 1.0) * 0.5, steps=h, device=device).unsqueeze_(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2).div(torch.tensor([0.5 * w, 0.5 * h], dtype=dt, device=device))
    return base.view(1, h * w, 3).expand(n, -1, -1).bmm(rescaled).view(n, h, w, 2)


def _warp(x: torch.Tensor, matrix: torch.Tensor, interpolation: str, fill: float | None) -> torch.Tensor:
    """torchvision's ``_affine_grid`` + ``_apply_grid_transform``, one inverse matrix per image."""
    n, c, h, w = x.shape
    dt = x.dtype if x.is_floating_point() else torch.float32
    grid = _grid(matrix, n, h, w, dt, x.device)
    img = x if x.is_floating_point() else x.to(dt)
    if fill is not None:
        img = torch.cat([img, torch.ones(n, 1, h, w, dtype=dt, device=x.device)], dim=1)
    out = F.grid_sample(img, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    if fill is not None:
        out, mask = out[:, :c], out[:, c:].expand(-1, c, -1, -1)
        if interpolation == "nearest":
            out = torch.where(mask < 0.5, torch.full_like(out, fill), out)
        else:
            out = out.sub_(fill).mul_(mask).add_(fill)
    return out if x.is_floating_point() else out.round_().to(x.dtype)


_GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")


def _fill_value(x: torch.Tensor, fill: float | None) -> torch.Tensor:
    """The value a pixel outside the source image gets, as torchvision computes it, in ``x``'s dtype."""
    v = torch.tensor(0.0 if fill is None else fill, dtype=x.dtype if x.is_floating_point() else torch.float32)
    return v if x.is_floating_point() else v.round().to(x.dtype)


#: Images of at least this many elements are gathered as a stack of per-image views (one memcpy
#: each, about 2x faster than ``index_select`` on 224x224 RGB uint8); smaller ones by ``index_select``
#: (whose one call beats a Python loop over many small images).
_STACK_ELEMENTS = 2**14


def _take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[idx]`` for a CPU int64 ``idx`` ``[k]``, on ``x``'s device: ``x`` itself when ``idx`` is
    ``0..n-1`` in order (every caller only reads what it takes; ``apply_draws`` copies at the end
    if nothing else did), else a new tensor ``[k, ...]``."""
    if idx.numel() == x.shape[0] and bool((idx == torch.arange(idx.numel())).all()):
        return x
    if x[0].numel() >= _STACK_ELEMENTS:
        return torch.stack([x[i] for i in idx.tolist()])
    return x.index_select(0, idx.to(x.device))


def _regroup(parts: list[torch.Tensor], where: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """Images computed group by group (``parts[g]`` for batch positions ``where[g]``, together every
    position once) back in batch order, in one copy. A scatter per group (``index_copy_``) cost a
    quarter of ``apply_draws``' time on 224x224 batches."""
    if len(parts) == 1:
        return parts[0]  # callers hand over the positions in order, so one group is already in place
    order = torch.cat(where)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel())
    if parts[0][0].numel() >= _STACK_ELEMENTS:
        rows = [row for part in parts for row in part]  # views, in the order of ``order``
        return torch.stack([rows[i] for i in inverse.tolist()])
    return torch.cat(parts).index_select(0, inverse.to(device))


def _shift(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, fill: float | None) -> torch.Tensor:
    """Whole-pixel translations of ``x`` ``[n, C, H, W]`` by ``dx[i]``, ``dy[i]`` (int64 ``[n]``), exactly.

    An integer translation moves every pixel onto a pixel centre, so nearest and bilinear
    interpolation both reduce to a copy: torchvision's affine result without the float grid. Large
    images are copied as slices, grouped by shift (a loop over distinct shifts, not images); small
    ones, where that loop's overhead would dominate, in one integer-indexed gather.
    """
    n, _, h, w = x.shape
    if h * w < 128 * 128:
        dev = x.device
        sx, sy = dx.to(dev).view(n, 1, 1), dy.to(dev).view(n, 1, 1)
        col = (torch.arange(w, device=dev).view(1, 1, w) - sx + 1).clamp_(0, w + 1)
        row = (torch.arange(h, device=dev).view(1, h, 1) - sy + 1).clamp_(0, h + 1)
        return _gather_padded(x, col, row, fill)
    parts, where = [], []
    uniq, which = torch.unique(torch.stack([dx, dy], dim=1), dim=0, return_inverse=True)
    for k, (sx, sy) in enumerate(uniq.tolist()):
        idx = torch.nonzero(which == k).flatten()
        dst = torch.empty_like(x[: idx.numel()]).fill_(_fill_value(x, fill))
        if abs(sx) < w and abs(sy) < h:  # otherwise shifted out of the frame: all fill
            src = _take(x, idx)
            dst[..., max(0, sy) : h - max(0, -sy), max(0, sx) : w - max(0, -sx)] = src[
                ..., max(0, -sy) : h - max(0, sy), max(0, -sx) : w - max(0, sx)
            ]
        parts.append(dst)
        where.append(idx)
    return _regroup(parts, where, x.device)


#: Elements per chunk of a nearest-neighbour warp on a CPU: its index arrays (about six float32 and
#: one int64 pass per pixel) then stay in cache; 2**20 is six 224x224 RGB images, 30 % faster than one call.
_WARP_CHUNK_ELEMENTS = 2**20


def _gather_warp(x: torch.Tensor, matrix: torch.Tensor, fill: float | None) -> torch.Tensor:
    """``_nearest_warp`` in cache-sized chunks of images on a CPU (one call elsewhere)."""
    per = max(1, _WARP_CHUNK_ELEMENTS // max(1, x[0].numel()))
    if x.device.type != "cpu" or x.shape[0] <= per:
        return _nearest_warp(x, matrix, fill)
    return torch.cat([_nearest_warp(a, m, fill) for a, m in zip(x.split(per), matrix.split(per), strict=True)])


def _nearest_warp(x: torch.Tensor, matrix: torch.Tensor, fill: float | None) -> torch.Tensor:
    """Nearest-neighbour affine warp by gathering source pixels, in ``x``'s own dtype (no float copy).

    ``matrix`` ``[n, 6]`` holds torchvision's inverse affine matrices. The source pixel of each output
    pixel is found as ``grid_sample`` finds it: torchvision's float grid (as in ``_grid``), unnormalised
    as ``(g + 1) * size / 2 - 0.5`` and rounded half to even; a source outside the image gives
    ``fill``. Equal to torchvision's ``affine(..., NEAREST)`` but for the rare coordinate that lands
    within float rounding of a tie (the two computations may order their float operations differently).
    """
    n, c, h, w = x.shape
    dt = x.dtype if x.dtype == torch.float64 else torch.float32
    # torchvision's grid row by row: gx = X t00 + Y t10 + t20 with t = theta^T / (W/2, H/2), X and Y
    # the centred pixel coordinates; here as a broadcast sum instead of a [n, H*W, 3] @ [3, 2] bmm
    t = matrix.to(device=x.device, dtype=dt).view(n, 2, 3).transpose(1, 2)
    t = t.div(torch.tensor([0.5 * w, 0.5 * h], dtype=dt, device=x.device))
    cols = torch.linspace((1.0 - w) * 0.5, (w - 1.0) * 0.5, steps=w, device=x.device, dtype=dt).view(1, 1, w)
    rows = torch.linspace((1.0 - h) * 0.5, (h - 1.0) * 0.5, steps=h, device=x.device, dtype=dt).view(1, h, 1)
    coords = []
    for k, size in ((0, w), (1, h)):
        g = cols * t[:, 0, k].view(n, 1, 1) + (rows * t[:, 1, k].view(n, 1, 1) + t[:, 2, k].view(n, 1, 1))
        # grid_sample's unnormalisation, rounding half to even; +1 and the clamp address a frame
        # padded by one ring of fill pixels, so every outside source lands on the ring (no mask)
        coords.append(g.add_(1.0).mul_(0.5 * size).sub_(0.5).round_().add_(1.0).clamp_(0.0, size + 1.0))
    return _gather_padded(x, coords[0], coords[1], fill)


def _gather_padded(x: torch.Tensor, col: torch.Tensor, row: torch.Tensor, fill: float | None) -> torch.Tensor:
    """``out[i, :, r, q] = padded[i, :, row[i, r, q], col[i, r, q]]`` where ``padded`` is ``x`` ``[n, C, H, W]``
    framed by one ring of ``fill``: coordinates (float or int, broadcastable to ``[n, H, W]``) run
    over ``0..W+1`` and ``0..H+1``, with 0 and W+1 (H+1) meaning outside the image."""
    n, c, h, w = x.shape
    if row.is_floating_point() and (h + 2) * (w + 2) > 2**24:  # flat indices past float32's exact integers
        row, col = row.to(torch.int64), col.to(torch.int64)
    index = (row * (w + 2) + col).to(torch.int64).expand(n, h, w).reshape(n, 1, h * w).expand(n, c, h * w)
    padded = torch.empty((n, c, h + 2, w + 2), dtype=x.dtype, device=x.device).fill_(_fill_value(x, fill))
    padded[..., 1:-1, 1:-1] = x
    return padded.view(n, c, -1).gather(2, index).view(n, c, h, w)


def _geometric(kind: torch.Tensor, x: torch.Tensor, m: torch.Tensor, interpolation: str, fill: float | None):
    """Geometric operations ``_GEOMETRIC[kind[i]]`` at ``m[i]`` for images ``x`` ``[n, C, H, W]``.

    Shears are about the top-left corner with angle atan(m) (torchvision's ``center=[0, 0]``);
    translations are whole pixels, truncated toward zero like ``int()``; rotations counter-clockwise
    in degrees, with torchvision's exact fast paths for quarter turns. The warps are one call: a
    gather in the image's dtype for nearest-neighbour interpolation (``_gather_warp``, which on
    small images takes the translations too), torchvision's float ``grid_sample`` for bilinear
    (``_warp``); translations otherwise are exact copies (``_shift``).
    """
    n, _, h, w = x.shape
    kind, m = kind.cpu(), m.to(torch.float64).cpu()
    parts, where = [], []
    shift = torch.trunc(m)
    # on small images with nearest-neighbour sampling the translations join the one gather (a
    # whole-pixel source coordinate rounds to itself, so they stay exact); elsewhere they are slices
    together = interpolation == "nearest" and h * w < 128 * 128
    moved = torch.zeros_like(kind, dtype=torch.bool) if together else (kind == 2) | (kind == 3)
    if bool(moved.any()):
        idx = torch.nonzero(moved).flatten()
        step = shift[idx].to(torch.int64)
        zero = torch.zeros_like(step)
        dx = torch.where(kind[idx] == 2, step, zero)
        dy = torch.where(kind[idx] == 3, step, zero)
        parts.append(_shift(_take(x, idx), dx, dy, fill))
        where.append(idx)
    warped = torch.nonzero(~moved).flatten()
    if warped.numel():
        kind, m, shift = kind[warped], m[warped], shift[warped]
        zero = torch.zeros(warped.numel(), dtype=torch.float64)
        shear = torch.rad2deg(torch.atan(m))
        angle = torch.where(kind == 4, torch.remainder(m, 360.0), zero)
        corner = kind <= 1
        matrix = _inverse_affine(
            -angle,
            torch.where(kind == 2, shift, zero),
            torch.where(kind == 3, shift, zero),
            torch.where(kind == 0, shear, zero),
            torch.where(kind == 1, shear, zero),
            torch.where(corner, -0.5 * w, zero),
            torch.where(corner, -0.5 * h, zero),
        )
        src = _take(x, warped)
        if interpolation == "nearest":
            res = _gather_warp(src, matrix, fill)
        else:
            res = _warp(src, matrix, interpolation, fill)
        turns = {0.0: 0, 180.0: 2} if h != w else {0.0: 0, 90.0: 1, 180.0: 2, 270.0: 3}
        for a, k in turns.items():
            hit = (kind == 4) & (angle == a)
            if bool(hit.any()):
                dev_hit = hit.to(x.device)
                res[dev_hit] = torch.rot90(src[dev_hit], k=k, dims=(-2, -1))
        parts.append(res)
        where.append(warped)
    return _regroup(parts, where, x.device)


def apply_op(
    x: torch.Tensor,
    name: str,
    magnitude: torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """Apply operation ``name`` to every image of ``x`` ``[n, C, H, W]``, image i at ``magnitude[i]``.

    ``magnitude`` ``[n]`` is in the operation's unit (see ``SPACES``); ignored for operations without
    one. Returns a new tensor with the dtype, shape and device of ``x``.
    """
    check_one_of(name, "name", list(OPS))
    _check_images(x)
    check_tensor(magnitude, "magnitude", ndim=1)
    if magnitude.shape[0] != x.shape[0]:
        raise ValueError(f"magnitude has {magnitude.shape[0]} entries but x has {x.shape[0]} images")
    fill = _check_interp(interpolation, fill)
    return _apply(x, name, magnitude.to(torch.float64), interpolation, fill)


_COLOUR_KERNELS = {
    "Brightness": _brightness,
    "Color": _color,
    "Contrast": _contrast,
    "Sharpness": _sharpness,
    "Posterize": _posterize_k,
    "Solarize": _solarize_k,
}


def _apply(x: torch.Tensor, name: str, m: torch.Tensor, interpolation: str, fill: float | None) -> torch.Tensor:
    """``apply_op`` without the validation (inputs already checked by the caller)."""
    if name == "Identity":
        return x.clone()
    if name in _GEOMETRIC:
        kind = torch.full((x.shape[0],), _GEOMETRIC.index(name), dtype=torch.int64)
        return _geometric(kind, x, m, interpolation, fill)
    if name in _COLOUR_KERNELS:
        return _COLOUR_KERNELS[name](x, m)
    return {"AutoContrast": TF.autocontrast, "Equalize": TF.equalize, "Invert": TF.invert}[name](x)


def _check_images(x: object) -> torch.Tensor:
    check_tensor(x, "x", ndim=4)
    if not (x.is_floating_point() or x.dtype == torch.uint8):
        raise TypeError(f"x must be uint8 (0..255) or floating point (0..1), got dtype {x.dtype}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels ([B, C, H, W]), got shape {tuple(x.shape)}")
    return x


def _check_interp(interpolation: object, fill: object) -> float | None:
    check_one_of(interpolation, "interpolation", ["nearest", "bilinear"])
    return None if fill is None else check_number(fill, "fill")


def apply_draws(
    x: torch.Tensor, draws: PolicyDraws, *, interpolation: str = "nearest", fill: float | None = None
) -> torch.Tensor:
    """Apply per-image policy draws to a batch ``x`` ``[B, C, H, W]`` (uint8 or float in [0, 1]).

    Step j applies operation ``draws.op[i, j]`` at ``draws.magnitude[i, j]`` to image i; within a
    step the images are grouped by operation, so the cost is a loop over operations, not images.
    Returns a new tensor (dtype, shape and device of ``x``); ``x`` is not modified.

    Raises:
        ValueError/TypeError: a batch that is not ``[B, 1 or 3, H, W]`` uint8/float, or draws whose
            batch size differs from ``B``.
    """
    _check_images(x)
    fill = _check_interp(interpolation, fill)
    if not isinstance(draws, PolicyDraws):
        raise TypeError(f"draws must be a PolicyDraws (from sample_*), got {type(draws).__name__}")
    if draws.op.ndim != 2 or draws.op.shape[0] != x.shape[0] or draws.magnitude.shape != draws.op.shape:
        raise ValueError(f"draws are for shape {tuple(draws.op.shape)}, but x has {x.shape[0]} images")
    op, mag = draws.op.cpu(), draws.magnitude.cpu().to(torch.float64)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, x[0].numel())) if x.device.type == "cpu" else x.shape[0]
    # per operation index: its position in _GEOMETRIC, or -1 for the others
    geo = torch.tensor([_GEOMETRIC.index(n) if n in _GEOMETRIC else -1 for n in draws.ops], dtype=torch.int64)
    out = x  # read only: each step builds a new tensor
    for j in range(op.shape[1]):
        step, kind = op[:, j], geo[op[:, j]]
        # each group's result is computed apart, then one permutation puts every image back
        parts, where = [], []
        warped = torch.nonzero(kind >= 0).flatten()
        if warped.numel():  # every geometric operation of this step in one call
            src = _take(out, warped)
            parts.append(_geometric(kind[warped], src, mag[warped, j], interpolation, fill))
            where.append(warped)
        for k in torch.unique(step[kind < 0]).tolist():
            name = draws.ops[k]
            # the colour kernels make several passes over their images: in chunks of about
            # _CHUNK_ELEMENTS the passes stay in the CPU's cache (on 224x224 RGB, about 2x faster)
            for idx in torch.nonzero(step == k).flatten().split(chunk if name != "Identity" else x.shape[0]):
                src = _take(out, idx)
                parts.append(src if name == "Identity" else _apply(src, name, mag[idx, j], interpolation, fill))
                where.append(idx)
        out = _regroup(parts, where, x.device)
    return out.clone() if out is x else out


#: Elements per chunk of a colour operation in ``apply_draws`` (2**19: three 224x224 RGB images).
_CHUNK_ELEMENTS = 2**19


def trivial_augment(
    x: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    ops: Sequence[str] | None = None,
    num_bins: int = 31,
    space: str | Space = "wide",
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """TrivialAugment (Müller & Hutter, 2021) with an independent draw for every image of ``x``.

    Each image gets one operation, uniform over ``ops`` (default: every operation of ``space``), at a
    magnitude bin uniform over ``num_bins``, random sign. With ``space="wide"`` this is torchvision's
    ``TrivialAugmentWide`` per image.

    Args:
        x: ``[B, C, H, W]``, C in {1, 3}, uint8 (0..255) or float (0..1).
        generator: source of all randomness (``None``: torch's global generator).
        ops: a subset of the space's operation names.
        num_bins: number of magnitude bins (>= 2).
        space: ``"wide"``, ``"randaugment"``, ``"augmix"``, ``"medical"`` or a mapping like ``SPACES[...]``.
        interpolation, fill: for the geometric operations (torchvision's defaults: nearest, zeros).

    Returns:
        A new tensor with the dtype, shape and device of ``x``.
    """
    _check_images(x)
    b, _, h, w = x.shape
    draws = sample_trivial_augment(b, h, w, ops=ops, num_bins=num_bins, space=space, generator=generator)
    return apply_draws(x, draws, interpolation=interpolation, fill=fill)


def rand_augment(
    x: torch.Tensor,
    *,
    num_ops: int = 2,
    magnitude: int = 9,
    num_bins: int = 31,
    generator: torch.Generator | None = None,
    ops: Sequence[str] | None = None,
    space: str | Space = "randaugment",
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """RandAugment (Cubuk et al., 2020) with independent draws for every image of ``x``.

    Each image gets ``num_ops`` (N) operations drawn uniformly with replacement, all at bin
    ``magnitude`` (M) of ``num_bins``, random sign, applied in order: torchvision's ``RandAugment``
    per image. ``x``, ``generator``, ``ops``, ``space``, ``interpolation``, ``fill``: as in
    ``trivial_augment``. Returns a new tensor with the dtype, shape and device of ``x``.
    """
    _check_images(x)
    b, _, h, w = x.shape
    draws = sample_rand_augment(
        b, h, w, num_ops=num_ops, magnitude=magnitude, num_bins=num_bins, ops=ops, space=space, generator=generator
    )
    return apply_draws(x, draws, interpolation=interpolation, fill=fill)


def _dirichlet(alpha: float, k: int, batch: int, generator: torch.Generator | None) -> torch.Tensor:
    # torch.distributions cannot take a generator: draw a seed from it, sample in a forked CPU RNG
    seed = int(randint(0, 2**62, (1,), generator=generator)[0])
    with forked_cpu_rng(seed):
        return torch.distributions.Dirichlet(torch.full((k,), float(alpha), dtype=torch.float64)).sample((batch,))


def augmix(
    x: torch.Tensor,
    *,
    severity: int = 3,
    mixture_width: int = 3,
    chain_depth: int = -1,
    alpha: float = 1.0,
    all_ops: bool = False,
    generator: torch.Generator | None = None,
    interpolation: str = "bilinear",
) -> torch.Tensor:
    """AugMix (Hendrycks et al., 2020) with independent draws for every image of ``x``.

    For each image: ``mixture_width`` chains, each of ``chain_depth`` operations (``-1``: a depth
    uniform in 1..3, per image and chain) drawn from the AugMix list (``all_ops=True`` adds the colour
    operations, as torchvision's default does) at bins ``0..severity - 1`` of 10; the chains are
    mixed with Dirichlet(alpha) weights and the mixture with the original by a Beta(alpha, alpha)
    weight m: ``out = (1 - m)·x + m·Σ_i w_i·chain_i(x)``, computed in float and cast back to the input
    dtype (truncated for uint8, like torchvision).

    Returns a new tensor with the dtype, shape and device of ``x``.
    """
    _check_images(x)
    severity = check_int(severity, "severity", low=1, high=10)
    width = check_int(mixture_width, "mixture_width", low=1)
    depth = check_int(chain_depth, "chain_depth", low=-1)
    if depth == 0:
        raise ValueError("chain_depth must be -1 (random 1..3) or a positive int, got 0")
    alpha = check_number(alpha, "alpha", low=0.0, low_inclusive=False)
    all_ops = check_bool(all_ops, "all_ops")
    check_generator(generator)
    check_one_of(interpolation, "interpolation", ["nearest", "bilinear"])
    b, _, h, w = x.shape
    space = dict(SPACES["augmix"])
    if all_ops:
        for name in ("Brightness", "Color", "Contrast", "Sharpness"):
            space[name] = (_lin(0.9), True)
    names = (*space, "Identity")  # Identity only pads chains shorter than the longest
    table, signed = magnitude_table(names[:-1], space, 10, h, w)
    table = torch.cat([table, torch.zeros(1, 10, dtype=torch.float64)])
    signed = torch.cat([signed, torch.tensor([False])])
    max_depth = depth if depth > 0 else 3
    m = _dirichlet(alpha, 2, b, generator)[:, 1]
    weights = _dirichlet(alpha, width, b, generator) * m[:, None]  # [B, width]
    # all chains at once: chain i of image j is row i·B + j of one batch of width·B images
    op = randint(0, len(names) - 1, (width * b, max_depth), generator=generator).cpu()
    bins = randint(0, severity, (width * b, max_depth), generator=generator).cpu()
    sign = torch.where(signed[op], _signs((width * b, max_depth), generator).cpu(), 1.0)
    if depth < 0:
        d = randint(1, 4, (width * b, 1), generator=generator).cpu()
        op = torch.where(torch.arange(max_depth)[None, :] < d, op, len(names) - 1)
    draws = PolicyDraws(names, op, table[op, bins] * sign)
    chains = apply_draws(x.repeat(width, 1, 1, 1), draws, interpolation=interpolation)
    dt = x.dtype if x.is_floating_point() else torch.float32
    w_all = torch.cat([(1.0 - m)[None], weights.T]).to(x.device, dt)  # [1 + width, B]
    stacked = torch.cat([x[None], chains.view(width, *x.shape)]).to(dt)  # [1 + width, B, C, H, W]
    mix = (w_all.view(1 + width, b, 1, 1, 1) * stacked).sum(0)
    return mix if x.is_floating_point() else mix.to(x.dtype)


def policy_augment(policy: str, **kwargs):
    """An ``augment(x, y, generator) -> (x, y)`` for ``training.fit``: ``policy`` per image.

    ``policy`` is ``"trivial"``, ``"randaugment"`` or ``"augmix"``; ``kwargs`` go to
    ``trivial_augment``/``rand_augment``/``augmix`` and are validated now (on a dummy image), not at
    the first batch. Labels pass through unchanged.
    """
    fns = {"trivial": trivial_augment, "randaugment": rand_augment, "augmix": augmix}
    check_one_of(policy, "policy", list(fns))
    fn = fns[policy]
    fn(torch.zeros(1, 1, 8, 8), generator=torch.Generator().manual_seed(0), **kwargs)  # validate early

    def augment(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        return fn(x, generator=generator, **kwargs), y

    return augment


def jensen_shannon_consistency(*logits: torch.Tensor) -> torch.Tensor:
    """AugMix's consistency loss: the Jensen–Shannon divergence among the softmax outputs of the
    views ``logits`` (each ``[B, K]``; clean first, then the AugMix views), mean over the batch, in nats.

    ``JS = (1/V) Σ_v KL(p_v ‖ M)`` with ``M`` the mean of the ``V`` distributions (clamped at 1e-7
    before the log, as in the paper's code). 0 when all views agree; at most ``log V``.
    """
    if len(logits) < 2:
        raise ValueError(f"jensen_shannon_consistency needs at least two views, got {len(logits)}")
    for i, z in enumerate(logits):
        check_tensor(z, f"logits[{i}]", ndim=2, floating=True)
        if z.shape != logits[0].shape:
            raise ValueError(f"logits[{i}] has shape {tuple(z.shape)}, expected {tuple(logits[0].shape)}")
    probs = [z.softmax(dim=1) for z in logits]
    log_m = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1.0).log()
    return sum(F.kl_div(log_m, p, reduction="batchmean") for p in probs) / len(probs)


def prob_untouched_rand_augment(num_ops: int, ops: Sequence[str], *, identity_like: Sequence[str] = ()) -> float:
    """Probability that RandAugment with ``num_ops`` draws (uniform over ``ops``, with replacement)
    leaves an image untouched: every draw must be ``Identity`` or one of ``identity_like``.

    ``(k / len(ops)) ** num_ops`` with ``k`` the number of such operations in ``ops``.
    """
    num_ops = check_int(num_ops, "num_ops", low=0)
    if isinstance(ops, str) or not ops:
        raise TypeError(f"ops must be a non-empty list of operation names, got {ops!r}")
    keep = {"Identity", *identity_like}
    k = sum(1 for o in ops if o in keep)
    return (k / len(ops)) ** num_ops


def fit_with_consistency(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight: float = 12.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    **augmix_kwargs,
) -> torch.nn.Module:
    """Train ``model`` as the AugMix paper does: cross-entropy on the clean batch plus ``weight`` ×
    the Jensen–Shannon consistency among the clean batch and two independent AugMix views of it.

    Same optimiser and schedule as ``training.fit(..., steps=steps, schedule="cosine")`` (AdamW,
    cosine decay, reshuffled passes, weights and draws seeded by ``seed``); each step costs three
    forward passes. ``x`` float ``[N, C, H, W]`` in [0, 1], ``y`` int labels ``[N]``; ``augmix_kwargs``
    go to ``augmix``. Returns the trained model in eval mode.
    """
    from lessonlib.training import check_labelled
    from lessonlib.utils import check_seed, make_generator, randperm
    from lessonlib.utils import device as default_device

    check_labelled(x, y)
    _check_images(x)
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_number(lr, "lr", low=0.0, low_inclusive=False)
    weight = check_number(weight, "weight", low=0.0)
    seed = check_seed(seed)
    augmix(x[:1], generator=torch.Generator().manual_seed(0), **augmix_kwargs)  # validate early
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    xd, yd = x.to(dev), y.to(dev)
    gen = make_generator(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=dev.type in ("cpu", "cuda") or None)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    model.train()
    done, n = 0, x.shape[0]
    while done < steps:
        order = randperm(n, generator=gen, device=dev)
        for start in range(0, n, batch_size):
            if done >= steps:
                break
            xb, yb = xd[order[start : start + batch_size]], yd[order[start : start + batch_size]]
            # two independent AugMix views of the batch in one call (the draws are per image)
            views = torch.cat([xb, augmix(torch.cat([xb, xb]), generator=gen, **augmix_kwargs)])
            clean, aug1, aug2 = model(views).chunk(3)
            loss = F.cross_entropy(clean, yb) + weight * jensen_shannon_consistency(clean, aug1, aug2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
    model.eval()
    return model
