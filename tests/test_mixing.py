"""Tests for lessonlib.mixing: oracles (torchvision v2 MixUp/CutMix, timm), statistics, properties, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import timm.data.mixup as timm_mixup
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from torchvision import tv_tensors
from torchvision.transforms import v2

from lessonlib import mixing as mixing_module
from lessonlib import reference
from lessonlib.mixing import (
    MixResult,
    box_coverage,
    cutmix,
    mixed_loss,
    mixup,
    soft_targets,
    timm_index,
    torchvision_index,
)
from lessonlib.utils import make_generator, sample_beta
from lessonlib.utils import randint as utils_randint
from lessonlib.utils import randperm as utils_randperm

K = 7


def _batch(b=6, c=3, h=12, w=10, seed=0, dtype=torch.float32):
    g = make_generator(seed)
    x = torch.rand(b, c, h, w, generator=g, dtype=dtype)
    y = torch.randint(0, K, (b,), generator=g)
    return x, y


class _FixedMixUp(v2.MixUp):
    """torchvision's MixUp with λ fixed instead of drawn from the global RNG (same transform code)."""

    def __init__(self, lam, **kw):
        super().__init__(**kw)
        self._lam = lam

    def make_params(self, flat_inputs):
        return {"lam": self._lam}


class _FixedCutMix(v2.CutMix):
    """torchvision's CutMix with the box fixed; λ is corrected exactly as torchvision does it."""

    def __init__(self, box, **kw):
        super().__init__(**kw)
        self._box = box

    def make_params(self, flat_inputs):
        h, w = flat_inputs[0].shape[-2:]
        x1, y1, x2, y2 = self._box
        return {"box": self._box, "lam_adjusted": float(1.0 - (x2 - x1) * (y2 - y1) / (w * h))}


# ----------------------------------------------------------------------------------------------
# Oracles: torchvision v2
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("lam", [0.0, 0.13, 0.5, 0.91, 1.0])
def test_mixup_equals_torchvision(seed, lam):
    x, y = _batch(seed=seed)
    ref_x, ref_y = _FixedMixUp(lam, num_classes=K)(x, y)
    r = mixup(x, y, lam=lam, index=torchvision_index(len(x)))
    torch.testing.assert_close(r.inputs, ref_x, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(soft_targets(r, K), ref_y)


def test_torchvision_random_pairing_is_i_minus_1():
    """Run the unmodified torchvision MixUp and recover its λ: our index reproduces its output."""
    x, y = _batch(b=5, seed=3)
    torch.manual_seed(0)
    ref_x, ref_y = v2.MixUp(alpha=1.0, num_classes=K)(x, y)
    lam = float(ref_y[0, y[0]]) if y[0] != y[-1] else None
    assert lam is not None
    r = mixup(x, y, lam=lam, index=torchvision_index(5))
    torch.testing.assert_close(r.inputs, ref_x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("box", [(0, 0, 5, 4), (2, 3, 9, 12), (0, 0, 10, 12), (4, 4, 4, 9), (3, 1, 10, 7)])
def test_cutmix_equals_torchvision(seed, box):
    x, y = _batch(seed=seed)
    ref_x, ref_y = _FixedCutMix(box, num_classes=K)(x, y)
    r = cutmix(x, y, box=box, index=torchvision_index(len(x)))
    torch.testing.assert_close(r.inputs, ref_x, rtol=0, atol=0)
    torch.testing.assert_close(soft_targets(r, K), ref_y)
    x1, y1, x2, y2 = box
    assert r.lam == 1.0 - (x2 - x1) * (y2 - y1) / (12 * 10)


def test_cutmix_per_sample_same_box_equals_per_batch():
    x, y = _batch(b=5, seed=1)
    box = (1, 2, 7, 9)
    idx = torchvision_index(5)
    a = cutmix(x, y, box=box, index=idx)
    b = cutmix(x, y, box=torch.tensor([box] * 5), index=idx, per_sample=True)
    c = cutmix(x, y, box=box, index=idx, per_sample=True)
    assert torch.equal(b.inputs, c.inputs) and torch.equal(b.box, c.box)
    torch.testing.assert_close(a.inputs, b.inputs, rtol=0, atol=0)
    torch.testing.assert_close(b.lam, torch.full((5,), a.lam))
    torch.testing.assert_close(soft_targets(a, K), soft_targets(b, K))


# ----------------------------------------------------------------------------------------------
# Oracles: timm
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("lam", [0.0, 0.27, 0.5, 1.0])
def test_soft_targets_equal_timm_mixup_target(smoothing, lam):
    _, y = _batch(b=9, seed=int(lam * 100))
    ref = timm_mixup.mixup_target(y, K, lam=lam, smoothing=smoothing)
    r = mixup(torch.zeros(9, 2), y, lam=lam, index=timm_index(9))
    out = soft_targets(r, K, label_smoothing=smoothing)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(out.sum(1), torch.ones(9))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_soft_targets_multi_label_equal_timm(smoothing):
    g = make_generator(4)
    y = (torch.rand(6, K, generator=g) > 0.6).float()
    ref = timm_mixup.mixup_target(y, K, lam=0.3, smoothing=smoothing, multi_label=True)
    r = mixup(torch.zeros(6, 3), y, lam=0.3, index=timm_index(6))
    torch.testing.assert_close(soft_targets(r, K, label_smoothing=smoothing, multi_label=True), ref)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("lam", [0.05, 0.4, 0.77, 0.999])
def test_box_geometry_equals_timm_rand_bbox(seed, lam, monkeypatch):
    """Same centre → same box as timm's rand_bbox; λ is then the clipped kept area (timm's correct_lam)."""
    from lessonlib.mixing import _box_from_lam

    h, w = 13, 9
    g = make_generator(seed)
    cy, cx = int(torch.randint(0, h, (1,), generator=g)), int(torch.randint(0, w, (1,), generator=g))
    centres = iter([cy, cx])  # timm draws cy then cx from numpy's global RNG; we hand it ours instead
    monkeypatch.setattr(timm_mixup.np.random, "randint", lambda low, high, size=None: next(centres))
    yl, yh, xl, xh = timm_mixup.rand_bbox((3, h, w), lam)
    box = _box_from_lam(torch.tensor([lam]), torch.tensor([cx]), torch.tensor([cy]), h, w)[0].tolist()
    assert box == [int(xl), int(yl), int(xh), int(yh)]
    x, y = _batch(b=3, h=h, w=w, seed=seed)
    r = cutmix(x, y, box=tuple(box))
    assert r.lam == pytest.approx(1.0 - (xh - xl) * (yh - yl) / float(h * w), abs=0)


# ----------------------------------------------------------------------------------------------
# The two formulations of the loss, and where they part
# ----------------------------------------------------------------------------------------------


def _logits_and_result(per_sample, seed=0, b=8):
    g = make_generator(seed)
    logits = torch.randn(b, K, generator=g, dtype=torch.float64)
    y = torch.randint(0, K, (b,), generator=g)
    r = mixup(torch.zeros(b, 2, dtype=torch.float64), y, alpha=0.7, per_sample=per_sample, generator=g)
    return logits, r


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_mixed_loss_equals_soft_target_cross_entropy(per_sample, smoothing):
    logits, r = _logits_and_result(per_sample)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, reduction="none" if per_sample else "mean")
    pairs = mixed_loss(crit, logits, r)
    soft = F.cross_entropy(logits, soft_targets(r, K, label_smoothing=smoothing))
    torch.testing.assert_close(pairs, soft)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_mixed_loss_equals_soft_target_bce(per_sample, pos_weight):
    """BCE is affine in the target, so the identity holds — also with pos_weight (it weights y, linearly)."""
    g = make_generator(1)
    logits = torch.randn(8, K, generator=g, dtype=torch.float64)
    y = (torch.rand(8, K, generator=g) > 0.5).double()
    r = mixup(torch.zeros(8, 1, dtype=torch.float64), y, alpha=0.5, per_sample=per_sample, generator=g)
    pw = None if pos_weight is None else torch.full((K,), pos_weight, dtype=torch.float64)
    crit = torch.nn.BCEWithLogitsLoss(pos_weight=pw, reduction="none" if per_sample else "mean")
    pairs = mixed_loss(crit, logits, r)
    soft = F.binary_cross_entropy_with_logits(logits, soft_targets(r, K, multi_label=True), pos_weight=pw)
    torch.testing.assert_close(pairs, soft)


def test_identity_fails_for_class_weighted_ce_mean():
    """Integer targets are normalised by Σ w[y_i], soft targets by B: the two forms differ."""
    logits, r = _logits_and_result(False, seed=2)
    w = torch.linspace(0.2, 3.0, K, dtype=torch.float64)
    pairs = mixed_loss(torch.nn.CrossEntropyLoss(weight=w), logits, r)
    soft = F.cross_entropy(logits, soft_targets(r, K), weight=w)
    assert not torch.allclose(pairs, soft, rtol=1e-3)
    # with reduction='sum' both are the same weighted sum, so they agree again
    pairs_sum = mixed_loss(torch.nn.CrossEntropyLoss(weight=w, reduction="sum"), logits, r)
    torch.testing.assert_close(pairs_sum, F.cross_entropy(logits, soft_targets(r, K), weight=w, reduction="sum"))


def test_identity_fails_when_smoothing_on_one_side_only():
    logits, r = _logits_and_result(False, seed=3)
    pairs = mixed_loss(torch.nn.CrossEntropyLoss(), logits, r)
    soft = F.cross_entropy(logits, soft_targets(r, K, label_smoothing=0.2))
    assert not torch.allclose(pairs, soft, rtol=1e-3)


def test_identity_fails_for_focal_loss():
    """A loss non-linear in the target (focal with the target inside the modulating factor)."""

    def focal(logits, target, gamma=2.0):
        t = F.one_hot(target, K).to(logits.dtype) if target.ndim == 1 else target
        p = logits.softmax(1)
        return (-(t * (1 - p) ** gamma * p.log()).sum(1) * (1 + t.max(1).values)).mean()

    logits, r = _logits_and_result(False, seed=4)
    assert not torch.allclose(mixed_loss(focal, logits, r), focal(logits, soft_targets(r, K)), rtol=1e-3)


def test_mixed_loss_per_sample_needs_unreduced_criterion():
    logits, r = _logits_and_result(True)
    with pytest.raises(ValueError, match="reduction='none'"):
        mixed_loss(torch.nn.CrossEntropyLoss(), logits, r)


def test_mixed_loss_per_sample_weights_each_row():
    logits, r = _logits_and_result(True, seed=5)
    la = F.cross_entropy(logits, r.targets_a, reduction="none")
    lb = F.cross_entropy(logits, r.targets_b, reduction="none")
    expected = (r.lam * la + (1 - r.lam) * lb).mean()
    torch.testing.assert_close(mixed_loss(torch.nn.CrossEntropyLoss(reduction="none"), logits, r), expected)


# ----------------------------------------------------------------------------------------------
# Statistics: λ ~ Beta(α, α); box area matches 1 − λ; clipping corrects λ
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_lambda_distribution_is_beta(alpha):
    g = make_generator(123)
    r = mixup(torch.zeros(4000, 1), torch.zeros(4000, dtype=torch.long), alpha=alpha, per_sample=True, generator=g)
    lam = r.lam.double().numpy()
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    # and the per-batch draws, one per call
    g = make_generator(7)
    per_batch = [
        mixup(torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), alpha=alpha, generator=g).lam for _ in range(800)
    ]
    assert stats.kstest(per_batch, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    # a wrong α is rejected by the same test (so the test can fail)
    assert stats.kstest(lam, stats.beta(alpha * 3, alpha * 3).cdf).pvalue < 0.01


@pytest.mark.parametrize("lam", [0.1, 0.36, 0.64, 0.9])
def test_cutmix_area_matches_lambda_inside_image(lam):
    """A box that fits inside the image has area (1 − λ)·H·W up to the integer side; clipped ones are smaller."""
    h = w = 50
    x = torch.zeros(3000, 1, h, w)
    r = cutmix(x, torch.zeros(3000, dtype=torch.long), lam=lam, per_sample=True, generator=make_generator(5))
    side = int(w * math.sqrt(1 - lam))
    x1, y1, x2, y2 = r.box.unbind(1)
    inside = (x2 - x1 == side) & (y2 - y1 == side)
    assert int(inside.sum()) >= 3
    torch.testing.assert_close(r.lam[inside], torch.full((int(inside.sum()),), 1 - side * side / (h * w)))
    assert float((r.lam[inside] - lam).abs().max()) <= 2 * side / (h * w) + 1e-6
    assert bool((r.lam[~inside] > 1 - side * side / (h * w)).all())  # clipping only shrinks the box


def test_cutmix_border_clipping_corrects_lambda_exactly():
    g = make_generator(0)
    x, y = _batch(b=64, h=32, w=32, seed=1)
    r = cutmix(x, y, lam=0.2, per_sample=True, generator=g)
    x1, y1, x2, y2 = r.box.unbind(1)
    area = (x2 - x1) * (y2 - y1)
    assert bool((area < int(32 * math.sqrt(0.8)) ** 2).any()), "expected some boxes clipped at the border"
    torch.testing.assert_close(r.lam, 1 - area.float() / 1024, rtol=0, atol=0)
    # the pixels agree with the label: the changed area is the box
    changed = (r.inputs != x).any(1).float().sum((1, 2))
    same_partner = r.index == torch.arange(64)
    torch.testing.assert_close(changed[~same_partner], area[~same_partner].float())


def test_cutmix_pixels_inside_and_outside_box():
    x, y = _batch(b=4, h=9, w=11, seed=2)
    idx = torch.tensor([2, 0, 3, 1])
    r = cutmix(x, y, box=(2, 1, 7, 6), index=idx)
    torch.testing.assert_close(r.inputs[:, :, 1:6, 2:7], x[idx][:, :, 1:6, 2:7], rtol=0, atol=0)
    mask = torch.ones(9, 11, dtype=torch.bool)
    mask[1:6, 2:7] = False
    torch.testing.assert_close(r.inputs[..., mask], x[..., mask], rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# Reproducibility, properties (hypothesis), device/dtype, no in-place changes
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize("per_sample", [False, True])
def test_same_seed_same_result(fn, per_sample):
    x, y = _batch(b=9)
    a = fn(x, y, alpha=0.8, per_sample=per_sample, generator=make_generator(11))
    b = fn(x, y, alpha=0.8, per_sample=per_sample, generator=make_generator(11))
    c = fn(x, y, alpha=0.8, per_sample=per_sample, generator=make_generator(12))
    torch.testing.assert_close(a.inputs, b.inputs, rtol=0, atol=0)
    assert torch.equal(a.index, b.index)
    assert not torch.equal(a.inputs, c.inputs)
    state = torch.random.get_rng_state()
    fn(x, y, generator=make_generator(1))
    assert torch.equal(state, torch.random.get_rng_state()), "the global RNG must not be touched"


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 6),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    alpha=st.floats(0.05, 5.0),
    per_sample=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cutmix_properties(b, h, w, alpha, per_sample, seed):
    g = make_generator(seed)
    x = torch.rand(b, 2, h, w, generator=g)
    y = torch.randint(0, K, (b,), generator=g)
    x0 = x.clone()
    r = cutmix(x, y, alpha=alpha, per_sample=per_sample, generator=g)
    assert torch.equal(x, x0)
    assert r.inputs.shape == x.shape and r.inputs.dtype == x.dtype
    assert sorted(r.index.tolist()) == list(range(b))
    boxes = r.box if per_sample else torch.tensor([r.box])
    x1, y1, x2, y2 = boxes.unbind(1)
    assert bool(((0 <= x1) & (x1 <= x2) & (x2 <= w) & (0 <= y1) & (y1 <= y2) & (y2 <= h)).all())
    lam = r.lam if per_sample else torch.tensor([r.lam])
    torch.testing.assert_close(lam.double(), 1 - ((x2 - x1) * (y2 - y1)).double() / (h * w), atol=1e-7, rtol=0)
    t = soft_targets(r, K)
    assert t.shape == (b, K)
    torch.testing.assert_close(t.sum(1), torch.ones(b))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    alpha=st.floats(0.05, 5.0),
    per_sample=st.booleans(),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_mixup_properties(shape, alpha, per_sample, seed, dtype):
    g = make_generator(seed)
    x = torch.randn(*shape, generator=g, dtype=dtype)
    y = torch.randint(0, K, (shape[0],), generator=g)
    x0 = x.clone()
    r = mixup(x, y, alpha=alpha, per_sample=per_sample, generator=g)
    assert torch.equal(x, x0)
    assert r.inputs.shape == x.shape and r.inputs.dtype == dtype
    assert r.per_sample == per_sample
    lam = r.lam if per_sample else torch.full((shape[0],), r.lam, dtype=dtype)
    assert bool(((lam >= 0) & (lam <= 1)).all())
    w = lam.to(dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    torch.testing.assert_close(r.inputs, w * x + (1 - w) * x[r.index])
    assert torch.equal(r.targets_b, y[r.index])
    torch.testing.assert_close(soft_targets(r, K).sum(1), torch.ones(shape[0], dtype=soft_targets(r, K).dtype))


def test_batch_of_one_stays_a_batch():
    x, y = _batch(b=1)
    for r in (mixup(x, y, generator=make_generator(0)), cutmix(x, y, generator=make_generator(0))):
        assert r.inputs.shape == x.shape
        assert r.targets_a.shape == (1,) and r.targets_b.shape == (1,)
        assert soft_targets(r, K).shape == (1, K)
        torch.testing.assert_close(r.inputs, x)  # the only partner is itself


def test_integer_images():
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    y = torch.arange(4)
    with pytest.raises(TypeError, match="floating"):
        mixup(x, y)
    r = cutmix(x, y, box=(1, 1, 5, 5), index=torchvision_index(4))
    assert r.inputs.dtype == torch.uint8
    assert torch.equal(r.inputs, _FixedCutMix((1, 1, 5, 5), num_classes=4)(x, y)[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_kept_on_gpu():
    x, y = _batch()
    x, y = x.cuda(), y.cuda()
    for fn in (mixup, cutmix):
        for ps in (False, True):
            r = fn(x, y, per_sample=ps, generator=make_generator(0))
            assert r.inputs.device == x.device and r.index.device == x.device
            assert soft_targets(r, K).device == x.device
            if ps:
                assert r.lam.device == x.device
            cpu = fn(x.cpu(), y.cpu(), per_sample=ps, generator=make_generator(0))
            torch.testing.assert_close(r.inputs.cpu(), cpu.inputs)


# ----------------------------------------------------------------------------------------------
# Bad inputs: clear errors naming the parameter
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [mixup, cutmix])
def test_bad_inputs_common(fn):
    x, y = _batch()
    with pytest.raises(ValueError, match="alpha"):
        fn(x, y, alpha=0)
    with pytest.raises(ValueError, match="alpha"):
        fn(x, y, alpha=-1.0)
    with pytest.raises(ValueError, match="lam"):
        fn(x, y, lam=1.5)
    with pytest.raises(ValueError, match="lam"):
        fn(x, y, lam=-0.1)
    with pytest.raises(ValueError, match="lam"):
        fn(x, y, lam=torch.tensor([0.5, 2.0, 0.1, 0.1, 0.1, 0.1]), per_sample=True)
    with pytest.raises(ValueError, match="per_sample"):
        fn(x, y, lam=torch.full((6,), 0.5))
    with pytest.raises(ValueError, match="batch size"):
        fn(x, y[:5])
    with pytest.raises(ValueError, match="index"):
        fn(x, y, index=torch.arange(5))
    with pytest.raises(ValueError, match="index"):
        fn(x, y, index=torch.arange(6) + 1)
    with pytest.raises(TypeError, match="index"):
        fn(x, y, index=torch.arange(6).int())
    with pytest.raises(TypeError, match="y"):
        fn(x, y.float())
    with pytest.raises(TypeError, match="generator"):
        fn(x, y, generator=0)
    with pytest.raises(ValueError, match=r"x is an empty batch \(shape \(0, 3, 12, 10\)\); expected at least one"):
        fn(x[:0], y[:0])


def test_bad_inputs_cutmix():
    x, y = _batch(h=12, w=10)
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        cutmix(x[0], y)
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        cutmix(x.unsqueeze(1), y)
    with pytest.raises(ValueError, match="box"):
        cutmix(x, y, box=(0, 0, 11, 5))  # x2 > W
    with pytest.raises(ValueError, match="box"):
        cutmix(x, y, box=(-1, 0, 4, 5))
    with pytest.raises(ValueError, match="box"):
        cutmix(x, y, box=(5, 0, 4, 5))  # x1 > x2
    with pytest.raises(TypeError, match="box"):
        cutmix(x, y, box=(0.5, 0, 4, 5))
    with pytest.raises(ValueError, match="box"):
        cutmix(x, y, box=torch.tensor([[0, 0, 4, 13]] * 6), per_sample=True)
    with pytest.raises(ValueError, match="lam or box"):
        cutmix(x, y, lam=0.5, box=(0, 0, 4, 4))


def test_bad_inputs_targets_and_loss():
    x, y = _batch()
    r = mixup(x, y, generator=make_generator(0))
    with pytest.raises(ValueError, match="labels must lie"):
        soft_targets(r, 3)
    with pytest.raises(ValueError, match="label_smoothing"):
        soft_targets(r, K, label_smoothing=1.5)
    with pytest.raises(ValueError, match="num_classes"):
        soft_targets(r, 0)
    with pytest.raises(TypeError, match="MixResult"):
        soft_targets((x, y), K)
    with pytest.raises(ValueError, match="multi_label"):
        soft_targets(r, K, multi_label=True)
    with pytest.raises(ValueError, match="logits"):
        mixed_loss(torch.nn.CrossEntropyLoss(), torch.randn(5, K), r)
    with pytest.raises(TypeError, match="criterion"):
        mixed_loss("ce", torch.randn(6, K), r)


def test_mixresult_is_documented_fields():
    x, y = _batch()
    r = cutmix(x, y, generator=make_generator(0))
    assert isinstance(r, MixResult)
    assert {"inputs", "targets_a", "targets_b", "lam", "index", "box"} <= set(r.__dataclass_fields__)
    assert isinstance(r.lam, float) and isinstance(r.box, tuple) and r.index.dtype == torch.int64


def test_box_coverage_matches_direct_count():
    g = make_generator(9)
    mask = torch.rand(17, 13, generator=g) > 0.8
    x1 = torch.randint(0, 13, (50,), generator=g)
    y1 = torch.randint(0, 17, (50,), generator=g)
    x2 = x1 + torch.randint(0, 14, (50,), generator=g)
    y2 = y1 + torch.randint(0, 18, (50,), generator=g)
    boxes = torch.stack([x1, y1, x2.clamp(max=13), y2.clamp(max=17)], 1)
    cov = box_coverage(mask, boxes)
    direct = torch.stack([mask[b[1] : b[3], b[0] : b[2]].sum() for b in boxes]).double() / mask.sum()
    torch.testing.assert_close(cov, direct)
    assert float(box_coverage(mask, (0, 0, 13, 17))) == 1.0
    # the visible share of the lesion after CutMix equals 1 − coverage (masks mixed like the images)
    masks = mask[None, None].expand(3, 1, 17, 13)
    r = cutmix(masks, torch.zeros(3, dtype=torch.long), box=(2, 3, 9, 11), index=torch.tensor([1, 2, 0]))
    partner_free = cutmix(
        torch.stack([masks[0], torch.zeros_like(masks[0])]),
        torch.zeros(2, dtype=torch.long),
        box=r.box,
        index=torch.tensor([1, 0]),
    )
    visible = partner_free.inputs[0].sum() / mask.sum()
    torch.testing.assert_close(visible.double(), 1 - box_coverage(mask, r.box)[0])
    with pytest.raises(ValueError, match="empty"):
        box_coverage(torch.zeros(4, 4), (0, 0, 2, 2))
    with pytest.raises(ValueError, match="box"):
        box_coverage(mask, (0, 0, 14, 2))


# ----------------------------------------------------------------------------------------------
# The notebooks' exercise checkers accept a correct answer and reject the classic bugs
# ----------------------------------------------------------------------------------------------


def test_exercise_checkers_nb04():
    from lessonlib.exercises import nb04

    def good(x, y, lam, index, k):
        r = mixup(x, y, lam=lam, index=index)
        return r.inputs, soft_targets(r, k)

    def squeezed(x, y, lam, index, k):  # the seed lesson's bug: .squeeze() turns a batch of one into a scalar row
        xs, ys = good(x, y, lam, index, k)
        return xs.squeeze(), ys.squeeze()

    def lam_swapped(x, y, lam, index, k):
        return good(x, y, 1 - lam, index, k)

    assert nb04.check_mixup_function(good)
    assert not nb04.check_mixup_function(squeezed)
    assert not nb04.check_mixup_function(lam_swapped)
    assert nb04.check_mixup_function(...).passed is None
    assert not nb04.check_soft_target_row(torch.tensor([0.0, 0, 0, 0.7, 0, 0.3, 0, 0, 0, 0]))
    assert not nb04.check_when_forms_differ({"plain cross-entropy"})


def test_exercise_checkers_nb05():
    from lessonlib.exercises import nb05

    def good(x, box, index):
        r = cutmix(x, torch.zeros(len(x), dtype=torch.long), box=box, index=index)
        return r.inputs, r.lam

    def axes_swapped(x, box, index):  # rows indexed by x1:x2 — the classic transposed box
        x1, y1, x2, y2 = box
        out = x.clone()
        out[:, :, x1:x2, y1:y2] = x[index][:, :, x1:x2, y1:y2]
        return out, good(x, box, index)[1]

    assert nb05.check_cutmix_function(good)
    assert not nb05.check_cutmix_function(axes_swapped)
    assert not nb05.check_clipped_lambda(0.75)  # the uncorrected λ
    assert nb05.check_clipped_lambda(1 - 144 / 1024)
    assert not nb05.check_lesion_visible(lambda m, b, i: m.flatten(1).any(1))  # ignores the box


# ----------------------------------------------------------------------------------------------
# Issue 17: peers' behaviour and clear errors at the edges (each test fails on the old code)
# ----------------------------------------------------------------------------------------------


def _timm_box(lam: float, h: int, w: int, cx: int, cy: int, monkeypatch) -> list[int]:
    """timm's rand_bbox for a given centre, as (x1, y1, x2, y2)."""
    centres = iter([cy, cx])
    monkeypatch.setattr(timm_mixup.np.random, "randint", lambda low, high, size=None: next(centres))
    yl, yh, xl, xh = timm_mixup.rand_bbox((1, h, w), lam)
    return [int(xl), int(yl), int(xh), int(yh)]


def test_per_batch_cutmix_sizes_the_box_in_float64_like_timm_and_per_sample(monkeypatch):
    """Item 1: λ = 0.36 on 100 x 100 gives an 80-pixel box (float32 λ gave 79); λ = 0.99 on 10 x 10 cuts 1 x 1."""
    from lessonlib.mixing import _box_from_lam

    for seed in range(20):
        x = torch.zeros(1, 1, 100, 100)
        r = cutmix(x, torch.arange(1), lam=0.36, generator=make_generator(seed))
        rs = cutmix(x, torch.arange(1), lam=0.36, per_sample=True, generator=make_generator(seed))
        assert list(r.box) == rs.box[0].tolist()  # per batch == per sample for the same draws
        x1, y1, x2, y2 = r.box
        cx, cy = x1 + 40, y1 + 40
        if 0 < x1 and x2 < 100 and 0 < y1 and y2 < 100:  # unclipped
            assert (x2 - x1, y2 - y1) == (80, 80)
            assert list(r.box) == _timm_box(0.36, 100, 100, cx, cy, monkeypatch)
        small = cutmix(torch.zeros(1, 1, 10, 10), torch.arange(1), lam=0.99, generator=make_generator(seed))
        sx1, sy1, sx2, sy2 = small.box
        assert (sx2 - sx1) * (sy2 - sy1) == 1 and small.lam == pytest.approx(0.99, abs=1e-12)
    for lam in (0.36, 0.19, 0.51, 0.99, 0.0):
        box = _box_from_lam(torch.tensor([lam], dtype=torch.float64), torch.tensor([50]), torch.tensor([50]), 100, 100)
        assert box[0].tolist() == _timm_box(lam, 100, 100, 50, 50, monkeypatch)


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize("per_sample", [False, True])
def test_default_pairing_never_pairs_a_sample_with_itself(fn, per_sample):
    """Item 4: torchvision (roll) and timm (flip, for even B) never self-mix; a plain permutation did."""
    fixed_points_seen = 0
    for b in range(2, 10):
        for seed in range(30):
            x, y = _batch(b=b, h=6, w=6, seed=seed)
            r = fn(x, y, per_sample=per_sample, generator=make_generator(seed))
            assert sorted(r.index.tolist()) == list(range(b))  # every sample is a partner exactly once
            fixed_points_seen += int((r.index == torch.arange(b)).sum())
    assert fixed_points_seen == 0
    x, y = _batch(b=1)
    assert fn(x, y, generator=make_generator(0)).index.tolist() == [0]  # a batch of one has no other partner


def test_default_pairing_reaches_every_partner():
    """The cycle is random: over seeds, sample 0 meets every other sample of the batch."""
    x, y = _batch(b=5)
    partners = {int(mixup(x, y, generator=make_generator(s)).index[0]) for s in range(60)}
    assert partners == {1, 2, 3, 4}


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize(
    "make",
    [
        lambda: tv_tensors.Mask(torch.zeros(4, 1, 8, 8)),
        lambda: tv_tensors.BoundingBoxes(torch.rand(4, 4) * 4, format="XYXY", canvas_size=(8, 8)),
        lambda: tv_tensors.KeyPoints(torch.rand(4, 2) * 4, canvas_size=(8, 8)),
    ],
)
def test_masks_boxes_and_points_are_refused_like_torchvision(fn, make):
    """Item 5: blending label maps or averaging coordinates used to pass silently."""
    x = make()
    with pytest.raises(ValueError, match=r"tv_tensors\.\w+; .*(result\.box|yourself)"):
        fn(x, torch.arange(4), generator=make_generator(0))
    # torchvision refuses the same inputs
    with pytest.raises(ValueError):
        (v2.MixUp if fn is mixup else v2.CutMix)(num_classes=4)(torch.rand(4, 3, 8, 8), make(), torch.arange(4))


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize("per_sample", [False, True])
def test_output_keeps_the_input_tensor_subclass(fn, per_sample):
    """Item 6: Image in, Image out (per-sample CutMix and Mixup returned a plain Tensor)."""
    x, y = _batch()
    r = fn(tv_tensors.Image(x), y, per_sample=per_sample, generator=make_generator(0))
    assert type(r.inputs) is tv_tensors.Image
    plain = fn(x, y, per_sample=per_sample, generator=make_generator(0))
    assert type(plain.inputs) is torch.Tensor and torch.equal(plain.inputs, r.inputs.as_subclass(torch.Tensor))
    # torchvision keeps it too
    out, _ = (v2.MixUp if fn is mixup else v2.CutMix)(num_classes=K)(tv_tensors.Image(x), y)
    assert type(out) is tv_tensors.Image


@pytest.mark.parametrize(
    "lam",
    [np.float32(0.3), np.float16(0.25), np.float64(0.3), np.array(0.3), np.array(0.3, dtype=np.float32), 1, np.int64(0)]
    + [torch.tensor(0.3), torch.tensor(0.3, dtype=torch.float16)],
)
@pytest.mark.parametrize("fn", [mixup, cutmix])
def test_every_real_scalar_lam_is_accepted(lam, fn):
    """Item 7: np.float32 and 0-d arrays were refused."""
    x, y = _batch()
    value = float(lam.item() if hasattr(lam, "item") else lam)
    got = fn(x, y, lam=lam, generator=make_generator(2))
    want = fn(x, y, lam=value, generator=make_generator(2))
    assert torch.equal(got.inputs, want.inputs) and got.lam == want.lam


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize(
    "lam,exc", [(True, TypeError), ("0.5", TypeError), (None, None), (float("nan"), ValueError), (1.01, ValueError)]
)
def test_bad_scalar_lam_names_the_parameter(fn, lam, exc):
    x, y = _batch()
    if exc is None:
        fn(x, y, lam=lam, generator=make_generator(0))  # None = draw it
        return
    with pytest.raises(exc, match="lam"):
        fn(x, y, lam=lam)


def test_index_helpers_refuse_non_integers_and_negative_sizes():
    """Item 13: timm_index(2.5) returned a float tensor; torchvision_index(-1) a torch error."""
    for helper in (timm_index, torchvision_index):
        with pytest.raises(TypeError, match="batch_size"):
            helper(2.5)
        with pytest.raises(TypeError, match="batch_size"):
            helper(True)
        with pytest.raises(ValueError, match="batch_size"):
            helper(-1)
        with pytest.raises(ValueError, match="batch_size"):
            helper(0)
        assert helper(np.int64(4)).dtype == torch.int64


@pytest.mark.parametrize(
    "x_dtype,t_dtype,want",
    [
        (torch.float32, None, torch.float32),
        (torch.float64, None, torch.float64),
        (torch.float32, torch.float64, torch.float64),
    ]
    + [(torch.float64, torch.float32, torch.float64), (torch.float16, None, torch.float32)],
)
def test_soft_targets_dtype_is_the_same_per_batch_and_per_sample(x_dtype, t_dtype, want):
    """Item 13: float64 soft targets gave float64 per batch but float32 per sample."""
    x = torch.rand(5, 3, dtype=x_dtype)
    y = torch.arange(5) % K if t_dtype is None else torch.softmax(torch.randn(5, K), 1).to(t_dtype)
    for ps in (False, True):
        t = soft_targets(mixup(x, y, lam=0.3, per_sample=ps, index=timm_index(5)), K)
        assert t.dtype == want
    a = soft_targets(mixup(x, y, lam=0.3, index=timm_index(5)), K)
    b = soft_targets(mixup(x, y, lam=0.3, per_sample=True, index=timm_index(5)), K)
    torch.testing.assert_close(a, b)


def test_soft_targets_refuse_bad_scalars_naming_them():
    r = mixup(*_batch(), generator=make_generator(0))
    with pytest.raises(TypeError, match="num_classes"):
        soft_targets(r, 7.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        soft_targets(r, K, label_smoothing=float("nan"))
    with pytest.raises(TypeError, match="multi_label"):
        soft_targets(r, K, multi_label=1)


def test_box_coverage_refuses_nan_and_negative_masks():
    """Item 13: a NaN mask returned NaN."""
    m = torch.zeros(6, 6)
    m[1:3, 1:3] = 1
    bad = m.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="mask"):
        box_coverage(bad, (0, 0, 3, 3))
    neg = m.clone()
    neg[5, 5] = -1
    with pytest.raises(ValueError, match="mask"):
        box_coverage(neg, (0, 0, 3, 3))
    assert float(box_coverage(m * 0.5, (0, 0, 2, 2))) == pytest.approx(0.25)  # a soft mask is a weighting


# ----------------------------------------------------------------------------------------------
# Property tests of the remaining public functions' contracts
# ----------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 40), which=st.sampled_from(["timm", "torchvision"]))
def test_property_index_helpers_are_the_references_pairings(b, which):
    idx = (timm_index if which == "timm" else torchvision_index)(b)
    assert idx.dtype == torch.int64 and sorted(idx.tolist()) == list(range(b))
    x = torch.arange(b)
    assert torch.equal(x[idx], x.flip(0) if which == "timm" else x.roll(1, 0))


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    n=st.integers(1, 6),
    soft=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_box_coverage_counts_the_mask_inside_each_box(h, w, n, soft, seed):
    g = make_generator(seed)
    mask = torch.rand(h, w, generator=g) if soft else torch.rand(h, w, generator=g) > 0.5
    if float(mask.sum()) == 0:
        mask[0, 0] = True
    before = mask.clone()
    a = torch.stack([torch.randint(0, w + 1, (n,), generator=g), torch.randint(0, h + 1, (n,), generator=g)], 1)
    c = torch.stack([torch.randint(0, w + 1, (n,), generator=g), torch.randint(0, h + 1, (n,), generator=g)], 1)
    lo, hi = torch.minimum(a, c), torch.maximum(a, c)
    boxes = torch.cat([lo, hi], 1)
    cov = box_coverage(mask, boxes)
    m = mask.double()
    direct = torch.stack([m[b[1] : b[3], b[0] : b[2]].sum() for b in boxes]) / m.sum()
    torch.testing.assert_close(cov, direct)
    assert cov.dtype == torch.float64 and bool(((cov >= 0) & (cov <= 1 + 1e-12)).all())
    assert torch.equal(mask, before)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 8), per_sample=st.booleans(), smoothing=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_property_mixed_loss_equals_soft_target_cross_entropy(b, per_sample, smoothing, seed):
    g = make_generator(seed)
    x = torch.rand(b, 2, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, K, (b,), generator=g)
    logits = torch.randn(b, K, generator=g, dtype=torch.float64)
    r = cutmix(x, y, per_sample=per_sample, generator=g)
    ce = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, reduction="none" if per_sample else "mean")
    got = mixed_loss(ce, logits, r)
    want = F.cross_entropy(logits, soft_targets(r, K), label_smoothing=smoothing)
    torch.testing.assert_close(got, want)
    t = soft_targets(r, K, label_smoothing=smoothing)
    torch.testing.assert_close(t.sum(1), torch.ones(b, dtype=t.dtype))
    assert bool((t >= 0).all())


@settings(max_examples=40, deadline=None)
@given(
    bad=st.one_of(
        st.text(max_size=3),
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not 0 <= v <= 1),
        st.lists(st.floats(0, 1), min_size=2, max_size=2),
    ),
    fn=st.sampled_from([mixup, cutmix]),
)
def test_property_bad_lam_is_a_clear_error_or_a_draw(bad, fn):
    x, y = _batch(b=3, h=5, w=5)
    if bad is None:
        fn(x, y, lam=bad, generator=make_generator(0))
        return
    with pytest.raises((TypeError, ValueError), match="lam"):
        fn(x, y, lam=bad)


# ----------------------------------------------------------------------------------------------
# Fast == reference (lessonlib.reference.mixing), on random inputs and the same random draws
# ----------------------------------------------------------------------------------------------
# Tolerance: pixels and target rows agree to 1e-6 absolute for float32 inputs in [0, 1) (the fast
# mixup computes partner + λ·(x − partner), the reference λ·x + (1 − λ)·partner: one rounding apart);
# CutMix pixels and boxes are copies and agree exactly; λ agrees to 1e-12.


_REF_TOL = {"rtol": 0, "atol": 1e-6}


@st.composite
def _mix_case(draw, max_side=9):
    b = draw(st.integers(1, 6))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**16))
    g = make_generator(seed)
    x = torch.rand(b, draw(st.integers(1, 3)), h, w, generator=g)
    y = torch.randint(0, K, (b,), generator=g)
    index = torch.randint(0, b, (b,), generator=g)  # any pairing, self-pairs and repeats included
    return x, y, index, seed


@settings(max_examples=40, deadline=None)
@given(_mix_case(), st.floats(0.0, 1.0), st.sampled_from([0.0, 0.1, 0.3]))
def test_property_mixup_per_batch_equals_reference(case, lam, smoothing):
    x, y, index, _ = case
    r = mixup(x, y, lam=lam, index=index)
    want_x, want_t = reference.mixing.mixup(x, reference.mixing.one_hot(y, K, smoothing), lam, index)
    torch.testing.assert_close(r.inputs, want_x, **_REF_TOL)
    torch.testing.assert_close(soft_targets(r, K, label_smoothing=smoothing), want_t, **_REF_TOL)


@settings(max_examples=40, deadline=None)
@given(_mix_case(), st.sampled_from([0.0, 0.2]))
def test_property_mixup_per_sample_draws_equal_reference(case, smoothing):
    """The drawn λ and pairing (read back from the result) put through the reference give the same batch."""
    x, y, _, seed = case
    r = mixup(x, y, alpha=0.7, per_sample=True, generator=make_generator(seed))
    want_x, want_t = reference.mixing.mixup(x, reference.mixing.one_hot(y, K, smoothing), r.lam, r.index)
    torch.testing.assert_close(r.inputs, want_x, **_REF_TOL)
    torch.testing.assert_close(soft_targets(r, K, label_smoothing=smoothing), want_t, **_REF_TOL)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.floats(0.0, 1.0), st.data())
def test_property_box_from_lam_equals_reference_cutmix_box(h, w, lam, data):
    cx, cy = data.draw(st.integers(0, w - 1)), data.draw(st.integers(0, h - 1))
    fast = mixing_module._box_from_lam(
        torch.tensor([lam], dtype=torch.float64), torch.tensor([cx]), torch.tensor([cy]), h, w
    )[0].tolist()
    assert tuple(fast) == reference.mixing.cutmix_box(lam, cx, cy, h, w)


@settings(max_examples=40, deadline=None)
@given(_mix_case(), st.floats(0.0, 1.0))
def test_property_cutmix_per_batch_draws_equal_reference(case, alpha_lam):
    """Replaying cutmix's draws (λ, pairing, centre) by hand through the reference box and CutMix."""
    x, y, _, seed = case
    b, _, h, w = x.shape
    r = cutmix(x, y, alpha=0.5 + alpha_lam, generator=make_generator(seed))
    g = make_generator(seed)
    lam_p = float(sample_beta(0.5 + alpha_lam, 0.5 + alpha_lam, (), generator=g, dtype=torch.float64))
    p = utils_randperm(b, generator=g)
    index = torch.empty_like(p).index_copy_(0, p, p.roll(-1))
    cx, cy = int(utils_randint(0, w, 1, generator=g)), int(utils_randint(0, h, 1, generator=g))
    box = reference.mixing.cutmix_box(lam_p, cx, cy, h, w)
    want_x, want_t, want_lam = reference.mixing.cutmix(x, reference.mixing.one_hot(y, K), [box] * b, index)
    assert r.box == box and torch.equal(r.index, index)
    assert torch.equal(r.inputs, want_x)
    assert r.lam == pytest.approx(float(want_lam[0]), abs=1e-12)
    torch.testing.assert_close(soft_targets(r, K), want_t, **_REF_TOL)


@settings(max_examples=40, deadline=None)
@given(_mix_case(), st.floats(0.0, 1.0))
def test_property_cutmix_per_sample_equals_reference(case, lam):
    x, y, index, seed = case
    b, _, h, w = x.shape
    r = cutmix(x, y, lam=lam, index=index, per_sample=True, generator=make_generator(seed))
    g = make_generator(seed)  # replay the centres: λ is given, the pairing too, so only centres are drawn
    cx, cy = utils_randint(0, w, b, generator=g), utils_randint(0, h, b, generator=g)
    boxes = [reference.mixing.cutmix_box(lam, int(cx[i]), int(cy[i]), h, w) for i in range(b)]
    want_x, want_t, want_lam = reference.mixing.cutmix(x, reference.mixing.one_hot(y, K, 0.1), boxes, index)
    assert r.box.tolist() == [list(bx) for bx in boxes]
    assert torch.equal(r.inputs, want_x)
    torch.testing.assert_close(r.lam.double(), want_lam, rtol=0, atol=1e-7)  # float32 λ for float32 x
    torch.testing.assert_close(soft_targets(r, K, label_smoothing=0.1), want_t, **_REF_TOL)


def test_private_draws_equal_the_utils_draws():
    """mixing draws without re-validating; its draws must stay exactly the checked ones of utils."""
    g1, g2 = make_generator(5), make_generator(5)
    assert torch.equal(mixing_module._beta(0.4, (7,), g1), sample_beta(0.4, 0.4, 7, generator=g2, dtype=torch.float64))
    assert torch.equal(mixing_module._randint(9, 5, g1, None), utils_randint(0, 9, 5, generator=g2))
    assert float(mixing_module._beta(2.0, (), g1)) == float(sample_beta(2.0, 2.0, generator=g2, dtype=torch.float64))


def test_validation_happens_once_per_call(monkeypatch):
    """α and the generator are checked once per mixup/cutmix call, not again in every draw."""
    calls = {"alpha": 0, "generator": 0}
    real_pos, real_gen = mixing_module.check_positive, mixing_module.check_generator

    def count_pos(v, name):
        calls["alpha"] += name == "alpha"
        return real_pos(v, name)

    def count_gen(g, name="generator"):
        calls["generator"] += 1
        return real_gen(g, name)

    monkeypatch.setattr(mixing_module, "check_positive", count_pos)
    monkeypatch.setattr(mixing_module, "check_generator", count_gen)
    import lessonlib.utils as utils_module

    def forbidden(*a, **k):
        raise AssertionError("a checked utils draw was called from mixing")

    for name in ("sample_beta", "randperm", "randint"):
        monkeypatch.setattr(utils_module, name, forbidden)
    x, y = _batch()
    for fn in (mixup, cutmix):
        for per_sample in (False, True):
            calls.update(alpha=0, generator=0)
            fn(x, y, per_sample=per_sample, generator=make_generator(0))
            assert calls == {"alpha": 1, "generator": 1}, (fn.__name__, per_sample, calls)


def test_reference_one_hot_and_smoothing():
    t = reference.mixing.one_hot(torch.tensor([3, 0]), 5, 0.1)
    torch.testing.assert_close(t[0], torch.tensor([0.02, 0.02, 0.02, 0.92, 0.02]))
    torch.testing.assert_close(t.sum(1), torch.ones(2))
    assert torch.equal(reference.mixing.one_hot(torch.tensor([1]), 3), torch.tensor([[0.0, 1.0, 0.0]]))


def test_reference_cutmix_box_convention_odd_side():
    """Odd side: one more pixel after the centre than before (torchvision's box is one pixel narrower)."""
    # λ = 1 − (5/10)²: cut = 5 on a 10 x 10 image, centre (4, 4) → [2, 7)
    assert reference.mixing.cutmix_box(0.75, 4, 4, 10, 10) == (2, 2, 7, 7)
    assert reference.mixing.cutmix_box(0.75, 9, 0, 10, 10) == (7, 0, 10, 3)  # clipped at both borders
    assert reference.mixing.cutmix_box(1.0, 3, 3, 10, 10) == (3, 3, 3, 3)  # λ = 1: empty box
