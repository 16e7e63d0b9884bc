"""Tests for lessonlib.tta: invariance, mode restoration, batching, exact inverses, determinism, errors."""

from __future__ import annotations

import math
import pathlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchvision.transforms.v2 import functional as TF

from lessonlib.geometric import D4_NAMES, dihedral
from lessonlib.models import make_model
from lessonlib.tta import (
    MERGES,
    VIEW_SETS,
    View,
    default_batch_size,
    error_rate_by_bin,
    make_views,
    merge_views,
    predict_with_tta,
    shift_view,
    tta_effect,
    view_disagreement,
)


class PixelPool(nn.Module):
    """1x1 convolution, ReLU, global average pool, linear: invariant to *any* permutation of pixels,
    hence exactly to every D4 view (up to the order of floating-point sums)."""

    def __init__(self, c: int = 1, k: int = 5):
        super().__init__()
        self.conv = nn.Conv2d(c, 8, 1)
        self.head = nn.Linear(8, k)

    def forward(self, x):
        return self.head(self.conv(x).relu().mean((-2, -1)))


class DenseEcho(nn.Module):
    """A 'segmentation model' whose K=C maps are the input itself: TTA's inverse must undo each view."""

    def forward(self, x):
        return x * 1.0


def _small_cnn(seed: int = 0) -> nn.Module:
    return make_model("cnn2d", seed, num_classes=4).eval()


def _reference_loop(model, x, ks, merge="mean"):
    """Per image, per view, one forward pass each: slow and obviously right."""
    out = []
    with torch.no_grad():
        for i in range(x.shape[0]):
            logits = torch.stack([model(dihedral(x[i : i + 1], k))[0] for k in ks])  # [V, K]
            if merge == "mean":
                out.append(logits.softmax(-1).mean(0))
            elif merge == "logit_mean":
                out.append(logits.mean(0).softmax(-1))
            elif merge == "gmean":
                out.append(logits.log_softmax(-1).mean(0).softmax(-1))
            else:
                out.append(logits.softmax(-1).amax(0))
    return torch.stack(out)


# ----------------------------------------------------------------------------------------------
# The contract of the issue
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("views", ["identity", "hflip", "flips", "d4"])
@pytest.mark.parametrize("merge", MERGES)
def test_invariant_model_gives_plain_prediction(views, merge):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = PixelPool(c=2, k=5).eval()
        x = torch.rand(6, 2, 7, 7)
    plain = model(x).softmax(1)
    tta = predict_with_tta(model, x, views=views, merge=merge)
    torch.testing.assert_close(tta, plain, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("start_training", [True, False])
def test_training_mode_restored_and_eval_used_inside(start_training):
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Dropout(0.9), nn.BatchNorm1d(8), nn.Linear(8, 3))
    model[3].running_mean.fill_(0.5)
    model.train(start_training)
    x = torch.rand(5, 1, 4, 4)
    out = predict_with_tta(model, x, views="identity")
    assert model.training is start_training
    assert all(m.training is start_training for m in model.modules())
    model.eval()
    expected = model(x).softmax(1)  # eval mode: no dropout, running statistics
    torch.testing.assert_close(out, expected)
    # BatchNorm running statistics are untouched by the TTA call
    assert torch.equal(model[3].running_mean, torch.full((8,), 0.5))


def test_mixed_submodule_modes_restored_even_on_error():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Dropout(0.5))
    model.train()
    model[2].eval()  # a frozen submodule inside a training model
    predict_with_tta(model, torch.rand(2, 1, 4, 4), views="d4")
    assert [m.training for m in model.modules()] == [True, True, True, False]

    class Broken(nn.Module):
        def forward(self, x):
            return x.flatten(1).long()

    broken = Broken().train()
    with pytest.raises(TypeError, match="floating-point"):
        predict_with_tta(broken, torch.rand(2, 1, 4, 4))
    assert broken.training


def test_runs_under_inference_mode_and_output_has_no_grad():
    seen = []

    class Spy(PixelPool):
        def forward(self, x):
            seen.append(torch.is_inference_mode_enabled())
            return super().forward(x)

    x = torch.rand(3, 1, 4, 4, requires_grad=True)
    out = predict_with_tta(Spy(), x, views="flips")
    assert seen and all(seen)
    assert not out.requires_grad


@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize("views", ["hflip", "flips", "d4"])
def test_batched_equals_per_image_loop(merge, views):
    model = _small_cnn(1)
    x = torch.rand(11, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    got = predict_with_tta(model, x, views=views, merge=merge)
    want = _reference_loop(model, x, VIEW_SETS[views], merge)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_d4_gives_eight_distinct_views_and_exact_dense_inverses():
    x = torch.rand(3, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    views = make_views("d4")
    assert [v.name for v in views] == list(D4_NAMES)
    outs = [v(x) for v in views]
    for i in range(8):
        for j in range(i + 1, 8):
            assert not torch.equal(outs[i], outs[j]), (D4_NAMES[i], D4_NAMES[j])
    for v, o in zip(views, outs, strict=True):
        assert torch.equal(v.inverse(o), x), v.name
    # through predict_with_tta: every per-view dense output, mapped back, is the input exactly
    merged, per_view = predict_with_tta(DenseEcho(), x, views="d4", activation=None, dense=True, return_views=True)
    assert per_view.shape == (8, *x.shape)
    assert all(torch.equal(per_view[i], x) for i in range(8))
    torch.testing.assert_close(merged, x)


def test_named_views_match_torchvision():
    """Oracle: our hflip / vertical-flip / 180° views are torchvision's."""
    x = torch.rand(2, 3, 6, 6)
    names = {v.name: v for v in make_views("d4")}
    torch.testing.assert_close(names["hflip"](x), TF.horizontal_flip(x), atol=0, rtol=0)
    torch.testing.assert_close(names["hflip+rot180"](x), TF.vertical_flip(x), atol=0, rtol=0)
    torch.testing.assert_close(names["rot90"](x), TF.rotate(x, 90.0), atol=0, rtol=0)
    torch.testing.assert_close(names["rot180"](x), TF.rotate(x, 180.0), atol=0, rtol=0)
    assert [v.name for v in make_views("flips")] == ["identity", "hflip", "hflip+rot180", "rot180"]


def test_dense_segmentation_model_is_equivariant_after_inverse():
    """A per-pixel model (1x1 conv) is D4-equivariant: dense TTA returns its plain output."""
    model = nn.Conv2d(3, 4, 1)
    x = torch.rand(2, 3, 6, 6)
    with torch.no_grad():
        plain = model(x).softmax(1)
    got = predict_with_tta(model, x, views="d4", dense=True)
    torch.testing.assert_close(got, plain, atol=1e-6, rtol=1e-5)
    assert got.shape == (2, 4, 6, 6)
    torch.testing.assert_close(got.sum(1), torch.ones(2, 6, 6))


def test_deterministic_and_input_untouched():
    model = _small_cnn(2)
    x = torch.rand(9, 1, 8, 8)
    x0 = x.clone()
    a = predict_with_tta(model, x)
    b = predict_with_tta(model, x)
    assert torch.equal(a, b)
    assert torch.equal(x, x0)


def test_batch_size_chunking_gives_identical_results():
    model = _small_cnn(3)
    x = torch.rand(13, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    ref, ref_views = predict_with_tta(model, x, batch_size=13, return_views=True)
    for bs in (1, 2, 5, 12, 100, None):
        got, got_views = predict_with_tta(model, x, batch_size=bs, return_views=True)
        torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(got_views, ref_views, atol=1e-6, rtol=1e-5)


def test_default_batch_size_from_measured_pixel_budget():
    assert default_batch_size(8, 8, 8) == 32  # 32 digits x 8 views = 256 view-images per pass
    assert default_batch_size(8, 32, 32) == 8  # 65 536 pixels
    assert default_batch_size(1, 8, 8) == 256  # 256 view-images, not 1024 images of 64 pixels
    assert default_batch_size(8, 512, 512) == 1  # never zero
    assert default_batch_size(8, 8, 8, "cuda") > default_batch_size(8, 8, 8, "cpu")
    with pytest.raises(ValueError, match="n_views"):
        default_batch_size(0, 8, 8)


def test_return_views_shapes_and_mean_merge():
    model = _small_cnn(4)
    x = torch.rand(3, 1, 8, 8)
    merged, per_view = predict_with_tta(model, x, views="flips", return_views=True)
    assert per_view.shape == (4, 3, 4)
    torch.testing.assert_close(per_view.sum(-1), torch.ones(4, 3))
    torch.testing.assert_close(merged, per_view.mean(0))


def test_keeps_dtype_and_device():
    model = _small_cnn(5).double()
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    out = predict_with_tta(model, x)
    assert out.dtype == torch.float64 and out.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_model_cpu_input_comes_back_on_cpu():
    model = _small_cnn(6).cuda()
    x = torch.rand(4, 1, 8, 8)
    out = predict_with_tta(model, x)
    assert out.device.type == "cpu"
    torch.testing.assert_close(out, predict_with_tta(model.cpu(), x), atol=1e-4, rtol=1e-3)


# ----------------------------------------------------------------------------------------------
# Merges
# ----------------------------------------------------------------------------------------------


def test_merge_definitions():
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(5, 4, 6, generator=g)  # [V, B, K]
    p = logits.softmax(-1)
    torch.testing.assert_close(merge_views(logits, merge="mean"), p.mean(0))
    torch.testing.assert_close(merge_views(logits, merge="max"), p.amax(0))
    torch.testing.assert_close(merge_views(logits, merge="logit_mean"), logits.mean(0).softmax(-1))
    # normalised geometric mean of the probabilities; for softmax it equals the logit mean exactly
    gm = p.log().mean(0).exp()
    torch.testing.assert_close(merge_views(logits, merge="gmean"), gm / gm.sum(-1, keepdim=True))
    torch.testing.assert_close(merge_views(logits, merge="gmean"), merge_views(logits, merge="logit_mean"))
    # sigmoid: renormalised geometric mean of the Bernoulli pair (p, 1 - p)
    q = logits.double().sigmoid()  # float64 oracle: 1 - q loses digits in float32
    gp, gq = q.log().mean(0).exp(), (1 - q).log().mean(0).exp()
    want = (gp / (gp + gq)).float()
    torch.testing.assert_close(merge_views(logits, merge="gmean", activation="sigmoid"), want)
    torch.testing.assert_close(merge_views(logits, merge="mean", activation=None), logits.mean(0))


def test_mean_of_probabilities_differs_from_mean_of_logits():
    """The reason the choice must be explicit: one confident view dominates a logit mean."""
    logits = torch.tensor([[[8.0, 0.0]], [[-2.0, 0.0]], [[-2.0, 0.0]]])  # [V=3, B=1, K=2]
    prob_mean = merge_views(logits, merge="mean")[0, 0]
    logit_mean = merge_views(logits, merge="logit_mean")[0, 0]
    assert prob_mean < 0.5 < logit_mean


# ----------------------------------------------------------------------------------------------
# Property tests
# ----------------------------------------------------------------------------------------------

_MODEL = _small_cnn(7)


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 9),
    bs=st.one_of(st.none(), st.integers(1, 10)),
    views=st.sampled_from(sorted(VIEW_SETS)),
    merge=st.sampled_from(MERGES),
    activation=st.sampled_from(["softmax", "sigmoid"]),
    seed=st.integers(0, 2**16),
)
def test_property_shapes_ranges_and_chunking(b, bs, views, merge, activation, seed):
    x = torch.rand(b, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    merged, per_view = predict_with_tta(
        _MODEL, x, views=views, merge=merge, activation=activation, batch_size=bs, return_views=True
    )
    v = len(VIEW_SETS[views])
    assert merged.shape == (b, 4) and per_view.shape == (v, b, 4)
    assert bool(((merged >= 0) & (merged <= 1)).all())
    if activation == "softmax" and merge != "max":
        torch.testing.assert_close(merged.sum(1), torch.ones(b))
    one_pass = predict_with_tta(_MODEL, x, views=views, merge=merge, activation=activation, batch_size=b)
    torch.testing.assert_close(merged, one_pass, atol=1e-6, rtol=1e-5)
    # every merge lies between the smallest and largest per-view probability (max attains the top)
    if merge in ("mean", "max"):
        assert bool((merged <= per_view.amax(0) + 1e-6).all() and (merged >= per_view.amin(0) - 1e-6).all())


@settings(max_examples=30, deadline=None)
@given(dx=st.integers(-3, 3), dy=st.integers(-3, 3), seed=st.integers(0, 2**16))
def test_property_shift_view_and_inverse(dx, dy, seed):
    x = torch.rand(2, 1, 7, 7, generator=torch.Generator().manual_seed(seed))
    view = shift_view(dx, dy)
    y = view(x)
    assert y.shape == x.shape
    # oracle: torch.roll, with the wrapped-around rows/columns zeroed
    rolled = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    keep = torch.zeros(7, 7, dtype=torch.bool)
    keep[max(dy, 0) : 7 + min(dy, 0), max(dx, 0) : 7 + min(dx, 0)] = True
    assert torch.equal(y, torch.where(keep, rolled, torch.zeros(())))
    back = view.inverse(y)
    inner = torch.roll(keep, shifts=(-dy, -dx), dims=(0, 1))  # pixels that never left the frame
    assert torch.equal(back[..., inner], x[..., inner])


# ----------------------------------------------------------------------------------------------
# Disagreement
# ----------------------------------------------------------------------------------------------


def test_view_disagreement_zero_when_views_agree_and_bounded():
    p = torch.softmax(torch.randn(1, 5, 3), -1).expand(4, 5, 3)
    for method in ("mutual_information", "variance", "vote"):
        assert torch.allclose(view_disagreement(p, method=method), torch.zeros(5), atol=1e-6), method
    # maximal disagreement: each of V=3 views certain of a different class
    eye = torch.eye(3).unsqueeze(1)  # [V=3, B=1, K=3]
    assert math.isclose(float(view_disagreement(eye)[0]), math.log(3), rel_tol=1e-5)
    assert math.isclose(float(view_disagreement(eye, method="vote")[0]), 2 / 3, rel_tol=1e-6)
    assert math.isclose(float(view_disagreement(eye, method="variance")[0]), 2 / 9, rel_tol=1e-5)


def test_view_disagreement_dense_and_errors():
    p = torch.softmax(torch.randn(3, 2, 4, 5, 5), 2)
    assert view_disagreement(p).shape == (2, 5, 5)
    with pytest.raises(ValueError, match="at least 2 views"):
        view_disagreement(p[:1])
    with pytest.raises(ValueError, match="summing to 1"):
        view_disagreement(torch.randn(3, 2, 4))
    with pytest.raises(ValueError, match="method"):
        view_disagreement(p, method="entropy")
    with pytest.raises(ValueError, match="dimensions"):
        view_disagreement(torch.rand(3, 4))


# ----------------------------------------------------------------------------------------------
# Bad inputs: errors name the parameter, what came and what was expected
# ----------------------------------------------------------------------------------------------


def test_bad_inputs():
    model = _small_cnn()
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"x must have 4 dimensions.*\(1, 8, 8\)"):
        predict_with_tta(model, x[0])
    with pytest.raises(TypeError, match="x must be a floating-point"):
        predict_with_tta(model, (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="views must be one of"):
        predict_with_tta(model, x, views="rot45")
    with pytest.raises(ValueError, match="non-empty"):
        predict_with_tta(model, x, views=[])
    with pytest.raises(TypeError, match=r"views\[1\] must be callable"):
        predict_with_tta(model, x, views=[lambda t: t, 3])
    with pytest.raises(ValueError, match="merge must be one of"):
        predict_with_tta(model, x, merge="median")
    with pytest.raises(ValueError, match="activation must be one of"):
        predict_with_tta(model, x, activation="tanh")
    with pytest.raises(ValueError, match="gmean"):
        predict_with_tta(model, x, merge="gmean", activation=None)
    with pytest.raises(ValueError, match="batch_size"):
        predict_with_tta(model, x, batch_size=0)
    with pytest.raises(TypeError, match="model must be"):
        predict_with_tta(lambda t: t, x)
    with pytest.raises(ValueError, match="at least one image"):
        predict_with_tta(model, x[:0])


def test_non_square_images_need_flip_only_views():
    model = PixelPool()
    x = torch.rand(2, 1, 6, 9)
    with pytest.raises(ValueError, match=r"square.*6x9"):
        predict_with_tta(model, x, views="d4")
    out = predict_with_tta(model, x, views="flips")  # flips keep H and W
    assert out.shape == (2, 5)
    with pytest.raises(ValueError, match="one size"):  # a custom quarter turn is caught too
        predict_with_tta(model, x, views=[lambda t: t, lambda t: t.transpose(-1, -2)])


def test_dense_errors():
    x = torch.rand(2, 1, 6, 6)
    with pytest.raises(ValueError, match="inverse"):
        predict_with_tta(DenseEcho(), x, views=[lambda t: t.flip(-1)], dense=True)
    with pytest.raises(ValueError, match=r"\[N, K, H, W\]"):
        predict_with_tta(PixelPool(), x, dense=True)
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        predict_with_tta(DenseEcho(), x)
    with pytest.raises(TypeError, match="dx"):
        shift_view(0.5, 0)


def test_custom_view_objects_work_with_dense():
    x = torch.rand(2, 1, 6, 6)
    views = [View("id", lambda t: t, lambda t: t), shift_view(1, 0)]
    merged, per_view = predict_with_tta(DenseEcho(), x, views=views, activation=None, dense=True, return_views=True)
    assert torch.equal(per_view[0], x)
    assert torch.equal(per_view[1][..., :-1], x[..., :-1])  # exact away from the border it shifted out


# ----------------------------------------------------------------------------------------------
# Measuring TTA: flips, binned errors, the notebook's checkers
# ----------------------------------------------------------------------------------------------


def test_tta_effect_counts_flips():
    y = torch.tensor([0, 1, 2, 3, 4])
    plain = torch.tensor([0, 1, 0, 0, 4])  # right on 0, 1, 4
    tta = torch.nn.functional.one_hot(torch.tensor([0, 2, 2, 3, 4]), 5).float()  # right on 0, 2, 3, 4
    e = tta_effect(y, plain, tta)
    assert (e.wrong_to_right, e.right_to_wrong, e.n) == (2, 1, 5)
    assert math.isclose(e.accuracy_plain, 0.6) and math.isclose(e.accuracy_tta, 0.8)
    assert math.isclose(e.change, (e.wrong_to_right - e.right_to_wrong) / e.n)
    with pytest.raises(ValueError, match="tta has 4 predictions"):
        tta_effect(y, plain, tta[:4])
    with pytest.raises(TypeError, match="integer class labels"):
        tta_effect(y.float(), plain, tta)


def test_error_rate_by_bin():
    score = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4])
    correct = score < 0.45  # the most uncertain half is wrong
    b = error_rate_by_bin(score, correct, n_bins=2)
    assert b.count.tolist() == [4, 4]
    assert b.error_rate.tolist() == [0.0, 1.0]
    assert b.edges.tolist() == pytest.approx([0.1, 0.4, 0.9])
    with pytest.raises(ValueError, match="n_bins"):
        error_rate_by_bin(score, correct, n_bins=9)
    with pytest.raises(TypeError, match="bool"):
        error_rate_by_bin(score, correct.long())


def test_notebook_checkers_accept_solutions_and_reject_common_mistakes():
    from lessonlib.exercises import ExerciseFailed, nb06
    from lessonlib.geometric import dihedral_inverse

    assert nb06.check_cxr_views(...).passed is None
    # issue 16: a horizontal flip keeps a cardiomegaly label (off-distribution, an empirical choice)
    assert nb06.check_cxr_views({"identity", "shift 4 px", "rotate 3°", "hflip"}).passed
    assert not nb06.check_cxr_views({"identity", "shift 4 px", "rotate 3°"}).passed
    assert not nb06.check_cxr_views({"identity", "hflip"}).passed
    y, plain, tta = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 0]), torch.tensor([1, 1, 2, 0])
    assert nb06.check_right_to_wrong(1, y, plain, tta).passed
    with pytest.raises(ExerciseFailed):
        nb06.check_right_to_wrong(2, y, plain, tta, must_pass=True)
    assert nb06.check_d4_mask_inverse(dihedral_inverse).passed
    assert not nb06.check_d4_mask_inverse(lambda m, k: torch.rot90(m, -(k % 4), (-2, -1))).passed  # forgot the flip
    assert not nb06.check_d4_mask_inverse(lambda m, k: dihedral(m, k)).passed  # applied the view again
    assert nb06.check_probability_mean(lambda z: z.softmax(-1).mean(0)).passed
    fb = nb06.check_probability_mean(lambda z: z.mean(0).softmax(-1))
    assert not fb.passed and "mean logit" in fb.message


def test_function_exercises_report_untouched_stub_as_not_attempted():
    from lessonlib.exercises import nb06

    def stub(*args):
        return ...

    assert nb06.check_d4_mask_inverse(stub).passed is None
    assert nb06.check_probability_mean(stub).passed is None
    assert nb06.check_d4_mask_inverse(...).passed is None


# ----------------------------------------------------------------------------------------------
# Issue 17/18: edges of the helpers, the split of predict_with_tta, geometry from geometric
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device,exc",
    [("not-a-device", ValueError), ("cuda:x", ValueError), (3, TypeError), (None, TypeError)],
)
def test_default_batch_size_refuses_a_bad_device_naming_it(device, exc):
    """Item 13: a bad device string raised torch's RuntimeError."""
    with pytest.raises(exc, match="device"):
        default_batch_size(8, 8, 8, device)
    assert default_batch_size(8, 8, 8, torch.device("cpu")) == 32


@pytest.mark.parametrize("bad,exc", [(2.0, TypeError), (True, TypeError), (-1, ValueError)])
def test_default_batch_size_refuses_non_integer_sizes(bad, exc):
    for args in ((bad, 8, 8), (8, bad, 8), (8, 8, bad)):
        with pytest.raises(exc, match="n_views|height|width"):
            default_batch_size(*args)


def test_predict_with_tta_refuses_non_bool_flags_and_float_batch_size():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(TypeError, match="return_views"):
        predict_with_tta(model, x, return_views=1)
    with pytest.raises(TypeError, match="dense"):
        predict_with_tta(model, x, dense="no")
    with pytest.raises(TypeError, match="batch_size"):
        predict_with_tta(model, x, batch_size=2.0)


def test_mode_is_restored_when_the_model_raises():
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(16, 3)

        def forward(self, t):
            raise RuntimeError("boom")

    model = Boom().train()
    model.lin.eval()
    with pytest.raises(RuntimeError, match="boom"):
        predict_with_tta(model, torch.rand(2, 1, 4, 4))
    assert model.training and not model.lin.training


def test_predict_with_tta_is_one_forward_pass_per_chunk():
    calls = []

    class Count(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(16, 3)

        def forward(self, t):
            calls.append(t.shape[0])
            return self.lin(t.flatten(1))

    predict_with_tta(Count(), torch.rand(10, 1, 4, 4), views="d4", batch_size=4)
    assert calls == [32, 32, 16]  # V x chunk view-images per pass, never one image at a time


@settings(max_examples=20, deadline=None)
@given(
    b=st.integers(1, 6),
    chunk=st.integers(1, 7),
    views=st.sampled_from(["identity", "hflip", "flips", "d4"]),
    merge=st.sampled_from(["mean", "logit_mean", "gmean", "max"]),
    seed=st.integers(0, 2**16),
)
def test_property_tta_contract(b, chunk, views, merge, seed):
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    )
    x = torch.rand(b, 1, 5, 5, generator=g, dtype=torch.float64)
    model = model.double()
    before = x.clone()
    out, per = predict_with_tta(model, x, views=views, merge=merge, batch_size=chunk, return_views=True)
    assert torch.equal(x, before) and out.shape == (b, 3) and out.dtype == x.dtype
    assert per.shape == (len(VIEW_SETS[views]), b, 3)
    whole = predict_with_tta(model, x, views=views, merge=merge, batch_size=b)
    torch.testing.assert_close(out, whole)  # chunking does not change the result
    if merge != "max":
        torch.testing.assert_close(out.sum(1), torch.ones(b, dtype=x.dtype))
    # equivariance of D4: TTA over a group is invariant to transforming the input by a group element
    if views == "d4":
        torch.testing.assert_close(predict_with_tta(model, dihedral(x, 5), merge=merge), out)


def test_tta_takes_its_geometry_from_geometric():
    import lessonlib.geometric as geometric
    import lessonlib.tta as tta_module

    assert tta_module.dihedral is geometric.dihedral and tta_module.D4_NAMES is geometric.D4_NAMES
    src = pathlib.Path(tta_module.__file__).read_text()
    assert "from lessonlib.presets" not in src and "ms;" not in src  # no benchmark figures in the code


@settings(max_examples=30, deadline=None)
@given(
    v=st.integers(1, 6),
    b=st.integers(1, 5),
    k=st.integers(2, 5),
    merge=st.sampled_from(MERGES),
    activation=st.sampled_from(["softmax", "sigmoid", None]),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]),
    seed=st.integers(0, 2**16),
)
def test_property_merge_views_contract(v, b, k, merge, activation, dtype, seed):
    if merge == "gmean" and activation is None:
        with pytest.raises(ValueError, match="gmean"):
            merge_views(torch.zeros(v, b, k), merge=merge, activation=activation)
        return
    y = (3 * torch.randn(v, b, k, generator=torch.Generator().manual_seed(seed))).to(dtype)
    before = y.clone()
    out = merge_views(y, merge=merge, activation=activation)
    assert out.shape == (b, k) and out.dtype == dtype and torch.equal(y, before)
    shuffled = merge_views(y.flip(0), merge=merge, activation=activation)
    tol = 1e-2 if dtype == torch.float16 else 1e-5
    torch.testing.assert_close(out.double(), shuffled.double(), atol=tol, rtol=0)  # the order of views is irrelevant
    if activation == "softmax" and merge != "max":
        torch.testing.assert_close(out.double().sum(1), torch.ones(b, dtype=torch.float64), atol=tol, rtol=0)
    if activation is not None:
        assert float(out.min()) >= -tol and float(out.max()) <= 1 + tol


def test_vote_disagreement_reaches_one_when_the_mean_picks_a_class_no_view_picked():
    """Two views that each put 0.4 on class 2 but vote 0 and 1: the mean's top class is 2, so both
    views disagree with it (hypothesis found this; the bound is 1, not (V-1)/V)."""
    p = torch.tensor([[[0.5, 0.1, 0.4]], [[0.1, 0.5, 0.4]]], dtype=torch.float64)
    assert float(view_disagreement(p, method="vote")[0]) == 1.0
    assert float(view_disagreement(p[:1].expand(2, 1, 3), method="vote")[0]) == 0.0


@settings(max_examples=30, deadline=None)
@given(v=st.integers(2, 6), b=st.integers(1, 5), k=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_property_view_disagreement_bounds(v, b, k, seed):
    p = torch.softmax(2 * torch.randn(v, b, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), 2)
    mi = view_disagreement(p)
    assert mi.shape == (b,) and bool((mi >= 0).all()) and bool((mi <= min(math.log(v), math.log(k)) + 1e-9).all())
    same = p[:1].expand(v, b, k)
    torch.testing.assert_close(view_disagreement(same), torch.zeros(b, dtype=p.dtype), atol=1e-12, rtol=0)
    vote = view_disagreement(p, method="vote")
    assert bool(((vote * v - (vote * v).round()).abs() < 1e-9).all()) and bool((vote <= 1 + 1e-12).all())
    assert bool((view_disagreement(p, method="variance") >= 0).all())


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), k=st.integers(2, 4), bins=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_property_tta_effect_and_binned_errors(n, k, bins, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    plain, tta = torch.randint(0, k, (n,), generator=g), torch.randint(0, k, (n,), generator=g)
    e = tta_effect(y, plain, tta)
    assert e.n == n and abs(e.change - (e.wrong_to_right - e.right_to_wrong) / n) < 1e-12
    assert tta_effect(y, plain, plain).change == 0
    if bins > n:
        with pytest.raises(ValueError, match="n_bins"):
            error_rate_by_bin(torch.rand(n, generator=g), plain == y, n_bins=bins)
        return
    score = torch.rand(n, generator=g)
    r = error_rate_by_bin(score, plain == y, n_bins=bins)
    assert int(r.count.sum()) == n and bool((r.edges.diff() >= 0).all())
    assert bool(((r.error_rate >= 0) & (r.error_rate <= 1)).all())
    overall = float((r.error_rate * r.count).sum() / n)
    assert abs(overall - float((plain != y).double().mean())) < 1e-12


@settings(max_examples=20, deadline=None)
@given(
    n_views=st.integers(1, 16),
    h=st.integers(1, 256),
    w=st.integers(1, 256),
    device=st.sampled_from(["cpu", "cuda", "mps", torch.device("cpu")]),
)
def test_property_default_batch_size_is_a_positive_budget_share(n_views, h, w, device):
    b = default_batch_size(n_views, h, w, device)
    assert isinstance(b, int) and b >= 1
    if torch.device(device).type == "cpu":
        assert b == max(1, min(2**16 // (n_views * h * w), 256 // n_views))
    else:
        assert b == max(1, 2**22 // (n_views * h * w))


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(sorted(VIEW_SETS)), h=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_property_named_views_invert_exactly(name, h, seed):
    x = torch.rand(2, 3, h, h, generator=torch.Generator().manual_seed(seed))
    views = make_views(name)
    assert [v.name for v in views] == [D4_NAMES[k] for k in VIEW_SETS[name]]
    for v in views:
        assert torch.equal(v.inverse(v(x)), x)


# ----------------------------------------------------------------------------------------------
# Fast == reference (lessonlib.reference.tta): predict_with_tta and merge_views, every merge
# ----------------------------------------------------------------------------------------------
# Tolerance: 1e-5 absolute on probabilities (float32; the fast path batches the views of a chunk into
# one forward pass, the reference runs one view at a time, so only the convolutions' summation order
# differs). Both sides must change together: a wrong view, inverse or merge moves values by >> 1e-3.


class _DenseConv(nn.Module):
    """A small segmentation model with no symmetry: a 3x3 convolution (K=3 maps)."""

    def __init__(self, seed: int):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(1, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 5),
    side=st.sampled_from([6, 8]),
    merge=st.sampled_from(MERGES),
    views=st.sampled_from(sorted(VIEW_SETS)),
    chunk=st.sampled_from([None, 1, 2]),
    seed=st.integers(0, 99),
)
def test_property_predict_with_tta_equals_reference(b, side, merge, views, chunk, seed):
    from lessonlib import reference

    with torch.random.fork_rng():  # a linear model on the pixels: no symmetry, logits spread over ~±5
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(side * side, 5)).eval()
        model[1].weight.data.mul_(10.0)
    x = torch.rand(b, 1, side, side, generator=torch.Generator().manual_seed(seed))
    got = predict_with_tta(model, x, views=views, merge=merge, batch_size=chunk)
    want = reference.tta.tta(model, x, views=VIEW_SETS[views], merge=merge)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 4),
    side=st.integers(3, 7),
    merge=st.sampled_from(MERGES),
    seed=st.integers(0, 99),
)
def test_property_dense_predict_with_tta_equals_reference(b, side, merge, seed):
    """Dense (segmentation) TTA: each view's maps mapped back before merging, as the reference does."""
    from lessonlib import reference

    model = _DenseConv(seed).eval()
    x = torch.rand(b, 1, side, side, generator=torch.Generator().manual_seed(seed))
    got = predict_with_tta(model, x, merge=merge, dense=True)
    want = reference.tta.tta(model, x, merge=merge, dense=True)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(3, 2, 5), (8, 1, 4), (2, 2, 3, 4, 4)]),
    merge=st.sampled_from(MERGES),
    scale=st.sampled_from([1.0, 10.0]),
    seed=st.integers(0, 99),
)
def test_property_merge_views_equals_reference(shape, merge, scale, seed):
    from lessonlib import reference

    z = scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    torch.testing.assert_close(merge_views(z, merge=merge), reference.tta.merge_views(z, merge), rtol=0, atol=1e-12)
