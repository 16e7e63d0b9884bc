"""Tests for lessonlib.robustness: each corruption does what it says, severities grow, sets are
reproducible, the evaluation counts correctly, bad input is refused."""

from __future__ import annotations

import pytest
import torch
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
