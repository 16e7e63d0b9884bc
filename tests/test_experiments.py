"""experiments: seeds are validated (never truncated), subsets are balanced (the names live here only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import experiments
from lessonlib.utils import make_generator


@pytest.mark.parametrize("bad", [[0.5, 1.5], "ab", [1, "2"], [-1], True, 0, [], 2.0, None])
def test_seeds_are_validated_not_truncated(bad):
    with pytest.raises((TypeError, ValueError), match="seeds"):
        experiments.map_seeds(lambda s: s, bad, workers=1, device="cpu", progress=False)


def test_seed_lists_in_every_integer_form():
    run = lambda seeds: experiments.map_seeds(lambda s: s, seeds, workers=1, device="cpu", progress=False)  # noqa: E731
    assert run(3) == [0, 1, 2]
    assert run(range(2, 4)) == [2, 3]
    assert run(torch.tensor([4, 5])) == [4, 5]
    assert run((7,)) == [7]


def test_map_runs_over_seed_setting_pairs_keeps_order_and_matches_a_loop():
    runs = [(s, name) for s in range(3) for name in ("none", "affine")]
    slow_first = sorted(runs, key=lambda r: r[1] != "affine")
    fn = lambda r: float(torch.rand(3, generator=make_generator(r[0])).sum()) + len(r[1])  # noqa: E731
    two = experiments.map_runs(fn, slow_first, workers=2, device="cpu", progress=False)
    assert two == [fn(r) for r in slow_first]
    assert dict(zip(slow_first, two, strict=True)) == {r: fn(r) for r in runs}
    with pytest.raises(TypeError, match="runs must be a sequence"):
        experiments.map_runs(fn, "ab", progress=False)
    with pytest.raises(TypeError, match="runs must be a sequence"):
        experiments.map_runs(fn, iter(runs), progress=False)
    with pytest.raises(ValueError, match="runs is empty"):
        experiments.map_runs(fn, [], progress=False)
    with pytest.raises(TypeError, match="experiment must be callable"):
        experiments.map_runs(3, runs, progress=False)


def test_repeat_over_seeds_summary():
    summary = experiments.repeat_over_seeds(lambda s: float(s), [1, 2, 3], workers=1, device="cpu", progress=False)
    assert summary.mean("value") == pytest.approx(2.0) and summary.std("value") == pytest.approx(1.0)
    assert summary.format("value", 1) == "2.0 ± 1.0 (n=3)"


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 5), per=st.integers(2, 8), seed=st.integers(0, 1000), data=st.data())
def test_stratified_subset_contract(k, per, seed, data):
    y = torch.arange(k * per) % k
    n = data.draw(st.integers(k, k * per))
    idx = experiments.stratified_subset(y, n, generator=make_generator(seed))
    again = experiments.stratified_subset(y, n, generator=make_generator(seed))
    assert torch.equal(idx, again) and idx.dtype == torch.int64
    assert idx.unique().numel() == n
    counts = torch.bincount(y[idx], minlength=k)
    assert int(counts.max() - counts.min()) <= 1


def test_stratified_subset_edges():
    with pytest.raises(ValueError, match="y is empty"):
        experiments.stratified_subset(torch.zeros(0, dtype=torch.long), 0)
    y = torch.arange(8) % 2
    with pytest.raises(TypeError, match="generator"):
        experiments.stratified_subset(y, 4, generator=3)
    with pytest.raises(TypeError, match="n must"):
        experiments.stratified_subset(y, 4.0)
    with pytest.raises(TypeError, match="integer class labels"):
        experiments.stratified_subset(y.bool(), 2)


def test_learning_curve_validates_sizes():
    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 2
    for bad in ([4.5], "12", [0]):
        with pytest.raises((TypeError, ValueError), match="sizes"):
            experiments.learning_curve(x, y, x, y, sizes=bad, settings={"none": None}, seeds=1, progress=False)


@pytest.mark.parametrize(
    "result, got",
    [
        ("0.9", "str with 'value': str"),
        ([0.9], "list with 'value': list"),
        ({"acc": "high"}, "dict with 'acc': str"),
        (None, "NoneType with 'value': NoneType"),
        ({"acc": True}, "dict with 'acc': bool"),
    ],
)
def test_repeat_over_seeds_names_an_experiment_that_returns_the_wrong_thing(result, got):
    with pytest.raises(
        TypeError,
        match=r"^experiment must return a float or a \{metric: float\} dict; for seed 0 "
        rf"it returned {got}",
    ):
        experiments.repeat_over_seeds(lambda seed: result, [0, 1], progress=False, workers=1)
    ok = experiments.repeat_over_seeds(lambda seed: {"acc": np.float32(0.5), "n": 3}, 2, progress=False, workers=1)
    assert ok.mean("acc") == 0.5 and ok.mean("n") == 3.0


def test_learning_curve_names_bad_settings_and_models_before_training():
    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 2
    kw = {"sizes": [4], "seeds": 1, "progress": False}
    with pytest.raises(
        TypeError, match=r"^settings\['flip'\] must be an augment\(x, y, generator\) -> \(x, y\) or None, got str"
    ):
        experiments.learning_curve(x, y, x, y, settings={"none": None, "flip": "hflip"}, **kw)
    with pytest.raises(TypeError, match="^settings must be a mapping"):
        experiments.learning_curve(x, y, x, y, settings=[None], **kw)
    with pytest.raises(ValueError, match="^model_kind='mlp' with model_kwargs=\\{\\} builds no model: kind must be"):
        experiments.learning_curve(x, y, x, y, settings={"none": None}, model_kind="mlp", **kw)
    with pytest.raises(TypeError, match="^model_kind='cnn2d' with model_kwargs=\\{'depth': 3\\} builds no model"):
        experiments.learning_curve(x, y, x, y, settings={"none": None}, model_kwargs={"depth": 3}, **kw)
    with pytest.raises(TypeError, match=r"^augment must return a pair \(x, y\), got Tensor"):
        experiments.learning_curve(x, y, x, y, settings={"bad": lambda a, b, g: a}, steps=1, device="cpu", **kw)
