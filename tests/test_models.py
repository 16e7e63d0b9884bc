"""models: the small networks validate their sizes, make_model is seeded, predict_logits handles every edge."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lessonlib import models


@pytest.mark.parametrize("cls", [models.SmallCNN, models.SmallCNN1d])
@pytest.mark.parametrize("arg", ["in_channels", "num_classes", "width"])
@pytest.mark.parametrize("bad", [True, 2.0, "3", None, 0, -1])
def test_sizes_must_be_positive_integers(cls, arg, bad):
    with pytest.raises((TypeError, ValueError), match=arg):
        cls(**{arg: bad})


def test_kernel_size_must_be_odd():
    with pytest.raises(ValueError, match="kernel_size"):
        models.SmallCNN1d(kernel_size=4)
    with pytest.raises(TypeError, match="kernel_size"):
        models.SmallCNN1d(kernel_size=3.0)


def test_make_model_is_seeded_and_validated():
    a, b = models.make_model("cnn2d", 3, width=4), models.make_model("cnn2d", 3, width=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(ValueError, match="kind"):
        models.make_model("resnet", 0)
    with pytest.raises(TypeError, match="seed"):
        models.make_model("cnn2d", 0.5)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50))
def test_predict_logits_is_batch_size_independent(n, batch_size):
    model = models.make_model("cnn2d", 0, width=4)
    x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n))
    x0 = x.clone()
    model.train()
    out = models.predict_logits(model, x, batch_size=batch_size)
    ref = models.predict_logits(model, x, batch_size=512)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    assert out.shape == (n, 10) and model.training and torch.equal(x, x0)


def test_predict_logits_edges():
    model = models.make_model("cnn2d", 0, width=4)
    x = torch.rand(3, 1, 8, 8)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            models.predict_logits(model, x, batch_size=bad)
    with pytest.raises(TypeError, match="batch_size"):
        models.predict_logits(model, x, batch_size=2.5)
    assert models.predict_logits(model, x[:0]).shape == (0, 10)  # empty in, empty out
    flat = nn.Flatten()  # no parameters: runs where x lives instead of raising StopIteration
    assert models.predict_logits(flat, x).shape == (3, 64)
    assert models.model_device(flat, fallback="cpu") == torch.device("cpu")
    with pytest.raises(TypeError, match="model"):
        models.model_device("not a model")
