"""Tests for lessonlib.tabular: per-feature scale, bounds, types, NaN-not-zero dropout, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import reference
from lessonlib import tabular as T
from lessonlib.data import load_breast_cancer, load_diabetes
from lessonlib.utils import make_generator, uniform

DIABETES_SPEC = [
    T.FeatureSpec("integer", 0, 120),  # age
    T.FeatureSpec("binary"),  # sex
    *[T.FeatureSpec("continuous", 0.0)] * 7,  # bmi, bp, s1..s4 > 0
    T.FeatureSpec("continuous"),  # s5 (log)
]


def test_feature_std_matches_numpy_and_ignores_nan():
    x = load_breast_cancer().x
    torch.testing.assert_close(T.feature_std(x), torch.from_numpy(np.std(x.numpy(), axis=0, ddof=1)))
    xm = x.clone()
    xm[::3, 0] = float("nan")
    expected = float(np.nanstd(xm[:, 0].numpy(), ddof=1))
    assert float(T.feature_std(xm)[0]) == pytest.approx(expected)


def test_noise_is_per_feature_scaled():
    x = load_breast_cancer().x
    sd = T.feature_std(x)
    rows = x[:1].repeat(4000, 1)
    xa, miss = T.augment_tabular(rows, feature_std=sd, noise_scale=0.1, generator=make_generator(0))
    assert not miss.any()
    emp = (xa - rows).std(0)
    rel = emp / (0.1 * sd)
    assert rel.min() > 0.9 and rel.max() < 1.1, "noise std must be 0.1 x each feature's own std"
    # features span four orders of magnitude: absolute noise would be the same for all of them
    assert sd.max() / sd.min() > 1e3


def test_binary_and_categorical_never_noised_integers_rounded_bounds_kept():
    t = load_diabetes()
    sd = T.feature_std(t.x)
    xa, _ = T.augment_tabular(t.x, feature_std=sd, noise_scale=1.0, spec=DIABETES_SPEC, generator=make_generator(1))
    assert torch.equal(xa[:, 1], t.x[:, 1]), "sex (binary) must never receive noise"
    assert set(xa[:, 1].unique().tolist()) == {1.0, 2.0}
    assert torch.equal(xa[:, 0], xa[:, 0].round()), "age (integer) must stay integer"
    assert (xa[:, 0] >= 0).all() and (xa[:, 0] <= 120).all()
    assert (xa[:, 2:9] > 0).all(), "serum values and BMI must stay positive"
    assert not torch.equal(xa[:, 2], t.x[:, 2])
    cat = [T.FeatureSpec("categorical"), T.FeatureSpec()]
    x = torch.tensor([[3.0, 1.0]] * 50, dtype=torch.float64)
    xa, _ = T.augment_tabular(x, feature_std=torch.ones(2, dtype=torch.float64), spec=cat, noise_scale=1.0)
    assert torch.equal(xa[:, 0], x[:, 0])


@pytest.mark.parametrize("bounds", ["truncate", "clamp"])
def test_bounds_respected_and_truncation_has_no_atom(bounds):
    x = torch.zeros(20000, 1, dtype=torch.float64)
    spec = [T.FeatureSpec("continuous", 0.0, 1.0)]
    xa, _ = T.augment_tabular(
        x, feature_std=torch.ones(1, dtype=torch.float64), noise_scale=1.0, spec=spec, bounds=bounds
    )
    assert (xa >= 0).all() and (xa <= 1).all()
    at_bound = float((xa == 0).double().mean())
    if bounds == "clamp":
        assert at_bound > 0.4  # half the draws pile up on the bound
    else:
        assert at_bound == 0.0
        # truncated N(0, 1) on [0, 1]: mean = (phi(0) - phi(1)) / (Phi(1) - Phi(0)) ~ 0.4599
        phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
        assert float(xa.mean()) == pytest.approx((phi(0) - phi(1)) / (cdf(1) - cdf(0)), abs=0.01)


def test_dropout_marks_nan_not_zero_and_mask_matches():
    t = load_diabetes()
    sd = T.feature_std(t.x)
    xa, miss = T.augment_tabular(t.x, feature_std=sd, noise_scale=0.0, dropout_prob=0.3, generator=make_generator(0))
    assert miss.dtype == torch.bool and miss.shape == t.x.shape
    assert torch.equal(torch.isnan(xa), miss)
    assert 0.25 < float(miss.double().mean()) < 0.35
    assert not (xa == 0).any(), "a dropped value must be NaN, never 0"
    torch.testing.assert_close(xa[~miss], t.x[~miss])  # noise_scale=0: observed values untouched


def test_existing_missing_values_stay_missing():
    x = torch.tensor([[1.0, float("nan")], [2.0, 3.0]], dtype=torch.float64)
    xa, miss = T.augment_tabular(x, feature_std=torch.ones(2, dtype=torch.float64), generator=make_generator(0))
    assert bool(miss[0, 1]) and math.isnan(float(xa[0, 1]))
    assert not miss[1].any()


def test_shapes_dtypes_reproducible_input_untouched():
    x = load_breast_cancer().x[:20]
    before = x.clone()
    sd = T.feature_std(x)
    a, ma = T.augment_tabular(x, feature_std=sd, dropout_prob=0.2, generator=make_generator(5))
    b, mb = T.augment_tabular(x, feature_std=sd, dropout_prob=0.2, generator=make_generator(5))
    c, _ = T.augment_tabular(x, feature_std=sd, dropout_prob=0.2, generator=make_generator(6))
    assert torch.equal(x, before)
    assert torch.equal(a.nan_to_num(-1), b.nan_to_num(-1)) and torch.equal(ma, mb)
    assert not torch.equal(a.nan_to_num(-1), c.nan_to_num(-1))
    assert a.dtype == torch.float64
    one, m1 = T.augment_tabular(x[0].float(), feature_std=sd.float(), generator=make_generator(0))
    assert one.shape == (30,) and one.dtype == torch.float32 and m1.shape == (30,)


def test_rows_in_a_batch_get_independent_noise():
    x = torch.ones(100, 3, dtype=torch.float64)
    xa, _ = T.augment_tabular(x, feature_std=torch.ones(3, dtype=torch.float64), noise_scale=0.5)
    assert torch.unique(xa[:, 0]).numel() == 100


def test_augment_rows_appends_copies():
    t = load_diabetes()
    sd = T.feature_std(t.x)
    xb, yb, miss = T.augment_rows(t.x[:10], t.y[:10], copies=3, feature_std=sd, spec=DIABETES_SPEC, dropout_prob=0.1)
    assert xb.shape == (40, 10) and yb.shape == (40,) and miss.shape == (40, 10)
    assert torch.equal(xb[:10], t.x[:10]) and torch.equal(yb[10:20], t.y[:10])


def test_bad_inputs():
    sd = torch.ones(3, dtype=torch.float64)
    x = torch.zeros(4, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got dtype torch.int64"):
        T.augment_tabular(torch.zeros(4, 3, dtype=torch.int64), feature_std=sd)
    with pytest.raises(ValueError, match=r"x must have 1 or 2 dimensions, got shape \(2, 2, 3\)"):
        T.augment_tabular(torch.zeros(2, 2, 3), feature_std=sd)
    with pytest.raises(ValueError, match=r"x contains infinite values; expected finite numbers \(NaN = missing"):
        T.augment_tabular(torch.tensor([[0.0, float("inf"), 1.0]]), feature_std=sd)
    for empty in (torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)):
        with pytest.raises(ValueError, match=r"x is empty \(shape \(0.*\)\); expected at least one element"):
            T.augment_tabular(empty, feature_std=sd)
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 3\)\)"):
        T.augment_rows(torch.zeros(0, 3), torch.zeros(0), copies=2, feature_std=sd.float())
    with pytest.raises(ValueError, match=r"x_train is empty \(shape \(0, 3\)\)"):
        T.feature_std(torch.zeros(0, 3))
    with pytest.raises(ValueError, match=r"feature_std must be a tensor shaped \[3\]"):
        T.augment_tabular(x, feature_std=torch.ones(4))
    with pytest.raises(ValueError, match="feature_std must be finite"):
        T.augment_tabular(x, feature_std=-sd)
    with pytest.raises(ValueError, match=r"noise_scale must be >= 0.0, got -0.1"):
        T.augment_tabular(x, feature_std=sd, noise_scale=-0.1)
    with pytest.raises(ValueError, match=r"dropout_prob must be a probability in \[0, 1\], got 2.0"):
        T.augment_tabular(x, feature_std=sd, dropout_prob=2.0)
    with pytest.raises(ValueError, match="spec has 2"):
        T.augment_tabular(x, feature_std=sd, spec=[T.FeatureSpec()] * 2)
    with pytest.raises(ValueError, match=r"bounds must be one of \['truncate', 'clamp'\], got 'wrap'"):
        T.augment_tabular(x, feature_std=sd, bounds="wrap")
    with pytest.raises(ValueError, match="outside the spec's bounds for feature 2"):
        T.augment_tabular(x - 1, feature_std=sd, spec=[T.FeatureSpec(), T.FeatureSpec(), T.FeatureSpec("integer", 0)])
    with pytest.raises(ValueError, match=r"kind must be one of .*got 'ordinalish'"):
        T.FeatureSpec("ordinalish")
    with pytest.raises(ValueError, match="low must be <= high"):
        T.FeatureSpec("continuous", 2.0, 1.0)
    with pytest.raises(ValueError, match=r"x_train must be \[n_rows >= 2, n_features\], got shape \(1, 3\)"):
        T.feature_std(torch.zeros(1, 3))


kinds = st.sampled_from(T.KINDS)


@st.composite
def table_and_spec(draw):
    n_rows = draw(st.integers(1, 30))
    n_feat = draw(st.integers(1, 6))
    spec, cols = [], []
    for _ in range(n_feat):
        kind = draw(kinds)
        low = draw(st.one_of(st.none(), st.floats(-100, 100)))
        width = draw(st.floats(0, 100))
        high = draw(st.one_of(st.none(), st.just(None if low is None else low + width)))
        lo = low if low is not None else -50.0
        hi = high if high is not None else lo + 100.0
        if kind == "integer":
            lo_i, hi_i = math.ceil(lo), math.floor(hi)
            if lo_i > hi_i:
                kind = "continuous"
            else:
                cols.append(draw(st.lists(st.integers(lo_i, hi_i), min_size=n_rows, max_size=n_rows)))
                spec.append(T.FeatureSpec(kind, low, high))
                continue
        cols.append(draw(st.lists(st.floats(lo, hi), min_size=n_rows, max_size=n_rows)))
        spec.append(T.FeatureSpec(kind, low, high))
    x = torch.tensor(cols, dtype=torch.float64).T.reshape(n_rows, n_feat)
    return x, spec


@settings(max_examples=60, deadline=None)
@given(
    data=table_and_spec(),
    scale=st.floats(0, 5),
    p=st.floats(0, 1),
    seed=st.integers(0, 10_000),
    bounds=st.sampled_from(["truncate", "clamp"]),
)
def test_fuzz_constraints_always_hold(data, scale, p, seed, bounds):
    x, spec = data
    sd = torch.rand(x.shape[1], generator=make_generator(seed), dtype=torch.float64) * 10
    before = x.clone()
    xa, miss = T.augment_tabular(
        x, feature_std=sd, noise_scale=scale, dropout_prob=p, spec=spec, bounds=bounds, generator=make_generator(seed)
    )
    assert torch.equal(x, before)
    assert xa.shape == x.shape and torch.equal(torch.isnan(xa), miss)
    for f, s in enumerate(spec):
        col, keep = xa[:, f], ~miss[:, f]
        v = col[keep]
        assert torch.isfinite(v).all()
        if s.low is not None:
            assert (v >= s.low).all()
        if s.high is not None:
            assert (v <= s.high).all()
        if s.kind in ("binary", "categorical"):
            assert torch.equal(v, x[keep, f])
        if s.kind == "integer":
            assert torch.equal(v, v.round())


@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from([torch.int32, torch.int64, torch.uint8, torch.bool]),
    shape=st.sampled_from([(3,), (2, 3)]),
)
def test_fuzz_integer_tables_rejected(dtype, shape):
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got dtype"):
        T.augment_tabular(torch.zeros(shape, dtype=dtype), feature_std=torch.ones(3))


# ---------------------------------------------------------------------------------------------
# Issue 17 (dtypes, edges) and issue 18 (oracle test against numpy)
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(2, 40),
    n_feat=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    missing=st.floats(0, 0.6),
    loc=st.floats(-1e4, 1e4),
    spread=st.floats(1e-3, 1e3),
)
def test_feature_std_equals_numpy_nanstd(n_rows, n_feat, seed, missing, loc, spread):
    g = make_generator(seed)
    x = loc + spread * torch.randn(n_rows, n_feat, generator=g, dtype=torch.float64)
    x[torch.rand(n_rows, n_feat, generator=g) < missing] = float("nan")
    got = T.feature_std(x)
    enough = (~torch.isnan(x)).sum(0) >= 2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = torch.from_numpy(np.nanstd(x.numpy(), axis=0, ddof=1))
    torch.testing.assert_close(got[enough], ref[enough], rtol=1e-9, atol=1e-9 * spread)
    assert torch.equal(got[~enough], torch.zeros_like(got[~enough]))  # numpy: NaN; here: no noise


def test_feature_std_float16_does_not_overflow():
    x = torch.tensor([[180.0, 1.0], [260.0, 2.0], [320.0, 1.0]], dtype=torch.float16)  # cholesterol, mg/dL
    sd = T.feature_std(x)  # the float16 sum of squared deviations overflowed to inf
    assert sd.dtype == torch.float16 and torch.isfinite(sd).all()
    torch.testing.assert_close(sd, T.feature_std(x.double()).half())
    with pytest.raises(ValueError, match="does not fit"):
        T.feature_std(torch.tensor([[-60000.0], [60000.0]], dtype=torch.float16))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_augment_tabular_and_rows_on_half_precision(dtype):
    t = load_diabetes()
    x = t.x[:50].to(dtype)
    sd = T.feature_std(x)
    xa, miss = T.augment_tabular(
        x, feature_std=sd, noise_scale=0.5, dropout_prob=0.2, spec=DIABETES_SPEC, generator=make_generator(0)
    )
    assert xa.dtype == dtype and torch.equal(xa.isnan(), miss)
    ref, _ = T.augment_tabular(
        x.float(),
        feature_std=sd.float(),
        noise_scale=0.5,
        dropout_prob=0.2,
        spec=DIABETES_SPEC,
        generator=make_generator(0),
    )
    torch.testing.assert_close(xa, ref.to(dtype), equal_nan=True)
    v = xa[~miss].float()
    assert torch.isfinite(v).all()
    xb, yb, mb = T.augment_rows(x, t.y[:50], copies=2, feature_std=sd, spec=DIABETES_SPEC)
    assert xb.dtype == dtype and xb.shape == (150, 10) and torch.equal(xb[:50], x)


BAD_TABULAR = [
    ("noise_scale", dict(noise_scale=float("nan"))),
    ("noise_scale", dict(noise_scale=float("inf"))),
    ("noise_scale", dict(noise_scale="0.1")),
    ("noise_scale", dict(noise_scale=True)),
    ("dropout_prob", dict(dropout_prob=float("nan"))),
    ("dropout_prob", dict(dropout_prob=None)),
    ("bounds", dict(bounds=None)),
    ("generator", dict(generator=3)),
    ("feature_std", dict(feature_std=torch.tensor([1.0, float("nan"), 1.0]))),
    ("feature_std", dict(feature_std=[1.0, 1.0, 1.0])),
]


@pytest.mark.parametrize("name,kwargs", BAD_TABULAR)
def test_bad_arguments_name_the_parameter(name, kwargs):
    x = torch.zeros(4, 3, dtype=torch.float64)
    kw = {"feature_std": torch.ones(3, dtype=torch.float64), **kwargs}
    with pytest.raises((TypeError, ValueError), match=rf"{name} (must|contains NaN)"):
        T.augment_tabular(x, **kw)


def test_bad_spec_and_rows_arguments_name_the_parameter():
    for kwargs, name in [
        (dict(low=float("nan")), "low"),
        (dict(high="10"), "high"),
        (dict(low=True), "low"),
        (dict(kind=3), "kind"),
    ]:
        with pytest.raises((TypeError, ValueError), match=name):
            T.FeatureSpec(**kwargs)
    x, y, sd = torch.zeros(4, 3), torch.zeros(4), torch.ones(3)
    for copies in (1.5, True, -1, "2"):
        with pytest.raises((TypeError, ValueError), match="copies"):
            T.augment_rows(x, y, copies=copies, feature_std=sd)
    for bad_y in ([0, 1, 0, 1], torch.zeros(3), torch.zeros(4, 1)):
        with pytest.raises((TypeError, ValueError), match="y"):
            T.augment_rows(x, bad_y, copies=1, feature_std=sd)
    assert T.FeatureSpec("integer", 18, 100).low == 18.0
    assert T.FeatureSpec("continuous", -float("inf"), float("inf")).high == float("inf")


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 30),
    n_feat=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    scale=st.floats(0, 3),
    p=st.floats(0, 1),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
)
def test_fuzz_augment_tabular_contract(n_rows, n_feat, seed, scale, p, dtype):
    x = (torch.randn(n_rows, n_feat, generator=make_generator(seed)) * 3 + 10).to(dtype)
    sd = torch.ones(n_feat, dtype=dtype)
    before = x.clone()
    kw = dict(feature_std=sd, noise_scale=scale, dropout_prob=p)
    a, ma = T.augment_tabular(x, **kw, generator=make_generator(seed))
    b, mb = T.augment_tabular(x, **kw, generator=make_generator(seed))
    assert torch.equal(x, before)
    assert a.dtype == dtype and a.device == x.device and a.shape == x.shape
    assert torch.equal(a.nan_to_num(-1), b.nan_to_num(-1)) and torch.equal(ma, mb)
    assert torch.equal(a.isnan(), ma) and torch.isfinite(a[~ma]).all()
    if scale == 0:
        assert torch.equal(a[~ma], x[~ma])


@settings(max_examples=30, deadline=None)
@given(
    n_rows=st.integers(1, 20),
    n_feat=st.integers(1, 4),
    copies=st.integers(0, 4),
    seed=st.integers(0, 10_000),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]),
)
def test_fuzz_augment_rows_contract(n_rows, n_feat, copies, seed, dtype):
    x = (torch.randn(n_rows, n_feat, generator=make_generator(seed)) + 5).to(dtype)
    y = torch.arange(n_rows)
    sd = torch.ones(n_feat, dtype=dtype)
    before = x.clone()
    xb, yb, mb = T.augment_rows(x, y, copies=copies, feature_std=sd, dropout_prob=0.3, generator=make_generator(seed))
    xc, yc, mc = T.augment_rows(x, y, copies=copies, feature_std=sd, dropout_prob=0.3, generator=make_generator(seed))
    assert torch.equal(x, before)
    assert xb.shape == ((copies + 1) * n_rows, n_feat) and xb.dtype == dtype
    assert torch.equal(xb[:n_rows], x) and torch.equal(yb, y.repeat(copies + 1))
    assert torch.equal(xb.nan_to_num(-1), xc.nan_to_num(-1)) and torch.equal(mb, mc)
    assert torch.equal(mb, xb.isnan()) and not mb[:n_rows].any()


# ---------------------------------------------------------------------------------------------
# Fast == reference (lessonlib.reference.tabular), on random tables, specs and the same draws
# ---------------------------------------------------------------------------------------------
# augment_tabular(bounds="truncate") draws u ~ U(0, 1) per value (float32 draws, cast to float64 for a
# float64 table), then the dropout draws (float32, dropped where < dropout_prob). The test redraws both
# from a generator with the same seed and hands them, with σ_f = noise_scale · std_f (0 for binary and
# categorical), the bounds (±inf when absent) and the integer flags, to the reference. Tolerance on
# float64 tables: 1e-9 in the features' units (the fast code clamps the CDF value into [tiny, 1 − eps]).


@settings(max_examples=40, deadline=None)
@given(data=table_and_spec(), scale=st.floats(0, 3), p=st.floats(0, 1), seed=st.integers(0, 10_000))
def test_property_augment_tabular_equals_reference(data, scale, p, seed):
    x, spec = data
    x[0, 0] = float("nan") if x.shape[0] > 1 else x[0, 0]  # a value already missing stays missing
    sd = torch.rand(x.shape[1], generator=make_generator(seed + 1), dtype=torch.float64) * 10
    fast, fast_missing = T.augment_tabular(
        x, feature_std=sd, noise_scale=scale, dropout_prob=p, spec=spec, generator=make_generator(seed)
    )
    g = make_generator(seed)
    u = uniform(x.shape, generator=g, dtype=torch.float64)
    drop = uniform(x.shape, generator=g) < p
    sigma = scale * sd * torch.tensor([s.kind in ("continuous", "integer") for s in spec])
    inf = float("inf")
    low = torch.tensor([-inf if s.low is None else s.low for s in spec], dtype=torch.float64)
    high = torch.tensor([inf if s.high is None else s.high for s in spec], dtype=torch.float64)
    integer = torch.tensor([s.kind == "integer" for s in spec])
    noisy = reference.tabular.constrained_noise(x, sigma, low, high, integer, u)
    want, want_missing = reference.tabular.feature_dropout(noisy, drop)
    assert torch.equal(fast_missing, want_missing)
    torch.testing.assert_close(fast, want, rtol=0, atol=1e-9, equal_nan=True)
