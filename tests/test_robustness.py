"""Tests for lessonlib.robustness: each corruption does what it says, severities grow, sets are
reproducible, the evaluation counts correctly, bad input is refused."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchvision.transforms.v2 import functional as TF

from lessonlib import robustness as R
from lessonlib.utils import make_generator


def _digits_like(n=16, seed=0):
    x = torch.rand(n, 1, 8, 8, generator=make_generator(seed))
    return (x > 0.6).float() * 0.9  # strokes on a black background, like the digits


@pytest.mark.parametrize("name", R.CORRUPTIONS)
def test_shape_dtype_range_no_in_place_and_severity_increases(name):
    x = _digits_like()
    x0 = x.clone()
    dist = []
    for s in (1, 2, 3):
        out = R.corrupt(x, name, s, generator=make_generator(0))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert float(out.min()) >= 0 and float(out.max()) <= 1
        dist.append(float((out - x).pow(2).mean()))
    assert torch.equal(x, x0)
    assert dist[0] > 0 and dist[0] < dist[1] < dist[2], dist


def test_corruptions_are_the_real_operations():
    x = _digits_like()
    c = R.SEVERITIES["contrast"][1]
    torch.testing.assert_close(R.corrupt(x, "contrast", 2), TF.adjust_contrast(x, c))
    torch.testing.assert_close(R.corrupt(x, "brightness", 1), (x + R.SEVERITIES["brightness"][0]).clamp(0, 1))
    noisy = R.corrupt(torch.full((64, 1, 32, 32), 0.5), "gaussian_noise", 1, generator=make_generator(0))
    assert float(noisy.std()) == pytest.approx(R.SEVERITIES["gaussian_noise"][0], rel=0.05)
    pix = R.corrupt(x, "pixelate", 2)  # 8 px -> 4 px -> 8 px: constant 2x2 blocks
    assert torch.equal(pix[..., ::2, ::2], pix[..., 1::2, 1::2])
    blurred = R.corrupt(x, "gaussian_blur", 3)
    assert float(blurred.sum()) == pytest.approx(float(x.sum()), rel=0.3)  # mass mostly kept
    assert float(blurred.max()) < float(x.max())


def test_elastic_is_smooth_random_and_reproducible():
    x = _digits_like()
    a = R.corrupt(x, "elastic", 2, generator=make_generator(1))
    b = R.corrupt(x, "elastic", 2, generator=make_generator(1))
    c = R.corrupt(x, "elastic", 2, generator=make_generator(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_corrupted_sets_reproducible_and_complete():
    x = _digits_like()
    s1, s2 = R.corrupted_sets(x, seed=3), R.corrupted_sets(x, seed=3)
    assert set(s1) == {(n, s) for n in R.CORRUPTIONS for s in (1, 2, 3)}
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


class _Oracle(nn.Module):
    """'Predicts' class 1 when the mean intensity exceeds a threshold, else 0."""

    def forward(self, x):
        m = x.flatten(1).mean(1)
        return torch.stack([0.3 - m, m - 0.3], 1) * 100


def test_evaluate_corruptions_counts_correctly():
    x = torch.cat([torch.zeros(5, 1, 8, 8), torch.full((5, 1, 8, 8), 0.8)])
    y = torch.tensor([0] * 5 + [1] * 5)
    sets = {("brightness", 3): R.corrupt(x, "brightness", 3), ("contrast", 1): R.corrupt(x, "contrast", 1)}
    res = R.evaluate_corruptions(_Oracle(), x, y, sets)
    assert res.clean == 1.0
    assert res.accuracy["brightness", 3] == 0.5  # +0.5 makes every black image "bright"
    assert res.accuracy["contrast", 1] == 1.0  # per-image contrast keeps a constant image constant
    assert res.mean_corruption_accuracy == 0.75
    d = res.as_dict()
    assert d["mca"] == 0.75 and d["brightness@3"] == 0.5 and d["brightness"] == 0.5


def test_bad_input_is_refused_naming_the_parameter():
    x = _digits_like()
    with pytest.raises(ValueError, match="name"):
        R.corrupt(x, "fog", 1)
    with pytest.raises(ValueError, match="severity"):
        R.corrupt(x, "contrast", 4)
    with pytest.raises(TypeError, match="floating"):
        R.corrupt((x * 255).to(torch.uint8), "contrast", 1)
    with pytest.raises(ValueError, match="x must have 4"):
        R.corrupt(x[0], "contrast", 1)
    with pytest.raises(ValueError, match="sets is empty"):
        R.evaluate_corruptions(_Oracle(), x, torch.zeros(16, dtype=torch.long), {})


# ---------------------------------------------------------------------------------------------
# the input contract: every shape the docstring claims, bad input refused naming the parameter
# ---------------------------------------------------------------------------------------------

_shapes = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=40, deadline=None)
@given(shape=_shapes, name=st.sampled_from(R.CORRUPTIONS), severity=st.integers(1, 3), seed=st.integers(0, 99))
def test_every_corruption_accepts_any_channel_count_and_size_down_to_one_pixel(shape, name, severity, seed):
    x = torch.rand(shape, generator=make_generator(seed))
    out = R.corrupt(x, name, severity, generator=make_generator(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert bool(torch.isfinite(out).all()) and float(out.min()) >= 0 and float(out.max()) <= 1


@settings(max_examples=30, deadline=None)
@given(shape=_shapes, severity=st.integers(1, 3), seed=st.integers(0, 99))
def test_contrast_blends_each_image_with_its_mean_for_every_channel_count(shape, severity, seed):
    x = torch.rand(shape, generator=make_generator(seed))
    p = R.SEVERITIES["contrast"][severity - 1]
    out = R.corrupt(x, "contrast", severity)
    if shape[1] in (1, 3):  # torchvision's own kernel (RGB: towards the luminance mean)
        torch.testing.assert_close(out, TF.adjust_contrast(x, p))
    else:  # one mean over the channels and pixels of each image
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        torch.testing.assert_close(out, (p * x + (1 - p) * mean).clamp(0, 1))


def test_a_one_pixel_high_image_is_blurred_along_its_width_only():
    x = torch.rand(2, 1, 1, 9, generator=make_generator(0))
    out = R.corrupt(x, "gaussian_blur", 3)
    sigma = R.SEVERITIES["gaussian_blur"][2] * 1  # a fraction of the shorter side, 1 px
    torch.testing.assert_close(out, TF.gaussian_blur(x, [3, 1], [sigma, sigma]))  # kernel 3 wide, 1 high
    tall = R.corrupt(x.transpose(-1, -2), "gaussian_blur", 3)
    torch.testing.assert_close(tall, out.transpose(-1, -2))


def _bad_images():
    return st.sampled_from(
        [
            ("x", TypeError, "floating", torch.zeros(2, 1, 4, 4, dtype=torch.uint8)),
            ("x", ValueError, "4 dimensions", torch.zeros(1, 4, 4)),
            ("x", ValueError, "empty", torch.zeros(0, 1, 4, 4)),
            ("x", ValueError, "empty", torch.zeros(2, 1, 0, 4)),
            ("x", ValueError, "NaN or infinite", torch.full((2, 1, 4, 4), float("nan"))),
            ("x", ValueError, "NaN or infinite", torch.full((2, 1, 4, 4), float("inf"))),
            ("x", TypeError, "torch.Tensor", [[[[0.5]]]]),
        ]
    )


@settings(max_examples=25, deadline=None)
@given(bad=_bad_images(), name=st.sampled_from(R.CORRUPTIONS))
def test_corrupt_and_corrupted_sets_refuse_bad_images_naming_x(bad, name):
    _, exc, words, x = bad
    with pytest.raises(exc, match=f"^x .*{words}|^x must .*{words}"):
        R.corrupt(x, name, 1)
    with pytest.raises(exc, match=f"^x .*{words}|^x must .*{words}"):
        R.corrupted_sets(x, corruptions=[name], severities=[1])


@settings(max_examples=25, deadline=None)
@given(
    case=st.sampled_from(
        [
            ({"name": "fog"}, ValueError, r"name must be one of .*got 'fog'"),
            ({"name": 3}, ValueError, r"name must be one of"),
            ({"severity": 0}, ValueError, r"severity must be >= 1, got 0"),
            ({"severity": 4}, ValueError, r"severity must be <= 3, got 4"),
            ({"severity": 2.0}, TypeError, r"severity must be an integer"),
            ({"severity": True}, TypeError, r"severity must be an integer"),
            ({"generator": 7}, TypeError, r"generator"),
        ]
    )
)
def test_corrupt_refuses_bad_arguments_naming_them(case):
    kwargs, exc, message = case
    args = {"name": "contrast", "severity": 1, **kwargs}
    gen = args.pop("generator", None)
    with pytest.raises(exc, match=message):
        R.corrupt(_digits_like(), args["name"], args["severity"], generator=gen)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"corruptions": "contrast"}, TypeError, r"corruptions must be a non-empty list"),
        ({"corruptions": []}, TypeError, r"corruptions must be a non-empty list"),
        ({"corruptions": ["contrast", "fog"]}, ValueError, r"corruptions\[1\] must be one of .*'fog'"),
        ({"severities": 2}, TypeError, r"severities must be a non-empty list"),
        ({"severities": 2.5}, TypeError, r"severities must be a non-empty list"),
        ({"severities": [1, 5]}, ValueError, r"severities\[1\] must be <= 3, got 5"),
        ({"severities": [1.0]}, TypeError, r"severities\[0\] must be an integer"),
        ({"seed": -1}, ValueError, r"seed must be >= 0"),
    ],
)
def test_corrupted_sets_refuses_bad_arguments_naming_them(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        R.corrupted_sets(_digits_like(), **kwargs)


def _eval_args():
    x = torch.cat([torch.zeros(2, 1, 8, 8), torch.full((2, 1, 8, 8), 0.8)])
    y = torch.tensor([0, 0, 1, 1])
    return x, y, {("brightness", 1): R.corrupt(x, "brightness", 1)}


@pytest.mark.parametrize(
    "change, exc, message",
    [
        ({"model": lambda x: x}, TypeError, r"model must be a torch.nn.Module, got function"),
        ({"model": nn.Flatten(0)}, TypeError, r"model must return logits \[B, K\] with B = 8 rows, got shape \(512,\)"),
        ({"x": torch.zeros(0, 1, 8, 8)}, ValueError, r"x is empty"),
        ({"x": torch.full((4, 1, 8, 8), float("nan"))}, ValueError, r"x contains NaN"),
        ({"x": torch.zeros(4, 8, 8)}, ValueError, r"x must have 4 dimensions"),
        ({"y": torch.tensor([0.0, 0.0, 1.0, 1.0])}, TypeError, r"y must hold integer class labels, got dtype"),
        ({"y": torch.tensor([0, 1, 1])}, ValueError, r"x has 4 rows but y has 3"),
        ({"y": [0, 0, 1, 1]}, TypeError, r"y must be a torch.Tensor"),
        ({"sets": {}}, ValueError, r"sets is empty"),
        ({"sets": [torch.zeros(4, 1, 8, 8)]}, TypeError, r"sets must be a dict"),
        ({"sets": {("contrast", 1): "images"}}, TypeError, r"sets\[\('contrast', 1\)\] must be a torch.Tensor"),
        ({"sets": {("contrast", 1): torch.zeros(3, 1, 8, 8)}}, ValueError, r"sets\[\('contrast', 1\)\] has shape"),
        ({"sets": {("c", 1): torch.full((4, 1, 8, 8), float("inf"))}}, ValueError, r"sets\[\('c', 1\)\] contains NaN"),
    ],
)
def test_evaluate_corruptions_refuses_bad_input_naming_the_parameter(change, exc, message):
    x, y, sets = _eval_args()
    args = {"model": _Oracle(), "x": x, "y": y, "sets": sets, **change}
    with pytest.raises(exc, match=message):
        R.evaluate_corruptions(args["model"], args["x"], args["y"], args["sets"])


def test_held_out_corruptions_follow_the_overlaps_of_the_training_menu():
    from lessonlib.policy_spaces import OPS, SPACES

    # TrivialAugment's menus hold brightness, contrast and sharpness: blur, contrast, brightness are seen
    for space in ("wide", "randaugment"):
        assert R.held_out_corruptions(list(SPACES[space])) == ("gaussian_noise", "pixelate", "elastic")
    # AugMix's list leaves the colour operations out (the paper's protocol): every family is held out
    assert R.held_out_corruptions(list(SPACES["augmix"])) == R.CORRUPTIONS
    assert R.held_out_corruptions([]) == R.CORRUPTIONS
    assert R.held_out_corruptions(["Sharpness"]) == tuple(c for c in R.CORRUPTIONS if c != "gaussian_blur")
    for ops in R.OVERLAPS.values():  # every overlap names a real operation of the menu
        assert set(ops) <= set(OPS)


@pytest.mark.parametrize("bad", ["Contrast", None, ("Contrast", 3)])
def test_held_out_corruptions_refuses_a_non_list_naming_ops(bad):
    with pytest.raises(TypeError, match="ops must be a list or tuple of operation names"):
        R.held_out_corruptions(bad)


def test_mean_accuracy_averages_the_named_corruptions_over_severities():
    acc = {("contrast", 1): 0.2, ("contrast", 2): 0.4, ("pixelate", 1): 0.9, ("pixelate", 2): 0.7}
    res = R.CorruptionResult(clean=1.0, accuracy=acc)
    assert res.mean_accuracy(["contrast"]) == pytest.approx(0.3)
    assert res.mean_accuracy(("contrast", "pixelate")) == pytest.approx(0.55) == res.mean_corruption_accuracy
    for bad in ([], "contrast", ["elastic"]):
        with pytest.raises(ValueError, match="corruptions must be a non-empty list of"):
            res.mean_accuracy(bad)
