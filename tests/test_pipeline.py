"""Tests for lessonlib.pipeline: counter-based seeding that survives DataLoader workers, the batched
on-device twin, the reference oracle, kornia as the oracle of the course's affine, bad inputs."""

from __future__ import annotations

import random

import kornia
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from lessonlib import reference
from lessonlib.geometric import apply_affine, sample_affine_params
from lessonlib.pipeline import (
    N_UNIFORMS,
    AugmentedDataset,
    CropFlipJitter,
    CropFlipParams,
    _splitmix64,
    crop_flip_jitter,
    epoch_order,
    sample_generator,
    sample_seed,
)
from lessonlib.utils import make_generator

SEED = 13


def _images(n=12, c=3, h=20, w=24, dtype=torch.uint8, seed=0):
    g = make_generator(seed)
    x = torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _reference(x: torch.Tensor, p: CropFlipParams, size: int) -> torch.Tensor:
    return torch.stack(
        [
            reference.pipeline.crop_flip_jitter(
                x[i],
                (int(p.top[i]), int(p.left[i]), int(p.height[i]), int(p.width[i])),
                bool(p.flip[i]),
                float(p.brightness[i]),
                float(p.contrast[i]),
                float(p.saturation[i]),
                size,
            )
            for i in range(x.shape[0])
        ]
    )


# ----------------------------------------------------------------------------------------------
# Counter-based seeds
# ----------------------------------------------------------------------------------------------


def test_sample_seed_is_a_pinned_pure_function_of_its_counters():
    # pinned: a change of the mixing function changes every run's augmentations, and must be deliberate
    assert sample_seed(0, 0, 0) == sample_seed(0, 0, 0) == 0x2130748AAAC80268
    assert _splitmix64(0) == 0xE220A8397B1DCDAF  # SplitMix64's first output for seed 0 (the published test vector)
    seeds = {sample_seed(s, e, i) for s in range(3) for e in range(3) for i in range(50)}
    assert len(seeds) == 3 * 3 * 50  # neighbouring counters never collide here
    assert sample_seed(1, 2, 3) != sample_seed(1, 3, 2) != sample_seed(2, 1, 3)
    assert sample_seed(0, 0, 0, stream=1) != sample_seed(0, 0, 0)
    assert 0 <= sample_seed(2**64 - 1, 2**64 - 1, 2**64 - 1) < 2**64


def test_sample_generator_streams_repeat_and_differ():
    a = torch.rand(5, generator=sample_generator(SEED, 1, 7))
    assert torch.equal(a, torch.rand(5, generator=sample_generator(SEED, 1, 7)))
    assert not torch.equal(a, torch.rand(5, generator=sample_generator(SEED, 1, 8)))
    assert not torch.equal(a, torch.rand(5, generator=sample_generator(SEED, 2, 7)))


@pytest.mark.parametrize(
    ("args", "exc", "pattern"),
    [
        ((-1, 0, 0), ValueError, r"seed must be >= 0, got -1"),
        ((0, -2, 0), ValueError, r"epoch must be >= 0, got -2"),
        ((0, 0, 1.5), TypeError, r"index must be an integer, got float"),
        ((0, True, 0), TypeError, r"epoch must be an integer, got bool"),
        ((0, 0, 2**64), ValueError, r"index must be <= 18446744073709551615"),
    ],
)
def test_sample_seed_refuses_bad_counters(args, exc, pattern):
    with pytest.raises(exc, match=pattern):
        sample_seed(*args)


def test_epoch_order_is_a_resumable_permutation():
    full = epoch_order(50, seed=SEED, epoch=3)
    assert sorted(full) == list(range(50)) and full != list(range(50))
    assert epoch_order(50, seed=SEED, epoch=3, start=20) == full[20:]
    assert epoch_order(50, seed=SEED, epoch=3, start=50) == []
    assert epoch_order(50, seed=SEED, epoch=4) != full
    with pytest.raises(ValueError, match=r"start must be <= 50, got 51"):
        epoch_order(50, seed=SEED, epoch=0, start=51)
    with pytest.raises(ValueError, match=r"n must be >= 1, got 0"):
        epoch_order(0, seed=SEED, epoch=0)


# ----------------------------------------------------------------------------------------------
# The dataset: the same sample whatever the number of workers
# ----------------------------------------------------------------------------------------------


def _loader_epoch(ds: AugmentedDataset, workers: int, epoch: int, start: int = 0) -> list[torch.Tensor]:
    ds.set_epoch(epoch)
    order = epoch_order(len(ds), seed=ds.seed, epoch=epoch, start=start)
    loader = DataLoader(ds, batch_size=4, sampler=order, num_workers=workers)
    return [xb for xb, _ in loader]


@pytest.fixture(scope="module")
def dataset_and_expected():
    x, y = _images(n=12, h=20, w=24), torch.arange(12) % 3
    ds = AugmentedDataset(x, y, CropFlipJitter(16), seed=SEED)
    expected = {}
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        order = epoch_order(12, seed=SEED, epoch=epoch)
        expected[epoch] = torch.stack([ds[i][0] for i in order]).split(4)
    return ds, expected


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_epochs_are_identical_for_any_number_of_workers(dataset_and_expected, workers):
    ds, expected = dataset_and_expected
    for epoch in (0, 1):
        batches = _loader_epoch(ds, workers, epoch)
        assert len(batches) == 3
        for got, want in zip(batches, expected[epoch], strict=True):
            assert torch.equal(got, want), f"epoch {epoch} with {workers} workers differs from the main process"
    assert not torch.equal(torch.cat(expected[0]), torch.cat(expected[1]))  # epochs differ


def test_resuming_mid_epoch_gives_the_rest_of_the_epoch(dataset_and_expected):
    ds, expected = dataset_and_expected
    rest = _loader_epoch(ds, 2, 1, start=4)  # one batch of 4 done before the restart
    assert all(torch.equal(a, b) for a, b in zip(rest, expected[1][1:], strict=True))


def test_global_rngs_are_left_alone():
    x, y = _images(n=3), torch.zeros(3, dtype=torch.int64)
    ds = AugmentedDataset(x, y, CropFlipJitter(8), seed=0)
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002 - numpy's global state is the point
    states = torch.get_rng_state(), random.getstate(), numpy_state
    before = x.clone()
    first = ds[1][0]
    torch.manual_seed(123)  # reseeding torch's global RNG changes nothing
    assert torch.equal(ds[1][0], first) and torch.equal(ds[-2][0], first)
    torch.set_rng_state(states[0])
    _ = ds[2]
    assert torch.equal(torch.get_rng_state(), states[0]) and random.getstate() == states[1]
    assert np.array_equal(np.random.get_state()[1], states[2])  # noqa: NPY002
    assert torch.equal(x, before)


def test_dataset_without_augment_returns_the_sample_and_index():
    x, y = _images(n=4), torch.arange(4)
    xi, yi, i = AugmentedDataset(x, y, seed=0, return_index=True)[2]
    assert torch.equal(xi, x[2]) and int(yi) == 2 and i == 2


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"x": torch.zeros(0, 3, 4, 4)}, ValueError, r"x is empty \(shape \(0, 3, 4, 4\)\)"),
        ({"y": torch.zeros(3)}, ValueError, r"x has 4 samples but y has shape \(3,\)"),
        ({"augment": "crop"}, TypeError, r"augment must be callable .* got str"),
        ({"seed": -1}, ValueError, r"seed must be >= 0, got -1"),
        ({"epoch": 0.5}, TypeError, r"epoch must be an integer, got float"),
        ({"x": [1, 2, 3, 4]}, TypeError, r"x must be a torch.Tensor, got list"),
    ],
)
def test_dataset_refuses_bad_arguments(kwargs, exc, pattern):
    args = {"x": torch.zeros(4, 3, 4, 4), "y": torch.zeros(4), "augment": None, "seed": 0} | kwargs
    with pytest.raises(exc, match=pattern):
        AugmentedDataset(args.pop("x"), args.pop("y"), args.pop("augment"), **args)


def test_dataset_refuses_an_index_out_of_range():
    ds = AugmentedDataset(torch.zeros(4, 3, 4, 4), torch.zeros(4), seed=0)
    with pytest.raises(ValueError, match=r"index must be <= 3, got 4"):
        ds[4]


# ----------------------------------------------------------------------------------------------
# The batched twin and the reference
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_indexed_batch_equals_the_per_sample_path(dtype):
    x, y = _images(n=10, h=30, w=26, dtype=dtype), torch.arange(10)
    cfj = CropFlipJitter(20)
    ds = AugmentedDataset(x, y, cfj, seed=SEED, epoch=2)
    indices = [7, 0, 3, 9, 3]
    per_sample = torch.stack([ds[i][0] for i in indices])
    batched = cfj.indexed_batch(x[indices], torch.tensor(indices), seed=SEED, epoch=2)
    assert batched.dtype == dtype and batched.shape == (5, 3, 20, 20)
    assert torch.equal(batched, per_sample)


@pytest.mark.parametrize("workers", [0, 2])
def test_loading_raw_then_augmenting_the_batch_equals_augmenting_in_workers(workers):
    # the on-device flow: workers only load (uint8 images and their indices, default collate), the
    # batch is augmented after loading; the same samples as augmenting each one in the workers
    x, y = _images(n=12, h=20, w=24), torch.arange(12)
    cfj = CropFlipJitter(16)
    order = epoch_order(12, seed=SEED, epoch=3)
    raw = DataLoader(
        AugmentedDataset(x, y, seed=SEED, epoch=3, return_index=True), batch_size=4, sampler=order, num_workers=workers
    )
    cooked = DataLoader(
        AugmentedDataset(x, y, cfj, seed=SEED, epoch=3), batch_size=4, sampler=order, num_workers=workers
    )
    for (xb, yb, ib), (want, want_y) in zip(raw, cooked, strict=True):
        assert xb.dtype == torch.uint8 and torch.equal(yb, want_y)
        assert torch.equal(cfj.indexed_batch(xb, ib, seed=SEED, epoch=3), want)


def test_every_image_gets_its_own_draw():
    x = _images(n=1, h=32, w=32).expand(16, 3, 32, 32)  # 16 copies of one image
    out = CropFlipJitter(24).batch(x, generator=make_generator(0))
    assert len({out[i].numpy().tobytes() for i in range(16)}) == 16
    assert x.is_contiguous() is False and out.is_contiguous()


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 5),
    c=st.sampled_from([1, 3]),
    hw=st.tuples(st.integers(2, 40), st.integers(2, 40)),
    size=st.integers(1, 48),
    jitter=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_fast_equals_reference_on_float_images(b, c, hw, size, jitter, seed):
    x = _images(n=b, c=c, h=hw[0], w=hw[1], dtype=torch.float32, seed=seed)
    cfj = CropFlipJitter(size, jitter=jitter, scale=(0.05, 1.0), ratio=(0.3, 3.0))
    p = cfj.params(torch.rand(b, N_UNIFORMS, generator=make_generator(seed + 1)), *hw)
    fast, ref = crop_flip_jitter(x, p, size), _reference(x, p, size)
    assert fast.shape == ref.shape == (b, c, size, size)
    assert torch.allclose(fast, ref, atol=1e-4, rtol=0), float((fast - ref).abs().max())


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 4), hw=st.tuples(st.integers(8, 40), st.integers(8, 40)), seed=st.integers(0, 2**31))
def test_fast_equals_reference_on_uint8_images_to_float_rounding(b, hw, seed):
    # grid_sample and interpolate round differently in the last float bit: a pixel at k + 0.5 (common
    # when a small box is enlarged) may round the other way, and a one-level difference can move the
    # image mean of the contrast blend; measured at most 3 levels, a few % of the pixels at worst
    x = _images(n=b, h=hw[0], w=hw[1], seed=seed)
    cfj = CropFlipJitter(24)
    p = cfj.params(torch.rand(b, N_UNIFORMS, generator=make_generator(seed + 1)), *hw)
    diff = (crop_flip_jitter(x, p, 24).int() - _reference(x, p, 24).int()).abs()
    assert int(diff.max()) <= 3 and float(diff.float().mean()) < 0.1


def test_identity_parameters_leave_a_full_size_image_unchanged():
    x = _images(n=2, h=16, w=16)
    one = torch.ones(2, dtype=torch.float64)
    zero = torch.zeros(2, dtype=torch.int64)
    full = torch.full((2,), 16, dtype=torch.int64)
    p = CropFlipParams(zero, zero, full, full, torch.tensor([False, True]), one, one, one)
    out = crop_flip_jitter(x, p, 16)
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], x[1].flip(-1))


def test_params_map_uniforms_to_the_stated_ranges():
    cfj = CropFlipJitter(8, scale=(0.25, 0.25), ratio=(1.0, 1.0), flip_p=0.5, jitter=0.4)
    u = torch.tensor([[0.0, 0.0, 0.0, 0.999, 0.2, 0.0, 0.5, 0.9999]], dtype=torch.float64)
    p = cfj.params(u, 40, 40)
    assert (int(p.height[0]), int(p.width[0]), int(p.top[0]), int(p.left[0])) == (20, 20, 0, 20)
    assert bool(p.flip[0]) and float(p.brightness[0]) == pytest.approx(0.6) and float(p.contrast[0]) == 1.0
    assert float(p.saturation[0]) == pytest.approx(1.4, abs=1e-4)


def test_results_stay_on_the_callers_dtype_and_inputs_are_not_modified():
    for dtype in (torch.uint8, torch.float32, torch.float64):
        x = _images(n=3, dtype=dtype)
        before = x.clone()
        out = CropFlipJitter(10).batch(x, generator=make_generator(1))
        assert out.dtype == dtype and out.device == x.device and torch.equal(x, before)
    xi = _images(n=1)[0]
    out, label = CropFlipJitter(10)(xi, torch.tensor(4), make_generator(0))
    assert out.shape == (3, 10, 10) and int(label) == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_indexed_batch_on_the_gpu_matches_the_cpu_workers():
    x = _images(n=8, h=40, w=40, dtype=torch.float32)
    cfj = CropFlipJitter(32)
    cpu = cfj.indexed_batch(x, list(range(8)), seed=SEED, epoch=0)
    gpu = cfj.indexed_batch(x.cuda(), list(range(8)), seed=SEED, epoch=0)
    assert gpu.device.type == "cuda" and torch.allclose(gpu.cpu(), cpu, atol=1e-4)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: CropFlipJitter(0), ValueError, r"size must be >= 1, got 0"),
        (lambda: CropFlipJitter(8, scale=(0.0, 1.0)), ValueError, r"scale\[0\] must be > 0.0"),
        (lambda: CropFlipJitter(8, scale=(0.5, 0.2)), ValueError, r"scale must have min <= max"),
        (lambda: CropFlipJitter(8, ratio=(-1, 2)), ValueError, r"ratio\[0\] must be > 0.0"),
        (lambda: CropFlipJitter(8, flip_p=1.5), ValueError, r"flip_p must be <= 1.0, got 1.5"),
        (lambda: CropFlipJitter(8, jitter=float("nan")), ValueError, r"jitter must be a number, got NaN"),
        (lambda: CropFlipJitter(8).batch(torch.zeros(0, 3, 8, 8)), ValueError, r"x is empty \(shape \(0, 3, 8, 8\)\)"),
        (lambda: CropFlipJitter(8).batch(torch.zeros(2, 3, 8)), ValueError, r"x must have 4 dimensions, got shape"),
        (
            lambda: CropFlipJitter(8).batch(torch.zeros(2, 3, 8, 8).half()),
            TypeError,
            r"x must be uint8 .*got dtype torch.float16",
        ),
        (lambda: CropFlipJitter(8).batch(torch.zeros(2, 4, 8, 8)), ValueError, r"x must have 1 or 3 channels"),
        (
            lambda: CropFlipJitter(8).batch(torch.full((2, 3, 8, 8), float("nan"))),
            ValueError,
            r"x contains NaN or infinite values",
        ),
        (lambda: CropFlipJitter(8).batch(torch.zeros(2, 3, 8, 8), generator=3), TypeError, r"generator must be a"),
        (lambda: CropFlipJitter(8).params(torch.rand(2, 7), 8, 8), ValueError, r"u must have 8 columns"),
        (
            lambda: CropFlipJitter(8).indexed_batch(torch.zeros(2, 3, 8, 8), [0], seed=0, epoch=0),
            ValueError,
            r"indices has 1 entries but x has 2 images",
        ),
        (
            lambda: CropFlipJitter(8).indexed_batch(torch.zeros(1, 3, 8, 8), [-1], seed=0, epoch=0),
            ValueError,
            r"indices\[0\] must be >= 0, got -1",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_parameter_named(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_crop_flip_jitter_refuses_parameters_that_do_not_fit():
    x = _images(n=2, h=10, w=10)
    p = CropFlipJitter(8).params(torch.rand(2, N_UNIFORMS, generator=make_generator(0)), 10, 10)
    with pytest.raises(ValueError, match=r"params.top has 2 entries but x has 1 images"):
        crop_flip_jitter(x[:1], p, 8)
    with pytest.raises(ValueError, match=r"crop box outside the 6x6 images"):
        crop_flip_jitter(x[:, :, :6, :6], CropFlipJitter(8).params(torch.full((2, 8), 0.99), 10, 10), 8)
    with pytest.raises(TypeError, match=r"params must be a CropFlipParams .* got dict"):
        crop_flip_jitter(x, {"top": 0}, 8)
    with pytest.raises(ValueError, match=r"size must be >= 1, got 0"):
        crop_flip_jitter(x, p, 0)


# ----------------------------------------------------------------------------------------------
# kornia as the oracle of the course's per-sample affine (lessonlib.geometric)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hw", [(20, 28), (33, 17)])
def test_per_sample_affine_equals_kornia_for_the_same_parameters(hw):
    # kornia's get_affine_matrix2d (forward map: rotate and scale about the centre, then translate, in
    # pixels) with warp_affine is the same warp as geometric.apply_affine: equal to float rounding at
    # every pixel. kornia's matrix takes the angle with the opposite sign (its rotation acts in y-down
    # pixel coordinates; ours is counter-clockwise on screen).
    h, w = hw
    g = make_generator(0)
    x = torch.rand(6, 3, h, w, generator=g)
    p = sample_affine_params(6, degrees=30, translate=0.2, scale=(0.8, 1.2), generator=g)
    centre = torch.tensor([(w - 1) / 2, (h - 1) / 2]).repeat(6, 1)
    shift = torch.stack([p.tx * w, p.ty * h], 1)
    matrix = kornia.geometry.transform.get_affine_matrix2d(
        shift, centre, torch.stack([p.scale, p.scale], 1), -p.angle_deg
    )
    theirs = kornia.geometry.transform.warp_affine(x, matrix[:, :2], (h, w), align_corners=True)
    ours = apply_affine(x, p)
    assert torch.allclose(ours, theirs, atol=2e-5), float((ours - theirs).abs().max())
    # the same parameters, one rotation sign flipped, differ by far more: the test can fail
    wrong = kornia.geometry.transform.get_affine_matrix2d(
        shift, centre, torch.stack([p.scale, p.scale], 1), p.angle_deg
    )
    assert float((kornia.geometry.transform.warp_affine(x, wrong[:, :2], (h, w)) - ours).abs().max()) > 0.1
