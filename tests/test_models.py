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


class _Returns(nn.Module):
    def __init__(self, make):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.make = make

    def forward(self, x):
        return self.make(x * self.w)


@pytest.mark.parametrize(
    "make, got",
    [
        (lambda x: (x.flatten(1)[:, :3], None), "got tuple"),
        (lambda x: x.flatten(1)[:1, :3], "got shape \\(1, 3\\)"),
        (lambda x: x.sum(), "got shape \\(\\)"),
    ],
)
def test_predict_logits_and_fit_name_a_model_that_returns_the_wrong_thing(make, got):
    from lessonlib import training

    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    with pytest.raises(TypeError, match=rf"^model must return logits \[B, K\] with B = 4 rows, {got}"):
        models.predict_logits(_Returns(make), x)
    with pytest.raises((TypeError, ValueError), match=r"^model must return logits \[B, K\]"):
        training.fit(_Returns(make), x, y, steps=1, batch_size=4, progress=False, device="cpu")
