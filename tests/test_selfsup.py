"""lessonlib.selfsup: NT-Xent and FixMatch's loss against ``lessonlib.reference.selfsup`` (the oracle), views,
the two-view sampler, the probe, SimCLR pre-training and FixMatch through ``training.fit`` (seeded, no in-place
changes, dtype and device kept), and every public function refusing bad inputs by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import selfsup, training
from lessonlib.augment import random_view_augment
from lessonlib.reference import selfsup as reference
from lessonlib.utils import make_generator


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
    assert got == pytest.approx(float(reference.nt_xent(z1, z2, tau)), rel=1e-10)


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
    assert loss == pytest.approx(float(reference.nt_xent(z1, z2, tau)), rel=1e-8, abs=1e-10)
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
    assert torch.allclose(selfsup.noise_view(x, make_generator(0), sigma=0.0), x)
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
    by_hand = selfsup.noise_view(selfsup.rotate(x, g2), g2)
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
    with pytest.raises(
        TypeError, match=r"view must return a tensor of its input's shape \(8, 1, 8, 8\), got shape \(2,"
    ):
        selfsup.two_views(x, lambda t, g: t[:2])
    with pytest.raises(TypeError, match="view must return a tensor of its input's shape .* got ndarray"):
        selfsup.two_views(x, lambda t, g: t.numpy())
    with pytest.raises(TypeError, match="generator"):
        selfsup.two_views(x, selfsup.rotate, 0)


def test_views_reject_bad_input():
    with pytest.raises(ValueError, match="x"):
        selfsup.rotate(torch.rand(8, 8))
    with pytest.raises(TypeError, match="x"):
        selfsup.noise_view(torch.ones(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="sigma"):
        selfsup.noise_view(torch.rand(2, 1, 8, 8), sigma=-1.0)
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


def test_random_view_augment_keeps_labels():
    aug = random_view_augment(selfsup.rotate)
    x, y = torch.rand(3, 1, 8, 8), torch.tensor([1, 2, 3])
    xa, ya = aug(x, y, make_generator(0))
    assert torch.equal(xa, selfsup.rotate(x, make_generator(0))) and torch.equal(ya, y)
    with pytest.raises(TypeError, match="view must be callable"):
        random_view_augment("rotate")
    with pytest.raises(TypeError, match="view must return a tensor of the batch's shape"):
        random_view_augment(lambda t, g: t[:, :, :4])(x, y, make_generator(0))


# ---------------------------------------------------------------------------------------------
# FixMatch's loss against the reference; SimCLR and FixMatch are training.fit objectives
# ---------------------------------------------------------------------------------------------


def _flip(x, generator=None):  # deterministic views: the two sides may call them in any order
    return x.flip(-1)


def _dim(x, generator=None):
    return 0.5 * x


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 6),
    mu=st.integers(1, 4),
    k=st.integers(2, 6),
    threshold=st.floats(0.0, 1.0),
    weight=st.floats(0.0, 3.0),
    seed=st.integers(0, 10_000),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_fixmatch_loss_equals_the_reference(b, mu, k, threshold, weight, seed, dtype):
    g = make_generator(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = selfsup.make_classifier(selfsup.make_encoder(seed, hidden=16, out_features=8), k).to(dtype)
    # sharpen the logits so that some but not all confidences pass a mid-range threshold
    xl, xu = (
        3 * torch.rand(b, 1, 8, 8, generator=g, dtype=dtype),
        3 * torch.rand(mu * b, 1, 8, 8, generator=g, dtype=dtype),
    )
    yl = torch.randint(0, k, (b,), generator=g)
    fast = selfsup.fixmatch_loss(model, xl, yl, xu, weak=_flip, strong=_dim, threshold=threshold, weight=weight)
    ref = reference.fixmatch_loss(model, xl, yl, xu, _flip, _dim, threshold, weight)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert float(fast.total.detach()) == pytest.approx(float(ref.detach()), rel=tol, abs=tol)
    assert fast.total.dtype == dtype
    # the gradients agree too (the pseudo-label carries none on either side)
    grads = []
    for value in (fast.total, ref):
        model.zero_grad()
        value.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4 if dtype == torch.float32 else 1e-10, atol=tol)


def test_fixmatch_loss_with_random_views_draws_weak_then_strong():
    """The documented draw order (weak on labelled+unlabelled stacked, then strong) reproduces the loss."""
    torch.manual_seed(0)
    model = selfsup.make_classifier(selfsup.make_encoder(0), 4)
    xl, yl, xu = torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 2]), torch.rand(6, 1, 8, 8)
    out = selfsup.fixmatch_loss(
        model, xl, yl, xu, weak=selfsup.shift, strong=selfsup.rotate, threshold=0.2, generator=make_generator(5)
    )
    g = make_generator(5)
    weak_views = selfsup.shift(torch.cat([xl, xu]), g)
    strong_u = selfsup.rotate(xu, g)
    fixed = {"n": 0}

    def replay_weak(x, generator=None):  # hands back the pre-drawn weak views, labelled then unlabelled
        fixed["n"] += 1
        return weak_views[:3] if fixed["n"] == 1 else weak_views[3:]

    ref = reference.fixmatch_loss(model, xl, yl, xu, replay_weak, lambda x, gen=None: strong_u, 0.2, 1.0)
    assert float(out.total.detach()) == pytest.approx(float(ref.detach()), rel=1e-5)


def test_pretrain_simclr_is_fit_with_an_nt_xent_hook():
    """pretrain_simclr = training.fit(encoder + head, x, None, loss=two views -> NT-Xent), nothing more."""
    x = torch.rand(40, 1, 8, 8, generator=make_generator(0))
    enc = selfsup.make_encoder(0, hidden=16, out_features=8)
    losses = selfsup.pretrain_simclr(enc, x, selfsup.rotate, steps=7, batch_size=16, projection_dim=4, seed=3)
    by_hand_enc = selfsup.make_encoder(0, hidden=16, out_features=8)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        head = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    seen = []

    def loss(model, xb, yb, generator):
        v1, v2 = selfsup.two_views(xb, selfsup.rotate, generator)
        z = model(torch.cat([v1, v2]))
        value = reference.nt_xent(z[:16], z[16:], 0.5)
        seen.append(float(value.detach()))
        return value.float()

    training.fit(
        torch.nn.Sequential(by_hand_enc, head),
        x,
        None,
        steps=7,
        batch_size=16,
        lr=3e-3,
        weight_decay=0.01,
        schedule="cosine",
        seed=3,
        progress=False,
        loss=loss,
        drop_last=True,
    )
    assert losses == pytest.approx(seen, rel=1e-4)
    torch.testing.assert_close(selfsup.encode(enc, x), selfsup.encode(by_hand_enc, x), rtol=1e-4, atol=1e-5)
    assert len(losses) == 7


def test_fit_fixmatch_batches_are_full_and_drawn_from_fits_generator():
    x = torch.rand(30, 1, 8, 8, generator=make_generator(1))
    y = torch.arange(30) % 3
    sizes = []

    def weak(t, generator=None):
        sizes.append(t.shape[0])
        return t

    torch.manual_seed(0)
    model = selfsup.make_classifier(selfsup.make_encoder(0, hidden=8, out_features=4), 3)
    h = selfsup.fit_fixmatch(model, x[:7], y[:7], x, weak=weak, strong=_dim, steps=4, batch_size=5, unlabelled_ratio=2)
    assert sizes == [5 + 10] * 4  # 5 labelled (the last 2 of each pass dropped) + 2 x 5 unlabelled, one call
    assert len(h["loss"]) == len(h["mask_rate"]) == 4 and not model.training


# ---------------------------------------------------------------------------------------------
# Issue 35: the input contract. Every public function refuses bad inputs by name.
# ---------------------------------------------------------------------------------------------


def _with(t, value):
    out = t.clone()
    out.view(-1)[0] = value
    return out


_IMAGE_FAULTS = {
    "not a tensor": (lambda x: x.tolist(), TypeError, "{} must be a torch.Tensor"),
    "integer": (lambda x: (x * 10).long(), TypeError, "{} must be a floating-point tensor"),
    "NaN": (lambda x: _with(x, math.nan), ValueError, "{} contains NaN or infinite values"),
    "inf": (lambda x: _with(x, math.inf), ValueError, "{} contains NaN or infinite values"),
    "empty": (lambda x: x[:0], ValueError, "{} (is an empty batch|is empty)"),
    "wrong ndim": (lambda x: x[:, 0], ValueError, "{} must have 4 dimensions"),
}


def _model():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return selfsup.make_classifier(selfsup.make_encoder(0, hidden=8, out_features=4), 3)


def _image_calls():
    x = torch.rand(6, 1, 8, 8, generator=make_generator(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    g = make_generator(0)
    calls = {f"{name}(x)": (lambda bad, v=view: v(bad, g), "x") for name, view in selfsup.VIEWS.items()}
    calls["compose(...)(x)"] = (lambda bad: selfsup.make_view("rotate+noise")(bad, g), "x")
    calls["two_views(x)"] = (lambda bad: selfsup.two_views(bad, selfsup.rotate, g), "x")
    calls["pretrain_simclr(x)"] = (
        lambda bad: selfsup.pretrain_simclr(selfsup.make_encoder(0), bad, selfsup.rotate, steps=1, device="cpu"),
        "x",
    )
    fm = {"weak": selfsup.shift, "strong": selfsup.rotate}
    calls["fixmatch_loss(x_labelled)"] = (lambda bad: selfsup.fixmatch_loss(_model(), bad, y, x, **fm), "x_labelled")
    calls["fixmatch_loss(x_unlabelled)"] = (
        lambda bad: selfsup.fixmatch_loss(_model(), x, y, bad, **fm),
        "x_unlabelled",
    )
    calls["fit_fixmatch(x_labelled)"] = (
        lambda bad: selfsup.fit_fixmatch(_model(), bad, y, x, steps=1, device="cpu", **fm),
        "x_labelled",
    )
    calls["fit_fixmatch(x_unlabelled)"] = (
        lambda bad: selfsup.fit_fixmatch(_model(), x, y, bad, steps=1, device="cpu", **fm),
        "x_unlabelled",
    )
    return x, calls


_X, _IMAGE_CALLS = _image_calls()


@settings(max_examples=50, deadline=None)
@given(call=st.sampled_from(sorted(_IMAGE_CALLS)), fault=st.sampled_from(sorted(_IMAGE_FAULTS)))
def test_every_image_taking_function_refuses_bad_images_by_name(call, fault):
    fn, param = _IMAGE_CALLS[call]
    make, exc, message = _IMAGE_FAULTS[fault]
    if fault == "empty" and call.startswith(("fixmatch_loss(x_labelled", "fit_fixmatch(x_labelled")):
        message = "{} (is an empty batch|has 0 rows)"  # labels [6] no longer match 0 images: either names it
    with pytest.raises(exc, match="^" + message.format(param)):
        fn(make(_X))


_Z = torch.randn(4, 3, generator=make_generator(0))
_FEATURE_FAULTS = {
    "not a tensor": (lambda z: z.tolist(), TypeError, "{} must be a torch.Tensor"),
    "integer": (lambda z: z.long(), TypeError, "{} must be a floating-point tensor"),
    "NaN": (lambda z: _with(z, math.nan), ValueError, "{} contains NaN or infinite values"),
    "inf": (lambda z: _with(z, -math.inf), ValueError, "{} contains NaN or infinite values"),
    "empty": (lambda z: z[:0], ValueError, "{} is empty"),
    "wrong ndim": (lambda z: z[None], ValueError, "{} must have 2 dimensions"),
}
_FEATURE_CALLS = {
    "nt_xent(z1)": (lambda bad: selfsup.nt_xent(bad, _Z), "z1"),
    "nt_xent(z2)": (lambda bad: selfsup.nt_xent(_Z, bad), "z2"),
    "linear_probe(f_train)": (
        lambda bad: selfsup.linear_probe(bad, torch.arange(4) % 2, _Z, torch.arange(4) % 2),
        "f_train",
    ),
    "linear_probe(f_test)": (
        lambda bad: selfsup.linear_probe(_Z, torch.arange(4) % 2, bad, torch.arange(4) % 2),
        "f_test",
    ),
}


@settings(max_examples=30, deadline=None)
@given(call=st.sampled_from(sorted(_FEATURE_CALLS)), fault=st.sampled_from(sorted(_FEATURE_FAULTS)))
def test_every_feature_taking_function_refuses_bad_features_by_name(call, fault):
    fn, param = _FEATURE_CALLS[call]
    make, exc, message = _FEATURE_FAULTS[fault]
    if fault == "empty" and call.startswith("linear_probe(f_train"):
        message = "(f_train has 0 rows|{} is empty)"
    if fault == "empty" and call.startswith("linear_probe(f_test"):
        message = "(f_test has 0 rows|{} is empty)"
    with pytest.raises(exc, match="^" + message.format(param)):
        fn(make(_Z))


@pytest.mark.parametrize("bad", [torch.rand(0, 1, 8, 8), torch.rand(0, 64)])
def test_encode_and_the_encoder_refuse_an_empty_batch(bad):
    enc = selfsup.make_encoder(0)
    with pytest.raises(ValueError, match="^x is an empty batch"):
        selfsup.encode(enc, bad)
    with pytest.raises(ValueError, match="^x must be a non-empty batch"):
        enc(bad)


def test_what_issue_35_found_is_now_a_clear_error():
    x = torch.rand(6, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    # the views named a parameter that does not exist ("batch must be >= 1")
    for view in selfsup.VIEWS.values():
        with pytest.raises(ValueError, match=r"^x is an empty batch \(shape \(0, 1, 8, 8\)\)"):
            view(x[:0], make_generator(0))
    # nt_xent returned NaN for NaN input
    with pytest.raises(ValueError, match="^z1 contains NaN"):
        selfsup.nt_xent(torch.full((3, 2), math.nan), torch.ones(3, 2))
    # fit_fixmatch accepted threshold=5.0 (labels-only run) and failed late on a weak view that is not callable
    fm = {"weak": selfsup.shift, "strong": selfsup.rotate, "steps": 1, "device": "cpu"}
    with pytest.raises(ValueError, match=r"^threshold must be a probability in \[0, 1\], got 5.0"):
        selfsup.fit_fixmatch(_model(), x, y, None, **{**fm, "threshold": 5.0})  # was accepted without x_unlabelled
    with pytest.raises(TypeError, match="^weak must be callable"):
        selfsup.fit_fixmatch(_model(), x, y, None, **{**fm, "weak": "shift"})
    with pytest.raises(TypeError, match="^strong must be callable"):
        selfsup.fit_fixmatch(_model(), x, y, x, **{**fm, "strong": None})
    with pytest.raises(ValueError, match="^weight"):
        selfsup.fit_fixmatch(_model(), x, y, x, **{**fm, "weight": -1.0})
    with pytest.raises(TypeError, match="^model must be a torch.nn.Module"):
        selfsup.fit_fixmatch(lambda t: t, x, y, x, **fm)
    # callables that return the wrong thing are named, not "cannot unpack" / AttributeError
    with pytest.raises(TypeError, match="^weak must return a tensor of its input's shape"):
        selfsup.fit_fixmatch(_model(), x, y, x, **{**fm, "weak": lambda t, g: t[:, :, :4]})
    with pytest.raises(TypeError, match="^strong must return a tensor of its input's shape .* got tuple"):
        selfsup.fit_fixmatch(_model(), x, y, x, **{**fm, "strong": lambda t, g: (t, t)})
    with pytest.raises(TypeError, match=r"^model must return logits \[B, K\]"):
        selfsup.fit_fixmatch(torch.nn.Linear(8, 3), x, y, x, **fm)  # [B, 1, 8, 3]
    with pytest.raises(TypeError, match=r"^encoder must return features \[B, out_features\]"):
        enc = torch.nn.Flatten()
        enc.out_features = 128
        selfsup.pretrain_simclr(enc, x, selfsup.rotate, steps=1, device="cpu")
    with pytest.raises(TypeError, match="^encoder must be an nn.Module"):
        selfsup.pretrain_simclr("encoder", x, selfsup.rotate, steps=1)
