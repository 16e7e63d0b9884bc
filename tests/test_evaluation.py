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
        evaluation.time_block_split(starts, 60, 100, 4, 0)


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
