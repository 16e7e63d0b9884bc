"""Fixtures for the browser test: a JupyterLab server on 127.0.0.1 and a headless Debian Chromium.

The browser test is slow (it runs every notebook live) and needs ``/usr/bin/chromium``. Every test in
this folder carries the ``browser`` marker; the plain ``pytest tests`` run deselects them
(``-m 'not browser'`` in pyproject's addopts) and ``make test-browser`` selects them (``-m browser``).

Environment knobs (all optional):
    LESSONLIB_NOTEBOOK_DIR   folder holding the ``NN_*.ipynb`` notebooks (default: ``notebooks/``)
    NB                       only notebooks whose name starts with this prefix (``make test-browser NB=03``)
    CHROMIUM                 browser executable (default ``/usr/bin/chromium``)
    BROWSER_NB_TIMEOUT       seconds allowed for one notebook's "run all" (default 600)
    ARTIFACTS_DIR            where screenshots and logs go (default ``test-artifacts/``)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_harness import CHROMIUM, CHROMIUM_ARGS, LabServer, log_tail, served_copy

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Mark every test of this folder ``browser``, so ``-m 'not browser'`` (the default) leaves them out
    of `pytest tests` and ``-m browser`` (`make test-browser`) runs exactly them."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = LabServer(served_copy(tmp_path_factory.mktemp("lab")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found; `make test-browser` installs Debian's chromium (apt, as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing from this environment; `make install` installs it")

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        report.sections.append(("JupyterLab server log (tail)", log_tail()))
        console = getattr(item, "browser_console", None)
        if console:
            report.sections.append(("browser console (errors)", "\n".join(console[-50:])))


def pytest_terminal_summary(terminalreporter):
    rows = []
    for report in terminalreporter.stats.get("passed", []):
        for key, value in report.user_properties:
            if key == "browser_seconds":
                rows.append((value.get("name", report.nodeid), value))
    if not rows:
        return
    terminalreporter.section("browser times per notebook (s)")
    terminalreporter.write_line(f"{'notebook':40s} {'open':>6s} {'run all':>8s} {'explorers':>10s}")
    for name, v in rows:
        terminalreporter.write_line(f"{name:40s} {v['open']:6.1f} {v['run_all']:8.1f} {v['explorers']:10.1f}")
