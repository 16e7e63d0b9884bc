"""Reference versions of the techniques of ``lessonlib.dense`` (see ``lessonlib.reference``).

Conventions (the same as torchvision's ``tv_tensors``): an image is ``[C, H, W]``; a box is
``(x0, y0, x1, y1)`` in pixel-edge coordinates (a box around pixel column 3 alone is ``x0=3, x1=4``);
a keypoint is ``(x, y)`` in pixel-centre coordinates; an instance map ``[H, W]`` holds 0 for
background and ``k`` for the pixels of object ``k``. Angles are degrees, counter-clockwise on the
screen, about the image centre ``(W/2, H/2)``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "rotate_boxes",
    "crop_boxes",
    "instance_boxes",
    "hflip_with_swaps",
    "mosaic",
    "copy_paste",
    "dice",
]


def rotate_boxes(boxes, angle, size, method="corners"):
    """The axis-aligned box of each rotated box ``[N, 4]``, clipped to the image ``size = (H, W)``.

    A point moves as x' = c_x + (x − c_x) cos θ + (y − c_y) sin θ, y' = c_y − (x − c_x) sin θ +
    (y − c_y) cos θ (θ counter-clockwise on the screen, c the image centre).

    * ``"corners"``: the box around the four rotated corners, the "largest box" every library uses
      (torchvision's ``v2.functional.rotate`` on ``BoundingBoxes``). It contains the object, but is
      loose: for a round object it grows by up to a factor √2 per side at 45°.
    * ``"ellipse"``: the box around the rotated ellipse inscribed in the box, half-widths
      √(a² cos² θ + b² sin² θ) and √(a² sin² θ + b² cos² θ) for semi-axes a = w/2, b = h/2; shown
      optimal when the object's shape is unknown by Kalra et al. (2021), *Towards Rotation Invariance in
      Object Detection*.
    """
    assert method in ("corners", "ellipse") and boxes.ndim == 2 and boxes.shape[1] == 4
    h, w = size
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    out = []
    for x0, y0, x1, y1 in boxes.tolist():
        mx, my = (x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2
        cx, cy = w / 2 + mx * c + my * s, h / 2 - mx * s + my * c  # the centre moves as a point
        a, b = (x1 - x0) / 2, (y1 - y0) / 2
        if method == "corners":
            hw, hh = a * abs(c) + b * abs(s), a * abs(s) + b * abs(c)
        else:
            hw, hh = math.sqrt((a * c) ** 2 + (b * s) ** 2), math.sqrt((a * s) ** 2 + (b * c) ** 2)
        out.append([min(max(cx - hw, 0), w), min(max(cy - hh, 0), h), min(max(cx + hw, 0), w), min(max(cy + hh, 0), h)])
    return torch.tensor(out, dtype=boxes.dtype).reshape(-1, 4)


def crop_boxes(boxes, crop, min_visibility=0.0):
    """Boxes ``[N, 4]`` after cropping the window ``crop = (top, left, height, width)``.

    Shift by (−left, −top), clip to [0, width] × [0, height]; the *visibility* of a box is the area
    left divided by the area before clipping. A box is kept when some area is left and its visibility
    is at least ``min_visibility`` (the rule of detection pipelines since YOLO's and Albumentations'
    ``min_visibility``; Buslaev et al., 2020, *Albumentations: fast and flexible image augmentations*).
    Returns ``(clipped boxes [N, 4], keep [N] bool)``.
    """
    top, left, height, width = crop
    clipped, keep = [], []
    for x0, y0, x1, y1 in boxes.tolist():
        area = (x1 - x0) * (y1 - y0)
        nx0, nx1 = min(max(x0 - left, 0), width), min(max(x1 - left, 0), width)
        ny0, ny1 = min(max(y0 - top, 0), height), min(max(y1 - top, 0), height)
        left_area = (nx1 - nx0) * (ny1 - ny0)
        clipped.append([nx0, ny0, nx1, ny1])
        keep.append(left_area > 0 and left_area >= min_visibility * area)
    return torch.tensor(clipped, dtype=boxes.dtype).reshape(-1, 4), torch.tensor(keep, dtype=torch.bool)


def instance_boxes(instances, num_ids):
    """The tight box of each object ``k = 1..num_ids`` of an instance map ``[H, W]``: ``[num_ids, 4]``.

    Box of object k = (min x, min y, max x + 1, max y + 1) over its pixels (pixel-edge coordinates),
    and ``present[k − 1]`` says whether any pixel is left. This is how Copy-Paste updates the boxes of
    occluded objects: recompute them from what is left of the masks (Ghiasi et al., 2021, *Simple
    Copy-Paste is a Strong Data Augmentation Method for Instance Segmentation*).
    """
    boxes, present = torch.zeros(num_ids, 4), torch.zeros(num_ids, dtype=torch.bool)
    for k in range(1, num_ids + 1):
        ys, xs = torch.nonzero(instances == k, as_tuple=True)
        if len(ys):
            boxes[k - 1] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=boxes.dtype)
            present[k - 1] = True
    return boxes, present


def hflip_with_swaps(image, mask, keypoints, label_swaps, keypoint_swaps):
    """Mirror an image ``[C, H, W]`` left to right with its mask ``[H, W]`` and keypoints ``[K, 2]``,
    then swap the labels that name a side.

    Pixels: x' = W − 1 − x, for the image, the mask and the keypoints (pixel centres). A flip turns the
    left lung into something that lies where the right lung was: mask label a becomes b for each pair
    (a, b) of ``label_swaps``, and keypoint i trades places with j for each (i, j) of
    ``keypoint_swaps`` (the flip-pairs of human-pose training, e.g. Xiao et al., 2018, *Simple
    Baselines for Human Pose Estimation and Tracking*).
    """
    w = image.shape[-1]
    new_image, new_mask = image.flip(-1), mask.flip(-1)
    out_mask = new_mask.clone()
    for a, b in label_swaps:
        out_mask[new_mask == a], out_mask[new_mask == b] = b, a
    kp = keypoints.clone()
    kp[:, 0] = w - 1 - keypoints[:, 0]
    out_kp = kp.clone()
    for i, j in keypoint_swaps:
        out_kp[i], out_kp[j] = kp[j], kp[i]
    return new_image, out_mask, out_kp


def mosaic(images, boxes, centre, min_visibility=0.0):
    """Mosaic (Bochkovskiy et al., 2020, *YOLOv4: Optimal Speed and Accuracy of Object Detection*): four
    images ``[C, H, W]`` tiled around a centre.

    With centre (x_c, y_c) the output pixel (y, x) of quadrant q (0 top-left, 1 top-right,
    2 bottom-left, 3 bottom-right) is pixel ((y − y_c) mod H, (x − x_c) mod W) of image q: each image
    is shifted so that one of its corners sits on the centre. Image q's boxes shift by
    (x_c − W [q even], y_c − H [q < 2]), are clipped to quadrant q and kept by ``crop_boxes``' rule.
    Returns ``(image [C, H, W], boxes [M, 4], source [M])`` (source = which image a box came from).
    """
    _, h, w = images[0].shape
    xc, yc = centre
    out = torch.empty_like(images[0])
    kept, source = [], []
    for q in range(4):
        ys = range(0, yc) if q < 2 else range(yc, h)
        xs = range(0, xc) if q % 2 == 0 else range(xc, w)
        for y in ys:
            for x in xs:
                out[:, y, x] = images[q][:, (y - yc) % h, (x - xc) % w]
        dx, dy = xc - w * (q % 2 == 0), yc - h * (q < 2)
        top, left = ys.start, xs.start
        shifted = boxes[q] + torch.tensor([dx, dy, dx, dy], dtype=boxes[q].dtype)
        b, keep = crop_boxes(shifted, (top, left, len(ys), len(xs)), min_visibility)
        kept.append(b[keep] + torch.tensor([left, top, left, top], dtype=b.dtype))
        source += [q] * int(keep.sum())
    return out, torch.cat(kept).reshape(-1, 4), torch.tensor(source, dtype=torch.long)


def copy_paste(image, instances, src_image, src_instances, chosen):
    """Copy-Paste (Ghiasi et al., 2021, *Simple Copy-Paste is a Strong Data Augmentation Method for
    Instance Segmentation*): paste the objects ``chosen`` (ids) of a source image onto a target image.

    With P the union of the chosen objects' masks in the source: out = P · src + (1 − P) · image for
    the pixels; in the instance map, pasted pixels take the source id plus the target's largest id (so
    ids stay distinct), and target objects lose their occluded pixels (a fully occluded one disappears;
    recompute boxes with ``instance_boxes``). Images ``[C, H, W]``, instance maps ``[H, W]``.
    """
    paste = torch.zeros_like(src_instances, dtype=torch.bool)
    for k in chosen:
        paste |= src_instances == k
    offset = int(instances.max())
    out_image = torch.where(paste, src_image, image)
    out_instances = torch.where(paste, src_instances + offset, instances)
    return out_image, out_instances


def dice(pred, target):
    """The Dice coefficient of two binary masks ``[H, W]`` (Dice, 1945, *Measures of the Amount of
    Ecologic Association Between Species*): 2 |P ∩ T| / (|P| + |T|), 1 when both are empty.

    The soft version, with probabilities for P, is the loss of Milletari et al. (2016), *V-Net: Fully
    Convolutional Neural Networks for Volumetric Medical Image Segmentation*.
    """
    p, t = pred.float().flatten(), target.float().flatten()
    total = float(p.sum() + t.sum())
    return 1.0 if total == 0 else 2 * float((p * t).sum()) / total
