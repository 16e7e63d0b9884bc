"""The course as a learner meets it: each notebook opened in JupyterLab in a real (headless) browser.

For every ``notebooks/NN_*.ipynb``: open it, "Run All Cells", wait for the kernel to go idle, then
assert that no cell produced an error and every code cell ran; that every ``lessonlib`` explorer
rendered (its ``.lessonlib-explorer`` box with a slider/dropdown and a figure) and reacts (change one
control, the figure's image changes, no traceback appears). Screenshots go to
``test-artifacts/screenshots/``. Run with ``make test-browser`` (see ``conftest.py`` for knobs).

Three probe notebooks (``lab_harness.PROBES``, written into the served copy, never into
``notebooks/``) prove the harness on every run: a live explorer must pass, and an explorer whose
figure ignores its slider, or a cell that raises, must fail the same checks.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from lab_harness import SCREENSHOTS, notebooks

# Generous: a 60 s notebook may take several times longer on a loaded 2-core machine in a browser.
RUN_TIMEOUT_S = float(os.environ.get("BROWSER_NB_TIMEOUT", "600"))
OPEN_TIMEOUT_S = 240.0
REACT_TIMEOUT_S = 180.0
ERROR_SELECTOR = '[data-mime-type="application/vnd.jupyter.error"]'
CONTROL_SELECTOR = ".widget-slider, .widget-dropdown, .widget-checkbox, .widget-toggle-buttons, .widget-button"
EXPLORER_CALL = re.compile(r"^(?!\s*#).*\bexplorer\(", re.MULTILINE)

# JavaScript run in the page. `window.jupyterapp` exists because the server runs with
# --LabApp.expose_app_in_browser=True.
JS_PANEL_READY = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.context || !w.context.path.endsWith(name) || !w.content || !w.sessionContext) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle' && w.content.widgets.length > 0;
}"""
JS_RUN_ALL = """() => {
  window.__lessonlibRunAll = undefined;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__lessonlibRunAll = String(ok); },
    (err) => { window.__lessonlibRunAll = 'rejected: ' + err; });
}"""
JS_RUN_DONE = """() => {
  if (window.__lessonlibRunAll === undefined) return false;
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  return ![...w.node.querySelectorAll('.jp-InputArea-prompt')].some((p) => p.textContent.includes('*'));
}"""
JS_CELL_REPORT = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const errors = [], notRun = [], shownTwice = [];
  nb.widgets.forEach((cell, i) => {
    const m = cell.model;
    if (m.type !== 'code') return;
    if (m.sharedModel.getSource().trim() && m.executionCount === null) notRun.push(i);
    const seen = new Set();
    for (const o of m.outputs.toJSON()) {
      if (o.output_type === 'error') {
        errors.push({cell: i, ename: o.ename, evalue: o.evalue, traceback: (o.traceback || []).join('\\n')});
      }
      const view = o.data && o.data['application/vnd.jupyter.widget-view+json'];
      if (view) {
        if (seen.has(view.model_id)) shownTwice.push(i);
        seen.add(view.model_id);
      }
    }
  });
  return {errors, notRun, shownTwice, runAll: window.__lessonlibRunAll};
}"""
JS_IMG_CHANGED = """([i, before]) => {
  const ex = document.querySelectorAll('.lessonlib-explorer')[i];
  const img = ex && ex.querySelector('.jp-OutputArea-output img');
  return !!img && img.getAttribute('src') !== before;
}"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _expected_explorers(path: Path) -> int:
    nb = json.loads(path.read_text())
    return sum(
        len(EXPLORER_CALL.findall("".join(c["source"]) if isinstance(c["source"], list) else c["source"]))
        for c in nb["cells"]
        if c["cell_type"] == "code"
    )


def _number(text: str) -> float:
    return float(text.strip())


def _change_one_control(explorer) -> str:
    """Change the first slider (else dropdown, checkbox, button) of an explorer; return what was done."""
    sliders = explorer.locator(".widget-slider")
    if sliders.count():
        slider = sliders.first
        handle = slider.locator(".noUi-handle").first
        lo, hi = _number(handle.get_attribute("aria-valuemin")), _number(handle.get_attribute("aria-valuemax"))
        readout = slider.locator(".widget-readout").first
        old = readout.inner_text().strip()
        target = hi if abs(_number(old) - hi) > 1e-12 else lo
        text = str(int(target)) if float(target).is_integer() else repr(target)
        readout.click()
        readout.press("Control+A")
        readout.type(text)
        readout.press("Enter")
        if readout.inner_text().strip() == old:  # fall back to the keyboard on the handle
            handle.focus()
            handle.press("End" if target == hi else "Home")
        return f"slider {old} -> {readout.inner_text().strip()}"
    dropdowns = explorer.locator(".widget-dropdown select")
    if dropdowns.count():
        select = dropdowns.first
        options = select.locator("option").all_inner_texts()
        current = select.locator("option:checked").inner_text()
        new = next(o for o in options if o != current) if len(options) > 1 else current
        select.select_option(label=new)
        return f"dropdown {current!r} -> {new!r}"
    checkboxes = explorer.locator(".widget-checkbox input")
    if checkboxes.count():
        checkboxes.first.click()
        return "checkbox toggled"
    explorer.locator(".widget-button, button.jupyter-button").first.click()
    return "button clicked"


def run_in_lab(
    page, lab, rel_path: str, expected_explorers: int, shot_name: str, react_timeout_s: float = REACT_TIMEOUT_S
) -> dict:
    """Open ``rel_path`` (relative to the served root) in JupyterLab, Run All, check it, screenshot it.

    Raises AssertionError naming the notebook when a cell errors or never ran, when fewer explorers
    render than ``expected_explorers``, or when an explorer shows no control or does not redraw after
    one control is changed. Returns the timings (s) and what was done to each explorer.
    """
    name = rel_path.rsplit("/", 1)[-1]
    t0 = time.monotonic()
    # A fresh workspace per notebook, so JupyterLab does not reopen the previous one.
    page.goto(
        f"{lab.base}/lab/workspaces/t-{shot_name}/tree/{rel_path}?token={lab.token}",
        wait_until="domcontentloaded",
        timeout=OPEN_TIMEOUT_S * 1000,
    )
    page.wait_for_function(JS_PANEL_READY, arg=name, timeout=OPEN_TIMEOUT_S * 1000, polling=500)
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }")
    t_open = time.monotonic()
    page.evaluate(JS_RUN_ALL)
    page.wait_for_function(JS_RUN_DONE, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    t_run = time.monotonic()

    report = page.evaluate(JS_CELL_REPORT)
    errors = [
        f"cell {e['cell']}: {e['ename']}: {e['evalue']}\n{ANSI.sub('', e['traceback'])}" for e in report["errors"]
    ]
    assert not errors, f"{name}: error outputs after Run All:\n" + "\n\n".join(errors)
    assert report["runAll"] == "true", f"{name}: Run All Cells resolved with {report['runAll']}"
    assert not report["notRun"], f"{name}: code cells never executed: {report['notRun']}"
    assert not report["shownTwice"], (
        f"{name}: cells {report['shownTwice']} show the same widget twice (the explorer is the cell's last "
        "expression, so its returned box is displayed again after explorer() displayed it; end the line with ';')"
    )
    assert page.locator(f".jp-Notebook {ERROR_SELECTOR}").count() == 0, f"{name}: error output in the page"

    explorers = page.locator(".lessonlib-explorer")
    if expected_explorers:
        explorers.nth(expected_explorers - 1).wait_for(state="attached", timeout=REACT_TIMEOUT_S * 1000)
    n_explorers = explorers.count()
    assert n_explorers >= expected_explorers, f"{name}: {n_explorers} explorers rendered, {expected_explorers} called"
    actions = []
    for i in range(n_explorers):
        ex = explorers.nth(i)
        ex.scroll_into_view_if_needed()
        assert ex.locator(CONTROL_SELECTOR).count() > 0, f"{name}: explorer {i + 1} shows no controls"
        img = ex.locator(".jp-OutputArea-output img").first
        img.wait_for(state="attached", timeout=REACT_TIMEOUT_S * 1000)
        before = img.get_attribute("src")
        actions.append(_change_one_control(ex))
        try:
            page.wait_for_function(JS_IMG_CHANGED, arg=[i, before], timeout=react_timeout_s * 1000, polling=250)
        except Exception as exc:  # noqa: BLE001 - re-raised as an assertion that says what was tried
            raise AssertionError(
                f"{name}: explorer {i + 1}'s figure did not change within {react_timeout_s:.0f} s after {actions[-1]}"
            ) from exc
        page.wait_for_timeout(300)
        assert ex.locator(ERROR_SELECTOR).count() == 0, f"{name}: explorer {i + 1} raised after {actions[-1]}"
        ex.screenshot(path=SCREENSHOTS / f"{shot_name}-explorer{i + 1}.png")
    t_react = time.monotonic()

    # The viewport screenshot shows the first explorer, else the first figure, else the top.
    first = explorers.first if n_explorers else page.locator(".jp-Notebook .jp-OutputArea-output img").first
    if first.count():
        first.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
    page.screenshot(path=SCREENSHOTS / f"{shot_name}.png")
    _full_page_screenshot(page, SCREENSHOTS / f"{shot_name}-full.png")
    return {"open": t_open - t0, "run_all": t_run - t_open, "explorers": t_react - t_run, "actions": actions}


@pytest.fixture
def page(browser_context, lab, request):
    """A fresh browser tab; its console errors are attached to a failing test's report."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    request.node.browser_console = console
    tab = browser_context.new_page()
    tab.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield tab
    tab.close(run_before_unload=False)
    lab.shutdown_kernels()


def _failure_screenshot(page, name: str) -> None:
    try:
        page.screenshot(path=SCREENSHOTS / f"{name}-FAILED.png")
    except Exception:  # noqa: BLE001 - the original error matters more
        pass


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_in_jupyterlab(path: Path, lab, page, request):
    try:
        timings = run_in_lab(page, lab, f"notebooks/{path.name}", _expected_explorers(path), path.stem)
    except BaseException:
        _failure_screenshot(page, path.stem)
        raise
    request.node.user_properties.append(("browser_seconds", {"name": path.stem, **timings}))


def test_harness_probe_explorer_renders_and_reacts(lab, page, request):
    """The harness finds a live explorer, moves its slider and sees the figure change."""
    try:
        timings = run_in_lab(page, lab, "probes/probe_explorer.ipynb", 1, "probe_explorer")
    except BaseException:
        _failure_screenshot(page, "probe_explorer")
        raise
    assert timings["actions"] and timings["actions"][0].startswith("slider 1 -> 5"), timings["actions"]
    request.node.user_properties.append(("browser_seconds", {"name": "probe_explorer", **timings}))


def test_harness_probe_frozen_explorer_fails_the_check(lab, page):
    """An explorer whose figure does not change when its slider moves must fail the check."""
    with pytest.raises(AssertionError, match="figure did not change"):
        run_in_lab(page, lab, "probes/probe_frozen.ipynb", 1, "probe_frozen", react_timeout_s=15)


def test_harness_probe_error_output_fails_the_check(lab, page):
    """A notebook whose last cell raises must fail the check (the test can fail)."""
    with pytest.raises(AssertionError, match=r"error outputs after Run All:\n.*ValueError: probe"):
        run_in_lab(page, lab, "probes/probe_error.ipynb", 1, "probe_error")


def _full_page_screenshot(page, target: Path, max_height: int = 16000) -> None:
    """JupyterLab scrolls inside its notebook panel, so grow the viewport to the notebook's height."""
    height = page.evaluate(
        """() => {
          const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
            || document.querySelector('.jp-NotebookPanel-notebook');
          if (s) s.scrollTop = 0;
          return s ? s.scrollHeight : document.body.scrollHeight;
        }"""
    )
    old = page.viewport_size
    page.set_viewport_size({"width": old["width"], "height": int(min(max_height, height + 200))})
    page.wait_for_timeout(500)
    page.screenshot(path=target)
    page.set_viewport_size(old)
