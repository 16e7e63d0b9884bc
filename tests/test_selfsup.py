"""lessonlib.selfsup: NT-Xent against a reference computation, views, the two-view sampler, the probe,
SimCLR pre-training and the FixMatch step (seeded, no in-place changes, dtype and device kept)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import selfsup
from lessonlib.utils import make_generator


def reference_nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """Chen et al.'s ℓ(i, j), written anchor by anchor in float64 with plain Python sums."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n = z.shape[0]
    b = n // 2
    total = 0.0
    for i in range(n):
        j = (i + b) % n
        sims = [float(z[i] @ z[k]) / tau for k in range(n)]
        denom = sum(math.exp(sims[k]) for k in range(n) if k != i)
        total += -math.log(math.exp(sims[j]) / denom)
    return total / n


def rand_pairs(b, d, seed, dtype=torch.float32):
    g = make_generator(seed)
    z1 = torch.randn(b, d, generator=g)
    return z1.to(dtype), (z1 + 0.3 * torch.randn(b, d, generator=g)).to(dtype)


# ---------------------------------------------------------------------------------------------
# NT-Xent
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("b", "d", "tau"), [(2, 2, 1.0), (5, 3, 0.5), (16, 8, 0.1), (3, 64, 2.0)])
def test_nt_xent_matches_the_reference(b, d, tau):
    z1, z2 = rand_pairs(b, d, b * d)
    got = float(selfsup.nt_xent(z1.double(), z2.double(), temperature=tau))
    assert got == pytest.approx(reference_nt_xent(z1, z2, tau), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(2, 7),
    d=st.integers(1, 6),
    tau=st.floats(0.05, 5.0),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.01, 100.0),
)
def test_nt_xent_reference_and_invariances(b, d, tau, seed, scale):
    z1, z2 = rand_pairs(b, d, seed, torch.float64)
    loss = float(selfsup.nt_xent(z1, z2, temperature=tau))
    assert loss == pytest.approx(reference_nt_xent(z1, z2, tau), rel=1e-8, abs=1e-10)
    # cosine similarity: rescaling a row changes nothing; swapping the views changes nothing
    assert float(selfsup.nt_xent(scale * z1, z2, temperature=tau)) == pytest.approx(loss, rel=1e-8, abs=1e-10)
    assert float(selfsup.nt_xent(z2, z1, temperature=tau)) == pytest.approx(loss, rel=1e-8, abs=1e-10)
    # permuting the pairs together changes nothing
    perm = torch.randperm(b, generator=make_generator(seed))
    assert float(selfsup.nt_xent(z1[perm], z2[perm], temperature=tau)) == pytest.approx(loss, rel=1e-8, abs=1e-10)
    assert loss >= 0.0


def test_nt_xent_known_values():
    same = torch.ones(4, 3)
    assert float(selfsup.nt_xent(same, same)) == pytest.approx(math.log(7), rel=1e-6)
    eye = torch.eye(4)
    assert float(selfsup.nt_xent(eye, eye, temperature=0.01)) < 1e-6
    # matched pairs beat mismatched pairs
    z1, z2 = rand_pairs(6, 4, 0)
    assert selfsup.nt_xent(z1, z2) < selfsup.nt_xent(z1, z2.roll(1, 0))


def test_nt_xent_gradients_dtype_and_no_in_place():
    z1, z2 = rand_pairs(4, 3, 1)
    z1.requires_grad_(True)
    c2 = z2.clone()
    loss = selfsup.nt_xent(z1, z2)
    loss.backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all()
    assert torch.equal(z2, c2)
    half = selfsup.nt_xent(*[t.to(torch.bfloat16) for t in rand_pairs(4, 3, 1)])
    assert half.dtype == torch.bfloat16
    assert float(half) == pytest.approx(float(selfsup.nt_xent(*rand_pairs(4, 3, 1))), rel=2e-2)


def test_nt_xent_rejects_bad_input():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="same shape"):
        selfsup.nt_xent(z, z[:3])
    with pytest.raises(ValueError, match="at least 2"):
        selfsup.nt_xent(z[:1], z[:1])
    with pytest.raises(ValueError, match="temperature"):
        selfsup.nt_xent(z, z, temperature=0.0)
    with pytest.raises(TypeError, match="z1"):
        selfsup.nt_xent(z.long(), z)
    with pytest.raises(ValueError, match="z2"):
        selfsup.nt_xent(z, z[None])


# ---------------------------------------------------------------------------------------------
# Views and the two-view sampler
# ---------------------------------------------------------------------------------------------

VIEW_NAMES = sorted(selfsup.VIEWS)


@pytest.mark.parametrize("name", VIEW_NAMES)
def test_views_keep_shape_dtype_and_input_and_are_seeded(name):
    x = torch.rand(5, 1, 8, 8, generator=make_generator(0))
    x0 = x.clone()
    view = selfsup.make_view(name)
    a = view(x, make_generator(3))
    b = view(x, make_generator(3))
    assert a.shape == x.shape and a.dtype == x.dtype and a.device == x.device
    assert torch.equal(a, b)
    assert torch.equal(x, x0)
    for dtype in (torch.float64, torch.bfloat16):
        assert view(x.to(dtype), make_generator(3)).dtype == dtype


@pytest.mark.parametrize("name", [n for n in VIEW_NAMES if n != "none"])
def test_random_views_differ_per_image_and_per_draw(name):
    x = torch.rand(1, 1, 8, 8, generator=make_generator(0)).expand(4, 1, 8, 8).contiguous()
    g = make_generator(1)
    v = selfsup.make_view(name)(x, g)
    assert not torch.allclose(v[0], v[1])  # independent parameters per image
    assert not torch.allclose(v, selfsup.make_view(name)(x, g))  # fresh draws per call


def test_identity_and_zero_strength_views_are_exact():
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(selfsup.identity(x), x)
    assert torch.allclose(selfsup.gaussian_noise(x, make_generator(0), sigma=0.0), x)
    assert torch.allclose(selfsup.elastic(x, make_generator(0), magnitude=0.0), x, atol=1e-6)
    assert torch.allclose(selfsup.rotate(x, make_generator(0), degrees=0.0), x, atol=1e-6)


def test_elastic_warp_matches_torchvision_for_one_field():
    """Per image, the same warp as torchvision's functional elastic given the same displacement field."""
    from torchvision.transforms.v2 import functional as TF

    x = torch.rand(2, 1, 8, 8, generator=make_generator(5))
    g1, g2 = make_generator(9), make_generator(9)
    ours = selfsup.elastic(x, g1, magnitude=0.2)
    coarse = 0.2 * torch.randn(2, 2, 3, 3, generator=g2)
    field = F.interpolate(coarse, size=(8, 8), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    for i in range(2):
        ref = TF.elastic(x[i], field[i : i + 1], interpolation=TF.InterpolationMode.BILINEAR, fill=None)
        assert torch.allclose(ours[i], ref, atol=1e-5)


def test_compose_and_make_view():
    x = torch.rand(3, 1, 8, 8)
    g1, g2 = make_generator(2), make_generator(2)
    composed = selfsup.make_view("rotate+noise")(x, g1)
    by_hand = selfsup.gaussian_noise(selfsup.rotate(x, g2), g2)
    assert torch.equal(composed, by_hand)
    with pytest.raises(ValueError, match="unknown view 'blur'"):
        selfsup.make_view("crop+blur")
    with pytest.raises(TypeError, match="spec"):
        selfsup.make_view(3)
    with pytest.raises(ValueError, match="at least one"):
        selfsup.compose()
    with pytest.raises(TypeError, match=r"views\[1\]"):
        selfsup.compose(selfsup.rotate, 3)


def test_two_views_are_independent_draws_of_one_view():
    x = torch.rand(4, 1, 8, 8)
    g = make_generator(0)
    v1, v2 = selfsup.two_views(x, selfsup.rotate, g)
    both = selfsup.rotate(torch.cat([x, x]), make_generator(0))
    assert torch.equal(v1, both[:4]) and torch.equal(v2, both[4:])
    assert not torch.allclose(v1, v2)
    same1, same2 = selfsup.two_views(x, selfsup.identity, make_generator(0))
    assert torch.equal(same1, same2)
    with pytest.raises(TypeError, match="view"):
        selfsup.two_views(x, "rotate")
    with pytest.raises(ValueError, match="shape"):
        selfsup.two_views(x, lambda t, g: t[:2])
    with pytest.raises(TypeError, match="generator"):
        selfsup.two_views(x, selfsup.rotate, 0)


def test_views_reject_bad_input():
    with pytest.raises(ValueError, match="x"):
        selfsup.rotate(torch.rand(8, 8))
    with pytest.raises(TypeError, match="x"):
        selfsup.gaussian_noise(torch.ones(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="sigma"):
        selfsup.gaussian_noise(torch.rand(2, 1, 8, 8), sigma=-1.0)
    with pytest.raises(ValueError, match="grid"):
        selfsup.elastic(torch.rand(2, 1, 8, 8), grid=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.gpu
def test_views_and_loss_stay_on_the_gpu():
    x = torch.rand(4, 1, 8, 8, device="cuda")
    g = make_generator(0, device="cuda")
    for name in VIEW_NAMES:
        assert selfsup.make_view(name)(x, g).device.type == "cuda"
    z = torch.randn(4, 3, device="cuda")
    assert selfsup.nt_xent(z, z + 0.1).device.type == "cuda"


# ---------------------------------------------------------------------------------------------
# Encoder, probe, pre-training, FixMatch
# ---------------------------------------------------------------------------------------------


def test_encoder_shapes_seeding_and_validation():
    a, b = selfsup.make_encoder(3), selfsup.make_encoder(3)
    x = torch.rand(5, 1, 8, 8)
    assert torch.equal(a(x), b(x)) and a(x).shape == (5, 128)
    assert selfsup.encode(a, x).shape == (5, 128)
    clf = selfsup.make_classifier(a, 10)
    assert clf(x).shape == (5, 10)
    with pytest.raises(ValueError, match="64 values"):
        a(torch.rand(2, 1, 4, 4))
    with pytest.raises(TypeError, match="out_features"):
        selfsup.make_classifier(torch.nn.ReLU())


def test_linear_probe_separable_and_chance():
    g = make_generator(0)
    y = torch.arange(60) % 3
    f = torch.randn(60, 5, generator=g) + 4.0 * F.one_hot(y, 5).float()
    assert selfsup.linear_probe(f[:30], y[:30], f[30:], y[30:]).accuracy == 1.0
    noise = torch.randn(60, 5, generator=g)
    assert selfsup.linear_probe(noise[:30], y[:30], noise[30:], y[30:]).accuracy < 0.7
    with pytest.raises(ValueError, match="features"):
        selfsup.linear_probe(f[:30], y[:30], f[30:, :4], y[30:])
    with pytest.raises(TypeError, match="y_train"):
        selfsup.linear_probe(f[:30], y[:30].float(), f[30:], y[30:])


def test_pretrain_simclr_is_seeded_and_lowers_the_loss():
    x = torch.rand(64, 1, 8, 8, generator=make_generator(0))
    x0 = x.clone()
    runs = []
    for _ in range(2):
        enc = selfsup.make_encoder(0)
        losses = selfsup.pretrain_simclr(enc, x, selfsup.rotate, steps=25, batch_size=32, seed=1, device="cpu")
        runs.append((losses, selfsup.encode(enc, x)))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
    assert np.mean(runs[0][0][-5:]) < runs[0][0][0] < math.log(63) + 0.5
    assert torch.equal(x, x0)
    assert not enc.training
    with pytest.raises(TypeError, match="out_features"):
        selfsup.pretrain_simclr(torch.nn.Flatten(), x, selfsup.rotate, steps=1)
    with pytest.raises(ValueError, match="at least 2"):
        selfsup.pretrain_simclr(selfsup.make_encoder(0), x[:1], selfsup.rotate, steps=1)


def test_fixmatch_loss_masks_by_confidence_with_hard_pseudo_labels():
    torch.manual_seed(0)
    model = selfsup.make_classifier(selfsup.make_encoder(0), 10)
    xl, yl = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    xu = torch.rand(8, 1, 8, 8)
    everything = selfsup.fixmatch_loss(
        model, xl, yl, xu, weak=selfsup.identity, strong=selfsup.identity, threshold=0.0, generator=make_generator(0)
    )
    assert everything.mask_rate == 1.0
    with torch.no_grad():
        logits_u = model(xu)
    expected = F.cross_entropy(logits_u, logits_u.argmax(1))
    assert float(everything.unsupervised) == pytest.approx(float(expected), rel=1e-5)
    with torch.no_grad():
        supervised = F.cross_entropy(model(xl), yl)
    assert float(everything.supervised) == pytest.approx(float(supervised), rel=1e-5)
    nothing = selfsup.fixmatch_loss(
        model, xl, yl, xu, weak=selfsup.identity, strong=selfsup.identity, threshold=1.0, generator=make_generator(0)
    )
    assert nothing.mask_rate == 0.0 and float(nothing.unsupervised) == 0.0
    # with identical weak and strong views the unsupervised term is cross-entropy towards the model's
    # own arg-max (a fixed target): it still has a gradient, which sharpens the prediction
    model.zero_grad()
    everything.total.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_fit_fixmatch_is_seeded_and_the_labels_only_baseline_runs():
    x = torch.rand(40, 1, 8, 8, generator=make_generator(0))
    y = torch.arange(40) % 4
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = selfsup.make_classifier(selfsup.make_encoder(0), 4)
        h = selfsup.fit_fixmatch(
            model, x[:8], y[:8], x, weak=selfsup.shift, strong=selfsup.rotate, steps=5, threshold=0.3, seed=2
        )
        outs.append((h["loss"], model(x)))
    assert outs[0][0] == outs[1][0] and torch.equal(outs[0][1], outs[1][1])
    assert len(outs[0][0]) == 5
    base = selfsup.fit_fixmatch(
        selfsup.make_classifier(selfsup.make_encoder(0), 4),
        x[:8],
        y[:8],
        None,
        weak=selfsup.shift,
        strong=selfsup.rotate,
        steps=3,
        device="cpu",
    )
    assert base["mask_rate"] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="threshold"):
        selfsup.fixmatch_loss(model, x[:2], y[:2], x, weak=selfsup.shift, strong=selfsup.rotate, threshold=1.5)


def test_view_augment_keeps_labels():
    aug = selfsup.view_augment(selfsup.rotate)
    x, y = torch.rand(3, 1, 8, 8), torch.tensor([1, 2, 3])
    xa, ya = aug(x, y, make_generator(0))
    assert xa.shape == x.shape and torch.equal(ya, y)
    with pytest.raises(TypeError, match="view"):
        selfsup.view_augment("rotate")
