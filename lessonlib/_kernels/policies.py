"""The speed-only kernels of ``lessonlib.policies``: one operation on a group of images at once.

Nothing here is taught. ``lessonlib.policies.apply_draws`` (validated) calls ``apply_steps``; every
image of its result equals ``lessonlib.reference.policies.apply_op`` (torchvision's own operation)
applied to that image alone. What makes them fast: images grouped by operation (a loop over at most
fourteen operations, never over images), per-image magnitudes as tensors, whole-pixel translations
as slices or one gather, nearest-neighbour warps as a uint8 gather, sharpness from exact integer box
sums, solarize as a uint8 compare and XOR, colour operations in cache-sized chunks. Inputs are
assumed valid (the public entry checked them); the input batch is never modified.

Each kernel follows torchvision's tensor kernel step by step, with the scalar replaced by a
``[n, 1, 1, 1]`` tensor (float32, as torchvision casts its Python scalar), so uint8 results are
bit-identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

__all__ = ["GEOMETRIC", "apply_one", "apply_steps", "mix_chains"]


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


GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")


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
    """Geometric operations ``GEOMETRIC[kind[i]]`` at ``m[i]`` for images ``x`` ``[n, C, H, W]``.

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


_COLOUR_KERNELS = {
    "Brightness": _brightness,
    "Color": _color,
    "Contrast": _contrast,
    "Sharpness": _sharpness,
    "Posterize": _posterize_k,
    "Solarize": _solarize_k,
}


def apply_one(x: torch.Tensor, name: str, m: torch.Tensor, interpolation: str, fill: float | None) -> torch.Tensor:
    """Operation ``name`` at magnitudes ``m`` ``[n]`` (float64) on every image of ``x`` ``[n, C, H, W]``; unchecked."""
    if name == "Identity":
        return x.clone()
    if name in GEOMETRIC:
        kind = torch.full((x.shape[0],), GEOMETRIC.index(name), dtype=torch.int64)
        return _geometric(kind, x, m, interpolation, fill)
    if name in _COLOUR_KERNELS:
        return _COLOUR_KERNELS[name](x, m)
    return {"AutoContrast": TF.autocontrast, "Equalize": TF.equalize, "Invert": TF.invert}[name](x)


#: Elements per chunk of a colour operation in ``apply_steps`` (2**19: three 224x224 RGB images).
_CHUNK_ELEMENTS = 2**19


def apply_steps(
    x: torch.Tensor, ops: tuple[str, ...], op: torch.Tensor, mag: torch.Tensor, interpolation: str, fill: float | None
) -> torch.Tensor:
    """Step j applies ``ops[op[i, j]]`` at ``mag[i, j]`` to image i (``op``/``mag`` CPU ``[B, N]``,
    int64/float64); within a step the images are grouped by operation. Unchecked: see ``apply_draws``."""
    chunk = max(1, _CHUNK_ELEMENTS // max(1, x[0].numel())) if x.device.type == "cpu" else x.shape[0]
    # per operation index: its position in GEOMETRIC, or -1 for the others
    geo = torch.tensor([GEOMETRIC.index(n) if n in GEOMETRIC else -1 for n in ops], dtype=torch.int64)
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
            name = ops[k]
            # the colour kernels make several passes over their images: in chunks of about
            # _CHUNK_ELEMENTS the passes stay in the CPU's cache (on 224x224 RGB, about 2x faster)
            for idx in torch.nonzero(step == k).flatten().split(chunk if name != "Identity" else x.shape[0]):
                src = _take(out, idx)
                parts.append(src if name == "Identity" else apply_one(src, name, mag[idx, j], interpolation, fill))
                where.append(idx)
        out = _regroup(parts, where, x.device)
    return out.clone() if out is x else out


def mix_chains(x: torch.Tensor, chains: torch.Tensor, weights: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """AugMix's mix of ``x`` ``[B, C, H, W]`` with its chains ``[K·B, C, H, W]`` (chain k of image i at row
    ``k·B + i``): ``(1 − m_i)·x_i + m_i·Σ_k w_ik·chain_k(x_i)`` as one weighted sum over a stacked
    ``[1 + K, B, C, H, W]`` tensor, in float, truncated back to uint8 like torchvision."""
    b, k = weights.shape
    dt = x.dtype if x.is_floating_point() else torch.float32
    w_all = torch.cat([(1.0 - m)[None], (weights * m[:, None]).T]).to(x.device, dt)  # [1 + K, B]
    stacked = torch.cat([x[None], chains.view(k, *x.shape)]).to(dt)
    mix = (w_all.view(1 + k, b, 1, 1, 1) * stacked).sum(0)
    return mix if x.is_floating_point() else mix.to(x.dtype)
