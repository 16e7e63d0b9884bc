"""Tests for lessonlib.presets: D4 against torchvision, preset contracts, 16-bit input, bad inputs."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import PIL.Image
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from lessonlib import data, make_generator
from lessonlib.geometric import D4_NAMES, RandomDihedral, dihedral, dihedral_inverse
from lessonlib.presets import (
    CXR_MEAN,
    CXR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PRESETS,
    ErasePixels,
    RandomWindowLevel,
    ToUnitFloat,
    chest_xray,
    consistency_problems,
    describe_output,
    histopathology,
    natural_image,
)

CHANNELS = {"chest_xray": 1, "histopathology": 3, "natural_image": 3}


def _asym_image(c: int = 3, h: int = 6, w: int = 9, dtype=torch.float32) -> torch.Tensor:
    """An image with no symmetry at all: every pixel a distinct value."""
    x = torch.arange(c * h * w, dtype=torch.float64).reshape(c, h, w) / (c * h * w)
    if dtype == torch.uint8:
        return (x * 255).round().to(torch.uint8)
    if dtype == torch.uint16:
        return (x * 65535).round().to(torch.int32).to(torch.uint16)
    return x.to(dtype)


def _rect_sample(h: int, w: int, box: tuple[int, int, int, int]):
    """Mask and XYXY box (exclusive right/bottom edge) of the pixel rectangle ``box``."""
    x1, y1, x2, y2 = box
    mask = torch.zeros(1, h, w, dtype=torch.uint8)
    mask[:, y1:y2, x1:x2] = 1
    return tv_tensors.Mask(mask), tv_tensors.BoundingBoxes([list(box)], format="XYXY", canvas_size=(h, w))


def _oracle(inpt, k: int):
    """torchvision's own flip and rotation (exact for multiples of 90°), the reference for D4 element k."""
    out = F.horizontal_flip(inpt) if k >= 4 else inpt
    return F.rotate(out, 90.0 * (k % 4), expand=True) if k % 4 else out


# ----------------------------------------------------------------------------------------------
# D4
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(8))
def test_random_dihedral_matches_torchvision_for_image_mask_and_boxes(k):
    img = tv_tensors.Image(_asym_image(3, 6, 9))
    mask, boxes = _rect_sample(6, 9, (1, 2, 4, 5))
    out_img, out_mask, out_boxes = RandomDihedral(elements=(k,))(img, mask, boxes)
    assert isinstance(out_img, tv_tensors.Image) and isinstance(out_mask, tv_tensors.Mask)
    assert torch.equal(out_img, _oracle(img, k))
    assert torch.equal(out_mask, _oracle(mask, k))
    assert torch.equal(out_img, dihedral(img.as_subclass(torch.Tensor), k))
    # Independent oracle for the box: the bounding box of the transformed mask (exclusive max edge).
    ref = masks_to_boxes(out_mask.as_subclass(torch.Tensor).bool())
    ref[:, 2:] += 1
    assert out_boxes.tolist() == ref.to(out_boxes.dtype).tolist()
    h, w = (9, 6) if k % 2 else (6, 9)
    assert tuple(out_boxes.canvas_size) == (h, w) == tuple(out_img.shape[-2:])


@pytest.mark.parametrize("k", range(8))
def test_random_dihedral_pil_matches_tensor_path(k):
    arr = _asym_image(3, 5, 7, torch.uint8).permute(1, 2, 0).numpy()
    pil = PIL.Image.fromarray(np.ascontiguousarray(arr))
    out = RandomDihedral(elements=(k,))(pil)
    assert isinstance(out, PIL.Image.Image)
    assert torch.equal(F.pil_to_tensor(out), dihedral(F.pil_to_tensor(pil), k))


def test_eight_outputs_are_the_eight_dihedral_images_drawn_uniformly():
    img = _asym_image(1, 5, 5)
    views = [dihedral(img, k) for k in range(8)]
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8, "an asymmetric image has 8 distinct views"
    t = RandomDihedral(p=1.0, generator=make_generator(0))
    counts = [0] * 8
    for _ in range(800):
        out = t(img)
        matches = [k for k, v in enumerate(views) if torch.equal(out, v)]
        assert len(matches) == 1, "every output must be exactly one of the 8 D4 images"
        counts[matches[0]] += 1
    assert all(55 <= c <= 145 for c in counts), counts  # 100 expected each; ~4.5 sigma band


def test_random_dihedral_generator_reproducible_and_global_rng_untouched():
    img = _asym_image(1, 4, 4)
    state = torch.get_rng_state()
    t1, t2 = RandomDihedral(generator=make_generator(3)), RandomDihedral(generator=make_generator(3))
    outs = [t1(img) for _ in range(20)]
    assert all(torch.equal(o, t2(img)) for o in outs)
    assert len({tuple(o.flatten().tolist()) for o in outs}) > 1, "draws must vary"
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.uint16, torch.float16, torch.float64, torch.bool])
def test_random_dihedral_keeps_dtype_values_and_input(dtype):
    img = _asym_image(2, 4, 6).gt(0.5) if dtype == torch.bool else _asym_image(2, 4, 6, dtype)
    before = img.clone()
    out = RandomDihedral(p=1.0, elements=(5,))(img)
    assert out.dtype == dtype and out.shape == (2, 6, 4)
    assert torch.equal(img, before)
    as_int = (lambda x: x.to(torch.int32)) if dtype == torch.uint16 else (lambda x: x.to(torch.float64))
    assert torch.equal(as_int(out).flatten().sort().values, as_int(img).flatten().sort().values)
    assert torch.equal(RandomDihedral(p=0.0)(img), img)


def test_dihedral_inverse_round_trip_batched():
    x = torch.rand(2, 3, 5, 7, generator=make_generator(1))
    for k in range(8):
        assert torch.equal(dihedral_inverse(dihedral(x, k), k), x), D4_NAMES[k]


def test_random_dihedral_rejects_bad_arguments():
    with pytest.raises(ValueError, match="p"):
        RandomDihedral(p=1.5)
    with pytest.raises(ValueError, match="elements"):
        RandomDihedral(elements=())
    with pytest.raises(ValueError, match="0..7"):
        RandomDihedral(elements=(8,))
    with pytest.raises(TypeError, match="generator"):
        RandomDihedral(generator=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_random_dihedral_and_presets_keep_cuda_device():
    img = torch.rand(3, 40, 40, device="cuda")
    assert RandomDihedral(generator=make_generator(0))(img).device.type == "cuda"
    assert histopathology(True, 32, generator=make_generator(0))(img).device.type == "cuda"


# ----------------------------------------------------------------------------------------------
# Preset contracts
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_images():
    return {
        "chest_xray": data.load_chest_xray(size=256),
        "histopathology": data.load_histology(size=256),
        "natural_image": data.load_natural_image("astronaut", size=256),
    }


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_train_and_eval_share_the_contract_and_eval_is_deterministic(name, real_images):
    img = real_images[name]
    train, ev = PRESETS[name](True, 224, generator=make_generator(0)), PRESETS[name](False, 224)
    a, b, c = ev(img), ev(img), train(img)
    assert torch.equal(a, b), "eval must be deterministic"
    assert a.shape == c.shape == (CHANNELS[name], 224, 224)
    assert a.dtype == c.dtype == torch.float32
    assert (train.mean, train.std, train.channels) == (ev.mean, ev.std, ev.channels)
    assert consistency_problems(train, ev, img, n=3) == []


def test_eval_pipelines_contain_no_random_transform():
    for fn in PRESETS.values():
        for t in fn(False, 32).transforms:
            assert not type(t).__name__.startswith("Random"), f"{fn.__name__} eval has {type(t).__name__}"


def test_seeded_compose_reproducible_and_leaves_global_rng_alone(real_images):
    img = real_images["natural_image"]
    state = torch.get_rng_state()
    a = natural_image(True, 64, generator=make_generator(7))
    b = natural_image(True, 64, generator=make_generator(7))
    outs_a, outs_b = [a(img) for _ in range(3)], [b(img) for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(outs_a, outs_b, strict=True))
    assert not torch.equal(outs_a[0], outs_a[1]), "successive draws must differ"
    assert torch.equal(torch.get_rng_state(), state)


def _left_bright(h: int = 96, w: int = 80) -> torch.Tensor:
    """A one-channel image whose left half is bright: a mirror is unmistakable."""
    x = torch.full((1, h, w), 0.2)
    x[..., : w // 2] = 0.9
    return x


def test_chest_never_mirrors_without_allow_hflip():
    img = _left_bright()
    pipe = chest_xray(True, 64, strength=2.0, generator=make_generator(0))
    assert not any(isinstance(t, (v2.RandomHorizontalFlip, RandomDihedral)) for t in pipe.transforms)
    for _ in range(40):
        out = pipe(img)[0]
        assert out[:, :32].mean() > out[:, 32:].mean()
    flipping = chest_xray(True, 64, allow_hflip=True, generator=make_generator(0))
    signs = {bool(o[:, :32].mean() > o[:, 32:].mean()) for o in (flipping(img)[0] for _ in range(40))}
    assert signs == {True, False}, "with allow_hflip=True some samples must be mirrored"


def test_chest_intensity_change_is_mild_and_monotone():
    ramp = torch.linspace(0, 1, 64).repeat(64, 1)[None]
    pipe = chest_xray(True, 64, strength=1.0, generator=make_generator(1))
    plain = chest_xray(False, 64)(ramp)
    for _ in range(10):
        out = pipe(ramp) * CXR_STD[0] + CXR_MEAN[0]
        assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    assert plain.shape == (1, 64, 64)


def test_window_level_identity_at_zero_and_order_preserving():
    x = torch.rand(1, 8, 8, generator=make_generator(2))
    assert torch.allclose(RandomWindowLevel(0.0, 0.0, 0.0)(x), x)
    y = RandomWindowLevel(generator=make_generator(0))(x)
    order = x.flatten().argsort()
    assert bool((y.flatten()[order].diff() >= 0).all()), "window/level and gamma must keep grey-level order"
    with pytest.raises(ValueError, match="level_shift"):
        RandomWindowLevel(level_shift=1.5)
    with pytest.raises(TypeError, match="float"):
        RandomWindowLevel()(torch.zeros(1, 4, 4, dtype=torch.uint8))


# ----------------------------------------------------------------------------------------------
# 16-bit input
# ----------------------------------------------------------------------------------------------


def test_uint16_keeps_dynamic_range_never_clipped():
    img = torch.full((1, 64, 64), 40000, dtype=torch.int32)
    img[..., 32:] = 60000
    img = img.to(torch.uint16)
    out = chest_xray(False, 64)(img)[0] * CXR_STD[0] + CXR_MEAN[0]
    assert abs(float(out[:, :16].mean()) - 40000 / 65535) < 1e-5
    assert abs(float(out[:, 48:].mean()) - 60000 / 65535) < 1e-5


def test_uint16_bits_stored_fills_unit_range_and_keeps_every_level():
    levels = torch.arange(0, 2**15, dtype=torch.int32).reshape(1, 128, 256).to(torch.uint16)
    out = ToUnitFloat(15)(tv_tensors.Image(levels))
    assert out.dtype == torch.float32 and float(out.min()) == 0.0 and float(out.max()) == 1.0
    assert out.unique().numel() == 2**15, "every 15-bit level must stay distinct"
    with pytest.raises(ValueError, match="bits_stored"):
        chest_xray(False, 64, bits_stored=12)(levels)


def test_monochrome1_inverts_and_real_raw_radiograph_runs():
    raw = data.load_chest_xray(raw=True)
    before = raw.clone()
    out = chest_xray(False, 128, bits_stored=15, monochrome1=True)(raw)
    assert out.shape == (1, 128, 128) and torch.isfinite(out).all()
    assert torch.equal(raw, before)
    display = chest_xray(False, 128)(data.load_chest_xray(size=256))
    corr = torch.corrcoef(torch.stack([out.flatten(), display.flatten()]))[0, 1]
    assert corr > 0.8, f"inverted raw film should look like the display image, corr {float(corr):.2f}"


def test_pil_16bit_input_equals_tensor_input():
    arr = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    pil = PIL.Image.fromarray(arr)
    tensor = torch.from_numpy(arr.astype(np.int32)).to(torch.uint16)[None]
    pipe = chest_xray(False, 32)
    assert torch.allclose(pipe(pil), pipe(tensor))


# ----------------------------------------------------------------------------------------------
# Masks and boxes travel with the image
# ----------------------------------------------------------------------------------------------


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("train", [False, True])
def test_masks_and_boxes_follow_the_image(name, train):
    c, h, w = CHANNELS[name], 120, 100
    box = (15, 20, 70, 90)
    mask, boxes = _rect_sample(h, w, box)
    img = mask.as_subclass(torch.Tensor).float().expand(c, h, w).clone() * 0.8 + 0.1
    sample = (tv_tensors.Image(img), mask, boxes)
    pipe = PRESETS[name](train, 64, strength=0.0 if name == "natural_image" else 1.0, generator=make_generator(4))
    for _ in range(4 if train else 1):
        out_img, out_mask, out_boxes = pipe(*sample)
        assert out_mask.shape == (1, 64, 64) and tuple(out_boxes.canvas_size) == (64, 64)
        ch = out_img[0]
        bright = ch > (ch.max() + ch.min()) / 2
        assert _iou(bright, out_mask[0].bool()) > 0.85
        drawn = torch.zeros(64, 64, dtype=torch.bool)
        x1, y1, x2, y2 = (int(round(float(v))) for v in out_boxes[0])
        drawn[y1:y2, x1:x2] = True
        assert _iou(drawn, out_mask[0].bool()) > 0.8  # rotation by a few degrees makes the box a hull
    assert torch.equal(sample[1], mask) and torch.equal(sample[0], tv_tensors.Image(img))


def test_erase_pixels_passes_masks_quietly_and_erases_images():
    img, mask = tv_tensors.Image(torch.ones(3, 32, 32)), tv_tensors.Mask(torch.ones(1, 32, 32, dtype=torch.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_img, out_mask = ErasePixels(p=1.0, value=0.0)(img, mask)
    assert torch.equal(out_mask, mask)
    assert float(out_img.eq(0).float().mean()) > 0.0


# ----------------------------------------------------------------------------------------------
# Inputs: accepted, refused, never modified
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_inputs_not_modified_in_place(name):
    c = CHANNELS[name]
    img = torch.rand(c, 80, 72, generator=make_generator(5))
    mask, boxes = _rect_sample(80, 72, (5, 6, 40, 50))
    copies = (img.clone(), mask.clone(), boxes.clone())
    PRESETS[name](True, 48, generator=make_generator(0))(img, mask, boxes)
    PRESETS[name](False, 48)(img, mask, boxes)
    assert torch.equal(img, copies[0]) and torch.equal(mask, copies[1]) and torch.equal(boxes, copies[2])


def test_batched_input_same_contract():
    x = torch.rand(4, 3, 70, 70, generator=make_generator(6))
    assert histopathology(True, 48, generator=make_generator(0))(x).shape == (4, 3, 48, 48)
    assert natural_image(False, 48)(x).shape == (4, 3, 48, 48)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: chest_xray(True)(torch.rand(3, 256, 256)), ValueError, "1 channel"),
        (lambda: histopathology(True)(torch.rand(1, 256, 256)), ValueError, "3 channels"),
        (lambda: natural_image(False)(torch.rand(256, 256)), ValueError, "channels first"),
        (lambda: natural_image(False)(torch.zeros(3, 256, 256, dtype=torch.int32)), TypeError, "dtype"),
        (lambda: natural_image(False)(torch.rand(3, 256, 256) * 255), ValueError, r"\[0, 1\]"),
        (lambda: natural_image(False)(torch.full((3, 256, 256), float("nan"))), ValueError, r"\[0, 1\]"),
        (lambda: histopathology(False, 224)(torch.rand(3, 200, 300)), ValueError, "size = 224"),
        (lambda: chest_xray(False)(PIL.Image.new("RGB", (256, 256))), ValueError, "mode"),
        (lambda: natural_image(False)("not an image"), TypeError, "no image"),
        (lambda: chest_xray("yes"), TypeError, "train"),
        (lambda: chest_xray(True, size=4), ValueError, "size"),
        (lambda: chest_xray(True, allow_hflip=1), TypeError, "allow_hflip"),
        (lambda: chest_xray(True, channels=2), ValueError, "channels"),
        (lambda: chest_xray(True, bits_stored=20), ValueError, "bits_stored"),
        (lambda: natural_image(True, strength=3.0), ValueError, "strength"),
    ],
)
def test_bad_inputs_give_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_channels_3_chest_uses_imagenet_in_train_and_eval():
    tr, ev = chest_xray(True, 64, channels=3), chest_xray(False, 64, channels=3)
    assert tr.mean == ev.mean == IMAGENET_MEAN and tr.std == ev.std == IMAGENET_STD
    assert ev(torch.rand(1, 80, 80)).shape == (3, 64, 64)


def test_consistency_problems_finds_the_classic_mismatch(real_images):
    img = real_images["chest_xray"]
    train = v2.Compose([v2.Resize(224), v2.CenterCrop(224), v2.Normalize([0.5], [0.5])])
    ev = v2.Compose([v2.Resize(224), v2.CenterCrop(224), v2.RGB(), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    problems = consistency_problems(train, ev, img)
    assert any("channels differ" in p for p in problems)
    ev1 = v2.Compose([v2.Resize(224), v2.CenterCrop(224), v2.Normalize([IMAGENET_MEAN[0]], [IMAGENET_STD[0]])])
    assert any("mean differs" in p for p in consistency_problems(train, ev1, img))
    assert consistency_problems(train, train, img) == []


# ----------------------------------------------------------------------------------------------
# Properties over sizes, dtypes and channel counts
# ----------------------------------------------------------------------------------------------


def _make(c: int, h: int, w: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    x = torch.rand(c, h, w, generator=make_generator(seed))
    if dtype == torch.uint8:
        return (x * 255).to(torch.uint8)
    if dtype == torch.uint16:
        return (x * 65535).to(torch.int32).to(torch.uint16)
    return x.to(dtype)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(PRESETS)),
    train=st.booleans(),
    size=st.integers(8, 40),
    extra_h=st.integers(0, 30),
    extra_w=st.integers(0, 30),
    dtype=st.sampled_from([torch.uint8, torch.uint16, torch.float32, torch.float64]),
    channels=st.sampled_from([1, 2, 3, 4]),
    seed=st.integers(0, 2**16),
)
def test_property_contract_or_clear_error(name, train, size, extra_h, extra_w, dtype, channels, seed):
    img = _make(channels, size + extra_h, size + extra_w, dtype, seed)
    before = img.clone()
    pipe = PRESETS[name](train, size, generator=make_generator(seed))
    if channels != CHANNELS[name]:
        with pytest.raises(ValueError, match="channel"):
            pipe(img)
        return
    out = pipe(img)
    assert out.shape == (channels, size, size) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all())
    assert torch.equal(img, before)
    if not train:
        assert torch.equal(out, pipe(img))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 4), k=st.integers(0, 7))
def test_property_dihedral_is_a_permutation_matching_torchvision(h, w, c, k):
    x = torch.randperm(c * h * w, generator=make_generator(h * 100 + w)).reshape(c, h, w)
    out = RandomDihedral(elements=(k,))(tv_tensors.Image(x))
    assert torch.equal(out, _oracle(tv_tensors.Image(x), k))
    assert torch.equal(out.flatten().sort().values, x.flatten().sort().values)


def test_check_image_rejects_bad_construction():
    from lessonlib.presets import CheckImage

    with pytest.raises(ValueError, match="channels"):
        CheckImage("x", 2, 32)
    with pytest.raises(ValueError, match="min_size"):
        CheckImage("x", 3, 0)
    with pytest.raises(ValueError, match="bits_stored"):
        ToUnitFloat(bits_stored=4)


# ----------------------------------------------------------------------------------------------
# Notebook 02's checkers agree with the measurements they grade
# ----------------------------------------------------------------------------------------------


def test_nb02_black_corner_constant_matches_torchvision():
    from lessonlib.exercises import nb02

    measured = 1 - float(F.rotate(torch.ones(1, 301, 301), 45.0).mean())
    assert abs(measured - nb02.BLACK_CORNER_FRACTION_45) < 0.005
    assert nb02.check_black_corners(measured).passed is True
    assert nb02.check_black_corners(0.25).passed is False


def test_nb02_fundus_checker_accepts_consistent_and_rejects_mismatched_presets():
    from lessonlib.exercises import nb02

    # natural_image's default ±30 % colour jitter is too strong for fundus (02.4 says so); half strength is ±15 %
    assert nb02.check_fundus_preset(lambda train, size: natural_image(train, size, strength=0.5)).passed is True
    assert nb02.check_fundus_preset(lambda train, size: natural_image(train, size)).passed is False

    def mismatched(train, size):
        steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Resize(size), v2.CenterCrop(size)]
        return v2.Compose(steps + ([v2.RandomRotation(180)] if train else [v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))

    fb = nb02.check_fundus_preset(mismatched)
    assert fb.passed is False and "consistency" in fb.message
    assert nb02.check_fundus_preset(...).passed is None


def test_nb02_mismatch_pair_really_has_the_graded_bugs():
    from lessonlib.exercises import nb02

    train, ev = nb02.mismatch_pair()
    img = (data.load_chest_xray(size=256) * 255).round().to(torch.uint8)
    assert train(img).shape[0] == 1 and ev(img).shape[0] == 3
    assert float(ev(img).mean()) > 50, "eval skips scale=True, so values stay in the 0..255 range"
    expected = {"channel count", "normalisation statistics", "value scale (0-1 vs 0-255)"}
    assert nb02.check_mismatch(expected).passed is True
    assert nb02.check_mismatch({"channel count"}).passed is False


# ----------------------------------------------------------------------------------------------
# HED stain augmentation (issue 16, Misleading 1)
# ----------------------------------------------------------------------------------------------

_LN_EPS = -float(np.log(1e-6))  # scikit-image divides optical density by -ln(1e-6)


def _stain_image(n: int, h: int, w: int, seed: int) -> torch.Tensor:
    """RGB made by skimage's hed2rgb from non-negative stains, so rgb2hed's clipping at 0 is inactive."""
    from skimage.color import hed2rgb

    rng = np.random.default_rng(seed)
    stains = rng.uniform(0.0, 0.15, size=(n, h, w, 3))
    return torch.from_numpy(hed2rgb(stains)).permute(0, 3, 1, 2).contiguous()


def _skimage_reference(x: torch.Tensor, scale: float, shift: float, seed: int) -> torch.Tensor:
    """The same draws (factors then offsets) applied with skimage.color.rgb2hed/hed2rgb, image by image."""
    from skimage.color import hed2rgb, rgb2hed

    from lessonlib.utils import uniform

    g = make_generator(seed)
    n = x.shape[0]
    a = uniform((n, 3), low=1 - scale, high=1 + scale, generator=g, dtype=torch.float64).numpy()
    b = uniform((n, 3), low=-shift, high=shift, generator=g, dtype=torch.float64).numpy()
    out = [hed2rgb(rgb2hed(img.permute(1, 2, 0).numpy()) * a[i] + b[i] / _LN_EPS) for i, img in enumerate(x)]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("scale,shift", [(0.05, 0.05), (0.2, 0.2), (0.0, 0.1), (0.3, 0.0)])
def test_hed_jitter_matches_skimage_rgb2hed_hed2rgb(scale, shift):
    from lessonlib.presets import hed_jitter

    x = _stain_image(3, 7, 5, seed=1)
    out = hed_jitter(x, scale=scale, shift=shift, generator=make_generator(4))
    torch.testing.assert_close(out, _skimage_reference(x, scale, shift, 4), rtol=0, atol=1e-10)


def test_skimage_round_trip_changes_the_real_tile_which_is_why_we_do_not_clip():
    """The deliberate difference: rgb2hed clips negative concentrations, so hed2rgb(rgb2hed(x)) != x."""
    from skimage.color import hed2rgb, rgb2hed

    x = data.load_histology(size=64).permute(1, 2, 0).numpy() / 255
    assert np.abs(hed2rgb(rgb2hed(x)) - x).max() > 0.05


def test_hed_jitter_identity_at_zero_and_continuous_near_zero():
    from lessonlib.presets import hed_jitter

    tile = data.load_histology(size=48)
    assert torch.equal(hed_jitter(tile, scale=0.0, shift=0.0), tile)
    xf = tile.float() / 255
    near = hed_jitter(xf, scale=1e-9, shift=1e-9, generator=make_generator(0))
    assert (near - xf).abs().max() < 1e-5  # no jump: out-of-model pixels are not clipped as rgb2hed does


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_hed_jitter_contract_dtype_range_shape_input_untouched(dtype):
    from lessonlib.presets import hed_jitter

    tile = data.load_histology(size=32)
    x = torch.stack([tile, tile.flip(-1)])
    x = x if dtype == torch.uint8 else x.to(dtype) / 255
    before = x.clone()
    out = hed_jitter(x, scale=0.3, shift=0.3, generator=make_generator(1))
    assert out.dtype == dtype and out.shape == x.shape and torch.equal(x, before)
    lo, hi = (0, 255) if dtype == torch.uint8 else (0.0, 1.0)
    assert float(out.min()) >= lo and float(out.max()) <= hi
    assert not torch.equal(out[0], out[1].flip(-1))  # per-image draws, not one draw for the batch
    single = hed_jitter(x[0], scale=0.3, shift=0.3, generator=make_generator(1))
    assert single.shape == x[0].shape


def test_hed_jitter_seeded_keeps_subclass_and_leaves_global_rng_alone():
    from lessonlib.presets import hed_jitter

    x = tv_tensors.Image(data.load_histology(size=16))
    state = torch.random.get_rng_state()
    a, b = hed_jitter(x, generator=make_generator(3)), hed_jitter(x, generator=make_generator(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert isinstance(a, tv_tensors.Image) and torch.equal(a, b)
    assert not torch.equal(a, hed_jitter(x, generator=make_generator(4)))


def test_hed_jitter_moves_stain_concentrations_by_the_drawn_factor():
    """Physical meaning: with shift 0, each image's H/E/D concentrations are multiplied by its factor."""
    from skimage.color import rgb2hed

    from lessonlib.presets import hed_jitter
    from lessonlib.utils import uniform

    x = _stain_image(2, 6, 6, seed=3)
    out = hed_jitter(x, scale=0.2, shift=0.0, generator=make_generator(9))
    a = uniform((2, 3), low=0.8, high=1.2, generator=make_generator(9), dtype=torch.float64)
    for i in range(2):
        s_in = rgb2hed(x[i].permute(1, 2, 0).numpy())
        s_out = rgb2hed(out[i].permute(1, 2, 0).numpy())
        np.testing.assert_allclose(s_out, s_in * a[i].numpy(), atol=1e-9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_hed_jitter_keeps_cuda_device():
    from lessonlib.presets import hed_jitter

    x = data.load_histology(size=16).cuda()
    assert hed_jitter(x, generator=make_generator(0)).device == x.device


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"x": [1, 2, 3]}, TypeError, "x must be a torch.Tensor"),
        ({"x": torch.rand(1, 8, 8)}, ValueError, "RGB"),
        ({"x": torch.rand(2, 2, 3, 8, 8)}, ValueError, "x must have 3 or 4"),
        ({"x": torch.randint(0, 9, (3, 4, 4), dtype=torch.int32)}, TypeError, "dtype"),
        ({"x": torch.rand(3, 4, 4) * 255}, ValueError, r"\[0, 1\]"),
        ({"x": torch.full((3, 4, 4), float("nan"))}, ValueError, r"\[0, 1\]"),
        ({"scale": 1.0}, ValueError, "scale"),
        ({"scale": -0.1}, ValueError, "scale"),
        ({"scale": float("nan")}, ValueError, "scale"),
        ({"shift": float("inf")}, ValueError, "shift"),
        ({"shift": "0.1"}, TypeError, "shift"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_hed_jitter_bad_inputs_name_the_parameter(kwargs, exc, match):
    from lessonlib.presets import hed_jitter

    args = {"x": torch.rand(3, 4, 4), **kwargs}
    x = args.pop("x")
    with pytest.raises(exc, match=match):
        hed_jitter(x, **args)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    scale=st.floats(0, 0.99),
    shift=st.floats(0, 2),
    uint8=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_hed_jitter_contract(n, h, w, scale, shift, uint8, seed):
    from lessonlib.presets import hed_jitter

    g = make_generator(seed)
    x = torch.randint(0, 256, (n, 3, h, w), generator=g, dtype=torch.uint8)
    x = x if uint8 else x.to(torch.float64) / 255
    before = x.clone()
    out = hed_jitter(x, scale=scale, shift=shift, generator=make_generator(seed))
    assert out.shape == x.shape and out.dtype == x.dtype and torch.equal(x, before)
    assert float(out.min()) >= 0 and float(out.max()) <= (255 if uint8 else 1)
    assert torch.equal(out, hed_jitter(x, scale=scale, shift=shift, generator=make_generator(seed)))


@pytest.mark.parametrize("stain", ["hsv", "hed", "both"])
def test_histopathology_stain_options_keep_the_contract(stain):
    tile = data.load_histology(size=64)
    pipe = histopathology(True, 48, stain=stain, generator=make_generator(0))
    out = pipe(tile)
    assert out.shape == (3, 48, 48) and out.dtype == torch.float32
    assert torch.equal(out, histopathology(True, 48, stain=stain, generator=make_generator(0))(tile))
    names = [type(t).__name__ for t in pipe.transforms]
    assert ("RandomHEDJitter" in names) == (stain != "hsv")
    jitter = next(t for t in pipe.transforms if isinstance(t, v2.ColorJitter))
    assert (jitter.hue is not None) == (stain != "hed")
    assert torch.equal(histopathology(False, 48, stain=stain)(tile), histopathology(False, 48)(tile))


def test_histopathology_rejects_an_unknown_stain():
    with pytest.raises(ValueError, match="stain"):
        histopathology(True, 48, stain="HED")


# ----------------------------------------------------------------------------------------------
# Issue 16 (Errors 3, Misleading 7) and issue 18 (one source of ImageNet statistics)
# ----------------------------------------------------------------------------------------------


def test_chest_preset_rotates_images_bilinearly_and_masks_nearest():
    """v2.RandomAffine defaults to NEAREST, which drops and duplicates pixels instead of interpolating."""
    pipe = chest_xray(True, 64, generator=make_generator(0))
    (affine,) = [t for t in pipe.transforms if isinstance(t, v2.RandomAffine)]
    assert affine.interpolation == v2.InterpolationMode.BILINEAR
    ramp = torch.linspace(0, 1, 80, dtype=torch.float64)
    img = ((ramp[None, :] + ramp[:, None]) / 2).to(torch.float32)[None]  # smooth, 80x80, no repeated rows
    mask = tv_tensors.Mask((img > 0.5).to(torch.uint8))
    out, m = chest_xray(True, 64, strength=2.0, generator=make_generator(1))(tv_tensors.Image(img), mask)
    assert set(m.unique().tolist()) <= {0, 1}  # the mask stays a label map (nearest)
    # bilinear creates new intermediate values; nearest would only copy the resized image's values
    resized = v2.Resize(64, antialias=True)(tv_tensors.Image(img))
    plain = v2.Normalize(CXR_MEAN, CXR_STD)(resized).flatten()
    new_values = ~torch.isclose(out.flatten()[:, None], plain[None, :], atol=1e-6, rtol=0).any(1)
    assert new_values.float().mean() > 0.5


def test_imagenet_statistics_come_from_timm_and_equal_torchvision_weights():
    from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    from torchvision.models import ResNet18_Weights

    assert IMAGENET_MEAN == tuple(IMAGENET_DEFAULT_MEAN) and IMAGENET_STD == tuple(IMAGENET_DEFAULT_STD)
    tv = ResNet18_Weights.IMAGENET1K_V1.transforms()  # builds the transform only, downloads nothing
    assert tuple(tv.mean) == IMAGENET_MEAN and tuple(tv.std) == IMAGENET_STD


def test_cxr_statistics_are_documented_as_one_films_with_the_recipe():
    import lessonlib.presets as presets

    src = pathlib.Path(presets.__file__).read_text()
    assert "ONE windowed PA film" in src and "training split" in src


def test_cxr_statistics_match_the_bundled_film_they_came_from():
    """CXR_MEAN/STD are the rounded statistics of the one bundled film after the deterministic steps."""
    film = data.load_chest_xray()
    steps = chest_xray(False, 224).transforms[:-1]  # everything but Normalize
    x = v2.Compose(steps)(film).double()
    assert abs(float(x.mean()) - CXR_MEAN[0]) < 0.05 and abs(float(x.std()) - CXR_STD[0]) < 0.05


@settings(max_examples=30, deadline=None)
@given(
    bits=st.one_of(st.none(), st.integers(8, 16)),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_property_to_unit_float_is_exact_and_never_clips(bits, h, w, seed):
    top = 65535 if bits is None else 2**bits - 1
    g = make_generator(seed)
    raw = torch.randint(0, top + 1, (1, h, w), generator=g, dtype=torch.int64)
    img = tv_tensors.Image(raw.to(torch.int32).to(torch.uint16))
    before = img.clone()
    out = ToUnitFloat(bits_stored=bits)(img)
    assert out.dtype == torch.float32 and torch.equal(img, before)
    torch.testing.assert_close(out.as_subclass(torch.Tensor).double(), raw.double() / top, atol=1e-7, rtol=0)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


@settings(max_examples=30, deadline=None)
@given(
    level=st.floats(0, 0.99),
    width=st.floats(0, 0.99),
    gamma=st.floats(0, 0.99),
    seed=st.integers(0, 2**16),
)
def test_property_window_level_keeps_range_order_and_reproduces(level, width, gamma, seed):
    x = torch.linspace(0, 1, 50).reshape(1, 5, 10)
    t = RandomWindowLevel(level, width, gamma, generator=make_generator(seed))
    out = t(x)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert bool((out.flatten().diff() >= 0).all())  # monotone: the order of densities is kept
    assert torch.equal(out, RandomWindowLevel(level, width, gamma, generator=make_generator(seed))(x))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: RandomWindowLevel(float("nan")), ValueError, "level_shift"),
        (lambda: RandomWindowLevel(0.1, 1.0), ValueError, "width_change"),
        (lambda: RandomWindowLevel(0.1, 0.1, "a"), TypeError, "log_gamma"),
        (lambda: RandomWindowLevel(generator=1), TypeError, "generator"),
        (lambda: chest_xray(True, strength=float("nan")), ValueError, "strength"),
        (lambda: chest_xray(True, size=64.0), TypeError, "size"),
        (lambda: chest_xray(True, monochrome1=1), TypeError, "monochrome1"),
        (lambda: chest_xray(True, generator=0), TypeError, "generator"),
        (lambda: ToUnitFloat(bits_stored=12.0), TypeError, "bits_stored"),
        (lambda: describe_output(lambda im: im, torch.rand(1, 4, 4), n=0), ValueError, "n"),
        (
            lambda: consistency_problems(lambda im: im, lambda im: im, torch.rand(1, 4, 4), tol=float("nan")),
            ValueError,
            "tol",
        ),
    ],
)
def test_more_bad_arguments_name_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_property_describe_output_pools_statistics_over_runs(n, c, seed):
    img = torch.rand(c, 5, 6, generator=make_generator(seed))
    rep = describe_output(lambda im: im * 2, img, n=n)
    assert rep.shape == (c, 5, 6) and rep.dtype == torch.float32
    want = (img * 2).double()
    assert rep.channel_mean == tuple(round(float(v), 4) for v in want.mean(dim=(1, 2)))
    assert consistency_problems(lambda im: im, lambda im: im.clone(), img, n=n) == []


@settings(max_examples=20, deadline=None)
@given(
    p=st.floats(0, 1),
    value=st.floats(-2, 2),
    seed=st.integers(0, 2**16),
)
def test_property_erase_pixels_erases_images_and_leaves_geometry_alone(p, value, seed):
    img = tv_tensors.Image(torch.rand(3, 12, 12, generator=make_generator(seed)))
    mask = tv_tensors.Mask(torch.ones(1, 12, 12, dtype=torch.uint8))
    boxes = tv_tensors.BoundingBoxes([[1, 1, 6, 6]], format="XYXY", canvas_size=(12, 12))
    before = img.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torchvision warns on masks/boxes; ours passes them quietly
        torch.manual_seed(seed)
        out, m, b = ErasePixels(p=p, scale=(0.02, 0.2), value=value)(img, mask, boxes)
    assert torch.equal(img, before) and torch.equal(m, mask) and torch.equal(b, boxes)
    changed = out != img
    if bool(changed.any()):  # an erased rectangle holds the value
        torch.testing.assert_close(out[changed], torch.full_like(out[changed], value))


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(0, 0.5), shift=st.floats(0, 0.5), lead=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_property_random_hed_jitter_transform(scale, shift, lead, seed):
    from lessonlib.presets import RandomHEDJitter, hed_jitter

    x = torch.rand(lead, 2, 3, 4, 4, generator=make_generator(seed))
    mask = tv_tensors.Mask(torch.ones(1, 4, 4, dtype=torch.uint8))
    out, m = RandomHEDJitter(scale, shift, generator=make_generator(seed))(tv_tensors.Image(x), mask)
    assert isinstance(out, tv_tensors.Image) and out.shape == x.shape and torch.equal(m, mask)
    flat = hed_jitter(x.reshape(-1, 3, 4, 4), scale=scale, shift=shift, generator=make_generator(seed))
    assert torch.equal(out.as_subclass(torch.Tensor), flat.reshape(x.shape))  # per image, same draws
