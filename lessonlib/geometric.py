"""Geometry: per-sample random affine warps for whole batches, and the dihedral group D4.

Random affine (``sample_affine_params``, ``apply_affine``, ``random_affine``):

torchvision's ``transforms.v2`` draws *one* set of random parameters per call, so a batch tensor
``[B, C, H, W]`` gets the same rotation for every image. Training loops want an independent draw per
image; looping over images in Python is slow. ``random_affine`` draws ``B`` parameter sets as tensors
and warps the batch in one ``affine_grid``/``grid_sample`` call. Per image it is the same operation
as ``torchvision.transforms.v2.functional.affine(img, angle=-angle_deg, translate=[tx*W, ty*H],
scale=scale, shear=[0, 0], interpolation=BILINEAR, fill=None)``, equal to float rounding at every
pixel (``tests/test_geometric.py``). With ``fill=0`` torchvision multiplies the border band (where a
bilinear tap falls outside the image) once more by its interpolated validity mask, so its edge
pixels come out darker; the interiors agree. Note the sign: torchvision's ``affine`` measures
angles clockwise, its ``rotate`` (and this module) counter-clockwise.

D4 (``D4_NAMES``, ``dihedral``, ``dihedral_inverse``, ``RandomDihedral``): the 8 symmetries of the
square as exact pixel permutations, and on boxes and key points as exact coordinate maps; the pixel
maps equal ``reference.tta.d4``/``d4_inverse``. This is D4's one home: ``presets`` (the histopathology
pipeline) and ``tta`` (test-time views and their inverses) import it from here and re-export nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import PIL.Image
import torch
import torch.nn.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_probability,
    check_range,
    check_tensor,
    randint,
    uniform,
)

__all__ = [
    "AffineParams",
    "sample_affine_params",
    "apply_affine",
    "random_affine",
    "D4_NAMES",
    "dihedral",
    "dihedral_inverse",
    "RandomDihedral",
]


@dataclass(frozen=True)
class AffineParams:
    """Per-sample affine parameters, each a ``[B]`` float32 tensor on the data's device.

    ``angle_deg`` counter-clockwise rotation in degrees; ``tx``, ``ty`` shifts as a fraction of width
    and height (0.1 = 10% of the image, positive = right/down); ``scale`` zoom factor (>1 enlarges).
    """

    angle_deg: torch.Tensor
    tx: torch.Tensor
    ty: torch.Tensor
    scale: torch.Tensor


def sample_affine_params(
    batch: int,
    *,
    degrees: float | tuple[float, float] = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> AffineParams:
    """Draw ``batch`` independent affine parameter sets.

    Args:
        batch: number of samples (>= 1).
        degrees: rotation range in degrees, finite; a number ``d >= 0`` means ``(-d, d)``.
        translate: maximum shift as a fraction of the image size in [0, 1]; shifts are uniform in
            ``[-translate, translate]`` along each axis independently.
        scale: ``(min, max)`` zoom range, both finite and > 0.
        generator: source of randomness (one ``[4, batch]`` uniform draw).
        device: where the parameter tensors live.

    Returns:
        ``AffineParams`` of ``[batch]`` float32 tensors on ``device``.

    Raises:
        TypeError/ValueError naming the parameter: a non-integer or non-positive ``batch``; NaN or
        infinite bounds; ``min > max``; ``scale <= 0``; ``translate`` outside [0, 1]; a ``generator``
        that is not a ``torch.Generator``.
    """
    batch = check_int(batch, "batch", low=1)
    if not isinstance(degrees, (tuple, list)):
        d = check_number(degrees, "degrees", low=0.0)  # also refuses NaN, inf, strings, bools
        degrees = (-d, d)
    d_lo, d_hi = check_range(degrees, "degrees")
    translate = check_number(translate, "translate", low=0.0, high=1.0)
    s_lo, s_hi = check_range(scale, "scale", low=0.0, low_inclusive=False)
    check_generator(generator)
    u = uniform((4, batch), generator=generator, device=device)
    return AffineParams(
        angle_deg=d_lo + (d_hi - d_lo) * u[0],
        tx=translate * (2 * u[1] - 1),
        ty=translate * (2 * u[2] - 1),
        scale=s_lo + (s_hi - s_lo) * u[3],
    )


def apply_affine(x: torch.Tensor, params: AffineParams, *, mode: str = "bilinear") -> torch.Tensor:
    """Warp each image of ``x`` (``[B, C, H, W]`` float) with its own parameters; zeros fill outside.

    The transform about the image centre maps output pixel ``p`` to input ``A⁻¹(p − c − t) + c`` with
    ``A = scale · R(angle)``. Returns a new tensor with the dtype and device of ``x``.

    Args:
        x: ``[B, C, H, W]`` floating images (float16/bfloat16 are warped in float32).
        params: an ``AffineParams`` whose four fields are finite ``[B]`` tensors, ``scale > 0``
            (e.g. from ``sample_affine_params``).
        mode: ``"bilinear"`` (images) or ``"nearest"`` (label maps).

    Raises:
        TypeError: ``params`` is not an ``AffineParams`` or holds non-tensors. ValueError: a field
        of the wrong shape, NaN/inf, or ``scale <= 0``; an unknown ``mode``.
    """
    check_tensor(x, "x", ndim=4, floating=True)
    b, _, h, w = x.shape
    if not isinstance(params, AffineParams):
        raise TypeError(f"params must be an AffineParams (from sample_affine_params), got {type(params).__name__}")
    for name in ("angle_deg", "tx", "ty", "scale"):
        v = getattr(params, name)
        check_tensor(v, f"params.{name}", finite=True)
        if v.shape != (b,):
            raise ValueError(f"params.{name} must have shape [{b}] to match the batch, got {tuple(v.shape)}")
        if v.is_complex() or not (v.is_floating_point() or v.dtype != torch.bool):
            raise TypeError(f"params.{name} must be real-valued, got dtype {v.dtype}")
    if bool((params.scale <= 0).any()):
        raise ValueError(f"params.scale must be > 0, got min {float(params.scale.min())}")
    check_one_of(mode, "mode", ("bilinear", "nearest"))
    dt = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    a = params.angle_deg.to(x.device, dt) * (math.pi / 180.0)
    s = params.scale.to(x.device, dt)
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    # affine_grid works in normalised coordinates [-1, 1] with y pointing down. Counter-clockwise on
    # screen is clockwise in these coordinates, hence the sign pattern. Inverse map: output -> input.
    # Pixel aspect: normalised x and y units differ when H != W; correct with w/h factors.
    theta = torch.zeros(b, 2, 3, dtype=dt, device=x.device)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * (h / w)
    theta[:, 1, 0] = sin * (w / h)
    theta[:, 1, 1] = cos
    tx = params.tx.to(x.device, dt) * 2.0
    ty = params.ty.to(x.device, dt) * 2.0
    theta[:, 0, 2] = -(theta[:, 0, 0] * tx + theta[:, 0, 1] * ty)
    theta[:, 1, 2] = -(theta[:, 1, 0] * tx + theta[:, 1, 1] * ty)
    grid = F.affine_grid(theta, [b, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x.to(dt), grid, mode=mode, padding_mode="zeros", align_corners=False)
    return out.to(x.dtype)


def random_affine(
    x: torch.Tensor,
    *,
    degrees: float | tuple[float, float] = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random rotation, shift and zoom, drawn independently for every image of ``x`` ``[B, C, H, W]``.

    See ``sample_affine_params`` for the ranges. Returns a new tensor (same shape, dtype, device).
    """
    check_tensor(x, "x", ndim=4, floating=True)
    params = sample_affine_params(
        x.shape[0], degrees=degrees, translate=translate, scale=scale, generator=generator, device=x.device
    )
    return apply_affine(x, params)


# ----------------------------------------------------------------------------------------------
# The dihedral group D4: the 8 symmetries of the square, exact on pixels and on coordinates
# ----------------------------------------------------------------------------------------------

#: The 8 symmetries of the square, indexed 0..7: element k = rotate by 90°·(k % 4) counter-clockwise
#: after a horizontal flip when k >= 4.
D4_NAMES = (
    "identity",
    "rot90",
    "rot180",
    "rot270",
    "hflip",
    "hflip+rot90",
    "hflip+rot180",
    "hflip+rot270",
)


def _check_k(k: object, name: str = "k") -> int:
    k = check_int(k, name)
    if not 0 <= k < 8:
        raise ValueError(f"{name} must be an int in 0..7 indexing D4_NAMES, got {k!r}")
    return k


def _check_pixels(x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"x must be a tensor with at least 2 dims [..., H, W], got {getattr(x, 'shape', x)!r}")
    return x


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The same result as ``reference.tta.d4``; adds validation and a copy for ``k = 0`` (never a view).

    Apply D4 element ``k`` to the last two dimensions of ``x`` (``[..., H, W]``), exactly. Element k:
    horizontal flip if ``k >= 4``, then ``k % 4`` counter-clockwise quarter turns (``torch.rot90`` on
    dims (-2, -1)). Pure index permutation: no interpolation, any dtype, any
    device; returns a new tensor. Odd quarter turns swap H and W.
    """
    k = _check_k(k)
    x = _check_pixels(x)
    out = x.flip(-1) if k >= 4 else x
    return torch.rot90(out, k % 4, dims=(-2, -1)) if k % 4 else out.clone()


def dihedral_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """The same result as ``reference.tta.d4_inverse``; adds validation and a copy for ``k = 0``.

    Undo ``dihedral(·, k)``: ``dihedral_inverse(dihedral(x, k), k)`` equals ``x`` exactly (a turn of
    ``−(k % 4)`` quarters, then the flip when ``k >= 4``). Tensors ``[..., H, W]``, any dtype and device.
    """
    k = _check_k(k)
    x = _check_pixels(x)
    out = torch.rot90(x, -(k % 4), dims=(-2, -1)) if k % 4 else x.clone()
    return out.flip(-1) if k >= 4 else out


# Coordinates. Boxes use pixel-edge coordinates (pixel c spans [c, c + 1): a flip maps x to W - x,
# torchvision's box convention); key points use pixel indices (a flip maps x to W - 1 - x,
# torchvision's key-point convention). With ``edge`` = W for boxes and W - 1 for points, a
# counter-clockwise quarter turn of an H x W canvas (``torch.rot90``: pixel (row r, col c) goes to
# (row W - 1 - c, col r)) maps (x, y) to (y, edge - x) on a W x H canvas. Only negations,
# subtractions from an integer and swaps: exact for integer-valued coordinates in every dtype
# (integers included), no trigonometry, and degenerate boxes stay degenerate.

_BoxFormat = tv_tensors.BoundingBoxFormat


def _hflip_coords(c: torch.Tensor, fmt: Any, w: int) -> torch.Tensor:
    if fmt is None:  # key points [..., 2]
        return torch.stack([(w - 1) - c[..., 0], c[..., 1]], -1)
    if fmt == _BoxFormat.XYXY:
        return torch.stack([w - c[..., 2], c[..., 1], w - c[..., 0], c[..., 3]], -1)
    if fmt == _BoxFormat.XYWH:
        return torch.stack([w - c[..., 0] - c[..., 2], c[..., 1], c[..., 2], c[..., 3]], -1)
    if fmt == _BoxFormat.CXCYWH:
        return torch.stack([w - c[..., 0], c[..., 1], c[..., 2], c[..., 3]], -1)
    # XYXYXYXY: mirror every corner and restore the corner order as torchvision does
    xs, ys = w - c[..., 0::2], c[..., 1::2]
    out = torch.stack([xs, ys], -1).flatten(-2)
    return out[..., [2, 3, 0, 1, 6, 7, 4, 5]]


def _rot90_coords(c: torch.Tensor, fmt: Any, w: int) -> torch.Tensor:
    """One counter-clockwise quarter turn of coordinates on a canvas of width ``w``."""
    if fmt is None:
        return torch.stack([c[..., 1], (w - 1) - c[..., 0]], -1)
    if fmt == _BoxFormat.XYXY:
        return torch.stack([c[..., 1], w - c[..., 2], c[..., 3], w - c[..., 0]], -1)
    if fmt == _BoxFormat.XYWH:
        return torch.stack([c[..., 1], w - c[..., 0] - c[..., 2], c[..., 3], c[..., 2]], -1)
    if fmt == _BoxFormat.CXCYWH:
        return torch.stack([c[..., 1], w - c[..., 0], c[..., 3], c[..., 2]], -1)
    xs, ys = c[..., 0::2], c[..., 1::2]  # XYXYXYXY: a rotation keeps the corner order
    return torch.stack([ys, w - xs], -1).flatten(-2)


def _dihedral_coords(inpt: tv_tensors.TVTensor, k: int) -> tv_tensors.TVTensor:
    """D4 element ``k`` on ``BoundingBoxes`` (axis-aligned or XYXYXYXY) or ``KeyPoints``, exactly."""
    fmt = inpt.format if isinstance(inpt, tv_tensors.BoundingBoxes) else None
    if fmt in (_BoxFormat.XYWHR, _BoxFormat.CXCYWHR):  # angles: torchvision's kernels (float rounding)
        out = TF.horizontal_flip(inpt) if k >= 4 else inpt.clone()
        return TF.rotate(out, 90.0 * (k % 4), expand=True) if k % 4 else out
    h, w = inpt.canvas_size
    c = inpt.as_subclass(torch.Tensor)
    c = _hflip_coords(c, fmt, w) if k >= 4 else c.clone()
    for _ in range(k % 4):
        c = _rot90_coords(c, fmt, w)
        h, w = w, h
    return tv_tensors.wrap(c, like=inpt, canvas_size=(h, w))


_PIL_STEPS = {1: "ROTATE_90", 2: "ROTATE_180", 3: "ROTATE_270"}  # PIL rotates counter-clockwise, exactly


def _dihedral_pil(img: PIL.Image.Image, k: int) -> PIL.Image.Image:
    out = img.transpose(PIL.Image.Transpose.FLIP_LEFT_RIGHT) if k >= 4 else img.copy()
    return out.transpose(getattr(PIL.Image.Transpose, _PIL_STEPS[k % 4])) if k % 4 else out


class RandomDihedral(v2.Transform):
    """One of the 8 symmetries of the square (``D4_NAMES``), applied exactly to a whole sample.

    With probability ``p`` an element is drawn uniformly from ``elements`` (default: all 8, i.e. the
    uniform distribution over D4, which is what "the label is invariant to D4" asks for); otherwise
    the sample is returned unchanged (copied). Element ``k`` is the same map as ``dihedral(x, k)``:
    horizontal flip if ``k >= 4``, then ``k % 4`` counter-clockwise quarter turns.

    Pixels are permuted, never interpolated: no blur, no black corners, any dtype, values and
    histogram unchanged. Odd quarter turns swap H and W (on square images the shape is unchanged).

    Types handled consistently in one call (v2 conventions): ``tv_tensors.Image``/``Video``/``Mask``
    and the image-like pure tensor (``[..., C, H, W]``, via ``dihedral``); PIL images (via PIL's
    exact ``transpose``); ``tv_tensors.BoundingBoxes`` and ``KeyPoints`` by flips and transposes of
    their coordinates (boxes in pixel-edge coordinates, ``x -> W - x``; key points as pixel indices,
    ``x -> W - 1 - x``, both torchvision's conventions), exact in every dtype for integer-valued
    coordinates, ``canvas_size`` updated; a degenerate (zero-area) box stays degenerate, so
    ``v2.SanitizeBoundingBoxes`` still drops it. Rotated boxes with an angle (``XYWHR``,
    ``CXCYWHR``) go through torchvision's ``F.horizontal_flip``/``F.rotate`` (float rounding).
    Other inputs (labels, strings) pass through. Inputs are never modified in place. Like every v2
    transform, one call draws one element: a batched tensor ``[B, C, H, W]`` gets the same symmetry
    for all B images (call it per sample, or use ``dihedral`` with your own per-sample draws, for
    independent elements).

    Args:
        p: probability of drawing an element; ``1 - p`` leaves the sample as it is.
        elements: the indices (0..7) to draw from, e.g. ``(0, 1, 2, 3)`` for rotations only, or
            ``(k,)`` to apply one fixed element.
        generator: optional ``torch.Generator`` (any device); ``None`` uses torch's global RNG.
    """

    _transformed_types = (torch.Tensor, PIL.Image.Image)

    def __init__(
        self,
        p: float = 1.0,
        *,
        elements: Sequence[int] = tuple(range(8)),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        if isinstance(elements, (str, bytes)) or not isinstance(elements, Sequence) or len(elements) == 0:
            raise ValueError(f"elements must be a non-empty sequence of ints in 0..7, got {elements!r}")
        self.elements = tuple(_check_k(k, f"elements[{i}]") for i, k in enumerate(elements))
        self._generator = check_generator(generator)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """Draw ``k`` (an int in 0..7) for the whole sample: one draw for ``p``, one for the element."""
        u = float(uniform(1, generator=self._generator)[0])
        if u >= self.p:
            return {"k": 0}
        i = int(randint(0, len(self.elements), 1, generator=self._generator)[0])
        return {"k": self.elements[i]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        """Apply element ``params['k']`` to one input of the sample."""
        k = params["k"]
        if isinstance(inpt, PIL.Image.Image):
            return _dihedral_pil(inpt, k)
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
            return _dihedral_coords(inpt, k)
        if isinstance(inpt, torch.Tensor):  # Image, Video, Mask, or the image-like pure tensor
            out = dihedral(inpt.as_subclass(torch.Tensor), k)
            return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out
        return inpt
