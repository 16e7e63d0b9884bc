"""Interactive explorers that degrade to a static figure when nobody is there to drag a slider.

``explorer(plot_fn, controls)`` is the one helper notebooks use. In a live JupyterLab it shows
ipywidgets controls and redraws ``plot_fn(**values)`` when they change. When the notebook is executed
headless (nbval, ``make outputs``, nbconvert) it calls ``plot_fn`` once with each control's default
value and shows that figure, so the cell runs under CI and a reader on GitHub still sees a picture.

Headless is detected by the environment variable ``LESSONLIB_STATIC=1`` (the Makefile sets it for
tests and stored outputs) or by the absence of an IPython kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib.pyplot as plt

from lessonlib.utils import STATIC_ENV, check_bool

__all__ = ["explorer", "is_static", "reveal", "Shown", "STATIC_ENV"]


class Shown:
    """What ``explorer`` and ``reveal`` return in interactive mode: a handle on a widget they have
    already displayed. ``box`` is the ipywidgets container (for tests or custom layouts).

    Returning the container itself made JupyterLab show it a second time whenever the call was the
    cell's last expression (the browser test caught it); this handle displays as nothing.
    """

    def __init__(self, box: Any) -> None:
        self.box = box

    def _ipython_display_(self) -> None:  # already on the page: showing it again would duplicate it
        return None

    def __repr__(self) -> str:
        return f"<Shown {type(self.box).__name__}>"


def is_static() -> bool:
    """True when widgets cannot be interacted with: ``LESSONLIB_STATIC=1`` or no IPython kernel."""
    if os.environ.get(STATIC_ENV, "") == "1":
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    ip = get_ipython()
    return ip is None or not hasattr(ip, "kernel")


def _default(widget: Any) -> Any:
    return widget.value


def _static_default(name: str, spec: Any) -> Any:
    """The value ``_as_widget(name, spec)`` would start at, without building the widget.

    A ``Button`` stands for a ``resample`` counter (0); a ready-made widget gives its ``value``.
    """
    import ipywidgets as w

    if isinstance(spec, w.Button):
        return 0
    if isinstance(spec, w.ValueWidget):
        return spec.value
    if isinstance(spec, bool):
        return spec
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(s, str) for s in spec):
        return spec[0]
    if isinstance(spec, tuple) and len(spec) in (3, 4) and all(isinstance(s, (int, float)) for s in spec):
        lo, hi = spec[0], spec[1]
        value = min(max(spec[3] if len(spec) == 4 else lo, lo), hi)  # a slider clamps its start value
        return value if all(isinstance(s, int) for s in spec) else float(value)
    return _as_widget(name, spec).value  # raises the same error as interactive mode


def _as_widget(name: str, spec: Any):
    """Turn a control spec into an ipywidget: a widget as is; ``(min, max, step)`` numbers → slider
    (``(min, max, step, value)`` sets the start value); a list/tuple of strings → dropdown; bool → checkbox."""
    import ipywidgets as w

    if isinstance(spec, w.ValueWidget):
        return spec
    if isinstance(spec, bool):
        return w.Checkbox(value=spec, description=name)
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(s, str) for s in spec):
        return w.Dropdown(options=list(spec), value=spec[0], description=name)
    if isinstance(spec, tuple) and len(spec) in (3, 4) and all(isinstance(s, (int, float)) for s in spec):
        lo, hi, step = spec[:3]
        value = spec[3] if len(spec) == 4 else lo
        cls = w.IntSlider if all(isinstance(s, int) for s in spec) else w.FloatSlider
        return cls(min=lo, max=hi, step=step, value=value, description=name, continuous_update=False)
    raise ValueError(
        f"control {name!r} must be an ipywidget, a (min, max, step[, value]) tuple, a list of option "
        f"strings or a bool; got {spec!r}"
    )


def explorer(
    plot_fn: Callable[..., Any],
    controls: Mapping[str, Any],
    *,
    title: str | None = None,
    static: bool | None = None,
):
    """Build an explorer for ``plot_fn`` with one control per keyword argument.

    Args:
        plot_fn: called as ``plot_fn(**values)``; it draws with matplotlib (and may return a Figure).
        controls: ``{argument name: control spec}``; see ``_as_widget`` for the accepted specs. A
            ``"resample"`` button can be had by passing an ``ipywidgets.Button`` as a control: each
            click increments an integer ``resample`` argument passed to ``plot_fn``.
        title: optional text shown above the controls.
        static: force static (True) or interactive (False) mode; default ``is_static()``.

    Returns:
        In interactive mode a ``Shown`` handle (``.box`` is the container, already displayed); in
        static mode ``None``, after showing one figure drawn with every control's default value.
    """
    import ipywidgets as w

    if not callable(plot_fn):
        raise TypeError(f"plot_fn must be callable, got {type(plot_fn).__name__}")
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls is empty; expected at least one {name: spec}")
    static = is_static() if static is None else check_bool(static, "static")
    if static:
        # No widget is built: a stored notebook then keeps no widget state that no output uses.
        fig = plot_fn(**{k: _static_default(k, v) for k, v in controls.items()})
        fig = fig if fig is not None else plt.gcf()
        if title:
            fig.suptitle(f"{title} (static preview; run in JupyterLab to explore)", fontsize=9)
        plt.show()
        return None

    from IPython.display import display

    buttons = {k: v for k, v in controls.items() if isinstance(v, w.Button)}
    widgets = {k: _as_widget(k, v) for k, v in controls.items() if k not in buttons}
    state = {k: 0 for k in buttons}

    def values() -> dict[str, Any]:
        out = {k: _default(v) for k, v in widgets.items()}
        out.update(state)
        return out

    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            plot_fn(**values())
            plt.show()

    for wid in widgets.values():
        wid.observe(redraw, names="value")
    for name, button in buttons.items():

        def click(_b, name=name):
            state[name] += 1
            redraw()

        button.on_click(click)
    header = [w.HTML(f"<b>{title}</b>")] if title else []
    box = w.VBox([*header, w.HBox([*widgets.values(), *buttons.values()]), out])
    box.add_class("lessonlib-explorer")
    display(box)
    redraw()
    return Shown(box)


def reveal(label: str, content_markdown: str, *, static: bool | None = None):
    """A "reveal" button that shows ``content_markdown`` when clicked (model answers, rubrics).

    In static mode it shows the label and notes that the answer is hidden, without revealing it, so
    stored outputs never give the answer away, and returns ``None``; in interactive mode it returns a
    ``Shown`` handle (``.box`` is the displayed container).
    """
    import ipywidgets as w
    from IPython.display import Markdown, display

    static = is_static() if static is None else static
    if static:
        display(Markdown(f"**{label}** — *answer hidden; run this cell in JupyterLab and click to reveal.*"))
        return None
    out = w.Output()
    button = w.Button(description=f"Reveal: {label}"[:60], layout=w.Layout(width="auto"))

    def click(_b):
        with out:
            out.clear_output()
            display(Markdown(content_markdown))

    button.on_click(click)
    box = w.VBox([button, out])
    display(box)
    return Shown(box)
