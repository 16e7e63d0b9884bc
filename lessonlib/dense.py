"""Dense labels that must follow the image: boxes under rotation and crops, left/right swaps, Mosaic,
Copy-Paste, and what a segmentation experiment needs (notebook 11).

Conventions (torchvision's ``tv_tensors``): images ``[B, C, H, W]``; boxes ``(x0, y0, x1, y1)`` in
pixel-edge coordinates (``BoundingBoxFormat.XYXY``); key points ``(x, y)`` in pixel-centre
coordinates; an *instance map* ``[B, H, W]`` (integer) holds 0 for background and ``k >= 1`` for the
pixels of object ``k``. Angles are degrees, counter-clockwise on the screen, about ``(W/2, H/2)``,
as ``torchvision.transforms.v2.functional.rotate``.

Each function is ``reference.dense.<name>`` (the short textbook version, read it first) made batched,
validated and seeded by an optional ``torch.Generator``; tests check that the two agree and compare
with torchvision where it defines the same operation. Inputs are never modified; results keep the
caller's device and (floating) dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.geometric import dihedral
from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_probability,
    check_tensor,
    randint,
    seeded,
    uniform,
)

__all__ = [
    "rotate_boxes",
    "BoxCrop",
    "crop_boxes",
    "instance_boxes",
    "box_iou",
    "hflip_with_swaps",
    "MosaicResult",
    "mosaic",
    "copy_paste",
    "coin_tiles",
    "make_segmenter",
    "mask_channel_loss",
    "dense_augment",
]


# ---------------------------------------------------------------------------------------------
# validation shared by the public entries
# ---------------------------------------------------------------------------------------------


def _check_boxes(boxes: object, name: str = "boxes", ndim: int | tuple[int, ...] = 2) -> torch.Tensor:
    check_tensor(boxes, name, floating=True, ndim=ndim, finite=True)
    if boxes.shape[-1] != 4:
        raise ValueError(f"{name} must end in 4 coordinates (x0, y0, x1, y1), got shape {tuple(boxes.shape)}")
    if bool((boxes[..., 2] < boxes[..., 0]).any() | (boxes[..., 3] < boxes[..., 1]).any()):
        raise ValueError(f"{name} must have x1 >= x0 and y1 >= y0 (format XYXY), got a box with a negative side")
    return boxes


def _check_size(size: object, name: str = "size") -> tuple[int, int]:
    if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2:
        raise TypeError(f"{name} must be an (H, W) pair of integers, got {size!r}")
    return check_int(size[0], f"{name}[0]", low=1), check_int(size[1], f"{name}[1]", low=1)


def _check_images(images: object, name: str = "images") -> torch.Tensor:
    check_tensor(images, name, floating=True, ndim=4, finite=True)
    if images.shape[0] == 0:
        raise ValueError(
            f"{name} is an empty batch (shape {tuple(images.shape)}); expected at least one image [B, C, H, W]"
        )
    return images


def _check_instances(instances: object, name: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    check_tensor(instances, name, ndim=(2, 3) if shape is None else len(shape))
    if instances.is_floating_point() or instances.is_complex() or instances.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer instance map (0 = background, k = object k), got {instances.dtype}")
    if shape is not None and tuple(instances.shape) != shape:
        raise ValueError(f"{name} must have shape {shape} (one map per image), got {tuple(instances.shape)}")
    if instances.numel() and int(instances.min()) < 0:
        raise ValueError(f"{name} must hold ids >= 0 (0 = background), got {int(instances.min())}")
    return instances


# ---------------------------------------------------------------------------------------------
# boxes: rotation, crops, boxes from masks, IoU
# ---------------------------------------------------------------------------------------------


def rotate_boxes(
    boxes: torch.Tensor,
    angle: float | torch.Tensor,
    size: tuple[int, int],
    *,
    method: str = "corners",
) -> torch.Tensor:
    """The same result as ``reference.dense.rotate_boxes``; adds batching (any leading shape, one
    angle per box), validation, and the caller's device and dtype.

    Args:
        boxes: ``[..., 4]`` XYXY boxes in pixels, floating point, finite, x1 >= x0 and y1 >= y0.
        angle: degrees counter-clockwise: a number, or a tensor broadcastable to ``boxes.shape[:-1]``
            (e.g. one angle per image of a batch ``[B, N, 4]`` as ``angle[:, None]``).
        size: the canvas ``(H, W)``; the rotation is about ``(W/2, H/2)`` and results are clipped to it.
        method: ``"corners"``: the box around the four rotated corners, what torchvision's
            ``v2.functional.rotate`` returns for ``BoundingBoxes`` (equal to float rounding, tested);
            it always contains the object but is loose. ``"ellipse"``: the box around the rotated
            inscribed ellipse (Kalra et al., 2021), tighter for round objects.

    Returns:
        ``[..., 4]`` boxes, same shape, dtype and device. Not in place.
    """
    _check_boxes(boxes, ndim=tuple(range(1, 6)))
    h, w = _check_size(size)
    check_one_of(method, "method", ("corners", "ellipse"))
    if isinstance(angle, torch.Tensor):
        check_tensor(angle, "angle", floating=True, finite=True)
        try:
            torch.broadcast_shapes(angle.shape, boxes.shape[:-1])
        except RuntimeError:
            raise ValueError(
                f"angle must broadcast to boxes.shape[:-1] = {tuple(boxes.shape[:-1])}, got shape {tuple(angle.shape)}"
            ) from None
        t = torch.deg2rad(angle.to(device=boxes.device, dtype=torch.float64))
    else:
        t = torch.tensor(math.radians(check_number(angle, "angle")), dtype=torch.float64, device=boxes.device)
    b = boxes.to(torch.float64)
    c, s = torch.cos(t), torch.sin(t)
    mx, my = (b[..., 0] + b[..., 2]) / 2 - w / 2, (b[..., 1] + b[..., 3]) / 2 - h / 2
    cx, cy = w / 2 + mx * c + my * s, h / 2 - mx * s + my * c
    a, bb = (b[..., 2] - b[..., 0]) / 2, (b[..., 3] - b[..., 1]) / 2
    if method == "corners":
        hw, hh = a * c.abs() + bb * s.abs(), a * s.abs() + bb * c.abs()
    else:
        hw, hh = torch.hypot(a * c, bb * s), torch.hypot(a * s, bb * c)
    out = torch.stack([(cx - hw).clamp(0, w), (cy - hh).clamp(0, h), (cx + hw).clamp(0, w), (cy + hh).clamp(0, h)], -1)
    return out.to(boxes.dtype)


@dataclass(frozen=True)
class BoxCrop:
    """What ``crop_boxes`` returns. ``boxes[keep]`` are the boxes to train on.

    Attributes:
        boxes: ``[N, 4]`` boxes in the crop's frame, clipped to it (dropped ones included, possibly empty).
        keep: ``[N]`` bool: some area is left and ``visibility >= min_visibility``.
        visibility: ``[N]`` area left / area before the crop (0 for a box of zero area).
    """

    boxes: torch.Tensor
    keep: torch.Tensor
    visibility: torch.Tensor


def crop_boxes(
    boxes: torch.Tensor,
    crop: tuple[int, int, int, int] | torch.Tensor,
    *,
    min_visibility: float = 0.0,
) -> BoxCrop:
    """The same result as ``reference.dense.crop_boxes``; adds a per-box crop window (a batch of
    crops), the visibility itself, validation, and the caller's device and dtype.

    Args:
        boxes: ``[N, 4]`` XYXY boxes in the image's pixels (floating, finite).
        crop: ``(top, left, height, width)`` of the window, or a tensor ``[N, 4]`` of windows, one per
            box (the window of the image each box belongs to). height, width >= 0.
        min_visibility: in [0, 1]; a box is kept when some area is left and at least this fraction of
            its area is. 0 keeps every box with area left (torchvision's ``SanitizeBoundingBoxes``
            drops only degenerate boxes, smaller than ``min_size=1`` pixel on a side: a sliver that is
            3 % of a cell survives it; ``min_visibility`` is what drops it).

    Returns:
        ``BoxCrop(boxes, keep, visibility)``. Not in place.
    """
    _check_boxes(boxes)
    mv = check_probability(min_visibility, "min_visibility")
    if isinstance(crop, torch.Tensor):
        check_tensor(crop, "crop", ndim=2, finite=True)
        if tuple(crop.shape) != (boxes.shape[0], 4):
            raise ValueError(
                f"crop must be (top, left, height, width) or [N, 4] = [{boxes.shape[0]}, 4], got {tuple(crop.shape)}"
            )
        win = crop.to(device=boxes.device, dtype=torch.float64)
    else:
        if not isinstance(crop, (tuple, list)) or len(crop) != 4:
            raise TypeError(f"crop must be (top, left, height, width) or a tensor [N, 4], got {crop!r}")
        vals = [check_number(v, f"crop[{i}]") for i, v in enumerate(crop)]
        win = torch.tensor(vals, dtype=torch.float64, device=boxes.device).expand(boxes.shape[0], 4)
    if bool((win[:, 2:] < 0).any()):
        raise ValueError("crop must have height >= 0 and width >= 0")
    return _crop(boxes, win, mv)


def _crop(boxes: torch.Tensor, win: torch.Tensor, min_visibility: float) -> BoxCrop:
    b = boxes.to(torch.float64)
    top, left, height, width = win.unbind(-1)
    x = (b[:, 0::2] - left[:, None]).clamp(min=0).minimum(width[:, None])
    y = (b[:, 1::2] - top[:, None]).clamp(min=0).minimum(height[:, None])
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    left_area = (x[:, 1] - x[:, 0]) * (y[:, 1] - y[:, 0])
    vis = torch.where(area > 0, left_area / area.clamp(min=1e-300), torch.zeros_like(area))
    keep = (left_area > 0) & (left_area >= min_visibility * area)
    out = torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], -1).to(boxes.dtype)
    return BoxCrop(out, keep, vis.to(boxes.dtype))


def instance_boxes(instances: torch.Tensor, num_ids: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.dense.instance_boxes``; adds batching and validation.

    Args:
        instances: an integer instance map ``[H, W]`` or a batch ``[B, H, W]`` (0 = background).
        num_ids: boxes for ids ``1..num_ids`` (default: the largest id present).

    Returns:
        ``(boxes, present)``: ``[(B,) M, 4]`` float32 XYXY boxes in pixel-edge coordinates (zeros where
        absent) and ``[(B,) M]`` bool. Differs from ``torchvision.ops.masks_to_boxes`` by design: that
        returns the last pixel's index as x1, y1 (a one-pixel mask gets a zero-area box); here they
        are one past it, the convention of ``tv_tensors.BoundingBoxes`` (tested).
    """
    _check_instances(instances, "instances")
    m = int(instances.max()) if instances.numel() else 0
    m = m if num_ids is None else check_int(num_ids, "num_ids", low=0)
    single = instances.ndim == 2
    inst = instances[None] if single else instances
    boxes, present = _instance_boxes(inst, m)
    return (boxes[0], present[0]) if single else (boxes, present)


def _instance_boxes(inst: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    bsz, h, w = inst.shape
    ids = torch.arange(1, m + 1, device=inst.device)
    onehot = inst[:, None] == ids[None, :, None, None]  # [B, M, H, W]
    rows, cols = onehot.any(-1), onehot.any(-2)  # [B, M, H], [B, M, W]
    present = rows.any(-1)
    ar_h, ar_w = torch.arange(h, device=inst.device), torch.arange(w, device=inst.device)
    y0 = torch.where(rows, ar_h, h).amin(-1)
    y1 = torch.where(rows, ar_h, -1).amax(-1) + 1
    x0 = torch.where(cols, ar_w, w).amin(-1)
    x1 = torch.where(cols, ar_w, -1).amax(-1) + 1
    boxes = torch.stack([x0, y0, x1, y1], -1).float() * present[..., None]
    return boxes, present


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of matching boxes ``a[i]`` and ``b[i]`` (``[..., 4]`` each) → ``[...]``.

    The element-wise (paired) version of ``torchvision.ops.box_iou``, which compares all pairs; 0
    when both boxes have zero area.
    """
    _check_boxes(a, "a", ndim=tuple(range(1, 6)))
    _check_boxes(b, "b", ndim=tuple(range(1, 6)))
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (paired boxes), got {tuple(a.shape)} and {tuple(b.shape)}")
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = iw * ih
    union = (
        (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter
    )
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(a.dtype).tiny), torch.zeros_like(union))


# ---------------------------------------------------------------------------------------------
# left/right
# ---------------------------------------------------------------------------------------------


def _check_pairs(pairs: object, name: str, high: int | None = None) -> list[tuple[int, int]]:
    if not isinstance(pairs, (list, tuple)):
        raise TypeError(f"{name} must be a sequence of (a, b) pairs, got {type(pairs).__name__}")
    out, seen = [], set()
    for i, p in enumerate(pairs):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise TypeError(f"{name}[{i}] must be an (a, b) pair, got {p!r}")
        a, b = (check_int(v, f"{name}[{i}]", low=0, high=high) for v in p)
        if a == b or a in seen or b in seen:
            raise ValueError(f"{name} must pair distinct values, each at most once, got {list(pairs)!r}")
        seen |= {a, b}
        out.append((a, b))
    return out


def hflip_with_swaps(
    images: torch.Tensor,
    masks: torch.Tensor | None = None,
    keypoints: torch.Tensor | None = None,
    *,
    label_swaps: Sequence[tuple[int, int]] = (),
    keypoint_swaps: Sequence[tuple[int, int]] = (),
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The same result as ``reference.dense.hflip_with_swaps``; adds batching, optional masks and
    key points, validation, and the caller's device and dtype.

    A horizontal flip moves pixels; a label that *names a side* must follow the meaning, not the
    pixels: the flipped left lung lies where the right lung was, so it must be called right.

    Args:
        images: ``[B, C, H, W]`` floating point.
        masks: optional integer label maps ``[B, H, W]``; label a becomes b (and b becomes a) for each
            pair of ``label_swaps``, e.g. ``[(1, 2)]`` for left and right lung.
        keypoints: optional ``[B, K, 2]`` (x, y) pixel-centre coordinates: x' = W − 1 − x (torchvision's
            ``horizontal_flip`` on ``KeyPoints``, tested), then points i and j trade places for each pair of
            ``keypoint_swaps`` (left eye ↔ right eye).
        label_swaps, keypoint_swaps: pairs of distinct values, each value in at most one pair.

    Returns:
        ``(images, masks, keypoints)`` flipped (None where None came). Without swaps it equals
        torchvision's ``v2.functional.horizontal_flip`` on ``Image``, ``Mask`` and ``KeyPoints``.
    """
    _check_images(images)
    bsz, _, h, w = images.shape
    ls = _check_pairs(label_swaps, "label_swaps")
    if masks is not None:
        _check_instances(masks, "masks", (bsz, h, w))
    if keypoints is not None:
        check_tensor(keypoints, "keypoints", floating=True, ndim=3, finite=True)
        if keypoints.shape[0] != bsz or keypoints.shape[2] != 2:
            raise ValueError(f"keypoints must have shape [B, K, 2] = [{bsz}, K, 2], got {tuple(keypoints.shape)}")
    ks = _check_pairs(keypoint_swaps, "keypoint_swaps", None if keypoints is None else keypoints.shape[1] - 1)
    out_masks = out_kp = None
    if masks is not None:
        out_masks = masks.flip(-1)
        if ls:
            table = torch.arange(max(int(masks.max()) + 1, max(max(p) for p in ls) + 1), device=masks.device)
            for a, b in ls:
                table[a], table[b] = b, a
            out_masks = table[out_masks.long()].to(masks.dtype)
    if keypoints is not None:
        perm = list(range(keypoints.shape[1]))
        for i, j in ks:
            perm[i], perm[j] = j, i
        out_kp = keypoints[:, perm].clone()
        out_kp[..., 0] = (w - 1) - out_kp[..., 0]
    return images.flip(-1), out_masks, out_kp


# ---------------------------------------------------------------------------------------------
# Mosaic and Copy-Paste
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MosaicResult:
    """What ``mosaic`` returns.

    Attributes:
        images: ``[B, C, H, W]`` mosaics.
        boxes: B tensors ``[M_b, 4]``: the boxes of each mosaic, in its pixels.
        index: B int64 tensors ``[M_b]``: where each box came from in ``torch.cat(boxes_in)``, so
            ``torch.cat(labels)[index[b]]`` are its labels (and any other per-box field follows the same way).
        centre: ``[B, 2]`` int64 (x_c, y_c); partners: ``[B, 4]`` int64, the input image of each quadrant.
    """

    images: torch.Tensor
    boxes: list[torch.Tensor]
    index: list[torch.Tensor]
    centre: torch.Tensor
    partners: torch.Tensor


def mosaic(
    images: torch.Tensor,
    boxes: Sequence[torch.Tensor],
    *,
    generator: torch.Generator | None = None,
    centre: torch.Tensor | None = None,
    partners: torch.Tensor | None = None,
    min_visibility: float = 0.0,
) -> MosaicResult:
    """The same result as ``reference.dense.mosaic`` for every image of a batch; adds the random
    draws, batching (the pixels are one gather), validation, and the caller's device and dtype.

    Mosaic (Bochkovskiy et al., 2020): four images tiled around a random centre, each shifted so that
    one of its corners sits on the centre (without the rescaling YOLO adds). Output b takes quadrant q
    from input ``partners[b, q]``; boxes are shifted with their image, clipped to their quadrant, and
    dropped when nothing, or less than ``min_visibility`` of their area, is left.

    Args:
        images: ``[B, C, H, W]`` floating point (B >= 1).
        boxes: B tensors ``[n_b, 4]`` (XYXY, pixels; n_b may be 0).
        generator: draws what is not given: ``centre`` uniform integers in [W/4, 3W/4] × [H/4, 3H/4] and
            ``partners`` (quadrant 0 is image b itself, the other three uniform over the batch).
        centre: optional ``[B, 2]`` integers (x_c, y_c) with 0 <= x_c <= W, 0 <= y_c <= H.
        partners: optional ``[B, 4]`` integers in 0..B−1.
        min_visibility: in [0, 1], as in ``crop_boxes``.

    Returns:
        ``MosaicResult``; labels follow with ``index``.
    """
    _check_images(images)
    bsz, _, h, w = images.shape
    if not isinstance(boxes, (list, tuple)) or len(boxes) != bsz:
        raise TypeError(
            f"boxes must be a list of B = {bsz} tensors [n_b, 4], got {type(boxes).__name__} of length "
            f"{len(boxes) if isinstance(boxes, (list, tuple)) else '-'}"
        )
    for i, b in enumerate(boxes):
        _check_boxes(b, f"boxes[{i}]")
    mv = check_probability(min_visibility, "min_visibility")
    check_generator(generator)
    dev = images.device
    if centre is None:
        xc = randint(w // 4, 3 * w // 4 + 1, bsz, generator=generator, device=dev)
        yc = randint(h // 4, 3 * h // 4 + 1, bsz, generator=generator, device=dev)
        centre = torch.stack([xc, yc], -1)
    else:
        _check_index_tensor(centre, "centre", (bsz, 2))
        if bool(
            (centre[:, 0] < 0).any() | (centre[:, 0] > w).any() | (centre[:, 1] < 0).any() | (centre[:, 1] > h).any()
        ):
            raise ValueError(f"centre must hold (x_c, y_c) with 0 <= x_c <= {w} and 0 <= y_c <= {h}")
        centre = centre.to(dev, torch.long)
    if partners is None:
        partners = torch.cat(
            [torch.arange(bsz, device=dev)[:, None], randint(0, bsz, (bsz, 3), generator=generator, device=dev)], 1
        )
    else:
        _check_index_tensor(partners, "partners", (bsz, 4))
        if bool((partners < 0).any() | (partners >= bsz).any()):
            raise ValueError(
                f"partners must index the batch (0..{bsz - 1}), got values {int(partners.min())}..{int(partners.max())}"
            )
        partners = partners.to(dev, torch.long)
    return _mosaic(images, list(boxes), centre, partners, mv)


def _check_index_tensor(t: object, name: str, shape: tuple[int, int]) -> None:
    check_tensor(t, name, ndim=2)
    if t.is_floating_point() or t.dtype == torch.bool or tuple(t.shape) != shape:
        raise ValueError(f"{name} must be an integer tensor of shape {list(shape)}, got {t.dtype} {tuple(t.shape)}")


def _mosaic(images, boxes, centre, partners, mv) -> MosaicResult:
    bsz, _, h, w = images.shape
    dev = images.device
    xc, yc = centre[:, 0], centre[:, 1]
    ys, xs = torch.arange(h, device=dev), torch.arange(w, device=dev)
    lower = ys[None, :] >= yc[:, None]  # [B, H]
    right = xs[None, :] >= xc[:, None]  # [B, W]
    quadrant = 2 * lower[:, :, None].long() + right[:, None, :].long()  # [B, H, W]
    src = partners.gather(1, quadrant.flatten(1)).view(bsz, h, w)
    sy = (ys[None, :] - yc[:, None]) % h  # [B, H]
    sx = (xs[None, :] - xc[:, None]) % w  # [B, W]
    out = images[src, :, sy[:, :, None], sx[:, None, :]].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]

    # boxes: every (output b, quadrant q) pair pulls the boxes of image partners[b, q]
    counts = torch.tensor([len(b) for b in boxes], device=dev)
    flat = torch.cat([b.to(dev) for b in boxes]) if boxes else images.new_zeros(0, 4)
    starts = torch.cumsum(counts, 0) - counts
    pair_src = partners.flatten()  # [4B]
    n_per_pair = counts[pair_src]
    pair = torch.repeat_interleave(torch.arange(4 * bsz, device=dev), n_per_pair)
    offset = torch.arange(len(pair), device=dev) - torch.repeat_interleave(
        torch.cumsum(n_per_pair, 0) - n_per_pair, n_per_pair
    )
    index = starts[pair_src[pair]] + offset
    b_out, q = pair // 4, pair % 4
    cx, cy = xc[b_out].double(), yc[b_out].double()
    dx = cx - w * (q % 2 == 0).double()
    dy = cy - h * (q < 2).double()
    top = torch.where(q < 2, torch.zeros_like(cy), cy)
    left = torch.where(q % 2 == 0, torch.zeros_like(cx), cx)
    height = torch.where(q < 2, cy, h - cy)
    width = torch.where(q % 2 == 0, cx, w - cx)
    shifted = flat[index].double() + torch.stack([dx, dy, dx, dy], -1)
    crop = _crop(shifted, torch.stack([top, left, height, width], -1), mv)
    placed = (crop.boxes + torch.stack([left, top, left, top], -1)).to(images.dtype)
    keep = crop.keep
    per_out = torch.bincount(b_out[keep], minlength=bsz).tolist()
    return MosaicResult(out, list(placed[keep].split(per_out)), list(index[keep].split(per_out)), centre, partners)


def copy_paste(
    images: torch.Tensor,
    instances: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    p: float = 0.5,
    source: torch.Tensor | None = None,
    chosen: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.dense.copy_paste`` for every image of a batch; adds the random
    draws, batching (no loop over images), validation, and the caller's device and dtype.

    Copy-Paste (Ghiasi et al., 2021), without its scale jittering: for each target image b, a random
    subset of the objects of a source image ``source[b]`` is pasted at the same place, with their masks.
    Target objects lose the pixels the paste covers (one fully covered disappears from the map);
    recompute the boxes of every object with ``instance_boxes``, which is how the occluded ones are updated.

    Args:
        images: ``[B, C, H, W]`` floating point.
        instances: ``[B, H, W]`` integer instance maps (0 = background, ids >= 1).
        generator: draws what is not given: ``source`` (image b takes from (b + s) mod B with s
            uniform in 1..B−1, never itself when B > 1) and ``chosen`` (each object with probability p).
        p: probability that an object of the source is pasted.
        source: optional ``[B]`` integers, the source image of each target.
        chosen: optional ``[B, M + 1]`` bool, ``chosen[b, k]``: object k of image ``source[b]`` is
            pasted (M = the largest id; column 0, the background, is ignored).

    Returns:
        ``(images, instances)``: pasted objects keep their masks and take the id ``k + max id of the
        target``, so ids stay distinct. Not in place.
    """
    _check_images(images)
    bsz, _, h, w = images.shape
    _check_instances(instances, "instances", (bsz, h, w))
    pp = check_probability(p, "p")
    check_generator(generator)
    dev = images.device
    m = int(instances.max())
    if source is None:
        shift = (
            randint(1, bsz, bsz, generator=generator, device=dev)
            if bsz > 1
            else torch.zeros(1, dtype=torch.long, device=dev)
        )
        source = (torch.arange(bsz, device=dev) + shift) % bsz
    else:
        check_tensor(source, "source", ndim=1)
        if source.is_floating_point() or source.shape[0] != bsz or bool((source < 0).any() | (source >= bsz).any()):
            raise ValueError(f"source must be {bsz} integers in 0..{bsz - 1}, got {source.dtype} {tuple(source.shape)}")
        source = source.to(dev, torch.long)
    if chosen is None:
        chosen = uniform((bsz, m + 1), generator=generator, device=dev) < pp
    else:
        check_tensor(chosen, "chosen", ndim=2)
        if chosen.dtype != torch.bool or tuple(chosen.shape) != (bsz, m + 1):
            raise ValueError(
                f"chosen must be a bool tensor [B, M + 1] = [{bsz}, {m + 1}], got {chosen.dtype} {tuple(chosen.shape)}"
            )
        chosen = chosen.to(dev)
    chosen = chosen.clone()
    chosen[:, 0] = False
    src_inst = instances[source].long()
    paste = chosen.gather(1, src_inst.flatten(1)).view(bsz, h, w)
    offset = instances.flatten(1).amax(1).view(bsz, 1, 1)
    out_images = torch.where(paste[:, None], images[source], images)
    out_inst = torch.where(paste, (src_inst + offset).to(instances.dtype), instances)
    return out_images, out_inst


# ---------------------------------------------------------------------------------------------
# the segmentation experiment: Dice, data, model, loss, augmentation
# ---------------------------------------------------------------------------------------------


def coin_tiles(
    image: torch.Tensor, instances: torch.Tensor, *, size: int = 48, stride: int = 48
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut an image ``[C, H, W]`` and its instance map ``[H, W]`` into square tiles ``size`` apart by
    ``stride``: ``(tiles [N, C, size, size], instance tiles [N, size, size])``, row by row."""
    check_tensor(image, "image", floating=True, ndim=3, nonempty=True)
    _check_instances(instances, "instances", tuple(image.shape[1:]))
    size, stride = check_int(size, "size", low=1), check_int(stride, "stride", low=1)
    x = image.unfold(1, size, stride).unfold(2, size, stride)  # [C, nH, nW, s, s]
    y = instances.unfold(0, size, stride).unfold(1, size, stride)
    return x.permute(1, 2, 0, 3, 4).reshape(-1, image.shape[0], size, size).clone(), y.reshape(-1, size, size).clone()


def make_segmenter(seed: int, *, channels: int = 16, in_channels: int = 1) -> nn.Module:
    """A small fully convolutional network ``[B, in_channels, H, W] -> [B, 2, H, W]`` logits
    (background, object): four 3x3 convolutions with dilations 1, 2, 4, 1 (a receptive field of
    17 pixels) and a 1x1 head. Initialised inside ``lessonlib.seeded(seed)``."""
    channels = check_int(channels, "channels", low=1)
    in_channels = check_int(in_channels, "in_channels", low=1)
    with seeded(seed):
        layers: list[nn.Module] = []
        c_in = in_channels
        for d in (1, 2, 4, 1):
            layers += [nn.Conv2d(c_in, channels, 3, padding=d, dilation=d), nn.ReLU()]
            c_in = channels
        layers.append(nn.Conv2d(channels, 2, 1))
        return nn.Sequential(*layers)


def mask_channel_loss(
    model: nn.Module, xb: torch.Tensor, yb: object, generator: torch.Generator | None
) -> torch.Tensor:
    """``training.fit``'s ``loss`` hook for image+mask batches: cross-entropy per pixel + (1 − soft Dice).

    For label maps that travel as their own tensor (3-D volumes, K classes) the loss is
    ``volumes.dice_ce_loss(logits, target)``; this hook is the binary, mask-as-last-channel form.

    The mask travels as the last channel of ``xb`` (``[B, C + 1, H, W]``: image channels, then the
    instance map as a float; objects are ``> 0``), so that every augmentation moves pixels and labels
    together; ``yb`` is unused (call ``fit(model, x, None, loss=mask_channel_loss)``). The soft Dice is
    V-Net's (Milletari et al., 2016) on the object probability: 2 Σ p t / (Σ p + Σ t).
    """
    x, target = xb[:, :-1], (xb[:, -1] > 0.5).long()
    logits = model(x)
    prob = logits.softmax(1)[:, 1]
    t = target.float()
    soft_dice = (2 * (prob * t).sum((1, 2)) + 1) / (prob.sum((1, 2)) + t.sum((1, 2)) + 1)
    return F.cross_entropy(logits, target) + (1 - soft_dice).mean()


def dense_augment(setting: str, *, p: float = 0.5):
    """An ``augment(xb, yb, generator) -> (xb, yb)`` adapter for ``fit`` on image+mask batches (the mask
    is the last channel, see ``mask_channel_loss``).

    ``setting``: ``"none"``; ``"d4"`` (a random symmetry of the square per tile, ``geometric.dihedral``:
    exact for the mask, no interpolation); ``"d4+copy-paste"`` (then Copy-Paste within the batch,
    objects pasted with probability ``p``).
    """
    check_one_of(setting, "setting", ("none", "d4", "d4+copy-paste"))
    pp = check_probability(p, "p")

    def augment(xb: torch.Tensor, yb: object, generator: torch.Generator | None):
        if setting == "none":
            return xb, yb
        k = randint(0, 8, xb.shape[0], generator=generator, device=xb.device)
        out = xb.clone()
        for j in range(8):  # a loop over the 8 group elements, not over samples
            idx = torch.nonzero(k == j).flatten()
            if len(idx):
                out[idx] = dihedral(xb[idx], j)
        if setting == "d4+copy-paste":
            img, inst = copy_paste(out[:, :-1], out[:, -1].round().long(), generator=generator, p=pp)
            out = torch.cat([img, inst[:, None].to(out.dtype)], 1)
        return out, yb

    return augment
