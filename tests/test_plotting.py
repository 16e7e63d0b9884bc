"""plotting: figures never alias or modify their inputs, validate their arguments, and share ECE's bins."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import data, metrics, plotting

matplotlib.use("Agg")


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(4, 5), (1, 4, 5), (3, 4, 5)]),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.bool]),
    numpy_input=st.booleans(),
)
def test_to_display_returns_a_new_array_in_unit_range(shape, dtype, numpy_input):
    x = (torch.rand(shape, generator=torch.Generator().manual_seed(0)) * (255 if dtype == torch.uint8 else 1)).to(dtype)
    img = x.numpy() if numpy_input else x
    before = x.clone()
    out = plotting.to_display(img)
    assert out.shape == (shape[-2], shape[-1]) + ((3,) if len(shape) == 3 and shape[0] == 3 else ())
    assert out.min() >= 0 and out.max() <= 1
    out[...] = 7.0  # writing to the display copy ...
    assert torch.equal(x, before)  # ... never changes the caller's image


def test_to_display_edges():
    with pytest.raises(ValueError, match="img has no pixels"):
        plotting.to_display(torch.zeros(1, 0, 4))
    with pytest.raises(TypeError, match="img"):
        plotting.to_display([[0.0]])
    with pytest.raises(TypeError, match="real"):
        plotting.to_display(torch.zeros(4, 4, dtype=torch.complex64))


def test_show_images_validates_ncols_and_size():
    imgs = torch.rand(3, 1, 4, 4)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="ncols"):
            plotting.show_images(imgs, ncols=bad)
    with pytest.raises(TypeError, match="ncols"):
        plotting.show_images(imgs, ncols=1.5)
    with pytest.raises(ValueError, match="size"):
        plotting.show_images(imgs, size=0)


def test_ecg_plots_validate_fs_and_accept_numpy():
    rec = data.load_ecg_12lead()
    sig = rec.signal[:, : int(2 * rec.fs)]
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="fs"):
            plotting.plot_ecg_12lead(sig, bad, rec.leads)
        with pytest.raises(ValueError, match="fs"):
            plotting.plot_ecg_strip({"II": sig[1]}, bad)
    with pytest.raises(TypeError, match="fs"):
        plotting.plot_ecg_12lead(sig, "500", rec.leads)
    with pytest.raises(TypeError, match="signal_mv"):
        plotting.plot_ecg_12lead(sig.tolist(), rec.fs, rec.leads)
    before = sig.clone()
    fig_np = plotting.plot_ecg_12lead(sig.numpy(), rec.fs, rec.leads)
    fig_t = plotting.plot_ecg_12lead(sig, rec.fs, rec.leads)
    assert torch.equal(sig, before)
    line_np = fig_np.axes[0].lines[-1].get_ydata()
    line_t = fig_t.axes[0].lines[-1].get_ydata()
    np.testing.assert_array_equal(line_np, line_t)
    plotting.plot_ecg_strip({"II": sig[1].numpy()}, rec.fs)


def _probs(n=300, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, k, generator=g, dtype=torch.float64)
    return logits.softmax(1), torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_reliability_diagram_draws_the_bins_behind_the_ece(n_bins):
    p, y = _probs()
    bins = metrics.reliability_bins(p, y, n_bins)
    fig = plotting.plot_reliability_diagram(p, y, n_bins=n_bins)
    acc_bars = fig.axes[0].containers[0]
    heights = np.array([r.get_height() for r in acc_bars])
    np.testing.assert_allclose(heights, np.nan_to_num(bins.accuracy))
    np.testing.assert_allclose([r.get_x() + r.get_width() / 2 for r in acc_bars], bins.centres)
    assert bins.ece == pytest.approx(metrics.expected_calibration_error(p, y, n_bins))


def test_reliability_diagram_validates_n_bins():
    p, y = _probs(n=20)
    with pytest.raises(ValueError, match="n_bins"):
        plotting.plot_reliability_diagram(p, y, n_bins=0)
    with pytest.raises(TypeError, match="n_bins"):
        plotting.plot_reliability_diagram(p, y, n_bins=True)
