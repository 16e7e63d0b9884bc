"""Tests for lessonlib.synthetic: fast == reference on the same draws (Hypothesis), imbalanced-learn's SMOTE
as the oracle of ``smote`` (draw for draw), scipy/torch as the oracle of the copula's pieces, properties
(seeded, inputs unchanged, dtype kept) and bad inputs (the error names the parameter and the fault)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import data, synthetic
from lessonlib.reference import synthetic as ref
from lessonlib.utils import make_generator, normal, randint, uniform

seeds = st.integers(0, 2**31 - 1)


def _table(seed, n=20, d=4, dtype=torch.float64):
    return torch.randn(n, d, generator=make_generator(seed), dtype=dtype) * torch.arange(1, d + 1, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# fast == reference
# ---------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(6, 25), k=st.integers(1, 5), m=st.integers(0, 12))
def test_smote_equals_reference_on_the_same_draws(seed, n, k, m):
    x = _table(seed, n)
    fast = synthetic.smote(x, m, k=k, generator=make_generator(seed))
    g = make_generator(seed)  # the draws smote documents: i ~ U{0..n·k−1}, then s ~ U[0, 1)
    i = randint(0, n * k, m, generator=g)
    step = uniform(m, generator=g, dtype=torch.float64)
    torch.testing.assert_close(fast, ref.smote(x, k, i // k, i % k, step), atol=1e-12, rtol=0)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(3, 30), d=st.integers(1, 5), m=st.integers(0, 20))
def test_copula_equals_reference_on_the_same_draws(seed, n, d, m):
    x = _table(seed, n, d)
    fast = synthetic.sample_copula(synthetic.fit_copula(x), m, generator=make_generator(seed))
    z = normal((m, d), generator=make_generator(seed), dtype=torch.float64)
    torch.testing.assert_close(fast, ref.copula_sample(x, z), atol=1e-10, rtol=0)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, q=st.integers(0, 15), r=st.integers(1, 15), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_nearest_neighbour_distances_equal_reference(seed, q, r, dtype):
    g = make_generator(seed)
    queries, reference = torch.rand(q, 1, 3, 3, generator=g).to(dtype), torch.rand(r, 1, 3, 3, generator=g).to(dtype)
    d, i = synthetic.nearest_neighbour_distances(queries, reference, batch_size=4)
    d_ref, i_ref = ref.nearest_neighbour_distances(queries, reference)
    torch.testing.assert_close(d, d_ref, atol=1e-6 if dtype == torch.float32 else 1e-12, rtol=0)
    assert torch.equal(i, i_ref) and d.dtype == dtype


@settings(max_examples=25, deadline=None)
@given(seed=seeds, b=st.integers(1, 6), dim=st.integers(1, 10), z=st.integers(1, 4))
def test_negative_elbo_equals_reference(seed, b, dim, z):
    g = make_generator(seed)
    x = torch.rand(b, dim, generator=g, dtype=torch.float64)
    logits, mu, logvar = (torch.randn(b, s, generator=g, dtype=torch.float64) for s in (dim, z, z))
    torch.testing.assert_close(
        synthetic.negative_elbo(x, logits, mu, logvar), ref.negative_elbo(x, logits, mu, logvar), atol=1e-10, rtol=0
    )


def test_vae_loss_is_negative_elbo_of_its_own_draw():
    """The fit hook equals reference.negative_elbo with z = mu + exp(logvar / 2) · ε on the generator's ε."""
    model = synthetic.ConditionalVAE((1, 2, 2), 3, latent=2, hidden=5)
    x = torch.rand(4, 1, 2, 2, generator=make_generator(1))
    y = torch.tensor([0, 1, 2, 1])
    loss = synthetic.vae_loss(model, x, y, make_generator(7))
    mu, logvar = model.encode(x, y)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=make_generator(7))
    torch.testing.assert_close(loss, ref.negative_elbo(x.flatten(1), model.decode(z, y), mu, logvar))


# ---------------------------------------------------------------------------------------------
# oracles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 5])
def test_reference_smote_reproduces_imbalanced_learn_draw_for_draw(k):
    """imbalanced-learn's SMOTE (random_state=0) on a real table: rows = i // k, neighbour = i % k, step from the
    same RandomState; our reference on those draws gives its new rows exactly."""
    imblearn = pytest.importorskip("imblearn")
    table = data.load_breast_cancer()
    x = table.x[:, :6].numpy()
    y = np.r_[np.zeros(12, int), np.ones(40, int)]
    x = x[:52]
    x_res, _ = imblearn.over_sampling.SMOTE(k_neighbors=k, random_state=0).fit_resample(x, y)
    new = torch.from_numpy(x_res[len(x) :])
    rs = np.random.RandomState(0)
    i = torch.from_numpy(rs.randint(low=0, high=12 * k, size=len(new)))
    step = torch.from_numpy(rs.uniform(size=len(new)))
    ours = ref.smote(torch.from_numpy(x[:12]), k, i // k, i % k, step)
    torch.testing.assert_close(ours, new, atol=1e-9, rtol=0)


def test_copula_keeps_marginals_and_rank_correlation():
    """Samples stay inside each column's range and their Spearman correlation follows the table's (scipy)."""
    from scipy import stats

    x = data.load_breast_cancer().x[:, [0, 2, 5]]  # radius, perimeter (correlated), compactness
    s = synthetic.sample_copula(synthetic.fit_copula(x), 4000, generator=make_generator(0))
    assert bool(((s >= x.min(0).values) & (s <= x.max(0).values)).all())
    rho_x, rho_s = stats.spearmanr(x.numpy()).statistic, stats.spearmanr(s.numpy()).statistic
    np.testing.assert_allclose(rho_s, rho_x, atol=0.05)
    np.testing.assert_allclose(s.median(0).values.numpy(), x.median(0).values.numpy(), rtol=0.05)


def test_nearest_neighbour_distances_match_scikit_learn():
    from sklearn.neighbors import NearestNeighbors

    g = make_generator(3)
    q, r = torch.rand(30, 1, 4, 4, generator=g), torch.rand(50, 1, 4, 4, generator=g)
    d, i = synthetic.nearest_neighbour_distances(q, r)
    d_sk, i_sk = NearestNeighbors(n_neighbors=1).fit(r.flatten(1).numpy()).kneighbors(q.flatten(1).numpy())
    np.testing.assert_allclose(d.numpy(), d_sk[:, 0], atol=1e-5)
    assert torch.equal(i, torch.from_numpy(i_sk[:, 0]))


# ---------------------------------------------------------------------------------------------
# properties of the generator, sampler and TSTR
# ---------------------------------------------------------------------------------------------


def test_generator_is_seeded_and_samples_are_conditional_images():
    d = data.load_digits()
    x, y = d.x_train[:200], d.y_train[:200]
    x0 = x.clone()
    a = synthetic.train_generator(x, y, steps=30, seed=1, device="cpu")
    b = synthetic.train_generator(x, y, steps=30, seed=1, device="cpu")
    assert torch.equal(x, x0)
    labels = torch.tensor([3, 3, 7])
    sa = synthetic.sample(a, labels, generator=make_generator(0))
    sb = synthetic.sample(b, labels, generator=make_generator(0))
    assert torch.equal(sa, sb) and sa.shape == (3, 1, 8, 8)
    assert bool(((sa >= 0) & (sa <= 1)).all())
    assert not torch.equal(sa, synthetic.sample(a, labels, generator=make_generator(1)))
    assert not torch.equal(sa[0], synthetic.sample(a, torch.tensor([4, 3, 7]), generator=make_generator(0))[0])


def test_tstr_trains_on_its_first_pair_and_scores_the_second():
    d = data.load_digits()
    good = synthetic.tstr(d.x_train[:300], d.y_train[:300], d.x_test[:200], d.y_test[:200], seed=0, steps=60)
    shuffled = synthetic.tstr(
        d.x_train[:300], d.y_train[:300].roll(1), d.x_test[:200], d.y_test[:200], seed=0, steps=60
    )  # wrong labels: near chance
    assert good > 0.6 and shuffled < 0.3


def test_smote_rows_lie_on_segments_and_inputs_are_unchanged():
    x = _table(4, 15)
    x0 = x.clone()
    new = synthetic.smote(x, 50, k=3, generator=make_generator(2))
    assert torch.equal(x, x0) and new.dtype == x.dtype
    # each new row is x_b + s (x_nn − x_b): its distance to some row plus distance to a neighbour is a segment
    lo, hi = x.min(0).values, x.max(0).values
    assert bool(((new >= lo - 1e-12) & (new <= hi + 1e-12)).all())
    assert synthetic.smote(x.float(), 3, generator=make_generator(0)).dtype == torch.float32


# ---------------------------------------------------------------------------------------------
# bad inputs: the message names the parameter and the fault
# ---------------------------------------------------------------------------------------------


def test_bad_inputs_name_the_parameter():
    x = _table(0)
    with pytest.raises(ValueError, match=r"x has 3 rows; SMOTE with k=5 neighbours needs more than k"):
        synthetic.smote(x[:3], 4, k=5)
    with pytest.raises(ValueError, match=r"x is empty"):
        synthetic.smote(x[:0], 4)
    with pytest.raises(ValueError, match=r"x contains NaN"):
        synthetic.smote(x.masked_fill(x > 1, float("nan")), 4)
    with pytest.raises(ValueError, match=r"n_samples must be >= 0"):
        synthetic.smote(x, -1)
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor"):
        synthetic.smote(x.long(), 2)
    with pytest.raises(ValueError, match=r"x has 1 rows; a copula needs at least 2"):
        synthetic.fit_copula(x[:1])
    with pytest.raises(TypeError, match=r"copula must be a GaussianCopula"):
        synthetic.sample_copula(x, 3)
    with pytest.raises(ValueError, match=r"queries rows \(1, 3, 3\) and reference rows \(9,\) must have one shape"):
        synthetic.nearest_neighbour_distances(torch.rand(2, 1, 3, 3), torch.rand(4, 9))
    with pytest.raises(ValueError, match=r"reference is empty"):
        synthetic.nearest_neighbour_distances(torch.rand(2, 9), torch.rand(0, 9))
    with pytest.raises(ValueError, match=r"x must hold pixel values in \[0, 1\]"):
        synthetic.train_generator(torch.rand(4, 1, 2, 2) * 3, torch.tensor([0, 1, 0, 1]), steps=1)
    with pytest.raises(ValueError, match=r"x has 4 rows but y has 3"):
        synthetic.train_generator(torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 0]), steps=1)
    with pytest.raises(ValueError, match=r"labels must hold labels in 0..2"):
        synthetic.sample(synthetic.ConditionalVAE((1, 2, 2), 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        synthetic.sample(synthetic.ConditionalVAE((1, 2, 2), 3), torch.tensor([0]), temperature=0)
    with pytest.raises(ValueError, match=r"x_train rows \(1, 8, 8\) and x_test rows \(1, 4, 4\)"):
        synthetic.tstr(torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 0]), torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"recon_logits must have x's shape"):
        synthetic.negative_elbo(torch.rand(2, 3), torch.rand(2, 4), torch.zeros(2, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"x must hold pixel values in \[0, 1\]"):
        synthetic.negative_elbo(torch.rand(2, 3) + 1, torch.rand(2, 3), torch.zeros(2, 1), torch.zeros(2, 1))
