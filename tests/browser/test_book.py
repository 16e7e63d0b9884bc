"""The book site (`make book`) in headless Chromium, served from 127.0.0.1 with the network unused.

Builds the site from the stored outputs into a temporary folder, serves it with Python's own HTTP
server on a free loopback port (Sphinx's search loads its index with a script tag, which a served site
does on every browser), then as a reader would: open the landing page, type "CutMix" into the search
page, follow the first result, and check that the chapter's figures decoded and that typeset math is
there. Every request must go to the loopback server or be a ``data:`` URL (offline by construction).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", "book", ".", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_book_search_finds_cutmix_and_the_chapter_renders(site, browser_context):
    page = browser_context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((site, "data:")) else outside.append(r.url))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{site}/index.html")
        page.wait_for_url("**/README.html")
        chapters = page.locator("nav.bd-links a.reference")
        assert chapters.count() >= 8, "the sidebar lists too few chapters"
        page.goto(f"{site}/search.html?q=CutMix")
        page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
        first = page.locator("#search-results ul.search li a").first
        title = first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "book_search_cutmix.png"), full_page=False)
        first.click()
        page.wait_for_load_state("load")
        assert "cutmix" in (page.url + title).lower(), (page.url, title)
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=30_000)
        figures = page.evaluate("Array.from(document.images).filter(i => i.src.includes('_images/')).length")
        broken = page.evaluate("Array.from(document.images).filter(i => i.naturalWidth === 0).length")
        assert figures > 0 and broken == 0, (figures, broken)
        math = page.evaluate("document.querySelectorAll('.katex').length")
        raw = page.evaluate(
            "document.querySelectorAll('.math').length - document.querySelectorAll('.math .katex').length"
        )
        assert math > 0 and raw == 0, f"math not typeset: {math} KaTeX elements, {raw} raw math spans"
        page.screenshot(path=str(ARTIFACTS / "book_cutmix_chapter.png"), full_page=False)
        assert not errors and not outside, (errors, outside)
    finally:
        page.close()
