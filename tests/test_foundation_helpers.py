"""plotting, widgets and the exercise framework."""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lessonlib import data, exercises, plotting, widgets

# ---------------------------------------------------------------- plotting


def test_to_display_handles_dtypes():
    assert plotting.to_display(torch.full((1, 4, 4), 255, dtype=torch.uint8)).max() == 1.0
    rgb = plotting.to_display(torch.zeros(3, 4, 5))
    assert rgb.shape == (4, 5, 3)
    normalised = plotting.to_display(torch.linspace(-2, 2, 16).reshape(1, 4, 4))
    assert normalised.min() == 0.0 and normalised.max() == 1.0
    with pytest.raises(ValueError, match="1 or 3 channels"):
        plotting.to_display(torch.zeros(2, 4, 4))


def test_show_images_grid_and_validation():
    imgs = torch.rand(5, 1, 8, 8)
    before = imgs.clone()
    fig = plotting.show_images(imgs, [str(i) for i in range(5)], ncols=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "0"
    assert torch.equal(imgs, before)
    with pytest.raises(ValueError, match="titles has 2 entries for 5 images"):
        plotting.show_images(imgs, ["a", "b"])


def test_ecg_paper_scale():
    rec = data.load_ecg_12lead()
    fig = plotting.plot_ecg_12lead(rec.signal, rec.fs, rec.leads)
    ax = fig.axes[0]
    # 10 s at 25 mm/s = 250 mm wide; 4 rows x 3 mV at 10 mm/mV = 120 mm high.
    w_in, h_in = fig.get_size_inches()
    assert w_in == pytest.approx(250 / 25.4) and h_in == pytest.approx(120 / 25.4)
    assert ax.get_aspect() == pytest.approx(10 / 25)
    labels = {t.get_text() for t in ax.texts}
    assert set(rec.leads) <= labels
    with pytest.raises(ValueError, match="rows matching leads"):
        plotting.plot_ecg_12lead(rec.signal[:3], rec.fs, rec.leads)


def test_mean_spread_and_reliability():
    fig = plotting.plot_mean_spread([1, 2, 3], {"a": np.ones((4, 3))}, xlabel="n")
    assert fig.axes[0].get_xlabel() == "n"
    with pytest.raises(ValueError, match=r"must be \[n_repeats, 3\]"):
        plotting.plot_mean_spread([1, 2, 3], {"a": np.ones((4, 2))})
    probs = torch.softmax(torch.randn(50, 3, generator=torch.Generator().manual_seed(0)), 1)
    fig = plotting.plot_reliability_diagram(probs, torch.zeros(50, dtype=torch.long))
    assert fig.axes[0].get_xlabel() == "confidence"


# ---------------------------------------------------------------- widgets


def test_explorer_static_draws_defaults(monkeypatch):
    calls = []

    def plot(strength, modality, resample):
        calls.append((strength, modality, resample))
        fig, ax = plt.subplots()
        ax.plot([0, strength])
        return fig

    out = widgets.explorer(
        plot, {"strength": (0.0, 1.0, 0.1, 0.5), "modality": ["xray", "histology"], "resample": w.Button()}, static=True
    )
    assert out is None
    assert calls == [(0.5, "xray", 0)]


def test_explorer_interactive_reacts():
    seen = []
    shown = widgets.explorer(lambda k: seen.append(k), {"k": (1, 5, 1)}, static=False)
    box = shown.box
    slider = box.children[0].children[0]
    assert isinstance(slider, w.IntSlider) and seen == [1]
    slider.value = 3
    assert seen[-1] == 3
    assert "lessonlib-explorer" in box._dom_classes
    # as a cell's last expression the result goes through IPython's display formatter: the handle must
    # produce nothing there (the container itself would produce a second widget view)
    from IPython.core.interactiveshell import InteractiveShell

    formatter = InteractiveShell.instance().display_formatter
    assert formatter.format(shown) == ({}, {})
    assert "application/vnd.jupyter.widget-view+json" in formatter.format(box)[0]


def test_reveal_interactive_returns_a_handle_not_a_second_display():
    shown = widgets.reveal("Q1", "the answer", static=False)
    assert isinstance(shown, widgets.Shown) and shown.box.children[0].description.startswith("Reveal: Q1")


def test_explorer_rejects_bad_controls():
    with pytest.raises(ValueError, match="control 'x' must be"):
        widgets.explorer(lambda x: None, {"x": object()}, static=True)
    with pytest.raises(ValueError, match="controls is empty"):
        widgets.explorer(lambda: None, {}, static=True)


def test_is_static_env(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert widgets.is_static()


def test_reveal_static_hides_answer(capsys):
    widgets.reveal("Q1", "the secret answer", static=True)
    assert "secret" not in capsys.readouterr().out


# ---------------------------------------------------------------- exercises


def test_placeholder_is_not_attempted_and_does_not_fail(capsys):
    fb = exercises.grade_number("ex", ..., 3.0)
    assert fb.passed is None and "NOT ATTEMPTED" in capsys.readouterr().out


def test_check_number_explains():
    fb = exercises.grade_number("ex", 4.0, 3.0, hint="remember n")
    assert fb.passed is False and "too large" in fb.message and "remember n" in fb.message
    assert exercises.grade_number("ex", 3.01, 3.0).passed
    with pytest.raises(exercises.ExerciseFailed, match="too small"):
        exercises.grade_number("ex", 1.0, 3.0, must_pass=True)
    with pytest.raises(exercises.ExerciseFailed, match="NOT ATTEMPTED"):
        exercises.grade_number("ex", ..., 3.0, must_pass=True)


def test_check_choice_with_a_menu_names_typos_and_never_the_missing_options():
    menu = {"shift": "the digit stays a digit", "hflip": "mirrors the stroke order", "noise": "faint, harmless"}
    fb = exercises.grade_choice("ex", {"hflip", "nosie"}, {"noise", "shift"}, options=menu)
    assert not fb.passed
    assert "'nosie' is not one of the options" in fb.message and "spelling" in fb.message
    fb = exercises.grade_choice("ex", {"hflip", "noise"}, {"noise", "shift"}, options=menu)
    assert "Reconsider 'hflip': mirrors the stroke order" in fb.message and "1 correct option is missing" in fb.message
    assert "shift" not in fb.message and "the digit stays a digit" not in fb.message  # the answer is not given away
    assert exercises.grade_choice("ex", {"shift", "noise"}, {"noise", "shift"}, options=menu).passed


def test_check_choice_counts_mistakes_and_explains_one_wrong_pick():
    fb = exercises.grade_choice("ex", {"hflip", "noise"}, {"noise", "shift"}, reasons={"hflip": "mirrors text"})
    assert not fb.passed
    assert "1 of your picks does not belong" in fb.message and "Reconsider 'hflip': mirrors text" in fb.message
    assert "shift" not in fb.message
    assert exercises.grade_choice("ex", ["shift", "noise"], {"noise", "shift"}).passed


def test_check_tensor_reports_location():
    e = torch.zeros(2, 3)
    a = e.clone()
    a[1, 2] = 5
    fb = exercises.grade_tensor("ex", a, e)
    assert not fb.passed and "(1, 2)" in fb.message
    assert "shape (3,)" in exercises.grade_tensor("ex", torch.zeros(3), e).message
    assert exercises.grade_tensor("ex", e.clone(), e).passed


def test_check_function_reports_first_failing_case():
    cases = [("doubles 2", lambda f: None if f(2) == 4 else f"gave {f(2)}"), ("doubles 0", lambda f: None)]
    assert exercises.grade_function("ex", lambda v: 2 * v, cases).passed
    fb = exercises.grade_function("ex", lambda v: v + 2 if v else 1 / 0, cases[::-1] + [("zero", lambda f: f(0))])
    assert fb.passed is False and "ZeroDivisionError" in fb.message
    fb = exercises.grade_function("ex", lambda v: v, cases)
    assert fb.message.startswith("doubles 2: gave 2")
