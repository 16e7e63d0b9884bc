"""Tests for lessonlib.training (fit, evaluate) and, from their own modules, the helpers it is used with:
models, ECE, seed repeats and experiment helpers, the augmentation adapters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import experiments, metrics, models, training
from lessonlib.augment import affine_augment, random_apply, sometimes
from lessonlib.exercises import nb01
from lessonlib.geometric import random_affine
from lessonlib.utils import make_generator


def _toy(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = make_generator(seed)
    y = torch.arange(n) % 3
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.3
    x[:, :, :, :3] += (y == 0).float().view(-1, 1, 1, 1)  # a learnable bright band per class
    x[:, :, :, 5:] += (y == 1).float().view(-1, 1, 1, 1)
    return x, y


# ---------------------------------------------------------------- models


def test_model_shapes_and_seeded_init():
    m = models.make_model("cnn2d", 0, num_classes=10, width=8)
    assert m(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    same = models.make_model("cnn2d", 0, num_classes=10, width=8)
    other = models.make_model("cnn2d", 1, num_classes=10, width=8)
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), same.state_dict().values(), strict=True))
    assert not torch.equal(m.classifier.weight, other.classifier.weight)
    m1 = models.make_model("cnn1d", 0, in_channels=12, num_classes=4)
    assert m1(torch.zeros(3, 12, 96)).shape == (3, 4)
    with pytest.raises(ValueError, match="kind must be"):
        models.make_model("mlp", 0)
    with pytest.raises(ValueError, match="kernel_size"):
        models.SmallCNN1d(kernel_size=4)


# ---------------------------------------------------------------- fit


def test_fit_is_deterministic_for_a_seed_and_learns():
    x, y = _toy()
    x0 = x.clone()

    def run(seed: int) -> torch.nn.Module:
        m = models.make_model("cnn2d", seed, num_classes=3, width=4)
        return training.fit(m, x, y, epochs=15, batch_size=16, seed=seed, device="cpu", progress=False)

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    assert torch.equal(x, x0), "fit must not modify its inputs"
    assert not a.training
    assert training.evaluate(a, x, y).accuracy > 0.9


def test_fit_steps_counts_optimiser_steps_and_calls_augment_per_batch():
    x, y = _toy(50)
    calls = []

    def aug(xb, yb, gen):
        calls.append(xb.shape[0])
        assert isinstance(gen, torch.Generator)
        return xb, yb

    m = models.make_model("cnn2d", 0, num_classes=3, width=4)
    training.fit(m, x, y, steps=7, batch_size=16, augment=aug, device="cpu", progress=False, schedule="cosine")
    assert len(calls) == 7
    assert calls[:4] == [16, 16, 16, 2]  # a pass over 50 rows, then reshuffled


def test_fit_default_path_unchanged_by_new_options():
    """epochs=E without steps/schedule must equal steps=E*ceil(n/b) with a constant schedule."""
    x, y = _toy(40)
    a = training.fit(models.make_model("cnn2d", 0, num_classes=3, width=4), x, y, epochs=3, batch_size=16,
                     device="cpu", progress=False)  # fmt: skip
    b = training.fit(models.make_model("cnn2d", 0, num_classes=3, width=4), x, y, steps=9, batch_size=16,
                     device="cpu", progress=False)  # fmt: skip
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs must be"),
        ({"batch_size": True}, "batch_size must be"),
        ({"steps": 0}, "steps must be"),
        ({"schedule": "linear"}, "schedule must be"),
        ({"augment": 3}, "augment must be callable"),
    ],
)
def test_fit_bad_arguments(kwargs, match):
    x, y = _toy(10)
    with pytest.raises((ValueError, TypeError), match=match):
        training.fit(models.make_model("cnn2d", 0, num_classes=3, width=4), x, y, progress=False, **kwargs)


def test_fit_bad_data():
    m = models.make_model("cnn2d", 0, num_classes=3, width=4)
    x, y = _toy(10)
    with pytest.raises(ValueError, match="rows"):
        training.fit(m, x, y[:5], progress=False)
    with pytest.raises(TypeError, match="integer class labels"):
        training.fit(m, x, y.float(), progress=False)
    with pytest.raises(ValueError, match="empty"):
        training.fit(m, x[:0], y[:0], progress=False)


# ---------------------------------------------------------------- ECE and evaluate


def test_ece_hand_computed_case():
    # confidences 0.85, 0.75, 0.65, 0.55 (away from bin edges); predictions right, wrong, right, wrong
    probs = torch.tensor([[0.85, 0.15], [0.75, 0.25], [0.35, 0.65], [0.45, 0.55]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0])
    # 2 bins: all four in (0.5, 1]: |accuracy 2/4 - mean confidence 0.7| = 0.2
    assert metrics.expected_calibration_error(probs, labels, n_bins=2) == pytest.approx(0.2)
    # 10 bins: one sample per bin, each contributes |correct - confidence| / 4
    expected = (abs(1 - 0.85) + abs(0 - 0.75) + abs(1 - 0.65) + abs(0 - 0.55)) / 4
    assert metrics.expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(expected)
    # 1 bin equals 2 bins here; with 4 bins the right edge is inclusive: 0.75 joins 0.55, 0.65 in (0.5, 0.75]
    assert metrics.expected_calibration_error(probs, labels, n_bins=1) == pytest.approx(0.2)
    four = (3 / 4) * abs(1 / 3 - (0.55 + 0.65 + 0.75) / 3) + (1 / 4) * abs(1 - 0.85)
    assert metrics.expected_calibration_error(probs, labels, n_bins=4) == pytest.approx(four)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), k=st.integers(2, 6), bins=st.integers(1, 20))
def test_ece_properties(seed, n, k, bins):
    g = make_generator(seed)
    probs = torch.softmax(3 * torch.randn(n, k, generator=g), 1)
    labels = torch.randint(0, k, (n,), generator=g)
    ece = metrics.expected_calibration_error(probs, labels, n_bins=bins)
    assert 0.0 <= ece <= 1.0
    # with one bin, ECE is |accuracy - mean confidence|
    conf, pred = probs.max(1)
    one = abs(float((pred == labels).float().mean()) - float(conf.mean()))
    assert metrics.expected_calibration_error(probs, labels, n_bins=1) == pytest.approx(one, abs=1e-6)
    # perfectly calibrated one-hot, correct predictions: ECE 0
    assert metrics.expected_calibration_error(torch.eye(k)[labels], labels, n_bins=bins) == pytest.approx(0.0)


def test_ece_bad_inputs():
    with pytest.raises(ValueError, match="sum"):
        metrics.expected_calibration_error(torch.tensor([[0.7, 0.7]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="rows"):
        metrics.expected_calibration_error(torch.tensor([[0.5, 0.5]]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="n_bins"):
        metrics.expected_calibration_error(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), n_bins=0)


def test_evaluate_fields_and_loss():
    x, y = _toy(30)
    m = models.make_model("cnn2d", 0, num_classes=3, width=4)
    r = training.evaluate(m, x, y)
    logits = models.predict_logits(m, x)
    assert r.probs.shape == (30, 3)
    assert r.accuracy == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert r.loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert set(r.as_dict()) == {"accuracy", "loss", "ece"}


# ---------------------------------------------------------------- repeats over seeds


def test_repeat_over_seeds_mean_and_sample_std():
    s = experiments.repeat_over_seeds(lambda seed: {"acc": float(seed), "one": 1.0}, seeds=[1, 2, 3], progress=False)
    assert s.mean("acc") == pytest.approx(2.0)
    assert s.std("acc") == pytest.approx(1.0)  # sample std (ddof=1)
    assert s.std("one") == 0.0
    assert s.format("acc", 1) == "2.0 ± 1.0 (n=3)"
    assert experiments.repeat_over_seeds(lambda seed: 2.0, 2, progress=False).mean("value") == 2.0
    with pytest.raises(KeyError, match="not recorded"):
        s.mean("loss")
    with pytest.raises(ValueError, match="different metrics"):
        experiments.repeat_over_seeds(lambda seed: {"a": 1.0} if seed else {"b": 1.0}, 2, progress=False)


def _fit_and_weights(seed: int) -> torch.Tensor:
    x, y = _toy(30, seed)
    model = training.fit(
        models.make_model("cnn2d", seed, num_classes=3, width=4),
        x,
        y,
        steps=15,
        batch_size=8,
        seed=seed,
        device="cpu",
        progress=False,
    )
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_map_seeds_in_threads_gives_exactly_the_sequential_results_in_order():
    threads_before = torch.get_num_threads()
    one = experiments.map_seeds(_fit_and_weights, [3, 1, 2, 0], workers=1, device="cpu", progress=False)
    two = experiments.map_seeds(_fit_and_weights, [3, 1, 2, 0], workers=2, device="cpu", progress=False)
    four = experiments.map_seeds(_fit_and_weights, [3, 1, 2, 0], workers=4, device="cpu", progress=False)
    for a, b, c in zip(one, two, four, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(a, c, rtol=0, atol=0)
    assert not torch.equal(one[0], one[1])  # the seeds really differ, and the order is the seeds' order
    assert torch.get_num_threads() == threads_before  # the one-thread-per-task setting is restored
    torch.set_num_threads(1)  # what map_seeds gives every task on a CPU
    try:
        torch.testing.assert_close(one[1], _fit_and_weights(1), rtol=0, atol=0)
    finally:
        torch.set_num_threads(threads_before)


def test_seeded_is_safe_in_threads():
    # eight threads initialising models at once get exactly the weights a plain loop gets
    def init(seed):
        return models.make_model("cnn2d", seed % 2, width=4).features[0].weight.detach().clone()

    got = experiments.map_seeds(init, range(8), workers=8, device="cpu", progress=False)
    for seed, w in enumerate(got):
        torch.testing.assert_close(w, init(seed), rtol=0, atol=0)


def test_map_seeds_raises_the_experiment_error_and_validates():
    def boom(seed):
        if seed == 2:
            raise RuntimeError("seed 2 failed")
        return seed

    with pytest.raises(RuntimeError, match="seed 2 failed"):
        experiments.map_seeds(boom, 4, workers=2, device="cpu", progress=False)
    with pytest.raises(ValueError, match="workers"):
        experiments.map_seeds(boom, 2, workers=0, device="cpu", progress=False)
    with pytest.raises(TypeError, match="callable"):
        experiments.map_seeds(3, 2, progress=False)
    with pytest.raises(ValueError, match="seeds is empty"):
        experiments.map_seeds(boom, [], progress=False)
    assert experiments.parallel_workers(1, "cpu") == 1
    assert 1 <= experiments.parallel_workers(100, "cpu") <= 8
    assert experiments.parallel_workers(5, "meta") == 1  # not a CPU: one at a time
    with pytest.raises(ValueError, match="n_tasks"):
        experiments.parallel_workers(0, "cpu")


# ---------------------------------------------------------------- experiment helpers


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(3, 30))
def test_stratified_subset_properties(seed, n):
    y = torch.arange(33) % 3
    idx = experiments.stratified_subset(y, n, generator=make_generator(seed))
    assert idx.shape == (n,) and idx.unique().numel() == n
    counts = torch.bincount(y[idx], minlength=3)
    assert int(counts.max() - counts.min()) <= 1
    assert torch.equal(idx, experiments.stratified_subset(y, n, generator=make_generator(seed)))


def test_stratified_subset_bad_inputs():
    y = torch.arange(20) % 4
    with pytest.raises(ValueError, match="between the number of classes"):
        experiments.stratified_subset(y, 3)
    with pytest.raises(TypeError, match="integer class labels"):
        experiments.stratified_subset(y.float(), 8)


def test_random_apply_and_sometimes_share_and_labels():
    x = torch.rand(4000, 1, 8, 8, generator=make_generator(0))
    y = torch.arange(4000) % 10
    for aug in (
        random_apply(lambda b: b.flip(-1), p=0.3),
        sometimes(affine_augment(degrees=10), p=0.3),
    ):
        xo, yo = aug(x, y, make_generator(1))
        changed = float(((xo - x).abs().flatten(1).amax(1) > 0).float().mean())
        assert abs(changed - 0.3) < 0.03
        assert torch.equal(yo, y)
        xo2, _ = aug(x, y, make_generator(1))
        assert torch.equal(xo, xo2)
    with pytest.raises(ValueError, match="p must be"):
        sometimes(affine_augment(), p=1.5)
    with pytest.raises(ValueError, match="changed the labels"):
        sometimes(lambda a, b, g: (a, b.flip(0)))(x[:4], y[:4], make_generator(0))


def test_per_class_accuracy():
    y = torch.tensor([0, 0, 1, 1, 2])
    pred = torch.tensor([0, 1, 1, 1, 0])
    acc = metrics.per_class_accuracy(pred, y, 4)
    np.testing.assert_allclose(acc[:3].numpy(), [0.5, 1.0, 0.0])
    assert torch.isnan(acc[3])
    assert torch.equal(metrics.per_class_accuracy(torch.eye(3)[pred.clamp_max(2)], y, 4)[:3], acc[:3])
    with pytest.raises(ValueError, match="labels in 0..1"):
        metrics.per_class_accuracy(pred, y, 2)


def test_prediction_consistency_bounds():
    x, y = _toy(30)
    m = models.make_model("cnn2d", 0, num_classes=3, width=4)
    assert metrics.prediction_consistency(m, x, lambda b: b.clone()) == 1.0
    c = metrics.prediction_consistency(
        m, x, lambda b, generator=None: random_affine(b, degrees=90, generator=generator), generator=make_generator(0)
    )
    assert 0.0 <= c <= 1.0
    with pytest.raises(ValueError, match="changed the shape"):
        metrics.prediction_consistency(m, x, lambda b: b[:, :, :4])

    def broken(b, generator=None):
        raise TypeError("a bug inside the transform")

    with pytest.raises(TypeError, match="a bug inside"):  # not swallowed by the generator detection
        metrics.prediction_consistency(m, x, broken)
    # repeats average independent draws from the one generator: reproducible given its seed
    rot = lambda b, generator=None: random_affine(b, degrees=45, generator=generator)  # noqa: E731
    c1 = metrics.prediction_consistency(m, x, rot, generator=make_generator(3), repeats=3)
    assert c1 == metrics.prediction_consistency(m, x, rot, generator=make_generator(3), repeats=3)


def test_learning_curve_is_paired_and_reproducible():
    x, y = _toy(90)
    kw = dict(sizes=(9, 30), settings={"none": None, "same": None}, seeds=2, steps=5, batch_size=8, progress=False)
    kw["model_kwargs"] = {"num_classes": 3, "width": 4}
    a = experiments.learning_curve(x, y, x, y, device="cpu", keep_models=True, **kw)
    b = experiments.learning_curve(x, y, x, y, device="cpu", workers=1, **kw)  # threads change nothing
    assert a.accuracy["none"].shape == (2, 2)
    np.testing.assert_array_equal(a.accuracy["none"], b.accuracy["none"])
    np.testing.assert_array_equal(a.gain("same", "none"), 0.0)  # identical settings: paired, zero gain
    assert len(a.models["none"]) == 2
    with pytest.raises(ValueError, match="strictly increasing"):
        experiments.learning_curve(x, y, x, y, **{**kw, "sizes": (30, 9)})


# ---------------------------------------------------------------- exercise checkers for notebook 01


def test_nb01_checkers_accept_solutions_and_reject_mistakes():
    assert nb01.check_digit_label_preserving(
        {"shift by one pixel", "rotate ±10°", "zoom 0.9-1.1", "faint pixel noise"}
    ).passed
    fb = nb01.check_digit_label_preserving({"shift by one pixel", "rotate 180°"})
    assert fb.passed is False and "6 into a 9" in fb.message
    assert nb01.check_digit_label_preserving(...).passed is None
    assert nb01.check_noise_penalty(40.0).passed
    assert nb01.check_noise_penalty(0.16).passed is False  # σ² without n
    assert nb01.check_random_apply_augment(sometimes(affine_augment(), p=0.5)).passed
    always = nb01.check_random_apply_augment(affine_augment())
    assert always.passed is False and "half" in always.message

    def in_place(x, y, g):
        x.mul_(1.0)
        x[0] += 1
        return x, y

    assert "in place" in nb01.check_random_apply_augment(in_place).message


# ----------------------------------------------------------------------------------------------
# Issue 17 item 12: every edge of the training helpers is a clear error naming the parameter.
# ----------------------------------------------------------------------------------------------


def _tiny(n=12, k=3):
    x = torch.rand(n, 1, 8, 8, generator=make_generator(0))
    return x, torch.arange(n) % k


def test_fit_refuses_labels_the_model_cannot_predict():
    x, y = _tiny()
    model = models.make_model("cnn2d", 0, num_classes=2, width=4)
    with pytest.raises(ValueError, match="y must hold labels in 0..1"):
        training.fit(model, x, y, steps=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="y must hold labels in 0..K-1"):
        training.fit(model, x, y - 1, steps=1, progress=False, device="cpu")


def test_fit_refuses_nan_inputs_instead_of_training_to_nan():
    x, y = _tiny()
    x[3, 0, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        training.fit(models.make_model("cnn2d", 0, width=4), x, y, steps=1, progress=False, device="cpu")


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"steps": 2.0}, TypeError, "steps"),
        ({"schedule": "linear"}, ValueError, "schedule"),
        ({"seed": -1}, ValueError, "seed"),
        ({"progress": "no"}, TypeError, "progress"),
        ({"augment": 3}, TypeError, "augment"),
        ({"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be a number, got NaN"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"weight_decay": "0"}, TypeError, "weight_decay"),
    ],
)
def test_fit_validates_its_arguments(kwargs, exc, name):
    x, y = _tiny()
    with pytest.raises(exc, match=name):
        training.fit(models.make_model("cnn2d", 0, width=4), x, y, progress=False, device="cpu", **kwargs)


def test_evaluate_edges():
    x, y = _tiny()
    model = models.make_model("cnn2d", 0, num_classes=3, width=4)
    with pytest.raises(ValueError, match="x is empty"):
        training.evaluate(model, x[:0], y[:0])
    for bad in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            training.evaluate(model, x, y, batch_size=bad)
    with pytest.raises(TypeError, match="n_bins"):
        training.evaluate(model, x, y, n_bins=True)
    with pytest.raises(ValueError, match="y must hold labels"):
        training.evaluate(model, x, y + 5)

    class Mean(torch.nn.Module):  # no parameters at all: once a bare StopIteration
        def forward(self, b):
            return torch.stack([b.flatten(1).mean(1), -b.flatten(1).mean(1), 0 * b.flatten(1).mean(1)], 1)

    res = training.evaluate(Mean(), x, y)
    assert 0.0 <= res.accuracy <= 1.0 and res.probs.shape == (12, 3)


@pytest.mark.parametrize(
    "bad, fault",
    [
        (lambda xb, yb, g: xb, "augment must return a pair \\(x, y\\), got Tensor"),
        (lambda xb, yb, g: (xb, yb, None), "augment must return a pair \\(x, y\\), got a tuple of 3"),
        (lambda xb, yb, g: (xb.numpy(), yb), "augment must return x as a tensor .* got ndarray"),
        (lambda xb, yb, g: (xb[:1], yb), "augment must return x as a tensor \\[B, ...\\] with B = 4"),
    ],
)
def test_fit_names_an_augment_that_returns_the_wrong_thing(bad, fault):
    x, y = _tiny()
    with pytest.raises(TypeError, match=fault):
        training.fit(models.make_model("cnn2d", 0, width=4), x, y, batch_size=4, steps=1, augment=bad, progress=False)


def _batch_sizes(n, batch_size, steps, drop_last):
    seen = []

    def loss(model, xb, yb, generator):
        seen.append(xb.shape[0])
        return model(xb).logsumexp(1).mean()

    x = torch.rand(n, 1, 8, 8, generator=make_generator(1))
    m = models.make_model("cnn2d", 0, width=4)
    training.fit(m, x, None, batch_size=batch_size, steps=steps, loss=loss, drop_last=drop_last, progress=False)
    return seen


def test_fit_drop_last_gives_only_full_batches():
    assert _batch_sizes(10, 4, 6, drop_last=False) == [4, 4, 2, 4, 4, 2]
    assert _batch_sizes(10, 4, 6, drop_last=True) == [4, 4, 4, 4, 4, 4]
    assert _batch_sizes(8, 4, 3, drop_last=True) == [4, 4, 4]  # nothing dropped when N divides
    x, y = _tiny(n=5)
    with pytest.raises(ValueError, match="batch_size is 8 but x holds 5 examples; drop_last=True needs a full batch"):
        training.fit(models.make_model("cnn2d", 0, width=4), x, y, batch_size=8, drop_last=True, progress=False)
    with pytest.raises(TypeError, match="drop_last"):
        training.fit(models.make_model("cnn2d", 0, width=4), x, y, drop_last="yes", progress=False)


def test_fit_drop_last_epochs_count_full_batches_only():
    """With epochs (not steps), one pass is N // batch_size steps under drop_last (the cosine schedule's length)."""
    seen = []

    def loss(model, xb, yb, generator):
        seen.append(xb.shape[0])
        return torch.nn.functional.cross_entropy(model(xb), yb)

    x, y = _tiny(n=10)
    training.fit(
        models.make_model("cnn2d", 0, width=4),
        x,
        y,
        batch_size=4,
        epochs=2,
        loss=loss,
        drop_last=True,
        progress=False,
        schedule="cosine",
    )
    assert seen == [4, 4, 4, 4]
