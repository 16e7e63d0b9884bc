"""experiments.paired_comparison / compare_settings: the course's one rule for "real or within noise"."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lessonlib.experiments import compare_settings, paired_comparison

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(
    data=st.integers(2, 12).flatmap(
        lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))
    ),
    m=st.integers(1, 40),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_interval_equals_scipys_paired_t_interval_with_bonferroni(data, m, level):
    a, b = np.array(data[0]), np.array(data[1])
    d = a - b
    if d.std(ddof=1) < 1e-9:  # scipy returns nan for a zero spread; ours is the point itself
        return
    c = paired_comparison(a, b, n_comparisons=m, level=level)
    ci = stats.ttest_rel(a, b).confidence_interval(1 - (1 - level) / m)
    assert c.low == pytest.approx(ci.low, rel=1e-9, abs=1e-12)
    assert c.high == pytest.approx(ci.high, rel=1e-9, abs=1e-12)
    assert c.mean == pytest.approx(d.mean()) and c.std == pytest.approx(d.std(ddof=1))
    assert c.verdict == ("higher" if ci.low > 0 else "lower" if ci.high < 0 else "within noise")


def test_more_comparisons_widen_the_interval_and_can_flip_the_verdict():
    treatment = [0.80, 0.82, 0.79, 0.83, 0.81]
    baseline = [0.78, 0.79, 0.775, 0.80, 0.785]
    one = paired_comparison(treatment, baseline)
    many = paired_comparison(treatment, baseline, n_comparisons=1000)
    assert one.verdict == "higher" and one.low > 0
    assert many.high - many.low > one.high - one.low
    assert many.verdict == "within noise"


def test_format_states_mean_spread_seeds_interval_and_comparisons():
    c = paired_comparison([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], seeds=[4, 5, 6], n_comparisons=3, name="A − B")
    text = c.format(digits=2)
    assert text.startswith("A − B: +2.00 ± 1.00 (3 seeds, 3/3 positive; 95 % interval ")
    assert "over 3 comparisons" in text and text.endswith(c.verdict)
    assert c.seeds == (4, 5, 6)
    assert "+200.0" in c.format(digits=1, scale=100)


def test_accepts_tensors_and_lists_alike():
    t = paired_comparison(torch.tensor([0.5, 0.7, 0.6]), torch.tensor([0.4, 0.5, 0.6]))
    n = paired_comparison([0.5, 0.7, 0.6], np.array([0.4, 0.5, 0.6]))
    assert (t.low, t.high) == pytest.approx((n.low, n.high))


def test_compare_settings_counts_its_comparisons():
    res = {"none": [0.9, 0.91, 0.92], "a": [0.91, 0.93, 0.92], "b": [0.8, 0.85, 0.9]}
    out = compare_settings(res, "none")
    assert list(out) == ["a", "b"]
    assert all(c.n_comparisons == 2 for c in out.values())
    assert out["a"].name == "a − none"
    single = paired_comparison(res["a"], res["none"], n_comparisons=2)
    assert (out["a"].low, out["a"].high) == pytest.approx((single.low, single.high))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"treatment": [1.0], "baseline": [1.0]}, ValueError, "at least 2 seeds, got 1"),
        ({"treatment": [1.0, 2.0], "baseline": [1.0]}, ValueError, "one value per seed each, got 2 and 1"),
        ({"treatment": [1.0, float("nan")], "baseline": [1.0, 2.0]}, ValueError, "treatment must be finite"),
        ({"treatment": [[1.0, 2.0]], "baseline": [[1.0, 2.0]]}, ValueError, r"treatment must be 1-D .* shape \(1, 2\)"),
        ({"treatment": "ab", "baseline": [1.0, 2.0]}, TypeError, "treatment must be a sequence of numbers"),
        ({"treatment": [1.0, 2.0], "baseline": [1.0, 2.0], "n_comparisons": 0}, ValueError, "n_comparisons"),
        ({"treatment": [1.0, 2.0], "baseline": [1.0, 2.0], "level": 1.0}, ValueError, "level"),
        (
            {"treatment": [1.0, 2.0], "baseline": [1.0, 2.0], "seeds": [1]},
            ValueError,
            r"seeds must name one seed per value \(2\), got 1",
        ),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs, error, message):
    with pytest.raises(error, match=message):
        paired_comparison(**kwargs)


def test_compare_settings_bad_inputs():
    with pytest.raises(ValueError, match=r"baseline must be one of the settings \['a'\], got 'z'"):
        compare_settings({"a": [1.0, 2.0]}, "z")
    with pytest.raises(ValueError, match="only the baseline"):
        compare_settings({"a": [1.0, 2.0]}, "a")
    with pytest.raises(TypeError, match="results must be a non-empty mapping"):
        compare_settings([], "a")
