"""``lessonlib.policies`` (fast, batched) against ``lessonlib.reference.policies`` (one image at a time).

The reference is anchored to torchvision's own policy operation; the fast functions are then run on
the SAME draws as the reference (the samplers consume a generator in the same order, and the
reference takes its draws as plain lists) and compared pixel for pixel. Tolerances: exact for the
colour operations on uint8; for a float image 1e-5; where a geometric operation is involved, nearest-
neighbour sampling may break a tie the other way (at most 2 % of the pixels may differ, as in the
oracle tests of ``tests/test_policies.py``) and bilinear warps agree up to rounding.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import v2

from lessonlib import policies as P
from lessonlib import policy_spaces as S
from lessonlib import reference
from lessonlib.utils import make_generator

R = reference.policies
_GEOMETRIC = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}


def _images(shape, dtype, seed):
    x = torch.randint(0, 256, shape, generator=make_generator(seed), dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _space(name: str, num_bins: int, h: int, w: int) -> dict:
    """A space of ``S.SPACES`` evaluated as the reference takes it: ``{op: (bins or None, signed)}``."""
    return {op: (fn(num_bins, h, w), signed) for op, (fn, signed) in S.SPACES[name].items()}


def _as_lists(draws: P.PolicyDraws) -> list[list[tuple[str, float]]]:
    return [
        [(draws.ops[int(k)], float(m)) for k, m in zip(draws.op[i], draws.magnitude[i], strict=True)]
        for i in range(draws.op.shape[0])
    ]


def _assert_images_match(fast, ref, steps, interpolation="nearest"):
    """Image by image: exact (uint8) or 1e-5 (float) without a geometric step; with one, nearest ties
    may flip at most 2 % of the pixels, and bilinear rounding at most a grey level on 2 % of them."""
    for i, image_steps in enumerate(steps):
        a, b = fast[i].double(), ref[i].double()
        if not any(name in _GEOMETRIC for name, _ in image_steps):
            if fast.dtype == torch.uint8:
                assert torch.equal(fast[i], ref[i]), image_steps
            else:
                torch.testing.assert_close(a, b, atol=1e-5, rtol=0, msg=str(image_steps))
            continue
        tol = 1.0 if fast.dtype == torch.uint8 else 1e-5
        frac = float(((a - b).abs() > (0 if interpolation == "nearest" else tol)).double().mean())
        assert frac <= 0.02, (image_steps, frac)


@pytest.mark.parametrize("name", S.OPS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_reference_apply_op_is_torchvision_policy_operation(name, dtype):
    """The anchor: the reference is torchvision's own per-image operation, bit for bit, both signs."""
    tv = v2.TrivialAugmentWide()
    x = _images((3, 17, 20), dtype, seed=1)
    fn, signed = S.SPACES["wide"].get(name, (lambda n, h, w: None, False))
    bins = fn(31, 17, 20)
    values = [0.0] if bins is None else [float(bins[7]), float(bins[30]), float(bins[20]) * (-1 if signed else 1)]
    for m in values:
        for mode in ("nearest", "bilinear"):
            want = tv._apply_image_or_video_transform(
                x, name, m, interpolation=v2.InterpolationMode(mode), fill=tv._fill
            )
            assert torch.equal(R.apply_op(x, name, m, mode), want), (name, m, mode)


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 6),
    c=st.sampled_from([1, 3]),
    hw=st.tuples(st.integers(3, 20), st.integers(3, 20)),
    dtype=st.sampled_from([torch.uint8, torch.float32]),
    steps=st.integers(1, 2),
    interpolation=st.sampled_from(["nearest", "bilinear"]),
    fill=st.sampled_from([None, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_apply_draws_equals_reference_on_random_draws(b, c, hw, dtype, steps, interpolation, fill, seed):
    """Hand-made random draws over every operation (``Invert`` included), any bin, both signs."""
    g = make_generator(seed)
    x = _images((b, c, *hw), dtype, seed)
    table, signed = S.magnitude_table(S.OPS[:-1], "wide", 31, *hw)
    table = torch.cat([table, torch.zeros(1, 31, dtype=torch.float64)])  # Invert: no magnitude
    op = torch.randint(len(S.OPS), (b, steps), generator=g)
    k = torch.randint(31, (b, steps), generator=g)
    sign = torch.where(
        torch.cat([signed, torch.tensor([False])])[op] & (torch.rand(b, steps, generator=g) < 0.5), -1, 1
    )
    draws = P.PolicyDraws(S.OPS, op, table[op, k] * sign)
    fill = None if fill is None else (fill if dtype != torch.uint8 else fill * 255)
    fast = P.apply_draws(x, draws, interpolation=interpolation, fill=fill)
    ref = R.apply_draws(x, _as_lists(draws), interpolation, fill)
    _assert_images_match(fast, ref, _as_lists(draws), interpolation)


@settings(max_examples=50, deadline=None)
@given(
    batch=st.integers(1, 40),
    space=st.sampled_from(list(S.SPACES)),
    num_bins=st.integers(2, 31),
    num_ops=st.integers(0, 3),
    bin_=st.integers(0, 30),
    hw=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    seed=st.integers(0, 2**31),
)
def test_samplers_draw_exactly_what_the_reference_draws(batch, space, num_bins, num_ops, bin_, hw, seed):
    """Same generator state, same draws: the fast samplers' bins and signs map to the reference's
    operations and magnitudes, entry by entry (so a change on either side, in an order of draws, a
    bin value or a sign rule, fails)."""
    sp = _space(space, num_bins, *hw)
    fast = P.sample_trivial_augment(batch, *hw, num_bins=num_bins, space=space, generator=make_generator(seed))
    assert _as_lists(fast) == R.sample_trivial_augment(batch, sp, num_bins, make_generator(seed))
    m = min(bin_, num_bins - 1)
    fast = P.sample_rand_augment(
        batch, *hw, num_ops=num_ops, magnitude=m, num_bins=num_bins, space=space, generator=make_generator(seed)
    )
    assert _as_lists(fast) == R.sample_rand_augment(batch, sp, num_ops, m, make_generator(seed))


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 8),
    c=st.sampled_from([1, 3]),
    hw=st.integers(4, 24),
    dtype=st.sampled_from([torch.uint8, torch.float32, torch.float64]),
    space=st.sampled_from(list(S.SPACES)),
    seed=st.integers(0, 2**31),
)
def test_trivial_and_rand_augment_equal_the_reference_policy(b, c, hw, dtype, space, seed):
    """End to end from one seed: the fast policy is the reference sampler followed by the reference apply."""
    x = _images((b, c, hw, hw + 3), dtype, seed)
    sp = _space(space, 31, hw, hw + 3)
    fast = P.trivial_augment(x, space=space, generator=make_generator(seed))
    ref = R.trivial_augment(x, sp, 31, make_generator(seed))
    _assert_images_match(fast, ref, R.sample_trivial_augment(b, sp, 31, make_generator(seed)))
    fast = P.rand_augment(x, num_ops=2, magnitude=20, space=space, generator=make_generator(seed))
    steps = R.sample_rand_augment(b, sp, 2, 20, make_generator(seed))
    _assert_images_match(fast, R.apply_draws(x, steps), steps)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 5),
    c=st.sampled_from([1, 3]),
    hw=st.integers(4, 16),
    dtype=st.sampled_from([torch.uint8, torch.float32]),
    width=st.integers(1, 3),
    depth=st.sampled_from([-1, 1, 2]),
    all_ops=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_augmix_equals_the_reference_mix_on_the_same_chains(b, c, hw, dtype, width, depth, all_ops, seed):
    """``augmix``'s own draws (chains, Dirichlet weights, Beta m) handed to the reference mix: the same
    image within float rounding (uint8: truncation may differ by one grey level), up to the rare pixel
    where a bilinear rounding difference is amplified by a later posterize/solarize/equalize step."""
    x = _images((b, c, hw, hw + 1), dtype, seed)
    chains, weights, m = P._sample_augmix(b, hw, hw + 1, 3, width, depth, 1.0, all_ops, make_generator(seed))
    rows = _as_lists(chains)
    per_image = [[rows[k * b + i] for k in range(width)] for i in range(b)]
    fast = P.augmix(x, mixture_width=width, chain_depth=depth, all_ops=all_ops, generator=make_generator(seed))
    ref = R.augmix(x, per_image, weights, m)
    diff = (fast.double() - ref.double()).abs()
    tol = 1.0 if dtype == torch.uint8 else 1e-5
    assert float((diff > tol).double().mean()) <= 0.02
    assert float(diff.mean()) <= (0.5 if dtype == torch.uint8 else 2e-3)
    # the draws are AugMix's: convex weights, m in [0, 1], 1..3 real operations per chain
    torch.testing.assert_close(weights.sum(1), torch.ones(b, dtype=torch.float64))
    assert bool(((m >= 0) & (m <= 1)).all()) and bool((weights >= 0).all())
    real = (chains.op != len(chains.ops) - 1).sum(1)
    assert bool(((real >= 1) & (real <= (3 if depth < 0 else depth))).all())


@settings(max_examples=50, deadline=None)
@given(
    views=st.integers(2, 4),
    b=st.integers(1, 8),
    k=st.integers(1, 10),
    scale=st.sampled_from([0.1, 3.0, 40.0]),
    seed=st.integers(0, 2**31),
)
def test_jensen_shannon_consistency_equals_the_reference(views, b, k, scale, seed):
    g = make_generator(seed)
    logits = [scale * torch.randn(b, k, generator=g, dtype=torch.float64) for _ in range(views)]
    fast, ref = P.jensen_shannon_consistency(*logits), R.jensen_shannon(*logits)
    torch.testing.assert_close(fast, ref, atol=1e-9, rtol=1e-9)
    assert -1e-12 <= float(ref) <= math.log(views) + 1e-9


def test_augmix_jsd_loss_is_cross_entropy_plus_weighted_reference_jsd():
    """The BatchLoss for ``training.fit``: CE on the clean third of one forward pass plus weight × JSD
    of the three thirds, the two AugMix views drawn by one ``augmix`` call on ``[xb, xb]``."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5))
    xb, yb = _images((6, 1, 8, 8), torch.float32, seed=3), torch.arange(6) % 5
    loss = P.augmix_jsd_loss(weight=7.0, severity=4)(model, xb, yb, make_generator(11))
    views = P.augmix(torch.cat([xb, xb]), severity=4, generator=make_generator(11))
    clean, a1, a2 = model(torch.cat([xb, views])).chunk(3)
    want = F.cross_entropy(clean, yb) + 7.0 * R.jensen_shannon(clean, a1, a2)
    torch.testing.assert_close(loss, want, atol=1e-6, rtol=1e-6)
    assert loss.requires_grad
