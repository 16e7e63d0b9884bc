"""The decks' layout rules (tools/slides.py), on toy notebooks: prose over the word budget is split,
long code is shortened with a pointer, figures get their own sub-slide, a slide never collects more
estimated height than the canvas, every slide gets speaker notes from the notebook and the teaching
guide, and the template inlines reveal.js and KaTeX (nothing remote)."""

from __future__ import annotations

import base64
import re
import struct
import zlib

import nbformat
import pytest

from tools import slides


def _png(width: int, height: int) -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def _words(n: int, sentence: int = 12) -> str:
    words = [f"word{i}" for i in range(n)]
    text = " ".join(w + ("." if (i + 1) % sentence == 0 else "") for i, w in enumerate(words))
    return text.replace(". word", ". Word")


def test_split_prose_keeps_short_text_and_splits_long_text_under_budget():
    short = "## Title\n\nA short paragraph."
    assert slides.split_prose(short) == [short]
    long = "## Title\n\n" + _words(150) + "\n\n" + _words(100)
    chunks = slides.split_prose(long)
    assert len(chunks) >= 2
    assert all(slides._words(c) <= slides.MAX_WORDS for c in chunks), [slides._words(c) for c in chunks]
    assert chunks[0].startswith("## Title\n\n"), "a heading stays with the text after it"
    joined = " ".join(chunks).lower()
    assert all(f"word{i}" in joined for i in range(150)), "splitting must not lose text"


def test_split_prose_splits_a_long_list_at_items_and_keeps_code_fences_whole():
    items = "\n".join(f"- item {i}: " + _words(20) for i in range(10))
    chunks = slides.split_prose(items)
    assert len(chunks) > 1 and all(c.lstrip().startswith("- item") for c in chunks)
    fence = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(200)) + "\n```"
    assert any(c == fence for c in slides.split_prose(_words(100) + "\n\n" + fence))


def test_shorten_code_points_to_the_notebook():
    code = "\n".join(f"line_{i} = {i}" for i in range(40))
    short = slides.shorten_code(code)
    assert len(short.split("\n")) == slides.MAX_CODE_LINES
    assert short.split("\n")[-1] == f"# … {40 - slides.MAX_CODE_LINES + 1} more lines: see the notebook"
    assert slides.shorten_code("a = 1\nb = 2") == "a = 1\nb = 2"


def _toy_deck_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_output("display_data", data={"image/png": _png(600, 400), "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.91\n")
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Toy deck\n\nThe question."),
        nbformat.v4.new_code_cell("import lessonlib"),
        nbformat.v4.new_markdown_cell("## 1. A section\n\n" + _words(200)),
        nbformat.v4.new_code_cell("plt.plot([1, 2])\nplt.show()\nprint('accuracy', 0.91)", outputs=[printed, figure]),
        nbformat.v4.new_markdown_cell("The figure shows a line. It goes up."),
        nbformat.v4.new_markdown_cell("> **In an interview:** say the line goes up. Then stop."),
        nbformat.v4.new_markdown_cell("## Interview answer\n\nAn answer."),
        nbformat.v4.new_markdown_cell("## Exercises\n\n### Exercise 1\n\nDo it."),
    ]
    return nb


GUIDE = """# Teaching guide

## 99 · Toy deck

**Class time:** 20 minutes.

**Goal:** learners can read a line.

**Discussion questions**
1. Why does the line go up?
2. What would make it go down?

**Mistakes learners make**
- Reading the axis backwards.
"""


def _deck():
    return slides.deck_notebook(_toy_deck_source(), "99", GUIDE)


def _slides_of(deck):
    """Groups of shown cells, one per slide/sub-slide, with the notes attached to each."""
    groups = []
    for cell in deck.cells:
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind in ("slide", "subslide"):
            groups.append({"cells": [cell], "notes": []})
        elif kind == "notes":
            groups[-1]["notes"].append(cell.source)
        elif kind != "skip":
            groups[-1]["cells"].append(cell)
    return groups


def test_figures_get_their_own_sub_slide_and_the_code_keeps_its_printout():
    deck = _deck()
    fig_cells = [c for c in deck.cells if slides.FIGURE_ONLY_TAG in c.metadata.get("tags", [])]
    assert len(fig_cells) == 1 and fig_cells[0].metadata["slideshow"]["slide_type"] == "subslide"
    code = next(c for c in deck.cells if c.cell_type == "code" and "plt.plot" in c.source)
    assert [o.output_type for o in code.outputs] == ["stream"], "the printed number stays with its code"


def test_no_slide_collects_more_than_the_budget():
    for group in _slides_of(_deck()):
        extra = sum(slides.estimate_px(c) for c in group["cells"][1:])
        assert extra <= slides.SLIDE_BUDGET_PX, [c.source[:30] for c in group["cells"]]


def test_every_slide_has_speaker_notes_from_the_notebook_and_the_guide():
    groups = _slides_of(_deck())
    assert all(g["notes"] for g in groups), [g["cells"][0].source[:30] for g in groups if not g["notes"]]
    notes = {g["cells"][0].source.split("\n")[0]: "\n".join(g["notes"]) for g in groups}
    assert "20 minutes" in notes["# 99 · Toy deck"] and "read a line" in notes["# 99 · Toy deck"]
    assert "Why does the line go up?" in notes["## Interview answer"]
    assert "Reading the axis backwards." in notes["## Exercises"]
    section = notes["## 1. A section"]
    assert section.startswith("Ask first: 1. A section") and "say the line goes up" in section
    figure_notes = next(n for c, n in notes.items() if c == "# figure")
    assert "The figure shows a line." in figure_notes


def test_guide_section_parses_the_real_teaching_guide():
    info = slides.guide_section("01")
    assert info["class_time"] and info["goal"] and len(info["questions"]) >= 2 and info["mistakes"]
    assert slides.guide_section("99", "") == {"class_time": "", "goal": "", "questions": [], "mistakes": []}


def test_template_inlines_reveal_and_katex_and_loads_nothing_remote():
    html, _ = slides.make_exporter().from_notebook_node(_deck(), resources={"metadata": {"name": "99_toy"}})
    assert "Reveal.initialize" in html and "renderMathInElement" in html and "RevealNotes" in html
    assert "data:font/woff2;base64," in html, "KaTeX's fonts must be inlined"
    assert '<aside class="notes">' in html
    remote = re.findall(r"""(?:src|href)=["'](?:https?:)?//[^"']+""", html)
    assert not remote, remote[:5]
    assert "# figure" not in html, "the figure-only cell's placeholder source must be removed"


def test_missing_vendor_file_is_named():
    with pytest.raises(FileNotFoundError, match="vendor"):
        slides._read_vendor("katex/no-such.js")


NOTEBOOKS = sorted(slides.NOTEBOOK_DIR.glob(slides.NOTEBOOK_GLOB))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_slide_metadata_is_what_the_decks_use(path):
    """JupyterLab's RISE extension (the `lab` extra) presents the live notebook from each cell's
    ``metadata.slideshow.slide_type``; the decks derive the same field from the structure (`stamp`).
    The stored notebooks carry exactly that, so a live presentation and a deck have the same slides."""
    assert not slides.stamp_file(path, check=True), f"run `make stamp-slides` ({path.name} differs from its deck)"


def test_rise_is_installed_by_the_lab_extra():
    import tomllib

    project = tomllib.loads((slides.REPO / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("jupyterlab-rise") for r in project["optional-dependencies"]["lab"])


def test_write_pdf_accepts_a_relative_deck_path(tmp_path, monkeypatch):
    """`make slides` passes a relative --out: printing must give the browser an absolute file URI (the old
    code raised "relative path can't be expressed as a file URI"). The browser is faked: no Chromium here."""
    import sys
    import types

    visited, printed = [], []

    class Page:
        def goto(self, url):
            visited.append(url)

        def wait_for_function(self, script):
            pass

        def wait_for_timeout(self, ms):
            pass

        def pdf(self, path, **kwargs):
            printed.append(path)

    class Browser:
        def new_page(self, **kwargs):
            return Page()

        def close(self):
            pass

    class Playwright:
        chromium = types.SimpleNamespace(launch=lambda **kwargs: Browser())

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    fake = types.ModuleType("playwright.sync_api")
    fake.sync_playwright = Playwright
    monkeypatch.setitem(sys.modules, "playwright.sync_api", fake)
    (tmp_path / "slides").mkdir()
    deck = tmp_path / "slides" / "01_x.slides.html"
    deck.write_text("<html></html>", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    target = slides.write_pdf("slides/01_x.slides.html")
    assert visited == [deck.resolve().as_uri() + "?print-pdf"]
    assert printed == [str(deck.resolve().with_suffix("").with_suffix(".pdf"))]
    assert target == deck.resolve().with_suffix("").with_suffix(".pdf")
