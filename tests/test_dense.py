"""Tests for lessonlib.dense: fast == reference (Hypothesis), oracles against torchvision v2 with
tv_tensors (BoundingBoxes, Mask, KeyPoints), properties (seeded, not in place, dtype/device kept) and
bad inputs (the error names the parameter and the fault).

torchvision has no Mosaic and no Copy-Paste; for those the reference (``lessonlib.reference.dense``) is
the only oracle, and the tests below add hand-checked cases (occluded boxes shrink, covered objects
disappear). Stated differences from torchvision: ``instance_boxes`` puts x1, y1 one past the last pixel
(``ops.masks_to_boxes`` puts them on it); ``crop_boxes`` drops boxes by visibility, which
``SanitizeBoundingBoxes`` cannot know."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import ops, tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lessonlib import data, dense, metrics
from lessonlib.reference import dense as ref
from lessonlib.utils import make_generator

H, W = 20, 24


def _boxes(g, n, h=H, w=W, dtype=torch.float64):
    xy = torch.rand(n, 2, generator=g, dtype=dtype) * torch.tensor([w, h], dtype=dtype)
    wh = torch.rand(n, 2, generator=g, dtype=dtype) * torch.tensor([w, h], dtype=dtype) / 2
    return torch.cat([xy, (xy + wh).minimum(torch.tensor([w, h], dtype=dtype))], 1)


def _instances(g, b, h, w, n_obj=4):
    """Random instance maps: up to n_obj rectangles per image, painted in order (later ones occlude)."""
    inst = torch.zeros(b, h, w, dtype=torch.long)
    for i in range(b):
        for k in range(1, n_obj + 1):
            y0, x0 = int(torch.randint(0, h - 2, (1,), generator=g)), int(torch.randint(0, w - 2, (1,), generator=g))
            hh, ww = int(torch.randint(1, h // 2, (1,), generator=g)), int(torch.randint(1, w // 2, (1,), generator=g))
            inst[i, y0 : y0 + hh, x0 : x0 + ww] = k
    return inst


seeds = st.integers(0, 2**31 - 1)


# ---------------------------------------------------------------------------------------------
# fast == reference
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=seeds, angle=st.floats(-180, 180), method=st.sampled_from(["corners", "ellipse"]))
def test_rotate_boxes_equals_reference(seed, angle, method):
    b = _boxes(make_generator(seed), 5)
    fast = dense.rotate_boxes(b, angle, (H, W), method=method)
    torch.testing.assert_close(fast, ref.rotate_boxes(b, angle, (H, W), method), atol=1e-9, rtol=0)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, mv=st.floats(0, 1), top=st.integers(-5, 15), left=st.integers(-5, 15), hh=st.integers(0, 20))
def test_crop_boxes_equals_reference(seed, mv, top, left, hh):
    b = _boxes(make_generator(seed), 6)
    got = dense.crop_boxes(b, (top, left, hh, 12), min_visibility=mv)
    want_boxes, want_keep = ref.crop_boxes(b, (top, left, hh, 12), mv)
    torch.testing.assert_close(got.boxes, want_boxes, atol=1e-9, rtol=0)
    assert torch.equal(got.keep, want_keep)


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_instance_boxes_equals_reference(seed):
    inst = _instances(make_generator(seed), 3, H, W)
    boxes, present = dense.instance_boxes(inst, num_ids=5)
    for i in range(3):
        rb, rp = ref.instance_boxes(inst[i], 5)
        assert torch.equal(boxes[i], rb) and torch.equal(present[i], rp)


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_hflip_with_swaps_equals_reference(seed):
    g = make_generator(seed)
    x, inst = torch.rand(3, 2, H, W, generator=g), _instances(g, 3, H, W)
    kp = torch.rand(3, 5, 2, generator=g) * W
    swaps, kswaps = [(1, 2), (3, 4)], [(0, 1), (2, 4)]
    fx, fm, fk = dense.hflip_with_swaps(x, inst, kp, label_swaps=swaps, keypoint_swaps=kswaps)
    for i in range(3):
        rx, rm, rk = ref.hflip_with_swaps(x[i], inst[i], kp[i], swaps, kswaps)
        assert torch.equal(fx[i], rx) and torch.equal(fm[i], rm)
        torch.testing.assert_close(fk[i], rk, atol=0, rtol=0)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, mv=st.sampled_from([0.0, 0.25, 0.6]))
def test_mosaic_equals_reference(seed, mv):
    g = make_generator(seed)
    x = torch.rand(4, 2, H, W, generator=g)
    boxes = [_boxes(g, n, dtype=torch.float32) for n in (3, 0, 4, 2)]
    out = dense.mosaic(x, boxes, generator=g, min_visibility=mv)
    flat = torch.cat(boxes)
    starts = [0, 3, 3, 7]
    for b in range(4):
        partners = out.partners[b].tolist()
        xc, yc = out.centre[b].tolist()
        rimg, rboxes, rsource = ref.mosaic([x[p] for p in partners], [boxes[p] for p in partners], (xc, yc), mv)
        assert torch.equal(out.images[b], rimg)
        torch.testing.assert_close(out.boxes[b], rboxes, atol=1e-5, rtol=0)
        # index points at the right input box: the quadrant's image, and the same box before the shift
        src_img = torch.tensor([partners[q] for q in rsource.tolist()], dtype=torch.long)
        image_of_index = torch.bucketize(out.index[b], torch.tensor(starts[1:] + [len(flat)]), right=True)
        assert torch.equal(image_of_index, src_img)
        # a box fully inside its quadrant is the input box shifted, so its size is unchanged
        size_in, size_out = flat[out.index[b]][:, 2:] - flat[out.index[b]][:, :2], rboxes[:, 2:] - rboxes[:, :2]
        assert torch.all(size_out <= size_in + 1e-5)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, p=st.floats(0, 1))
def test_copy_paste_equals_reference(seed, p):
    g = make_generator(seed)
    x, inst = torch.rand(4, 3, H, W, generator=g), _instances(g, 4, H, W)
    ox, oi = dense.copy_paste(x, inst, generator=g, p=p)
    # redraw the same choices to hand them to the reference
    g2 = make_generator(seed)
    torch.rand(4, 3, H, W, generator=g2), _instances(g2, 4, H, W)
    shift = torch.randint(1, 4, (4,), generator=g2)
    source = (torch.arange(4) + shift) % 4
    chosen = torch.rand(4, int(inst.max()) + 1, generator=g2) < p
    for b in range(4):
        ids = [k for k in range(1, chosen.shape[1]) if chosen[b, k]]
        rx, ri = ref.copy_paste(x[b], inst[b], x[source[b]], inst[source[b]], ids)
        assert torch.equal(ox[b], rx) and torch.equal(oi[b], ri)


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_dice_equals_reference(seed):
    g = make_generator(seed)
    a, b = torch.rand(4, 9, 7, generator=g) > 0.6, torch.rand(4, 9, 7, generator=g) > 0.3
    a[0] = False
    b[0] = False  # both empty: Dice 1
    got = metrics.dice_score(a, b)
    assert got[0] == 1.0
    for i in range(4):
        assert math.isclose(float(got[i]), ref.dice(a[i], b[i]), abs_tol=1e-6)


# ---------------------------------------------------------------------------------------------
# oracles: torchvision v2 with tv_tensors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 90.0, -130.0, 180.0])
def test_rotate_boxes_corners_is_torchvisions_rotate(angle):
    b = _boxes(make_generator(3), 8, dtype=torch.float32)
    tv = TF.rotate(tv_tensors.BoundingBoxes(b, format="XYXY", canvas_size=(H, W)), angle)
    torch.testing.assert_close(dense.rotate_boxes(b, angle, (H, W)), tv.as_subclass(torch.Tensor), atol=1e-4, rtol=0)


def test_rotate_boxes_ellipse_is_tighter_and_inside_the_corner_box():
    b = _boxes(make_generator(4), 10)
    corners = dense.rotate_boxes(b, 30.0, (H, W))
    ellipse = dense.rotate_boxes(b, 30.0, (H, W), method="ellipse")
    assert torch.all(ellipse[:, :2] >= corners[:, :2] - 1e-9) and torch.all(ellipse[:, 2:] <= corners[:, 2:] + 1e-9)
    # a square of side 10 at 45 degrees: the corner box has side 10 * sqrt(2), the ellipse box 10
    sq = torch.tensor([[30.0, 30.0, 40.0, 40.0]], dtype=torch.float64)
    c = dense.rotate_boxes(sq, 45.0, (70, 70))
    e = dense.rotate_boxes(sq, 45.0, (70, 70), method="ellipse")
    assert math.isclose(float(c[0, 2] - c[0, 0]), 10 * math.sqrt(2), rel_tol=1e-9)
    assert math.isclose(float(e[0, 2] - e[0, 0]), 10.0, rel_tol=1e-9)


def test_rotate_boxes_of_the_mask_matches_rotating_the_mask():
    """The box of a rotated disc mask (torchvision, nearest) is within a pixel of the ellipse box, and
    the corner box is loose by the predicted factor."""
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    disc = (((xx + 0.5 - 24) ** 2 + (yy + 0.5 - 30) ** 2) <= 10**2).long()
    box = dense.instance_boxes(disc)[0]
    rot = TF.rotate(tv_tensors.Mask(disc), 45.0)
    true = dense.instance_boxes(rot.as_subclass(torch.Tensor))[0]
    ellipse = dense.rotate_boxes(box.double(), 45.0, (64, 64), method="ellipse").float()
    corners = dense.rotate_boxes(box.double(), 45.0, (64, 64)).float()
    assert (ellipse - true).abs().max() <= 1.5
    assert float(dense.box_iou(corners, true)) < 0.6 < float(dense.box_iou(ellipse, true))


def test_crop_boxes_matches_torchvision_crop_and_sanitize():
    b = _boxes(make_generator(5), 12, dtype=torch.float32)
    crop = (4, 6, 10, 12)
    got = dense.crop_boxes(b, crop)
    tvb = TF.crop(tv_tensors.BoundingBoxes(b, format="XYXY", canvas_size=(H, W)), *crop)
    torch.testing.assert_close(got.boxes, tvb.as_subclass(torch.Tensor), atol=1e-5, rtol=0)
    labels = torch.arange(12)
    out = v2.SanitizeBoundingBoxes()({"boxes": tvb, "labels": labels})
    side = (got.boxes[:, 2:] - got.boxes[:, :2]).amin(1)
    # torchvision drops boxes under 1 pixel a side; ours (min_visibility=0) only those with no area left
    assert torch.equal(out["labels"], labels[got.keep & (side >= 1)])
    assert bool((got.keep & (side < 1)).any()) or bool((~got.keep).any())


def test_min_visibility_drops_the_slivers_sanitize_keeps():
    b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [8.0, 0.0, 18.0, 10.0]])
    got = dense.crop_boxes(b, (0, 9, 10, 10), min_visibility=0.3)
    assert got.visibility.tolist() == pytest.approx([0.1, 0.9])
    assert got.keep.tolist() == [False, True]
    tvb = TF.crop(tv_tensors.BoundingBoxes(b, format="XYXY", canvas_size=(10, 20)), 0, 9, 10, 10)
    kept = v2.SanitizeBoundingBoxes()({"boxes": tvb, "labels": torch.arange(2)})["labels"]
    assert kept.tolist() == [0, 1]  # the 1-pixel sliver survives torchvision's sanitizer


def test_instance_boxes_is_masks_to_boxes_plus_one():
    inst = _instances(make_generator(6), 1, H, W)[0]
    ids = inst.unique()[1:]
    boxes, present = dense.instance_boxes(inst)
    tv = ops.masks_to_boxes(torch.stack([inst == k for k in ids]).to(torch.uint8))
    torch.testing.assert_close(boxes[ids - 1], tv + torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert present[ids - 1].all()


def test_hflip_without_swaps_is_torchvisions_flip_on_image_mask_keypoints():
    g = make_generator(7)
    x, inst = torch.rand(2, 3, H, W, generator=g), _instances(g, 2, H, W)
    kp = torch.rand(2, 4, 2, generator=g) * W
    fx, fm, fk = dense.hflip_with_swaps(x, inst, kp)
    assert torch.equal(fx, TF.horizontal_flip(tv_tensors.Image(x)).as_subclass(torch.Tensor))
    assert torch.equal(fm, TF.horizontal_flip(tv_tensors.Mask(inst)).as_subclass(torch.Tensor))
    for i in range(2):
        tvk = TF.horizontal_flip(tv_tensors.KeyPoints(kp[i], canvas_size=(H, W)))
        torch.testing.assert_close(fk[i], tvk.as_subclass(torch.Tensor))


def test_hflip_swaps_left_and_right_labels():
    mask = torch.zeros(1, 4, 6, dtype=torch.long)
    mask[0, :, :3] = 1  # "left" label on the left half
    mask[0, :, 3:] = 2
    _, flipped, _ = dense.hflip_with_swaps(torch.zeros(1, 1, 4, 6), mask, label_swaps=[(1, 2)])
    assert torch.equal(flipped, mask)  # the flipped image's left half is again labelled 1
    _, unswapped, _ = dense.hflip_with_swaps(torch.zeros(1, 1, 4, 6), mask)
    assert torch.equal(unswapped, 3 - mask)  # without the swap: labels on the wrong side


def test_copy_paste_updates_occluded_boxes_and_drops_covered_objects():
    x = torch.zeros(2, 1, 10, 10)
    inst = torch.zeros(2, 10, 10, dtype=torch.long)
    inst[0, 2:6, 2:6] = 1  # target object, to be half covered
    inst[0, 7:9, 7:9] = 2  # target object, to be fully covered
    inst[1, 0:10, 4:10] = 1  # the source object
    x[1] = 1.0
    ox, oi = dense.copy_paste(
        x, inst, source=torch.tensor([1, 0]), chosen=torch.tensor([[False, True, False], [False, False, False]])
    )
    boxes, present = dense.instance_boxes(oi[0], num_ids=3)
    assert present.tolist() == [True, False, True]
    assert boxes[0].tolist() == [2.0, 2.0, 4.0, 6.0]  # shrunk to what is left visible
    assert boxes[2].tolist() == [4.0, 0.0, 10.0, 10.0]  # the pasted object, id 1 + 2
    assert float(ox[0, 0, 5, 5]) == 1.0 and float(ox[0, 0, 5, 1]) == 0.0
    assert torch.equal(oi[1], inst[1])  # nothing chosen: unchanged


# ---------------------------------------------------------------------------------------------
# properties: seeded, not in place, dtype and device kept
# ---------------------------------------------------------------------------------------------


def test_mosaic_and_copy_paste_are_seeded():
    g0 = make_generator(0)
    x, inst = torch.rand(4, 1, H, W, generator=g0), _instances(g0, 4, H, W)
    boxes = [dense.instance_boxes(inst[i], num_ids=4)[0] for i in range(4)]
    a = dense.mosaic(x, boxes, generator=make_generator(1))
    b = dense.mosaic(x, boxes, generator=make_generator(1))
    c = dense.mosaic(x, boxes, generator=make_generator(2))
    assert torch.equal(a.images, b.images) and all(torch.equal(u, v) for u, v in zip(a.boxes, b.boxes, strict=True))
    assert not torch.equal(a.images, c.images)
    p1 = dense.copy_paste(x, inst, generator=make_generator(1))
    p2 = dense.copy_paste(x, inst, generator=make_generator(1))
    p3 = dense.copy_paste(x, inst, generator=make_generator(3))
    assert torch.equal(p1[1], p2[1]) and not torch.equal(p1[1], p3[1])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_no_in_place_change_and_dtype_kept(dtype):
    g = make_generator(8)
    x, inst = torch.rand(4, 2, H, W, generator=g).to(dtype), _instances(g, 4, H, W)
    b = _boxes(g, 5).to(dtype)
    kp = (torch.rand(4, 3, 2, generator=g) * W).to(dtype)
    saved = [t.clone() for t in (x, inst, b, kp)]
    assert dense.rotate_boxes(b, 30.0, (H, W)).dtype == dtype
    assert dense.crop_boxes(b, (1, 2, 10, 10)).boxes.dtype == dtype
    fx, fm, fk = dense.hflip_with_swaps(x, inst, kp, label_swaps=[(1, 2)], keypoint_swaps=[(0, 2)])
    assert fx.dtype == dtype and fm.dtype == inst.dtype and fk.dtype == dtype
    m = dense.mosaic(x, [b[:2], b[2:], b[:0], b], generator=g)
    assert m.images.dtype == dtype and m.boxes[0].dtype == dtype
    cx, ci = dense.copy_paste(x, inst, generator=g)
    assert cx.dtype == dtype and ci.dtype == inst.dtype
    for t, s in zip((x, inst, b, kp), saved, strict=True):
        assert torch.equal(t, s)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_results_stay_on_the_gpu():
    g = make_generator(9)
    x, inst = torch.rand(4, 1, H, W, generator=g).cuda(), _instances(g, 4, H, W).cuda()
    b = _boxes(g, 3, dtype=torch.float32).cuda()
    assert dense.rotate_boxes(b, 10.0, (H, W)).is_cuda
    m = dense.mosaic(x, [b, b, b, b], generator=make_generator(0))
    assert m.images.is_cuda and m.boxes[0].is_cuda
    assert dense.copy_paste(x, inst, generator=make_generator(0))[1].is_cuda
    assert dense.instance_boxes(inst)[0].is_cuda
    # the same draws as on the CPU (CPU generator)
    mc = dense.mosaic(x.cpu(), [b.cpu()] * 4, generator=make_generator(0))
    assert torch.equal(m.images.cpu(), mc.images)


def test_rotate_boxes_batched_angles():
    b = _boxes(make_generator(10), 6).view(2, 3, 4)
    angles = torch.tensor([10.0, -50.0], dtype=torch.float64)
    got = dense.rotate_boxes(b, angles[:, None], (H, W))
    for i in range(2):
        torch.testing.assert_close(got[i], dense.rotate_boxes(b[i], float(angles[i]), (H, W)))


def test_segmentation_pieces_fit_together():
    image, inst = data.load_coins()
    assert image.shape == (1, 303, 384) and int(inst.max()) == 24
    tiles, inst_tiles = dense.coin_tiles(image, inst, size=48, stride=48)
    assert tiles.shape == (48, 1, 48, 48) and inst_tiles.shape == (48, 48, 48)
    model = dense.make_segmenter(0, channels=4)
    xb = torch.cat([tiles[:4], inst_tiles[:4, None].float()], 1)
    aug = dense.dense_augment("d4+copy-paste")
    out, _ = aug(xb, None, make_generator(0))
    assert out.shape == xb.shape and not torch.equal(out, xb)
    # the mask channel still marks exactly the object pixels of the image it moved with
    d4, _ = dense.dense_augment("d4")(xb, None, make_generator(0))
    assert torch.equal(d4[:, 1].sum((1, 2)), xb[:, 1].sum((1, 2)))
    loss = dense.mask_channel_loss(model, out, None, None)
    assert loss.ndim == 0 and loss.requires_grad


# ---------------------------------------------------------------------------------------------
# bad inputs: the error names the parameter and the fault
# ---------------------------------------------------------------------------------------------


def test_bad_inputs_name_the_parameter():
    b = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    x = torch.rand(2, 1, 8, 8)
    inst = torch.zeros(2, 8, 8, dtype=torch.long)
    with pytest.raises(ValueError, match=r"boxes must end in 4 coordinates"):
        dense.rotate_boxes(torch.zeros(3, 5), 10.0, (8, 8))
    with pytest.raises(ValueError, match=r"boxes must have x1 >= x0"):
        dense.rotate_boxes(torch.tensor([[4.0, 0.0, 1.0, 2.0]]), 10.0, (8, 8))
    with pytest.raises(ValueError, match=r"boxes contains NaN"):
        dense.rotate_boxes(torch.tensor([[0.0, float("nan"), 1.0, 2.0]]), 10.0, (8, 8))
    with pytest.raises(TypeError, match=r"boxes must be a floating-point tensor"):
        dense.rotate_boxes(torch.zeros(1, 4, dtype=torch.long), 10.0, (8, 8))
    with pytest.raises(ValueError, match=r"method must be one of \['corners', 'ellipse'\], got 'mask'"):
        dense.rotate_boxes(b, 10.0, (8, 8), method="mask")
    with pytest.raises(ValueError, match=r"angle must be finite"):
        dense.rotate_boxes(b, float("inf"), (8, 8))
    with pytest.raises(TypeError, match=r"size must be an \(H, W\) pair"):
        dense.rotate_boxes(b, 10.0, 8)
    with pytest.raises(ValueError, match=r"min_visibility must be a probability in \[0, 1\], got 1.5"):
        dense.crop_boxes(b, (0, 0, 4, 4), min_visibility=1.5)
    with pytest.raises(TypeError, match=r"crop must be \(top, left, height, width\)"):
        dense.crop_boxes(b, (0, 0, 4))
    with pytest.raises(ValueError, match=r"crop must have height >= 0"):
        dense.crop_boxes(b, (0, 0, -1, 4))
    with pytest.raises(ValueError, match=r"images is an empty batch \(shape \(0, 1, 8, 8\)\)"):
        dense.hflip_with_swaps(torch.zeros(0, 1, 8, 8))
    with pytest.raises(ValueError, match=r"images contains NaN"):
        dense.hflip_with_swaps(torch.full((1, 1, 2, 2), float("nan")))
    with pytest.raises(TypeError, match=r"masks must be an integer instance map"):
        dense.hflip_with_swaps(x, inst.float())
    with pytest.raises(ValueError, match=r"label_swaps must pair distinct values"):
        dense.hflip_with_swaps(x, inst, label_swaps=[(1, 2), (2, 3)])
    with pytest.raises(ValueError, match=r"keypoint_swaps\[0\] must be <= 2, got 5"):
        dense.hflip_with_swaps(x, None, torch.zeros(2, 3, 2), keypoint_swaps=[(0, 5)])
    with pytest.raises(ValueError, match=r"keypoints must have shape \[B, K, 2\]"):
        dense.hflip_with_swaps(x, None, torch.zeros(3, 3, 2))
    with pytest.raises(TypeError, match=r"boxes must be a list of B = 2 tensors"):
        dense.mosaic(x, [b])
    with pytest.raises(ValueError, match=r"centre must hold \(x_c, y_c\) with 0 <= x_c <= 8"):
        dense.mosaic(x, [b, b], centre=torch.tensor([[9, 1], [2, 2]]))
    with pytest.raises(ValueError, match=r"partners must index the batch \(0..1\)"):
        dense.mosaic(x, [b, b], partners=torch.tensor([[0, 1, 2, 0], [1, 1, 1, 1]]))
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator or None, got int"):
        dense.mosaic(x, [b, b], generator=0)
    with pytest.raises(ValueError, match=r"instances must have shape \(2, 8, 8\)"):
        dense.copy_paste(x, inst[:1])
    with pytest.raises(ValueError, match=r"instances must hold ids >= 0"):
        dense.copy_paste(x, inst - 1)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got -0.1"):
        dense.copy_paste(x, inst, p=-0.1)
    with pytest.raises(ValueError, match=r"chosen must be a bool tensor \[B, M \+ 1\]"):
        dense.copy_paste(x, inst, chosen=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(
        TypeError, match=r"pred must be binary masks \[B, \.\.\.\] \(bool or 0/1\), got dtype torch.float32"
    ):
        metrics.dice_score(torch.rand(1, 3, 3), torch.zeros(1, 3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"target must be a binary mask \(0/1\) when num_classes is None, got 2\.\.2"):
        metrics.dice_score(torch.zeros(1, 3, 3, dtype=torch.long), torch.full((1, 3, 3), 2))
    with pytest.raises(ValueError, match=r"pred is empty"):
        metrics.dice_score(torch.zeros(0, 3, 3, dtype=torch.bool), torch.zeros(0, 3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"setting must be one of"):
        dense.dense_augment("mixup")
