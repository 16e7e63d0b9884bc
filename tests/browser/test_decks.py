"""The instructor kit's slide decks opened in the same headless Chromium as the notebooks.

For every notebook (``NB`` prefix respected): build its reveal.js deck with ``tools/slides.py`` from the
stored outputs, open the self-contained HTML file at 1280×720 and check, as an instructor would:

* navigation: stepping with the arrow key reaches the last slide, every image decoded, no page error,
  and nothing but ``file:``/``data:`` URLs requested (offline);
* math: no raw TeX is visible on any slide (``$...$``, ``\\frac`` …), and slides whose notebook text
  has math show KaTeX-rendered elements;
* speaker notes: every slide carries notes, and ``s`` opens reveal.js's speaker view showing them;
* layout: no slide's content runs past the 1280×720 canvas (bottom or right), so nothing is clipped.

Screenshots of the first slide with math and of the speaker view go to ``test-artifacts/screenshots``.
Part of ``make test-browser``; it shares that run's browser (one Playwright session per process).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lab_harness import notebooks

from tools import slides

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"

_RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\(frac|lambda|sigma|mathrm|tilde|sum|mathbb|top)\b")

# For every slide: its indices, whether it has KaTeX, raw-TeX text outside code and notes, notes text,
# and how far its visible content reaches (in canvas pixels, undoing reveal.js's scale).
_SURVEY = """() => {
  const scale = Reveal.getScale();
  return Reveal.getSlides().map(s => {
    const idx = Reveal.getIndices(s);
    Reveal.slide(idx.h, idx.v, 10000);
    const box = s.getBoundingClientRect();
    let bottom = box.top, right = box.left;
    s.querySelectorAll('*').forEach(e => {
      if (e.closest('aside.notes, .katex-mathml')) return;
      const r = e.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) { bottom = Math.max(bottom, r.bottom); right = Math.max(right, r.right); }
    });
    const texts = [];
    const walk = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walk.nextNode())) {
      if (!n.parentElement.closest('aside.notes, pre, code, .katex, script, style')) texts.push(n.textContent);
    }
    const notes = s.querySelector('aside.notes');
    return {h: idx.h, v: idx.v, katex: s.querySelectorAll('.katex').length, text: texts.join(' '),
            notes: notes ? notes.textContent.trim() : '', height: (bottom - box.top) / scale,
            width: (right - Reveal.getRevealElement().querySelector('.slides').getBoundingClientRect().left) / scale,
            title: (s.querySelector('h1,h2,h3') || {textContent: ''}).textContent};
  });
}"""


@pytest.fixture(scope="module")
def deck_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("decks")
    slides.build(notebooks(), out)
    return out


def _open(browser_context, deck: Path):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(deck.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    return page


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_deck_navigates_offline_with_its_figures(path: Path, deck_dir: Path, browser_context):
    errors: list[str] = []
    remote: list[str] = []
    page = browser_context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto((deck_dir / f"{path.stem}.slides.html").as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()")
        total = page.evaluate("Reveal.getTotalSlides()")
        steps = total + page.evaluate("document.querySelectorAll('.fragment').length")
        for _ in range(steps):
            page.keyboard.press("ArrowRight")
            if page.evaluate("Reveal.isLastSlide() && !Reveal.availableFragments().next"):
                break
        assert page.evaluate("Reveal.isLastSlide()"), f"stepping stopped at {page.evaluate('Reveal.getIndices()')}"
        n_images = page.evaluate("document.images.length")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert n_images > 0, f"{path.stem}: the deck shows no figure"
        assert not errors and not remote and broken == 0, (errors, remote, broken)
    finally:
        page.close()


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_deck_math_notes_and_layout(path: Path, deck_dir: Path, browser_context):
    page = _open(browser_context, deck_dir / f"{path.stem}.slides.html")
    try:
        survey = page.evaluate(_SURVEY)
        raw = [(s["h"], s["v"], m.group(0)) for s in survey for m in [_RAW_TEX.search(s["text"])] if m]
        assert not raw, f"raw TeX visible on slides (h, v, text): {raw[:5]}"
        cells = slides.nbformat.read(path, as_version=4).cells
        nb_text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        if re.search(r"\$[^$\s][^$]*\$", nb_text):
            assert sum(s["katex"] for s in survey) > 0, "the notebook has math but the deck shows no rendered math"
            first = next(s for s in survey if s["katex"])
            page.evaluate(f"Reveal.slide({first['h']}, {first['v']})")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"deck_{path.stem}_math.png"))
        no_notes = [(s["h"], s["v"], s["title"][:40]) for s in survey if not s["notes"]]
        assert not no_notes, f"slides without speaker notes: {no_notes[:8]}"
        over = [
            (s["h"], s["v"], round(s["height"]), round(s["width"]), s["title"][:40])
            for s in survey
            if s["height"] > 722 or s["width"] > 1282
        ]
        assert not over, f"slides whose content passes 1280x720 (h, v, height, width, title): {over}"
    finally:
        page.close()


def test_speaker_view_shows_the_notes(deck_dir: Path, browser_context):
    path = notebooks()[0]
    page = _open(browser_context, deck_dir / f"{path.stem}.slides.html")
    try:
        page.evaluate("Reveal.slide(1, 0)")
        expected = page.evaluate("Reveal.getCurrentSlide().querySelector('aside.notes').textContent.trim()")
        with browser_context.expect_page() as popup:
            page.keyboard.press("s")
        speaker = popup.value
        speaker.wait_for_load_state()
        speaker.wait_for_function(
            "text => document.body && document.body.innerText.includes(text)", arg=expected[:40], timeout=20_000
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        speaker.screenshot(path=str(ARTIFACTS / "deck_speaker_view.png"))
        speaker.close()
    finally:
        page.close()
