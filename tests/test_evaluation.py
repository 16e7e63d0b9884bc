"""Tests of lessonlib.evaluation: group splits, windows, overlap, oversampling and cross-validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

import lessonlib
from lessonlib import evaluation


def _noise_augment(x, y, generator=None):
    return x + 0.01 * lessonlib.utils.normal(x.shape, generator=generator, dtype=x.dtype), y


# ---------------------------------------------------------------------------------------------
# copies and group splits
# ---------------------------------------------------------------------------------------------


def test_augmented_copies_layout_and_sources():
    x = torch.arange(12.0).reshape(4, 3)
    y = torch.tensor([0, 1, 0, 1])
    before = x.clone()
    out = evaluation.augmented_copies(x, y, _noise_augment, 2, generator=lessonlib.make_generator(0))
    assert out.x.shape == (12, 3) and out.y.shape == (12,)
    assert torch.equal(out.x[:4], x) and torch.equal(x, before)
    assert out.source.tolist() == [0, 1, 2, 3] * 3
    assert torch.equal(out.y, y.repeat(3))
    assert (out.x[4:8] - x).abs().max() < 0.1 and not torch.equal(out.x[4:8], x)


def test_augmented_copies_rejects_shape_changing_augment():
    def bad(x, y, generator=None):
        return x[:, :2], y

    with pytest.raises(ValueError, match="augment must keep shapes"):
        evaluation.augmented_copies(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), bad, 1)


@settings(max_examples=40, deadline=None)
@given(
    groups=st.lists(st.integers(0, 9), min_size=2, max_size=60).filter(lambda g: len(set(g)) >= 2),
    f=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**31 - 1),
)
def test_group_split_is_a_partition_without_shared_groups(groups, f, seed):
    g = torch.tensor(groups)
    tr, te = evaluation.group_split(g, f, generator=lessonlib.make_generator(seed))
    assert sorted(torch.cat([tr, te]).tolist()) == list(range(len(groups)))
    assert len(te) > 0 and len(tr) > 0
    assert evaluation.shared_groups(g, tr, te) == 0
    tr2, te2 = evaluation.group_split(g, f, generator=lessonlib.make_generator(seed))
    assert torch.equal(tr, tr2) and torch.equal(te, te2)


def test_group_split_holds_out_the_requested_share_of_groups():
    g = torch.arange(100).repeat_interleave(3)
    _, te = evaluation.group_split(g, 0.3, generator=lessonlib.make_generator(1))
    assert torch.unique(g[te]).numel() == 30


def test_shared_groups_counts_a_random_split_of_copies():
    source = torch.arange(50).repeat(5)
    idx = torch.randperm(250, generator=lessonlib.make_generator(0))
    assert evaluation.shared_groups(source, idx[75:], idx[:75]) > 30


@pytest.mark.parametrize("bad", [0.0, 1.0, float("nan"), True, "0.3"])
def test_group_split_validates_fraction(bad):
    with pytest.raises((TypeError, ValueError), match="test_fraction"):
        evaluation.group_split(torch.arange(10), bad)


def test_group_split_needs_two_groups():
    with pytest.raises(ValueError, match="at least 2 distinct groups"):
        evaluation.group_split(torch.zeros(5, dtype=torch.long), 0.5)


def test_split_then_augment_tests_originals_only_and_keeps_patients_apart():
    x = torch.randn(60, 1, 8, generator=lessonlib.make_generator(0))
    y = torch.arange(60) % 2
    patients = torch.arange(60) // 3  # three rows per patient
    sp = evaluation.split_then_augment(
        x, y, _noise_augment, n_copies=2, groups=patients, generator=lessonlib.make_generator(3)
    )
    assert torch.equal(sp.x_test, x[sp.test_idx]) and torch.equal(sp.y_test, y[sp.test_idx])
    assert sp.x_train.shape[0] == 3 * sp.train_idx.numel()
    assert evaluation.shared_groups(patients, sp.train_idx, sp.test_idx) == 0
    assert set(sp.train_idx.tolist()).isdisjoint(sp.test_idx.tolist())


def test_split_then_augment_without_augment():
    x, y = torch.randn(10, 2), torch.arange(10) % 2
    sp = evaluation.split_then_augment(x, y, None, generator=lessonlib.make_generator(0))
    assert sp.x_train.shape[0] + sp.x_test.shape[0] == 10
    with pytest.raises(ValueError, match="needs an augment"):
        evaluation.split_then_augment(x, y, None, n_copies=2)


def test_leak_inflates_nearest_neighbour_but_split_then_augment_does_not():
    g = lessonlib.make_generator(0)
    x = torch.randn(200, 16, generator=g)
    y = torch.randint(0, 2, (200,), generator=g)  # labels unrelated to x: honest accuracy is chance
    pool = evaluation.augmented_copies(x, y, _noise_augment, 3, generator=g)
    idx = torch.randperm(len(pool.y), generator=g)
    te, tr = idx[:240], idx[240:]
    knn = KNeighborsClassifier(1).fit(pool.x[tr].numpy(), pool.y[tr].numpy())
    leaky = (knn.predict(pool.x[te].numpy()) == pool.y[te].numpy()).mean()
    sp = evaluation.split_then_augment(x, y, _noise_augment, n_copies=3, generator=g)
    knn = KNeighborsClassifier(1).fit(sp.x_train.numpy(), sp.y_train.numpy())
    honest = (knn.predict(sp.x_test.numpy()) == sp.y_test.numpy()).mean()
    assert leaky > 0.9 and abs(honest - 0.5) < 0.15


# ---------------------------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(t=st.integers(5, 80), length=st.integers(1, 20), stride=st.integers(1, 10), c=st.integers(1, 3))
def test_sliding_windows_match_numpy(t, length, stride, c):
    if length > t:
        return
    sig = torch.arange(c * t, dtype=torch.float32).reshape(c, t)
    w, starts = evaluation.sliding_windows(sig, length, stride)
    ref = np.lib.stride_tricks.sliding_window_view(sig.numpy(), length, axis=1)[:, ::stride].transpose(1, 0, 2)
    assert w.shape == (len(ref), c, length) and np.array_equal(w.numpy(), ref)
    assert starts.tolist() == list(range(0, t - length + 1, stride))
    w[0, 0, 0] = -1.0
    assert sig[0, 0] == 0.0  # a copy, not a view


def test_sliding_windows_1d_and_validation():
    w, s = evaluation.sliding_windows(torch.arange(10.0), 4, 3)
    assert w.shape == (3, 4) and s.tolist() == [0, 3, 6]
    with pytest.raises(ValueError, match="length"):
        evaluation.sliding_windows(torch.arange(10.0), 11, 1)
    with pytest.raises(ValueError, match="stride"):
        evaluation.sliding_windows(torch.arange(10.0), 2, 0)


def _brute_overlap(test_starts, train_starts, length):
    seen = set()
    for s in train_starts.tolist():
        seen.update(range(s, s + length))
    return [np.mean([(s + i) in seen for i in range(length)]) for s in test_starts.tolist()]


@settings(max_examples=40, deadline=None)
@given(
    test=st.lists(st.integers(0, 50), min_size=1, max_size=10),
    train=st.lists(st.integers(0, 50), max_size=10),
    length=st.integers(1, 12),
)
def test_overlap_fraction_matches_brute_force(test, train, length):
    te, tr = torch.tensor(test), torch.tensor(train, dtype=torch.long)
    got = evaluation.overlap_fraction(te, tr, length)
    assert np.allclose(got.numpy(), _brute_overlap(te, tr, length))


def test_overlap_fraction_validates_starts():
    with pytest.raises(ValueError, match="train_starts must be window starts >= 0"):
        evaluation.overlap_fraction(torch.tensor([0, 5]), torch.tensor([-3]), 4)
    with pytest.raises(TypeError, match="test_starts"):
        evaluation.overlap_fraction(torch.tensor([0.5]), torch.tensor([0]), 4)
    assert evaluation.overlap_fraction(torch.tensor([0, 5]), torch.tensor([], dtype=torch.long), 4).tolist() == [0, 0]


@pytest.mark.parametrize("block", range(4))
def test_time_block_split_purges_every_overlap(block):
    _, starts = evaluation.sliding_windows(torch.zeros(1000), 50, 7)
    tr, te = evaluation.time_block_split(starts, 50, 1000, 4, block)
    assert te.numel() > 0
    assert float(evaluation.overlap_fraction(starts[te], starts[tr], 50).max()) == 0.0
    assert ((starts[te] >= block * 250) & (starts[te] + 50 <= (block + 1) * 250)).all()
    tr_np, te_np = evaluation.time_block_split(starts, 50, 1000, 4, block, purge=False)
    assert tr_np.numel() + te_np.numel() == starts.numel()
    if 0 < block < 3:
        assert float(evaluation.overlap_fraction(starts[te_np], starts[tr_np], 50).max()) > 0.0


def test_time_block_split_validation():
    starts = torch.arange(0, 90, 10)
    with pytest.raises(ValueError, match="block"):
        evaluation.time_block_split(starts, 10, 100, 4, 4)
    with pytest.raises(ValueError, match="no whole window"):
        evaluation.time_block_split(starts[starts <= 40], 60, 100, 4, 0)


# ---------------------------------------------------------------------------------------------
# oversampling, scores, cross-validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", evaluation.OVERSAMPLERS)
def test_oversample_balances_and_keeps_originals(method):
    g = lessonlib.make_generator(0)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0] * 32 + [1] * 8)
    before = x.clone()
    xo, yo = evaluation.oversample(x, y, method, generator=g)
    assert torch.equal(x, before)
    assert torch.bincount(yo).tolist() == [32, 32]
    assert torch.equal(xo[:40], x) and xo.dtype == x.dtype
    minority = x[y == 1]
    lo, hi = minority.min(0).values, minority.max(0).values
    assert ((xo[40:] >= lo - 1e-12) & (xo[40:] <= hi + 1e-12)).all()  # inside the minority's box
    if method == "duplicate":
        assert all(any(torch.equal(r, m) for m in minority) for r in xo[40:])


def test_smote_rows_lie_on_segments_between_minority_neighbours():
    g = lessonlib.make_generator(1)
    x = torch.randn(30, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([0] * 24 + [1] * 6)
    xo, _ = evaluation.oversample(x, y, "smote", k_neighbors=2, generator=g)
    m = x[y == 1]
    for r in xo[30:]:
        on_segment = False
        for i in range(6):
            for j in range(6):
                if i == j:
                    continue
                d = m[j] - m[i]
                u = float(torch.dot(r - m[i], d) / torch.dot(d, d))
                if -1e-9 <= u <= 1 + 1e-9 and torch.allclose(m[i] + u * d, r, atol=1e-9):
                    on_segment = True
        assert on_segment


def test_oversample_is_reproducible_and_validates():
    x, y = torch.randn(20, 2), torch.tensor([0] * 15 + [1] * 5)
    a = evaluation.oversample(x, y, "smote", generator=lessonlib.make_generator(5))
    b = evaluation.oversample(x, y, "smote", generator=lessonlib.make_generator(5))
    assert torch.equal(a[0], b[0])
    with pytest.raises(ValueError, match="method"):
        evaluation.oversample(x, y, "adasyn")
    with pytest.raises(TypeError, match="generator"):
        evaluation.oversample(x, y, generator=3)
    with pytest.raises(ValueError, match="y must have one entry per row"):
        evaluation.oversample(x, y[:5])


def test_binary_scores_match_sklearn():
    g = lessonlib.make_generator(2)
    y = torch.randint(0, 2, (100,), generator=g)
    s = torch.rand(100, generator=g, dtype=torch.float64)
    r = evaluation.binary_scores(y, s)
    yy, ss = y.numpy(), s.numpy()
    assert r["auc"] == pytest.approx(roc_auc_score(yy, ss))
    assert r["sensitivity"] == pytest.approx(((ss >= 0.5) & (yy == 1)).sum() / (yy == 1).sum())
    assert r["specificity"] == pytest.approx(((ss < 0.5) & (yy == 0)).sum() / (yy == 0).sum())
    with pytest.raises(ValueError, match="both classes"):
        evaluation.binary_scores(torch.zeros(5, dtype=torch.long), torch.rand(5))


def test_oversampling_before_cv_inflates_sensitivity_inside_does_not():
    g = lessonlib.make_generator(0)
    x = torch.randn(300, 5, generator=g, dtype=torch.float64)
    y = (torch.rand(300, generator=g) < 0.1).long()  # labels unrelated to x

    def make():
        return KNeighborsClassifier(1)

    before = evaluation.cross_validate(make, x, y, oversampling="duplicate", where="before", generator=g)
    inside = evaluation.cross_validate(make, x, y, oversampling="duplicate", where="inside", generator=g)
    assert before["sensitivity"] > 0.9 and inside["sensitivity"] < 0.35
    assert abs(inside["auc"] - 0.5) < 0.15


def test_cross_validate_is_reproducible_and_validates():
    g = lessonlib.make_generator
    x = torch.randn(80, 3, generator=g(0), dtype=torch.float64)
    y = (x[:, 0] > 0.5).long()

    def make():
        return LogisticRegression()

    a = evaluation.cross_validate(make, x, y, oversampling="smote", generator=g(1))
    b = evaluation.cross_validate(make, x, y, oversampling="smote", generator=g(1))
    assert a == b and set(a) == {"sensitivity", "specificity", "auc"}
    with pytest.raises(ValueError, match="where"):
        evaluation.cross_validate(make, x, y, where="after")
    with pytest.raises(ValueError, match="n_folds"):
        evaluation.cross_validate(make, x, y, n_folds=1)


# ---------------------------------------------------------------------------------------------
# the input contract: every public function refuses bad, empty and non-finite input naming the parameter
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    bad=st.one_of(st.integers(-50, -1), st.integers(20, 80)),
    side=st.sampled_from(["train_idx", "test_idx"]),
)
def test_shared_groups_refuses_an_index_outside_the_rows(n, bad, side):
    groups = torch.arange(n) // 2
    ok = torch.arange(n)
    idx = {"train_idx": ok, "test_idx": ok}
    idx[side] = torch.cat([ok, torch.tensor([bad if bad < 0 else n + bad])])
    with pytest.raises(ValueError, match=rf"{side} must hold row indices in 0\.\.{n - 1}, got"):
        evaluation.shared_groups(groups, idx["train_idx"], idx["test_idx"])


def test_shared_groups_never_reads_minus_one_as_the_last_row():
    groups = torch.tensor([0, 1, 2])
    assert evaluation.shared_groups(groups, torch.tensor([2]), torch.tensor([0, 1])) == 0
    with pytest.raises(ValueError, match=r"test_idx must hold row indices in 0\.\.2, got -1\.\.0"):
        evaluation.shared_groups(groups, torch.tensor([2]), torch.tensor([-1, 0]))


@settings(max_examples=40, deadline=None)
@given(n_samples=st.integers(20, 200), length=st.integers(1, 10), past=st.integers(1, 50), negative=st.booleans())
def test_time_block_split_refuses_starts_outside_the_record(n_samples, length, past, negative):
    starts = torch.arange(0, n_samples - length + 1, max(1, length // 2))
    bad = -past if negative else n_samples - length + past
    with pytest.raises(ValueError, match=rf"starts must lie in 0\.\.{n_samples - length} .* got"):
        evaluation.time_block_split(torch.cat([starts, torch.tensor([bad])]), length, n_samples, 2, 0)


@settings(max_examples=20, deadline=None)
@given(n_minor=st.integers(2, 6), extra=st.integers(1, 4))
def test_cross_validate_names_n_folds_when_a_class_is_too_small(n_minor, extra):
    x = torch.randn(30, 2, generator=lessonlib.make_generator(0), dtype=torch.float64)
    y = torch.tensor([1] * n_minor + [0] * (30 - n_minor))
    with pytest.raises(ValueError, match=rf"n_folds={n_minor + extra} is more than the {n_minor} rows"):
        evaluation.cross_validate(LogisticRegression, x, y, n_folds=n_minor + extra)
    # oversampling before the split makes both classes large: the same folds are then possible
    evaluation.cross_validate(LogisticRegression, x, y, oversampling="duplicate", where="before", n_folds=n_minor + 1)


class _NoProba:
    def fit(self, x, y):
        return self


class _OneColumn(_NoProba):
    def predict_proba(self, x):
        return np.zeros((len(x), 1))


def _cv(**change):
    g = lessonlib.make_generator(0)
    args = {
        "make_model": LogisticRegression,
        "x": torch.randn(20, 2, generator=g, dtype=torch.float64),
        "y": torch.tensor([0, 1] * 10),
        **change,
    }
    return evaluation.cross_validate(args.pop("make_model"), args.pop("x"), args.pop("y"), **args)


def _aug(result):
    def augment(x, y, generator=None):
        return result(x, y)

    return augment


_X, _Y = torch.randn(6, 3), torch.tensor([0, 1, 0, 1, 0, 1])
_NAN = torch.full((6, 3), float("nan"))
_BAD_CALLS = {
    # augmented_copies
    "copies: augment returns one tensor": (
        lambda: evaluation.augmented_copies(_X, _Y, _aug(lambda x, y: x), 1),
        TypeError,
        r"augment must return a pair \(x, y\) of tensors, got Tensor",
    ),
    "copies: augment returns a triple": (
        lambda: evaluation.augmented_copies(_X, _Y, _aug(lambda x, y: (x, y, None)), 1),
        TypeError,
        r"augment must return a pair .* got a tuple of 3",
    ),
    "copies: augment returns None": (
        lambda: evaluation.augmented_copies(_X, _Y, _aug(lambda x, y: None), 1),
        TypeError,
        r"augment must return a pair .* got NoneType",
    ),
    "copies: empty x": (
        lambda: evaluation.augmented_copies(_X[:0], _Y[:0], _noise_augment, 1),
        ValueError,
        "x is empty",
    ),
    "copies: NaN x": (lambda: evaluation.augmented_copies(_NAN, _Y, _noise_augment, 1), ValueError, "x contains NaN"),
    "copies: float y": (lambda: evaluation.augmented_copies(_X, _Y.float(), _noise_augment, 1), TypeError, "y must"),
    "copies: n_copies": (lambda: evaluation.augmented_copies(_X, _Y, _noise_augment, -1), ValueError, "n_copies"),
    # group_split
    "group_split: empty groups": (
        lambda: evaluation.group_split(torch.tensor([], dtype=torch.long), 0.5),
        ValueError,
        "groups must hold at least 2",
    ),
    "group_split: float groups": (lambda: evaluation.group_split(torch.rand(5), 0.5), TypeError, "groups must hold"),
    # shared_groups
    "shared: empty groups": (
        lambda: evaluation.shared_groups(torch.tensor([], dtype=torch.long), _Y[:0], _Y[:0]),
        ValueError,
        "groups is empty",
    ),
    "shared: float index": (
        lambda: evaluation.shared_groups(_Y, torch.tensor([0.0]), _Y[:1]),
        TypeError,
        "train_idx must hold integer",
    ),
    # split_then_augment
    "split: augment not callable": (
        lambda: evaluation.split_then_augment(_X, _Y, "flip"),
        TypeError,
        "augment must be None or a callable",
    ),
    "split: NaN x": (lambda: evaluation.split_then_augment(_NAN, _Y, None), ValueError, "x contains NaN"),
    "split: empty x": (lambda: evaluation.split_then_augment(_X[:0], _Y[:0], None), ValueError, "x is empty"),
    "split: groups length": (
        lambda: evaluation.split_then_augment(_X, _Y, None, groups=_Y[:3]),
        ValueError,
        r"groups must have one entry per row \(6\), got 3",
    ),
    "split: augment returns a list": (
        lambda: evaluation.split_then_augment(_X, _Y, _aug(lambda x, y: [x, y]), n_copies=1),
        TypeError,
        "augment must return a pair .* got list",
    ),
    # sliding_windows
    "windows: empty": (lambda: evaluation.sliding_windows(torch.zeros(0), 1, 1), ValueError, "signal is empty"),
    "windows: NaN": (
        lambda: evaluation.sliding_windows(torch.tensor([0.0, float("nan")]), 1, 1),
        ValueError,
        "signal contains NaN",
    ),
    "windows: 3-d": (lambda: evaluation.sliding_windows(torch.zeros(1, 1, 4), 1, 1), ValueError, "signal must have"),
    # time_block_split
    "blocks: empty starts": (
        lambda: evaluation.time_block_split(torch.tensor([], dtype=torch.long), 5, 100, 2, 0),
        ValueError,
        "starts is empty",
    ),
    "blocks: float starts": (
        lambda: evaluation.time_block_split(torch.tensor([0.0]), 5, 100, 2, 0),
        TypeError,
        "starts must hold integer",
    ),
    "blocks: n_samples < length": (
        lambda: evaluation.time_block_split(torch.tensor([0]), 5, 4, 2, 0),
        ValueError,
        "n_samples must be >= 5",
    ),
    # overlap_fraction
    "overlap: empty test": (
        lambda: evaluation.overlap_fraction(torch.tensor([], dtype=torch.long), torch.tensor([0]), 3),
        ValueError,
        "test_starts is empty",
    ),
    "overlap: length": (
        lambda: evaluation.overlap_fraction(torch.tensor([0]), torch.tensor([0]), 0),
        ValueError,
        "length must be >= 1",
    ),
    # oversample
    "oversample: empty": (lambda: evaluation.oversample(_X[:0], _Y[:0]), ValueError, "x is empty"),
    "oversample: NaN": (lambda: evaluation.oversample(_NAN, _Y), ValueError, "x contains NaN"),
    "oversample: k_neighbors": (
        lambda: evaluation.oversample(_X, _Y, "smote", k_neighbors=0),
        ValueError,
        "k_neighbors",
    ),
    # binary_scores
    "scores: empty": (
        lambda: evaluation.binary_scores(torch.tensor([], dtype=torch.long), torch.tensor([])),
        ValueError,
        "y is empty",
    ),
    "scores: NaN": (
        lambda: evaluation.binary_scores(torch.tensor([0, 1]), torch.tensor([0.5, float("nan")])),
        ValueError,
        "score contains NaN",
    ),
    "scores: length": (
        lambda: evaluation.binary_scores(torch.tensor([0, 1]), torch.tensor([0.5])),
        ValueError,
        r"score must have one entry per label \(2\), got 1",
    ),
    "scores: threshold": (
        lambda: evaluation.binary_scores(torch.tensor([0, 1]), torch.tensor([0.1, 0.9]), threshold="0.5"),
        TypeError,
        "threshold must be a real number",
    ),
    # cross_validate
    "cv: model without predict_proba": (
        lambda: _cv(make_model=_NoProba),
        TypeError,
        "make_model must return a classifier with fit and predict_proba, got _NoProba",
    ),
    "cv: make_model returns a tuple": (
        lambda: _cv(make_model=lambda: (LogisticRegression(), 1)),
        TypeError,
        r"make_model must return a classifier .* got a tuple of 2",
    ),
    "cv: one-column probabilities": (
        lambda: _cv(make_model=_OneColumn),
        ValueError,
        r"make_model's classifier must give predict_proba of shape \(4, 2\), got \(4, 1\)",
    ),
    "cv: make_model not callable": (lambda: _cv(make_model=LogisticRegression()), TypeError, "make_model must be"),
    "cv: labels 0/1/2": (
        lambda: _cv(y=torch.tensor([0, 1, 2, 0, 1] * 4)),
        ValueError,
        "y must hold the labels 0 and 1",
    ),
    "cv: one class": (lambda: _cv(y=torch.zeros(20, dtype=torch.long)), ValueError, "y must hold the labels 0 and 1"),
    "cv: empty x": (lambda: _cv(x=torch.zeros(0, 2), y=_Y[:0]), ValueError, "x is empty"),
    "cv: NaN x": (lambda: _cv(x=torch.full((20, 2), float("nan"))), ValueError, "x contains NaN"),
    "cv: n_folds": (lambda: _cv(n_folds=11), ValueError, "n_folds=11 is more than the 10 rows"),
}


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(sorted(_BAD_CALLS)))
def test_every_public_function_refuses_bad_input_naming_the_parameter(case):
    call, exc, message = _BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()
