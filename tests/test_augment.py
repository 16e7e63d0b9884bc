"""Tests for lessonlib.augment: every ``augment(x, y, generator) -> (x, y)`` adapter that ``fit`` takes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import augment as A
from lessonlib import models, training
from lessonlib.geometric import dihedral, random_affine
from lessonlib.mixing import cutmix, mixup, soft_targets
from lessonlib.utils import make_generator

K = 7


def _flip(b: torch.Tensor) -> torch.Tensor:
    return b.flip(-1)


ADAPTERS = {
    "sometimes(affine)": lambda: A.sometimes(A.affine_augment(degrees=10), p=0.5),
    "random_apply(flip)": lambda: A.random_apply(_flip, p=0.5),
    "affine": lambda: A.affine_augment(),
    "views d4": lambda: A.views_augment("d4"),
    "mixup": lambda: A.mix_augment("mixup", K),
    "cutmix per sample": lambda: A.mix_augment("cutmix", K, per_sample=True),
}


def _batch(b=6, seed=0, dtype=torch.float32):
    x = torch.rand(b, 1, 8, 8, generator=make_generator(seed)).to(dtype)
    return x, torch.arange(b) % K


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_is_reproducible_keeps_inputs_dtype_and_checks_the_generator(name):
    aug = ADAPTERS[name]()
    for dtype in (torch.float32, torch.float64):
        x, y = _batch(dtype=dtype)
        x0, y0 = x.clone(), y.clone()
        xa, ya = aug(x, y, make_generator(3))
        xb, yb = aug(x, y, make_generator(3))
        assert torch.equal(x, x0) and torch.equal(y, y0)  # not modified in place
        assert torch.equal(xa, xb) and torch.equal(ya, yb)  # seeded reproducibility
        assert xa.shape == x.shape and xa.dtype == dtype and xa.device == x.device
    with pytest.raises(TypeError, match="generator"):
        aug(x, y, 3)


def test_the_adapters_return_the_type_fit_takes():
    assert A.Augment is training.Augment  # defined beside fit; training does not re-export the adapters
    assert not hasattr(training, "sometimes") and not hasattr(training, "random_apply")


def test_random_apply_and_sometimes_share_and_labels():
    x = torch.rand(4000, 1, 8, 8, generator=make_generator(0))
    y = torch.arange(4000) % 10
    for aug in (A.random_apply(_flip, p=0.3), A.sometimes(A.affine_augment(degrees=10), p=0.3)):
        xo, yo = aug(x, y, make_generator(1))
        changed = float(((xo - x).abs().flatten(1).amax(1) > 0).float().mean())
        assert abs(changed - 0.3) < 0.03
        assert torch.equal(yo, y)
    with pytest.raises(ValueError, match="p must be"):
        A.sometimes(A.affine_augment(), p=1.5)
    with pytest.raises(ValueError, match="p must be"):
        A.random_apply(_flip, p=float("nan"))
    with pytest.raises(TypeError, match="p must be"):
        A.random_apply(_flip, p=True)
    with pytest.raises(ValueError, match="changed the labels"):
        A.sometimes(lambda a, b, g: (a, b.flip(0)))(x[:4], y[:4], make_generator(0))
    with pytest.raises(ValueError, match="batch shape"):
        A.random_apply(lambda b: b[:, :, :4])(x[:4], y[:4], make_generator(0))
    with pytest.raises(TypeError, match="transform"):
        A.random_apply(3)


def test_random_apply_is_sometimes_of_a_plain_transform():
    """One way to write "apply with probability p": both paths give the same batch for the same draws."""
    x, y = _batch(b=64)
    a, _ = A.random_apply(_flip, p=0.4)(x, y, make_generator(5))
    b, _ = A.sometimes(lambda xx, yy, g: (_flip(xx), yy), p=0.4)(x, y, make_generator(5))
    assert torch.equal(a, b)


@settings(max_examples=25, deadline=None)
@given(p=st.sampled_from([0.0, 1.0]), seed=st.integers(0, 2**32))
def test_sometimes_extremes_are_identity_or_always(p, seed):
    x, y = _batch(b=5, seed=seed % 1000)
    out, _ = A.random_apply(_flip, p=p)(x, y, make_generator(seed))
    assert torch.equal(out, _flip(x) if p == 1.0 else x)


def test_affine_augment_equals_random_affine_and_validates_early():
    x, y = _batch()
    out, yo = A.affine_augment(degrees=15, translate=0.2, scale=(0.8, 1.2))(x, y, make_generator(2))
    ref = random_affine(x, degrees=15, translate=0.2, scale=(0.8, 1.2), generator=make_generator(2))
    assert torch.equal(out, ref) and torch.equal(yo, y)
    with pytest.raises(ValueError, match="degrees"):
        A.affine_augment(degrees=float("nan"))


def test_views_augment_draws_one_view_per_image_reproducibly():
    x = torch.rand(64, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    y = torch.arange(64)
    x0 = x.clone()
    aug = A.views_augment("d4")
    out, y_out = aug(x, y, make_generator(3))
    assert torch.equal(x, x0) and torch.equal(y_out, y)
    chosen = []
    for i in range(64):
        matches = [k for k in range(8) if torch.equal(out[i], dihedral(x[i], k))]
        assert matches, f"image {i} is not one of its D4 views"
        chosen.append(matches[0])
    assert len(set(chosen)) >= 6  # independent per-image draws, not one view for the whole batch
    again, _ = aug(x, y, make_generator(3))
    assert torch.equal(out, again)
    with pytest.raises(ValueError, match="square"):
        aug(torch.rand(2, 1, 4, 6), torch.arange(2), make_generator(0))
    flips, _ = A.views_augment("flips")(torch.rand(3, 1, 4, 6), torch.arange(3), make_generator(0))
    assert flips.shape == (3, 1, 4, 6)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_mix_augment_equals_mixing_and_trains(method):
    x, y = _batch(b=8)
    aug = A.mix_augment(method, K, alpha=0.5)
    xa, ya = aug(x, y, make_generator(0))
    fn = mixup if method == "mixup" else cutmix
    ref = fn(x, y, alpha=0.5, generator=make_generator(0))
    torch.testing.assert_close(xa, ref.inputs)
    torch.testing.assert_close(ya, soft_targets(ref, K))
    model = models.make_model("cnn2d", 0, num_classes=K, width=4)
    training.fit(model, x, y, steps=2, batch_size=4, augment=aug, progress=False, device="cpu")
    with pytest.raises(ValueError, match="method"):
        A.mix_augment("cutout", K)
    with pytest.raises(ValueError, match="alpha"):
        A.mix_augment(method, K, alpha=0)
    with pytest.raises(TypeError, match="num_classes"):
        A.mix_augment(method, 2.5)
    with pytest.raises(TypeError, match="per_sample"):
        A.mix_augment(method, K, per_sample=1)
