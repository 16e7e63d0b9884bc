"""Per-sample random geometric augmentation for whole batches, vectorised.

torchvision's ``transforms.v2`` draws *one* set of random parameters per call, so a batch tensor
``[B, C, H, W]`` gets the same rotation for every image. Training loops want an independent draw per
image; looping over images in Python is slow. ``random_affine`` draws ``B`` parameter sets as tensors
and warps the batch in one ``affine_grid``/``grid_sample`` call. Per image it is the same operation
as ``torchvision.transforms.v2.functional.affine(img, angle=-angle_deg, translate=[tx*W, ty*H],
scale=scale, shear=[0, 0])`` with bilinear interpolation and zero fill (checked in
``tests/test_geometric.py``). Note the sign: torchvision's ``affine`` measures angles clockwise,
its ``rotate`` (and this module) counter-clockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lessonlib.utils import check_range, check_tensor, uniform

__all__ = ["AffineParams", "sample_affine_params", "apply_affine", "random_affine"]


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
        degrees: rotation range in degrees; a number ``d`` means ``(-d, d)``.
        translate: maximum shift as a fraction of the image size in [0, 1]; shifts are uniform in
            ``[-translate, translate]`` along each axis independently.
        scale: ``(min, max)`` zoom range, both > 0.
        generator: source of randomness.
        device: where the parameter tensors live.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    if isinstance(degrees, (int, float)) and not isinstance(degrees, bool):
        if degrees < 0:
            raise ValueError(f"degrees must be >= 0 when a single number, got {degrees!r}")
        degrees = (-float(degrees), float(degrees))
    d_lo, d_hi = check_range(degrees, "degrees")
    if isinstance(translate, bool) or not isinstance(translate, (int, float)) or not 0.0 <= translate <= 1.0:
        raise ValueError(f"translate must be a fraction in [0, 1], got {translate!r}")
    s_lo, s_hi = check_range(scale, "scale")
    if s_lo <= 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
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
    """
    check_tensor(x, "x", ndim=4, floating=True)
    b, _, h, w = x.shape
    for name in ("angle_deg", "tx", "ty", "scale"):
        v = getattr(params, name)
        if v.shape != (b,):
            raise ValueError(f"params.{name} must have shape [{b}] to match the batch, got {tuple(v.shape)}")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
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
