"""Temperature scaling: optimal against a brute-force grid and SciPy (40 random problems), equal to the reference
(the oracle), argmax-preserving, input-safe; every public function refuses bad inputs naming the parameter."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import calibration
from lessonlib.reference import calibration as reference


def _logits(seed: int, n: int = 400, k: int = 5, scale: float = 3.0, noise: float = 0.3):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g) * scale
    # make the labels only partly predictable, so the optimum T is interior
    flip = torch.rand(n, generator=g) < noise
    labels = torch.where(flip, labels, logits.argmax(1))
    return logits, labels


def _grid_optimum(logits: torch.Tensor, labels: torch.Tensor) -> float:
    grid = np.exp(np.linspace(-4, 4, 8001))
    z = logits.to(torch.float64)
    losses = [float(F.cross_entropy(z / t, labels)) for t in grid]
    return float(grid[int(np.argmin(losses))])


@pytest.mark.parametrize(("scale", "noise"), [(3.0, 0.3), (8.0, 0.2), (0.3, 0.05), (1.0, 0.5)])
def test_matches_brute_force_grid(scale, noise):
    logits, labels = _logits(0, scale=scale, noise=noise)
    t = calibration.fit_temperature(logits, labels)
    t_grid = _grid_optimum(logits, labels)
    # the grid step in log T is 0.001, so the two agree to about 0.1%
    assert math.isclose(t, t_grid, rel_tol=2e-3)
    # and the fitted T is at least as good as the grid's best
    assert calibration.nll(logits, labels, t) <= calibration.nll(logits, labels, t_grid) + 1e-9


def test_over_confident_logits_get_t_above_one_and_under_confident_below():
    logits, labels = _logits(1, scale=3.0, noise=0.3)
    t = calibration.fit_temperature(logits, labels)
    assert calibration.fit_temperature(logits * 4, labels) == pytest.approx(4 * t, rel=1e-4)
    assert calibration.fit_temperature(logits / 4, labels) == pytest.approx(t / 4, rel=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.floats(0.05, 20.0))
def test_argmax_invariant(seed, t):
    logits, _ = _logits(seed, n=50)
    scaled = calibration.apply_temperature(logits, t)
    assert torch.equal(scaled.argmax(1), logits.argmax(1))
    assert scaled.shape == logits.shape and scaled.dtype == logits.dtype


def test_fitting_lowers_nll_and_keeps_accuracy_and_inputs():
    logits, labels = _logits(2, scale=6.0, noise=0.3)
    before = logits.clone()
    t, scaled = calibration.temperature_scale(logits, labels, logits)
    assert torch.equal(logits, before)  # not modified in place
    assert torch.equal(scaled.argmax(1), logits.argmax(1))
    assert calibration.nll(scaled, labels) < calibration.nll(logits, labels)
    assert float(F.cross_entropy(scaled.double(), labels)) == pytest.approx(calibration.nll(logits, labels, t))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_dtype_kept(dtype):
    logits, labels = _logits(3)
    t = calibration.fit_temperature(logits.to(dtype), labels)
    assert isinstance(t, float) and t > 0
    assert calibration.apply_temperature(logits.to(dtype), t).dtype == dtype


def test_bad_inputs_name_the_parameter():
    logits, labels = _logits(4, n=20)
    with pytest.raises(TypeError, match="logits"):
        calibration.fit_temperature(logits.long(), labels)
    with pytest.raises(TypeError, match="labels"):
        calibration.fit_temperature(logits, labels.float())
    with pytest.raises(ValueError, match="rows"):
        calibration.fit_temperature(logits, labels[:-1])
    with pytest.raises(ValueError, match="labels"):
        calibration.fit_temperature(logits, labels + 10)
    with pytest.raises(ValueError, match="logits"):
        calibration.fit_temperature(logits.masked_fill(logits > 2, float("nan")), labels)
    with pytest.raises(ValueError, match="temperature"):
        calibration.apply_temperature(logits, 0.0)
    with pytest.raises(TypeError, match="temperature"):
        calibration.apply_temperature(logits, True)
    with pytest.raises(ValueError, match="max_iter"):
        calibration.fit_temperature(logits, labels, max_iter=0)
    with pytest.raises(ValueError, match="classes"):
        calibration.temperature_scale(logits, labels, logits[:, :3])


def test_inference_tensors_and_inference_mode_are_fine():
    logits, labels = _logits(5)
    expected = calibration.fit_temperature(logits, labels)
    with torch.inference_mode():
        frozen = logits.double() * 1.0  # an inference tensor, float64 (no dtype copy to hide behind)
        inside = calibration.fit_temperature(frozen, labels)
    assert calibration.fit_temperature(frozen, labels) == pytest.approx(expected, rel=1e-6)
    assert inside == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------------------------
# The reference is the oracle; SciPy checks the stated precision (issue 35)
# ----------------------------------------------------------------------------------------------


def _random_problem(seed: int):
    """Logits with a random size, class count, scale and signal, so T* spans about 0.3 to 80."""
    g = torch.Generator().manual_seed(seed)
    n, k = int(torch.randint(5, 300, (1,), generator=g)), int(torch.randint(2, 12, (1,), generator=g))
    y = torch.randint(0, k, (n,), generator=g)
    scale = 3 * math.exp(float(torch.empty(1).uniform_(-1.5, 1.5, generator=g)))
    z = torch.randn(n, k, generator=g) * scale
    z[torch.arange(n), y] += float(torch.rand(1, generator=g)) * 2 * scale
    return z, y


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000), dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]))
def test_fast_equals_reference(seed, dtype):
    z, y = _random_problem(seed)
    z = z.to(dtype)
    t = calibration.fit_temperature(z, y)
    t_ref = reference.fit_temperature(z, y)
    # the reference's golden section compares NLL values, which places a flat minimum to about 1e-7
    assert t == pytest.approx(t_ref, rel=1e-6)
    assert calibration.nll(z, y, t) == pytest.approx(reference.nll(z, y, t), rel=1e-12)
    assert calibration.nll(z, y, t) <= reference.nll(z, y, t_ref) + 1e-12  # never worse than the oracle
    assert torch.equal(calibration.apply_temperature(z, t), reference.apply_temperature(z, t))
    t2, scaled = calibration.temperature_scale(z, y, z[:7])
    assert t2 == t and torch.equal(scaled, reference.apply_temperature(z[:7], t))


def test_fit_temperature_reaches_the_stated_precision_on_40_problems():
    from scipy.optimize import brentq, minimize_scalar

    for seed in range(40):
        z, y = _random_problem(seed)
        zd, yn = z.double().numpy(), y.numpy()
        rows = np.arange(len(yn))

        def nll(s, zd=zd, yn=yn, rows=rows):
            u = zd * math.exp(-s)
            m = u.max(1)
            return float(np.mean(np.log(np.exp(u - m[:, None]).sum(1)) + m - u[rows, yn]))

        def slope(beta, zd=zd, yn=yn, rows=rows):  # d NLL / d(1/T), written in numpy
            u = beta * zd
            p = np.exp(u - u.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            return float(np.mean((p * zd).sum(1) - zd[rows, yn]))

        t = calibration.fit_temperature(z, y)
        t_root = 1 / brentq(slope, math.exp(-5), math.exp(5), xtol=1e-300, rtol=1e-15)
        t_min = math.exp(minimize_scalar(nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-12}).x)
        assert t == pytest.approx(t_root, rel=1e-10), seed
        assert t == pytest.approx(t_min, rel=1e-6), seed
        assert nll(math.log(t)) <= nll(math.log(t_min)) + 1e-15, seed


def test_degenerate_logits_get_the_bound():
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    assert calibration.fit_temperature(torch.zeros(6, 3), y) == pytest.approx(math.exp(5))  # NLL = log 3 for all T
    separated = torch.eye(3)[y] * 5  # every example right: the NLL falls as T -> 0
    assert calibration.fit_temperature(separated, y) == pytest.approx(math.exp(-5))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8])
def test_any_integer_label_dtype_is_accepted(dtype):
    z, y = _random_problem(7)
    t = calibration.fit_temperature(z, y)
    assert calibration.fit_temperature(z, y.to(dtype)) == t
    assert calibration.nll(z, y.to(dtype), t) == calibration.nll(z, y, t)
    assert calibration.temperature_scale(z, y.to(dtype), z)[0] == t


# ----------------------------------------------------------------------------------------------
# Every public function refuses bad inputs, naming the parameter and the fault
# ----------------------------------------------------------------------------------------------


def _put(z, value):
    out = z.clone()
    out[1, 0] = value
    return out


_LOGITS_FAULTS = {
    "not a tensor": (lambda z: z.tolist(), TypeError, "must be a torch.Tensor"),
    "integer": (lambda z: z.long(), TypeError, "must be a floating-point tensor"),
    "NaN": (lambda z: _put(z, math.nan), ValueError, "contains NaN or infinite values"),
    "inf": (lambda z: _put(z, -math.inf), ValueError, "contains NaN or infinite values"),
    "1-D": (lambda z: z[:, 0], ValueError, "must have 2 dimensions"),
    "empty": (lambda z: z[:0], ValueError, "is empty"),
}


def _call(fn_name, **over):
    z, y = _logits(8, n=10, k=4)
    if fn_name == "fit_temperature":
        return calibration.fit_temperature(over.get("logits", z), over.get("labels", y))
    if fn_name == "nll":
        return calibration.nll(over.get("logits", z), over.get("labels", y), over.get("temperature", 1.0))
    if fn_name == "apply_temperature":
        return calibration.apply_temperature(over.get("logits", z), over.get("temperature", 1.0))
    return calibration.temperature_scale(
        over.get("val_logits", z), over.get("val_labels", y), over.get("test_logits", z)
    )


_LOGIT_PARAMS = [
    ("fit_temperature", "logits"),
    ("nll", "logits"),
    ("apply_temperature", "logits"),
    ("temperature_scale", "val_logits"),
    ("temperature_scale", "test_logits"),
]


@settings(max_examples=40, deadline=None)
@given(target=st.sampled_from(_LOGIT_PARAMS), fault=st.sampled_from(sorted(_LOGITS_FAULTS)))
def test_every_function_refuses_bad_logits_naming_them(target, fault):
    fn_name, param = target
    if fault == "1-D" and fn_name == "apply_temperature":
        return  # logits [..., K] of any rank are fine there: a 1-D row of K logits is one sample
    z, _ = _logits(8, n=10, k=4)
    make, exc, message = _LOGITS_FAULTS[fault]
    with pytest.raises(exc, match=f"^{param} {message}"):
        _call(fn_name, **{param: make(z)})


_LABEL_FAULTS = {
    "not a tensor": (lambda y: y.tolist(), TypeError, "^LABELS must be a torch.Tensor"),
    "float": (lambda y: y.float(), TypeError, "^LABELS must hold integer class labels"),
    "bool": (lambda y: y > 0, TypeError, "^LABELS must hold integer class labels"),
    "2-D": (lambda y: y[:, None], ValueError, "^LABELS must have 1 dimensions"),
    "short": (lambda y: y[:-1], ValueError, "has 10 rows but LABELS has 9"),
    "out of range": (lambda y: y + 100, ValueError, "^LABELS must hold labels in 0\\.\\.\\d+ \\(\\d+ classes\\), got "),
    "negative": (lambda y: y - 100, ValueError, "^LABELS must hold labels in 0\\.\\.\\d+ \\(\\d+ classes\\), got "),
}


@settings(max_examples=30, deadline=None)
@given(
    target=st.sampled_from([("fit_temperature", "labels"), ("nll", "labels"), ("temperature_scale", "val_labels")]),
    fault=st.sampled_from(sorted(_LABEL_FAULTS)),
)
def test_every_function_refuses_bad_labels_naming_them(target, fault):
    fn_name, param = target
    _, y = _logits(8, n=10, k=4)
    make, exc, message = _LABEL_FAULTS[fault]
    with pytest.raises(exc, match=message.replace("LABELS", param)):
        _call(fn_name, **{param: make(y)})


@pytest.mark.parametrize("fn_name", ["nll", "apply_temperature"])
@pytest.mark.parametrize(
    ("bad", "exc"),
    [(0.0, ValueError), (-1.0, ValueError), (math.nan, ValueError), (math.inf, ValueError), ("2", TypeError)],
)
def test_temperature_is_validated(fn_name, bad, exc):
    with pytest.raises(exc, match="^temperature must"):
        _call(fn_name, temperature=bad)


def test_what_issue_35_found_is_now_a_clear_error():
    """NaN passed through apply_temperature/temperature_scale silently, int32 labels crashed inside
    cross_entropy, and 1-D validation logits raised a bare IndexError."""
    z, y = _random_problem(4)
    with pytest.raises(ValueError, match="logits contains NaN"):
        calibration.apply_temperature(torch.full((3, 4), math.nan), 2.0)
    with pytest.raises(ValueError, match="test_logits contains NaN"):
        calibration.temperature_scale(z, y, torch.full((3, z.shape[1]), math.nan))
    assert calibration.fit_temperature(z, y.int()) > 0
    with pytest.raises(ValueError, match="val_logits must have 2 dimensions, got shape"):
        calibration.temperature_scale(z[:, 0], y, z)
