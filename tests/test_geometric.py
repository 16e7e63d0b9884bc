"""Tests for lessonlib.geometric: random affine vs torchvision's F.affine, D4 on pixels, boxes and points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as TF

from lessonlib import make_generator
from lessonlib.geometric import (
    D4_NAMES,
    AffineParams,
    RandomDihedral,
    apply_affine,
    dihedral,
    dihedral_inverse,
    random_affine,
    sample_affine_params,
)

# ----------------------------------------------------------------------------------------------
# Random affine: the oracle is torchvision's F.affine with the same parameters
# ----------------------------------------------------------------------------------------------


def _tv_affine(x: torch.Tensor, p: AffineParams, fill) -> torch.Tensor:
    h, w = x.shape[-2:]
    return torch.stack(
        [
            TF.affine(
                x[i],
                angle=-float(p.angle_deg[i]),  # torchvision's affine angle is clockwise
                translate=[float(p.tx[i]) * w, float(p.ty[i]) * h],
                scale=float(p.scale[i]),
                shear=[0.0, 0.0],
                interpolation=InterpolationMode.BILINEAR,
                fill=fill,
            )
            for i in range(x.shape[0])
        ]
    )


@pytest.mark.parametrize("hw", [(32, 32), (24, 40), (33, 17)])
@pytest.mark.parametrize("seed", range(3))
def test_apply_affine_equals_torchvision_affine(hw, seed):
    """The promise of the module docstring: same parameters, same image, to float rounding."""
    h, w = hw
    g = make_generator(seed)
    x = torch.rand(5, 3, h, w, generator=g, dtype=torch.float64)
    p = sample_affine_params(5, degrees=30, translate=0.2, scale=(0.7, 1.3), generator=g)
    out = apply_affine(x, p)
    torch.testing.assert_close(out, _tv_affine(x, p, fill=None), rtol=0, atol=1e-12)
    # fill=0: torchvision darkens the border band by its validity mask once more; interiors agree
    valid = apply_affine(torch.ones_like(x), p)
    torch.testing.assert_close(out * valid, _tv_affine(x, p, fill=0.0), rtol=0, atol=1e-12)
    inside = valid > 1 - 1e-9
    assert inside.double().mean() > 0.5
    torch.testing.assert_close(out[inside], _tv_affine(x, p, fill=0.0)[inside], rtol=0, atol=1e-12)


def test_random_affine_equals_torchvision_in_float32_within_interpolation_tolerance():
    g = make_generator(3)
    x = torch.rand(4, 1, 28, 28, generator=g)
    out = random_affine(x, degrees=15, translate=0.1, scale=(0.9, 1.1), generator=make_generator(7))
    p = sample_affine_params(4, degrees=15, translate=0.1, scale=(0.9, 1.1), generator=make_generator(7))
    torch.testing.assert_close(out, _tv_affine(x, p, fill=None), rtol=0, atol=1e-5)


def test_quarter_turn_and_integer_shift_are_exact_permutations():
    x = torch.rand(2, 1, 9, 9, generator=make_generator(0), dtype=torch.float64)
    quarter = AffineParams(torch.full((2,), 90.0), torch.zeros(2), torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(apply_affine(x, quarter), dihedral(x, 1), rtol=0, atol=1e-12)
    shift = AffineParams(torch.zeros(2), torch.full((2,), 2 / 9, dtype=torch.float64), torch.zeros(2), torch.ones(2))
    want = torch.zeros_like(x)
    want[..., 2:] = x[..., :-2]
    torch.testing.assert_close(apply_affine(x, shift), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"degrees": float("nan")}, ValueError, "degrees"),
        ({"degrees": float("inf")}, ValueError, "degrees"),
        ({"degrees": -3}, ValueError, "degrees"),
        ({"degrees": (float("nan"), 3)}, ValueError, "degrees"),
        ({"degrees": "10"}, TypeError, "degrees"),
        ({"degrees": True}, TypeError, "degrees"),
        ({"scale": (float("nan"), 1.0)}, ValueError, "scale"),
        ({"scale": (1.0, float("inf"))}, ValueError, "scale"),
        ({"scale": (0.0, 1.0)}, ValueError, "scale"),
        ({"scale": (1.2, 0.8)}, ValueError, "scale"),
        ({"translate": float("nan")}, ValueError, "translate"),
        ({"translate": 1.5}, ValueError, "translate"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_random_affine_refuses_bad_ranges_naming_them(kwargs, exc, match):
    """Issue 17 items 9, 11, 13: NaN/inf bounds returned NaN images; a generator=3 failed in torch."""
    with pytest.raises(exc, match=match):
        random_affine(torch.rand(2, 1, 8, 8), **kwargs)
    with pytest.raises(exc, match=match):
        sample_affine_params(2, **kwargs)


def test_sample_affine_params_refuses_bad_batch():
    with pytest.raises(TypeError, match="batch"):
        sample_affine_params(2.5)
    with pytest.raises(ValueError, match="batch"):
        sample_affine_params(0)


def test_apply_affine_refuses_non_params_and_nan_params():
    """Issue 17 item 13: a non-params object and NaN parameters were accepted."""
    x = torch.rand(2, 1, 8, 8)
    ok = sample_affine_params(2, generator=make_generator(0))
    with pytest.raises(TypeError, match="AffineParams"):
        apply_affine(x, {"angle_deg": ok.angle_deg, "tx": ok.tx, "ty": ok.ty, "scale": ok.scale})
    with pytest.raises(ValueError, match="params.angle_deg"):
        apply_affine(x, AffineParams(torch.tensor([float("nan"), 0.0]), ok.tx, ok.ty, ok.scale))
    with pytest.raises(ValueError, match="params.scale"):
        apply_affine(x, AffineParams(ok.angle_deg, ok.tx, ok.ty, torch.tensor([1.0, 0.0])))
    with pytest.raises(ValueError, match="params.tx"):
        apply_affine(x, AffineParams(ok.angle_deg, torch.zeros(3), ok.ty, ok.scale))
    with pytest.raises(TypeError, match="params.ty"):
        apply_affine(x, AffineParams(ok.angle_deg, ok.tx, [0.0, 0.0], ok.scale))
    with pytest.raises(ValueError, match="mode"):
        apply_affine(x, ok, mode="bicubic")


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 4),
    h=st.integers(2, 12),
    w=st.integers(2, 12),
    degrees=st.floats(0, 180),
    translate=st.floats(0, 1),
    lo=st.floats(0.2, 1.0),
    span=st.floats(0, 1.0),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]),
    seed=st.integers(0, 2**16),
)
def test_property_random_affine_contract(b, h, w, degrees, translate, lo, span, dtype, seed):
    x = torch.rand(b, 2, h, w, generator=make_generator(seed)).to(dtype)
    before = x.clone()
    kw = {"degrees": degrees, "translate": translate, "scale": (lo, lo + span)}
    out = random_affine(x, **kw, generator=make_generator(seed))
    assert out.shape == x.shape and out.dtype == dtype and torch.equal(x, before)
    assert bool(torch.isfinite(out).all())
    assert float(out.min()) >= -1e-3 and float(out.max()) <= 1 + 1e-3  # a convex combination of pixels and 0
    assert torch.equal(out, random_affine(x, **kw, generator=make_generator(seed)))
    p = sample_affine_params(b, **kw, generator=make_generator(seed))
    assert bool(((p.angle_deg >= -degrees) & (p.angle_deg <= degrees)).all())
    assert bool(((p.scale >= lo) & (p.scale <= lo + span + 1e-6)).all())
    assert bool(((p.tx.abs() <= translate + 1e-7) & (p.ty.abs() <= translate + 1e-7)).all())


@settings(max_examples=20, deadline=None)
@given(h=st.integers(1, 10), w=st.integers(1, 10), b=st.integers(1, 3))
def test_property_identity_params_give_the_image_back(h, w, b):
    x = torch.rand(b, 1, h, w, generator=make_generator(h * 11 + w), dtype=torch.float64)
    ident = AffineParams(torch.zeros(b), torch.zeros(b), torch.zeros(b), torch.ones(b))
    torch.testing.assert_close(apply_affine(x, ident), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(apply_affine(x, ident, mode="nearest"), x, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# D4 on coordinates (issue 17 items 2 and 3)
# ----------------------------------------------------------------------------------------------


def _point_image(h: int, w: int, x: int, y: int) -> torch.Tensor:
    img = torch.zeros(1, h, w)
    img[0, y, x] = 1
    return img


@pytest.mark.parametrize("k", range(8))
def test_keypoints_follow_the_pixels_exactly(k):
    """A key point on pixel (x, y) lands on the pixel that dihedral moves it to; never off the canvas."""
    h, w = 5, 7
    pts = [(x, y) for x in range(w) for y in range(h)]
    kp = tv_tensors.KeyPoints(torch.tensor(pts, dtype=torch.float32), canvas_size=(h, w))
    out = RandomDihedral(elements=(k,))(kp)
    assert isinstance(out, tv_tensors.KeyPoints) and out.canvas_size == dihedral(torch.zeros(h, w), k).shape
    for (x, y), got in zip(pts, out.tolist(), strict=True):
        yy, xx = (dihedral(_point_image(h, w, x, y), k)[0] == 1).nonzero()[0].tolist()
        assert got == [xx, yy]


def test_keypoint_flips_agree_with_torchvision():
    """Element 4 is torchvision's horizontal_flip and element 6 its vertical_flip (pixel-index convention)."""
    kp = tv_tensors.KeyPoints(torch.tensor([[0.0, 0.0], [6.0, 4.0], [2.5, 1.25]]), canvas_size=(5, 7))
    torch.testing.assert_close(RandomDihedral(elements=(4,))(kp), TF.horizontal_flip(kp))
    torch.testing.assert_close(RandomDihedral(elements=(6,))(kp), TF.vertical_flip(kp))


BOX_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int64]


@pytest.mark.parametrize("k", range(8))
@pytest.mark.parametrize("fmt", ["XYXY", "XYWH", "CXCYWH"])
@pytest.mark.parametrize("dtype", BOX_DTYPES)
def test_boxes_follow_the_mask_exactly_in_every_dtype(k, fmt, dtype):
    """The box of a rectangle maps to the box of the moved rectangle, bit-exactly (no 3.0000000000000004)."""
    h, w = 6, 9
    mask = torch.zeros(1, h, w, dtype=torch.uint8)
    mask[0, 1:5, 2:8] = 1  # CXCYWH centre (5, 3): integral, so integer dtypes are exact too
    xyxy = tv_tensors.BoundingBoxes([[2, 1, 8, 5]], format="XYXY", canvas_size=(h, w), dtype=torch.float64)
    box = TF.convert_bounding_box_format(xyxy, new_format=fmt)
    box = tv_tensors.wrap(box.as_subclass(torch.Tensor).to(dtype), like=box)
    out = RandomDihedral(elements=(k,))(box)
    assert out.dtype == dtype and out.format == box.format
    moved = dihedral(mask, k)
    assert out.canvas_size == tuple(moved.shape[-2:])
    want = (masks_to_boxes(moved) + torch.tensor([0, 0, 1, 1])).to(torch.float64)
    got = TF.convert_bounding_box_format(
        tv_tensors.wrap(out.as_subclass(torch.Tensor).double(), like=out), new_format="XYXY"
    )
    assert got.as_subclass(torch.Tensor).tolist() == want.tolist()


@pytest.mark.parametrize("k", range(8))
def test_float_boxes_are_exact_after_quarter_turns(k):
    """The issue's reproducer: torchvision's rotate gave 3.0000000000000004."""
    box = tv_tensors.BoundingBoxes([[1.0, 3.0, 4.0, 7.0]], format="XYXY", canvas_size=(10, 10), dtype=torch.float64)
    out = RandomDihedral(elements=(k,))(box).as_subclass(torch.Tensor)
    assert torch.equal(out, out.round())


DEGENERATE = {
    "XYXY": [[2, 2, 2, 6], [1, 3, 5, 3], [1, 1, 4, 4]],
    "XYWH": [[2, 2, 0, 4], [1, 3, 4, 0], [1, 1, 3, 3]],
    "CXCYWH": [[2, 4, 0, 4], [3, 3, 4, 0], [2.5, 2.5, 3, 3]],
}


@pytest.mark.parametrize("k", range(8))
@pytest.mark.parametrize("fmt", sorted(DEGENERATE))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_degenerate_boxes_stay_degenerate_and_are_sanitized(k, fmt, dtype):
    """Old code: torchvision's rotate gave float64 zero-width boxes a width of 4e-16 (valid again)."""
    h, w = 8, 8
    boxes = tv_tensors.BoundingBoxes(DEGENERATE[fmt], format=fmt, canvas_size=(h, w), dtype=dtype)
    sample = {"image": tv_tensors.Image(torch.zeros(1, h, w)), "boxes": boxes, "labels": torch.tensor([0, 1, 2])}
    out = v2.SanitizeBoundingBoxes()(RandomDihedral(elements=(k,))(sample))
    assert out["labels"].tolist() == [2]  # both zero-area boxes are still dropped
    b = TF.convert_bounding_box_format(RandomDihedral(elements=(k,))(boxes), new_format="XYXY")
    b = b.as_subclass(torch.Tensor)
    width, height = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    assert (width * height).tolist() == [0, 0, 9]  # exactly zero, not 4e-16
    assert bool(((width == 0) | (height == 0))[:2].all())


@pytest.mark.parametrize("k", range(8))
def test_rotated_box_formats_agree_with_torchvision(k):
    h, w = 6, 9
    corners = tv_tensors.BoundingBoxes(
        [[2, 1, 8, 1, 8, 5, 2, 5]], format="XYXYXYXY", canvas_size=(h, w), dtype=torch.float64
    )
    ref = TF.horizontal_flip(corners) if k >= 4 else corners
    ref = TF.rotate(ref, 90.0 * (k % 4), expand=True) if k % 4 else ref
    out = RandomDihedral(elements=(k,))(corners)
    torch.testing.assert_close(out.as_subclass(torch.Tensor), ref.as_subclass(torch.Tensor), rtol=0, atol=1e-9)
    assert out.canvas_size == ref.canvas_size
    assert torch.equal(out, out.round())  # exact corners, no rotation-matrix rounding


def test_mask_image_boxes_and_points_move_together():
    h, w = 6, 9
    img = tv_tensors.Image(torch.arange(3 * h * w, dtype=torch.float32).reshape(3, h, w))
    mask = torch.zeros(1, h, w, dtype=torch.uint8)
    mask[0, 1:5, 2:8] = 1
    sample = {
        "image": img,
        "mask": tv_tensors.Mask(mask),
        "boxes": tv_tensors.BoundingBoxes([[2, 1, 8, 5]], format="XYXY", canvas_size=(h, w)),
        "points": tv_tensors.KeyPoints([[2.0, 1.0], [7.0, 4.0]], canvas_size=(h, w)),
    }
    for k in range(8):
        out = RandomDihedral(elements=(k,))(sample)
        assert torch.equal(out["image"], dihedral(img.as_subclass(torch.Tensor), k))
        box = out["boxes"][0].tolist()
        assert box == (masks_to_boxes(out["mask"]) + torch.tensor([0, 0, 1, 1]))[0].tolist()
        for x, y in out["points"].tolist():
            assert out["mask"][0, int(y), int(x)] == 1  # the rectangle's corner pixels stay on it


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    n=st.integers(1, 5),
    k=st.integers(0, 7),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
    seed=st.integers(0, 2**16),
)
def test_property_d4_on_coordinates_is_exact_and_invertible(h, w, n, k, dtype, seed):
    g = np.random.default_rng(seed)
    x1, x2 = np.sort(g.integers(0, w + 1, size=(2, n)), axis=0)
    y1, y2 = np.sort(g.integers(0, h + 1, size=(2, n)), axis=0)
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor(np.stack([x1, y1, x2, y2], 1), dtype=dtype), format="XYXY", canvas_size=(h, w)
    )
    pts = tv_tensors.KeyPoints(
        torch.tensor(np.stack([g.integers(0, w, n), g.integers(0, h, n)], 1), dtype=torch.float32), canvas_size=(h, w)
    )
    before = boxes.clone(), pts.clone()
    fwd = RandomDihedral(elements=(k,))
    out_b, out_p = fwd(boxes), fwd(pts)
    assert torch.equal(boxes, before[0]) and torch.equal(pts, before[1])
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    assert torch.equal(area(out_b.as_subclass(torch.Tensor)), area(boxes.as_subclass(torch.Tensor)))
    oh, ow = out_b.canvas_size
    ob = out_b.as_subclass(torch.Tensor)
    assert bool(((ob[:, 0] >= 0) & (ob[:, 2] <= ow) & (ob[:, 1] >= 0) & (ob[:, 3] <= oh)).all())
    op = out_p.as_subclass(torch.Tensor)
    assert bool(((op[:, 0] >= 0) & (op[:, 0] <= ow - 1) & (op[:, 1] >= 0) & (op[:, 1] <= oh - 1)).all())
    # the inverse element brings them back exactly
    inv = {0: 0, 1: 3, 2: 2, 3: 1, 4: 4, 5: 5, 6: 6, 7: 7}[k]
    back = RandomDihedral(elements=(inv,))
    assert torch.equal(back(out_b), boxes) and torch.equal(back(out_p), pts)
    assert back(out_b).canvas_size == (h, w)


# ----------------------------------------------------------------------------------------------
# D4 on pixels and the transform's contract (moved here from test_presets with the code)
# ----------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    k=st.integers(0, 7),
    dtype=st.sampled_from([torch.uint8, torch.int64, torch.float16, torch.float64, torch.bool]),
)
def test_property_dihedral_is_an_exactly_invertible_permutation(shape, k, dtype):
    x = torch.randperm(math.prod(shape), generator=make_generator(k)).reshape(shape)
    x = (x % 2 == 0) if dtype == torch.bool else x.to(dtype)
    before = x.clone()
    y = dihedral(x, k)
    assert y.dtype == x.dtype and torch.equal(x, before)
    assert y.shape[:-2] == x.shape[:-2] and (y.shape[-2:] == x.shape[-2:][::-1] if k % 2 else y.shape == x.shape)
    assert torch.equal(dihedral_inverse(y, k), x)
    assert torch.equal(y.flatten().sort().values.to(torch.float64), x.flatten().sort().values.to(torch.float64))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=4), k=st.integers(0, 7), seed=st.integers(0, 99))
def test_property_dihedral_equals_reference_exactly(shape, k, seed):
    """Fast == reference (``reference.tta.d4``/``d4_inverse``), exactly: pixel values, shapes, names."""
    from lessonlib import reference

    x = torch.rand(shape, generator=make_generator(seed))
    assert torch.equal(dihedral(x, k), reference.tta.d4(x, k))
    assert torch.equal(dihedral_inverse(x, k), reference.tta.d4_inverse(x, k))
    assert D4_NAMES == reference.tta.D4_NAMES


def test_dihedral_is_a_group_of_eight_distinct_elements():
    x = torch.arange(12.0).reshape(3, 4)[None].expand(1, 3, 4)
    square = torch.arange(16.0).reshape(4, 4)
    images = [dihedral(square, k) for k in range(8)]
    assert len({tuple(t.flatten().tolist()) for t in images}) == 8 == len(D4_NAMES)
    for a in range(8):  # closure: composing two elements is an element
        for b in range(8):
            composed = dihedral(dihedral(square, a), b)
            assert any(torch.equal(composed, t) for t in images)
    assert dihedral(x, 0) is not x and torch.equal(dihedral(x, 0), x)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: dihedral(torch.zeros(3, 3), 8), ValueError, "0..7"),
        (lambda: dihedral(torch.zeros(3, 3), 1.0), TypeError, "k"),
        (lambda: dihedral(torch.zeros(3), 1), ValueError, "at least 2 dims"),
        (lambda: dihedral_inverse([[1, 2]], 1), ValueError, "tensor"),
        (lambda: RandomDihedral(elements=(0, 9)), ValueError, r"elements\[1\]"),
        (lambda: RandomDihedral(elements="01"), ValueError, "elements"),
        (lambda: RandomDihedral(p=float("nan")), ValueError, "p"),
        (lambda: RandomDihedral(generator=3), TypeError, "generator"),
    ],
)
def test_d4_bad_arguments_name_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_d4_has_one_home_geometric():
    """presets and tta use geometric's D4 and re-export none of it (one home per idea)."""
    from lessonlib import presets, tta

    for name in ("D4_NAMES", "dihedral", "dihedral_inverse", "RandomDihedral"):
        assert name not in presets.__all__ and name not in tta.__all__
    assert not hasattr(presets, "dihedral") and not hasattr(presets, "D4_NAMES")
    assert presets.RandomDihedral is RandomDihedral  # used by the histopathology preset, not exported
    assert tta.dihedral is dihedral  # tta gets its geometry from geometric
