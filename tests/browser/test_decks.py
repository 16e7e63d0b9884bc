"""The instructor kit's slide decks opened in the same headless Chromium as the notebooks.

For every notebook (``NB`` prefix respected): build its deck with ``tools/slides.py`` from the
stored outputs, open the self-contained HTML file, step through every page and fragment with the
arrow key, and assert that the last page is reached, that every image (the notebook's figures)
decoded, that the page raised no error, and that it requested nothing but ``file:`` and ``data:``
URLs (offline). Part of ``make test-browser``; it shares that run's browser (one Playwright session
per process: a second ``sync_playwright()`` inside the first fails).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from lab_harness import notebooks

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("course_tools_slides_browser", REPO / "tools" / "slides.py")
slides = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slides)


@pytest.fixture(scope="module")
def deck_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("decks")
    slides.build(notebooks(), out)
    return out


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_deck_opens_offline_with_its_figures(path: Path, deck_dir: Path, browser_context):
    page = browser_context.new_page()
    errors: list[str] = []
    remote: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    try:
        page.goto((deck_dir / f"{path.stem}.slides.html").as_uri())
        n_pages = page.evaluate("window.deck.pages.length")
        n_steps = n_pages + page.evaluate("document.querySelectorAll('.fragment').length")
        for _ in range(n_steps):
            page.keyboard.press("ArrowRight")
        index, _shown = page.evaluate("window.deck.current()")
        assert index == n_pages - 1, f"stepping through the deck stopped at page {index} of {n_pages}"
        n_images = page.evaluate("document.images.length")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert n_images > 0, f"{path.stem}: the deck shows no figure"
        assert not errors and not remote and broken == 0, (errors, remote, broken)
    finally:
        page.close()
