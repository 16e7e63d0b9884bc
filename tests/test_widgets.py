"""widgets: static mode builds no widget (stored notebooks keep no widget state), and draws the defaults."""

from __future__ import annotations

import ipywidgets as w
import matplotlib
import pytest
from ipywidgets.widgets import widget as _widget_module

from lessonlib import widgets

matplotlib.use("Agg")

SPECS = {
    "int slider": (1, 5, 1),
    "int slider with start": (1, 5, 1, 3),
    "float slider": (0, 1, 0.1),
    "float slider with start": (0.0, 2.0, 0.5, 1.5),
    "start outside the range": (0, 10, 1, 99),
    "dropdown": ["a", "b"],
    "checkbox": True,
}


def _live_widgets() -> int:
    return len(_widget_module._instances)


def test_static_explorer_builds_no_widget():
    seen = []
    before = _live_widgets()
    widgets.explorer(lambda **kw: seen.append(kw), {"k": (1, 5, 1), "mode": ["a", "b"], "flag": False}, static=True)
    assert _live_widgets() == before, "static mode built widgets that a stored notebook would keep as state"
    assert seen == [{"k": 1, "mode": "a", "flag": False}]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_static_defaults_equal_the_interactive_start_values(name):
    spec = SPECS[name]
    built = widgets._as_widget("x", spec).value
    static = widgets._static_default("x", spec)
    assert static == built and type(static) is type(built)


def test_static_explorer_with_a_button_and_a_widget():
    seen = []
    slider = w.IntSlider(value=4, min=0, max=9)
    widgets.explorer(lambda s, resample: seen.append((s, resample)), {"s": slider, "resample": w.Button()}, static=True)
    assert seen == [(4, 0)]


def test_explorer_validates_before_building():
    with pytest.raises(ValueError, match="control 'x'"):
        widgets.explorer(lambda x: None, {"x": object()}, static=True)
    with pytest.raises(TypeError, match="static"):
        widgets.explorer(lambda x: None, {"x": (0, 1, 1)}, static="yes")
    with pytest.raises(TypeError, match="plot_fn"):
        widgets.explorer(3, {"x": (0, 1, 1)}, static=True)
