"""Device choice, seeding and generator-driven random draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import lessonlib
from lessonlib import utils


def test_device_default_and_override(monkeypatch):
    monkeypatch.delenv(utils.DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert lessonlib.device().type == expected
    monkeypatch.setenv(utils.DEVICE_ENV, "cpu")
    assert lessonlib.device() == torch.device("cpu")
    monkeypatch.setenv(utils.DEVICE_ENV, "quantum")
    with pytest.raises(ValueError, match="LESSONLIB_DEVICE"):
        lessonlib.device()
    if not torch.cuda.is_available():
        monkeypatch.setenv(utils.DEVICE_ENV, "cuda")
        with pytest.raises(ValueError, match="CUDA is not available"):
            lessonlib.device()


def test_make_generator_reproducible_and_validated():
    a = torch.rand(5, generator=lessonlib.make_generator(3))
    b = torch.rand(5, generator=lessonlib.make_generator(3))
    c = torch.rand(5, generator=lessonlib.make_generator(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    for bad in (-1, 1.5, True, "3", 2**64):
        with pytest.raises((TypeError, ValueError), match="seed"):
            lessonlib.make_generator(bad)
    lessonlib.make_generator(2**64 - 1)  # the largest seed torch accepts


def test_seeded_restores_global_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with lessonlib.seeded(0):
        inside_a = torch.rand(3)
    after = torch.rand(3)
    assert torch.equal(after, expected)  # the global stream continues as if nothing happened
    with lessonlib.seeded(0):
        inside_b = torch.rand(3)
    assert torch.equal(inside_a, inside_b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 50))
def test_draws_reproducible_from_generator(seed, n):
    for fn in (
        lambda g: utils.uniform(n, generator=g),
        lambda g: utils.normal(n, generator=g),
        lambda g: utils.randint(0, 7, n, generator=g),
        lambda g: utils.randperm(n, generator=g),
        lambda g: utils.sample_beta(0.4, 0.4, n, generator=g),
    ):
        assert torch.equal(fn(lessonlib.make_generator(seed)), fn(lessonlib.make_generator(seed)))


def test_uniform_range_and_dtype():
    u = utils.uniform((1000,), low=-2.0, high=3.0, generator=lessonlib.make_generator(0), dtype=torch.float64)
    assert u.dtype == torch.float64 and float(u.min()) >= -2.0 and float(u.max()) < 3.0


def test_sample_beta_matches_distribution_and_leaves_global_rng():
    torch.manual_seed(0)
    expected_next = torch.rand(1)
    torch.manual_seed(0)
    draws = utils.sample_beta(0.4, 0.4, 4000, generator=lessonlib.make_generator(1))
    assert torch.equal(torch.rand(1), expected_next)
    ks = stats.kstest(draws.double().numpy(), stats.beta(0.4, 0.4).cdf)
    assert ks.pvalue > 0.01, ks


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: utils.check_tensor([1, 2], "x"), "x must be a torch.Tensor"),
        (lambda: utils.check_tensor(torch.zeros(2), "x", ndim=(3, 4)), "x must have 3 or 4 dimensions"),
        (lambda: utils.check_tensor(torch.zeros(2, dtype=torch.long), "x", floating=True), "floating-point"),
        (lambda: utils.check_tensor(torch.tensor([float("nan")]), "x", finite=True), "NaN"),
        (lambda: utils.check_probability(1.5, "p"), "p must be a probability"),
        (lambda: utils.check_positive(0.0, "alpha"), "alpha must be a finite number > 0"),
        (lambda: utils.check_range((2, 1), "scale"), "min <= max"),
        (lambda: utils.sample_beta(-1.0, 1.0), "alpha"),
    ],
)
def test_validation_messages_name_the_parameter(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_generator_backed_global_rng_code_is_safe_in_threads():
    # sample_beta and the presets draw through a forked global RNG: 8 threads at once must get
    # exactly what one-at-a-time calls get (before the lock, concurrent forks interleaved draws)
    from concurrent.futures import ThreadPoolExecutor

    def draw(seed):
        return utils.sample_beta(0.4, 0.4, (2000,), generator=utils.make_generator(seed))

    expected = [draw(s) for s in range(8)]
    for _ in range(3):
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(draw, range(8)))
        for e, g in zip(expected, got, strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)


def test_forked_cpu_rng_restores_the_global_state_and_validates():
    before = torch.random.get_rng_state()
    with utils.forked_cpu_rng(5):
        a = torch.rand(3)
    with utils.forked_cpu_rng(5):
        b = torch.rand(3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert torch.equal(torch.random.get_rng_state(), before)
    with pytest.raises(ValueError, match="seed"):
        with utils.forked_cpu_rng(-1):
            pass


# ----------------------------------------------------------------------------------------------
# Issue 17 items 11 and 13: the random draws and validators at their edges (property tests).
# ----------------------------------------------------------------------------------------------

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=3),
    st.sampled_from([np.float32(0.5), np.int64(3), np.array(2.0), torch.tensor(1), torch.tensor([1.0]), 1 + 2j]),
)

_VALIDATORS = {
    "check_number": lambda v: utils.check_number(v, "param"),
    "check_int": lambda v: utils.check_int(v, "param", low=0),
    "check_bool": lambda v: utils.check_bool(v, "param"),
    "check_probability": lambda v: utils.check_probability(v, "param"),
    "check_positive": lambda v: utils.check_positive(v, "param"),
    "check_range": lambda v: utils.check_range(v, "param"),
    "check_seed": lambda v: utils.check_seed(v, "param"),
    "check_shape": lambda v: utils.check_shape(v, "param"),
    "check_generator": lambda v: utils.check_generator(v, "param"),
    "check_one_of": lambda v: utils.check_one_of(v, "param", ["a", 1]),
    "check_labels": lambda v: utils.check_labels(v, "param", num_classes=3),
}


@pytest.mark.parametrize("name", sorted(_VALIDATORS))
@settings(max_examples=60, deadline=None)
@given(v=_ANY)
def test_every_validator_accepts_or_names_the_parameter(name, v):
    try:
        _VALIDATORS[name](v)
    except (TypeError, ValueError) as exc:
        assert "param" in str(exc)


@settings(max_examples=40, deadline=None)
@given(v=st.one_of(st.floats(allow_nan=True), st.integers()))
def test_check_number_never_lets_nan_through(v):
    try:
        out = utils.check_number(v, "x", finite=False)
    except ValueError:
        assert v != v  # only NaN is refused when infinities are allowed
    else:
        assert out == out


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: utils.uniform(-1), ValueError, "shape"),
        (lambda: utils.uniform((2, -3)), ValueError, r"shape\[1\]"),
        (lambda: utils.uniform(2.5), TypeError, "shape"),
        (lambda: utils.uniform(2, low=1.0, high=0.0), ValueError, "high"),
        (lambda: utils.uniform(2, low=float("nan")), ValueError, "low"),
        (lambda: utils.uniform(2, dtype=torch.int64), TypeError, "dtype"),
        (lambda: utils.normal(-2), ValueError, "shape"),
        (lambda: utils.randperm(-1), ValueError, "n"),
        (lambda: utils.randperm(2.0), TypeError, "n"),
        (lambda: utils.randint(3, 1, 4), ValueError, "high must be > low"),
        (lambda: utils.randint(0, 2.5, 4), TypeError, "high"),
        (lambda: utils.sample_beta(1.0, 1.0, -1), ValueError, "shape"),
        (lambda: utils.make_generator(2**64), ValueError, "seed"),
        (lambda: utils.uniform(2, generator=3), TypeError, "generator"),
        (lambda: utils.normal(2, generator="g"), TypeError, "generator"),
        (lambda: utils.randint(0, 2, 2, generator=1.5), TypeError, "generator"),
        (lambda: utils.randperm(3, generator=object()), TypeError, "generator"),
        (lambda: utils.sample_beta(1.0, 1.0, 2, generator=3), TypeError, "generator"),
    ],
)
def test_random_draws_name_the_bad_parameter(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


@settings(max_examples=30, deadline=None)
@given(
    shape=st.one_of(st.integers(0, 5), st.lists(st.integers(0, 4), max_size=3)),
    seed=st.integers(0, 2**64 - 1),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
)
def test_random_draws_contract(shape, seed, dtype):
    expected = (shape,) if isinstance(shape, int) else tuple(shape)
    for fn in (
        lambda g: utils.uniform(shape, low=-1.0, high=2.0, generator=g, dtype=dtype),
        lambda g: utils.normal(shape, generator=g, dtype=dtype),
        lambda g: utils.sample_beta(0.5, 2.0, shape, generator=g, dtype=dtype),
    ):
        a, b = fn(utils.make_generator(seed)), fn(utils.make_generator(seed))
        assert a.shape == expected and a.dtype == dtype and torch.equal(a, b)
    u = utils.uniform(shape, low=-1.0, high=2.0, generator=utils.make_generator(seed), dtype=torch.float64)
    assert bool(((u >= -1.0) & (u <= 2.0)).all())
    r = utils.randint(-3, 4, shape, generator=utils.make_generator(seed))
    assert r.dtype == torch.int64 and bool(((r >= -3) & (r < 4)).all())
    n = int(np.prod(expected)) if expected else 1
    p = utils.randperm(n, generator=utils.make_generator(seed))
    assert torch.equal(p.sort().values, torch.arange(n))


def test_check_labels():
    y = torch.tensor([0, 2, 1])
    assert utils.check_labels(y, "y", n=3, num_classes=3) is y
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        utils.check_labels(y.float(), "y")
    with pytest.raises(TypeError, match="y must hold integer"):
        utils.check_labels(y.bool(), "y")
    with pytest.raises(ValueError, match="x has 4 rows but y has 3"):
        utils.check_labels(y, "y", n=4)
    with pytest.raises(ValueError, match=r"y must hold labels in 0..1 \(2 classes\), got 0..2"):
        utils.check_labels(y, "y", num_classes=2)
    with pytest.raises(ValueError, match="y must have 1 dimensions"):
        utils.check_labels(y[None], "y")
